# -*- coding: utf-8 -*-
# Bundled module of the heat role: check, before any change, what heat.conf
# will ask of Keystone and of the message broker. Standard library only: it
# runs on a fresh controller, before the package step brings keystoneauth1.
from __future__ import annotations

DOCUMENTATION = r'''
---
module: heat_preflight
short_description: Check Keystone and the message broker the way Heat will use them, without changing anything
description:
  - Read-only checks for the heat role, run before any change on any host. Needs nothing
    beyond Python's standard library on the managed host (no keystoneauth1, no AMQP client);
    O(database.wanted) uses PyMySQL where it is installed.
  - O(keystone) authenticates with the admin credentials (password, project scope) and,
    with that one token, checks that the region of Heat's endpoints exists, that the
    region Heat looks Keystone up in has an identity endpoint of the interface
    keystonemiddleware uses, and that the projects Heat only uses exist.
  - O(database) waits until the database server's port answers and, with O(database.wanted),
    reads whether the database and its accounts are in place.
  - O(messaging) logs in to each broker the way oslo.messaging's rabbit driver does
    (AMQP 0-9-1, PLAIN with user and password, then opens the virtual host) and closes
    the connection cleanly.
  - Each failure names the parameter at fault and the cause, and sets RV(cause) so a
    caller can name its own variables. Passwords and tokens are never returned or shown.
options:
  auth:
    description:
      - Admin credentials for O(keystone). Keys left out are taken from O(openrc), then
        from the C(OS_*) environment (C(OS_AUTH_URL), C(OS_USERNAME), ...).
    type: dict
    suboptions:
      auth_url:
        description: Keystone URL, with or without C(/v3).
        type: str
      username:
        description: Admin user name.
        type: str
      password:
        description: Its password.
        type: str
      project_name:
        description: Project the token is scoped to (C(OS_PROJECT_NAME), or C(OS_TENANT_NAME)).
        type: str
      user_domain_name:
        description: Domain of the user; V(Default) if unset.
        type: str
      project_domain_name:
        description: Domain of the project; V(Default) if unset.
        type: str
      region_name:
        description: Not used by this module (accepted as in the other bundled modules).
        type: str
      interface:
        description: Not used by this module; see O(keystone.interface).
        type: str
        choices: [public, internal, admin]
      cacert:
        description: CA bundle to verify Keystone's certificate with (C(OS_CACERT)).
        type: path
  openrc:
    description:
      - Path of an openrc file on the managed host. Only its C(export OS_...=...) lines are
        read (no shell runs), with the shell's quoting and C(#) comments.
    type: path
  validate_certs:
    description: Verify Keystone's TLS certificate (against O(auth.cacert) when given).
    type: bool
    default: true
  ca_data:
    description:
      - CA certificates (PEM) to verify Keystone's and the brokers' certificates with, for a
        bundle that is not on the managed host yet (the heat role installs it later). Used
        instead of O(auth.cacert) (and C(OS_CACERT)), and where O(messaging.ca_file) is not given.
    type: str
  keystone:
    description: What to check in Keystone. Run it once per deployment.
    type: dict
    suboptions:
      region:
        description: Region Heat's endpoints are registered in; it must exist.
        type: str
        required: true
      keystone_region:
        description:
          - Region whose identity endpoint Heat's keystonemiddleware looks up
            (C([keystone_authtoken] region_name)); defaults to O(keystone.region).
        type: str
      interface:
        description: Interface of that identity endpoint (keystonemiddleware's default is V(internal)).
        type: str
        choices: [public, internal, admin]
        default: internal
      projects:
        description: Projects that must already exist (checked, never created).
        type: list
        elements: dict
        default: []
        suboptions:
          name:
            description: Project name.
            type: str
            required: true
          domain:
            description: Domain name or ID of the project.
            type: str
            default: Default
      timeout:
        description:
          - Seconds to keep retrying while Keystone is unreachable or answers 5xx
            (e.g. restarting). A refusal (4xx) fails at once.
        type: int
        default: 60
  tls_urls:
    description:
      - HTTPS URLs whose certificate must verify (against O(ca_data), else O(auth.cacert), else the system's
        trust store) and carry the URL's host name, each named by the variable it comes from. Any HTTP answer
        passes; an unreachable URL is not this check's business (e.g. a load balancer not yet set up).
        C(http://) URLs are skipped.
    type: list
    elements: dict
    suboptions:
      name:
        description: The variable the URL comes from, for the message.
        type: str
        required: true
      url:
        description: The URL.
        type: str
        required: true
  database:
    description:
      - The database server to reach over TCP, as Heat will from this host (the port answers; no login).
        Waited for up to O(database.timeout) seconds, so that a restarting server is survived.
        Checked before O(messaging).
    type: dict
    suboptions:
      host:
        description: Database server host name or address.
        type: str
        required: true
      port:
        description: Its port.
        type: int
        default: 3306
      timeout:
        description: Seconds to wait for the port (and O(database.socket)) to answer.
        type: float
        default: 60
      socket:
        description:
          - The server's Unix socket on this host, which the caller's database tasks log in through;
            waited for, within the same O(database.timeout), once the port answered.
        type: path
      login:
        description:
          - How the caller's database tasks log in as the database administrator (through O(database.socket),
            or over TCP to O(database.login.host)), for O(database.wanted). Credentials left out come from
            C(~/.my.cnf), as with community.mysql.
        type: dict
        suboptions:
          host: {description: Server to log in to over TCP instead of O(database.socket)., type: str}
          port: {description: Its port., type: int, default: 3306}
          user: {description: Administrator., type: str, default: root}
          password: {description: Its password., type: str}
      wanted:
        description:
          - What the caller's database tasks make (community.mysql's C(mysql_db) and C(mysql_user) with
            C(priv=<name>.*:ALL)), checked read-only through O(database.login) - the database exists and
            every account of O(database.wanted.hosts) exists, has that password and exactly those
            privileges. RV(database.in_place) tells the caller whether those tasks can be skipped.
            Needs PyMySQL on this host; without it, or on any doubt, RV(database.in_place) is false.
        type: dict
        suboptions:
          name: {description: Database name., type: str, required: true}
          user: {description: User name., type: str, required: true}
          password: {description: Its password., type: str, required: true}
          hosts: {description: The hosts of its accounts (C(user@host))., type: list, elements: str, required: true}
  messaging:
    description:
      - The brokers to log in to. Run it on every host that will run Heat.
      - With O(database) too, both are checked and both are reported (RV(database), RV(messaging)),
        so that a caller can name them in its own order.
    type: dict
    suboptions:
      hosts:
        description: Broker host names or addresses; each is checked.
        type: list
        elements: str
        required: true
      port:
        description: Broker port.
        type: int
        default: 5672
      user:
        description: User to log in as.
        type: str
        required: true
      password:
        description: Its password.
        type: str
        required: true
      vhost:
        description: Virtual host to open.
        type: str
        default: /
      ssl:
        description: Connect over TLS (oslo.messaging's C([oslo_messaging_rabbit] ssl)), verifying the broker's certificate and name.
        type: bool
        default: false
      ca_file:
        description: CA bundle on the managed host for O(messaging.ssl); else O(ca_data), else the system's.
        type: path
      timeout:
        description: Seconds each network operation may take.
        type: float
        default: 10
notes:
  - Supports check mode (it only reads).
author:
  - heat role maintainers
'''

