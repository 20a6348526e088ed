"""heat_ec2token_fix (on in inventory/lab) patches heat-api-cfn's
ec2token.py; a package reinstall that puts Debian's file back is repaired by
the next run, which restarts heat-api-cfn alone, once; the run after that
changes nothing. (The CloudFormation wait condition itself is signalled by
the role's verification on every converge.)
"""
from labtools import (EC2TOKEN, changed_count, ec2token_has_mark, heat_start_times, in_controller, playbook,
                      task_changes)


def test_the_converged_heat_api_cfn_is_patched_and_configured():
    assert ec2token_has_mark()
    rc, out = in_controller('grep -A12 "^\\[ec2authtoken\\]" /etc/heat/heat.conf | grep -E "^(auth_type|auth_uri|username) "')
    assert 'auth_type = password' in out and 'username = heat' in out, out
    assert 'auth_uri' not in out, out


def test_a_reinstalled_package_is_patched_again_and_heat_api_cfn_restarted_once():
    # The file belongs to python3-heat; heat-api-cfn's own package holds none
    # of the code, so its reinstall is followed by python3-heat's.
    rc, out = in_controller('DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall heat-api-cfn python3-heat'
                            ' >/dev/null 2>&1; dpkg -S %s' % EC2TOKEN)
    assert rc == 0 and out.startswith('python3-heat:'), out
    assert not ec2token_has_mark()
    before = heat_start_times()
    run = playbook('site.yml', '--skip-tags', 'verify')
    assert run.rc == 0, run
    assert ec2token_has_mark()
    assert task_changes(run.out, 'Restart heat-api-cfn') == 1, run
    assert task_changes(run.out, 'Restart heat-api') == 0, run
    assert task_changes(run.out, 'Restart heat-engine') == 0, run
    after = heat_start_times()
    assert after['heat-api'] == before['heat-api'] and after['heat-engine'] == before['heat-engine'], (before, after)
    assert after['heat-api-cfn'] != before['heat-api-cfn'], (before, after)


def test_the_run_after_the_repair_changes_nothing_and_signals_through_cfn():
    run = playbook('site.yml')
    assert run.rc == 0, run
    assert changed_count(run.out) == 0, run
    assert 'Pre-signed CloudFormation wait condition signalled through heat-api-cfn' in run.out, run
