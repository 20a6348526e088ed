"""After converge (and the verification tests): secrets never printed, broken
configuration named by the verification, services briefly down survived, and
password rotation end to end. Each test leaves the lab converged as it found it.
"""
import json
import re

import pytest

from labtools import LAB, ROOT, assert_refused, changed_count, delete_stack, in_controller, playbook, secrets_in, task_sections

ROTATED = {
    'heat_keystone_password': 'rotated-heat-keystone-secret-8',
    'heat_db_password': 'rotated-heat-db-secret-9',
    'heat_domain_admin_password': 'rotated-heat-domain-secret-10',
}


def restart_times():
    """ActiveEnterTimestampMonotonic of each service: changes on every (re)start."""
    units = ['heat-api', 'heat-api-cfn', 'heat-engine', 'mariadb', 'keystone', 'rabbitmq-server']
    rc, out = in_controller('for u in %s; do echo "$u $(systemctl show -p ActiveEnterTimestampMonotonic --value $u)"; done'
                            % ' '.join(units))
    assert rc == 0, out
    return dict(line.split() for line in out.strip().splitlines())


def test_check_diff_on_converged_controller_reports_no_change():
    run = playbook('playbooks/heat.yml', '--check', '--diff')
    assert run.rc == 0, run
    assert changed_count(run.out) == 0, run
    assert secrets_in(run.out) == []


def test_wrong_waitcondition_url_is_named():
    run = playbook('playbooks/verify.yml', extra={'heat_waitcondition_server_url': 'http://controller:8999/v1/waitcondition'})
    assert run.rc != 0, run
    assert 'heat_waitcondition_server_url' in run.out, run


def delete_stack_as_demo(name):
    """Remove a stack a failed test may have left (no error when there is none)."""
    rc, out = in_controller('. /root/demo-openrc.sh && openstack stack show %s >/dev/null 2>&1' % name)
    if rc == 0:
        rc, out = delete_stack(name)
        assert rc == 0, out


def test_wrong_stack_domain_admin_password_is_named():
    # heat.conf holds a password Keystone does not know (edited behind the
    # role: heat_conf_overrides may not set it): the stack user can't be
    # created. A stack of its own, so that the kept testStack is not
    # involved; the smoke template, whose wait condition handle needs that
    # stack user (the guide's server needs none).
    rc, out = in_controller("sed -i 's/^stack_domain_admin_password *=.*/stack_domain_admin_password = "
                            "not-the-domain-password/' /etc/heat/heat.conf && systemctl restart heat-engine")
    assert rc == 0, out
    broken = {'heat_verify_stack_name': 'brokenStack', 'heat_verify_keep_stack': False, 'heat_verify_template': 'smoke'}
    try:
        run = playbook('playbooks/verify.yml', extra=broken)
        assert run.rc != 0, run
        assert 'stack_domain_admin_password' in run.out, run
        assert 'not-the-domain-password' not in run.out
    finally:
        # Restore heat.conf (the key back to the inventory's value).
        repair = playbook('playbooks/heat.yml')
        assert repair.rc == 0, repair
        delete_stack_as_demo('brokenStack')


# What operators write around the role's inputs, refused before any change
# (heat.conf, the services' start times): an option the role writes from an
# input, and one the installed Heat does not register. (case, overrides,
# what the failure must say)
BAD_OVERRIDES = [
    ('short encryption key', {'DEFAULT': {'auth_encryption_key': 'short'}},
     ['heat_conf_overrides sets [DEFAULT] auth_encryption_key', 'heat_auth_encryption_key']),
    ('another 32-byte key', {'DEFAULT': {'auth_encryption_key': 'another-key-of-32-ascii-chars-00'}},
     ['heat_conf_overrides sets [DEFAULT] auth_encryption_key', 'heat_auth_encryption_key_rotate']),
    ('database connection', {'database': {'connection': 'mysql+pymysql://heat:x@nohost.invalid/heat'}},
     ['heat_conf_overrides sets [database] connection', 'heat_db_host']),
    ('misplaced option', {'ec2authtoken': {'www_authenticate_uri': 'http://controller:5000/v3'}},
     ['[ec2authtoken] www_authenticate_uri (heat_conf_overrides): not an option of [ec2authtoken]',
      'www_authenticate_uri is an option of [keystone_authtoken]', 'heat_conf_unregistered']),
    ('misspelt section', {'keystone_authtokn': {'region_name': 'RegionOne'}},
     ['[keystone_authtokn] region_name (heat_conf_overrides): [keystone_authtokn] is not a section Heat reads',
      'closest: [keystone_authtoken]']),
    ('misspelt option', {'DEFAULT': {'max_stacks_per_tenantt': 10}},
     ['[DEFAULT] max_stacks_per_tenantt (heat_conf_overrides): not an option of [DEFAULT]',
      'closest: max_stacks_per_tenant']),
]


