"""The ec2token patches, the checksums the role trusts, and the
[ec2authtoken] options that follow what the installed code reads.

The patched files themselves are Debian's (not in the repository); the lab
applies the patches. Here: every patch names, in its header, the sha256 of
the file it was written for and of its result, and the table in
tasks/probe_found.yml says the same.
"""
import re
from pathlib import Path

import pytest
import yaml

from test_role_vars import render, trusted

ROLE = Path(__file__).resolve().parents[2] / 'roles' / 'heat'


def table():
    tasks = yaml.safe_load((ROLE / 'tasks' / 'probe_found.yml').read_text())
    classify = next(task for task in tasks if task['name'] == 'Classify the installed ec2token code')
    return classify['vars']['_heat_ec2token_patches']


@pytest.mark.parametrize('name', ['ec2token-heat19.patch', 'ec2token-heat24.patch'])
def test_each_patch_header_names_the_checksums_of_the_table(name):
    text = (ROLE / 'files' / name).read_text()
    header, _, diff = text.partition('\n--- a/heat/api/aws/ec2token.py\n')
    before, after = re.findall(r'sha256 (?:before|after):\n\s+([0-9a-f]{64})', header)
    entry = table()[before]
    assert entry['file'] == name
    assert entry['result'] == after
    # One file, and what upstream's fix adds.
    assert diff.startswith('+++ b/heat/api/aws/ec2token.py\n')
    assert "+ks_loading.register_auth_conf_options(cfg.CONF, 'ec2authtoken')" in diff
    assert '--- a/' not in diff


@pytest.mark.parametrize('ec2token, forced, expected', [
    (None, False, False),
    ({'state': 'patchable', 'cfn': False}, False, False),
    ({'state': 'unknown', 'cfn': False}, True, True),
    ({'state': 'patched', 'cfn': True}, False, True),
    ({'state': 'upstream', 'cfn': True}, False, True),
])
def test_keystoneauth_options_follow_the_installed_code(ec2token, forced, expected):
    extra = {'heat_ec2authtoken_keystoneauth': forced}
    if ec2token is not None:
        extra['_heat_ec2token'] = ec2token
    # The form _heat_conf writes (the section itself when the run has read the code or forces it).
    conf = render('Debian', "{{ _heat_conf_ec2authtoken_forms['keystoneauth' if _heat_ec2authtoken_keystoneauth | bool "
                            "else 'legacy'] }}", **extra)
    if ec2token is not None or forced:
        assert render('Debian', '{{ _heat_conf.ec2authtoken }}', **extra) == conf
    assert (conf['auth_type'] == 'password') is expected
    assert (conf['auth_uri'] is None) is expected
    assert (conf['username'] == 'heat') is expected


@pytest.mark.parametrize('found, state, cfn', [
    ('patched', 'patched', True),
    ('original', 'patchable', False),
    ('upstream', 'upstream', True),
])
def test_detection_alone_says_whether_the_code_reads_the_keystoneauth_options(found, state, cfn):
    # A run started past tasks/ec2token.yml (--start-at-task) has only the
    # detection: [ec2authtoken] must follow it, not fall back to auth_uri.
    tasks = yaml.safe_load((ROLE / 'tasks' / 'probe_found.yml').read_text())
    classify = next(task for task in tasks if task['name'] == 'Classify the installed ec2token code')
    before, entry = next(iter(table().items()))
    sha = {'patched': entry['result'], 'original': before, 'upstream': '0' * 64}[found]
    probe = {'ec2token': {'path': '/x/ec2token.py', 'sha256': sha, 'keystoneauth': found != 'original'}}
    fact = render('Debian', classify['ansible.builtin.set_fact']['_heat_ec2token'],
                  _heat_found=probe, **trusted(classify['vars']))
    assert (fact['state'], fact['cfn']) == (state, cfn)
    conf = render('Debian', '{{ _heat_conf }}', _heat_ec2token=fact)
    assert (conf['ec2authtoken']['auth_type'] == 'password') is cfn
