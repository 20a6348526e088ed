"""The role's per-OS-family values, rendered as Ansible renders them.

The RHEL family cannot be run here (no mirror is reachable), so what differs
by family is checked where it is computed: defaults/main.yml and
vars/main.yml, templated with the facts of each family.
"""
from pathlib import Path

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLE = Path(__file__).resolve().parents[2] / 'roles' / 'heat'

SECRETS = {name: 'x' for name in ('heat_db_password', 'heat_keystone_password', 'heat_domain_admin_password',
                                  'heat_messaging_password', 'heat_keystone_admin_password')}


def trusted(value):
    """As Ansible treats a role's own files: their strings are templates."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [trusted(item) for item in value]
    return value


def render(os_family, expression, **extra):
    loader = DataLoader()
    variables = {}
    for name in ('defaults/main.yml', 'vars/main.yml'):
        variables.update(trusted(loader.load_from_file(str(ROLE / name))))
    variables.update(SECRETS, heat_auth_encryption_key='k' * 32, inventory_hostname='controller1',
                     role_path=str(ROLE), ansible_check_mode=False,
                     ansible_facts={'os_family': os_family, 'processor_vcpus': 2})
    variables.update(extra)
    return Templar(loader=loader, variables=variables).template(trust_as_template(expression))


@pytest.mark.parametrize('family,socket', [
    ('Debian', '/run/mysqld/mysqld.sock'),
    ('RedHat', '/var/lib/mysql/mysql.sock'),
])
def test_database_socket_follows_the_os_family(family, socket):
    assert render(family, '{{ heat_db_login_unix_socket }}') == socket


def test_an_operator_socket_wins():
    assert render('RedHat', '{{ heat_db_login_unix_socket }}', heat_db_login_unix_socket='/tmp/my.sock') == '/tmp/my.sock'


@pytest.mark.parametrize('family,names', [
    ('Debian', {'api': 'heat-api', 'cfn': 'heat-api-cfn', 'engine': 'heat-engine'}),
    ('RedHat', {'api': 'openstack-heat-api', 'cfn': 'openstack-heat-api-cfn', 'engine': 'openstack-heat-engine'}),
])
def test_service_names_follow_the_os_family(family, names):
    assert render(family, '{{ _heat_service_names }}') == names


@pytest.mark.parametrize('family,packages', [
    ('Debian', {'heat-api', 'heat-api-cfn', 'heat-engine', 'python3-heatclient'}),
    ('RedHat', {'openstack-heat-api', 'openstack-heat-api-cfn', 'openstack-heat-engine', 'python3-heatclient'}),
])
def test_packages_follow_the_os_family(family, packages):
    rendered = render(family, '{{ _heat_package_list }}')
    assert packages <= set(rendered)
    assert any(name.startswith('openstack-') for name in rendered) == (family == 'RedHat')


def test_eventlet_listeners_are_configured_for_rhel():
    # RHEL runs heat-api as an eventlet server that reads bind_host/bind_port;
    # Debian's uwsgi listen line is written only on Debian (tasks/config.yml).
    conf = render('RedHat', '{{ _heat_conf }}', heat_bind_host='192.0.2.5', heat_api_port=8104)
    assert conf['heat_api'] == {'bind_host': '192.0.2.5', 'bind_port': '8104'}
