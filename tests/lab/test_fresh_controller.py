"""Against a prepared lab controller that has no Heat yet (molecule side_effect,
before converge): bad input fails early, clearly and changes nothing; check mode
touches nothing; a run killed after the package step is left for converge to
finish (molecule's converge, idempotence and verify steps then prove it did).
"""
import signal
import subprocess
import time

import pytest

from labtools import LAB, ROOT, in_controller, playbook, playbook_command, secrets_in

FINGERPRINT = r'''
set -o nounset -o pipefail
dpkg-query -W -f='${Package} ${Status}\n' heat-api heat-api-cfn heat-engine 2>/dev/null | grep -c 'ok installed' || true
mysql -N -e "SHOW DATABASES LIKE 'heat'"
mysql -N -e "CHECKSUM TABLE keystone.password, keystone.project, keystone.role, keystone.assignment,
             keystone.service, keystone.endpoint, keystone.region"
# Not the whole user tables: Keystone itself counts failed logins there.
mysql -N -e "SELECT id, domain_id, enabled FROM keystone.user; SELECT user_id, name FROM keystone.local_user" | md5sum
md5sum /etc/heat/heat.conf 2>/dev/null || true
'''


def fingerprint():
    rc, out = in_controller(FINGERPRINT)
    assert rc == 0, out
    return out


@pytest.fixture(scope='module')
def untouched():
    before = fingerprint()
    assert before.startswith('0\n'), 'the controller already has Heat packages: %s' % before
    return before


# (case, extra vars, text(s) the failure must show). Every case fails in the
# checks before any change; the last ones need a real Keystone and RabbitMQ.
BAD_INPUT = [
    ('empty db password', {'heat_db_password': ''}, 'heat_db_password'),
    ('short encryption key', {'heat_auth_encryption_key': 'too-short'}, 'heat_auth_encryption_key'),
    ('keystone url not a url', {'heat_keystone_public_url': 'controller:5000'}, 'heat_keystone_public_url'),
    ('waitcondition url shape', {'heat_waitcondition_server_url': 'http://controller:8000/v1/wait'},
     'heat_waitcondition_server_url'),
    ('unsupported transport', {'heat_messaging_transport': 'kafka'}, 'heat_messaging_transport'),
    ('insane region name', {'heat_region': 'Region One/../x'}, 'heat_region'),
    ('non-scalar override', {'heat_conf_overrides': {'DEFAULT': {'debug': [True]}}}, 'heat_conf_overrides'),
    ('override section not a mapping', {'heat_conf_overrides': {'DEFAULT': 'debug=true'}}, 'heat_conf_overrides'),
    ('policy override not a string', {'heat_policy_overrides': {'stacks:delete': True}},
     'heat_policy_overrides: the check strings of stacks:delete must be strings'),
    ('override of an input', {'heat_conf_overrides': {'database': {'connection': 'mysql+pymysql://h:x@nohost.invalid/h'}}},
     ['heat_conf_overrides sets [database] connection', 'heat_db_host']),
    ('database unreachable', {'heat_db_host': 'controller', 'heat_db_port': 3307, 'heat_db_wait_timeout': 6}, 'heat_db'),
    ('keystone unreachable', {'heat_keystone_internal_url': 'http://controller:5999', 'heat_keystone_wait_timeout': 6},
     ['Keystone at http://controller:5999/v3 is unreachable', 'heat_keystone_internal_url']),
    ('wrong admin password', {'heat_keystone_admin_password': 'not-the-admin-password'},
     ['refused the credentials of user admin', 'heat_keystone_admin_password']),
    # The lab's RegionTwo exists but has no endpoints (prepare-infra.yml).
    ('region without identity endpoint', {'heat_region': 'RegionTwo'},
     ['no internal identity endpoint in region RegionTwo', 'heat_keystone_region',
      'Identity endpoints exist in: RegionOne']),
    # Worded by the Keystone check of a fresh controller or, where it has keystoneauth1
    # (the lab's has Keystone), by the registration's own check: both name
    # the region or project and the existing ones, and the role names the input.
    ('nonexistent region', {'heat_region': 'RegionNine'},
     ["region 'RegionNine'", 'does not exist in Keystone; existing regions: RegionOne, RegionTwo', 'check heat_region,']),
    ('nonexistent keystone region', {'heat_keystone_region': 'RegionNine'},
     ["region 'RegionNine'", 'does not exist in Keystone', 'check heat_keystone_region']),
    ('service project typo', {'heat_service_project': 'servcie'},
     ["project 'servcie'", 'does not exist', 'in domain Default', 'check heat_service_project']),
    ('wrong messaging password', {'heat_messaging_password': 'not-the-rabbit-password'},
     ['refused the login of user openstack (403 ACCESS_REFUSED', 'heat_messaging_password']),
    ('wrong messaging vhost', {'heat_messaging_vhost': '/nope'},
     ["access to virtual host '/nope' (530 NOT_ALLOWED", 'heat_messaging_vhost']),
    ('messaging unreachable', {'heat_messaging_port': 5673}, ['controller:5673 does not answer', 'heat_messaging_port']),
    # 32 characters, 64 bytes: Heat would fail every stack (Fernet key must be 32 bytes).
    ('encryption key of 32 non-ascii characters', {'heat_auth_encryption_key': '\u00e9' * 32},
     'heat_auth_encryption_key must be exactly 32 characters that are 32 bytes'),
]