EXAMPLES = r'''
- name: Check Keystone with the admin openrc
  heat_preflight:
    openrc: /root/admin-openrc.sh
    keystone:
      region: RegionOne
      projects:
        - {name: service, domain: Default}
  run_once: true

- name: Check every controller can log in to RabbitMQ
  heat_preflight:
    messaging:
      hosts: [controller]
      user: openstack
      password: "{{ heat_messaging_password }}"
      vhost: /
'''

RETURN = r'''
cause:
  description:
    - On failure, what failed. V(parameters) for invalid options; V(tls_url) for O(tls_urls); V(unreachable), V(tls), V(auth_url),
      V(credentials), V(region), V(keystone_region), V(domain), V(project) for O(keystone);
      V(unreachable), V(tls), V(protocol), V(credentials), V(vhost), V(refused) for O(messaging);
      V(database) and V(socket) for O(database). With O(database) and O(messaging), the cause of the first
      failure, the database's first.
  returned: failed
  type: str
keystone:
  description: What Keystone told (no token, no password).
  returned: when O(keystone) is given and the checks passed
  type: dict
  contains:
    auth_url: {description: Keystone v3 URL used, type: str, sample: http://controller:5000/v3}
    user: {description: Admin user and its domain, type: dict, sample: {name: admin, domain: Default}}
    project: {description: Project of the token and its domain, type: dict, sample: {name: admin, domain: Default}}
    regions: {description: Region IDs, type: list, elements: str, sample: [RegionOne, RegionTwo]}
    catalog:
      description: Service types with an endpoint, per region.
      type: dict
      sample: {RegionOne: [identity]}
    identity_endpoint: {description: The identity endpoint keystonemiddleware will use, type: str}
    projects:
      description: The checked projects with their IDs.
      type: list
      elements: dict
      sample: [{name: service, domain: Default, id: 5d2c7e0f1a3b4c5d6e7f8091a2b3c4d5}]
tls_urls:
  description: The https URLs of O(tls_urls) whose certificate verified.
  returned: when O(tls_urls) is given and the checks passed
  type: list
  elements: str
database:
  description:
    - The database server, whether it answered (C(ok)), and the seconds it took (C(seconds)), or why not
      (C(cause), C(msg)). C(socket) is the socket found, when O(database.socket) is given.
    - With O(database.wanted), C(in_place) (whether the database and the accounts are as wanted) and, when
      not, C(differs), what differs (never a password or its hash).
  returned: when O(database) is given
  type: dict
  sample: {host: controller, port: 3306, ok: true, seconds: 0.0, in_place: false, differs: [no account heat@%]}
messaging:
  description: One entry per broker host.
  returned: when O(messaging) is given
  type: list
  elements: dict
  sample: [{host: controller, port: 5672, ok: true, product: RabbitMQ, version: 4.0.5}]
'''

