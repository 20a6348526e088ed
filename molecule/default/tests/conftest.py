"""Shared helpers for the lab verifier: run OpenStack CLI calls inside the controller."""
import configparser
import json
import shlex
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / 'tests' / 'lab'))
from labtools import LAB  # noqa: E402  (after the path is set)


@pytest.fixture(scope='module')
def lab():
    """The lab's inventory values (passwords of a throw-away container)."""
    return LAB


@pytest.fixture(scope='module')
def heat_version(host):
    """heat-common's version and Heat's major release: ('1:24.0.0-2', 24)."""
    version = host.check_output("dpkg-query -W -f='${Version}' heat-common")
    return version, int(version.split(':')[-1].split('.')[0])


@pytest.fixture(scope='module')
def heat_conf(host):
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.read_string(host.file('/etc/heat/heat.conf').content_string)
    return parser


def openstack(host, args, openrc='/root/admin-openrc.sh', env=None):
    """Run `openstack ARGS -f json` with an openrc sourced; return parsed JSON."""
    prefix = ' '.join('%s=%s' % (k, shlex.quote(v)) for k, v in (env or {}).items())
    cmd = host.run('. %s && %s openstack %s -f json' % (openrc, prefix, args))
    assert cmd.rc == 0, 'openstack %s failed: %s' % (args, cmd.stderr)
    return json.loads(cmd.stdout)


@pytest.fixture(scope='module')
def admin(host):
    return lambda args, **kw: openstack(host, args, **kw)


@pytest.fixture(scope='module')
def demo(host):
    return lambda args, **kw: openstack(host, args, openrc='/root/demo-openrc.sh', **kw)
