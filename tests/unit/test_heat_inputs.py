"""Unit tests of module_utils/heat_inputs.py, through heat_plan's `inputs`: the role's
inputs as the role passes them (its defaults, rendered, plus the secrets of an
inventory), each bad one named before anything is read, no secret printed."""
import functools
import json
from pathlib import Path

import pytest
import yaml

import heat_plan
from ansible.module_utils import heat_database, heat_inputs
from conftest import AnsibleExitJson, AnsibleFailJson
from test_role_vars import render

DEFAULTS = Path(__file__).resolve().parents[2] / 'roles' / 'heat' / 'defaults' / 'main.yml'

SECRETS = {
    'heat_db_password': 'db-Secret#1', 'heat_keystone_password': 'ks-Secret#2',
    'heat_domain_admin_password': 'hda-Secret#3', 'heat_messaging_password': 'rabbit-Secret#4',
    'heat_keystone_admin_password': 'admin-Secret#5', 'heat_auth_encryption_key': 'k3y-of-32-ascii-characters-abcde',
}


@functools.lru_cache(maxsize=1)
def role_defaults():
    names = [name for name in yaml.safe_load(DEFAULTS.read_text()) if name.startswith('heat_')]
    rendered = render('Debian', '{{ {%s} }}' % ', '.join("'%s': %s" % (name, name) for name in names),
                      ansible_play_hosts=['controller1', 'controller2'],
                      ansible_play_hosts_all=['controller1', 'controller2'], **SECRETS)
    return json.dumps(rendered)


def inputs(**changes):
    """Every heat_* input as the role's plan task gives them: the defaults, the inventory's secrets, changes."""
    values = json.loads(role_defaults())
    values.update(SECRETS)
    values.update(changes)
    return values


def problems(**changes):
    return heat_inputs.errors(inputs(**changes), 'controller1')


def test_the_defaults_with_the_secrets_are_fine():
    assert problems() == []


