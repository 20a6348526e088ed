#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: heat_warn
short_description: Show a warning, as a module does, without changing or failing anything
description:
  - Returns O(msg) as a warning of the task, which Ansible shows as C([WARNING]) in the run's output
    and keeps in the result's C(warnings) (the JSON callbacks record it). C(ansible.builtin.debug)
    prints only a message among the results; C(ansible.builtin.fail) stops the host.
  - Changes nothing and reads nothing on the host.
options:
  msg:
    description: The warning, one line. An empty one is not shown.
    type: str
    required: true
attributes:
  check_mode:
    support: full
    description: The same warnings as in a real run.
  diff_mode:
    support: none
author:
  - Heat deployment project
'''

EXAMPLES = r'''
- name: Warn that a restart leaves no controller behind the load balancer
  heat_warn:
    msg: "Restarting heat-api on controller1 leaves no controller serving behind the load balancer."
  when: _heat_restart_leaves_none_serving
'''

RETURN = r'''
warnings:
  description: O(msg), unless empty.
  returned: when O(msg) is not empty
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(msg=dict(type='str', required=True)),
        supports_check_mode=True,
    )
    if module.params['msg']:
        module.warn(module.params['msg'])
    module.exit_json(changed=False)


if __name__ == '__main__':
    main()