import json
import os
import re
import socket
import ssl
import struct
import time
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.openstack_auth import credential_argument_spec, resolve_auth
from ansible.module_utils.urls import open_url


class CheckFailed(Exception):
    def __init__(self, cause, msg):
        super().__init__(msg)
        self.cause = cause


# ============================================================== Keystone

def v3_url(auth_url):
    """Keystone's v3 base from an auth_url given with or without a version."""
    return re.sub(r'/v[23](\.0)?$', '', auth_url.rstrip('/')) + '/v3'


class Keystone(object):
    RETRY_DELAY = 3

    def __init__(self, module, creds, timeout):
        self.module = module
        self.creds = creds
        self.url = v3_url(creds['auth_url'])
        # Looked up at call time, so that tests can patch them.
        self.sleep, self.clock = time.sleep, time.monotonic
        self.deadline = self.clock() + timeout
        self.token = None
        validate = module.params['validate_certs']
        self.tls = dict(validate_certs=validate, ca_path=creds.get('cacert') if validate else None)

    def request(self, method, path, body=None):
        """(status, headers, decoded JSON); retried while unreachable or 5xx, until the deadline."""
        headers = {'Content-Type': 'application/json', 'Accept': 'application/json'}
        if self.token:
            headers['X-Auth-Token'] = self.token
        data = json.dumps(body) if body is not None else None
        while True:
            try:
                resp = open_url(self.url + path, data=data, headers=headers, method=method,
                                timeout=min(10, max(1, self.deadline - self.clock())),
                                follow_redirects='none', **self.tls)
                return resp.status, resp.headers, json.loads(resp.read() or b'{}')
            except HTTPError as exc:
                if exc.code < 500:
                    return exc.code, exc.headers, {}
                problem = 'HTTP %d' % exc.code
            except URLError as exc:
                if isinstance(exc.reason, ssl.SSLError):
                    raise CheckFailed('tls', 'TLS with Keystone at %s failed: %s' % (self.url, exc.reason))
                problem = str(exc.reason)
            except (OSError, ValueError) as exc:  # timeouts, resets, not JSON
                problem = str(exc) or type(exc).__name__
            if self.clock() + self.RETRY_DELAY > self.deadline:
                raise CheckFailed('unreachable', 'Keystone at %s is unreachable or failing (%s) after retrying '
                                                 'for the timeout (keystone.timeout)' % (self.url, problem))
            self.sleep(self.RETRY_DELAY)

    def authenticate(self):
        c = self.creds
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': c['username'], 'domain': {'name': c['user_domain_name']}, 'password': c['password']}}},
            'scope': {'project': {'name': c['project_name'], 'domain': {'name': c['project_domain_name']}}},
        }}
        status, headers, answer = self.request('POST', '/auth/tokens', body)
        who = 'user %s (domain %s) on project %s (domain %s)' % (
            c['username'], c['user_domain_name'], c['project_name'], c['project_domain_name'])
        if status == 404:
            raise CheckFailed('auth_url', '%s/auth/tokens answered 404: auth_url %s does not point at Keystone'
                              % (self.url, c['auth_url']))
        if status != 201:
            raise CheckFailed('credentials', 'Keystone at %s refused the credentials of %s: HTTP %d'
                              % (self.url, who, status))
        self.token = headers.get('X-Subject-Token')
        self.module.no_log_values.add(self.token)
        return answer['token']

    def get(self, path, key):
        status, _headers, answer = self.request('GET', path)
        if status != 200:
            raise CheckFailed('credentials', 'Keystone at %s answered HTTP %d to GET %s: the admin credentials '
                                             'lack the rights to read identity objects' % (self.url, status, path))
        return answer[key]


