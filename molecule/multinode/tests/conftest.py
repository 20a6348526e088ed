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
KEYSTONE = 'http://infra:5000/v3'


def _vars(path):
    return yaml.safe_load((SCENARIO / 'group_vars' / path).read_text())


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


def os_env(lab, user):
    """OS_* variables for the admin or the demo user (project of the same name)."""
    return {
        'OS_AUTH_URL': KEYSTONE, 'OS_IDENTITY_API_VERSION': '3', 'OS_REGION_NAME': 'RegionOne',
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
    return lambda args: openstack(node('controller1'), args, os_env(lab, 'admin'))