@pytest.mark.parametrize('case,overrides,said', BAD_OVERRIDES, ids=[c[0] for c in BAD_OVERRIDES])
def test_bad_overrides_are_refused_before_any_change(case, overrides, said):
    conf, before = heat_conf_sum(), restart_times()
    run = playbook('site.yml', extra={'heat_conf_overrides': overrides})
    assert_refused(run, said)
    assert 'nohost.invalid' not in run.out and secrets_in(run.out) == []
    assert heat_conf_sum() == conf and restart_times() == before, '%s changed the controller' % case


def test_options_only_a_plugin_reads_pass_when_listed_deprecated_ones_warn():
    # In check mode: what would be written, nothing written.
    extra = {'heat_conf_overrides': {'my_plugin': {'endpoint': 'http://plugin:9000'},
                                      'keystone_authtoken': {'auth_uri': 'http://controller:5000'}}}
    run = playbook('playbooks/heat.yml', '--check', extra=extra)
    assert run.rc != 0, run
    assert '[my_plugin] endpoint (heat_conf_overrides): [my_plugin] is not a section Heat reads' in \
        run.text, run
    run = playbook('playbooks/heat.yml', '--check', extra=dict(extra, heat_conf_unregistered=['my_plugin.endpoint']))
    assert run.rc == 0, run
    assert ('[keystone_authtoken] auth_uri (heat_conf_overrides) is deprecated: its name is now [keystone_authtoken] '
            'www_authenticate_uri' in run.text), run
    assert 'changed: ' in task_section(run.out, 'Configure heat.conf'), run


def outage(unit, seconds):
    """Stop UNIT now; systemd starts it again SECONDS later (a transient
    service that sleeps: a transient timer may fire up to a minute late)."""
    rc, out = in_controller('systemctl stop %s && systemd-run --quiet --collect bash -c "sleep %d; systemctl start %s"'
                            % (unit, seconds, unit))
    assert rc == 0, out


def test_keystone_restarting_during_the_run_is_survived():
    # Keystone goes down now and comes back 3 s later, while the play retries.
    outage('keystone', 3)
    run = playbook('playbooks/heat.yml')
    assert run.rc == 0, run
    assert changed_count(run.out) == 0


# Where the play meets the database: the checks before any change, the
# database tasks (community.mysql), and Keystone, which keeps its own data in
# the same MariaDB (the registration module retries its 5xx answers).
DB_OUTAGE_START = [None, 'Create the heat database', 'Register the Orchestration service in Keystone']


@pytest.mark.parametrize('start_at', DB_OUTAGE_START, ids=['checks', 'database tasks', 'keystone registration'])
def test_database_restarting_during_the_run_is_survived(start_at):
    # MariaDB goes down now and comes back 8 s later, while the play retries.
    outage('mariadb', 8)
    args = ['--start-at-task', start_at] if start_at else []
    try:
        run = playbook('playbooks/heat.yml', *args)
        assert run.rc == 0, run
        assert changed_count(run.out) == 0, run
        if start_at == DB_OUTAGE_START[1]:
            assert re.search(r'FAILED - RETRYING: \[[^]]*\]: Create the heat database', run.out), run
    finally:
        in_controller('systemctl is-active --quiet mariadb || { sleep 10; systemctl start mariadb; }')


def test_database_down_for_good_is_named():
    rc, out = in_controller('systemctl stop mariadb')
    assert rc == 0, out
    try:
        run = playbook('playbooks/heat.yml', extra={'heat_db_wait_timeout': 6})
        assert run.rc != 0, run
        assert 'The database server controller:3306 did not answer' in run.out, run
        run = playbook('playbooks/heat.yml', '--start-at-task', DB_OUTAGE_START[1], extra={'heat_db_wait_timeout': 6})
        assert run.rc != 0, run
        assert 'Create the heat database' in run.out and "Can't connect" in run.out, run
    finally:
        rc, out = in_controller('systemctl start mariadb')
        assert rc == 0, out


