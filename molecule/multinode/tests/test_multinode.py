"""Heat on two controllers sharing infra's database, bus and Keystone,
behind the load balancer `lb` (haproxy owns heat-vip), over TLS."""
import json
import os
import shlex
import time
from pathlib import Path

import pytest

from conftest import CA, CONTROLLER_CA, CONTROLLERS, KEYSTONE, _vars, backend_scheme, haproxy_stat, heat_conf, https_get

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
    ('DEFAULT', 'transport_url', 'rabbit://openstack:mn-rabbit-secret-4@infra:5671/'),
    ('DEFAULT', 'heat_metadata_server_url', 'https://heat-vip:8000'),
    ('DEFAULT', 'heat_waitcondition_server_url', 'https://heat-vip:8000/v1/waitcondition'),
    ('keystone_authtoken', 'www_authenticate_uri', 'https://heat-vip:5000'),
    ('keystone_authtoken', 'auth_url', 'https://heat-vip:5000'),
    ('keystone_authtoken', 'cafile', CONTROLLER_CA),
    ('keystone_authtoken', 'memcached_servers', 'infra:11211'),
    ('keystone_authtoken', 'memcache_security_strategy', 'ENCRYPT'),
    ('trustee', 'auth_url', 'https://heat-vip:5000'),
    ('oslo_messaging_rabbit', 'ssl', 'true'),
    ('oslo_messaging_rabbit', 'ssl_ca_file', CONTROLLER_CA),
    ('oslo_middleware', 'enable_proxy_headers_parsing', 'true'),
    ('heat_api', 'bind_host', '0.0.0.0'),
])
def test_heat_conf_points_at_the_shared_services(node, section, key, expected):
    for name in CONTROLLERS:
        value = heat_conf(node(name)).get(section, key, raw=True)
        # Booleans as oslo.config reads them (True, true).
        assert (value.lower() if expected in ('true', 'false') else value) == expected, name


def test_heat_database_connection_uses_tls(node):
    for name in CONTROLLERS:
        url = heat_conf(node(name)).get('database', 'connection', raw=True)
        assert url.startswith('mysql+pymysql://heat:mn-heat-db-secret-5@infra/heat'), (name, url)
        assert 'ssl_ca=%s' % CONTROLLER_CA in url, (name, url)


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
        assert endpoint['URL'] == 'https://heat-vip:%d%s' % (port, path), endpoint
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


def test_the_purge_of_deleted_stacks_runs_on_one_controller(node):
    # heat_purge_deleted_host: the group's first controller, none elsewhere.
    first, *others = CONTROLLERS
    timer = node(first).service('heat-purge-deleted.timer')
    assert timer.is_enabled and timer.is_running
    for other in others + [n for n in ENGINE_HOSTS_EXTRA if node(n).package('heat-engine').is_installed]:
        assert not node(other).file('/etc/systemd/system/heat-purge-deleted.timer').exists, other
        assert not node(other).file('/etc/systemd/system/heat-purge-deleted.service').exists, other


def test_one_heat_schema(node):
    # One database on infra, tables in it, none left in sqlite on a controller.
    tables = node('infra').check_output("mysql -N -e 'SHOW TABLES' heat").split()
    assert 'stack' in tables and 'service' in tables
    for name in CONTROLLERS:
        assert not node(name).file('/var/lib/heat/heatdb').exists or \
            node(name).file('/var/lib/heat/heatdb').size == 0, name


@pytest.mark.parametrize('name', CONTROLLERS)
def test_each_controller_api_answers_from_infra(node, name):
    # haproxy's view of a back end: its own name, https when lab_heat_backend_tls
    # (its certificate verified by the lab CA), /healthcheck 200.
    for port in (8004, 8000):
        url = '%s://%s:%d/healthcheck' % (backend_scheme(), name, port)
        status, body = https_get(node('infra'), url, CA['infra'])
        assert status == 200, '%s %s' % (url, body)


