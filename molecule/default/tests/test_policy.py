"""heat_policy_overrides (tasks/policy.yml): an override the demo user then
meets, taking effect without a restart, and undone by emptying the input;
overrides the installed Heat would ignore or misread refused before any
change."""
import pytest

from labtools import assert_refused, changed_count, heat_start_times, in_controller, playbook

POLICY_FILE = '/etc/heat/policy.d/heat_policy_overrides.yaml'


def stack_list(openrc):
    return in_controller('. /root/%s && openstack stack list -f value -c ID' % openrc)


def policy_dir():
    """The policy directory as the APIs see it: names, modes, owners and contents."""
    rc, out = in_controller('cd /etc/heat/policy.d && stat -c "%n %a %U:%G" * && cat *')
    assert rc == 0, out
    return out


def test_an_override_takes_effect_without_a_restart_and_goes_when_emptied():
    before = heat_start_times()
    rc, out = stack_list('demo-openrc.sh')
    assert rc == 0, out
    try:
        run = playbook('playbooks/heat.yml', '--tags', 'heat-policy',
                       extra={'heat_policy_overrides': {'stacks:index': 'role:admin'}})
        assert run.rc == 0 and changed_count(run.out) == 1, run
        rc, out = in_controller('stat -c "%a %U:%G" {0} && grep -v "^#" {0}'.format(POLICY_FILE))
        assert rc == 0 and out.split() == ['640', 'root:heat', 'stacks:index:', 'role:admin'], out
        # The next request meets it: oslo.policy noticed the directory changed.
        rc, out = stack_list('demo-openrc.sh')
        assert rc != 0 and ('403' in out or 'not authorized' in out.lower()), out
        rc, out = stack_list('admin-openrc.sh')
        assert rc == 0, out
        assert heat_start_times() == before, 'a Heat service was restarted for a policy'
    finally:
        run = playbook('playbooks/heat.yml', '--tags', 'heat-policy')
        assert run.rc == 0, run
    # Emptied: the file goes, Heat's default applies again, the API unbroken.
    rc, out = in_controller('test ! -e %s' % POLICY_FILE)
    assert rc == 0, 'the emptied overrides left %s' % POLICY_FILE
    rc, out = stack_list('demo-openrc.sh')
    assert rc == 0, out
    assert heat_start_times() == before
    run = playbook('playbooks/heat.yml', '--tags', 'heat-policy')
    assert run.rc == 0 and changed_count(run.out) == 0, run


# (case, overrides, what the failure must say)
BAD_POLICIES = [
    ('unknown rule', {'stacks:craete': 'role:admin'},
     ['heat_policy_overrides on lab-controller, for Heat', 'stacks:craete is not a policy of Heat',
      'closest: stacks:create']),
    ('check string that does not parse', {'stacks:delete': 'role:admin and ('},
     ['the check string of stacks:delete does not parse: Failed to understand rule role:admin and (']),
    ('undefined rule', {'stacks:delete': 'rule:cloud_admins'},
     ['the check string of stacks:delete refers to rule:cloud_admins, which is neither a policy of Heat nor in '
      'heat_policy_overrides']),
    ('not a string', {'stacks:delete': True},
     ['heat_policy_overrides: the check strings of stacks:delete must be strings']),
]


@pytest.mark.parametrize('case,overrides,said', BAD_POLICIES, ids=[c[0] for c in BAD_POLICIES])
def test_bad_policy_overrides_are_refused_before_any_change(case, overrides, said):
    files, before = policy_dir(), heat_start_times()
    run = playbook('site.yml', extra={'heat_policy_overrides': overrides})
    assert_refused(run, said)
    assert policy_dir() == files and heat_start_times() == before, '%s changed the controller' % case
