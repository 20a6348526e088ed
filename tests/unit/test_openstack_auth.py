"""Unit tests of module_utils/openstack_auth.py (shared by keystone_registration and heat_stack)."""
import os

import pytest

from ansible.module_utils import openstack_auth
from ansible.module_utils.openstack_auth import (
    auth_argument_spec, build_session, is_transient, parse_openrc, resolve_auth, with_retries,
)
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3


class Failed(Exception):
    pass


class FakeModule(object):
    """What the helpers use of AnsibleModule: params, no_log_values, fail_json."""

    def __init__(self, **params):
        self.params = dict(auth=None, openrc=None, validate_certs=True, api_timeout=30, retries=5,
                           retry_delay=2.0)
        self.params.update(params)
        self.no_log_values = set()

    def fail_json(self, msg, **kwargs):
        raise Failed(msg)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith('OS_'):
            monkeypatch.delenv(name)


FULL = dict(auth_url='http://k:5000/v3', username='admin', password='pw', project_name='admin')


# --------------------------------------------------------------------------- argument spec

def test_argument_spec_hides_the_password_and_has_retry_options():
    spec = auth_argument_spec()
    assert spec['auth']['options']['password']['no_log'] is True
    assert set(spec['auth']['options']) == set(openstack_auth.AUTH_KEYS)
    assert spec['retries']['default'] == 5 and spec['retry_delay']['default'] == 2.0
    assert spec['openrc']['type'] == 'path'


# --------------------------------------------------------------------------- openrc

def test_parse_openrc(tmp_path):
    path = tmp_path / 'openrc'
    path.write_text('\n'.join([
        '# admin credentials',
        'export OS_USERNAME=admin',
        'OS_PASSWORD=abc#def',                       # # inside a word is not a comment in sh
        "export OS_PROJECT_NAME='my project'  # trailing comment",
        'export OS_AUTH_URL="http://controller:5000/v3"',
        'export OS_USER_DOMAIN_NAME= # empty',
        'export OS_REGION_NAME="unbalanced',
        'export NOT_OS=1',
        'alias x=y',
    ]) + '\n')
    assert parse_openrc(str(path)) == {
        'OS_USERNAME': 'admin',
        'OS_PASSWORD': 'abc#def',
        'OS_PROJECT_NAME': 'my project',
        'OS_AUTH_URL': 'http://controller:5000/v3',
        'OS_USER_DOMAIN_NAME': '',
    }