def task_section(output, task):
    """The output of the heat role's task `task` in a run, '' when it did not appear."""
    return next(iter(task_sections(output, task)), '')


def test_database_accounts_changed_behind_the_role_are_put_back():
    """The database tasks are skipped when validate.yml found the database and accounts as
    they would make them: anything else found there must still run them."""
    sql = ("DROP USER 'heat'@'localhost'; GRANT SELECT ON mysql.* TO 'heat'@'%'; "
           "SET PASSWORD FOR 'heat'@'%' = PASSWORD('changed-behind-the-role')")
    rc, out = in_controller('mysql -e "%s"' % sql)
    assert rc == 0, out
    run = playbook('playbooks/heat.yml', '--tags', 'heat-database')
    assert run.rc == 0, run
    assert 'changed: ' in task_section(run.out, 'Grant the heat user all privileges on the heat database'), run
    for host in ('%', 'localhost'):
        rc, out = in_controller('mysql -N -e "SHOW GRANTS FOR \'heat\'@\'%s\'"' % host)
        assert rc == 0, out
        assert sorted(re.sub(r' IDENTIFIED BY PASSWORD .*', '', line) for line in out.strip().splitlines()) == [
            'GRANT ALL PRIVILEGES ON `heat`.* TO `heat`@`%s`' % host, 'GRANT USAGE ON *.* TO `heat`@`%s`' % host]
    rc, out = in_controller("MYSQL_PWD='%s' mysql -h controller -u heat -N -e 'SELECT 1' heat" % LAB['heat_db_password'])
    assert rc == 0, out
    # Now as they would make them: read, not run.
    run = playbook('playbooks/heat.yml', '--tags', 'heat-database')
    assert run.rc == 0 and changed_count(run.out) == 0, run
    for task in ('Create the heat database', 'Grant the heat user all privileges on the heat database'):
        assert 'skipping: ' in task_section(run.out, task), run


@pytest.mark.parametrize('path,mode,owner', [
    ('/etc/heat/heat.conf', 0o640, ('root', 'heat')),
    ('/root/demo-openrc.sh', 0o600, ('root', 'root')),
])
def test_secret_files_are_private(host, path, mode, owner):
    f = host.file(path)
    assert f.mode == mode
    assert (f.user, f.group) == owner


def heat_conf_sum():
    rc, out = in_controller('sha256sum /etc/heat/heat.conf')
    assert rc == 0, out
    return out.split()[0]


def test_broker_refusing_heat_fails_at_readiness():
    # heat.conf gets a password the broker refuses, and the services restart:
    # /healthcheck and the engine's row still look fine, stacks would not.
    # The broker login before any change would refuse it first (the fresh
    # controller's tests show that): starting after the checks is a broker
    # whose password changed between the checks and the restart.
    # The engine never comes up with that password: a minute of waiting for it is enough.
    run = playbook('site.yml', '--skip-tags', 'verify', '--start-at-task', 'Configure heat.conf',
                   extra={'heat_messaging_password': 'not-the-broker-password', 'heat_service_wait_timeout': 60})
    try:
        assert run.rc != 0, run
        assert 'not-the-broker-password' not in run.out
        assert secrets_in(run.out) == []
        # The new engine never reports up (it has not reached the broker), or,
        # should its row still look fresh, heat-api's RPC call gets no answer.
        assert ('heat-engine on lab-controller (controller) did not report up' in run.out
                or re.search(r'heat-api on lab-controller \(\S+:8004\) answered (500|503|nothing)', run.out)), run
        assert 'Check heat_messaging_password' in run.out, run
    finally:
        repair = playbook('playbooks/heat.yml')
        assert repair.rc == 0, repair
    assert 'Ask heat-api on this controller for the engine' in repair.out
    # A no-op run restarts nothing, so it skips the round trip (and the rest
    # of ready.yml: its include is skipped).
    run = playbook('playbooks/heat.yml')
    assert run.rc == 0, run
    assert changed_count(run.out) == 0, run
    assert 'skipping: ' in task_section(run.out, 'Wait until the services answer'), run
    assert 'TASK [heat : Ask heat-api on this controller' not in run.out, run


# A stack whose handle's credentials (stack user password, trust) Heat
# stored encrypted: it must still be signalled and deleted after a rotation.
KEY_TEMPLATE = '''heat_template_version: 2015-10-15
resources:
  handle:
    type: OS::Heat::WaitConditionHandle
outputs:
  curl_cli:
    value: {get_attr: [handle, curl_cli]}
'''
NEW_KEY = 'rotated0auth0encryption0key00032'

