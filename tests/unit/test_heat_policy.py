"""heat_policy_overrides against the installed Heat's policies (module_utils/heat_policy.py): the names, the parse
of each check string by oslo.policy's own parser, the rules they refer to, and the words in the plan."""
import pytest

from ansible.module_utils import heat_controller, heat_hints, heat_options, heat_policy

REGISTRY = {
    'sections': {}, 'renamed': {}, 'plugins': {}, 'failed': [],
    'policies': ['context_is_admin', 'deny_stack_user', 'stacks:create', 'stacks:delete', 'stacks:index'],
    'policies_renamed': {'stacks:remove': 'stacks:delete'},
}


def test_known_rules_with_check_strings_that_parse_pass():
    overrides = {'stacks:delete': 'role:admin', 'stacks:create': '(role:member and project_id:%(project_id)s) or '
                 'rule:context_is_admin', 'stacks:index': '', 'context_is_admin': '!'}
    assert heat_policy.check(overrides, REGISTRY) == dict(state='checked', reason='', refused=[], deprecated=[])


def test_nothing_to_check_needs_no_registry():
    assert heat_policy.check({}, {'failed': ['boom']}) == dict(state='checked', reason='', refused=[], deprecated=[])


def test_a_rule_heat_does_not_have_is_refused_with_the_closest():
    found = heat_policy.check({'stacks:craete': 'role:admin'}, REGISTRY)
    assert found['refused'] == ['stacks:craete is not a policy of Heat, nor a rule another override refers to; '
                                'closest: stacks:create, stacks:delete']


def test_an_alias_another_rule_refers_to_is_allowed():
    overrides = {'cloud_admins': 'role:cloud_admin', 'stacks:delete': 'rule:cloud_admins or rule:context_is_admin'}
    assert heat_policy.check(overrides, REGISTRY)['refused'] == []


@pytest.mark.parametrize('check_str', ['role:admin and (', 'role:admin or', 'role', 'and role:admin', '(role:admin'])
def test_a_check_string_that_does_not_parse_is_refused(check_str):
    [refused] = heat_policy.check({'stacks:delete': check_str}, REGISTRY)['refused']
    assert refused.startswith('the check string of stacks:delete does not parse: ')
    assert check_str in refused
    # oslo.policy's own words, as it would log them.
    assert 'Failed to understand rule' in refused or 'No handler' in refused


def test_the_parse_leaves_the_output_clean(capsys, caplog):
    heat_policy.parse('role:admin and (')
    captured = capsys.readouterr()
    assert captured.out == '' and captured.err == ''
    assert [record for record in caplog.records if record.name.startswith('oslo_policy')] == []


def test_a_reference_to_a_rule_nobody_defines_is_refused():
    found = heat_policy.check({'stacks:delete': 'rule:admins or role:admin'}, REGISTRY)
    assert found['refused'] == ['the check string of stacks:delete refers to rule:admins, which is neither a '
                                'policy of Heat nor in heat_policy_overrides']
    # Through not, and, or.
    assert len(heat_policy.check({'stacks:delete': 'not (rule:a and (rule:b or role:x))'}, REGISTRY)['refused']) == 2


def test_a_renamed_policy_warns_with_its_new_name():
    found = heat_policy.check({'stacks:remove': 'role:admin'}, REGISTRY)
    assert found == dict(state='checked', reason='', refused=[],
                         deprecated=['stacks:remove is deprecated: its name is now stacks:delete'])


def test_unchecked_without_the_policies():
    found = heat_policy.check({'stacks:delete': 'role:admin'}, {'failed': [], 'policies_failed': "Heat's policies: x"})
    assert (found['state'], found['reason']) == ('unchecked', "Heat's policies: x")


class FakeReader(object):
    def __init__(self, registry):
        self.registry = registry
        self.read = 0

    def result(self):
        self.read += 1
        return self.registry


def test_the_controller_part_reads_the_registry_only_for_overrides():
    reader = FakeReader(REGISTRY)
    assert heat_controller.policy_state({}, reader)['refused'] == []
    assert reader.read == 0
    assert heat_controller.policy_state({'stacks:craete': ''}, reader)['refused']
    # Heat not installed yet: unchecked (the probe after the packages checks).
    assert heat_controller.policy_state({'stacks:delete': ''}, None)['state'] == 'unchecked'


def test_refused_overrides_fail_the_plan_renamed_ones_warn():
    policy = dict(state='checked', reason='', refused=['stacks:craete is not a policy of Heat, nor a rule another '
                                                        'override refers to; closest: stacks:create'],
                  deprecated=['stacks:remove is deprecated: its name is now stacks:delete'])
    result = {'controller': {'version': '1:24.0.0-2', 'policy': policy}}
    assert heat_hints.problems(result, {'host': 'controller1'}) == [('policy', (
        'heat_policy_overrides on controller1, for Heat 1:24.0.0-2: stacks:craete is not a policy of Heat, nor a '
        'rule another override refers to; closest: stacks:create. oslo.policy loads any name and denies what it '
        'cannot parse, silently: correct heat_policy_overrides (oslopolicy-sample-generator --namespace heat lists '
        'the policies).'))]
    assert heat_hints.warnings(result) == [
        'heat_policy_overrides: stacks:remove is deprecated: its name is now stacks:delete.']


def test_a_registry_without_the_policies_is_not_cached(tmp_path, monkeypatch):
    import json

    class Child(object):
        def __init__(self, *args, **kwargs):
            self.returncode = 0

        def communicate(self, data=None, timeout=None):
            unread = dict((key, value) for key, value in REGISTRY.items() if not key.startswith('policies'))
            return json.dumps(dict(unread, policies_failed="Heat's policies: boom")), ''

    monkeypatch.setattr(heat_options.subprocess, 'Popen', Child)
    heat_options.Reader(['password'], cache_dir=str(tmp_path)).result()
    assert list(tmp_path.iterdir()) == []