def check_keystone(module, creds, opts):
    ks = Keystone(module, creds, opts['timeout'])
    token = ks.authenticate()
    region, ks_region = opts['region'], opts['keystone_region'] or opts['region']
    regions = sorted(r['id'] for r in ks.get('/regions', 'regions'))

    def need_region(name, option):
        if name not in regions:
            same = [r for r in regions if r.lower() == name.lower()]
            raise CheckFailed(option, "region '%s' (keystone.%s) does not exist in Keystone; existing regions: %s%s"
                              % (name, option, ', '.join(regions) or 'none',
                                 '. Region IDs are case-sensitive: did you mean %s?' % same[0] if same else ''))
    need_region(region, 'region')
    need_region(ks_region, 'keystone_region')

    catalog = {}
    identity = {}
    for service in token.get('catalog', []):
        for ep in service.get('endpoints', []):
            where = ep.get('region_id') or ep.get('region')
            catalog.setdefault(where, set()).add(service['type'])
            if service['type'] == 'identity':
                identity.setdefault(where, {})[ep['interface']] = ep['url']
    url = identity.get(ks_region, {}).get(opts['interface'])
    if not url:
        have = '; '.join('%s (%s)' % (r, ', '.join(sorted(i))) for r, i in sorted(identity.items())) or 'none'
        raise CheckFailed('keystone_region', "Keystone's catalog has no %s identity endpoint in region %s "
                          "(keystone.keystone_region), where Heat's keystonemiddleware looks Keystone up: every Heat "
                          "API call would answer 500 EndpointNotFound. Identity endpoints exist in: %s"
                          % (opts['interface'], ks_region, have))

    domains = ks.get('/domains', 'domains')
    projects = []
    for index, wanted in enumerate(opts['projects']):
        ref = wanted['domain']
        domain = next((d for d in domains if ref in (d['id'], d['name'])), None) \
            or next((d for d in domains if d['name'].lower() == ref.lower()), None)
        if not domain:
            raise CheckFailed('domain', "domain '%s' of project %s (keystone.projects[%d]) does not exist in "
                              "Keystone; existing domains: %s"
                              % (ref, wanted['name'], index, ', '.join(sorted(d['name'] for d in domains))))
        # By name: listing a domain's projects would not scale (one per tenant).
        found = ks.get('/projects?' + urlencode(dict(domain_id=domain['id'], name=wanted['name'])), 'projects')
        if not found:
            raise CheckFailed('project', "project '%s' (keystone.projects[%d]) does not exist in domain %s; "
                              "it is checked, not created: create it (e.g. openstack project create --domain %s %s) "
                              "or correct the name" % (wanted['name'], index, domain['name'], domain['name'],
                                                       wanted['name']))
        projects.append(dict(name=found[0]['name'], domain=domain['name'], id=found[0]['id']))
    return dict(
        auth_url=ks.url,
        user=dict(name=token['user']['name'], domain=token['user']['domain']['name']),
        project=dict(name=token['project']['name'], domain=token['project']['domain']['name']),
        regions=regions,
        catalog=dict((r, sorted(types)) for r, types in sorted(catalog.items(), key=lambda x: str(x[0]))),
        identity_endpoint=url,
        projects=projects,
    )


def check_tls_urls(module, entries, ca_file):
    """Fail on the first https URL whose certificate does not verify; return the URLs checked."""
    validate = module.params['validate_certs']
    checked = []
    for entry in entries:
        if not entry['url'].lower().startswith('https://'):
            continue
        try:
            open_url(entry['url'], method='GET', timeout=10, follow_redirects='none', validate_certs=validate,
                     ca_path=ca_file if validate else None)
        except HTTPError:
            pass  # an HTTP answer: TLS worked
        except URLError as exc:
            if isinstance(exc.reason, ssl.SSLError):
                raise CheckFailed('tls_url', 'TLS with %s (%s) failed: %s' % (entry['url'], entry['name'], exc.reason))
            continue  # unreachable
        except (OSError, ValueError):
            continue
        checked.append(entry['url'])
    return checked


# ============================================================== AMQP 0-9-1
# Just enough of the protocol to log in: the spec's frame, method and field
# table encodings (amqp0-9-1.pdf, sections 4.2.3 and 4.2.5; RabbitMQ's errata
# for the field types).

PROTOCOL_HEADER = b'AMQP\x00\x00\x09\x01'
FRAME_METHOD = 1
FRAME_HEARTBEAT = 8
FRAME_END = 0xCE
# Methods of the connection class (10): (class-id, method-id).
START = (10, 10)
START_OK = (10, 11)
TUNE = (10, 30)
TUNE_OK = (10, 31)
OPEN = (10, 40)
OPEN_OK = (10, 41)
CLOSE = (10, 50)
CLOSE_OK = (10, 51)
# Reply codes.
ACCESS_REFUSED = 403
NOT_ALLOWED = 530


def shortstr(text):
    data = text.encode('utf-8') if isinstance(text, str) else text
    if len(data) > 255:
        raise ValueError('short string longer than 255 bytes')
    return struct.pack('>B', len(data)) + data


def longstr(data):
    data = data.encode('utf-8') if isinstance(data, str) else data
    return struct.pack('>I', len(data)) + data


