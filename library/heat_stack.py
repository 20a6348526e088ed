#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: heat_stack
short_description: Create, update or delete an OpenStack Heat stack and wait for it
description:
  - Drives the Heat Orchestration API (v1 REST) through a keystoneauth1 session.
  - With O(state=present) the stack is created when it does not exist, updated (C(PUT)) when
    the template or one of the given O(parameters) differs from the existing stack's,
    and left alone otherwise. The module then waits for a terminal status.
  - While the stack is C(*_IN_PROGRESS) the module can signal native wait conditions itself;
    it reads each output named in O(signal_outputs), which must hold the C(curl_cli) attribute
    of an C(OS::Heat::WaitConditionHandle), and posts O(signal_data) to the URL in it with the
    handle's own token. This is how a smoke test proves the signal path without a server.
  - A stack that ends C(*_FAILED) (or C(ROLLBACK_*)) fails the task with Heat's
    C(stack_status_reason) and the reasons of the failed resources.
  - An existing stack in a failed state is not re-created or retried with the same template and
    parameters; the task fails and asks the operator to delete it (O(state=absent)) first.
    A changed template or changed parameters are applied as an update, which is how Heat
    recovers a failed stack.
  - Tokens found in outputs (C(X-Auth-Token) in a C(curl_cli), C(token) keys) are treated as
    secrets and masked in the result.
version_added: "1.0.0"
author:
  - Heat deployment project
options:
  name:
    description: Name of the stack.
    type: str
    required: true
  state:
    description: Whether the stack should exist.
    type: str
    choices: [present, absent]
    default: present
  template:
    description:
      - Path on the managed host of a HOT (or CFN) template, YAML or JSON.
      - Mutually exclusive with O(template_body); one of them is required with O(state=present).
      - Templates using C(get_file) or nested template files are not supported.
    type: path
  template_body:
    description:
      - Text of the template, YAML or JSON.
      - Mutually exclusive with O(template).
    type: str
  parameters:
    description:
      - Stack parameters. Only the parameters given here are compared with the existing stack
        (as strings, as Heat shows them); C(OS::*) parameters are ignored.
      - Parameters declared C(hidden) in the template are shown by Heat as C(******) and cannot
        be compared, so a change to their value alone does not trigger an update.
      - On update, parameters not given here revert to the template's defaults.
    type: dict
    default: {}
  timeout:
    description:
      - Seconds to wait for a terminal status. Also sent to Heat as C(timeout_mins)
        (rounded up to whole minutes).
    type: int
    default: 600
  wait:
    description:
      - Wait for the stack to reach a terminal status (or to be gone with O(state=absent)).
      - O(signal_outputs) are only signalled while waiting.
    type: bool
    default: true
  signal_outputs:
    description:
      - Names of template outputs holding a wait condition handle's C(curl_cli)
        (C(get_attr [handle, curl_cli])). Each is signalled once while the stack is
        C(*_IN_PROGRESS), as soon as Heat resolves the output.
      - Each name must be an output of the template.
    type: list
    elements: str
    default: []
  signal_data:
    description:
      - JSON body posted to each wait condition handle. Keys not given take the defaults
        C(status=SUCCESS), C(reason=signalled by heat_stack), C(data=signalled by heat_stack),
        C(id=1).
    type: dict
  auth:
    description:
      - Keystone v3 password credentials. Keys left out are taken from O(openrc), then from the
        C(OS_*) environment variables.
    type: dict
    suboptions:
      auth_url:
        description: Keystone URL including C(/v3) (C(OS_AUTH_URL)).
        type: str
      username:
        description: User name (C(OS_USERNAME)).
        type: str
      password:
        description: Password (C(OS_PASSWORD)).
        type: str
      project_name:
        description: Project to scope to (C(OS_PROJECT_NAME)).
        type: str
      user_domain_name:
        description: Domain of the user (C(OS_USER_DOMAIN_NAME)), default C(Default).
        type: str
      project_domain_name:
        description: Domain of the project (C(OS_PROJECT_DOMAIN_NAME)), default C(Default).
        type: str
      region_name:
        description: Region of the orchestration endpoint (C(OS_REGION_NAME)).
        type: str
      interface:
        description: Endpoint interface (C(OS_INTERFACE)), default C(public).
        type: str
        choices: [public, internal, admin]
      cacert:
        description: CA bundle to verify TLS (C(OS_CACERT)).
        type: path
  openrc:
    description: Path on the managed host of an openrc shell file exporting C(OS_*) variables (it is parsed, not run).
    type: path
  validate_certs:
    description: Verify TLS certificates.
    type: bool
    default: true
  api_timeout:
    description: Seconds for each HTTP request.
    type: int
    default: 30
  retries:
    description: Retries of a request that failed to connect or got a 5xx answer.
    type: int
    default: 5
  retry_delay:
    description: First delay in seconds between retries; it doubles on each retry (at most 30).
    type: float
    default: 2.0
