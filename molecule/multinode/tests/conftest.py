"""Helpers for the multinode verifier: reach any instance, run OpenStack calls."""
import configparser
import json
import shlex
from pathlib import Path

import pytest
import testinfra
import yaml

SCENARIO = Path(__file__).resolve().parents[1]
CONTROLLERS = ['controller1', 'controller2']
# Every client reaches Keystone through the load balancer, over TLS.
KEYSTONE = 'https://heat-vip:5000/v3'
# The lab CA: in infra's and lb's trust store (prepare.yml); on the
# controllers only where the heat role puts it (heat_ca_bundle_content).
CA = {'infra': '/usr/local/share/ca-certificates/heat-lab-ca.crt',
      'lb': '/usr/local/share/ca-certificates/heat-lab-ca.crt'}
CONTROLLER_CA = '/etc/heat/ca-bundle.pem'


def ca_path(name):
    """Where the lab CA is on instance `name`."""
    return CA.get(name, CONTROLLER_CA)


def _vars(path):
    return yaml.safe_load((SCENARIO / 'group_vars' / path).read_text())


def backend_scheme():
    """https when the controllers serve TLS behind haproxy (lab_heat_backend_tls)."""
    return 'https' if _vars('all/lab.yml')['lab_heat_backend_tls'] else 'http'


@pytest.fixture(scope='session')
def lab():
    """The scenario's lab values (passwords of throw-away containers)."""
    return _vars('all/lab.yml')


@pytest.fixture(scope='session')
def node(request):
    """node('controller2'): a testinfra host for any instance of the scenario."""
    inventory = request.config.option.ansible_inventory
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = testinfra.get_host('ansible://%s' % name, ansible_inventory=inventory)
        return cache[name]
    return get


def heat_conf(host):
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.read_string(host.file('/etc/heat/heat.conf').content_string)
    return parser


def openstack(host, args, env):
    """`openstack ARGS -f json` with the OS_* variables of env; parsed JSON."""
    prefix = ' '.join('%s=%s' % (k, shlex.quote(v)) for k, v in env.items())
    cmd = host.run('env %s openstack %s -f json' % (prefix, args))
    assert cmd.rc == 0, 'openstack %s on %s failed: %s' % (args, host.backend.get_hostname(), cmd.stderr)
    return json.loads(cmd.stdout)


def os_env(lab, user, where='infra'):
    """OS_* variables for the admin or the demo user (project of the same name),
    for the openstack CLI on instance `where` (its copy of the CA)."""
    return {
        'OS_AUTH_URL': KEYSTONE, 'OS_CACERT': ca_path(where), 'OS_IDENTITY_API_VERSION': '3', 'OS_REGION_NAME': 'RegionOne',
        'OS_USERNAME': user, 'OS_PROJECT_NAME': user,
        'OS_USER_DOMAIN_NAME': 'Default', 'OS_PROJECT_DOMAIN_NAME': 'Default',
        'OS_PASSWORD': lab['lab_%s_password' % user],
    }


@pytest.fixture(scope='session')
def admin(node, lab):
    """Admin CLI on infra (Keystone objects)."""
    return lambda args: openstack(node('infra'), args, os_env(lab, 'admin'))


@pytest.fixture(scope='session')
def heat_admin(node, lab):
    """Admin CLI on controller1, which has the Orchestration client."""
    return lambda args: openstack(node('controller1'), args, os_env(lab, 'admin', 'controller1'))


def https_get(host, url, cafile=None, timeout=10):
    """GET url from `host` with Python's ssl defaults (system trust store, or
    only `cafile`); returns (status or None, body or error text)."""
    script = (
        'import ssl, sys, urllib.request, urllib.error\n'
        'try:\n'
        '    ctx = ssl.create_default_context(cafile=sys.argv[2] or None)\n'
        '    r = urllib.request.urlopen(sys.argv[1], timeout=%d, context=ctx)\n'
        '    print(r.status); print(r.read().decode(errors="replace"))\n'
        'except urllib.error.HTTPError as e:\n'
        '    print(e.code); print(e.read().decode(errors="replace"))\n'
        'except Exception as e:\n'
        '    print("ERROR"); print(type(e).__name__, e)\n' % timeout)
    cmd = host.run('python3 -c %s %s %s' % (shlex.quote(script), shlex.quote(url), shlex.quote(cafile or '')))
    first, _, rest = cmd.stdout.partition('\n')
    assert first, 'no answer from the GET of %s: %s' % (url, cmd.stderr)
    return (None if first == 'ERROR' else int(first)), rest


def haproxy_stat(node):
    """haproxy's `show stat` on lb: {(proxy, server): row as a dict}."""
    out = node('lb').check_output('echo "show stat" | socat stdio /run/haproxy/admin.sock')
    lines = [line for line in out.splitlines() if line.strip()]
    header = lines[0].lstrip('# ').split(',')
    rows = [dict(zip(header, line.split(','))) for line in lines[1:]]
    return {(r['pxname'], r['svname']): r for r in rows}