@pytest.mark.parametrize('case,extra,names', BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_fails_before_any_change(untouched, case, extra, names):
    run = playbook('site.yml', extra=extra, timeout=300)
    assert run.rc != 0, run
    for name in [names] if isinstance(names, str) else names:
        assert name in run.out, 'the failure does not name %s: %r' % (name, run)
    # Neither the lab's secrets nor a wrong password given here may be printed.
    wrong = dict((k, v) for k, v in extra.items() if 'password' in k and v)
    assert not secrets_in(run.out, extra=wrong), run
    assert fingerprint() == untouched, '%s changed the controller' % case
    print('%s: failed as expected in %.1f s' % (case, run.seconds))


def test_check_mode_on_fresh_controller_changes_nothing(untouched):
    run = playbook('site.yml', '--check', '--diff', timeout=600)
    assert 'Traceback' not in run.out, run
    assert not secrets_in(run.out), run
    assert fingerprint() == untouched


COMMENTED_OPENRC = """# admin credentials, written by hand
export OS_USERNAME=admin   # the bootstrap admin
export OS_PASSWORD="%s"   # bootstrap
export OS_PROJECT_NAME='admin'
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_AUTH_URL=http://controller:5000/v3   # Keystone
"""


def test_openrc_with_trailing_comments_passes_the_checks(untouched):
    """The openrc is parsed as a shell would: a trailing `# bootstrap` is a comment, not part of the password.

    Check mode: the run goes past every check to the package step, and changes nothing.
    """
    path = '/root/commented-openrc.sh'
    rc, out = in_controller("umask 077; cat > %s <<'EOF'\n%sEOF" % (path, COMMENTED_OPENRC % LAB['lab_admin_password']))
    assert rc == 0, out
    try:
        # A wrong heat_keystone_admin_password proves the openrc is what is used.
        run = playbook('playbooks/heat.yml', '--check', timeout=600,
                       extra={'heat_keystone_admin_openrc': path, 'heat_keystone_admin_password': 'unused'})
    finally:
        in_controller('rm -f %s' % path)
    assert 'TASK [heat : Plan the run (this controller, the database, the brokers, Keystone)]' in run.out, run
    assert 'refused the credentials' not in run.out, run
    assert 'TASK [heat : Install the Orchestration packages' in run.out, run
    assert not secrets_in(run.out), run
    assert fingerprint() == untouched


def test_run_killed_after_package_install():
    """Kill site.yml right after the package step; converge must then finish the job."""
    cmd, env = playbook_command('site.yml')
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    installed = killed = False
    deadline = time.monotonic() + 1200
    for line in proc.stdout:
        if 'Install the Orchestration packages' in line:
            installed = True
        elif installed and line.startswith('TASK ['):
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
        assert time.monotonic() < deadline, 'site.yml did not reach the package step in time'
    proc.wait()
    assert killed, 'site.yml ended before it could be killed (rc=%s)' % proc.returncode
    rc, out = in_controller("dpkg-query -W -f='${Status}' heat-engine")
    assert 'ok installed' in out
    rc, out = in_controller("mysql -N -e \"SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='heat'\"")
    assert out.strip() == '0', 'db_sync ran before the kill: the test no longer interrupts half-way'
