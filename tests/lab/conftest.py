"""Fixtures for the lab tests; the tools are in labtools.py."""
import pytest

from labtools import in_controller


@pytest.fixture(scope='session', autouse=True)
def lab_controller_running():
    rc, out = in_controller('systemctl is-system-running --wait || true')
    if rc != 0:
        pytest.fail('the lab controller is not running (make lab, or molecule create/prepare): %s' % out)
