"""The next Heat (Debian testing's 26; unstable's 27 with make molecule-unstable):
what the role follows there, beyond the shared tests (test_heat.py: no
[heat_api] listen options; test_verification.py: the CloudFormation wait
condition signalled through heat-api-cfn).

Upstream's ec2tokens fix is in this Heat: the role patches nothing, writes
the keystoneauth [ec2authtoken], and says that the lab's
heat_ec2token_fix: true (inventory/lab) is not needed here.
"""
from labtools import changed_count, in_controller, playbook

EC2TOKEN = '/usr/lib/python3/dist-packages/heat/api/aws/ec2token.py'
MARKER = "register_auth_conf_options(cfg.CONF, 'ec2authtoken')"


def test_ec2token_is_debians_own_file_with_upstreams_fix():
    rc, out = in_controller('grep -cF "%s" %s' % (MARKER, EC2TOKEN))
    assert rc == 0 and int(out.strip()) > 0, out
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
