# -*- coding: utf-8 -*-
# Shared by the bundled OpenStack modules (keystone_registration, heat_stack,
# heat_plan, openstack_get): one way to get admin or user credentials, one keystoneauth1
# session, and one bounded retry policy for services that are briefly
# unavailable. Only build_session and is_transient need keystoneauth1, imported
# when called: heat_plan uses the rest on a host that does not have it.
from __future__ import annotations

import os
import re
import shlex
import sys
import time

# keystoneauth1 and keystoneclient import osprofiler, when it is installed,
# only to trace requests; osprofiler pulls in eventlet, about 0.4 s of every
# module run on a small controller (measured in the lab). These modules never
# trace: a None entry makes that optional import fail, as if not installed.
sys.modules.setdefault('osprofiler', None)

AUTH_KEYS = (
    'auth_url', 'username', 'password', 'project_name', 'user_domain_name',
    'project_domain_name', 'region_name', 'interface', 'cacert',
)

# OS_* environment names for each auth key (what an openrc file exports).
ENV_NAMES = {
    'auth_url': 'OS_AUTH_URL',
    'username': 'OS_USERNAME',
    'password': 'OS_PASSWORD',
    'project_name': 'OS_PROJECT_NAME',
    'user_domain_name': 'OS_USER_DOMAIN_NAME',
    'project_domain_name': 'OS_PROJECT_DOMAIN_NAME',
    'region_name': 'OS_REGION_NAME',
    'interface': 'OS_INTERFACE',
    'cacert': 'OS_CACERT',
}

# Older names an openrc may use instead (v2-era files, kolla-ansible and
# openstack-ansible write both).
ENV_FALLBACKS = {
    'project_name': 'OS_TENANT_NAME',
}

DEFAULTS = {
    'user_domain_name': 'Default',
    'project_domain_name': 'Default',
    'interface': 'public',
}


def credential_argument_spec():
    """Where the credentials come from: `auth`, `openrc`, OS_* environment."""
    return dict(
        auth=dict(
            type='dict', required=False, default=None,
            options=dict(
                auth_url=dict(type='str'),
                username=dict(type='str'),
                password=dict(type='str', no_log=True),
                project_name=dict(type='str'),
                user_domain_name=dict(type='str'),
                project_domain_name=dict(type='str'),
                region_name=dict(type='str'),
                interface=dict(type='str', choices=['public', 'internal', 'admin']),
                cacert=dict(type='path'),
            ),
        ),
        openrc=dict(type='path', required=False, default=None),
        validate_certs=dict(type='bool', default=True),
    )


def auth_argument_spec():
    """Options of the modules that use keystoneauth1: credentials, timeout, retries."""
    spec = credential_argument_spec()
    spec.update(
        api_timeout=dict(type='int', default=30),
        retries=dict(type='int', default=5),
        retry_delay=dict(type='float', default=2.0),
    )
    return spec


_EXPORT = re.compile(r'^\s*(?:export\s+)?(OS_[A-Z_]+)=(.*)$')


def parse_openrc(path):
    """Return the OS_* variables an openrc shell file exports (no shell is run)."""
    values = {}
    with open(path, encoding='utf-8') as handle:
        for line in handle:
            match = _EXPORT.match(line)
            if not match:
                continue
            try:
                values[match.group(1)] = _first_shell_word(match.group(2))
            except ValueError:  # unbalanced quotes: not a value a shell would accept
                continue
    return values


def _first_shell_word(text):
    """The value a shell assigns in NAME=<text>: the first word, unquoted.

    As in sh, `#` starts a comment only at the start of a word, so a password
    such as abc#def is kept whole (shlex's comments=True would cut it at #).
    """
    if not text or text[0].isspace():
        return ''
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ''
    return next(iter(lexer), '')


