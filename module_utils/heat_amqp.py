# -*- coding: utf-8 -*-
# The brokers' login, the way oslo.messaging's rabbit driver logs in: AMQP
# 0-9-1, PLAIN with user and password, then the virtual host, then a clean
# close. Hand-written because it runs before any change, and a fresh
# controller has no AMQP client (python3-amqp comes with Heat's packages).
from __future__ import annotations

import socket
import ssl
import struct

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.heat_checks import CheckFailed

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


def start_ok(user, password, product='heat_plan'):
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


def options():
    """The options of this check (heat_plan's `messaging`)."""
    return dict(
        hosts=dict(type='list', elements='str', required=True),
        port=dict(type='int', default=5672),
        user=dict(type='str', required=True),
        password=dict(type='str', required=True, no_log=True),
        vhost=dict(type='str', default='/'),
        ssl=dict(type='bool', default=False),
        ca_file=dict(type='path'),
        timeout=dict(type='float', default=10),
    )


def option_errors(opts):
    errors = []
    if not opts['hosts'] or not all(h.strip() for h in opts['hosts']):
        errors.append('messaging.hosts must list at least one host, without empty entries')
    if not 1 <= opts['port'] <= 65535:
        errors.append('messaging.port must be between 1 and 65535, got %d' % opts['port'])
    if not opts['user'] or not opts['vhost']:
        errors.append("messaging.user and messaging.vhost must not be empty (the default virtual host is '/')")
    if opts['timeout'] <= 0:
        errors.append('messaging.timeout must be positive')
    return errors
