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

import ssl

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils import heat_amqp, heat_database, keystone_preinstall
from ansible.module_utils.heat_amqp import check_messaging
from ansible.module_utils.heat_checks import CheckFailed, check_tls_urls, tls_url_options, write_ca_file
from ansible.module_utils.keystone_preinstall import check_keystone
from ansible.module_utils.openstack_auth import credential_argument_spec, resolve_auth


def argument_spec():
    spec = credential_argument_spec()
    spec.update(
        keystone=dict(type='dict', options=keystone_preinstall.options()),
        database=dict(type='dict', options=heat_database.options()),
        messaging=dict(type='dict', options=heat_amqp.options()),
        ca_data=dict(type='str'),
        tls_urls=tls_url_options(),
    )
    return spec


def write_ca_data(module):
    """The path of a file holding O(ca_data), in the module's temporary directory, or None."""
    try:
        return write_ca_file(module.params['ca_data'], module.tmpdir) if module.params['ca_data'] else None
    except CheckFailed as exc:
        module.fail_json(msg=str(exc), cause=exc.cause)


def validate(module):
    params = module.params
    errors = keystone_preinstall.option_errors(params['keystone']) if params['keystone'] else []
    errors += heat_amqp.option_errors(params['messaging']) if params['messaging'] else []
    errors += heat_database.option_errors(params['database']) if params['database'] else []
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
            result['tls_urls'] = check_tls_urls(module.params['tls_urls'], cacert, module.params['validate_certs'])
    except CheckFailed as exc:
        module.fail_json(msg=str(exc), cause=exc.cause, **result)
    # The database and the brokers are both checked and both reported: the
    # caller names a failure in the order it needs (e.g. the database before
    # Keystone, which keeps its data there, and the brokers after it).
    failures = []
    database = module.params['database']
    if database:
        result['database'] = heat_database.check(database)
        if not result['database']['ok']:
            failures.append(CheckFailed(result['database']['cause'], result['database']['msg']))
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