attributes:
  check_mode:
    support: full
    description: Reports whether the stack would be created, updated or deleted; nothing is written.
  diff_mode:
    support: partial
    details: Shows the template and the given parameters before and after (values of C(hidden) parameters masked).
requirements:
  - keystoneauth1
  - PyYAML
notes:
  - The stack is looked up by name in the project the credentials are scoped to.
'''

EXAMPLES = r'''
- name: Run the smoke stack and signal its wait condition
  heat_stack:
    openrc: /root/demo-openrc.sh
    name: smoke
    template: /root/smoke-stack.yml
    timeout: 600
    signal_outputs: [wait_handle_curl_cli]
    signal_data:
      data: smoke test signal

- name: Create the install guide's test stack
  heat_stack:
    auth:
      auth_url: http://controller:5000/v3
      username: demo
      password: "{{ demo_password }}"
      project_name: demo
      region_name: RegionOne
    name: testStack
    template_body: "{{ lookup('ansible.builtin.file', 'templates/test-stack.yml') }}"
    parameters:
      ImageID: cirros
      NetID: 0e62efcd-8cee-46c7-b163-d8df05c3c5ad

- name: Delete the stack
  heat_stack:
    openrc: /root/demo-openrc.sh
    name: smoke
    state: absent
'''

RETURN = r'''
action:
  description: What was done (or would be done in check mode).
  returned: always
  type: str
  sample: created
  choices: [created, updated, deleted, none]
stack:
  description: The stack as Heat shows it after the operation; empty when it does not exist.
  returned: always
  type: dict
  contains:
    id:
      description: Stack ID.
      type: str
      sample: 6ab5b6a4-5a8f-4b9b-9c21-9c0f2a0cd8c8
    name:
      description: Stack name.
      type: str
      sample: smoke
    status:
      description: Stack status.
      type: str
      sample: CREATE_COMPLETE
    status_reason:
      description: Heat's reason for the status.
      type: str
      sample: Stack CREATE completed successfully
    creation_time:
      description: Creation time.
      type: str
      sample: "2024-05-01T10:00:00Z"
    updated_time:
      description: Time of the last update, if any.
      type: str
    outputs:
      description: Output values by key (tokens masked).
      type: dict
      sample: {random_string: Qx7vT0aWc2Lk, wait_condition_data: '{"1": "signalled by heat_stack"}'}
    parameters:
      description: Stack parameters as Heat shows them (strings, hidden ones as C(******)).
      type: dict
signalled:
  description: Outputs whose wait condition handle was signalled by this run.
  returned: always
  type: list
  elements: str
  sample: [wait_handle_curl_cli]
failed_resources:
  description: Resources in a failed state when the stack failed.
  returned: on failure of the stack
  type: list
  elements: dict
  contains:
    resource_name:
      description: Resource name.
      type: str
    resource_type:
      description: Resource type.
      type: str
    status:
      description: Resource status.
      type: str
    status_reason:
      description: Heat's reason.
      type: str
