# -*- coding: utf-8 -*-
# The database server, read-only: whether its port (and socket) answer,
# and whether the heat database and accounts are as the role's database
# tasks (community.mysql) would make them, through PyMySQL where it is
# installed.
from __future__ import annotations

import os
import re
import socket
import time

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.heat_checks import CheckFailed


def check_database(opts, connect=socket.create_connection, sleep=time.sleep, clock=time.monotonic,
                   exists=os.path.exists):
    """Wait until the database port accepts a connection (as wait_for would), then, when opts['sockets'] are
    given, until one of them exists (the first that does is result['socket']), all within opts['timeout']."""
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
    sockets = opts.get('sockets') or []
    while sockets:
        found = [path for path in sockets if exists(path)]
        if found:
            result['socket'] = found[0]
            break
        if clock() - start + 1 >= opts['timeout']:
            raise CheckFailed('socket', 'No database socket (%s) on this host within %g s, although %s:%d answers'
                              % (' or '.join(sockets), opts['timeout'], opts['host'], opts['port']))
        sleep(1)
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


def sync_collation(cursor, name):
    """The collation db_sync must create new tables in, when it is not the database's default:
    {'default': ..., 'tables': ...}, else {}. db_sync creates tables in the database's default
    collation, and a foreign key between columns of two collations fails (errno 150): a database
    made by Heat 19 has utf8mb3 tables in a utf8mb4 database, and Heat 26's resource_snapshot
    table refers to one. The collation most of its tables have is the one to follow."""
    cursor.execute('SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s', (name,))
    default = cursor.fetchall()
    cursor.execute("SELECT TABLE_COLLATION, COUNT(*) FROM information_schema.TABLES"
                   " WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' AND TABLE_COLLATION IS NOT NULL"
                   " GROUP BY TABLE_COLLATION ORDER BY COUNT(*) DESC, TABLE_COLLATION", (name,))
    tables = cursor.fetchall()
    if not default or not tables or to_text(tables[0][0]) == to_text(default[0][0]):
        return {}
    return dict(default=to_text(default[0][0]), tables=to_text(tables[0][0]))


def check_database_in_place(opts, socket_path=None):
    """Whether the database and the accounts are as opts['wanted'] asks, and the collation db_sync
    must follow (sync_collation), read through the administrator's login (over TCP with login.host,
    else through socket_path): (in_place, differs, sync_collation)."""
    try:
        import pymysql  # optional: Heat's own driver, not on a fresh controller
    except ImportError:
        return False, ['PyMySQL is not installed on this host'], {}
    login = opts['login'] or {}
    config = dict(user=login.get('user') or 'root', connect_timeout=10)
    if os.path.exists(os.path.expanduser('~/.my.cnf')):
        config['read_default_file'] = os.path.expanduser('~/.my.cnf')
    if login.get('password'):
        config['password'] = login['password']
    if login.get('host'):
        config.update(host=login['host'], port=login.get('port') or 3306)
    else:
        config['unix_socket'] = socket_path
    try:
        connection = pymysql.connect(**config)
        try:
            with connection.cursor() as cursor:
                differs = database_differences(cursor, opts['wanted'])
                collation = sync_collation(cursor, opts['wanted']['name'])
        finally:
            connection.close()
    except pymysql.MySQLError as exc:
        # The database tasks run then, and name what is wrong with their login.
        return False, ['the administrator login failed: %s' % to_text(exc.args[-1] if exc.args else exc)], {}
    except Exception as exc:  # noqa: BLE001 - an answer not understood is a doubt: the tasks run
        return False, ['could not read the accounts: %s: %s' % (type(exc).__name__, to_text(exc))], {}
    return not differs, differs, collation


def options():
    """The options of this check (heat_plan's `database`)."""
    return dict(
        host=dict(type='str', required=True),
        port=dict(type='int', default=3306),
        timeout=dict(type='float', default=60),
        # The administrator's socket, or the places a distribution's server puts it: the first that exists.
        sockets=dict(type='list', elements='path', default=[]),
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
    )


def option_errors(opts):
    errors = []
    if not opts['host'].strip():
        errors.append('database.host must not be empty')
    if not 1 <= opts['port'] <= 65535:
        errors.append('database.port must be between 1 and 65535, got %d' % opts['port'])
    if opts['wanted'] and not (opts['sockets'] or (opts['login'] or {}).get('host')):
        errors.append('database.wanted needs database.sockets or database.login.host to log in')
    return errors


def check(opts):
    """The database part of a plan: the server's answer and, with opts['wanted'], whether all is in place."""
    result = dict(host=opts['host'], port=opts['port'], ok=False)
    try:
        result.update(check_database(opts), ok=True)
        if opts['wanted']:
            in_place, differs, collation = check_database_in_place(opts, result.get('socket'))
            result.update(in_place=in_place, **({} if in_place else dict(differs=differs)))
            result.update(dict(sync_collation=collation) if collation else {})
    except CheckFailed as exc:
        result.update(cause=exc.cause, msg=str(exc))
    return result