@pytest.mark.parametrize('changes, said', [
    ({'heat_auth_encryption_key': 'too-short'},
     'heat_auth_encryption_key must be exactly 32 characters that are 32 bytes in UTF-8 (32 ASCII characters: Heat '
     'builds its Fernet key from those bytes); it has 9 characters, 9 bytes.'),
    # 32 characters, 64 bytes: Heat would fail every stack.
    ({'heat_auth_encryption_key': '\u00e9' * 32}, 'it has 32 characters, 64 bytes'),
    ({'heat_keystone_public_url': 'controller:5000'},
     "heat_keystone_public_url must be an absolute http(s) URL such as http://controller:5000, got 'controller:5000'."),
    ({'heat_keystone_internal_url': 'http://controller:5000/v3/'},
     'heat_keystone_public_url and heat_keystone_internal_url must not end in /v3'),
    ({'heat_keystone_admin_auth': {'auth_url': 'http://controller:5000/v3', 'username': 'admin'}},
     'heat_keystone_admin_auth needs a username and a project_name (or set heat_keystone_admin_openrc).'),
    ({'heat_keystone_admin_openrc': 'admin-openrc.sh'},
     "heat_keystone_admin_openrc must be an absolute path on the first controller, got 'admin-openrc.sh'."),
    ({'heat_metadata_server_url': 'controller:8000'}, 'heat_metadata_server_url must be an absolute http(s) URL'),
    ({'heat_waitcondition_server_url': 'http://controller:8000/v1/wait'},
     "heat_waitcondition_server_url must be an absolute http(s) URL ending in /v1/waitcondition, "
     "got 'http://controller:8000/v1/wait'."),
    ({'heat_ca_bundle_content': 'not a certificate'}, 'heat_ca_bundle_content must hold PEM certificates'),
    ({'heat_ca_bundle': 'ca.pem'}, "heat_ca_bundle must be an absolute path on the controllers, got 'ca.pem'."),
    ({'heat_tls_cert_content': '-----BEGIN CERTIFICATE-----\n'}, 'heat_tls_cert_content and heat_tls_key_content go '
                                                                  'together'),
    ({'heat_tls_cert_content': 'x', 'heat_tls_key_content': 'y'},
     'heat_tls_cert_content must hold a PEM certificate and heat_tls_key_content a PEM private key.'),
    ({'heat_memcache_security_strategy': 'ENCRYPT', 'heat_memcached_servers': ['m:11211']},
     'heat_memcache_security_strategy ENCRYPT needs heat_memcache_secret_key'),
    ({'heat_memcache_security_strategy': 'MAC', 'heat_memcache_secret_key': 's'},
     'heat_memcache_security_strategy protects the token cache in memcached: set heat_memcached_servers too.'),
    ({'heat_db_ssl_ca': 'db-ca.pem'}, "heat_db_ssl_ca must be an absolute path on the controllers, got 'db-ca.pem'."),
    ({'heat_messaging_use_ssl': True, 'heat_messaging_ssl_ca_file': 'ca.pem'},
     "heat_messaging_ssl_ca_file must be an absolute path on the controllers, got 'ca.pem'."),
    ({'heat_restart_batch_size': -1}, 'heat_restart_batch_size (0: all at once) and heat_restart_lb_delay must not be'),
    ({'heat_public_address': 'https://vip'}, 'heat_public_address, heat_internal_address and heat_admin_address must be'),
    ({'heat_bind_host': 'http://0.0.0.0'}, "heat_bind_host must be an IP address (0.0.0.0 for all), got 'http://0.0.0.0'."),
    ({'heat_db_port': 70000}, 'heat_api_port, heat_cfn_port, heat_messaging_port and heat_db_port must be between 1'),
    ({'heat_cfn_port': 8004}, 'heat_api_port and heat_cfn_port must differ (both are 8004).'),
    ({'heat_messaging_hosts': []}, 'heat_messaging_hosts must list at least one host name or IP address'),
    ({'heat_messaging_vhost': ''}, 'heat_messaging_user and heat_messaging_vhost must not be empty'),
    ({'heat_db_host': 'db host'}, "heat_db_host must be a host name or IP address, got 'db host'."),
    ({'heat_db_name': 'heat-db'}, "heat_db_name and heat_db_user must be plain identifiers (letters, digits, _), got "
                                  "'heat-db', 'heat'."),
    ({'heat_db_allowed_hosts': []}, 'heat_db_allowed_hosts must list at least one host'),
    ({'heat_db_delegate_to': ''}, 'heat_db_delegate_to must name the host that runs the database tasks.'),
    ({'heat_region': 'Region One/../x'}, "heat_region must be a region id such as RegionOne (letters, digits, . _ -), "
                                         "got 'Region One/../x'."),
    ({'heat_keystone_region': ''}, 'heat_keystone_region must be a region id'),
    ({'heat_service_project_domain': 'x' * 65}, 'heat_stack_domain, heat_keystone_user_domain and '
                                                'heat_service_project_domain must be Keystone domain names'),
    ({'heat_stack_domain': 'default'}, "heat_stack_domain must be a domain of its own (the guide's 'heat'), not Default"),
    ({'heat_keystone_user': 'heat/x'}, 'heat_keystone_user, heat_domain_admin_user, heat_service_project, '
                                       'heat_stack_user_role and heat_stack_owner_role must be non-empty names'),
    ({'heat_api_processes': 0}, "heat_num_engine_workers and heat_api_processes must be at least 1, got '2', '0'."),
    ({'heat_db_max_retries': -2}, "heat_db_max_retries must be -1 (forever) or more, got '-2'."),
    ({'heat_purge_deleted_age': 0}, "heat_purge_deleted_age must be at least 1 (in heat_purge_deleted_age_unit), got '0'."),
    ({'heat_purge_deleted_schedule': 'daily\nExecStart=/bin/sh'},
     'heat_purge_deleted_schedule must be a systemd calendar expression on one line (e.g. daily)'),
    ({'heat_purge_deleted_host': ''}, 'heat_purge_deleted_host must name the controller that runs the purge.'),
    ({'heat_lock_path': 'var/lock/heat'}, "heat_lock_path must be an absolute path, got 'var/lock/heat'."),
    ({'heat_memcached_servers': ['controller']}, "heat_memcached_servers entries must be host:port, got ['controller']."),
    ({'heat_conf_overrides': {'DEFAULT': {'debug': [True]}}},
     'heat_conf_overrides: [DEFAULT] debug must be a scalar (string, number, boolean; null removes the key) on one line.'),
    ({'heat_conf_overrides': {'DEFAULT': 'debug=true'}},
     'heat_conf_overrides: section(s) DEFAULT must be mappings of key: value.'),
    ({'heat_conf_overrides': {'DEFAULT': {'banner': 'two\nlines'}}}, 'heat_conf_overrides: [DEFAULT] banner must be'),
])
def test_each_bad_input_is_named(changes, said):
    found = problems(**changes)
    assert len(found) == 1, found
    assert said in found[0]


def test_a_disabled_purge_is_not_checked():
    assert problems(heat_purge_deleted_enabled=False, heat_purge_deleted_age=0) == []


