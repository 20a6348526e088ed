# -*- coding: utf-8 -*-
# The one client of Keystone's identity API v3 for the bundled modules: a
# keystoneauth1 session (openstack_auth), the admin's authentication with
# its failures explained, the REST calls the registration makes, and
# password checks each on a session of its own. No python-keystoneclient:
# its managers only wrapped these few requests.
from __future__ import annotations

from ansible.module_utils.openstack_auth import build_session, resolve_auth, with_retries

try:
    from keystoneauth1 import exceptions as ks_exc
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3 as ks_v3
except ImportError:  # pragma: no cover - build_session explains it
    ks_exc = ks_session = ks_v3 = None

FORBIDDEN_RETRIES = 3
SINGULAR = {
    'domains': 'domain', 'projects': 'project', 'users': 'user', 'roles': 'role',
    'services': 'service', 'endpoints': 'endpoint', 'regions': 'region',
}


class KeystoneError(Exception):
    """A refusal or failure of Keystone, explained; `cause` as in the modules' RETURN."""

    def __init__(self, msg, cause):
        super().__init__(msg)
        self.msg = msg
        self.cause = cause


def identity_url(auth_url):
    """The identity API at auth_url itself, as keystoneauth authenticates: <auth_url>/v3."""
    url = auth_url.rstrip('/')
    return url if url.endswith('/v3') else url + '/v3'


def _is_unsent(exc):
    """Retry a write only when it certainly never reached Keystone."""
    return isinstance(exc, (ks_exc.ConnectFailure, ks_exc.ConnectTimeout))


def _forbidden_retried(func):
    """func, made again when Keystone refuses it (403) as if another request's token had sent it
    (keystone_reconcile.CONFIRM_ROUNDS says why)."""
    def read():
        for attempt in range(FORBIDDEN_RETRIES + 1):
            try:
                return func()
            except ks_exc.Forbidden:
                if attempt == FORBIDDEN_RETRIES:
                    raise
    return read


def _drop_none(fields):
    return dict((k, v) for k, v in fields.items() if v is not None)