'''

import math
import time
from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.heat_api import HAS_KEYSTONEAUTH, HeatAPI
from ansible.module_utils.heat_templates import (
    HAS_YAML, HIDDEN, is_failed, is_in_progress, param_matches, parse_curl_cli, parse_template, tokens_in,
)
from ansible.module_utils.openstack_auth import auth_argument_spec

DEFAULT_SIGNAL = {
    'status': 'SUCCESS',
    'reason': 'signalled by heat_stack',
    'data': 'signalled by heat_stack',
    'id': '1',
}
POLL_FIRST = 1.0
POLL_MAX = 5.0
STALE_POLLS = 5


class HeatStack(object):

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.name = self.params['name']
        self.api = HeatAPI(module)
        self.request, self.check, self.body = self.api.request, self.api.check, self.api.body
        self.fail, self.connect = self.api.fail, self.api.connect
        self.signalled = []

    def mask_tokens(self, value):
        """Register tokens found in output values as no_log values."""
        self.module.no_log_values.update(tokens_in(value))

    # ------------------------------------------------------------ stack reads

    def path(self, stack, suffix=''):
        return '/stacks/%s/%s%s' % (quote(stack['stack_name'], safe=''), stack['id'], suffix)

    def find(self):
        """The stack with this name in the project, or None."""
        resp = self.request('GET', '/stacks/%s' % quote(self.name, safe=''))
        if resp.status_code == 404:
            return None
        self.check(resp, 'looking up stack %s' % self.name)
        stack = self.body(resp).get('stack')
        if not stack or stack.get('stack_status') == 'DELETE_COMPLETE':
            return None
        return stack

    def reload(self, stack):
        """The stack by ID; None once it is gone (404 or DELETE_COMPLETE is the caller's call)."""
        resp = self.request('GET', self.path(stack))
        if resp.status_code == 404:
            return None
        self.check(resp, 'reading stack %s' % self.name)
        return self.body(resp).get('stack') or None

    def current_template(self, stack):
        resp = self.request('GET', self.path(stack, '/template'))
        self.check(resp, 'reading the template of stack %s' % self.name)
        return self.body(resp)

    def failed_resources(self, stack):
        resp = self.request('GET', self.path(stack, '/resources'), params={'nested_depth': 2})
        if not 200 <= resp.status_code < 300:
            return []
        found = []
        for res in self.body(resp).get('resources') or []:
            status = res.get('resource_status') or ''
            if status.endswith('FAILED'):
                found.append({
                    'resource_name': res.get('resource_name'),
                    'resource_type': res.get('resource_type'),
                    'status': status,
                    'status_reason': res.get('resource_status_reason'),
                })
        return found

    def summary(self, stack):
        if not stack:
            return {}
        outputs = {}
        for item in stack.get('outputs') or []:
            if isinstance(item, dict) and 'output_key' in item:
                outputs[item['output_key']] = item.get('output_value')
        self.mask_tokens(outputs)
        return {
            'id': stack.get('id'),
            'name': stack.get('stack_name'),
            'status': stack.get('stack_status'),
            'status_reason': stack.get('stack_status_reason'),
            'creation_time': stack.get('creation_time'),
            'updated_time': stack.get('updated_time'),
            'outputs': outputs,
            'parameters': stack.get('parameters') or {},
        }

    # ------------------------------------------------------------ signals

    def signal_pending(self, stack):
        for key in self.params['signal_outputs']:
            if key in self.signalled:
                continue
            resp = self.request('GET', self.path(stack, '/outputs/%s' % quote(key, safe='')))
            if resp.status_code == 404:
                continue  # not resolvable yet
            self.check(resp, 'reading output %s of stack %s' % (key, self.name))
            output = self.body(resp).get('output') or {}
            value = output.get('output_value')
            if not value:
                continue  # the handle is not created yet
            self.mask_tokens(value)
            if not isinstance(value, str):
                self.fail('output %s of stack %s is not a curl_cli string (signal_outputs must name outputs '
                          'holding get_attr [<handle>, curl_cli])' % (key, self.name))
            url, token = parse_curl_cli(value)
            if not url or not token:
                self.fail('output %s of stack %s is not a curl_cli string with a URL and an X-Auth-Token '
                          'header (signal_outputs must name outputs holding get_attr [<handle>, curl_cli])'
                          % (key, self.name))
            self.module.no_log_values.add(token)
            data = dict(DEFAULT_SIGNAL)
            data.update(self.params.get('signal_data') or {})
            self.api.signal(url, token, data)
            self.signalled.append(key)

    # ------------------------------------------------------------ waiting

    def wait(self, stack, deadline, signals, stale=None):
        """Poll until a terminal status; returns (stack or None when gone, timed_out).

        `stale` is (status, updated_time) of the stack before an update: the
        same terminal state seen right after the PUT means the engine has not
        started yet, not that the update is done (a few polls of grace).
        """
        interval = POLL_FIRST
        grace = STALE_POLLS if stale else 0
        while True:
            if stack is None or stack.get('stack_status') == 'DELETE_COMPLETE':
                return None, False
            status = stack.get('stack_status')
            if not is_in_progress(status):
                if not (grace > 0 and (status, stack.get('updated_time')) == stale):
                    return stack, False
                grace -= 1
            else:
                grace = 0
            if signals:
                self.signal_pending(stack)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return stack, True
            self.api.sleep(min(interval, remaining))
            interval = min(interval * 1.5, POLL_MAX)
            stack = self.reload(stack)

    def fail_stack(self, stack, action, changed):
        resources = self.failed_resources(stack)
        detail = ''.join('; %s (%s) %s: %s' % (r['resource_name'], r['resource_type'], r['status'],
                                               r['status_reason']) for r in resources)
        self.fail('stack %s is %s: %s%s' % (self.name, stack.get('stack_status'),
                                            stack.get('stack_status_reason'), detail),
                  changed=changed, action=action, stack=self.summary(stack),
                  failed_resources=resources, signalled=self.signalled)

    def fail_timeout(self, stack, action, changed):
        pending = [k for k in self.params['signal_outputs'] if k not in self.signalled]
        hint = '; outputs never signalled: %s' % ', '.join(pending) if pending else ''
        self.fail('timed out after %s s waiting for stack %s: last status %s (%s)%s'
                  % (self.params['timeout'], self.name, stack.get('stack_status'),
                     stack.get('stack_status_reason'), hint),
                  changed=changed, action=action, stack=self.summary(stack), signalled=self.signalled)

    # ------------------------------------------------------------ states

    def load_template(self):
        params = self.params
        if params.get('template'):
            origin = 'template %s' % params['template']
            try:
                with open(params['template'], encoding='utf-8') as handle:
                    text = handle.read()
            except OSError as exc:
                self.fail('cannot read template %s: %s' % (params['template'], exc.strerror))
        elif params.get('template_body'):
            origin = 'template_body'
            text = params['template_body']
        else:
            self.fail('state is present but neither template nor template_body is given (or it is empty)')
        try:
            template = parse_template(text, origin)
        except ValueError as exc:
            self.fail(str(exc))
        outputs = template.get('outputs') or template.get('Outputs') or {}
        missing = [k for k in params['signal_outputs'] if k not in outputs]
        if missing:
            self.fail('signal_outputs names %s, which %s not an output of the %s'
                      % (', '.join(missing), 'is' if len(missing) == 1 else 'are', origin))
        return template

    def hidden_params(self, template):
        defs = template.get('parameters') or template.get('Parameters') or {}
        return set(k for k, v in defs.items()
                   if isinstance(v, dict) and str(v.get('hidden', v.get('NoEcho', ''))).lower() == 'true')

    def shown(self, parameters, hidden):
        return dict((k, HIDDEN if k in hidden else v) for k, v in parameters.items())

    def present(self):
        params = self.params
        template = self.load_template()
        given = dict((k, v) for k, v in params['parameters'].items() if not k.startswith('OS::'))
        timeout = params['timeout']
        deadline = time.monotonic() + timeout
        if params['signal_outputs'] and not params['wait']:
            self.module.warn('signal_outputs are only signalled while waiting: set wait: true')
        self.connect()

        stack = self.find()
        if stack and is_in_progress(stack.get('stack_status')) and params['wait'] and not self.module.check_mode:
            # Another run (or a timed out one) is still working: let it settle, then compare.
            stack, timed_out = self.wait(stack, deadline, True)
            if timed_out:
                self.fail_timeout(stack, 'none', False)

        hidden = self.hidden_params(template)
        diff = {'before': {}, 'after': {'state': 'present', 'template': template,
                                        'parameters': self.shown(given, hidden)}}
        if stack is None:
            action = 'created'
            diff['before'] = {'state': 'absent'}
        else:
            status = stack.get('stack_status')
            current_template = self.current_template(stack)
            current_params = stack.get('parameters') or {}
            changed_params = sorted(k for k, v in given.items() if not param_matches(v, current_params.get(k)))
            differs = current_template != template or bool(changed_params)
            diff['before'] = {'state': 'present', 'template': current_template,
                              'parameters': dict((k, current_params.get(k)) for k in given)}
            if status == 'DELETE_FAILED':
                self.fail('stack %s is DELETE_FAILED (%s): delete it again (state: absent) before creating it'
                          % (self.name, stack.get('stack_status_reason')),
                          action='none', stack=self.summary(stack), failed_resources=self.failed_resources(stack))
            if is_failed(status) and not differs:
                resources = self.failed_resources(stack)
                self.fail('stack %s is %s (%s) with this same template and parameters; heat_stack does not '
                          're-create or retry it: delete it (state: absent) and run again, or change the '
                          'template or parameters to update it'
                          % (self.name, status, stack.get('stack_status_reason')),
                          action='none', stack=self.summary(stack), failed_resources=resources)
            if not differs:
                self.module.exit_json(changed=False, action='none', stack=self.summary(stack), signalled=[])
            action = 'updated'

        result = {'changed': True, 'action': action}
        if self.module._diff:
            result['diff'] = diff
        if self.module.check_mode:
            self.module.exit_json(stack=self.summary(stack), signalled=[], **result)

        body = {
            'template': template,
            'parameters': given,
            'timeout_mins': max(1, int(math.ceil(timeout / 60.0))),
        }
        if action == 'created':
            body['stack_name'] = self.name
            resp = self.request('POST', '/stacks', idempotent=False, json=body)
            self.check(resp, 'creating stack %s' % self.name, changed=False, action=action)
            created = self.body(resp).get('stack') or {}
            stack = {'id': created.get('id'), 'stack_name': self.name}
            stale = None
        else:
            stale = (stack.get('stack_status'), stack.get('updated_time'))
            resp = self.request('PUT', self.path(stack), json=body)
            self.check(resp, 'updating stack %s' % self.name, changed=False, action=action)
        stack = self.reload(stack) or stack

        if params['wait']:
            stack, timed_out = self.wait(stack, deadline, True, stale)
            if stack is None:
                self.fail('stack %s disappeared while it was being %s' % (self.name, action),
                          changed=True, action=action, stack={}, signalled=self.signalled)
            if timed_out:
                self.fail_timeout(stack, action, True)
            if is_failed(stack.get('stack_status')):
                self.fail_stack(stack, action, True)
        self.module.exit_json(stack=self.summary(stack), signalled=self.signalled, **result)

    def absent(self):
        params = self.params
        deadline = time.monotonic() + params['timeout']
        self.connect()
        stack = self.find()
        if stack is None:
            self.module.exit_json(changed=False, action='none', stack={}, signalled=[])
        result = {'changed': True, 'action': 'deleted'}
        if self.module._diff:
            result['diff'] = {'before': {'state': 'present'}, 'after': {'state': 'absent'}}
        if self.module.check_mode:
            self.module.exit_json(stack=self.summary(stack), signalled=[], **result)
        if stack.get('stack_status') != 'DELETE_IN_PROGRESS':
            resp = self.request('DELETE', self.path(stack))
            if resp.status_code != 404:
                self.check(resp, 'deleting stack %s' % self.name, changed=False, action='deleted')
        last = stack
        if params['wait']:
            last = self.reload(stack)
            remaining, timed_out = self.wait(last, deadline, False)
            if timed_out:
                self.fail_timeout(remaining, 'deleted', True)
            if remaining is not None:
                # terminal and not DELETE_COMPLETE: DELETE_FAILED (or something odd)
                self.fail_stack(remaining, 'deleted', True)
            self.wait_name_free(deadline)
            last = None
        self.module.exit_json(stack=self.summary(last), signalled=[], **result)

    def wait_name_free(self, deadline):
        """Until the name lookup answers 404. A stack is DELETE_COMPLETE a moment before Heat soft-deletes
        its row, and a create of the same name in between is refused (409 StackExists: seen on Heat 19
        under load). Gives up at the deadline: a create then says why."""
        while self.request('GET', '/stacks/%s' % quote(self.name, safe='')).status_code != 404:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.api.sleep(min(POLL_FIRST, remaining))


def main():
    argument_spec = auth_argument_spec()
    argument_spec.update(
        name=dict(type='str', required=True),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        template=dict(type='path'),
        template_body=dict(type='str'),
        parameters=dict(type='dict', default={}),
        timeout=dict(type='int', default=600),
        wait=dict(type='bool', default=True),
        signal_outputs=dict(type='list', elements='str', default=[]),
        signal_data=dict(type='dict'),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[('template', 'template_body')],
        required_if=[('state', 'present', ('template', 'template_body'), True)],
        supports_check_mode=True,
    )
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib('PyYAML (Debian: python3-yaml)'))
    if not HAS_KEYSTONEAUTH:
        module.fail_json(msg=missing_required_lib('keystoneauth1 (Debian: python3-keystoneauth1)'))
    if module.params['timeout'] <= 0:
        module.fail_json(msg='timeout must be a positive number of seconds, got %s' % module.params['timeout'])

    runner = HeatStack(module)
    if module.params['state'] == 'present':
        runner.present()
    else:
        runner.absent()


if __name__ == '__main__':
    main()
