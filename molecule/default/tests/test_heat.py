"""The install guide's steps, checked from outside the role on the lab controller."""
import shlex
import time

import pytest

from conftest import openstack

HEAT_PACKAGES = ['heat-api', 'heat-api-cfn', 'heat-engine', 'python3-heatclient']
SERVICES = ['heat-api', 'heat-api-cfn', 'heat-engine']


# Step 1: packages
@pytest.mark.parametrize('name', HEAT_PACKAGES)
def test_packages_installed(host, name):
    assert host.package(name).is_installed


# Steps 2-3: the database, and grants that work from localhost and from '%'
@pytest.mark.parametrize('address', ['localhost', 'controller'])
def test_heat_user_can_reach_its_database(host, lab, address):
    # localhost goes through the socket (heat@localhost); the container's
    # hostname resolves to its own address, so that is TCP (heat@%).
    cmd = host.run("MYSQL_PWD=%s mysql -h %s -u heat -N -e 'SELECT CURRENT_USER()' heat"
                   % (lab['heat_db_password'], address))
    assert cmd.rc == 0, cmd.stderr
    expected = 'heat@localhost' if address == 'localhost' else 'heat@%'
    assert cmd.stdout.strip() == expected


def test_heat_user_is_granted_on_heat_only(host):
    grants = host.check_output("mysql -N -e \"SHOW GRANTS FOR 'heat'@'%'\"")
    assert '`heat`.*' in grants
    assert 'ON *.*' not in grants.replace('USAGE ON *.*', '')


# Step 4: the tables
def test_tables_exist(host):
    tables = host.check_output("mysql -N -e 'SHOW TABLES' heat").split()
    for table in ('stack', 'resource', 'event', 'service', 'raw_template', 'user_creds'):
        assert table in tables


# Steps 2, 5, 7, 10 (+ what today's Heat needs): heat.conf
def test_heat_conf_file(host):
    conf = host.file('/etc/heat/heat.conf')
    assert conf.user == 'root'
    assert conf.group == 'heat'
    assert conf.mode == 0o640


@pytest.mark.parametrize('section,key,expected', [
    ('database', 'connection', 'mysql+pymysql://heat:{heat_db_password}@controller/heat'),
    ('DEFAULT', 'transport_url', 'rabbit://openstack:{lab_rabbit_password}@controller:5672/'),
    ('DEFAULT', 'heat_metadata_server_url', 'http://controller:8000'),
    ('DEFAULT', 'heat_waitcondition_server_url', 'http://controller:8000/v1/waitcondition'),
    ('DEFAULT', 'stack_domain_admin', 'heat_domain_admin'),
    ('DEFAULT', 'stack_domain_admin_password', '{heat_domain_admin_password}'),
    ('DEFAULT', 'stack_user_domain_name', 'heat'),
    ('DEFAULT', 'region_name_for_services', 'RegionOne'),
    ('DEFAULT', 'auth_encryption_key', '{heat_auth_encryption_key}'),
    ('DEFAULT', 'server_keystone_endpoint_type', 'public'),
    ('keystone_authtoken', 'www_authenticate_uri', 'http://controller:5000'),
    ('keystone_authtoken', 'auth_url', 'http://controller:5000'),
    ('keystone_authtoken', 'auth_type', 'password'),
    ('keystone_authtoken', 'project_domain_name', 'Default'),
    ('keystone_authtoken', 'user_domain_name', 'Default'),
    ('keystone_authtoken', 'project_name', 'service'),
    ('keystone_authtoken', 'username', 'heat'),
    ('keystone_authtoken', 'password', '{heat_keystone_password}'),
    ('keystone_authtoken', 'region_name', 'RegionOne'),
    ('trustee', 'auth_type', 'password'),
    ('trustee', 'auth_url', 'http://controller:5000'),
    ('trustee', 'username', 'heat'),
    ('trustee', 'password', '{heat_keystone_password}'),
    ('trustee', 'user_domain_name', 'Default'),
    ('clients_keystone', 'auth_uri', 'http://controller:5000'),
    # heat_ec2token_fix (the lab's inventory): ec2tokens is called as the
    # heat service user, found in the catalog; the legacy auth_uri goes.
    ('ec2authtoken', 'auth_type', 'password'),
    ('ec2authtoken', 'auth_url', 'http://controller:5000'),
    ('ec2authtoken', 'username', 'heat'),
    ('ec2authtoken', 'region_name', 'RegionOne'),
    ('ec2authtoken', 'valid_interfaces', 'internal'),
    ('healthcheck', 'backends', 'disable_by_file'),
    ('clients', 'endpoint_type', 'internalURL'),
    ('clients_heat', 'endpoint_type', 'publicURL'),
    ('oslo_messaging_notifications', 'driver', 'noop'),
    ('oslo_middleware', 'enable_proxy_headers_parsing', 'false'),
    ('oslo_concurrency', 'lock_path', '/var/lib/heat/tmp'),
    ('database', 'max_retries', '10'),
])
def test_heat_conf_key(heat_conf, lab, section, key, expected):
    assert heat_conf.get(section, key).strip() == expected.format(**lab)


