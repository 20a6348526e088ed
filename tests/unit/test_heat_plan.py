"""Unit tests of library/heat_plan.py: the parts read side by side, a failing part is
reported beside the others, the Keystone part plans the registration (an in-memory
Keystone at the HTTP transport, as in test_keystone_registration) or, without
keystoneauth1, runs the pre-install check."""
import json
import threading

import pytest

import heat_plan
from ansible.module_utils import heat_amqp, heat_controller, heat_database
from conftest import AnsibleExitJson, AnsibleFailJson
from test_keystone_registration import (  # noqa: F401 - the fixtures come along
    ADMIN_PASSWORD, HDA_PASSWORD, HEAT_PASSWORD, admin_auth, heat_spec, keystone, sleeps,
)

RABBIT_PASSWORD = 'R4bbit-pw#'


@pytest.fixture
def plan(module_args):
    def run(fail=False, **args):
        module_args(args)
        with pytest.raises(AnsibleFailJson if fail else AnsibleExitJson) as exc:
            heat_plan.main()
        return exc.value.args[0]
    return run


def registration(**overrides):
    return heat_spec(**overrides)


def test_the_parts_are_read_side_by_side(plan, monkeypatch):
    """Each part waits for the others at a barrier: read one after the other, none would pass it."""
    barrier = threading.Barrier(3, timeout=5)

    def part(answer):
        def read(*args, **kwargs):
            barrier.wait()
            return answer
        return read
    monkeypatch.setattr(heat_controller, 'probe', part({'missing_packages': []}))
    monkeypatch.setattr(heat_database, 'check', part({'ok': True}))
    monkeypatch.setattr(heat_amqp, 'check_messaging', part(([{'host': 'mq', 'ok': True}], [])))
    result = plan(controller={}, database={'host': 'db'},
                  messaging={'hosts': ['mq'], 'user': 'heat', 'password': RABBIT_PASSWORD})
    assert result['controller'] == {'missing_packages': []}
    assert result['database'] == {'ok': True}
    assert result['messaging'] == [{'host': 'mq', 'ok': True}]
    assert result['changed'] is False
    # Each part's time, for the benchmark: those given, and none of those not asked.
    assert sorted(result['seconds']) == ['controller', 'database', 'messaging']
    assert all(0 <= spent < 5 for spent in result['seconds'].values())


def test_a_failing_part_is_reported_beside_the_others(plan, keystone, sleeps, monkeypatch):
    monkeypatch.setattr(heat_database, 'check', lambda opts: {'ok': False, 'cause': 'database', 'msg': 'db down'})
    monkeypatch.setattr(heat_amqp, 'check_messaging', lambda opts, ca_file=None: ([{'host': 'mq', 'ok': True}], []))
    result = plan(database={'host': 'db'},
                  messaging={'hosts': ['mq'], 'user': 'heat', 'password': RABBIT_PASSWORD},
                  auth=admin_auth(password='wrong'), keystone={'registration': registration()})
    assert result['database']['cause'] == 'database'
    assert result['messaging'][0]['ok'] is True
    assert result['keystone']['cause'] == 'credentials' and 'refused the credentials' in result['keystone']['msg']
    assert 'failed' not in result


def test_missing_credentials_are_the_keystone_parts_failure(plan, keystone, monkeypatch):
    monkeypatch.setattr(heat_database, 'check', lambda opts: {'ok': True})
    result = plan(database={'host': 'db'}, keystone={'registration': registration()})
    assert result['database'] == {'ok': True}
    assert 'missing OpenStack credentials' in result['keystone']['msg']


def test_the_registration_is_planned_without_a_write(plan, keystone):
    result = plan(auth=admin_auth(), keystone={'registration': registration()})
    assert result['keystone']['mode'] == 'registration'
    assert 'created user heat in domain Default' in result['keystone']['changes']
    assert [m for m, p, _q, _b in keystone.log if m in ('POST', 'PATCH', 'PUT') and p != '/v3/auth/tokens'] == []


def test_a_planned_registration_says_what_is_missing(plan, keystone):
    del keystone.data['projects'][keystone.service_project['id']]
    result = plan(auth=admin_auth(), keystone={'registration': registration()})
    assert result['keystone']['cause'] == 'project'
    assert "project 'service' in domain Default" in result['keystone']['msg']
    assert result['keystone']['changes'] == []