# The shapes the usual tools write (password P@ss w'rd#1 where quoting allows).
OPENRC_SHAPES = {
    # Install guide, "Create OpenStack client environment scripts" (admin-openrc).
    'install-guide': ('export OS_PROJECT_DOMAIN_NAME=Default\n'
                      'export OS_USER_DOMAIN_NAME=Default\n'
                      'export OS_PROJECT_NAME=admin\n'
                      'export OS_USERNAME=admin\n'
                      'export OS_PASSWORD=ADMIN_PASS\n'
                      'export OS_AUTH_URL=http://controller:5000/v3\n'
                      'export OS_IDENTITY_API_VERSION=3\n'
                      'export OS_IMAGE_API_VERSION=2\n',
                      dict(password='ADMIN_PASS', interface='public')),
    # keystone-manage bootstrap's documentation: the variables, no domains.
    'keystone-bootstrap': ('export OS_USERNAME=admin\n'
                           'export OS_PASSWORD=ADMIN_PASS\n'
                           'export OS_PROJECT_NAME=admin\n'
                           'export OS_USER_DOMAIN_ID=default\n'
                           'export OS_PROJECT_DOMAIN_ID=default\n'
                           'export OS_AUTH_URL=http://controller:5000/v3\n',
                           dict(password='ADMIN_PASS')),
    # kolla-ansible's admin-openrc.sh (unquoted values; newer releases quote them).
    'kolla-ansible': ('# Clear any old environment that may conflict.\n'
                      'for key in $( set | awk \'{FS="="}  /^OS_/ {print $1}\' ); do unset $key ; done\n'
                      'export OS_PROJECT_DOMAIN_NAME=Default\n'
                      'export OS_USER_DOMAIN_NAME=Default\n'
                      'export OS_PROJECT_NAME=admin\n'
                      'export OS_TENANT_NAME=admin\n'
                      'export OS_USERNAME=admin\n'
                      'export OS_PASSWORD=P@ssw0rd#1\n'
                      'export OS_AUTH_URL=http://controller:5000/v3\n'
                      'export OS_INTERFACE=internal\n'
                      'export OS_ENDPOINT_TYPE=internalURL\n'
                      'export OS_IDENTITY_API_VERSION=3\n'
                      'export OS_REGION_NAME=RegionOne\n'
                      'export OS_AUTH_PLUGIN=password\n'
                      'export OS_CACERT=/etc/kolla/certificates/ca/root.crt\n',
                      dict(password='P@ssw0rd#1', interface='internal', region_name='RegionOne',
                           cacert='/etc/kolla/certificates/ca/root.crt')),
    'kolla-ansible-quoted': ("export OS_PROJECT_NAME='admin'\n"
                             "export OS_USERNAME='admin'\n"
                             "export OS_PASSWORD='P@ss w\"rd#1'\n"
                             "export OS_AUTH_URL='http://controller:5000'\n"
                             "export OS_INTERFACE='internal'\n",
                             dict(password='P@ss w"rd#1', interface='internal', auth_url='http://controller:5000')),
    # openstack-ansible's openstack_openrc role (templates/openrc.j2).
    'openstack-ansible': ('# Ansible managed\n'
                          'export LC_ALL=C\n'
                          '\n'
                          '# COMMON CINDER ENVS\n'
                          'export CINDER_ENDPOINT_TYPE=internalURL\n'
                          '\n'
                          '# COMMON OPENSTACK ENVS\n'
                          'export OS_ENDPOINT_TYPE=internalURL\n'
                          'export OS_INTERFACE=internalURL\n'
                          'export OS_USERNAME=admin\n'
                          "export OS_PASSWORD='P@ss w\"rd#1'\n"
                          'export OS_TENANT_NAME=admin\n'
                          'export OS_AUTH_TYPE=password\n'
                          'export OS_AUTH_URL=http://controller:5000/v3\n'
                          'export OS_NO_CACHE=1\n'
                          'export OS_USER_DOMAIN_NAME=Default\n'
                          'export OS_PROJECT_DOMAIN_NAME=Default\n'
                          'export OS_REGION_NAME=RegionOne\n'
                          '\n'
                          '# For openstackclient\n'
                          'export OS_IDENTITY_API_VERSION=3\n'
                          'export OS_AUTH_VERSION=3\n'
                          "export OS_INSECURE='true'\n"
                          "alias openstack='openstack --insecure'\n",
                          dict(password='P@ss w"rd#1', interface='internal', region_name='RegionOne')),
    # Hand-written, with a trailing comment (the Jinja parser kept it in the password).
    'trailing-comment': ('export OS_USERNAME=admin\n'
                         'export OS_PASSWORD="s3cr3t"   # bootstrap\n'
                         'export OS_PROJECT_NAME=admin   # the admin project\n'
                         'export OS_AUTH_URL=http://controller:5000/v3\n',
                         dict(password='s3cr3t')),
}


@pytest.mark.parametrize('shape', sorted(OPENRC_SHAPES))
def test_openrc_shapes_of_the_usual_tools(tmp_path, shape):
    text, expected = OPENRC_SHAPES[shape]
    path = tmp_path / 'openrc'
    path.write_text(text)
    creds = resolve_auth(FakeModule(openrc=str(path)))
    wanted = dict(auth_url='http://controller:5000/v3', username='admin', project_name='admin',
                  user_domain_name='Default', project_domain_name='Default', interface='public',
                  region_name=None, cacert=None)
    wanted.update(expected)
    assert creds == wanted


# --------------------------------------------------------------------------- resolve_auth

def test_resolve_auth_precedence_auth_then_openrc_then_env_then_defaults(tmp_path, monkeypatch):
    openrc = tmp_path / 'openrc'
    openrc.write_text('export OS_USERNAME=from-file\nexport OS_PASSWORD=file-pw\n'
                      'export OS_PROJECT_NAME=file-project\n')
    monkeypatch.setenv('OS_USERNAME', 'from-env')
    monkeypatch.setenv('OS_AUTH_URL', 'http://env:5000/v3')
    monkeypatch.setenv('OS_PROJECT_NAME', 'env-project')
    module = FakeModule(auth={'username': 'from-auth', 'password': None}, openrc=str(openrc))

    creds = resolve_auth(module)

    assert creds['username'] == 'from-auth'
    assert creds['password'] == 'file-pw'
    assert creds['project_name'] == 'file-project'
    assert creds['auth_url'] == 'http://env:5000/v3'
    assert creds['user_domain_name'] == 'Default' and creds['project_domain_name'] == 'Default'
    assert creds['interface'] == 'public' and creds['region_name'] is None
    assert set(creds) == set(openstack_auth.AUTH_KEYS)


def test_resolve_auth_hides_the_password():
    module = FakeModule(auth=dict(FULL))
    resolve_auth(module)
    assert module.no_log_values == {'pw'}


def test_resolve_auth_names_what_is_missing():
    with pytest.raises(Failed) as exc:
        resolve_auth(FakeModule(auth={'username': 'admin'}))
    assert str(exc.value) == ('missing OpenStack credentials: auth_url, password, project_name (give them in '
                              '`auth`, in an `openrc` file, or as OS_AUTH_URL, OS_PASSWORD, OS_PROJECT_NAME in '
                              'the environment)')


