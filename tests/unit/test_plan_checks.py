"""Unit tests of the plan's checks (module_utils/heat_amqp.py, heat_database.py,
keystone_preinstall.py, heat_checks.py), directly and through library/heat_plan.py.

AMQP: frames are compared with byte strings written out from the AMQP 0-9-1
specification (frame = type, channel, size, payload, 0xCE; method payload =
class-id, method-id, arguments), and the login runs against a scripted broker
on a socket pair. Keystone: open_url is replaced by an in-memory Keystone.
"""
import io
import json
import os
import socket
import struct
import sys
import threading
import time
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qs, urlsplit

import pytest

import heat_plan
from ansible.module_utils import heat_amqp as amqp
from ansible.module_utils import heat_checks as checks
from ansible.module_utils import heat_database as database
from ansible.module_utils import keystone_preinstall as preinstall
from conftest import AnsibleExitJson, AnsibleFailJson

ADMIN_PASSWORD = 'Adm1n-S3cret#x'
RABBIT_PASSWORD = 'R4bbit-pw'
TOKEN = 'gAAAAA-the-token'


# --------------------------------------------------------------------------- AMQP encoding

def test_protocol_header_is_amqp_0_9_1():
    assert amqp.PROTOCOL_HEADER == b'AMQP\x00\x00\x09\x01'


def test_close_frame_bytes():
    # Connection.Close (10, 50): reply-code 200, reply-text "Normal shutdown", class-id 0, method-id 0
    expected = (b'\x01' b'\x00\x00' b'\x00\x00\x00\x1a'
                b'\x00\x0a\x00\x32' b'\x00\xc8' b'\x0fNormal shutdown' b'\x00\x00' b'\x00\x00'
                b'\xce')
    assert amqp.connection_close() == expected


def test_tune_ok_frame_bytes():
    # Connection.Tune-Ok (10, 31): channel-max 2047, frame-max 131072, heartbeat 0
    expected = b'\x01\x00\x00\x00\x00\x00\x0c' b'\x00\x0a\x00\x1f' b'\x07\xff' b'\x00\x02\x00\x00' b'\x00\x00' b'\xce'
    assert amqp.tune_ok(2047, 131072) == expected


def test_open_frame_bytes():
    # Connection.Open (10, 40): virtual-host "/", reserved-1 "", reserved-2 (bit) 0
    expected = b'\x01\x00\x00\x00\x00\x00\x08' b'\x00\x0a\x00\x28' b'\x01/' b'\x00' b'\x00' b'\xce'
    assert amqp.connection_open('/') == expected


def test_start_ok_frame_bytes():
    frame = amqp.start_ok('guest', 'guest', product='p')
    table = (b'\x07product' b'S' b'\x00\x00\x00\x01p'
             b'\x0ccapabilities' b'F' b'\x00\x00\x00\x1f'
             b'\x1cauthentication_failure_close' b't\x01')
    payload = (b'\x00\x0a\x00\x0b' + struct.pack('>I', len(table)) + table
               + b'\x05PLAIN' + b'\x00\x00\x00\x0c\x00guest\x00guest' + b'\x05en_US')
    assert frame == b'\x01\x00\x00' + struct.pack('>I', len(payload)) + payload + b'\xce'


def start_frame(mechanisms=b'AMQPLAIN PLAIN'):
    table = (b'\x0ccapabilities' b'F\x00\x00\x00\x15' b'\x12publisher_confirms' b't\x01'
             b'\x07product' b'S\x00\x00\x00\x08RabbitMQ'
             b'\x07version' b'S\x00\x00\x00\x054.0.5'
             b'\x05count' b'I\x00\x00\x00\x02'
             b'\x04list' b'A\x00\x00\x00\x02' b'b\x05')
    payload = (b'\x00\x0a\x00\x0a' b'\x00\x09' + struct.pack('>I', len(table)) + table
               + struct.pack('>I', len(mechanisms)) + mechanisms + b'\x00\x00\x00\x05en_US')
    return b'\x01\x00\x00' + struct.pack('>I', len(payload)) + payload + b'\xce'


def test_parse_start_frame():
    frame = start_frame()
    method, args = amqp.parse_frame(frame[:7], frame[7:])
    assert method == (10, 10)
    assert args.take(2) == b'\x00\x09'
    assert args.table() == {'capabilities': {'publisher_confirms': True}, 'product': 'RabbitMQ',
                            'version': '4.0.5', 'count': 2, 'list': [5]}
    assert args.longstr() == b'AMQPLAIN PLAIN'


def test_parse_heartbeat_and_malformed_frames():
    assert amqp.parse_frame(b'\x08\x00\x00\x00\x00\x00\x00', b'\xce') == (None, None)
    with pytest.raises(ValueError, match='frame-end'):
        amqp.parse_frame(b'\x01\x00\x00\x00\x00\x00\x04', b'\x00\x0a\x00\x0a\x00')


def test_shortstr_longer_than_255_bytes_is_refused():
    with pytest.raises(ValueError):
        amqp.shortstr('x' * 256)


# --------------------------------------------------------------------------- AMQP login

def close_frame(code, text):
    return amqp.method_frame(amqp.CLOSE, struct.pack('>H', code) + amqp.shortstr(text) + b'\x00\x0a\x00\x28')


