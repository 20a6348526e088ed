"""Unit tests of library/heat_warn.py: its messages become the task's warnings."""
import pytest
from ansible.module_utils import basic

import heat_warn
from conftest import AnsibleExitJson


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, warning, **kw: seen.append(warning))
    return seen


@pytest.mark.parametrize('check_mode', [False, True])
def test_the_message_is_one_warning_whole_and_nothing_changes(module_args, warnings, check_mode):
    # Commas and all: not split as a list option would be.
    message = 'Restarting heat-engine, heat-api on controller1: controller2 left the play.'
    module_args({'msg': message, '_ansible_check_mode': check_mode})
    with pytest.raises(AnsibleExitJson) as exc:
        heat_warn.main()
    assert exc.value.args[0]['changed'] is False
    assert warnings == [message]


def test_an_empty_message_is_no_warning(module_args, warnings):
    module_args({'msg': ''})
    with pytest.raises(AnsibleExitJson):
        heat_warn.main()
    assert warnings == []