def test_verification_left_no_stack(node, lab):
    # site.yml's verification (once, on controller1) created testStack and
    # deleted it with its stack user (the role's defaults).
    from conftest import openstack, os_env
    stacks = openstack(node('controller1'), 'stack list', os_env(lab, 'demo', 'controller1'))
    assert [s['Stack Name'] for s in stacks if s['Stack Name'] == 'testStack'] == []
    assert openstack(node('controller1'), 'project list --domain heat', os_env(lab, 'admin', 'controller1')) == []


def _roundtrip(node, lab, create_base, other_base, name):
    script = (Path(__file__).parent / 'stack_roundtrip.py').read_text()
    cmd = node('infra').run(
        'env OS_USERNAME=demo OS_PASSWORD=%s OS_CACERT=%s python3 - %s %s %s %s <<\'PYEOF\'\n%s\nPYEOF'
        % (shlex.quote(lab['lab_demo_password']), CA['infra'], KEYSTONE, create_base, other_base, name, script))
    assert cmd.rc == 0, cmd.stdout + cmd.stderr
    result = json.loads(cmd.stdout.strip().splitlines()[-1])
    assert result['status'] == 'CREATE_COMPLETE', result
    assert result['other_status'] == 'CREATE_COMPLETE', result
    assert isinstance(result['output'], str) and len(result['output']) == 12, result
    assert result['delete'] == 204, result
    assert result['after_delete'] in (404, 'DELETE_COMPLETE'), result


@pytest.mark.parametrize('through,other', [('controller1', 'controller2'), ('controller2', 'controller1')])
def test_stack_created_through_each_controller(node, lab, through, other):
    # Created through one controller's own API (not the VIP), read and
    # deleted through the other's: one database, engines on both.
    base = '%s://%%s:8004' % backend_scheme()
    _roundtrip(node, lab, base % through, base % other, 'mn-via-%s' % through)


def test_stack_created_through_the_vip(node, lab):
    # What a user of the cloud does: everything through https://heat-vip.
    _roundtrip(node, lab, 'https://heat-vip:8004', 'https://heat-vip:8004', 'mn-via-vip')


# --- the load balancer and TLS --------------------------------------------

@pytest.mark.parametrize('client', ['infra', 'controller1'])
@pytest.mark.parametrize('url', ['http://infra:5000/v3', 'http://heat-vip:5000/v3'])
def test_keystone_is_not_served_over_plain_http(node, client, url):
    status, body = https_get(node(client), url)
    assert status is None, 'plain HTTP answered %s from %s: %s' % (status, client, body[:200])
    # The same place answers over TLS: the refusal is not just a dead port.
    status, body = https_get(node(client), url.replace('http:', 'https:'), CA.get(client, CONTROLLER_CA))
    assert status == 200, body


def test_keystone_links_name_the_vip_over_https(node):
    status, body = https_get(node('infra'), KEYSTONE, CA['infra'])
    assert status == 200, body
    assert json.loads(body)['version']['links'][0]['href'] == KEYSTONE + '/'


@pytest.mark.parametrize('name', CONTROLLERS)
def test_controllers_do_not_trust_the_lab_ca_system_wide(node, name):
    # Only what the role installed makes the controller's clients verify.
    status, body = https_get(node(name), KEYSTONE)
    assert status is None and 'CERTIFICATE_VERIFY_FAILED' in body, (status, body[:300])
    status, body = https_get(node(name), KEYSTONE, CONTROLLER_CA)
    assert status == 200, body


def test_an_unrelated_ca_does_not_verify_the_vip(node):
    pki = Path(os.environ['MOLECULE_EPHEMERAL_DIRECTORY']) / 'pki'
    other = (pki / 'other-ca.pem').read_text()
    infra = node('infra')
    infra.run('umask 022; printf %%s %s > /tmp/mn-other-ca.pem' % shlex.quote(other))
    status, body = https_get(infra, KEYSTONE, '/tmp/mn-other-ca.pem')
    assert status is None and 'CERTIFICATE_VERIFY_FAILED' in body, (status, body[:300])


