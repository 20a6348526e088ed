"""Against a prepared lab controller that has no Heat yet (molecule side_effect,
before converge): bad input fails early, clearly and changes nothing; check mode
touches nothing; a run killed after the package step is left for converge to
finish (molecule's converge, idempotence and verify steps then prove it did).
"""
import signal
import subprocess
import time

import pytest

from labtools import ROOT, in_controller, playbook, playbook_command, secrets_in

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
    ('database unreachable', {'heat_db_host': 'controller', 'heat_db_port': 3307, 'heat_db_wait_timeout': 6}, 'heat_db'),
    ('keystone unreachable', {'heat_keystone_internal_url': 'http://controller:5999', 'heat_keystone_wait_timeout': 6}, 'Keystone'),
    ('wrong admin password', {'heat_keystone_admin_password': 'not-the-admin-password'}, 'heat_keystone_admin'),
    # 32 characters, 64 bytes: Heat would fail every stack (Fernet key must be 32 bytes).
    ('encryption key of 32 non-ascii characters', {'heat_auth_encryption_key': '\u00e9' * 32},
     'heat_auth_encryption_key must be exactly 32 characters that are 32 bytes'),
]


@pytest.mark.parametrize('case,extra,names', BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_fails_before_any_change(untouched, case, extra, names):
    run = playbook('site.yml', extra=extra, timeout=300)
    assert run.rc != 0, run
    assert names in run.out, 'the failure does not name %s: %r' % (names, run)
    assert not secrets_in(run.out), run
    assert fingerprint() == untouched, '%s changed the controller' % case
    print('%s: failed as expected in %.1f s' % (case, run.seconds))


def test_check_mode_on_fresh_controller_changes_nothing(untouched):
    run = playbook('site.yml', '--check', '--diff', timeout=600)
    assert 'Traceback' not in run.out, run
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