SIGNAL = r'''
import json, re, subprocess, urllib.request
cli = subprocess.run(['bash', '-c', '. /root/demo-openrc.sh && openstack stack output show keyStack curl_cli -f value -c output_value'],
                     capture_output=True, text=True, check=True).stdout
token = re.search(r"X-Auth-Token: ([^'\s]+)", cli).group(1)
url = re.search(r"(https?://\S+/signal)", cli).group(1)
req = urllib.request.Request(url, data=json.dumps({'status': 'SUCCESS', 'data': 'after rotation'}).encode(),
                             headers={'X-Auth-Token': token, 'Content-Type': 'application/json'}, method='POST')
print(urllib.request.urlopen(req, timeout=30).status)
'''


def test_every_secret_rotated_at_once_and_none_printed():
    """A changed encryption key is refused without heat_auth_encryption_key_rotate, before any
    change (a run of its own). With it, one -vvv --diff run rotates the key, the three passwords
    and a heat.conf override together: none of the secrets is printed, the database is
    re-encrypted, a stack made under the old key still signals and deletes, the new passwords
    work where they are used, only Heat's services restart, and a new stack completes. Then
    back to the inventory's values the same way, and a run after that changes nothing."""
    assert len(NEW_KEY) == 32
    rc, out = in_controller("cat > /root/key-stack.yml <<'EOF'\n%sEOF\n"
                            '. /root/demo-openrc.sh && openstack stack create --wait -t /root/key-stack.yml keyStack'
                            % KEY_TEMPLATE)
    assert rc == 0, out
    conf, before = heat_conf_sum(), restart_times()
    new_secrets = dict(ROTATED, new_key=NEW_KEY)
    try:
        # Without the flag: refused before any change, naming the variable.
        run = playbook('site.yml', extra={'heat_auth_encryption_key': NEW_KEY})
        assert run.rc != 0, run
        assert 'heat_auth_encryption_key_rotate' in run.out, run
        assert NEW_KEY not in run.out and secrets_in(run.out) == []
        assert heat_conf_sum() == conf and restart_times() == before
        # With it, and the passwords and an override too: -vvv shows module arguments and
        # results, --diff what changed in heat.conf.
        run = playbook('site.yml', '-vvv', '--diff', extra=dict(
            ROTATED, heat_auth_encryption_key=NEW_KEY, heat_auth_encryption_key_rotate=True,
            heat_conf_overrides={'DEFAULT': {'debug': True}},
            heat_verify_stack_name='rotatedStack', heat_verify_keep_stack=False))
        assert run.rc == 0, run
        assert 'debug' in run.out  # the diff was really shown
        assert changed_count(run.out) > 0
        assert secrets_in(run.out, new_secrets) == [], 'secrets printed: %s' % secrets_in(run.out, new_secrets)
        assert re.search(r'Re-encrypted with the new heat_auth_encryption_key.*user_creds\W+[1-9]', run.out, re.S), run
        # The verification stack, created with the rotated passwords.
        assert re.search(r'rotatedStack\s+CREATE_COMPLETE', run.out), run
        after = restart_times()
        for unit in ('heat-api', 'heat-api-cfn', 'heat-engine'):
            assert after[unit] != before[unit], '%s was not restarted' % unit
        for unit in ('mariadb', 'keystone', 'rabbitmq-server'):
            assert after[unit] == before[unit], '%s was restarted' % unit
        rc, out = in_controller("grep -c '^auth_encryption_key = %s$' /etc/heat/heat.conf" % NEW_KEY)
        assert out.strip() == '1', out
        # The new passwords work where they are used.
        rc, out = in_controller("MYSQL_PWD='%s' mysql -h controller -u heat -N -e 'SELECT 1' heat"
                                % ROTATED['heat_db_password'])
        assert rc == 0, out
        rc, out = in_controller(
            ". /root/admin-openrc.sh && OS_USERNAME=heat OS_PROJECT_NAME=service OS_PASSWORD='%s' "
            'openstack token issue -f value -c id' % ROTATED['heat_keystone_password'])
        assert rc == 0, out
        # The stack made under the old key: its handle signals, it deletes.
        rc, out = in_controller("python3 - <<'EOF'\n%s\nEOF" % SIGNAL)
        assert rc == 0 and out.strip().endswith('200'), out
        rc, out = in_controller('. /root/demo-openrc.sh && openstack stack resource metadata keyStack handle')
        assert rc == 0 and 'after rotation' in out, out
        rc, out = delete_stack('keyStack')
        assert rc == 0, out
        rc, out = in_controller('. /root/demo-openrc.sh && openstack stack list -f value -c "Stack Name"')
        assert rc == 0 and 'keyStack' not in out, out
    finally:
        delete_stack_as_demo('keyStack')
        # Back to the inventory's key and passwords, the override removed, the same way.
        run = playbook('site.yml', '--skip-tags', 'verify', '--diff',
                       extra={'heat_auth_encryption_key_rotate': True, 'heat_conf_overrides': {'DEFAULT': {'debug': None}}})
        assert run.rc == 0, run
        assert secrets_in(run.out, new_secrets) == []
    rc, out = in_controller("MYSQL_PWD='%s' mysql -h controller -u heat -N -e 'SELECT 1' heat" % LAB['heat_db_password'])
    assert rc == 0, out
    rc, out = in_controller('. /root/admin-openrc.sh && openstack project list --domain heat -f value')
    assert rc == 0 and out.strip() == '', out
    run = playbook('site.yml')
    assert run.rc == 0, run
    assert changed_count(run.out) == 0, run


