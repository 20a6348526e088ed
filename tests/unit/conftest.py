"""Make the project's library/ and module_utils/ importable the way Ansible does."""
import os
import sys

import pytest
import ansible.module_utils
from ansible.module_utils import basic

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'library'))
# `from ansible.module_utils.openstack_auth import ...` finds our module_utils/.
ansible.module_utils.__path__.append(os.path.join(ROOT, 'module_utils'))


class AnsibleExitJson(Exception):
    """Raised instead of exit_json so a test can read the result."""


class AnsibleFailJson(Exception):
    """Raised instead of fail_json so a test can read the message."""


def _exit_json(self, **kwargs):
    kwargs.setdefault('changed', False)
    raise AnsibleExitJson(self._heat_sanitize(kwargs))


def _fail_json(self, msg='', **kwargs):
    kwargs['failed'] = True
    kwargs['msg'] = msg
    raise AnsibleFailJson(self._heat_sanitize(kwargs))


def _sanitize(self, result):
    # What Ansible itself does before printing a result: mask no_log values,
    # and include the invocation as -vvv would.
    from ansible.module_utils.common.parameters import remove_values
    result = dict(result)
    result.setdefault('invocation', {'module_args': self.params})
    return remove_values(result, self.no_log_values)


@pytest.fixture
def module_args(monkeypatch):
    """set_module_args(dict) as in ansible-core's unit tests: call it, then run main()."""
    from ansible.module_utils.testing import patch_module_args
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', _fail_json)
    monkeypatch.setattr(basic.AnsibleModule, '_heat_sanitize', _sanitize, raising=False)
    contexts = []

    def _set(args):
        args = dict(args)
        args.setdefault('_ansible_remote_tmp', '/tmp')
        args.setdefault('_ansible_keep_remote_files', False)
        ctx = patch_module_args(args)
        ctx.__enter__()
        contexts.append(ctx)

    yield _set
    for ctx in reversed(contexts):
        ctx.__exit__(None, None, None)
