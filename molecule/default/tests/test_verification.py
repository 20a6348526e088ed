"""Step 12: the verification stack. Converge created and deleted it (the
role's defaults); here playbooks/verify.yml keeps one to inspect, then a run
with the defaults deletes it without leftovers, and the next reports no change."""
import json
import re

import pytest

from labtools import playbook


def changed_count(output):
    match = re.search(r'lab-controller\s*:\s*ok=\d+\s+changed=(\d+)', output)
    assert match, output[-3000:]
    return int(match.group(1))


@pytest.fixture(scope='module', autouse=True)
def kept_stack():
    run = playbook('playbooks/verify.yml', extra={'heat_verify_keep_stack': True})
    assert run.rc == 0, run
    assert changed_count(run.out) > 0, 'keeping the stack is a change: %r' % run
    return run


def test_demo_openrc_is_private(host):
    openrc = host.file('/root/demo-openrc.sh')
    assert openrc.mode == 0o600
    assert openrc.user == 'root'
    assert 'OS_USERNAME=demo' in openrc.content_string


def test_demo_user_holds_what_this_heats_policy_needs_and_no_more(host, admin):
    # Heat 24 (Debian 13) enforces its new defaults: member on the project;
    # Heat 19 (Debian 12) lets any role but heat_stack_user create stacks.
    heat = host.check_output("dpkg-query -W -f='${Version}' heat-common")
    roles = {r['Role'] for r in admin('role assignment list --user demo --project demo --names')}
    assert 'admin' not in roles
    if heat.startswith('1:24.'):
        assert 'member' in roles
    assert roles - {'heat_stack_user'}, roles


def test_smoke_stack_complete_with_signalled_data(demo):
    stack = demo('stack show testStack')
    assert stack['stack_status'] == 'CREATE_COMPLETE', stack['stack_status_reason']
    outputs = {o['output_key']: o['output_value'] for o in stack['outputs']}
    data = outputs['wait_condition_data']
    data = json.loads(data) if isinstance(data, str) else data
    # What tasks/verify.yml signals (the handle's curl_cli, posted by heat_stack).
    assert list(data) == ['1']
    assert data['1'] == "signalled by the heat role's verification"
    assert len(outputs['random_string']) == 16


def test_stack_user_lives_in_the_stack_domain(admin):
    # The wait-condition handle's user was created by heat_domain_admin.
    projects = admin('project list --domain heat')
    assert len(projects) == 1, projects


def test_deleting_the_stack_leaves_nothing_behind(host, admin, demo):
    # The defaults: the kept stack is a leftover, deleted (a change), then the
    # verification stack is created, listed and deleted again.
    run = playbook('playbooks/verify.yml')
    assert run.rc == 0, run
    assert 'CREATE_COMPLETE' in run.out  # the guide's stack list was printed
    assert changed_count(run.out) == 1, 'only the leftover stack\'s deletion is a change: %r' % run
    assert demo('stack list') == []
    assert admin('project list --domain heat') == []
    users = {u['Name'] for u in admin('user list --domain heat')}
    assert users == {'heat_domain_admin'}


def test_verification_that_leaves_nothing_reports_no_change(demo):
    run = playbook('playbooks/verify.yml')
    assert run.rc == 0, run
    assert 'CREATE_COMPLETE' in run.out  # a stack was really created
    assert changed_count(run.out) == 0, run
    assert demo('stack list') == []
