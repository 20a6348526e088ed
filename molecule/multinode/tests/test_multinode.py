"""Heat on two controllers sharing infra's database, bus and Keystone (issue 8)."""
import json
import shlex
from pathlib import Path

import pytest

from conftest import CONTROLLERS, KEYSTONE, heat_conf

ENGINE_HOSTS_EXTRA = ['controller3']  # joins the group in the side effect only


def _installed_controllers(node):
    return CONTROLLERS + [n for n in ENGINE_HOSTS_EXTRA if node(n).package('heat-engine').is_installed]


def test_every_engine_reports_up(node, heat_admin):
    # heat-engine on every controller shares the database and the bus: the
    # Orchestration API lists each one as up.
    rows = heat_admin('orchestration service list')
    up = {r['Hostname'] for r in rows if r['Binary'] == 'heat-engine' and r['Status'] == 'up'}
    assert up == set(_installed_controllers(node)), rows


@pytest.mark.parametrize('name', CONTROLLERS)
def test_services_run_on_each_controller(node, name):
    for service in ('heat-api', 'heat-api-cfn', 'heat-engine'):
        svc = node(name).service(service)
        assert svc.is_running and svc.is_enabled, '%s on %s' % (service, name)


def test_heat_conf_identical_on_the_controllers(node):
    # Nothing in heat.conf is per controller (each listens on all its
    # addresses): every key, shared or not, must be the same everywhere.
    confs = {name: heat_conf(node(name)) for name in CONTROLLERS}
    flat = {name: {(s, k): v for s in c.sections() + ['DEFAULT'] for k, v in c.items(s, raw=True)}
            for name, c in confs.items()}
    first, *others = CONTROLLERS
    for other in others:
        differing = sorted('[%s] %s' % key for key in set(flat[first]) | set(flat[other])
                           if flat[first].get(key) != flat[other].get(key))
        assert not differing, 'heat.conf differs between %s and %s: %s' % (first, other, differing)


@pytest.mark.parametrize('section,key,expected', [
    ('database', 'connection', 'mysql+pymysql://heat:mn-heat-db-secret-5@infra/heat'),
    ('DEFAULT', 'transport_url', 'rabbit://openstack:mn-rabbit-secret-4@infra:5672/'),
    ('DEFAULT', 'heat_metadata_server_url', 'http://heat-vip:8000'),
    ('DEFAULT', 'heat_waitcondition_server_url', 'http://heat-vip:8000/v1/waitcondition'),
    ('keystone_authtoken', 'www_authenticate_uri', 'http://infra:5000'),
    ('keystone_authtoken', 'auth_url', 'http://infra:5000'),
    ('trustee', 'auth_url', 'http://infra:5000'),
    ('heat_api', 'bind_host', '0.0.0.0'),
])
def test_heat_conf_points_at_the_shared_services(node, section, key, expected):
    for name in CONTROLLERS:
        assert heat_conf(node(name)).get(section, key, raw=True) == expected, name


@pytest.mark.parametrize('service_type,port,path', [
    ('orchestration', 8004, '/v1/%(tenant_id)s'),
    ('cloudformation', 8000, '/v1'),
])
def test_keystone_has_one_service_and_one_endpoint_per_interface(admin, service_type, port, path):
    services = [s for s in admin('service list --long') if s['Type'] == service_type]
    assert len(services) == 1, services
    endpoints = admin('endpoint list --service %s' % service_type)
    assert sorted(e['Interface'] for e in endpoints) == ['admin', 'internal', 'public'], endpoints
    for endpoint in endpoints:
        # The shared name, never a controller's.
        assert endpoint['URL'] == 'http://heat-vip:%d%s' % (port, path), endpoint
        assert endpoint['Region'] == 'RegionOne'


def test_keystone_users_exist_once(admin):
    assert [u['Name'] for u in admin('user list --domain Default')].count('heat') == 1
    # The domain also holds the users of stacks' wait-condition handles.
    assert [u['Name'] for u in admin('user list --domain heat')].count('heat_domain_admin') == 1


def _module_runs(host, module, needle):
    """How often the journal logged ansible's `module` invoked with `needle`."""
    out = host.check_output('journalctl -o cat -t ansible-%s 2>/dev/null || true' % module)
    return sum(1 for line in out.splitlines() if line.startswith('Invoked') and needle in line)


def test_once_per_deployment_steps_ran_on_one_host_only(node):
    # Ansible logs each module call to the target's journal. db_sync and
    # the Keystone registration run on the first controller only (once per
    # converge run); the database tasks on infra (heat_db_delegate_to).
    first, *others = CONTROLLERS
    assert _module_runs(node(first), 'ansible.legacy.command', 'heat-manage db_sync') >= 1
    assert _module_runs(node(first), 'keystone_registration', 'orchestration') >= 1
    for other in others:
        assert _module_runs(node(other), 'ansible.legacy.command', 'heat-manage db_sync') == 0, other
        assert _module_runs(node(other), 'keystone_registration', '') == 0, other
        assert _module_runs(node(other), 'community.mysql.mysql_db', '') == 0, other
    assert _module_runs(node('infra'), 'community.mysql.mysql_db', "name=['heat']") >= 1


def test_one_heat_schema(node):
    # One database on infra, tables in it, none left in sqlite on a controller.
    tables = node('infra').check_output("mysql -N -e 'SHOW TABLES' heat").split()
    assert 'stack' in tables and 'service' in tables
    for name in CONTROLLERS:
        assert not node(name).file('/var/lib/heat/heatdb').exists or \
            node(name).file('/var/lib/heat/heatdb').size == 0, name


@pytest.mark.parametrize('name', CONTROLLERS)
def test_each_controller_api_answers_from_infra(node, name):
    for port in (8004, 8000):
        cmd = node('infra').run(
            'python3 -c "import urllib.request as u; print(u.urlopen(\'http://%s:%d/healthcheck\', timeout=10).status)"'
            % (name, port))
        assert cmd.stdout.strip() == '200', '%s:%d %s' % (name, port, cmd.stderr)


def test_verification_left_no_stack(node, lab):
    # site.yml's verification (once, on controller1) created testStack and
    # deleted it with its stack user (the role's defaults).
    from conftest import openstack, os_env
    stacks = openstack(node('controller1'), 'stack list', os_env(lab, 'demo'))
    assert [s['Stack Name'] for s in stacks if s['Stack Name'] == 'testStack'] == []
    assert openstack(node('controller1'), 'project list --domain heat', os_env(lab, 'admin')) == []


@pytest.mark.parametrize('through,other', [('controller1', 'controller2'), ('controller2', 'controller1')])
def test_stack_created_through_each_controller(node, lab, through, other):
    # Created through one controller's own API (not the VIP), read and
    # deleted through the other's: one database, engines on both.
    script = (Path(__file__).parent / 'stack_roundtrip.py').read_text()
    name = 'mn-via-%s' % through
    cmd = node('infra').run(
        'env OS_USERNAME=demo OS_PASSWORD=%s python3 - %s %s %s %s <<\'PYEOF\'\n%s\nPYEOF'
        % (shlex.quote(lab['lab_demo_password']), KEYSTONE, through, other, name, script))
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    result = json.loads(cmd.stdout.strip().splitlines()[-1])
    assert result['status'] == 'CREATE_COMPLETE', result
    assert result['other_status'] == 'CREATE_COMPLETE', result
    assert isinstance(result['output'], str) and len(result['output']) == 12, result
    assert result['delete'] == 204, result
    assert result['after_delete'] in (404, 'DELETE_COMPLETE'), result