def encode_table(table):
    out = b''
    for key, value in table.items():
        out += shortstr(key)
        if isinstance(value, bool):
            out += b't' + struct.pack('>B', value)
        elif isinstance(value, int):
            out += b'l' + struct.pack('>q', value)
        elif isinstance(value, dict):
            out += b'F' + encode_table(value)
        else:
            out += b'S' + longstr(value)
    return struct.pack('>I', len(out)) + out


class Reader(object):
    """Decode AMQP fields from a method frame's payload."""

    FIXED = {'b': '>b', 'B': '>B', 's': '>h', 'u': '>H', 'I': '>i', 'i': '>I',
             'l': '>q', 'L': '>Q', 'f': '>f', 'd': '>d', 'T': '>Q'}

    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, count):
        if self.pos + count > len(self.data):
            raise ValueError('truncated AMQP frame')
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def shortstr(self):
        return to_text(self.take(self.unpack('>B')), errors='replace')

    def longstr(self):
        return self.take(self.unpack('>I'))

    def table(self):
        inner = Reader(self.longstr())
        result = {}
        while inner.pos < len(inner.data):
            key = inner.shortstr()
            result[key] = inner.value()
        return result

    def value(self):
        kind = to_text(self.take(1))
        if kind == 't':
            return bool(self.unpack('>B'))
        if kind in self.FIXED:
            return self.unpack(self.FIXED[kind])
        if kind == 'D':
            scale, digits = self.unpack('>B'), self.unpack('>i')
            return digits / (10 ** scale)
        if kind == 'S':
            return to_text(self.longstr(), errors='replace')
        if kind == 'x':
            return self.longstr()
        if kind == 'F':
            return self.table()
        if kind == 'A':
            inner = Reader(self.longstr())
            items = []
            while inner.pos < len(inner.data):
                items.append(inner.value())
            return items
        if kind == 'V':
            return None
        raise ValueError('unknown AMQP field type %r' % kind)


def method_frame(method, args=b'', channel=0):
    payload = struct.pack('>HH', *method) + args
    return struct.pack('>BHI', FRAME_METHOD, channel, len(payload)) + payload + bytes([FRAME_END])


def start_ok(user, password, product='heat_preflight'):
    properties = {'product': product,
                  # Ask RabbitMQ to say why a login fails instead of just closing the socket.
                  'capabilities': {'authentication_failure_close': True}}
    response = b'\0' + user.encode('utf-8') + b'\0' + password.encode('utf-8')
    return method_frame(START_OK, encode_table(properties) + shortstr('PLAIN') + longstr(response)
                        + shortstr('en_US'))


def tune_ok(channel_max, frame_max):
    return method_frame(TUNE_OK, struct.pack('>HIH', channel_max, frame_max, 0))  # no heartbeats


def connection_open(vhost):
    return method_frame(OPEN, shortstr(vhost) + shortstr('') + b'\0')


def connection_close(code=200, text='Normal shutdown'):
    return method_frame(CLOSE, struct.pack('>H', code) + shortstr(text) + struct.pack('>HH', 0, 0))


def parse_frame(header, payload_and_end):
    """Return (method, Reader of its arguments) of a method frame, or (None, None) for a heartbeat."""
    kind, channel, size = struct.unpack('>BHI', header)
    if len(payload_and_end) != size + 1 or payload_and_end[-1] != FRAME_END:
        raise ValueError('malformed AMQP frame (no frame-end octet)')
    if kind == FRAME_HEARTBEAT:
        return None, None
    if kind != FRAME_METHOD:
        raise ValueError('unexpected AMQP frame type %d' % kind)
    reader = Reader(payload_and_end[:-1])
    return (reader.unpack('>H'), reader.unpack('>H')), reader


class AmqpConnection(object):
    def __init__(self, sock):
        self.sock = sock

    def recv_exact(self, count):
        data = b''
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise EOFError('the broker closed the connection')
            data += chunk
        return data

    def read_method(self):
        while True:
            header = self.recv_exact(7)
            if header[:4] == b'AMQP':  # the server's own protocol header: it speaks another version
                rest = header[4:] + self.recv_exact(1)
                raise CheckFailed('protocol', 'the broker answered with protocol header AMQP %s instead of 0-9-1'
                                  % '-'.join(str(b) for b in rest))
            size = struct.unpack('>I', header[3:7])[0]
            method, reader = parse_frame(header, self.recv_exact(size + 1))
            if method:
                return method, reader


