#!/usr/bin/python3
"""Which roles let a project user create stacks, by the installed Heat's policy.

    stack-roles.py ROLE [ROLE ...]

Asks Heat's own policy rules, loaded as heat-api loads them (heat.conf's
[oslo_policy], Heat's registered defaults, an operator's policy file), about
a user holding only ROLE on a project. Prints JSON: the roles allowed
stacks:create, the rule it is checked against, and whether the new defaults
are enforced (Heat 24 on Debian 13: yes, `member` needed; Heat 19 on Debian
12: no, any role but heat_stack_user). Reads heat.conf: run as root or heat.
"""
import json
import sys

from heat import policies
from oslo_config import cfg
from oslo_policy import policy

conf = cfg.ConfigOpts()
conf([], project='heat', default_config_files=['/etc/heat/heat.conf'])
# As heat.common.policy.Enforcer builds it, with the options of heat.conf.
enforcer = policy.Enforcer(conf, default_rule='!')
enforcer.suppress_deprecation_warnings = True
enforcer.register_defaults(policies.list_rules())
enforcer.load_rules()
target = {'project_id': 'verify-project', 'tenant_id': 'verify-project'}
allowed = [role for role in sys.argv[1:]
           if enforcer.enforce('stacks:create', target,
                               {'roles': [role], 'project_id': 'verify-project', 'user_id': 'verify-user',
                                'is_admin': False, 'system_scope': None})]
print(json.dumps({'allowed': allowed, 'rule': str(enforcer.rules['stacks:create']),
                  'enforce_new_defaults': bool(conf.oslo_policy.enforce_new_defaults)}))