def test_every_problem_at_once():
    found = problems(heat_region='a b', heat_db_name='x-y', heat_lock_path='tmp')
    assert sorted(text.split(' ')[0] for text in found) == ['heat_db_name', 'heat_lock_path', 'heat_region']


def test_missing_secrets_named_alone():
    found = problems(heat_db_password='', heat_messaging_password='  ', heat_region='a b')
    assert found == ['Empty or unset: heat_db_password, heat_messaging_password. Set them in the inventory, from an '
                     'Ansible Vault file.']
    # With an openrc file the admin's password may be unset.
    assert problems(heat_keystone_admin_password=None) != []
    assert problems(heat_keystone_admin_password=None, heat_keystone_admin_openrc='/root/admin-openrc.sh') == []


def test_ca_bundles_given_by_path_must_be_files_here(tmp_path):
    ca = tmp_path / 'ca.pem'
    ca.write_text('-----BEGIN CERTIFICATE-----\n')
    assert problems(heat_ca_bundle=str(ca), heat_db_ssl_ca=str(ca)) == []
    found = problems(heat_ca_bundle=str(tmp_path / 'nope.pem'), heat_messaging_use_ssl=True,
                     heat_messaging_ssl_ca_file=str(tmp_path / 'rabbit.pem'))
    assert found == ['Not a file on controller1: heat_ca_bundle %s, heat_messaging_ssl_ca_file %s. Install the bundle '
                     'there first, or give its content in heat_ca_bundle_content for the role to install.'
                     % (tmp_path / 'nope.pem', tmp_path / 'rabbit.pem')]
    # A bundle the role installs from its content is not looked for.
    assert problems(heat_ca_bundle=str(tmp_path / 'nope.pem'), heat_db_ssl_ca=str(tmp_path / 'nope.pem'),
                    heat_ca_bundle_content='-----BEGIN CERTIFICATE-----\n') == []


def test_settings_the_controllers_must_share():
    same = {'heat_region': 'RegionOne', 'heat_auth_encryption_key': 'ab12'}
    assert heat_inputs.shared_errors({'c1': same, 'c2': dict(same)}) == []
    assert heat_inputs.shared_errors({}) == []
    found = heat_inputs.shared_errors({'c1': same, 'c2': dict(same, heat_auth_encryption_key='cd34'),
                                       'c3': dict(same, heat_region='RegionTwo')})
    assert found == ['These differ between the controllers c1, c2, c3: heat_region, heat_auth_encryption_key (keys are '
                     'compared by their hashes). Set them once for the group (group_vars), e.g. a VIP or load-balancer '
                     'name for the addresses; the encryption key must be identical everywhere.']


def test_the_plan_fails_on_bad_inputs_before_reading_anything(module_args, monkeypatch):
    def must_not_read(*args, **kwargs):
        raise AssertionError('read before the inputs were checked')

    monkeypatch.setattr(heat_database, 'check', must_not_read)
    bad = inputs(heat_cfn_port=8004, heat_conf_overrides={'keystone_authtoken': {'password': 'over-Secret#6'}},
                 heat_keystone_admin_auth={'auth_url': 'http://controller:5000/v3', 'username': 'admin',
                                           'project_name': 'admin', 'password': 'admin-Secret#5'})
    module_args({'inputs': bad, 'database': {'host': 'controller', 'port': 3306},
                 'explain': {'host': 'controller1'}})
    with pytest.raises(AnsibleFailJson) as failed:
        heat_plan.main()
    result = failed.value.args[0]
    assert result['cause'] == 'inputs'
    assert result['msg'] == 'heat_api_port and heat_cfn_port must differ (both are 8004).'
    for secret in list(SECRETS.values()) + ['over-Secret#6']:
        assert secret not in repr(result)


@functools.lru_cache(maxsize=1)
def conf_inputs():
    return json.dumps(render('Debian', '{{ _heat_conf_inputs }}', **SECRETS))