def test_heat_engine_stops_gracefully(host):
    # The role's drop-in: SIGTERM to the main process only (its workers then
    # answer the RPC calls they took before exiting).
    assert host.check_output('systemctl show -p KillMode --value heat-engine') == 'mixed'
    assert host.check_output('systemctl show -p TimeoutStopUSec --value heat-engine') == '1min 30s'


def test_ec2authtoken_legacy_uri_removed(heat_conf):
    assert not heat_conf.has_option('ec2authtoken', 'auth_uri')


@pytest.mark.parametrize('section', ['heat_api', 'heat_api_cfn'])
def test_listen_options_only_where_this_heat_registers_them(heat_version, heat_conf, section):
    # Heat 19 and 24 read [heat_api]/[heat_api_cfn] bind_host, bind_port,
    # workers (their eventlet servers); Heat 26 and 27 register none of them,
    # and the role leaves them out there. uwsgi gets the socket either way.
    version, major = heat_version
    registered = major <= 24
    for option in ('bind_host', 'bind_port', 'workers'):
        assert heat_conf.has_option(section, option) == registered, (version, section, option)


def test_engine_workers_follow_cpus(host, heat_conf):
    cpus = int(host.check_output('nproc'))
    assert int(heat_conf.get('DEFAULT', 'num_engine_workers')) == min(cpus, 4)


def test_no_sqlite_left(heat_conf):
    assert 'sqlite' not in heat_conf.get('database', 'connection')


# Step 11: services
@pytest.mark.parametrize('name', SERVICES)
def test_service_enabled_and_running(host, name):
    service = host.service(name)
    assert service.is_enabled
    assert service.is_running


@pytest.mark.parametrize('port', [8004, 8000])
def test_api_ports_answer(host, port):
    assert host.socket('tcp://0.0.0.0:%d' % port).is_listening
    # The version documents answer 300 Multiple Choices without a token.
    probe = ("import urllib.request, urllib.error\n"
             "try:\n    print(urllib.request.urlopen('http://controller:%d/').status)\n"
             "except urllib.error.HTTPError as e:\n    print(e.code)" % port)
    out = host.check_output('python3 -c %s' % shlex.quote(probe))
    assert out in ('200', '300')


def test_engine_reports_up(admin):
    # Each engine worker writes its record every 60 s and counts as up for
    # 60 s after it: on a loaded host a late write leaves a moment of "down".
    # A live engine is up again within one interval; a dead one never is.
    for _ in range(13):
        engines = admin('orchestration service list')
        if engines and all(e['Status'] == 'up' for e in engines):
            break
        time.sleep(5)
    assert engines, 'no heat-engine registered'
    assert all(e['Status'] == 'up' for e in engines), engines


# Steps 6, 8, 9: Keystone
def test_heat_user_is_admin_in_service_project(admin):
    rows = admin('role assignment list --user heat --user-domain Default --project service --names')
    assert any(r['Role'] == 'admin' for r in rows)


@pytest.mark.parametrize('name,stype', [('heat', 'orchestration'), ('heat-cfn', 'cloudformation')])
def test_services_registered(admin, name, stype):
    services = admin('service list --long')
    assert any(s['Name'] == name and s['Type'] == stype for s in services)


@pytest.mark.parametrize('stype,url', [
    ('orchestration', 'http://controller:8004/v1/%(tenant_id)s'),
    ('cloudformation', 'http://controller:8000/v1'),
])
def test_endpoints(admin, stype, url):
    endpoints = admin('endpoint list --service %s --region RegionOne' % stype)
    by_interface = {e['Interface']: e['URL'] for e in endpoints}
    assert by_interface == {'public': url, 'internal': url, 'admin': url}


@pytest.mark.parametrize('role', ['heat_stack_user', 'heat_stack_owner'])
def test_roles_exist(admin, role):
    assert any(r['Name'] == role for r in admin('role list'))


def test_stack_domain_and_its_admin(admin):
    assert any(d['Name'] == 'heat' for d in admin('domain list'))
    rows = admin('role assignment list --user heat_domain_admin --user-domain heat --domain heat --names')
    assert any(r['Role'] == 'admin' for r in rows)


def test_domain_admin_can_authenticate(host, lab):
    token = openstack(host, 'token issue', env={
        'OS_USERNAME': 'heat_domain_admin', 'OS_USER_DOMAIN_NAME': 'heat',
        'OS_PASSWORD': lab['heat_domain_admin_password'], 'OS_DOMAIN_NAME': 'heat',
        'OS_PROJECT_NAME': '', 'OS_PROJECT_DOMAIN_NAME': ''})
    assert token['id']


def test_heat_user_can_authenticate(host, lab):
    token = openstack(host, 'token issue', env={
        'OS_USERNAME': 'heat', 'OS_PASSWORD': lab['heat_keystone_password'],
        'OS_PROJECT_NAME': 'service'})
    assert token['project_id']
