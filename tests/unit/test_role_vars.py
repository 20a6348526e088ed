"""The role's per-OS-family values, rendered as Ansible renders them.

The RHEL family cannot be run here (no mirror is reachable), so what differs
by family is checked where it is computed: defaults/main.yml and
vars/main/, templated with the facts of each family.
"""
from pathlib import Path

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLE = Path(__file__).resolve().parents[2] / 'roles' / 'heat'

SECRETS = {name: 'x' for name in ('heat_db_password', 'heat_keystone_password', 'heat_domain_admin_password',
                                  'heat_messaging_password', 'heat_keystone_admin_password')}


def trusted(value):
    """As Ansible treats a role's own files: their strings are templates."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trusted(item) for item in value]
    return value


def render(os_family, expression, **extra):
    loader = DataLoader()
    variables = {}
    for path in [ROLE / 'defaults/main.yml'] + sorted((ROLE / 'vars/main').glob('*.yml')):
        variables.update(trusted(loader.load_from_file(str(path))))
    variables.update(SECRETS, heat_auth_encryption_key='k' * 32, inventory_hostname='controller1',
                     ansible_play_hosts_all=['controller1'],
                     role_path=str(ROLE), ansible_check_mode=False,
                     ansible_facts={'os_family': os_family, 'processor_vcpus': 2})
    variables.update(extra)
    return Templar(loader=loader, variables=variables).template(trust_as_template(expression))


@pytest.mark.parametrize('family,sockets', [
    ('Debian', ['/run/mysqld/mysqld.sock', '/run/mariadbd/mysqld.sock']),
    ('RedHat', ['/var/lib/mysql/mysql.sock']),
])
def test_database_socket_follows_the_os_family(family, sockets):
    assert render(family, '{{ heat_db_login_unix_socket }}') == ''
    assert render(family, '{{ _heat_db_login_sockets }}') == sockets


def test_an_operator_socket_wins():
    assert render('RedHat', '{{ _heat_db_login_sockets }}', heat_db_login_unix_socket='/tmp/my.sock') == ['/tmp/my.sock']
    assert render('RedHat', '{{ _heat_db_login_socket }}', heat_db_login_unix_socket='/tmp/my.sock') == '/tmp/my.sock'


def test_the_database_tasks_log_in_through_the_socket_the_plan_found():
    found = {'controller1': {'_heat_plan': {'database': {'socket': '/run/mariadbd/mysqld.sock'}}}}
    assert render('Debian', '{{ _heat_db_login_socket }}', hostvars=found,
                  heat_db_delegate_to='controller1') == '/run/mariadbd/mysqld.sock'
    # A delegate outside the play: its own look (validate.yml).
    assert render('Debian', '{{ _heat_db_login_socket }}', hostvars={}, heat_db_delegate_to='db1',
                  _heat_db_delegate_plan={'database': {'socket': '/run/mysqld/mysqld.sock'}}) == '/run/mysqld/mysqld.sock'



def test_what_the_database_tasks_do_follows_the_plan_of_the_delegate():
    collation = {'default': 'utf8mb4_general_ci', 'tables': 'utf8mb3_general_ci'}
    read = {'in_place': True, 'sync_collation': collation}
    found = {'controller1': {'_heat_plan': {'database': read}}}
    assert render('Debian', '{{ _heat_db_in_place }}', hostvars=found, heat_db_delegate_to='controller1') is True
    assert render('Debian', '{{ _heat_db_sync_collation }}', hostvars=found, heat_db_delegate_to='controller1') == collation
    # A delegate outside the play: its own look.
    assert render('Debian', '{{ _heat_db_sync_collation }}', hostvars={}, heat_db_delegate_to='db1',
                  _heat_db_delegate_plan={'database': read}) == collation
    # Nothing read (a run started past validate.yml): the database tasks run, db_sync as it is.
    assert render('Debian', '{{ _heat_db_in_place }}', hostvars={}, heat_db_delegate_to='db1') is False
    assert render('Debian', '{{ _heat_db_sync_collation }}', hostvars={}, heat_db_delegate_to='db1') == {}


@pytest.mark.parametrize('family,names', [
    ('Debian', {'api': 'heat-api', 'cfn': 'heat-api-cfn', 'engine': 'heat-engine'}),
    ('RedHat', {'api': 'openstack-heat-api', 'cfn': 'openstack-heat-api-cfn', 'engine': 'openstack-heat-engine'}),
])
def test_service_names_follow_the_os_family(family, names):
    assert render(family, '{{ _heat_service_names }}') == names


@pytest.mark.parametrize('family,packages', [
    ('Debian', {'heat-api', 'heat-api-cfn', 'heat-engine', 'python3-heatclient'}),
    ('RedHat', {'openstack-heat-api', 'openstack-heat-api-cfn', 'openstack-heat-engine', 'python3-heatclient'}),
])
def test_packages_follow_the_os_family(family, packages):
    rendered = render(family, '{{ _heat_package_list }}')
    assert packages <= set(rendered)
    assert any(name.startswith('openstack-') for name in rendered) == (family == 'RedHat')


def test_eventlet_listeners_are_configured_for_rhel():
    # RHEL runs heat-api as an eventlet server that reads bind_host/bind_port
    # and workers; Debian's uwsgi line is written only on Debian (tasks/config.yml).
    conf = render('RedHat', '{{ _heat_conf }}', heat_bind_host='192.0.2.5', heat_api_port=8104, heat_api_processes=3)
    assert conf['heat_api'] == {'bind_host': '192.0.2.5', 'bind_port': '8104', 'cert_file': None, 'key_file': None,
                                'workers': '3'}
    assert conf['heat_api_cfn']['workers'] == '3'
    conf = render('RedHat', '{{ _heat_conf }}', **TLS)
    assert conf['heat_api']['cert_file'] == '/etc/heat/ssl/public/heat.crt'
    assert conf['heat_api_cfn']['key_file'] == '/etc/heat/ssl/private/heat.pem'


CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
TLS = dict(heat_tls_cert_content=CA, heat_tls_key_content='-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n')


LEGACY_EC2TOKEN = {'_heat_ec2token': {'state': 'patchable', 'cfn': False}}


def test_ec2authtoken_is_left_alone_by_a_run_that_did_not_look_at_the_code():
    assert 'ec2authtoken' not in render('Debian', '{{ _heat_conf }}')
    assert 'ec2authtoken' in render('Debian', '{{ _heat_conf }}', **LEGACY_EC2TOKEN)


def test_without_tls_inputs_no_ca_or_tls_key_is_written():
    conf = render('Debian', '{{ _heat_conf }}', **LEGACY_EC2TOKEN)
    for section, key in [('keystone_authtoken', 'cafile'), ('clients', 'ca_file'), ('clients_keystone', 'ca_file'),
                         ('clients_heat', 'ca_file'), ('ec2authtoken', 'ca_file'), ('oslo_messaging_rabbit', 'ssl'),
                         ('keystone_authtoken', 'memcache_secret_key')]:
        assert conf[section][key] is None, (section, key)
    assert '?' not in conf['database']['connection']
    assert render('Debian', '{{ _heat_probe_scheme }}://{{ _heat_probe_url_host }}') == 'http://127.0.0.1'


def test_ec2tokens_is_posted_to_keystone_without_its_version():
    # Upstream's code appends /v3/ec2tokens to the adapter's endpoint: the
    # catalog's .../v3/ would give /v3//v3/ec2tokens.
    conf = render('Debian', '{{ _heat_conf }}', heat_ec2authtoken_keystoneauth=True,
                  heat_keystone_internal_url='https://keystone.internal:5001/')
    assert conf['ec2authtoken']['endpoint_override'] == 'https://keystone.internal:5001'
    assert conf['ec2authtoken']['auth_url'] == 'https://keystone.internal:5001'
    assert render('Debian', '{{ _heat_conf }}', **LEGACY_EC2TOKEN)['ec2authtoken']['endpoint_override'] is None


def test_a_ca_bundle_reaches_every_client_of_heat():
    conf = render('Debian', '{{ _heat_conf }}', heat_ca_bundle_content=CA, **LEGACY_EC2TOKEN)
    path = '/etc/heat/ca-bundle.pem'
    assert render('Debian', '{{ heat_ca_bundle }}', heat_ca_bundle_content=CA) == path
    assert conf['keystone_authtoken']['cafile'] == path
    assert conf['clients']['ca_file'] == conf['clients_keystone']['ca_file'] == conf['clients_heat']['ca_file'] == path
    assert conf['ec2authtoken']['ca_file'] == path and conf['ec2authtoken']['cafile'] is None
    conf = render('Debian', '{{ _heat_conf }}', heat_ca_bundle='/etc/pki/ca.pem', heat_ec2authtoken_keystoneauth=True)
    assert conf['ec2authtoken']['cafile'] == '/etc/pki/ca.pem' and conf['ec2authtoken']['ca_file'] is None
    auth = render('Debian', '{{ _heat_admin_auth }}', heat_ca_bundle='/etc/pki/ca.pem')
    assert auth['cacert'] == '/etc/pki/ca.pem' and auth['username'] == 'admin'
    assert render('Debian', '{{ _heat_admin_auth }}', heat_ca_bundle='/etc/pki/ca.pem',
                  heat_keystone_admin_openrc='/root/admin-openrc.sh') == {'cacert': '/etc/pki/ca.pem'}


def test_endpoints_and_metadata_urls_take_the_scheme_of_their_interface():
    endpoints = render('Debian', '{{ _heat_keystone_endpoints }}', heat_public_address='vip', heat_public_protocol='https')
    urls = {(e['service'], e['interface']): e['url'] for e in endpoints}
    assert urls[('heat', 'public')] == 'https://vip:8004/v1/%(tenant_id)s'
    assert urls[('heat-cfn', 'public')] == 'https://vip:8000/v1'
    assert urls[('heat', 'internal')] == 'http://vip:8004/v1/%(tenant_id)s'
    conf = render('Debian', '{{ _heat_conf }}', heat_public_address='vip', heat_public_protocol='https')
    assert conf['DEFAULT']['heat_waitcondition_server_url'] == 'https://vip:8000/v1/waitcondition'


def test_tls_listeners_keep_https_when_the_listen_address_is_overridden():
    listen = render('Debian', '{{ _heat_uwsgi_args }}', heat_bind_host='192.0.2.5', **TLS)
    assert listen['api']['line'] == ('DAEMON_ARGS="--https-socket 192.0.2.5:8004,/etc/heat/ssl/public/heat.crt,'
                                     '/etc/heat/ssl/private/heat.pem --ini /etc/heat/heat-api-uwsgi.ini --processes 2"')
    # All addresses, as the init script builds it, and the processes after the ini (which says 8).
    assert render('Debian', '{{ _heat_uwsgi_args.cfn.line }}', heat_api_processes=3, **TLS) == (
        'DAEMON_ARGS="--https-socket :8000,/etc/heat/ssl/public/heat.crt,/etc/heat/ssl/private/heat.pem'
        ' --ini /etc/heat/heat-api-cfn-uwsgi.ini --processes 3"')
    assert render('Debian', '{{ _heat_uwsgi_args.api.line }}') == (
        'DAEMON_ARGS="--http-socket :8004 --ini /etc/heat/heat-api-uwsgi.ini --processes 2"')
    probe = render('Debian', '{{ _heat_probe_scheme }}://{{ _heat_probe_url_host }}', heat_tls_probe_host='c1.example', **TLS)
    assert probe == 'https://c1.example'


def test_memcache_protection_rabbit_and_database_tls():
    conf = render('Debian', '{{ _heat_conf }}', heat_memcached_servers=['m:11211'], heat_memcache_security_strategy='ENCRYPT',
                  heat_memcache_secret_key='s$cret', heat_messaging_use_ssl=True, heat_ca_bundle='/etc/ca.pem',
                  heat_db_ssl_ca='/etc/db ca.pem')
    assert conf['keystone_authtoken']['memcache_security_strategy'] == 'ENCRYPT'
    assert conf['keystone_authtoken']['memcache_secret_key'] == 's$$cret'
    assert conf['oslo_messaging_rabbit'] == {'ssl': 'true', 'ssl_ca_file': '/etc/ca.pem'}
    assert conf['database']['connection'].endswith('/heat?ssl_ca=/etc/db%20ca.pem')


def test_every_heat_conf_option_written_from_a_secret_input_is_masked_by_its_name():
    """ini_settings and the plan mask heat.conf's values by their key's name (ini_file.SECRET_NAME_RE), the
    role's options and the overrides' alike."""
    from ansible.module_utils import heat_inputs, ini_file
    secret_inputs = set(heat_inputs.SECRETS) | {'heat_memcache_secret_key'}
    owned = render('Debian', '{{ _heat_conf_inputs }}')
    secret = [(section, option) for section, options in owned.items() for option, inputs in options.items()
              if secret_inputs & set(inputs.replace(',', ' ').split())]
    assert ('keystone_authtoken', 'memcache_secret_key') in secret and ('database', 'connection') in secret
    assert ('DEFAULT', 'transport_url') in secret and ('DEFAULT', 'auth_encryption_key') in secret
    assert [item for item in secret if not ini_file.is_secret(item[0], item[1], ())] == []
    # An override's key that looks secret, and one that does not.
    for key in ('admin_token', 'db_connection_string', 'api_pass', 'signing_secret', 'private_key'):
        assert ini_file.is_secret('my_plugin', key, ()), key
    assert not ini_file.is_secret('DEFAULT', 'max_stacks_per_tenant', ())


@pytest.mark.parametrize('size,pending,batches', [
    (1, {'c1': ['api'], 'c2': [], 'c3': ['engine', 'cfn']}, [['c1'], ['c3']]),
    (2, {'c1': ['api'], 'c2': ['api'], 'c3': ['api']}, [['c1', 'c2'], ['c3']]),
    (0, {'c1': ['api'], 'c2': ['api'], 'c3': ['api']}, [['c1', 'c2', 'c3']]),
    (1, {'c1': [], 'c2': [], 'c3': []}, []),
])
def test_restart_batches_follow_the_play_order_and_the_batch_size(size, pending, batches):
    hostvars = {host: {'_heat_restart_pending': value} for host, value in pending.items()}
    assert render('Debian', '{{ _heat_restart_batches }}', ansible_play_hosts=['c1', 'c2', 'c3'], hostvars=hostvars,
                  heat_restart_batch_size=size) == batches


@pytest.mark.parametrize('hosts,pending,drain', [
    (['c1', 'c2'], ['api'], True),
    (['c1', 'c2'], ['engine'], False),  # the APIs stay up
    (['c1'], ['api', 'cfn'], False),  # nobody to take the requests
])
def test_a_restart_drains_only_an_api_that_has_peers(hosts, pending, drain):
    assert render('Debian', '{{ _heat_restart_drain }}', ansible_play_hosts=hosts, _heat_restart_pending=pending) is drain


@pytest.mark.parametrize('play,batch,left,hold', [
    (['c1'], ['c1'], ['c2'], True),  # c2 down: restarting c1 leaves none
    (['c1', 'c3'], ['c1'], ['c2'], False),  # c3 still serves
    (['c1', 'c3'], ['c1', 'c3'], ['c2'], True),  # one batch (heat_restart_batch_size 0) of all that remain
    (['c1'], ['c1'], [], False),  # a single controller, nobody left: nothing to say
    (['c1', 'c2'], ['c1', 'c2'], [], False),  # all at once by choice
])
def test_a_restart_of_the_last_serving_controllers_is_named_and_held_on_request(play, batch, left, hold):
    hosts = dict(ansible_play_hosts=play, ansible_play_hosts_all=sorted(play + left), _heat_restart_batch=batch)
    assert render('Debian', '{{ _heat_restart_left_play }}', **hosts) == left
    assert render('Debian', '{{ _heat_restart_leaves_none_serving }}', **hosts) is hold
    assert render('Debian', '{{ _heat_restart_hold }}', **hosts) is False  # the default: warn, then restart
    assert render('Debian', '{{ _heat_restart_hold }}', heat_restart_hold_last_serving=True, **hosts) is hold


def test_the_warning_names_the_services_and_the_controllers_that_left():
    hosts = dict(ansible_play_hosts=['controller1'], ansible_play_hosts_all=['controller1', 'controller2'],
                 _heat_restart_batch=['controller1'], _heat_restart_pending=['cfn', 'api', 'engine'])
    assert render('Debian', '{{ _heat_restart_last_serving_warning }}', **hosts) == (
        'Restarting heat-engine, heat-api, heat-api-cfn on controller1 leaves no controller serving behind the load'
        ' balancer: controller2 left the play (unreachable or failed). Set heat_restart_hold_last_serving: true to'
        ' keep the last serving controller running its old configuration until a run that reaches the others.')
    assert render('Debian', '{{ _heat_restart_last_serving_warning }}', heat_restart_hold_last_serving=True,
                  **hosts) == (
        'Not restarting heat-engine, heat-api, heat-api-cfn on controller1 (heat_restart_hold_last_serving): that'
        ' would leave no controller serving behind the load balancer, as controller2 left the play (unreachable or'
        ' failed). Its new configuration is written; the services keep running the old one until a run that'
        ' reaches the other controllers restarts them.')
    # Check mode writes nothing, and says so.
    assert 'Its new configuration would be written; ' in render(
        'Debian', '{{ _heat_restart_last_serving_warning }}', heat_restart_hold_last_serving=True,
        ansible_check_mode=True, **hosts)
    # One batch of all that remain (heat_restart_batch_size 0), two controllers gone, one service pending.
    hosts = dict(ansible_play_hosts=['c1', 'c3'], ansible_play_hosts_all=['c1', 'c2', 'c3', 'c4'],
                 _heat_restart_batch=['c1', 'c3'], _heat_restart_pending=['api'], inventory_hostname='c1')
    assert render('Debian', '{{ _heat_restart_last_serving_warning }}', **hosts).startswith(
        'Restarting heat-api on c1 (in one batch with c3) leaves no controller serving behind the load balancer:'
        ' c2, c4 left the play (unreachable or failed). Set ')
    assert "'" not in render('Debian', '{{ _heat_restart_last_serving_warning }}', **hosts)


@pytest.mark.parametrize('extra,present', [
    ({'heat_ca_bundle_content': CA}, ''),  # the bundle the role installs later: the checks use the content
    ({'heat_ca_bundle': '/etc/pki/ca.pem'}, '/etc/pki/ca.pem'),  # a path already there
    ({'heat_ca_bundle_content': CA, 'heat_messaging_ssl_ca_file': '/etc/rabbit-ca.pem'}, '/etc/rabbit-ca.pem'),
    ({}, ''),  # the system's trust store
])
def test_the_checks_read_only_a_messaging_ca_file_already_on_the_controller(extra, present):
    assert render('Debian', '{{ _heat_messaging_ca_file_present }}', **extra) == present


@pytest.mark.parametrize('timeout, retries', [(60, 5), (6, 2), (1, 1), (0, 0), (120, 7)])
def test_keystone_retries_wait_about_heat_keystone_wait_timeout(timeout, retries):
    assert int(render('Debian', '{{ _heat_keystone_retries }}', heat_keystone_wait_timeout=timeout)) == retries


@pytest.mark.parametrize('cfn', [True, False])
@pytest.mark.parametrize('overrides', [{}, {'ec2authtoken': {'timeout': 5}, 'DEFAULT': {'debug': True, 'use_syslog': None}}])
def test_the_plan_compares_heat_conf_with_what_config_writes(cfn, overrides):
    # The plan (module_utils/heat_controller.py) takes [ec2authtoken] in the form the code reads.
    extra = dict(heat_conf_overrides=overrides, _heat_ec2token={'cfn': cfn})
    wanted = render('Debian', '{{ _heat_conf_wanted }}', **extra)
    compared = dict(wanted['settings'], ec2authtoken=wanted['ec2authtoken']['keystoneauth' if cfn else 'legacy'])
    assert compared == render('Debian', '{{ _heat_conf }}', **extra)
    assert (wanted['owner'], wanted['group'], wanted['mode']) == ('root', 'heat', '0640')
    forced = render('Debian', '{{ _heat_conf_wanted.ec2authtoken }}', heat_ec2authtoken_keystoneauth=True)
    assert forced['legacy'] == forced['keystoneauth'] and forced['legacy']['auth_type'] == 'password'


def test_the_files_the_plan_compares_are_those_config_writes():
    files = render('Debian', '{{ _heat_managed_files }}', heat_ca_bundle_content=CA, **TLS)
    by_path = {item['path']: item for item in files}
    assert set(by_path) == {'/etc/heat/ca-bundle.pem', '/etc/heat/ssl/public/heat.crt', '/etc/heat/ssl/private/heat.pem',
                            '/etc/systemd/system/heat-engine.service.d/heat-role.conf',
                            '/etc/default/heat-api', '/etc/default/heat-api-cfn',
                            '/etc/systemd/system/heat-purge-deleted.service', '/etc/systemd/system/heat-purge-deleted.timer',
                            '/etc/heat/policy.d/heat_policy_overrides.yaml'}
    assert by_path['/etc/heat/ssl/private/heat.pem']['mode'] == '0640'
    assert by_path['/etc/heat/ssl/private/heat.pem']['content'] == TLS['heat_tls_key_content']
    assert by_path['/etc/default/heat-api']['content'].endswith(
        'DAEMON_ARGS="--https-socket :8004,/etc/heat/ssl/public/heat.crt,/etc/heat/ssl/private/heat.pem'
        ' --ini /etc/heat/heat-api-uwsgi.ini --processes 2"\n')
    assert by_path['/etc/heat/ca-bundle.pem']['content'] == CA
    # RHEL: no uwsgi defaults; no CA or TLS files when not given.
    assert [item['path'] for item in render('RedHat', '{{ _heat_managed_files }}')] == [
        '/etc/systemd/system/openstack-heat-engine.service.d/heat-role.conf',
        '/etc/heat/policy.d/heat_policy_overrides.yaml',
        '/etc/systemd/system/heat-purge-deleted.service', '/etc/systemd/system/heat-purge-deleted.timer']


def test_the_policy_overrides_file_is_what_oslo_policy_reads_and_goes_when_emptied():
    import yaml
    overrides = {'stacks:delete': 'role:admin', 'stacks:index': '', 'context_is_admin': '!',
                 'a: b': "role:x and 'quoted'"}
    policy = render('Debian', '{{ _heat_files.policy }}', heat_policy_overrides=overrides)
    assert (policy['state'], policy['owner'], policy['group'], policy['mode']) == ('present', 'root', 'heat', '0640')
    assert policy['content'].startswith('# Managed by Ansible')
    assert yaml.safe_load(policy['content']) == overrides
    # Where heat.conf tells oslo.policy to look.
    conf = render('Debian', '{{ _heat_conf }}')
    assert policy['path'].rsplit('/', 1)[0] == conf['oslo_policy']['policy_dirs']
    assert render('Debian', '{{ _heat_files.policy.state }}') == 'absent'


def test_every_heat_conf_option_taken_from_an_input_names_its_inputs():
    """_heat_conf_inputs (what heat_conf_overrides may not set) lists every option whose value the role templates,
    and each lists the inputs the template reads directly, all of them role inputs."""
    import re
    import yaml
    raw = yaml.safe_load((ROLE / 'vars/main/heat_conf.yml').read_text())
    specs = yaml.safe_load((ROLE / 'meta/argument_specs.yml').read_text())['argument_specs']['main']['options']
    owned = raw['_heat_conf_inputs']
    templated = dict(((section, key), value) for section, keys in raw['_heat_conf_sections'].items()
                     for key, value in keys.items() if '{{' in str(value))
    templated.update(((('ec2authtoken', key), value) for form in raw['_heat_conf_ec2authtoken'].values()
                      for key, value in form.items() if '{{' in str(value)))
    listed = set((section, key) for section, keys in owned.items() for key in keys)
    assert listed == set(templated)
    for (section, key), template in templated.items():
        named = set(re.findall(r'\bheat_[a-z0-9_]+', owned[section][key]))
        assert named <= set(specs), (section, key, named - set(specs))
        assert set(re.findall(r'(?<![_\w])heat_[a-z0-9_]+', template)) <= named, (section, key)


@pytest.mark.parametrize('host, enabled, state', [
    ('controller1', True, 'present'), ('controller2', True, 'absent'), ('controller1', False, 'absent')])
def test_the_purge_runs_on_one_controller_with_the_age_given(host, enabled, state):
    extra = dict(inventory_hostname=host, groups={'controller': ['controller1', 'controller2']},
                 heat_purge_deleted_enabled=enabled, heat_purge_deleted_age=7, heat_purge_deleted_age_unit='hours',
                 heat_purge_deleted_schedule='Sun 03:00')
    units = [render('Debian', '{{ _heat_files.purge_%s }}' % kind, **extra) for kind in ('service', 'timer')]
    assert [unit['state'] for unit in units] == [state, state]
    assert 'ExecStart=/usr/bin/heat-manage purge_deleted -g hours 7\n' in units[0]['content']
    assert 'User=heat\n' in units[0]['content']
    assert 'OnCalendar=Sun 03:00\n' in units[1]['content'] and 'Persistent=true\n' in units[1]['content']


def test_own_options_the_plan_found_unregistered_are_removed_by_config():
    host = {'config': {'options': {'dropped': ['heat_api.bind_host', 'heat_api.workers', 'heat_api_cfn.cert_file']}}}
    conf = render('Debian', '{{ _heat_conf }}', _heat_host=host)
    assert conf['heat_api']['bind_host'] is None and conf['heat_api']['workers'] is None
    assert conf['heat_api_cfn']['cert_file'] is None and conf['heat_api_cfn']['bind_host'] == '0.0.0.0'
    # Nothing found (no plan yet, or heat.conf unread): the role's own values.
    for host in ({}, {'config': None}):
        assert render('Debian', '{{ _heat_conf }}', _heat_host=host)['heat_api']['workers'] == '2'
    assert render('Debian', '{{ _heat_conf_wanted.where_registered }}') == ['heat_api', 'heat_api_cfn']
