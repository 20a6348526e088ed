"""Unit tests of library/openstack_get.py against the in-memory Keystone of
test_keystone_registration (at the HTTP transport), with one more service."""
import json
from urllib.parse import urlsplit

import pytest
import requests

import openstack_get
from conftest import AnsibleExitJson, AnsibleFailJson
from test_keystone_registration import (  # noqa: F401 - the fixtures come along
    ADMIN_PASSWORD, AUTH_URL, admin_auth, keystone, sleeps,
)

NETWORK_URL = 'http://neutron.test:9696/'


@pytest.fixture
def network(keystone, monkeypatch):
    """Neutron in the catalog (public, RegionOne), answering GETs with what was asked and the token seen."""
    service = keystone.add('services', {'name': 'neutron', 'type': 'network', 'enabled': True})
    keystone.add('endpoints', {'service_id': service['id'], 'interface': 'public', 'url': NETWORK_URL,
                               'region_id': 'RegionOne', 'region': 'RegionOne', 'enabled': True})
    keystone.add('endpoints', {'service_id': service['id'], 'interface': 'public', 'url': 'http://other:9696/',
                               'region_id': 'RegionTwo', 'region': 'RegionTwo', 'enabled': True})
    seen = []
    send = keystone.send

    def answer(request):
        url = urlsplit(request.url)
        if url.netloc != 'neutron.test:9696':
            return send(request)
        seen.append((request.url, request.headers.get('X-Auth-Token')))
        response = requests.Response()
        response.url, response.request = request.url, request
        if url.path == '/broken':
            response.status_code, response._content = 503, b'<html>down</html>'
        else:
            response.status_code = 200
            response._content = json.dumps({'ports': [], 'query': url.query}).encode()
            response.headers['Content-Type'] = 'application/json'
        return response
    monkeypatch.setattr(keystone, 'send', answer)
    return seen


@pytest.fixture
def get(module_args):
    def run(fail=False, **args):
        args.setdefault('auth', admin_auth(region_name='RegionOne', interface='public'))
        module_args(args)
        with pytest.raises(AnsibleFailJson if fail else AnsibleExitJson) as exc:
            openstack_get.main()
        return exc.value.args[0]
    return run


def test_the_token_is_described_never_returned(get, keystone, network):
    result = get()
    token = result['token']
    assert token['user']['name'] == 'admin' and token['project']['name'] == 'admin'
    assert token['project']['id'] == keystone.admin_project['id']
    assert token['roles'] == ['admin']
    assert token['catalog'] == {'identity': AUTH_URL, 'network': NETWORK_URL.rstrip('/')}
    assert token['services'] == ['identity', 'network']
    text = json.dumps(result)
    for secret in list(keystone.tokens) + [ADMIN_PASSWORD]:
        assert secret not in text
    assert result['changed'] is False


def test_requests_by_service_and_path_with_the_project(get, keystone, network):
    result = get(requests=[{'name': 'ports', 'service': 'network', 'path': '/v2.0/ports?project_id={project_id}'},
                           {'name': 'down', 'url': NETWORK_URL + 'broken'}])
    ports = result['answers']['ports']
    assert ports['status'] == 200 and ports['json']['query'] == 'project_id=%s' % keystone.admin_project['id']
    assert ports['url'] == NETWORK_URL + 'v2.0/ports?project_id=%s' % keystone.admin_project['id']
    assert result['answers']['down'] == {'url': NETWORK_URL + 'broken', 'status': 503, 'json': None}
    # the session's own token went with each request, one authentication for all
    assert [token in keystone.tokens for _url, token in network] == [True, True]
    assert len(keystone.auth_bodies) == 1


def test_refused_credentials_name_the_hint(get, keystone, network):
    result = get(fail=True, auth=admin_auth(password='wrong'), hint='Check heat_verify_demo_password.')
    assert result['cause'] == 'credentials'
    assert 'did not issue a token to user admin (domain Default) for project admin (domain Default)' in result['msg']
    assert result['msg'].endswith('Check heat_verify_demo_password.')
    assert network == []


def test_a_service_missing_from_the_catalog_is_named(get, keystone, network):
    result = get(fail=True, requests=[{'name': 'images', 'service': 'image', 'path': '/v2/images'}])
    assert result['cause'] == 'catalog'
    assert 'has no public image endpoint in region RegionOne (services: identity, network)' in result['msg']


def test_the_region_chooses_the_endpoint(get, keystone, network):
    result = get(auth=admin_auth(region_name='RegionTwo', interface='public'))
    assert result['token']['catalog'] == {'network': 'http://other:9696'}


def test_a_service_of_another_region_only_is_named_as_such(get, keystone, network):
    # RegionTwo has the network endpoint only: identity is elsewhere.
    result = get(fail=True, auth=admin_auth(region_name='RegionTwo', interface='public'),
                 requests=[{'name': 'who', 'service': 'identity', 'path': '/'}])
    assert result['msg'].endswith('has no public identity endpoint in region RegionTwo (services: network); identity '
                                  'has endpoints only in another region or for another interface')


class Access(object):
    """What describe() reads of a keystoneauth1 AccessInfo."""
    user_id, username, user_domain_name = 'u1', 'demo', 'Default'
    project_id, project_name, project_domain_name = 'p1', 'demo', 'Default'
    role_names = ['member']

    def __init__(self, catalog):
        self.service_catalog = type('Catalog', (), {'catalog': catalog})()


def endpoint(region, url, interface='public'):
    return {'interface': interface, 'region_id': region, 'region': region, 'url': url}


# A cloud whose RegionOne has everything, and RegionTwo only Heat.
TWO_REGIONS = [
    {'type': 'identity', 'endpoints': [endpoint('RegionOne', 'http://k:5000/v3/')]},
    {'type': 'compute', 'endpoints': [endpoint('RegionOne', 'http://nova:8774/v2.1')]},
    {'type': 'image', 'endpoints': [endpoint('RegionOne', 'http://glance:9292'),
                                    endpoint('RegionTwo', 'http://glance2:9292', 'internal')]},
    {'type': 'network', 'endpoints': [endpoint('RegionOne', 'http://neutron:9696')]},
    {'type': 'orchestration', 'endpoints': [endpoint('RegionOne', 'http://heat:8004/v1/%(tenant_id)s'),
                                            endpoint('RegionTwo', 'http://heat2:8004/v1/%(tenant_id)s')]},
]


def test_the_catalog_is_the_regions_and_the_services_every_regions():
    two = openstack_get.describe(Access(TWO_REGIONS), 'public', 'RegionTwo')
    # RegionTwo's image endpoint is internal: not the public catalog's.
    assert two['catalog'] == {'orchestration': 'http://heat2:8004/v1/%(tenant_id)s'}
    assert two['services'] == ['compute', 'identity', 'image', 'network', 'orchestration']
    one = openstack_get.describe(Access(TWO_REGIONS), 'public', 'RegionOne')
    assert sorted(one['catalog']) == ['compute', 'identity', 'image', 'network', 'orchestration']
    assert one['catalog']['identity'] == 'http://k:5000/v3'
    assert openstack_get.describe(Access(TWO_REGIONS), 'internal', 'RegionTwo')['catalog'] == {'image': 'http://glance2:9292'}
