"""Bad TLS input fails in the validation step, before any change on any
controller, naming the variable and the URL: a CA that does not
sign Keystone's certificate, a URL whose host name the certificate does not
carry, an https URL with no CA the controllers trust. site.yml is run as an
operator runs it, with molecule's inventory plus the bad value."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import CONTROLLERS, SCENARIO

PROJECT = SCENARIO.parents[1]
PKI = Path(os.environ.get('MOLECULE_EPHEMERAL_DIRECTORY', '/nonexistent')) / 'pki'


def site(request, extra_vars):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1',
               ANSIBLE_LIBRARY=str(PROJECT / 'library'), ANSIBLE_MODULE_UTILS=str(PROJECT / 'module_utils'),
               ANSIBLE_ROLES_PATH=str(PROJECT / 'roles'))
    argv = ['ansible-playbook', '-i', request.config.option.ansible_inventory, str(PROJECT / 'site.yml'),
            '--extra-vars', json.dumps(extra_vars)]
    return subprocess.run(argv, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=900)


def state(node):
    """What a change would touch: heat.conf and the services' start times."""
    return {name: node(name).check_output(
        'sha256sum /etc/heat/heat.conf; systemctl show -p ActiveEnterTimestampMonotonic heat-api heat-api-cfn heat-engine')
        for name in CONTROLLERS}


CASES = {
    'unrelated CA': (lambda: {'heat_ca_bundle_content': (PKI / 'other-ca.pem').read_text()},
                     ['heat_keystone_internal_url', 'https://heat-vip:5000/v3', 'heat_ca_bundle_content',
                      'certificate verify failed']),
    'no CA the system trusts': (lambda: {'heat_ca_bundle_content': ''},
                                ['heat_keystone_internal_url', 'https://heat-vip:5000/v3', 'the system trust store',
                                 'certificate verify failed']),
    'Keystone name not in its certificate': (
        lambda: {'heat_keystone_internal_url': 'https://lb:5000', 'heat_keystone_public_url': 'https://lb:5000'},
        ['heat_keystone_internal_url', 'https://lb:5000/v3', 'Hostname mismatch']),
    'endpoint name not in its certificate': (
        lambda: {'heat_public_address': 'lb'},
        ['heat_public_protocol and heat_public_address', 'https://lb:8004', 'Hostname mismatch']),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_bad_tls_input_fails_in_validation_and_changes_nothing(request, node, case):
    make_vars, needles = CASES[case]
    before = state(node)
    run = site(request, make_vars())
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-3000:]
    failed = re.findall(r'fatal: \[[^\]]+\]: FAILED! =>.*?(?=\n\S|\Z)', out, re.S)
    assert failed, out[-3000:]
    # The first failure is the plan's (its Keystone part), and it says what to fix: every
    # failure shown is that task's, on the controllers where it failed.
    tasks = re.findall(r'TASK \[([^\]]+)\]', out.split('fatal:')[0])
    assert tasks and tasks[-1] == 'heat : Plan the run (this controller, the database, the brokers, Keystone)', \
        tasks[-3:]
    for needle in needles:
        assert needle in '\n'.join(failed), (needle, failed)
    # Nothing was installed, written or restarted.
    assert 'TASK [heat : Configure heat.conf]' not in out
    assert state(node) == before