def amqp_login(host, port, user, password, vhost, timeout, connect=socket.create_connection, tls=None):
    """Log in and open vhost; return the server's product and version. Raises CheckFailed.

    tls: an ssl.SSLContext to wrap the connection with (the broker's name is verified).
    """
    where = '%s:%s' % (host, port)
    try:
        sock = connect((host, port), timeout=timeout)
    except OSError as exc:
        raise CheckFailed('unreachable', 'the message broker %s does not answer: %s' % (where, exc))
    if tls:
        try:
            sock = tls.wrap_socket(sock, server_hostname=host)
        except ssl.SSLError as exc:
            sock.close()
            raise CheckFailed('tls', 'TLS with the message broker %s failed: %s' % (where, exc))
        except OSError as exc:
            sock.close()
            raise CheckFailed('unreachable', 'the message broker %s failed during the TLS handshake: %s' % (where, exc))
    conn = AmqpConnection(sock)
    server = {}
    step = 'the protocol header'
    try:
        sock.sendall(PROTOCOL_HEADER)
        method, args = conn.read_method()
        if method != START:
            raise CheckFailed('protocol', '%s is not an AMQP 0-9-1 broker (first method %s)' % (where, method))
        args.take(2)  # version-major, version-minor
        properties = args.table()
        server = dict(product=properties.get('product'), version=properties.get('version'))
        mechanisms = to_text(args.longstr()).split()
        if 'PLAIN' not in mechanisms:
            raise CheckFailed('protocol', 'the broker %s does not offer PLAIN login (offers %s)'
                              % (where, ', '.join(mechanisms)))
        step = 'the login'
        sock.sendall(start_ok(user, password))
        method, args = conn.read_method()
        if method == TUNE:
            channel_max, frame_max, _heartbeat = args.unpack('>H'), args.unpack('>I'), args.unpack('>H')
            sock.sendall(tune_ok(channel_max, frame_max))
            step = 'opening the virtual host'
            sock.sendall(connection_open(vhost))
            method, args = conn.read_method()
        if method == OPEN_OK:
            sock.sendall(connection_close())
            try:
                conn.read_method()  # Close-Ok
            except (OSError, EOFError, ValueError):
                pass
            return server
        if method == CLOSE:
            code, text = args.unpack('>H'), args.shortstr()
            sock.sendall(method_frame(CLOSE_OK))
            raise closed_by_broker(where, code, text, user, vhost)
        raise CheckFailed('protocol', 'the broker %s answered %s to %s' % (where, method, step))
    except EOFError:
        if step == 'the login':  # a broker without authentication_failure_close just hangs up
            raise CheckFailed('credentials', 'the broker %s closed the connection after the login of user %s: '
                              'wrong user or password' % (where, user))
        raise CheckFailed('unreachable', 'the broker %s closed the connection during %s' % (where, step))
    except (OSError, ValueError) as exc:
        raise CheckFailed('unreachable', 'the broker %s failed during %s: %s' % (where, step, exc))
    finally:
        sock.close()


def closed_by_broker(where, code, text, user, vhost):
    if code == ACCESS_REFUSED:
        return CheckFailed('credentials', 'the broker %s refused the login of user %s (%d %s): wrong user or password'
                           % (where, user, code, text))
    if code == NOT_ALLOWED or 'vhost' in text:
        return CheckFailed('vhost', "the broker %s refused user %s access to virtual host '%s' (%d %s): the virtual "
                           "host does not exist or the user has no permissions on it" % (where, user, vhost, code, text))
    return CheckFailed('refused', 'the broker %s closed the connection: %d %s' % (where, code, text))


def check_messaging(opts, connect=socket.create_connection, ca_file=None):
    results, failures = [], []
    tls = ssl.create_default_context(cafile=opts['ca_file'] or ca_file) if opts['ssl'] else None
    for host in opts['hosts']:
        entry = dict(host=host, port=opts['port'], ok=False)
        try:
            entry.update(amqp_login(host, opts['port'], opts['user'], opts['password'], opts['vhost'],
                                    opts['timeout'], connect=connect, tls=tls))
            entry['ok'] = True
        except CheckFailed as exc:
            entry.update(cause=exc.cause, msg=str(exc))
            failures.append(exc)
        results.append(entry)
    return results, failures


def check_database(opts, connect=socket.create_connection, sleep=time.sleep, clock=time.monotonic,
                   exists=os.path.exists):
    """Wait until the database port accepts a connection (as wait_for would), then until
    opts['socket'] exists when given, all within opts['timeout']."""
    start = clock()
    while True:
        remaining = opts['timeout'] - (clock() - start)
        try:
            connect((opts['host'], opts['port']), timeout=max(1.0, min(5.0, remaining))).close()
            break
        except OSError as exc:
            if clock() - start + 1 >= opts['timeout']:
                raise CheckFailed('database', 'The database server %s:%d did not answer within %g s: %s'
                                  % (opts['host'], opts['port'], opts['timeout'], exc))
        sleep(1)
    result = dict(host=opts['host'], port=opts['port'])
    if opts.get('socket'):
        while not exists(opts['socket']):
            if clock() - start + 1 >= opts['timeout']:
                raise CheckFailed('socket', 'No database socket %s on this host within %g s, although %s:%d answers'
                                  % (opts['socket'], opts['timeout'], opts['host'], opts['port']))
            sleep(1)
        result['socket'] = opts['socket']
    result['seconds'] = round(clock() - start, 1)
    return result


