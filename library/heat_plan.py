#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: heat_plan
short_description: Read, in one call and concurrently, everything the heat role decides a run on
description:
  - Only reads (it keeps a cache of the installed Heat's option registry in /var/cache/heat-role, outside check
    mode). The heat role's plan, before any change, in one call per controller instead of one
    task per question, its parts read side by side (each Ansible task costs about 0.35 s of module
    start-up over SSH; the parts mostly wait for the services they ask).
  - O(inputs) - the heat role's inputs checked together first (module_utils/heat_inputs.py). A
    problem there fails the module with every such problem, each naming the input, before anything
    is read.
  - O(controller) - this controller's Heat (the packages missing, Heat's version, the services and
    the files they read, the files the role manages, the ec2token code, whether the APIs answer,
    whether heat.conf holds the wanted encryption key, whether heat.conf and the other files the role
    writes differ from what it would write, and every option heat.conf would get looked up in the
    installed Heat's option registry, module_utils/heat_options.py, and every policy override against
    its policies, module_utils/heat_policy.py); see RV(controller).
  - O(database) - whether the database server answers and, with O(database.wanted), whether the
    database and its accounts are in place.
  - O(messaging) - every broker's login, as oslo.messaging logs in.
  - O(keystone) - with keystoneauth1 on this host, the registration O(keystone.registration)
    planned as keystone_registration would make it (in check mode, with the admin's credentials, the
    regions, every reference, and what would change); without it (a controller the packages have
    not reached yet), the Keystone check O(keystone.check).
  - O(tls_urls) - the https URLs Heat is given, whose certificates must verify with the CA.
  - A part that fails does not stop the others; each reports RV(database.msg), RV(keystone.msg)...
    and RV(database.cause)... With O(explain) the module then fails with every problem found at
    once, each with what to check, naming the heat role's inputs; without it, it fails only on
    malformed parameters.
options:
  inputs:
    description:
      - Every C(heat_*) input of the heat role, by name. Values of secret inputs (passwords, keys) are
        masked in the result.
    type: dict
  conf_inputs:
    description:
      - With O(inputs), the heat.conf options the role writes from its inputs, C(section) to C(option) to the inputs
        in words. C(heat_conf_overrides) setting one fails the module with the inputs' problems.
    type: dict
  shared:
    description:
      - With O(inputs), the settings every controller must share, by controller - C(host) to a mapping
        of C(name) to value, keys by their hashes. Those that differ fail the module with the inputs'
        problems.
    type: dict
  controller:
    description:
      - What to read of this controller (module_utils/heat_controller.py's options) - C(packages),
        C(version_package), C(services), C(files), C(http), C(encryption_key), C(config),
        C(config_wanted) (heat.conf as ini_settings would write it), C(managed) (the other files, as
        copy would write them), C(timers), C(policy_overrides) (the policy rules to check).
    type: dict
  database:
    description: The database server and, with C(wanted), the database and accounts to compare.
    type: dict
  messaging:
    description: The brokers, their port, user, password, virtual host and TLS.
    type: dict
  keystone:
    description:
      - C(registration) - keystone_registration's specification (domains, users, roles,
        role_assignments, services, endpoints, region, identity_region, update_password).
      - C(check) - the Keystone check without keystoneauth1 (region, keystone_region, projects,
        timeout).
      - The admin credentials are O(auth), O(openrc) and the C(OS_*) environment.
    type: dict
  tls_urls:
    description: Named URLs; those in https are fetched once and their certificates verified.
    type: list
    elements: dict
  explain:
    description:
      - Fail when a part failed, with every problem found and what to check, in the heat role's
        terms. The values say how the role was given its inputs - C(host), C(db_delegate_to),
        C(admin_source), C(auth_url_source), C(ca_source), C(messaging_ca_source).
    type: dict
  ca_data:
    description:
      - PEM CA bundle, for a controller where the role has not installed it yet; used for Keystone,
        the brokers and O(tls_urls).
    type: str
  auth:
    description: Admin credentials (see keystone_registration).
    type: dict
  openrc:
    description: An openrc file with the admin credentials.
    type: path
  validate_certs:
    description: Verify the certificates of Keystone and of O(tls_urls).
    type: bool
    default: true
  api_timeout:
    description: Seconds each Keystone request may take.
    type: int
    default: 30
  retries:
    description: Retries of an unreachable or failing (5xx) Keystone.
    type: int
    default: 5
  retry_delay:
    description: First delay between retries, doubled each time (at most 30 s).
    type: float
    default: 2.0