def test_resolve_auth_unreadable_openrc(tmp_path):
    with pytest.raises(Failed) as exc:
        resolve_auth(FakeModule(openrc=str(tmp_path / 'missing')))
    assert str(exc.value).startswith('cannot read openrc file %s' % (tmp_path / 'missing'))


# --------------------------------------------------------------------------- build_session

def test_build_session_uses_v3_password_with_the_given_scope():
    module = FakeModule(auth=dict(FULL, user_domain_name='ud', project_domain_name='pd'), api_timeout=7)
    session = build_session(module)
    assert isinstance(session, ks_session.Session)
    plugin = session.auth
    assert isinstance(plugin, v3.Password)
    assert plugin.auth_url == 'http://k:5000/v3'
    assert plugin.project_name == 'admin' and plugin.project_domain_name == 'pd'
    method = plugin.auth_methods[0]
    assert (method.username, method.password, method.user_domain_name) == ('admin', 'pw', 'ud')
    assert session.timeout == 7.0
    assert session.verify is True


@pytest.mark.parametrize('cacert, validate, expected', [
    (None, False, False),
    ('/etc/ssl/ca.pem', True, '/etc/ssl/ca.pem'),
])
def test_build_session_tls_verification(cacert, validate, expected):
    module = FakeModule(auth=dict(FULL, cacert=cacert), validate_certs=validate)
    assert build_session(module, resolve_auth(module)).verify == expected


# --------------------------------------------------------------------------- retries

@pytest.mark.parametrize('exc, transient', [
    (ks_exc.ConnectFailure('refused'), True),
    (ks_exc.ConnectTimeout('slow'), True),
    (ks_exc.RequestTimeout('slow'), True),
    (ks_exc.DiscoveryFailure('no versions'), True),
    (ks_exc.HttpError(http_status=503), True),
    (ks_exc.HttpError(http_status=500), True),
    (ks_exc.HttpError(http_status=404), False),
    (ks_exc.Unauthorized(), False),
    (ks_exc.Forbidden(), False),
    (ks_exc.SSLError('bad certificate'), False),
    (ValueError('bug'), False),
])
def test_is_transient(exc, transient):
    assert is_transient(exc) is transient


class Flaky(object):
    def __init__(self, failures, exc=None):
        self.failures = failures
        self.calls = 0
        self.exc = exc or ks_exc.ConnectFailure('Connection refused')

    def __call__(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.exc
        return 'answer'


def test_with_retries_returns_at_once_when_it_works():
    slept = []
    assert with_retries(FakeModule(), Flaky(0), 'Keystone', sleep=slept.append) == 'answer'
    assert slept == []


def test_with_retries_backs_off_exponentially_up_to_30s():
    slept = []
    flaky = Flaky(6)
    module = FakeModule(retries=6, retry_delay=4)
    assert with_retries(module, flaky, 'Keystone', sleep=slept.append) == 'answer'
    assert flaky.calls == 7
    assert slept == [4, 8, 16, 30, 30, 30]


def test_with_retries_gives_up_with_a_clear_message():
    slept = []
    flaky = Flaky(100)
    with pytest.raises(Failed) as exc:
        with_retries(FakeModule(retries=2, retry_delay=1), flaky, 'Keystone at http://k:5000/v3',
                     sleep=slept.append, hint='check that Keystone is running')
    assert str(exc.value) == ('Keystone at http://k:5000/v3 is unreachable or failing after 3 attempts: '
                              'Connection refused (check that Keystone is running)')
    assert flaky.calls == 3 and slept == [1, 2]


def test_with_retries_without_retries_tries_once():
    flaky = Flaky(1)
    with pytest.raises(Failed):
        with_retries(FakeModule(retries=0), flaky, 'Keystone', sleep=lambda s: None)
    assert flaky.calls == 1


def test_with_retries_lets_other_errors_through_at_once():
    slept = []
    flaky = Flaky(1, ks_exc.Unauthorized())
    with pytest.raises(ks_exc.Unauthorized):
        with_retries(FakeModule(), flaky, 'Keystone', sleep=slept.append)
    assert flaky.calls == 1 and slept == []


def test_with_retries_custom_transient_test():
    flaky = Flaky(1, ks_exc.HttpError(http_status=503))
    with pytest.raises(ks_exc.HttpError):
        with_retries(FakeModule(), flaky, 'Keystone', sleep=lambda s: None,
                     transient=lambda exc: isinstance(exc, ks_exc.ConnectFailure))
    assert flaky.calls == 1


def test_with_retries_default_sleep_is_patchable(monkeypatch):
    slept = []
    monkeypatch.setattr(openstack_auth.time, 'sleep', slept.append)
    assert with_retries(FakeModule(retry_delay=0.5), Flaky(2), 'Keystone') == 'answer'
    assert slept == [0.5, 1.0]
