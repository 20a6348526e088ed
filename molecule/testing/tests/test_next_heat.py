"""The next Heat (Debian testing's 26; unstable's 27 with make molecule-unstable):
what the role follows there, beyond the shared tests (test_heat.py: no
[heat_api] listen options; test_verification.py: the CloudFormation wait
condition signalled through heat-api-cfn).

Upstream's ec2tokens fix is in this Heat: the role patches nothing, writes
the keystoneauth [ec2authtoken], and says that the lab's
heat_ec2token_fix: true (inventory/lab) is not needed here. A package
configure that rewrites heat.conf (Heat 27's heat-common) changes none of
the role's settings.
"""
from labtools import EC2TOKEN, changed_count, ec2token_has_mark, in_controller, playbook, task_changes


def test_ec2token_is_debians_own_file_with_upstreams_fix():
    assert ec2token_has_mark()
    # dpkg --verify lists the package's files that differ from the package.
    rc, out = in_controller('dpkg --verify python3-heat')
    assert EC2TOKEN not in out, out


def test_ec2authtoken_is_keystoneauth_without_the_legacy_options(heat_conf):
    assert heat_conf.get('ec2authtoken', 'auth_type').strip() == 'password'
    assert heat_conf.get('ec2authtoken', 'username').strip() == 'heat'
    # Deprecated in Heat 26 (unauthenticated requests), removed in 27.
    for legacy in ('auth_uri', 'allowed_auth_uris', 'ca_file', 'cert_file', 'key_file'):
        assert not heat_conf.has_option('ec2authtoken', legacy), legacy


def test_heat_ec2token_fix_is_named_as_not_needed_and_nothing_changes():
    run = playbook('site.yml', '--tags', 'heat-packages')
    assert run.rc == 0, run
    assert ("heat_ec2token_fix is true, but the installed Heat (heat-common 1:2" in run.text
            and "carries upstream's ec2tokens fix" in run.text
            and 'Nothing is patched; heat_ec2token_fix can be removed.' in run.text), run
    assert changed_count(run.out) == 0, run


def test_a_package_configure_that_rewrites_heat_conf_changes_no_setting():
    # Heat 27's heat-common merges heat.conf into its template on every
    # configure (pkgos_update_conf); 26's leaves it alone. Either way the
    # role's settings survive: the next run writes nothing, restarts each
    # service at most once (started before the file changed), and the run
    # after it changes nothing.
    rc, out = in_controller('DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall heat-common'
                            ' >/dev/null 2>&1')
    assert rc == 0, out
    run = playbook('site.yml', '--skip-tags', 'verify')
    assert run.rc == 0, run
    assert task_changes(run.out, 'Configure heat.conf') == 0, run
    for unit in ('heat-engine', 'heat-api', 'heat-api-cfn'):
        assert task_changes(run.out, 'Restart %s' % unit) <= 1, (unit, run)
    run = playbook('site.yml', '--skip-tags', 'verify')
    assert run.rc == 0, run
    assert changed_count(run.out) == 0, run