# What the guide's server needs, missing or refused, is named by
# the verification, not found by a stack timeout. These need the full
# catalog of the default scenario's lab.
def guide_template_copy(tmp_path, flavor):
    """templates/ with the guide's template booting FLAVOR instead of m1.tiny."""
    for name in ('test-stack.yml', 'smoke-stack.yml', 'cfn-wait-stack.yml'):
        text = (ROOT / 'templates' / name).read_text()
        (tmp_path / name).write_text(text.replace('"m1.tiny"', '"%s"' % flavor) if name == 'test-stack.yml' else text)
    return str(tmp_path)


@pytest.mark.parametrize('case', ['image', 'network', 'flavor'])
def test_a_missing_image_network_or_flavor_is_named(case, tmp_path):
    extra = {'image': {'heat_verify_image': 'no-such-image'},
             'network': {'heat_verify_network': 'no-such-net'},
             'flavor': {'heat_verify_templates_dir': guide_template_copy(tmp_path, 'm1.nosuch')}}[case]
    said = {'image': 'heat_verify_image: no image no-such-image is visible to demo (project demo)',
            'network': 'heat_verify_network: no network no-such-net is visible to demo (project demo)',
            'flavor': 'boots flavor m1.nosuch, which demo does not see'}[case]
    run = playbook('playbooks/verify.yml', extra=extra)
    assert run.rc != 0, run
    assert said in run.text, run
    assert 'Create the verification stack' not in run.out, 'a stack was tried: %r' % run


def admin_cli(command):
    rc, out = in_controller('. /root/admin-openrc.sh && openstack %s' % command)
    assert rc == 0, out
    return out


def test_a_quota_without_room_for_the_server_is_named():
    # The lab has no block storage: --compute only.
    before = json.loads(admin_cli('quota show --compute demo -f json'))
    instances = next(q['Limit'] for q in before if q['Resource'] == 'instances')
    admin_cli('quota set --instances 0 demo')
    try:
        run = playbook('playbooks/verify.yml')
        assert run.rc != 0, run
        assert "Project demo's compute quota has no room for one m1.tiny server: instances 0 used of 0, 1 needed" \
            in run.text, run
    finally:
        admin_cli('quota set --instances %s demo' % instances)


def test_a_server_that_goes_to_error_is_named_with_its_fault():
    # No compute host to schedule on: Nova puts the server in ERROR with the
    # scheduler's fault; the verification must report that, not a timeout.
    admin_cli('compute service set --disable controller nova-compute')
    try:
        run = playbook('playbooks/verify.yml')
        assert run.rc != 0, run
        assert 'No valid host was found' in run.out, run
        assert 'timed out' not in run.out, run
        assert "the guide's server did not boot" in run.text, run
    finally:
        admin_cli('compute service set --enable controller nova-compute')
    rc, out = in_controller('. /root/demo-openrc.sh && openstack stack list -f value -c "Stack Name"; openstack server list -f value')
    assert rc == 0 and out.strip() == '', 'the failed stack or its server was left: %s' % out