class Broker(object):
    """A scripted AMQP 0-9-1 server on one end of a socket pair."""

    def __init__(self, password=RABBIT_PASSWORD, vhosts=('/',), after_login=None, greeting=None):
        self.password, self.vhosts = password, vhosts
        self.after_login, self.greeting = after_login, greeting
        self.received = []
        self.client, self.server = socket.socketpair()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def connect(self, address, timeout):
        self.address = address
        self.client.settimeout(timeout)
        return self.client

    def read_frame(self):
        header = self.recv(7)
        size = struct.unpack('>I', header[3:])[0]
        frame = header + self.recv(size + 1)
        self.received.append(frame)
        return frame[7:-1]

    def recv(self, count):
        data = b''
        while len(data) < count:
            chunk = self.server.recv(count - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def serve(self):
        try:
            self.header = self.recv(8)
            if self.greeting is not None:
                self.server.sendall(self.greeting)
                return
            self.server.sendall(start_frame())
            payload = self.read_frame()
            if not payload.endswith(b'\x00guest\x00' + self.password.encode() + b'\x05en_US'):
                if self.after_login == 'hang up':
                    return
                self.server.sendall(close_frame(403, 'ACCESS_REFUSED - Login was refused using authentication '
                                                     'mechanism PLAIN. For details see the broker logfile.'))
                self.read_frame()
                return
            self.server.sendall(amqp.method_frame(amqp.TUNE, struct.pack('>HIH', 2047, 131072, 60)))
            self.read_frame()                       # Tune-Ok
            self.server.sendall(b'\x08\x00\x00\x00\x00\x00\x00\xce')   # a heartbeat in between
            vhost = amqp.Reader(self.read_frame()[4:]).shortstr()
            if vhost not in self.vhosts:
                self.server.sendall(close_frame(530, 'NOT_ALLOWED - vhost %s not found' % vhost))
                self.read_frame()
                return
            self.server.sendall(amqp.method_frame(amqp.OPEN_OK, b'\x00'))
            self.read_frame()                       # Close
            self.server.sendall(amqp.method_frame(amqp.CLOSE_OK))
        except (EOFError, OSError):
            pass
        finally:
            self.server.close()

    def login(self, user='guest', password=RABBIT_PASSWORD, vhost='/'):
        try:
            return amqp.amqp_login('rabbit', 5672, user, password, vhost, 5, connect=self.connect)
        finally:
            self.thread.join(5)


def test_login_opens_the_vhost_and_closes_cleanly():
    broker = Broker()
    assert broker.login() == {'product': 'RabbitMQ', 'version': '4.0.5'}
    assert broker.header == amqp.PROTOCOL_HEADER
    assert broker.address == ('rabbit', 5672)
    assert broker.received[1] == amqp.tune_ok(2047, 131072)     # the server's limits, no heartbeats
    assert broker.received[2] == amqp.connection_open('/')
    assert broker.received[3] == amqp.connection_close()


def test_wrong_password_is_access_refused():
    with pytest.raises(checks.CheckFailed) as exc:
        Broker().login(password='wrong')
    assert exc.value.cause == 'credentials'
    assert 'refused the login of user guest (403 ACCESS_REFUSED' in str(exc.value)
    assert 'wrong' not in str(exc.value).replace('wrong user', '')


def test_broker_that_hangs_up_after_the_login_means_bad_credentials():
    with pytest.raises(checks.CheckFailed) as exc:
        Broker(after_login='hang up').login(password='wrong')
    assert exc.value.cause == 'credentials'


def test_unknown_vhost_is_named():
    with pytest.raises(checks.CheckFailed) as exc:
        Broker().login(vhost='/nope')
    assert exc.value.cause == 'vhost'
    assert "access to virtual host '/nope' (530 NOT_ALLOWED - vhost /nope not found)" in str(exc.value)


def test_other_protocol_version_is_named():
    with pytest.raises(checks.CheckFailed) as exc:
        Broker(greeting=b'AMQP\x03\x01\x00\x00').login()
    assert exc.value.cause == 'protocol'
    assert 'AMQP 3-1-0-0' in str(exc.value)


def test_unreachable_broker_names_host_and_port():
    def refuse(address, timeout):
        raise ConnectionRefusedError(111, 'Connection refused')
    with pytest.raises(checks.CheckFailed) as exc:
        amqp.amqp_login('rabbit', 5673, 'guest', 'pw', '/', 1, connect=refuse)
    assert exc.value.cause == 'unreachable'
    assert str(exc.value).startswith('the message broker rabbit:5673 does not answer')


def test_every_host_is_checked():
    opts = dict(hosts=['a', 'b'], port=5672, user='guest', password=RABBIT_PASSWORD,
                vhost='/', timeout=5, ssl=False, ca_file=None)
    brokers = {'a': Broker(), 'b': Broker(password='other')}
    results, failures = amqp.check_messaging(opts, connect=lambda address, timeout: brokers[address[0]].connect(
        address, timeout))
    assert [r['ok'] for r in results] == [True, False]
    assert results[1]['cause'] == 'credentials' and len(failures) == 1


def test_broker_tls_failure_names_the_broker():
    import ssl

    class Context(object):
        def wrap_socket(self, sock, server_hostname):
            assert server_hostname == 'rabbit.example'
            raise ssl.SSLCertVerificationError('certificate verify failed: Hostname mismatch')

    with pytest.raises(checks.CheckFailed) as exc:
        amqp.amqp_login('rabbit.example', 5671, 'u', RABBIT_PASSWORD, '/', 5,
                      connect=lambda address, timeout: Broker().connect(address, timeout), tls=Context())
    assert exc.value.cause == 'tls' and 'rabbit.example:5671' in str(exc.value)


# --------------------------------------------------------------------------- Keystone

class Response(object):
    def __init__(self, status, body, headers=None):
        self.status, self.headers, self._body = status, headers or {}, json.dumps(body).encode()

    def read(self):
        return self._body


class FakeKeystone(object):
    def __init__(self):
        self.regions = ['RegionOne', 'RegionTwo']
        self.catalog = [{'type': 'identity', 'endpoints': [
            {'region_id': 'RegionOne', 'region': 'RegionOne', 'interface': i, 'url': 'http://k:5000/v3/'}
            for i in ('public', 'internal', 'admin')]}]
        self.domains = [{'id': 'default', 'name': 'Default'}, {'id': 'h1', 'name': 'heat'}]
        self.projects = [{'id': 'p1', 'name': 'service', 'domain_id': 'default'},
                         {'id': 'p0', 'name': 'admin', 'domain_id': 'default'}]
        self.down = 0
        self.requests = []

    def open_url(self, url, data=None, headers=None, method=None, timeout=None, follow_redirects=None,
                 validate_certs=True, ca_path=None):
        self.requests.append(dict(url=url, method=method, headers=headers, data=data,
                                  validate_certs=validate_certs, ca_path=ca_path))
        if self.down:
            self.down -= 1
            raise URLError(ConnectionRefusedError(111, 'Connection refused'))
        parts = urlsplit(url)
        query = dict((k, v[0]) for k, v in parse_qs(parts.query).items())
        if parts.path == '/v3/auth/tokens' and method == 'POST':
            user = json.loads(data)['auth']['identity']['password']['user']
            if user['password'] != ADMIN_PASSWORD:
                raise HTTPError(url, 401, 'Unauthorized', {}, io.BytesIO(b'{}'))
            return Response(201, {'token': {
                'user': {'name': 'admin', 'domain': {'name': 'Default'}},
                'project': {'name': 'admin', 'domain': {'name': 'Default'}},
                'catalog': self.catalog}}, {'X-Subject-Token': TOKEN})
        if not parts.path.startswith('/v3/'):
            raise HTTPError(url, 404, 'Not Found', {}, io.BytesIO(b''))
        assert headers['X-Auth-Token'] == TOKEN
        if parts.path == '/v3/regions':
            return Response(200, {'regions': [{'id': r} for r in self.regions]})
        if parts.path == '/v3/domains':
            return Response(200, {'domains': self.domains})
        if parts.path == '/v3/projects':
            return Response(200, {'projects': [p for p in self.projects if p['domain_id'] == query['domain_id']
                                               and p['name'].lower() == query['name'].lower()]})
        raise HTTPError(url, 404, 'Not Found', {}, io.BytesIO(b''))


@pytest.fixture
def keystone(monkeypatch):
    fake = FakeKeystone()
    monkeypatch.setattr(preinstall, 'open_url', fake.open_url)
    monkeypatch.setattr(time, 'sleep', lambda seconds: None)
    for name in ('OS_AUTH_URL', 'OS_PASSWORD', 'OS_USERNAME', 'OS_PROJECT_NAME', 'OS_CACERT'):
        monkeypatch.delenv(name, raising=False)
    return fake


def admin_auth(**overrides):
    auth = dict(auth_url='http://k:5000/v3', username='admin', password=ADMIN_PASSWORD, project_name='admin')
    auth.update(overrides)
    return auth


@pytest.fixture
def run(module_args, keystone):
    def _run(keystone_opts=None, fail=False, **args):
        args.setdefault('auth', admin_auth())
        args['keystone'] = {'check': dict(dict(region='RegionOne', projects=[{'name': 'service'}]),
                                          **(keystone_opts or {}))}
        module_args(args)
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as exc:
            heat_plan.main()
        result = exc.value.args[0]
        text = json.dumps(result)
        assert ADMIN_PASSWORD not in text and TOKEN not in text
        # A part's failure is its msg and cause; the module fails only on its parameters.
        failed = result if result.get('failed') else next(
            (result[part] for part in ('keystone', 'tls_urls') if 'msg' in result.get(part, {})), None)
        assert bool(failed) is fail, result
        return failed or result
    return _run


def test_keystone_checks_pass_and_return_facts(run, keystone):
    result = run()
    assert result['changed'] is False
    assert result['keystone'] == {
        'auth_url': 'http://k:5000/v3',
        'user': {'name': 'admin', 'domain': 'Default'},
        'project': {'name': 'admin', 'domain': 'Default'},
        'regions': ['RegionOne', 'RegionTwo'],
        'catalog': {'RegionOne': ['identity']},
        'identity_endpoint': 'http://k:5000/v3/',
        'projects': [{'name': 'service', 'domain': 'Default', 'id': 'p1'}],
        'mode': 'check',
    }
    assert [r['method'] for r in keystone.requests] == ['POST', 'GET', 'GET', 'GET']   # one authentication


def test_auth_url_without_version_and_from_openrc(run, keystone, tmp_path):
    openrc = tmp_path / 'admin-openrc'
    openrc.write_text('export OS_USERNAME=admin\nexport OS_PASSWORD="%s"   # bootstrap\n'
                      'export OS_PROJECT_NAME=admin\nexport OS_AUTH_URL=http://k:5000\n' % ADMIN_PASSWORD)
    result = run(auth=None, openrc=str(openrc))
    assert result['keystone']['auth_url'] == 'http://k:5000/v3'


def test_wrong_admin_password(run, keystone):
    result = run(auth=admin_auth(password='wrong-password'), fail=True)
    assert result['cause'] == 'credentials'
    assert result['msg'] == ('Keystone at http://k:5000/v3 refused the credentials of user admin (domain Default) on '
                             'project admin (domain Default): HTTP 401')


def test_unreachable_keystone_is_retried_until_the_timeout(run, keystone, monkeypatch):
    now = [0.0]
    monkeypatch.setattr(time, 'monotonic', lambda: now[0])
    monkeypatch.setattr(time, 'sleep', lambda seconds: now.__setitem__(0, now[0] + seconds))
    keystone.down = 1000
    result = run({'timeout': 10}, fail=True)
    assert result['cause'] == 'unreachable'
    assert result['msg'].startswith('Keystone at http://k:5000/v3 is unreachable or failing (')
    assert len(keystone.requests) == 4            # t=0, 3, 6, 9; the next would pass the deadline


def test_briefly_unreachable_keystone_passes(run, keystone):
    keystone.down = 2
    assert run()['keystone']['regions']


def test_tls_failure_is_not_retried_and_cacert_is_used(run, keystone, monkeypatch):
    import ssl

    def bad_cert(url, **kwargs):
        keystone.requests.append(kwargs)
        raise URLError(ssl.SSLCertVerificationError('certificate verify failed'))
    monkeypatch.setattr(preinstall, 'open_url', bad_cert)
    result = run(auth=admin_auth(auth_url='https://k:5000', cacert='/etc/ssl/ca.pem'), fail=True)
    assert result['cause'] == 'tls' and len(keystone.requests) == 1
    assert keystone.requests[0]['ca_path'] == '/etc/ssl/ca.pem'


def test_ca_data_is_written_and_used_instead_of_cacert(run, keystone, monkeypatch):
    import ssl
    monkeypatch.setattr(ssl, 'create_default_context', lambda cafile=None: None)
    run(auth=admin_auth(auth_url='https://k:5000', cacert='/not/yet/there.pem'), ca_data='-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
    path = keystone.requests[0]['ca_path']
    assert path and path.endswith('ca-bundle.pem')
    with open(path) as handle:
        assert handle.read().startswith('-----BEGIN CERTIFICATE-----')


def test_ca_data_that_is_not_pem_is_refused_before_any_request(run, keystone):
    result = run(auth=admin_auth(auth_url='https://k:5000'), ca_data='not a certificate', fail=True)
    assert result['cause'] == 'parameters' and 'ca_data' in result['msg'] and not keystone.requests


def test_validate_certs_false_ignores_the_ca(run, keystone):
    run(auth=admin_auth(cacert='/etc/ssl/ca.pem'), validate_certs=False)
    assert keystone.requests[0]['validate_certs'] is False and keystone.requests[0]['ca_path'] is None


def test_nonexistent_region_names_the_existing_ones(run, keystone):
    result = run({'region': 'RegionNine'}, fail=True)
    assert result['cause'] == 'region'
    assert result['msg'] == "region 'RegionNine' does not exist in Keystone; existing regions: RegionOne, RegionTwo"


def test_region_differing_in_case(run, keystone):
    result = run({'region': 'regionOne'}, fail=True)
    assert result['msg'].endswith("(region IDs are case-sensitive: use 'RegionOne' or create 'regionOne')")


def test_region_without_identity_endpoint(run, keystone):
    result = run({'region': 'RegionTwo'}, fail=True)
    assert result['cause'] == 'identity_region'
    assert result['msg'].startswith("Keystone's catalog has no internal identity endpoint in region RegionTwo, "
                                    "where Heat's keystonemiddleware looks Keystone up:")
    assert result['msg'].endswith('Identity endpoints exist in: RegionOne (admin, internal, public)')


def test_keystone_region_apart_from_heat_region(run, keystone):
    result = run({'region': 'RegionTwo', 'keystone_region': 'RegionOne'})
    assert result['keystone']['identity_endpoint'] == 'http://k:5000/v3/'


def test_interface_is_checked(run, keystone):
    keystone.catalog[0]['endpoints'] = [e for e in keystone.catalog[0]['endpoints'] if e['interface'] == 'public']
    result = run(fail=True)
    assert 'no internal identity endpoint in region RegionOne' in result['msg']
    assert run({'interface': 'public'})['keystone']


def test_missing_project_is_named_and_not_created(run, keystone):
    result = run({'projects': [{'name': 'servcie'}]}, fail=True)
    assert result['cause'] == 'project'
    assert result['msg'].startswith("project 'servcie' in domain Default does "
                                    "not exist in Keystone: it is referenced, not created")
    assert [r['method'] for r in keystone.requests if r['method'] != 'GET'] == ['POST']


def test_a_labelled_project_is_named_by_its_label(run, keystone):
    # The role's call: the label is its input; no option of the plan is named.
    result = run({'projects': [{'name': 'servcie', 'label': 'heat_service_project'}]}, fail=True)
    assert result['msg'].startswith("project 'servcie' in domain Default (named by heat_service_project) does not "
                                    "exist in Keystone: it is referenced, not created")
    assert 'keystone.check' not in result['msg']
    result = run({'projects': [{'name': 'service', 'domain': 'Defualt', 'label': 'heat_service_project'}]}, fail=True)
    assert result['msg'].startswith("domain 'Defualt' (named by heat_service_project) does not exist in Keystone")


def test_missing_domain_is_named(run, keystone):
    result = run({'projects': [{'name': 'service', 'domain': 'Defualt'}]}, fail=True)
    assert result['cause'] == 'domain'
    assert result['msg'] == ("domain 'Defualt' does not exist in Keystone; "
                             "existing domains: Default, heat. Create it or correct the name")


def test_domain_by_id_or_other_case(run, keystone):
    assert run({'projects': [{'name': 'service', 'domain': 'default'}]})['keystone']['projects'][0]['id'] == 'p1'


def test_auth_url_not_keystone(run, keystone):
    result = run(auth=admin_auth(auth_url='http://k:5000/identity'), fail=True)
    assert result['cause'] == 'auth_url'


@pytest.mark.parametrize('opts, msg', [
    ({'region': ' '}, 'keystone.check.region must not be empty'),
    ({'keystone_region': ''}, 'keystone.check.keystone_region must not be empty'),
    ({'timeout': 0}, 'keystone.check.timeout must be at least 1 second'),
])
def test_bad_keystone_parameters(run, opts, msg):
    result = run(opts, fail=True)
    assert result['cause'] == 'parameters' and msg in result['msg']


def test_bad_messaging_parameters(module_args):
    module_args({'messaging': {'hosts': ['a'], 'port': 70000, 'user': 'u', 'password': RABBIT_PASSWORD}})
    with pytest.raises(AnsibleFailJson) as exc:
        heat_plan.main()
    assert 'messaging.port must be between 1 and 65535' in exc.value.args[0]['msg']


def test_messaging_failure_through_main_hides_the_password(module_args, monkeypatch):
    refused = {'host': 'a', 'ok': False, 'cause': 'credentials', 'msg': 'the broker a:5672 refused the login of user u'}
    monkeypatch.setattr(amqp, 'check_messaging', lambda opts, ca_file=None: ([refused], [
        checks.CheckFailed('credentials', refused['msg'])]))
    module_args({'messaging': {'hosts': ['a'], 'user': 'u', 'password': RABBIT_PASSWORD}})
    with pytest.raises(AnsibleExitJson) as exc:
        heat_plan.main()
    assert exc.value.args[0]['messaging'][0]['cause'] == 'credentials'
    assert RABBIT_PASSWORD not in json.dumps(exc.value.args[0])


def test_needs_keystone_or_messaging(module_args):
    module_args({})
    with pytest.raises(AnsibleFailJson) as exc:
        heat_plan.main()
    assert 'controller, database, messaging, keystone, tls_urls' in exc.value.args[0]['msg']


def test_the_plan_loads_on_a_fresh_controller():
    """Before the package step: no keystoneauth1, PyMySQL, oslo.config, PyYAML nor AMQP client."""
    import subprocess
    code = '\n'.join([
        'import sys',
        'for name in ("keystoneauth1", "keystoneclient", "pymysql", "oslo_config", "yaml", "amqp", "kombu"):',
        '    sys.modules[name] = None',
        'sys.path.insert(0, %r)' % os.path.dirname(heat_plan.__file__),
        'import ansible.module_utils',
        'ansible.module_utils.__path__.append(%r)' % os.path.dirname(checks.__file__),
        'import heat_plan',
        'print(sorted(heat_plan.argument_spec()))',
    ])
    answer = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert answer.returncode == 0, answer.stderr
    assert 'keystone' in answer.stdout


def test_the_checks_import_only_the_standard_library_and_ansible():
    """They run on a fresh controller; PyMySQL only where it is optional (database.wanted)."""
    import ast
    files = [m.__file__ for m in (amqp, checks, database, preinstall)]
    trees = dict((f, ast.parse(open(f).read())) for f in files)

    def imported(nodes):
        names = set()
        for node in nodes:
            if isinstance(node, ast.Import):
                names.update(a.name.split('.')[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                names.add(node.module.split('.')[0])
        return names

    top = set().union(*(imported(tree.body) for tree in trees.values()))
    assert top <= {'__future__', 'json', 'os', 're', 'socket', 'ssl', 'struct', 'time', 'urllib', 'ansible'}
    assert set().union(*(imported(ast.walk(tree)) for tree in trees.values())) - top == {'pymysql'}
    source = ast.get_source_segment(open(database.__file__).read(), next(
        node for node in trees[database.__file__].body
        if isinstance(node, ast.FunctionDef) and node.name == 'check_database_in_place'))
    assert 'except ImportError' in source


def test_password_options_are_no_log():
    spec = heat_plan.argument_spec()
    users = spec['keystone']['options']['registration']['options']['users']['options']
    assert users['password']['no_log'] is True
    assert spec['messaging']['options']['password']['no_log'] is True
    assert spec['auth']['options']['password']['no_log'] is True
    assert spec['database']['options']['login']['options']['password']['no_log'] is True
    assert spec['database']['options']['wanted']['options']['password']['no_log'] is True


def test_tls_urls_fail_on_a_certificate_that_does_not_verify_naming_the_variable(run, keystone, monkeypatch):
    import ssl
    real = checks.open_url

    def answer(url, **kwargs):
        if url == 'https://vip:8004':
            raise URLError(ssl.SSLCertVerificationError("certificate verify failed: Hostname mismatch, certificate is not valid for 'vip'"))
        if url == 'https://down:8000':
            raise URLError(ConnectionRefusedError(111, 'Connection refused'))
        if url.startswith('https://ok'):
            raise HTTPError(url, 401, 'Unauthorized', {}, None)
        return real(url, **kwargs)
    monkeypatch.setattr(checks, 'open_url', answer)
    entries = [{'name': 'heat_metadata_server_url', 'url': 'http://plain:8000'},
               {'name': 'heat_keystone_public_url', 'url': 'https://ok:5000'},
               {'name': 'heat_metadata_server_url', 'url': 'https://down:8000'},
               {'name': 'heat_public_address', 'url': 'https://vip:8004'}]
    result = run(tls_urls=entries, fail=True)
    assert result['cause'] == 'tls_url'
    assert 'https://vip:8004 (heat_public_address)' in result['msg'] and 'Hostname mismatch' in result['msg']
    result = run(tls_urls=entries[:3])
    assert result['tls_urls'] == {'checked': ['https://ok:5000']}


class Clock:
    """time.monotonic and time.sleep of check_database, without waiting."""

    def __init__(self):
        self.now = 0.0

    def sleep(self, seconds):
        self.now += seconds

    def __call__(self):
        return self.now


class Port:
    """socket.create_connection's stand-in: refused `refusals` times, then answers."""

    def __init__(self, refusals):
        self.refusals = refusals
        self.calls = []

    def __call__(self, address, timeout):
        self.calls.append((address, timeout))
        if len(self.calls) <= self.refusals:
            raise ConnectionRefusedError(111, 'Connection refused')
        return io.BytesIO()


def test_database_port_that_answers_at_once():
    clock, port = Clock(), Port(0)
    found = database.check_database({'host': 'db', 'port': 3306, 'timeout': 60}, connect=port, sleep=clock.sleep, clock=clock)
    assert found == {'host': 'db', 'port': 3306, 'seconds': 0.0}
    assert port.calls == [(('db', 3306), 5.0)]


def test_database_restarting_is_waited_for():
    clock, port = Clock(), Port(8)
    found = database.check_database({'host': 'db', 'port': 3306, 'timeout': 60}, connect=port, sleep=clock.sleep, clock=clock)
    assert found['seconds'] == 8.0 and len(port.calls) == 9


def test_database_down_for_good_is_named_after_the_timeout():
    clock, port = Clock(), Port(1000)
    with pytest.raises(checks.CheckFailed) as failed:
        database.check_database({'host': 'db', 'port': 3307, 'timeout': 6}, connect=port, sleep=clock.sleep, clock=clock)
    assert failed.value.cause == 'database'
    assert str(failed.value).startswith('The database server db:3307 did not answer within 6 s: ')
    assert clock.now <= 6


def test_database_socket_is_waited_for_after_the_port():
    clock, port, looks = Clock(), Port(0), []

    def exists(path):
        looks.append(path)
        return len(looks) > 3

    found = database.check_database({'host': 'db', 'port': 3306, 'timeout': 60, 'sockets': ['/run/mysqld/mysqld.sock']},
                              connect=port, sleep=clock.sleep, clock=clock, exists=exists)
    assert found == {'host': 'db', 'port': 3306, 'socket': '/run/mysqld/mysqld.sock', 'seconds': 3.0}


def test_the_first_of_the_candidate_sockets_that_exists_is_used():
    # Debian unstable's MariaDB moved its socket to /run/mariadbd.
    clock, port = Clock(), Port(0)
    candidates = ['/run/mysqld/mysqld.sock', '/run/mariadbd/mysqld.sock']
    found = database.check_database({'host': 'db', 'port': 3306, 'timeout': 60, 'sockets': candidates},
                                    connect=port, sleep=clock.sleep, clock=clock,
                                    exists=lambda path: path.startswith('/run/mariadbd/'))
    assert found['socket'] == '/run/mariadbd/mysqld.sock' and clock.now == 0
    found = database.check_database({'host': 'db', 'port': 3306, 'timeout': 60, 'sockets': candidates},
                                    connect=port, sleep=clock.sleep, clock=clock, exists=lambda path: True)
    assert found['socket'] == '/run/mysqld/mysqld.sock'


def test_database_socket_missing_is_named_within_the_same_timeout():
    clock, port = Clock(), Port(2)
    with pytest.raises(checks.CheckFailed) as failed:
        database.check_database({'host': 'db', 'port': 3306, 'timeout': 6, 'sockets': ['/nowhere.sock', '/else.sock']},
                          connect=port, sleep=clock.sleep, clock=clock, exists=lambda path: False)
    assert failed.value.cause == 'socket'
    assert str(failed.value) == ('No database socket (/nowhere.sock or /else.sock) on this host within 6 s, '
                                 'although db:3306 answers')
    assert clock.now <= 6


def test_database_and_brokers_are_both_checked_and_reported(module_args, monkeypatch):
    """The caller names the database first and the brokers after Keystone: it needs both results."""
    def database_down(opts):
        raise checks.CheckFailed('database', 'The database server db:3306 did not answer within 6 s: refused')

    monkeypatch.setattr(database, 'check_database', database_down)
    refused = {'host': 'a', 'ok': False, 'cause': 'credentials', 'msg': 'the broker a:5672 refused the login of user u'}
    monkeypatch.setattr(amqp, 'check_messaging', lambda opts, ca_file=None: ([refused], [
        checks.CheckFailed('credentials', refused['msg'])]))
    module_args({'database': {'host': 'db'}, 'messaging': {'hosts': ['a'], 'user': 'u', 'password': RABBIT_PASSWORD}})
    with pytest.raises(AnsibleExitJson) as exc:
        heat_plan.main()
    result = exc.value.args[0]
    assert result['database'] == {'host': 'db', 'port': 3306, 'ok': False, 'cause': 'database',
                                  'msg': 'The database server db:3306 did not answer within 6 s: refused'}
    assert result['messaging'] == [refused]

    monkeypatch.setattr(database, 'check_database', lambda opts: {'host': 'db', 'port': 3306, 'seconds': 0.0})
    with pytest.raises(AnsibleExitJson) as exc:
        heat_plan.main()
    result = exc.value.args[0]
    assert result['messaging'][0]['cause'] == 'credentials' and result['database']['ok'] is True


# --------------------------------------------------------------------------- database.wanted

DB_PASSWORD = "h3at-db/pw'x"


def native_hash(password):
    """What MariaDB's CONCAT('*', UCASE(SHA1(UNHEX(SHA1(pw))))) gives."""
    import hashlib
    return '*' + hashlib.sha1(hashlib.sha1(password.encode('utf-8')).digest()).hexdigest().upper()


class FakeServer:
    """The few answers of a MariaDB server database_differences asks for."""

    def __init__(self):
        self.databases = {'heat'}
        # The default collation of each database and the collation of each of its tables (a database mysql_db made).
        self.collations = {'heat': 'utf8mb4_general_ci'}
        self.tables = {'heat': ['utf8mb4_general_ci'] * 3}
        self.accounts = {}
        for host in ('localhost', '%'):
            self.add('heat', host, DB_PASSWORD)
        self.queries = []

    def add(self, user, host, password, grants=None):
        account = '`%s`@`%s`' % (user, host)
        self.accounts[(user, host)] = dict(
            hash=native_hash(password),
            grants=grants if grants is not None else [
                "GRANT USAGE ON *.* TO %s IDENTIFIED BY PASSWORD '%s'" % (account, native_hash(password)),
                'GRANT ALL PRIVILEGES ON `heat`.* TO %s' % account])

    def cursor(self):
        return FakeCursor(self)


class FakeCursor:
    def __init__(self, server):
        self.server, self.rows, self.description = server, [], None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def execute(self, sql, args=()):
        self.server.queries.append((sql, args))
        if sql.startswith('SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA'):
            self.rows = [(self.server.collations[args[0]],)] if args[0] in self.server.databases else []
        elif sql.startswith('SELECT TABLE_COLLATION, COUNT(*) FROM information_schema.TABLES'):
            tables = self.server.tables.get(args[0], []) if args[0] in self.server.databases else []
            counts = {}
            for collation in tables:
                counts[collation] = counts.get(collation, 0) + 1
            self.rows = sorted(counts.items(), key=lambda row: (-row[1], row[0]))
        elif 'information_schema.SCHEMATA' in sql:
            self.rows = [(args[0],)] if args[0] in self.server.databases else []
        elif sql == database.PASSWORD_HASH:
            self.rows = [(native_hash(args[0]),)]
        elif sql.startswith('SELECT * FROM mysql.user'):
            self.description = [('Host',), ('User',), ('Password',), ('plugin',), ('authentication_string',)]
            found = self.server.accounts.get(args)
            self.rows = [(args[1], args[0], found['hash'], 'mysql_native_password', found['hash'])] if found else []
        elif sql.startswith('SHOW GRANTS FOR'):
            self.rows = [(line,) for line in self.server.accounts[args]['grants']]
        else:
            raise AssertionError('unexpected query ' + sql)

    def fetchall(self):
        return list(self.rows)

    def fetchone(self):
        return self.rows[0]


WANTED = {'name': 'heat', 'user': 'heat', 'password': DB_PASSWORD, 'hosts': ['localhost', '%']}


def test_database_and_accounts_as_mysql_user_makes_them_are_in_place():
    server = FakeServer()
    assert database.database_differences(server.cursor(), WANTED) == []
    # Read-only: nothing but reads was sent.
    assert all(sql.startswith(('SELECT', 'SHOW')) for sql, args in server.queries)


def test_each_difference_is_named_without_the_password():
    server = FakeServer()
    server.databases = set()
    del server.accounts[('heat', '%')]
    server.add('heat', 'localhost', 'an-older-password')
    assert database.database_differences(server.cursor(), WANTED) == [
        'no database heat', 'another password for heat@localhost', 'no account heat@%']


@pytest.mark.parametrize('extra', [
    'GRANT SELECT ON `nova`.* TO `heat`@`%`',
    'GRANT ALL PRIVILEGES ON `heat`.* TO `heat`@`%` WITH GRANT OPTION',
    'GRANT `some_role` TO `heat`@`%`',
])
def test_privileges_beyond_all_on_the_database_are_a_difference(extra):
    """mysql_user (append_privs false) would revoke them: its task must run."""
    server = FakeServer()
    server.accounts[('heat', '%')]['grants'].append(extra)
    assert database.database_differences(server.cursor(), WANTED) == ['privileges of heat@% other than ALL on `heat`.*']


def test_missing_privilege_is_a_difference():
    server = FakeServer()
    server.accounts[('heat', 'localhost')]['grants'].pop()
    assert database.database_differences(server.cursor(), WANTED) == [
        'privileges of heat@localhost other than ALL on `heat`.*']


def test_a_database_whose_tables_follow_its_default_needs_no_other_collation():
    server = FakeServer()
    assert database.sync_collation(server.cursor(), 'heat') == {}
    server.databases = set()  # a fresh controller: db_sync makes every table
    assert database.sync_collation(server.cursor(), 'heat') == {}
    server.databases, server.tables = {'heat'}, {'heat': []}
    assert database.sync_collation(server.cursor(), 'heat') == {}


def test_a_database_made_by_heat_19_syncs_in_the_collation_of_its_tables():
    """Heat 19's migrations made utf8mb3 tables in the utf8mb4 database mysql_db created: a table that
    Heat 26 adds with a foreign key to one of them must be made in utf8mb3 (else errno 150)."""
    server = FakeServer()
    # alembic_version, made in the database's default by an earlier upgrade, does not outvote the rest.
    server.tables['heat'] = ['utf8mb3_general_ci'] * 30 + ['utf8mb4_general_ci']
    assert database.sync_collation(server.cursor(), 'heat') == {
        'default': 'utf8mb4_general_ci', 'tables': 'utf8mb3_general_ci'}
    # An operator's database made in the server's default collation, with tables in another one.
    server.collations['heat'] = 'utf8mb4_uca1400_ai_ci'
    server.tables['heat'] = ['utf8mb4_general_ci'] * 2
    assert database.sync_collation(server.cursor(), 'heat') == {
        'default': 'utf8mb4_uca1400_ai_ci', 'tables': 'utf8mb4_general_ci'}
    assert all(sql.startswith('SELECT') for sql, args in server.queries)


def test_the_collation_is_read_with_the_accounts(monkeypatch, tmp_path):
    monkeypatch.setenv('HOME', str(tmp_path))
    server = FakeServer()
    server.tables['heat'] = ['utf8mb3_general_ci'] * 3
    monkeypatch.setitem(sys.modules, 'pymysql', FakePyMySQL(server))
    assert database.check_database_in_place({'login': None, 'wanted': WANTED}, '/run/mysqld/mysqld.sock') == (
        True, [], {'default': 'utf8mb4_general_ci', 'tables': 'utf8mb3_general_ci'})


class FakePyMySQL:
    """The pymysql module: connect() records its arguments."""

    class MySQLError(Exception):
        pass

    def __init__(self, server=None, error=None):
        self.server, self.error, self.config = server, error, None

    def connect(self, **config):
        self.config = config
        if self.error:
            raise self.error
        server = self.server

        class Connection:
            def cursor(self):
                return server.cursor()

            def close(self):
                pass
        return Connection()


def test_in_place_through_the_socket_or_over_tcp(monkeypatch, tmp_path):
    monkeypatch.setenv('HOME', str(tmp_path))
    fake = FakePyMySQL(FakeServer())
    monkeypatch.setitem(sys.modules, 'pymysql', fake)
    opts = {'login': None, 'wanted': WANTED}
    assert database.check_database_in_place(opts, '/run/mysqld/mysqld.sock') == (True, [], {})
    assert fake.config == {'user': 'root', 'connect_timeout': 10, 'unix_socket': '/run/mysqld/mysqld.sock'}

    (tmp_path / '.my.cnf').write_text('[client]\npassword = x\n')
    opts['login'] = {'host': 'db1', 'port': 3307, 'user': 'admin', 'password': None}
    assert database.check_database_in_place(opts) == (True, [], {})
    assert fake.config == {'user': 'admin', 'connect_timeout': 10, 'host': 'db1', 'port': 3307,
                           'read_default_file': str(tmp_path / '.my.cnf')}


def test_without_pymysql_or_a_login_nothing_is_in_place(monkeypatch):
    monkeypatch.setitem(sys.modules, 'pymysql', None)
    opts = {'login': None, 'wanted': WANTED}
    assert database.check_database_in_place(opts, '/run/mysqld/mysqld.sock') == (
        False, ['PyMySQL is not installed on this host'], {})

    fake = FakePyMySQL(error=FakePyMySQL.MySQLError(1698, "Access denied for user 'root'@'localhost'"))
    monkeypatch.setitem(sys.modules, 'pymysql', fake)
    assert database.check_database_in_place(opts, '/run/mysqld/mysqld.sock') == (
        False, ["the administrator login failed: Access denied for user 'root'@'localhost'"], {})


def test_an_answer_not_understood_is_a_doubt_not_a_failure(monkeypatch):
    """The checks must not fail on what only decides whether the database tasks run."""
    server = FakeServer()
    server.accounts[('heat', '%')]['grants'] = None  # a SHOW GRANTS answer the read cannot iterate
    monkeypatch.setitem(sys.modules, 'pymysql', FakePyMySQL(server))
    in_place, differs, collation = database.check_database_in_place({'login': None, 'wanted': WANTED}, '/run/mysqld/mysqld.sock')
    assert in_place is False
    assert differs[0].startswith('could not read the accounts: TypeError')
    assert collation == {}


def test_wanted_is_reported_through_main(module_args, monkeypatch):
    monkeypatch.setattr(database, 'check_database', lambda opts: {'host': 'db', 'port': 3306, 'seconds': 0.0})
    monkeypatch.setattr(database, 'check_database_in_place', lambda opts, socket_path: (False, ['no account heat@%'], {}))
    module_args({'database': {'host': 'db', 'sockets': ['/run/mysqld/mysqld.sock'], 'wanted': WANTED}})
    with pytest.raises(AnsibleExitJson) as exc:
        heat_plan.main()
    result = exc.value.args[0]
    assert result['database']['in_place'] is False and result['database']['differs'] == ['no account heat@%']
    assert DB_PASSWORD not in json.dumps(result)

    monkeypatch.setattr(database, 'check_database_in_place', lambda opts, socket_path: (True, [], {}))
    with pytest.raises(AnsibleExitJson) as exc:
        heat_plan.main()
    assert exc.value.args[0]['database']['in_place'] is True and 'differs' not in exc.value.args[0]['database']
    assert 'sync_collation' not in exc.value.args[0]['database']

    collation = {'default': 'utf8mb4_general_ci', 'tables': 'utf8mb3_general_ci'}
    monkeypatch.setattr(database, 'check_database_in_place', lambda opts, socket_path: (True, [], collation))
    with pytest.raises(AnsibleExitJson) as exc:
        heat_plan.main()
    assert exc.value.args[0]['database']['sync_collation'] == collation


def test_wanted_needs_a_login(module_args):
    module_args({'database': {'host': 'db', 'wanted': WANTED}})
    with pytest.raises(AnsibleFailJson) as exc:
        heat_plan.main()
    assert exc.value.args[0]['cause'] == 'parameters'
    assert 'database.wanted needs database.sockets or database.login.host' in exc.value.args[0]['msg']