def test_no_password_in_the_result_or_its_diff(plan, keystone, module_args):
    result = plan(auth=admin_auth(), keystone={'registration': registration()}, _ansible_diff=True,
                  messaging={'hosts': ['127.0.0.1'], 'port': 1, 'user': 'heat', 'password': RABBIT_PASSWORD,
                             'timeout': 0.5})
    assert result['diff']['after'] and 'heat_domain_admin' in result['diff']['after']
    text = json.dumps(result)
    for secret in (ADMIN_PASSWORD, HEAT_PASSWORD, HDA_PASSWORD, RABBIT_PASSWORD):
        assert secret not in text


def test_without_keystoneauth_the_preinstall_check_runs(plan, keystone, monkeypatch):
    monkeypatch.setattr(heat_plan, 'keystoneauth_here', lambda: False)
    calls = []

    def check(module, creds, opts):
        calls.append((creds['username'], opts['region']))
        return {'regions': ['RegionOne']}
    monkeypatch.setattr(heat_plan.keystone_preinstall, 'check_keystone', check)
    result = plan(auth=admin_auth(), keystone={'registration': registration(),
                                               'check': {'region': 'RegionOne'}})
    assert result['keystone'] == {'regions': ['RegionOne'], 'mode': 'check'}
    assert calls == [('admin', 'RegionOne')]


def test_malformed_parts_fail_before_reading(plan):
    result = plan(fail=True, messaging={'hosts': [''], 'user': 'heat', 'password': 'x'}, keystone={})
    assert result['cause'] == 'parameters'
    assert 'messaging.hosts' in result['msg']


EXPLAIN = {'host': 'c1', 'db_delegate_to': 'c1', 'admin_source': 'heat_keystone_admin_password',
           'auth_url_source': 'heat_keystone_internal_url', 'ca_source': 'heat_ca_bundle_content',
           'messaging_ca_source': 'the system trust store'}


def test_explained_every_problem_at_once_naming_the_inputs(plan, keystone, sleeps, monkeypatch):
    monkeypatch.setattr(heat_database, 'check', lambda opts: {'ok': False, 'cause': 'database',
                                                              'msg': 'The database server db:3306 did not answer'})
    refused = {'host': 'mq', 'ok': False, 'cause': 'credentials', 'msg': 'the broker mq:5672 refused the login'}
    monkeypatch.setattr(heat_amqp, 'check_messaging', lambda opts, ca_file=None: ([refused], []))
    result = plan(fail=True, database={'host': 'db'}, explain=EXPLAIN,
                  messaging={'hosts': ['mq'], 'user': 'heat', 'password': RABBIT_PASSWORD},
                  auth=admin_auth(password='wrong'), keystone={'registration': registration()})
    assert result['cause'] == 'database'
    database, keystone_text, brokers = result['msg'].split('. ', 2)
    assert database == ('From c1: The database server db:3306 did not answer; check heat_db_host, heat_db_port, '
                        'that MariaDB/MySQL listens there, the firewall, and heat_db_wait_timeout')
    assert 'refused the credentials of user admin' in keystone_text
    assert keystone_text.endswith('; check heat_keystone_admin_password')
    assert brokers == ('From c1: the broker mq:5672 refused the login; '
                       'check heat_messaging_user and heat_messaging_password.')
    assert result['messaging'] == [refused]               # the parts are still returned
    assert RABBIT_PASSWORD not in json.dumps(result) and ADMIN_PASSWORD not in json.dumps(result)


def test_no_database_socket_names_heat_db_login_unix_socket(plan, monkeypatch):
    # An empty heat_db_login_unix_socket (the default) looks for MariaDB's sockets; none found is refused
    # before any change, naming the input.
    monkeypatch.setattr(heat_database, 'check', lambda opts: {
        'ok': False, 'cause': 'socket',
        'msg': 'No database socket (/run/mysqld/mysqld.sock or /run/mariadbd/mysqld.sock) on this host within 60 s, '
               'although db:3306 answers'})
    result = plan(fail=True, database={'host': 'db', 'sockets': ['/run/mysqld/mysqld.sock']}, explain=EXPLAIN)
    assert result['cause'] == 'socket'
    assert result['msg'].startswith(
        'From c1: No database socket (/run/mysqld/mysqld.sock or /run/mariadbd/mysqld.sock)')
    assert ('heat_db_login_unix_socket (empty: where MariaDB puts it) is where the database tasks on c1 '
            '(heat_db_delegate_to) log in') in result['msg']


def test_explained_nothing_when_all_is_well(plan, monkeypatch):
    monkeypatch.setattr(heat_database, 'check', lambda opts: {'ok': True})
    assert 'msg' not in plan(database={'host': 'db'}, explain=EXPLAIN)