def resolve_auth(module):
    """Merge credentials: `auth` parameters, then `openrc` file, then OS_* env.

    Returns a dict with every AUTH_KEYS entry (None where unknown) or fails
    with a message naming what is missing.
    """
    given = dict(module.params.get('auth') or {})
    openrc = module.params.get('openrc')
    from_file = {}
    if openrc:
        try:
            from_file = parse_openrc(openrc)
        except OSError as exc:
            module.fail_json(msg='cannot read openrc file %s: %s' % (openrc, exc.strerror))
    creds = {}
    for key in AUTH_KEYS:
        value = given.get(key)
        names = [ENV_NAMES[key]] + ([ENV_FALLBACKS[key]] if key in ENV_FALLBACKS else [])
        for source in (from_file, os.environ):  # the file wins over the environment
            for name in names:
                if value in (None, ''):
                    value = source.get(name)
        if value in (None, ''):
            value = DEFAULTS.get(key)
        creds[key] = value
    # openstack-ansible writes OS_INTERFACE=internalURL (the old endpoint_type).
    if creds['interface'] and creds['interface'].endswith('URL'):
        creds['interface'] = creds['interface'][:-3]
    if creds.get('password'):
        module.no_log_values.add(creds['password'])
    missing = [k for k in ('auth_url', 'username', 'password', 'project_name') if not creds.get(k)]
    if missing:
        module.fail_json(
            msg='missing OpenStack credentials: %s (give them in `auth`, in an `openrc` '
                'file, or as %s in the environment)'
                % (', '.join(missing), ', '.join(ENV_NAMES[k] for k in missing)))
    return creds


def build_session(module, creds=None):
    """A keystoneauth1 Session authenticated with password auth (Keystone v3)."""
    try:
        from keystoneauth1 import session as ks_session
        from keystoneauth1.identity import v3
    except ImportError:
        module.fail_json(msg='the python keystoneauth1 library is required on the managed host '
                             '(Debian: python3-keystoneauth1, RHEL: python3-keystoneauth1)')
    creds = creds or resolve_auth(module)
    plugin = v3.Password(
        auth_url=creds['auth_url'],
        username=creds['username'],
        password=creds['password'],
        project_name=creds['project_name'],
        user_domain_name=creds['user_domain_name'],
        project_domain_name=creds['project_domain_name'],
    )
    verify = creds.get('cacert') or module.params.get('validate_certs', True)
    return ks_session.Session(auth=plugin, verify=verify, timeout=module.params.get('api_timeout', 30))


def is_transient(exc):
    """True for errors worth retrying: connection failures, timeouts, 5xx answers."""
    try:
        from keystoneauth1 import exceptions as ks_exc
    except ImportError:  # pragma: no cover - checked in build_session
        return False
    if isinstance(exc, (ks_exc.ConnectFailure, ks_exc.ConnectTimeout, ks_exc.RequestTimeout,
                        ks_exc.DiscoveryFailure)):
        return True
    return isinstance(exc, ks_exc.HttpError) and getattr(exc, 'http_status', 0) in (500, 502, 503, 504)


def with_retries(module, func, what, sleep=None, transient=None, hint=None):
    """Call func(); retry transient failures with exponential backoff.

    `what` names the service for the final error ("Keystone at http://...").
    Non-transient errors propagate unchanged for the caller to explain.
    `sleep` defaults to time.sleep looked up at call time (so tests can patch
    it); `transient` (default is_transient) decides what is retried, e.g. a
    stricter test for non-idempotent writes; `hint` is appended to the final
    error to say what to do.
    """
    sleep = sleep or time.sleep
    transient = transient or is_transient
    retries = max(0, int(module.params.get('retries', 5)))
    delay = float(module.params.get('retry_delay', 2.0))
    attempt = 0
    while True:
        try:
            return func()
        except Exception as exc:  # noqa: BLE001 - classified below
            if not transient(exc):
                raise
            if attempt >= retries:
                module.fail_json(msg='%s is unreachable or failing after %d attempts: %s%s'
                                     % (what, attempt + 1, exc, ' (%s)' % hint if hint else ''),
                                 cause='unreachable')
            sleep(min(delay * (2 ** attempt), 30))
            attempt += 1