@pytest.mark.parametrize('port', [8004, 8000])
def test_heat_links_name_the_vip_over_https(node, port):
    # haproxy sets X-Forwarded-Proto, Heat parses it: the version documents
    # send clients back to https://heat-vip, not http.
    status, body = https_get(node('infra'), 'https://heat-vip:%d/' % port, CA['infra'])
    assert status in (200, 300), body
    hrefs = [link['href'] for version in json.loads(body)['versions'] for link in version['links']]
    assert hrefs and all(h.startswith('https://heat-vip:%d/' % port) for h in hrefs), hrefs


def test_haproxy_sees_the_controllers_up(node):
    stat = haproxy_stat(node)
    for backend in ('heat-api', 'heat-api-cfn'):
        for name in CONTROLLERS:
            row = stat[(backend, name)]
            # UP after a passing HTTP check (/healthcheck answered 200).
            assert (row['status'], row['check_status'], row['check_code']) == ('UP', 'L7OK', '200'), (backend, row)
    assert stat[('keystone', 'infra')]['status'] == 'UP'


def _healthcheck_disable_file(host):
    """oslo.middleware's disable_by_file path ([healthcheck] in heat.conf)."""
    conf = heat_conf(host)
    assert 'disable_by_file' in conf.get('healthcheck', 'backends', fallback=''), 'no disable_by_file healthcheck'
    return conf.get('healthcheck', 'disable_by_file_path', raw=True)


def _wait_status(node, backend, server, wanted, timeout):
    deadline = time.monotonic() + timeout
    while True:
        row = haproxy_stat(node)[(backend, server)]
        if row['status'] == wanted or time.monotonic() > deadline:
            return row
        time.sleep(0.5)


def test_haproxy_takes_a_controller_answering_503_out_of_rotation(node):
    # A drained controller (its /healthcheck answers 503) leaves the
    # rotation within the time rolling restarts wait for, and comes back.
    lab = _vars('all/lab.yml')
    notice = lab['lab_lb_check_inter_s'] * lab['lab_lb_check_fall'] + lab['lab_lb_check_timeout_s']
    host = node('controller2')
    flag = _healthcheck_disable_file(host)
    try:
        host.run('touch %s' % shlex.quote(flag))
        url = '%s://controller2:8004/healthcheck' % backend_scheme()
        assert https_get(node('infra'), url, CA['infra'])[0] == 503
        started = time.monotonic()
        row = _wait_status(node, 'heat-api', 'controller2', 'DOWN', notice + 3)
        took = time.monotonic() - started
        assert (row['status'], row['check_code']) == ('DOWN', '503'), row
        assert took <= notice + 1, 'DOWN after %.1f s' % took
        # The VIP still serves, from controller1.
        assert https_get(node('infra'), 'https://heat-vip:8004/healthcheck', CA['infra'])[0] == 200
    finally:
        host.run('rm -f %s' % shlex.quote(flag))
    row = _wait_status(node, 'heat-api', 'controller2', 'UP', notice + 3)
    assert row['status'] == 'UP', row


# --- the shared services' TLS and network listeners ------------------------

def test_rabbitmq_and_mariadb_offer_tls_with_the_lab_certificate(node):
    infra = node('infra')
    for args in ('-connect infra:5671', '-starttls mysql -connect infra:3306'):
        cmd = infra.run('openssl s_client %s -CAfile %s -verify_return_error -verify_hostname infra </dev/null'
                        % (args, CA['infra']))
        assert cmd.rc == 0 and 'Verify return code: 0 (ok)' in cmd.stdout, (args, cmd.stdout[-500:], cmd.stderr[-500:])
    # The plain listeners stay.
    assert infra.socket('tcp://0.0.0.0:5672').is_listening or infra.socket('tcp://:::5672').is_listening


def test_memcached_answers_the_controllers(node):
    script = ('import socket; s = socket.create_connection(("infra", 11211), 5); s.sendall(b"stats\\r\\n"); '
              'print(s.recv(4096).decode().splitlines()[0])')
    for name in CONTROLLERS:
        out = node(name).check_output('python3 -c %s' % shlex.quote(script))
        assert out.startswith('STAT pid '), (name, out)