@pytest.mark.parametrize('section, option, value, said', [
    # 32 bytes, but not the deployed key: the rotation rule must see it, so it goes through the input.
    ('DEFAULT', 'auth_encryption_key', 'another-key-of-32-ascii-chars-00',
     'heat_conf_overrides sets [DEFAULT] auth_encryption_key, which the role writes from heat_auth_encryption_key '
     '(heat_auth_encryption_key_rotate to change it): set that instead and remove [DEFAULT] auth_encryption_key from '
     'heat_conf_overrides.'),
    ('DEFAULT', 'auth_encryption_key', 'short', 'which the role writes from heat_auth_encryption_key'),
    ('database', 'connection', 'mysql+pymysql://heat:x@nohost.invalid/heat',
     'heat_conf_overrides sets [database] connection, which the role writes from heat_db_user, heat_db_password, '
     'heat_db_host, heat_db_port, heat_db_name, heat_db_ssl_ca: set that instead'),
    ('DEFAULT', 'stack_domain_admin_password', 'not-the-domain-password', 'from heat_domain_admin_password'),
    ('keystone_authtoken', 'region_name', 'RegionTwo', 'from heat_keystone_region'),
    ('ec2authtoken', 'auth_uri', 'http://keystone:5000/v3', 'from heat_keystone_public_url'),
    ('healthcheck', 'disable_by_file_path', '/tmp/x',
     'heat_conf_overrides sets [healthcheck] disable_by_file_path, which the role writes as the drain file of its '
     'rolling restarts: remove it from heat_conf_overrides.'),
])
def test_overrides_of_what_the_role_writes_from_an_input_are_refused(section, option, value, said):
    found = heat_inputs.errors(inputs(heat_conf_overrides={section: {option: value}}), 'controller1',
                               json.loads(conf_inputs()))
    assert len(found) == 1 and said in found[0], found
    assert value not in found[0]


def test_overrides_of_options_the_role_does_not_take_from_an_input_pass():
    overrides = {'DEFAULT': {'debug': True, 'server_keystone_endpoint_type': 'internal'},
                 'keystone_authtoken': {'service_token_roles_required': True, 'auth_type': 'password'},
                 'healthcheck': {'backends': 'disable_by_file'}}
    assert heat_inputs.errors(inputs(heat_conf_overrides=overrides), 'controller1', json.loads(conf_inputs())) == []


@pytest.mark.parametrize('overrides, said', [
    (['stacks:delete'], 'heat_policy_overrides must be a mapping {rule: check string}.'),
    ({'stacks:delete': True}, 'heat_policy_overrides: the check strings of stacks:delete must be strings'),
    ({'stacks:delete': None}, 'heat_policy_overrides: the check strings of stacks:delete must be strings'),
    ({' stacks:delete': 'role:admin'}, "heat_policy_overrides: rule names ' stacks:delete' must be non-empty"),
    ({'': 'role:admin'}, "heat_policy_overrides: rule names '' must be non-empty"),
])
def test_policy_overrides_of_the_wrong_shape_are_refused(overrides, said):
    found = problems(heat_policy_overrides=overrides)
    assert len(found) == 1 and found[0].startswith(said), found


def test_policy_overrides_with_check_strings_pass_the_inputs_check():
    assert problems(heat_policy_overrides={'stacks:delete': 'role:admin', 'stacks:index': ''}) == []


@pytest.mark.parametrize('overrides', [{'DEFAULT': {'a=b': 1}}, {'DEFAULT': {' debug': 1}}, {'sec]tion': {'x': 1}},
                                       {'DEFAULT': {'#debug': 1}}])
def test_override_names_iniparse_could_not_write_are_refused(overrides):
    found = problems(heat_conf_overrides=overrides)
    assert len(found) == 1 and found[0].startswith('heat_conf_overrides: [') and 'name must not be empty' in found[0]


def test_the_plan_refuses_an_override_of_an_input_before_reading_anything(module_args, monkeypatch):
    def must_not_read(*args, **kwargs):
        raise AssertionError('read before the inputs were checked')

    monkeypatch.setattr(heat_database, 'check', must_not_read)
    module_args({'inputs': inputs(heat_conf_overrides={'keystone_authtoken': {'password': 'over-Secret#6'}}),
                 'conf_inputs': json.loads(conf_inputs()), 'database': {'host': 'controller', 'port': 3306}})
    with pytest.raises(AnsibleFailJson) as failed:
        heat_plan.main()
    result = failed.value.args[0]
    assert result['cause'] == 'inputs'
    assert 'heat_conf_overrides sets [keystone_authtoken] password, which the role writes from heat_keystone_password' \
        in result['msg']
    for secret in list(SECRETS.values()) + ['over-Secret#6']:
        assert secret not in repr(result)


def test_the_plan_goes_on_with_good_inputs(module_args, monkeypatch):
    monkeypatch.setattr(heat_database, 'check', lambda params: dict(ok=True, host=params['host'], port=params['port']))
    module_args({'inputs': inputs(), 'database': {'host': 'controller', 'port': 3306}})
    with pytest.raises(AnsibleExitJson) as done:
        heat_plan.main()
    assert done.value.args[0]['database']['ok'] is True