class KeystoneAPI(object):
    """Identity API calls on one admin session; every request goes to identity_url(auth_url)."""

    def __init__(self, module, creds=None):
        self.module = module
        self.creds = creds or resolve_auth(module)
        self.where = 'Keystone at %s' % self.creds['auth_url']
        self.session = build_session(module, self.creds)
        self.url = identity_url(self.creds['auth_url'])

    # ------------------------------------------------------------ authentication

    def authenticate(self):
        """The admin's token, or fail_json explaining why Keystone refused it."""
        creds, fail = self.creds, self.module.fail_json
        try:
            with_retries(self.module, lambda: self.session.auth.get_access(self.session), self.where,
                         hint='check that Keystone is running and that auth_url is right')
        except ks_exc.Unauthorized:
            fail(msg='Keystone at %s refused the credentials of user %s (domain %s) on project %s (domain %s): '
                     'HTTP 401: check the admin password, username and project'
                     % (creds['auth_url'], creds['username'], creds['user_domain_name'],
                        creds['project_name'], creds['project_domain_name']), cause='credentials')
        except ks_exc.NotFound:
            fail(msg='Keystone at %s answered 404 Not Found to the authentication request: auth_url must be the '
                     'identity v3 URL, for example http://controller:5000/v3' % creds['auth_url'], cause='auth_url')
        except ks_exc.SSLError as exc:
            fail(msg='TLS with Keystone at %s failed: %s' % (creds['auth_url'], exc), cause='tls')
        except ks_exc.HttpError as exc:
            fail(msg='authentication to Keystone at %s as %s failed: HTTP %s: %s'
                     % (creds['auth_url'], creds['username'], getattr(exc, 'http_status', '?'), exc),
                 cause='credentials')
        except ks_exc.ClientException as exc:
            fail(msg='authentication to Keystone at %s as %s failed: %s'
                     % (creds['auth_url'], creds['username'], exc), cause='unreachable')

    # ------------------------------------------------------------ requests

    def call(self, what, func, write=False, changed=False):
        """func() with retries (a write only when unsent, a read also when refused: see
        FORBIDDEN_RETRIES); KeystoneError explains a refusal."""
        creds = self.creds
        if not write:
            func = _forbidden_retried(func)
        hint = 'check that Keystone is running and that auth_url is right'
        try:
            return with_retries(self.module, func, self.where, transient=_is_unsent if write else None,
                                hint=hint + '; nothing more was changed' if changed else hint)
        except ks_exc.Forbidden as exc:
            raise KeystoneError('Keystone at %s refused to %s (403 Forbidden) for user %s: these credentials lack '
                                'the rights to manage identity objects; use an admin account (admin role on '
                                'project %s): %s' % (creds['auth_url'], what, creds['username'],
                                                     creds['project_name'], exc), 'credentials')
        except ks_exc.Unauthorized as exc:
            raise KeystoneError('Keystone at %s rejected the token of user %s while trying to %s (401): %s'
                                % (creds['auth_url'], creds['username'], what, exc), 'credentials')
        except ks_exc.Conflict as exc:
            raise KeystoneError('Keystone refused to %s: it conflicts with an existing object (409; names may '
                                'differ only in letter case, which the database treats as equal): %s'
                                % (what, exc), 'keystone')
        except ks_exc.HttpError as exc:
            raise KeystoneError('Keystone at %s failed to %s: HTTP %s: %s'
                                % (creds['auth_url'], what, getattr(exc, 'http_status', '?'), exc), 'keystone')
        except ks_exc.ClientException as exc:
            raise KeystoneError('could not %s at Keystone %s: %s' % (what, creds['auth_url'], exc), 'unreachable')

    def _request(self, method, path, **kwargs):
        return self.session.request(self.url + path, method, **kwargs)

    def list(self, kind, **query):
        """GET /<kind>?<query>: the list of dicts (Keystone does not page these by default)."""
        return self._request('GET', '/' + kind, params=query or None).json()[kind]

    def create(self, kind, fields):
        singular = SINGULAR[kind]
        return self._request('POST', '/' + kind, json={singular: _drop_none(fields)}).json()[singular]

    def update(self, kind, ident, fields):
        singular = SINGULAR[kind]
        return self._request('PATCH', '/%s/%s' % (kind, ident), json={singular: fields}).json()[singular]

    def grant(self, role_id, user_id, target, target_id):
        """Role on a project or a domain (target 'project' or 'domain')."""
        self._request('PUT', '/%ss/%s/users/%s/roles/%s' % (target, target_id, user_id, role_id))

    def direct_assignments(self, user_id):
        """{(role_id, 'project'|'domain', target_id)} the user holds directly (inherited ones left out)."""
        held = set()
        for item in self.list('role_assignments', **{'user.id': user_id}):
            scope = item.get('scope') or {}
            if 'OS-INHERIT:inherited_to' in scope:
                continue
            for target in ('project', 'domain'):
                if target in scope:
                    held.add((item['role']['id'], target, scope[target]['id']))
        return held

    # ------------------------------------------------------------ passwords

    def _user_session(self, user, domain_name, password):
        """An unscoped password plugin of the user alone, and a session of its own.

        Only the user's own name, domain and password are used: mixing in the
        admin's project or OS_* environment would make a right password fail.
        """
        plugin = ks_v3.Password(auth_url=self.creds['auth_url'], username=user, password=password,
                                user_domain_name=domain_name, unscoped=True)
        return plugin, ks_session.Session(auth=plugin, verify=self.session.verify, cert=self.session.cert,
                                          timeout=self.session.timeout)

    def try_password(self, user, domain_name, password):
        """One attempt: True or False when Keystone accepted or refused it; None when it could not tell."""
        plugin, probe = self._user_session(user, domain_name, password)
        try:
            plugin.get_access(probe)
        except ks_exc.Unauthorized:
            return False
        except Exception:  # noqa: BLE001 - password_accepted retries and explains
            return None
        return True

    def password_accepted(self, user, domain_name, password):
        """Whether Keystone accepts the password, with retries; KeystoneError when it cannot tell."""
        plugin, probe = self._user_session(user, domain_name, password)
        try:
            with_retries(self.module, lambda: plugin.get_access(probe), self.where,
                         hint='check that Keystone is running')
        except ks_exc.Unauthorized:
            return False
        except ks_exc.ClientException as exc:
            raise KeystoneError('could not check the password of user %s in domain %s by authenticating as that '
                                'user: %s' % (user, domain_name, exc), 'keystone')
        return True