# How community.mysql's mysql_user compares a password (the mysql_native_password
# hash, computed by the server) and reads it (Password, else authentication_string).
PASSWORD_HASH = "SELECT CONCAT('*', UCASE(SHA1(UNHEX(SHA1(%s)))))"
GRANT_LINE = re.compile(r"^GRANT (.+) ON (\S+) TO (\S+)( IDENTIFIED BY PASSWORD '[^']*')?$")


def database_differences(cursor, wanted):
    """What differs from what mysql_db and mysql_user (priv <name>.*:ALL, no other privilege)
    would make: a list of short reasons without secrets, empty when everything is in place."""
    differs = []
    cursor.execute('SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s', (wanted['name'],))
    if not cursor.fetchall():
        differs.append('no database %s' % wanted['name'])
    cursor.execute(PASSWORD_HASH, (wanted['password'],))
    password_hash = cursor.fetchone()[0]
    database = '`%s`.*' % wanted['name']
    for host in wanted['hosts']:
        account = '%s@%s' % (wanted['user'], host)
        cursor.execute('SELECT * FROM mysql.user WHERE User = %s AND Host = %s', (wanted['user'], host))
        columns = [column[0] for column in cursor.description]
        rows = [dict(zip(columns, row)) for row in cursor.fetchall()]
        if not rows:
            differs.append('no account %s' % account)
            continue
        current = rows[0].get('Password') or rows[0].get('authentication_string') or ''
        if to_text(current) != to_text(password_hash):
            differs.append('another password for %s' % account)
        cursor.execute('SHOW GRANTS FOR %s@%s', (wanted['user'], host))
        grants = set()
        for (line,) in cursor.fetchall():
            match = GRANT_LINE.match(to_text(line))
            grants.add((match.group(1), match.group(2)) if match else ('?', to_text(line)))
        if grants != {('USAGE', '*.*'), ('ALL PRIVILEGES', database)}:
            differs.append('privileges of %s other than ALL on %s' % (account, database))
    return differs


def check_database_in_place(opts):
    """Whether the database and the accounts are as opts['wanted'] asks, read through the
    administrator's login: (in_place, differs)."""
    try:
        import pymysql  # optional: Heat's own driver, not on a fresh controller
    except ImportError:
        return False, ['PyMySQL is not installed on this host']
    login = opts['login'] or {}
    config = dict(user=login.get('user') or 'root', connect_timeout=10)
    if os.path.exists(os.path.expanduser('~/.my.cnf')):
        config['read_default_file'] = os.path.expanduser('~/.my.cnf')
    if login.get('password'):
        config['password'] = login['password']
    if login.get('host'):
        config.update(host=login['host'], port=login.get('port') or 3306)
    else:
        config['unix_socket'] = opts['socket']
    try:
        connection = pymysql.connect(**config)
        try:
            with connection.cursor() as cursor:
                differs = database_differences(cursor, opts['wanted'])
        finally:
            connection.close()
    except pymysql.MySQLError as exc:
        # The database tasks run then, and name what is wrong with their login.
        return False, ['the administrator login failed: %s' % to_text(exc.args[-1] if exc.args else exc)]
    except Exception as exc:  # noqa: BLE001 - an answer not understood is a doubt: the tasks run
        return False, ['could not read the accounts: %s: %s' % (type(exc).__name__, to_text(exc))]
    return not differs, differs


# ============================================================== module

def argument_spec():
    spec = credential_argument_spec()
    spec.update(
        keystone=dict(type='dict', options=dict(
            region=dict(type='str', required=True),
            keystone_region=dict(type='str'),
            interface=dict(type='str', default='internal', choices=['public', 'internal', 'admin']),
            projects=dict(type='list', elements='dict', default=[], options=dict(
                name=dict(type='str', required=True),
                domain=dict(type='str', default='Default'),
            )),
            timeout=dict(type='int', default=60),
        )),
        database=dict(type='dict', options=dict(
            host=dict(type='str', required=True),
            port=dict(type='int', default=3306),
            timeout=dict(type='float', default=60),
            socket=dict(type='path'),
            login=dict(type='dict', options=dict(
                host=dict(type='str'),
                port=dict(type='int', default=3306),
                user=dict(type='str', default='root'),
                password=dict(type='str', no_log=True),
            )),
            wanted=dict(type='dict', options=dict(
                name=dict(type='str', required=True),
                user=dict(type='str', required=True),
                password=dict(type='str', required=True, no_log=True),
                hosts=dict(type='list', elements='str', required=True),
            )),
        )),
        messaging=dict(type='dict', options=dict(
            hosts=dict(type='list', elements='str', required=True),
            port=dict(type='int', default=5672),
            user=dict(type='str', required=True),
            password=dict(type='str', required=True, no_log=True),
            vhost=dict(type='str', default='/'),
            ssl=dict(type='bool', default=False),
            ca_file=dict(type='path'),
            timeout=dict(type='float', default=10),
        )),
        ca_data=dict(type='str'),
        tls_urls=dict(type='list', elements='dict', options=dict(
            name=dict(type='str', required=True),
            url=dict(type='str', required=True),
        )),
    )
    return spec


