"""Step 12: the verification stack. Converge created and deleted it (the
role's defaults); here playbooks/verify.yml keeps one to inspect, then a run
with the defaults deletes it without leftovers, and the next reports no change.

Shared with the upgrade scenario: where the catalog has compute, image and
network (the default scenario's full-catalog lab) the role must pick the
guide's templates/test-stack.yml; where it has Keystone only (the upgrade
lab), the smoke template.
"""
import ipaddress
import json

import pytest
import yaml

from labtools import ROOT, changed_count, in_controller, playbook

GUIDE_SERVICES = {'compute', 'image', 'network'}


@pytest.fixture(scope='module')
def kind(admin):
    types = {service['Type'] for service in admin('catalog list')}
    return 'guide' if GUIDE_SERVICES <= types else 'smoke'


@pytest.fixture(scope='module', autouse=True)
def kept_stack():
    run = playbook('playbooks/verify.yml', extra={'heat_verify_keep_stack': True})
    assert run.rc == 0, run
    assert changed_count(run.out) > 0, 'keeping the stack is a change: %r' % run
    return run


def test_the_template_and_the_reason_are_said(kept_stack, kind):
    if kind == 'guide':
        said = ("Verifying with the guide template (test-stack.yml) because auto: the catalog of region RegionOne has "
                "compute, image and network, and heat_verify_image and heat_verify_network are set")
    else:
        said = ("Verifying with the smoke template (smoke-stack.yml) because auto: the catalog of region RegionOne lacks "
                "compute, image, network")
    assert said in kept_stack.text, kept_stack


def test_demo_openrc_is_private(host):
    openrc = host.file('/root/demo-openrc.sh')
    assert openrc.mode == 0o600
    assert openrc.user == 'root'
    assert 'OS_USERNAME=demo' in openrc.content_string


def test_demo_user_holds_what_this_heats_policy_needs_and_no_more(heat_version, admin):
    # Heat 24 and later (Debian 13, testing) enforce the new defaults: member
    # on the project; Heat 19 (Debian 12) lets any role but heat_stack_user create stacks.
    roles = {r['Role'] for r in admin('role assignment list --user demo --project demo --names')}
    assert 'admin' not in roles
    if heat_version[1] >= 24:
        assert 'member' in roles
    assert roles - {'heat_stack_user'}, roles


def test_smoke_stack_complete_with_signalled_data(demo, kind):
    if kind != 'smoke':
        pytest.skip('this lab has compute, image and network: the guide template is used')
    stack = demo('stack show testStack')
    assert stack['stack_status'] == 'CREATE_COMPLETE', stack['stack_status_reason']
    outputs = {o['output_key']: o['output_value'] for o in stack['outputs']}
    data = outputs['wait_condition_data']
    data = json.loads(data) if isinstance(data, str) else data
    # What tasks/verify.yml signals (the handle's curl_cli, posted by heat_stack).
    assert list(data) == ['1']
    assert data['1'] == "signalled by the heat role's verification"
    assert len(outputs['random_string']) == 16


def test_smoke_stack_user_lives_in_the_stack_domain(admin, kind):
    if kind != 'smoke':
        pytest.skip('the guide template has no wait condition handle')
    # The wait-condition handle's user was created by heat_domain_admin.
    projects = admin('project list --domain heat')
    assert len(projects) == 1, projects


def test_guide_stack_is_the_guides_template_complete_with_an_address_of_its_network(demo, lab, kind):
    if kind != 'guide':
        pytest.skip('this lab has no compute, image and network: the smoke template is used')
    stack = demo('stack show testStack')
    assert stack['stack_status'] == 'CREATE_COMPLETE', stack['stack_status_reason']
    # templates/test-stack.yml unchanged, as Heat holds it (Heat reads the
    # version date as a string).
    template = yaml.safe_load((ROOT / 'templates/test-stack.yml').read_text())
    template['heat_template_version'] = str(template['heat_template_version'])
    assert demo('stack template show testStack') == template
    assert stack['parameters']['ImageID'] == demo('image show %s' % lab['lab_image_name'])['id']
    network = demo('network show %s' % lab['lab_network_name'])
    assert stack['parameters']['NetID'] == network['id']
    outputs = {o['output_key']: o['output_value'] for o in stack['outputs']}
    address = ipaddress.ip_address(outputs['server1_private_ip'])
    cidrs = [demo('subnet show %s' % subnet)['cidr'] for subnet in network['subnets']]
    assert any(address in ipaddress.ip_network(cidr) for cidr in cidrs), (address, cidrs)
    resources = {r['resource_name']: r for r in demo('stack resource list testStack')}
    assert resources['server1']['resource_type'] == 'OS::Nova::Server'
    server = demo('server show %s' % resources['server1']['physical_resource_id'])
    assert server['status'] == 'ACTIVE'
    assert server['name'] == 'Test server'
    assert str(address) in json.dumps(server['addresses'])


def test_deleting_the_stack_leaves_nothing_behind(admin, demo, lab, kind):
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
    if kind == 'guide':
        # The server and the port Nova made for it went with the stack.
        assert demo('server list') == []
        assert demo('port list --network %s' % lab['lab_network_name']) == []


def test_verification_that_leaves_nothing_reports_no_change(demo):
    run = playbook('playbooks/verify.yml')
    assert run.rc == 0, run
    assert 'CREATE_COMPLETE' in run.out  # a stack was really created
    assert changed_count(run.out) == 0, run
    assert demo('stack list') == []


# RegionTwo (prepare-infra.yml) has no endpoint; RegionOne has them all. Heat
# registered in RegionTwo too (the same heat-api, a second public endpoint of
# each of its services) must be verified with the smoke template: the guide's
# server, image and network are RegionOne's, where Heat would not look.
# The run leaves heat.conf alone (verify.yml only), so Heat itself still works
# in RegionOne; its own openrc keeps the other tests' demo-openrc.sh on RegionOne.
REGION_TWO_OPENRC = '/root/demo-openrc-regiontwo.sh'


def region_two_endpoints(action):
    """Create or delete the public orchestration and cloudformation endpoints of RegionTwo."""
    script = {
        'create': ('for service in orchestration cloudformation; do '
                   'url=$(openstack endpoint list --region RegionOne --interface public --service "$service" -f value -c URL); '
                   'test -n "$url"; '
                   'openstack endpoint create --region RegionTwo "$service" public "$url" >/dev/null; done'),
        'delete': ('for id in $(openstack endpoint list --region RegionTwo -f value -c ID); do '
                   'openstack endpoint delete "$id"; done'),
    }[action]
    return in_controller('set -o nounset -o pipefail -o errexit; . /root/admin-openrc.sh; ' + script)


def test_verification_follows_heat_region(admin):
    assert admin('endpoint list --region RegionTwo') == [], 'RegionTwo must start without endpoints'
    rc, out = region_two_endpoints('create')
    assert rc == 0, out
    try:
        run = playbook('playbooks/verify.yml', extra={'heat_region': 'RegionTwo', 'heat_keystone_region': 'RegionOne',
                                                      'heat_verify_openrc_path': REGION_TWO_OPENRC})
        assert run.rc == 0, run
        said = run.text
        assert ("Verifying with the smoke template (smoke-stack.yml) because auto: the catalog of region RegionTwo lacks "
                "compute, image, network") in said, run
        assert 'CREATE_COMPLETE' in run.out  # the smoke stack was created (and listed) in RegionTwo
    finally:
        rc, out = region_two_endpoints('delete')
        in_controller('rm -f %s' % REGION_TWO_OPENRC)
    assert rc == 0, out
    assert admin('endpoint list --region RegionTwo') == []