attributes:
  check_mode:
    support: full
    description: It only reads, in check mode too (where it does not write the registry's cache either).
  diff_mode:
    support: full
    description: Shows the Keystone objects the registration would change, never a password.
author:
  - Heat deployment project
'''

EXAMPLES = r'''
- name: Plan the run
  heat_plan:
    controller:
      packages: [heat-api, heat-api-cfn, heat-engine]
      version_package: heat-common
    messaging: {hosts: [controller], user: openstack, password: "{{ rabbit_password }}"}
    keystone:
      registration:
        region: RegionOne
        users: [{name: heat, password: "{{ heat_password }}", default_project: service}]
    openrc: /root/admin-openrc.sh
  register: plan
'''

RETURN = r'''
controller:
  description:
    - The packages missing, Heat's version, the services, files, ec2token code, CPUs, APIs' answers and encryption key.
    - C(config) - C(state) V(same), V(differs) or V(unknown) of heat.conf against O(controller.config_wanted), with
      C(changes) (C(section.key action), never a value) and C(reason), and C(options) - C(state) V(checked),
      V(partial) or V(unchecked) (C(reason)), C(unknown) and C(deprecated), each option in words;
      C(managed_differ) - the paths of O(controller.managed) that differ; C(timers) - whether each of
      O(controller.timers) is enabled and active; C(policy) - O(controller.policy_overrides) against the installed
      Heat's policies, C(state) V(checked) or V(unchecked) (C(reason)), C(refused) and C(deprecated), in words.
  returned: when O(controller) is given
  type: dict
database:
  description:
    - C(ok), C(host), C(port), C(seconds), C(socket) (the first of O(database.sockets) that exists); C(msg) and C(cause) on failure.
    - With O(database.wanted) C(in_place) and C(differs), and C(sync_collation) (C(default), C(tables)) when
      the database's default collation is not the one most of its tables have.
  returned: when O(database) is given
  type: dict
messaging:
  description: One entry per broker - C(host), C(port), C(ok), and C(msg) and C(cause) on failure.
  returned: when O(messaging) is given
  type: list
  elements: dict
keystone:
  description:
    - C(mode) V(registration) - C(changes) and C(ids) as keystone_registration returns them in check mode.
    - C(mode) V(check) - what the Keystone check found (regions, identity endpoint, projects).
    - C(msg) and C(cause) on failure (causes as keystone_registration's).
  returned: when O(keystone) is given
  type: dict
tls_urls:
  description: C(checked), the https URLs whose certificates verified; C(msg) and C(cause) on failure.
  returned: when O(tls_urls) is given
  type: dict
seconds:
  description: How long each part took to read, by part (they read side by side).
  returned: success
  type: dict
  sample: {controller: 0.41, database: 0.05, keystone: 1.62}
'''

import ssl
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils import heat_amqp, heat_controller, heat_database, heat_hints, heat_inputs, keystone_preinstall
from ansible.module_utils.heat_checks import CheckFailed, check_tls_urls, tls_url_options, write_ca_file
from ansible.module_utils.keystone_api import KeystoneError
from ansible.module_utils.keystone_reconcile import register
from ansible.module_utils.keystone_spec import registration_options
from ansible.module_utils.openstack_auth import auth_argument_spec, resolve_auth


class PartFailed(Exception):
    """A part's fail_json: its result, reported beside the others'."""

    def __init__(self, result):
        super().__init__(result.get('msg'))
        self.result = result


class PartModule(object):
    """The module as a part running in a thread sees it: its own params, and
    fail_json raising instead of leaving the process."""

    def __init__(self, module, params):
        self._module = module
        self.params = params
        self.check_mode = True  # a part only reads, whatever the run's mode
        self.warnings = []

    def fail_json(self, msg, **kwargs):
        raise PartFailed(dict(kwargs, msg=msg))

    def warn(self, warning):
        self.warnings.append(warning)

    def __getattr__(self, name):
        return getattr(self._module, name)


def argument_spec():
    spec = auth_argument_spec()
    spec.update(
        controller=dict(type='dict', options=heat_controller.argument_spec()),
        database=dict(type='dict', options=heat_database.options()),
        messaging=dict(type='dict', options=heat_amqp.options()),
        keystone=dict(type='dict', options=dict(
            registration=dict(type='dict', options=registration_options()),
            check=dict(type='dict', options=keystone_preinstall.options()),
        )),
        tls_urls=tls_url_options(),
        inputs=dict(type='dict'),
        conf_inputs=dict(type='dict'),
        shared=dict(type='dict'),
        ca_data=dict(type='str'),
        explain=dict(type='dict'),
    )
    return spec


def option_errors(params):
    errors = heat_controller.check_params(params['controller']) if params['controller'] else []
    errors += heat_amqp.option_errors(params['messaging']) if params['messaging'] else []
    errors += heat_database.option_errors(params['database']) if params['database'] else []
    keystone = params['keystone'] or {}
    if keystone and not (keystone['registration'] or keystone['check']):
        errors.append('keystone needs registration, check or both')
    if keystone.get('check'):
        errors += keystone_preinstall.option_errors(keystone['check'])
    return errors


def plan_controller(module):
    try:
        return heat_controller.probe(module, module.params['controller'])
    except ValueError as exc:
        return dict(msg=str(exc), cause='config')


def plan_messaging(module, ca_file):
    try:
        return heat_amqp.check_messaging(module.params['messaging'], ca_file=ca_file)[0]
    except (ssl.SSLError, OSError) as exc:  # an unreadable messaging.ca_file
        return [dict(host=host, port=module.params['messaging']['port'], ok=False, cause='parameters',
                     msg='messaging.ca_file %s: %s' % (module.params['messaging']['ca_file'], exc))
                for host in module.params['messaging']['hosts']]


def keystoneauth_here():
    return heat_controller.importable('keystoneauth1')


def plan_keystone(module, ca_file):
    """The registration in check mode where keystoneauth1 is importable, else the pre-install check."""
    keystone = module.params['keystone']
    auth = dict(module.params['auth'] or {})
    if ca_file:
        auth['cacert'] = ca_file
    try:
        if keystone['registration'] and keystoneauth_here():
            params = dict(module.params, auth=auth or None, **keystone['registration'])
            part = PartModule(module, params)
            try:
                result = register(part, check_mode=True)
            except KeystoneError as exc:
                return dict(getattr(exc, 'partial', {}), mode='registration', msg=exc.msg, cause=exc.cause)
            result.update(mode='registration', warnings=part.warnings)
            return result
        part = PartModule(module, dict(module.params, auth=auth or None))
        return dict(keystone_preinstall.check_keystone(part, resolve_auth(part), keystone['check']), mode='check')
    except PartFailed as exc:
        return dict(exc.result, mode='registration' if keystone['registration'] else 'check')
    except CheckFailed as exc:
        return dict(mode='check', msg=str(exc), cause=exc.cause)


def plan_tls_urls(module, ca_file):
    cacert = ca_file or (module.params['auth'] or {}).get('cacert')
    try:
        return dict(checked=check_tls_urls(module.params['tls_urls'], cacert, module.params['validate_certs']))
    except CheckFailed as exc:
        return dict(msg=str(exc), cause=exc.cause)


def timed(read):
    started = time.monotonic()
    answer = read()
    return answer, time.monotonic() - started


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_one_of=[('inputs', 'controller', 'database', 'messaging', 'keystone', 'tls_urls')])
    params = module.params
    # Before anything is reported: the secret inputs, heat.conf's secrets as wanted.
    if params['inputs']:
        module.no_log_values.update(heat_inputs.secret_values(params['inputs']))
    if params['controller']:
        heat_controller.register_secrets(module, params['controller'])
    if params['inputs'] is not None:
        errors = heat_inputs.errors(params['inputs'], (params['explain'] or {}).get('host', 'this controller'),
                                    params['conf_inputs'])
        errors += heat_inputs.shared_errors(params['shared'] or {})
        if errors:
            module.fail_json(msg=' '.join(errors), cause='inputs')
    errors = option_errors(params)
    if errors:
        module.fail_json(msg='; '.join(errors), cause='parameters')
    try:
        ca_file = write_ca_file(params['ca_data'], module.tmpdir) if params['ca_data'] else None
    except CheckFailed as exc:
        module.fail_json(msg=str(exc), cause=exc.cause)
    parts = dict(
        controller=lambda: plan_controller(module),
        database=lambda: heat_database.check(params['database']),
        messaging=lambda: plan_messaging(module, ca_file),
        keystone=lambda: plan_keystone(module, ca_file),
        tls_urls=lambda: plan_tls_urls(module, ca_file),
    )
    with ThreadPoolExecutor(max_workers=len(parts)) as executor:
        started = dict((name, executor.submit(timed, read)) for name, read in parts.items() if params[name])
        answers = dict((name, future.result()) for name, future in started.items())
    result = dict((name, answer) for name, (answer, _seconds) in answers.items())
    # Where the plan's time goes (the benchmark reads it).
    seconds = dict((name, round(spent, 2)) for name, (_answer, spent) in answers.items())
    if 'msg' in (result.get('controller') or {}):
        # This controller itself could not be read (heat.conf): nothing is decided without it.
        module.fail_json(msg=result['controller']['msg'], cause=result['controller']['cause'])
    keystone = result.get('keystone') or {}
    for warning in keystone.pop('warnings', []):
        module.warn(warning)
    for warning in heat_hints.warnings(result):
        module.warn(warning)
    diff = keystone.pop('diff', None)
    if params['explain'] is not None:
        found = heat_hints.problems(result, params['explain'])
        if found:
            module.fail_json(msg=' '.join(text for _cause, text in found), cause=found[0][0], **result)
    result['seconds'] = seconds
    module.exit_json(changed=False, **(dict(result, diff=diff) if diff and module._diff else result))


if __name__ == '__main__':
    main()