def write_ca_data(module):
    """The path of a file holding O(ca_data), in the module's temporary directory, or None."""
    data = module.params['ca_data']
    if not data:
        return None
    if '-----BEGIN CERTIFICATE-----' not in data:
        module.fail_json(msg='ca_data must hold PEM certificates (-----BEGIN CERTIFICATE-----)', cause='parameters')
    path = os.path.join(module.tmpdir, 'ca-bundle.pem')
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(data)
    try:
        ssl.create_default_context(cafile=path)
    except ssl.SSLError as exc:
        module.fail_json(msg='ca_data holds no usable CA certificate: %s' % exc, cause='parameters')
    return path


def validate(module):
    errors = []
    keystone, messaging = module.params['keystone'], module.params['messaging']
    if keystone:
        if not keystone['region'].strip():
            errors.append('keystone.region must not be empty')
        if keystone['keystone_region'] is not None and not keystone['keystone_region'].strip():
            errors.append('keystone.keystone_region must not be empty (leave it out to use keystone.region)')
        if keystone['timeout'] < 1:
            errors.append('keystone.timeout must be at least 1 second, got %d' % keystone['timeout'])
    if messaging:
        if not messaging['hosts'] or not all(h.strip() for h in messaging['hosts']):
            errors.append('messaging.hosts must list at least one host, without empty entries')
        if not 1 <= messaging['port'] <= 65535:
            errors.append('messaging.port must be between 1 and 65535, got %d' % messaging['port'])
        if not messaging['user'] or not messaging['vhost']:
            errors.append("messaging.user and messaging.vhost must not be empty (the default virtual host is '/')")
        if messaging['timeout'] <= 0:
            errors.append('messaging.timeout must be positive')
    database = module.params['database']
    if database:
        if not database['host'].strip():
            errors.append('database.host must not be empty')
        if not 1 <= database['port'] <= 65535:
            errors.append('database.port must be between 1 and 65535, got %d' % database['port'])
        if database['wanted'] and not (database['socket'] or (database['login'] or {}).get('host')):
            errors.append('database.wanted needs database.socket or database.login.host to log in')
    if errors:
        module.fail_json(msg='; '.join(errors), cause='parameters')


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_one_of=[('keystone', 'messaging', 'tls_urls', 'database')])
    validate(module)
    ca_file = write_ca_data(module)
    result = dict(changed=False)
    try:
        if module.params['keystone']:
            creds = resolve_auth(module)
            creds['cacert'] = ca_file or creds.get('cacert')
            result['keystone'] = check_keystone(module, creds, module.params['keystone'])
        if module.params['tls_urls']:
            cacert = ca_file or (module.params['auth'] or {}).get('cacert')
            result['tls_urls'] = check_tls_urls(module, module.params['tls_urls'], cacert)
    except CheckFailed as exc:
        module.fail_json(msg=str(exc), cause=exc.cause, **result)
    # The database and the brokers are both checked and both reported: the
    # caller names a failure in the order it needs (e.g. the database before
    # Keystone, which keeps its data there, and the brokers after it).
    failures = []
    database = module.params['database']
    if database:
        result['database'] = dict(host=database['host'], port=database['port'], ok=False)
        try:
            result['database'].update(check_database(database), ok=True)
            if database['wanted']:
                in_place, differs = check_database_in_place(database)
                result['database'].update(in_place=in_place, **({} if in_place else dict(differs=differs)))
        except CheckFailed as exc:
            result['database'].update(cause=exc.cause, msg=str(exc))
            failures.append(exc)
    if module.params['messaging']:
        try:
            result['messaging'], broker_failures = check_messaging(module.params['messaging'], ca_file=ca_file)
        except (ssl.SSLError, OSError) as exc:  # an unreadable messaging.ca_file
            module.fail_json(msg='messaging.ca_file %s: %s' % (module.params['messaging']['ca_file'], exc),
                             cause='parameters', **result)
        failures.extend(broker_failures)
    if failures:
        module.fail_json(msg='; '.join(str(f) for f in failures), cause=failures[0].cause, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
