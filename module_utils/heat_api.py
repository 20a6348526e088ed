# -*- coding: utf-8 -*-
# The client of Heat's orchestration API (v1) for the bundled modules: the
# endpoint from the catalog of the one keystoneauth1 session
# (openstack_auth), requests retried while Heat is briefly unavailable,
# and every refusal explained in terms of the credentials and Heat's policy.
from __future__ import annotations

import time
from urllib.parse import urlsplit

from ansible.module_utils.openstack_auth import build_session, resolve_auth, with_retries

try:
    from keystoneauth1 import exceptions as ks_exc
    HAS_KEYSTONEAUTH = True
except ImportError:  # pragma: no cover - build_session reports it
    ks_exc = None
    HAS_KEYSTONEAUTH = False


def host_of(url):
    parts = urlsplit(url)
    return '%s://%s' % (parts.scheme, parts.netloc)


class HeatAPI(object):
    """Orchestration API calls as the user of the module's credentials."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.session = None
        self.creds = None
        self.endpoint = None
        self.endpoint_filter = None

    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=msg, **kwargs)

    def credentials_source(self):
        if self.params.get('openrc'):
            return 'the openrc file %s' % self.params['openrc']
        if self.params.get('auth'):
            return 'the auth option'
        return 'the OS_* environment'

    def who(self):
        c = self.creds
        return ('user %s (domain %s) in project %s (domain %s)'
                % (c['username'], c['user_domain_name'], c['project_name'], c['project_domain_name']))

    def role_names(self):
        """The roles of the token the session holds, for a 403's message."""
        try:
            return ', '.join(self.session.auth.get_access(self.session).role_names) or 'no role'
        except Exception:  # noqa: BLE001 - only a message is at stake
            return 'roles that could not be read'

    def fail_endpoint(self, exc=None):
        self.fail('no orchestration endpoint in region %s for interface %s: is Heat registered in '
                  'Keystone? (openstack endpoint list --service orchestration)%s'
                  % (self.creds.get('region_name') or '(any)', self.creds.get('interface'),
                     ' [%s]' % exc if exc else ''))

    def fail_keystone_401(self, exc):
        self.fail('Keystone at %s rejected the credentials (401) of %s: check the credentials from %s (%s)'
                  % (self.creds['auth_url'], self.who(), self.credentials_source(), exc))

    def sleep(self, seconds):
        time.sleep(seconds)

    def connect(self):
        self.creds = resolve_auth(self.module)
        self.session = build_session(self.module, self.creds)
        self.endpoint_filter = {
            'service_type': 'orchestration',
            'interface': self.creds.get('interface'),
            'region_name': self.creds.get('region_name'),
        }
        try:
            self.endpoint = with_retries(
                self.module, lambda: self.session.get_endpoint(**self.endpoint_filter),
                'Keystone at %s' % self.creds['auth_url'], sleep=self.sleep)
        except ks_exc.EndpointNotFound as exc:
            self.fail_endpoint(exc)
        except ks_exc.Unauthorized as exc:
            self.fail_keystone_401(exc)
        except ks_exc.ClientException as exc:
            self.fail('cannot authenticate at Keystone %s as %s (credentials from %s): %s'
                      % (self.creds['auth_url'], self.who(), self.credentials_source(), exc))
        if not self.endpoint:
            self.fail_endpoint()

    @staticmethod
    def heat_error(resp):
        """Heat's own error message from an error response."""
        try:
            body = resp.json()
        except Exception:  # noqa: BLE001 - any non-JSON body
            body = None
        if isinstance(body, dict):
            error = body.get('error')
            if isinstance(error, dict) and error.get('message'):
                kind = error.get('type')
                return '%s: %s' % (kind, error['message']) if kind else error['message']
            for key in ('explanation', 'message', 'title'):
                if body.get(key):
                    return str(body[key])
        text = (getattr(resp, 'text', '') or '').strip()
        return text[:500] or getattr(resp, 'reason', '') or 'no details'

    def request(self, method, path, idempotent=True, **kwargs):
        """One call to the orchestration API; returns the response whatever its status."""
        transient = (500, 502, 503, 504) if idempotent else (502, 503, 504)
        call = getattr(self.session, method.lower())

        def once():
            resp = call(path, endpoint_filter=self.endpoint_filter, raise_exc=False, **kwargs)
            if resp.status_code in transient:
                raise ks_exc.HttpError(message=self.heat_error(resp), http_status=resp.status_code,
                                       method=method, url=path)
            return resp

        try:
            resp = with_retries(self.module, once, 'Heat orchestration API at %s (%s %s)'
                                % (self.endpoint, method, path), sleep=self.sleep)
        except ks_exc.EndpointNotFound as exc:
            self.fail_endpoint(exc)
        except ks_exc.Unauthorized as exc:
            self.fail_keystone_401(exc)
        except ks_exc.ClientException as exc:
            self.fail('%s %s on the orchestration API at %s failed: %s' % (method, path, self.endpoint, exc))
        return resp

    def check(self, resp, what, **result):
        """Fail with a clear message unless resp is a 2xx."""
        code = resp.status_code
        if 200 <= code < 300:
            return resp
        detail = self.heat_error(resp)
        if code == 400:
            msg = 'Heat rejected %s (400 Bad Request): %s' % (what, detail)
        elif code == 401:
            msg = ('Heat at %s answered 401 to %s with a token Keystone issued for %s (credentials from %s): '
                   'check [keystone_authtoken] in heat.conf (heat service user and password, auth_url): %s'
                   % (self.endpoint, what, self.who(), self.credentials_source(), detail))
        elif code == 403:
            msg = ('Heat refused %s (403 Forbidden) for %s, who holds %s: the user needs a role Heat\'s policy '
                   'allows on the project (Heat 24 enforces its new defaults: member; heat_stack_owner grants '
                   'nothing there): %s' % (what, self.who(), self.role_names(), detail))
        elif code == 409:
            msg = 'Heat refused %s (409 Conflict): %s' % (what, detail)
        else:
            msg = 'Heat answered %s to %s: %s' % (code, what, detail)
        self.fail(msg, **result)

    @staticmethod
    def body(resp):
        try:
            return resp.json() or {}
        except Exception:  # noqa: BLE001 - 204 and friends have no body
            return {}

    def signal(self, url, token, data):
        """POST `data` to a wait condition handle's URL with its own token (not the session's)."""
        where = 'signalling wait condition at %s' % host_of(url)

        def once():
            resp = self.session.post(url, json=data, authenticated=False, raise_exc=False,
                                     headers={'X-Auth-Token': token, 'Content-Type': 'application/json',
                                              'Accept': 'application/json'})
            if resp.status_code in (500, 502, 503, 504):
                raise ks_exc.HttpError(message=self.heat_error(resp), http_status=resp.status_code,
                                       method='POST', url=host_of(url))
            return resp

        try:
            resp = with_retries(self.module, once, where, sleep=self.sleep)
        except ks_exc.ClientException as exc:
            self.fail('%s failed: %s' % (where, exc))
        if not 200 <= resp.status_code < 300:
            hint = ''
            if resp.status_code in (401, 403):
                hint = (' (the handle\'s token was refused: check the stack user domain settings in heat.conf, '
                        'stack_user_domain_name/stack_domain_admin and its password)')
            self.fail('%s failed: %s %s%s' % (where, resp.status_code, self.heat_error(resp), hint))
