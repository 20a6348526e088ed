"""Unit tests of library/keystone_registration.py against an in-memory Keystone.

The fake Keystone sits at the HTTP transport (requests' HTTPAdapter.send, where
requests_mock would sit): keystoneauth1 and keystoneclient run unmodified, so the
requests counted here are the requests a real Keystone would receive.
"""
import copy
import json
import os
import re
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from ansible.module_utils import basic
from ansible.module_utils import keystone_api

import keystone_registration
from conftest import AnsibleExitJson, AnsibleFailJson

AUTH_URL = 'http://keystone.test:5000/v3'
ADMIN_PASSWORD = 'Adm1n-S3cret#x'
HEAT_PASSWORD = 'H3at-Pa55-word'
HDA_PASSWORD = 'D0main-Adm1n-pw'
HEAT_URL = 'http://controller:8004/v1/%(tenant_id)s'
CFN_URL = 'http://controller:8000/v1'
WRITE_METHODS = ('POST', 'PATCH', 'PUT', 'DELETE')


# --------------------------------------------------------------------------- fake Keystone

class FakeKeystone(object):
    """The part of Keystone's /v3 REST API that keystoneclient uses here.

    Names compare case-insensitively, as in Keystone's MySQL database; list filters
    (name, domain_id, type, service_id, interface, region_id) narrow results; unknown
    ids answer 404, duplicate names 409, bad references 400; every request needs a
    project-scoped token except POST /v3/auth/tokens.
    """

    SINGULAR = {'domains': 'domain', 'projects': 'project', 'users': 'user', 'roles': 'role',
                'services': 'service', 'endpoints': 'endpoint', 'regions': 'region'}
    FILTERS = ('name', 'domain_id', 'type', 'service_id', 'interface', 'region_id', 'enabled')

    def __init__(self):
        self.data = dict((kind, {}) for kind in self.SINGULAR)
        self.passwords = {}
        self.grants = set()
        self.tokens = {}
        self.log = []            # (method, path, query dict, body)
        self.auth_bodies = []    # bodies of POST /v3/auth/tokens
        self.down = 0            # >0: that many requests fail to connect; -1: always
        self.untrusted = False   # True: every request fails TLS verification
        self.inherited = set()   # (user_id, role_id, 'domain', domain_id) inherited to projects
        self.inject = {}         # (method, path) -> list of statuses to answer instead, once each
        self.forbidden = False   # admin lacks rights: every API call answers 403
        self.add('regions', {'id': 'RegionOne', 'description': '', 'parent_region_id': None})
        self.add('domains', {'id': 'default', 'name': 'Default', 'description': 'The default domain',
                             'enabled': True})
        self.admin_project = self.add('projects', {'name': 'admin', 'domain_id': 'default', 'description': '',
                                                   'enabled': True, 'parent_id': 'default', 'is_domain': False})
        # The guide's prerequisite: the service project exists (it is referenced, never created).
        self.service_project = self.add('projects', {'name': 'service', 'domain_id': 'default',
                                                     'description': 'Service Project', 'enabled': True,
                                                     'parent_id': 'default', 'is_domain': False})
        self.admin = self.add_user('admin', 'default', ADMIN_PASSWORD)
        self.admin_role = self.add('roles', {'name': 'admin', 'domain_id': None})
        self.grants.add((self.admin['id'], self.admin_role['id'], 'project', self.admin_project['id']))
        keystone = self.add('services', {'name': 'keystone', 'type': 'identity', 'enabled': True})
        for interface in ('public', 'internal', 'admin'):
            self.add('endpoints', {'service_id': keystone['id'], 'interface': interface, 'url': AUTH_URL + '/',
                                   'region_id': 'RegionOne', 'region': 'RegionOne', 'enabled': True})

    # -- state helpers used by tests

    def add(self, kind, entity):
        entity = dict(entity)
        entity.setdefault('id', uuid.uuid4().hex)
        self.data[kind][entity['id']] = entity
        return entity

    def add_user(self, name, domain_id, password, **extra):
        user = dict(name=name, domain_id=domain_id, enabled=True, password_expires_at=None, options={})
        user.update(extra)
        user = self.add('users', user)
        if password is not None:
            self.passwords[user['id']] = password
        return user

    def find(self, kind, **attrs):
        hits = [e for e in self.data[kind].values() if all(e.get(k) == v for k, v in attrs.items())]
        assert len(hits) == 1, '%s %r: %d found' % (kind, attrs, len(hits))
        return hits[0]

    def count(self, kind, **attrs):
        return len([e for e in self.data[kind].values() if all(e.get(k) == v for k, v in attrs.items())])

    @property
    def writes(self):
        return [(m, p) for m, p, _q, _b in self.log if m in WRITE_METHODS and p != '/v3/auth/tokens']

    def gets(self, path):
        return [q for m, p, q, _b in self.log if m == 'GET' and p == path]

    # -- transport

    def send(self, request):
        if self.untrusted:
            raise requests.exceptions.SSLError('[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed')
        if self.down:
            self.down -= 1 if self.down > 0 else 0
            raise requests.exceptions.ConnectionError('[Errno 111] Connection refused')
        url = urlsplit(request.url)
        query = dict((k, v[0]) for k, v in parse_qs(url.query).items())
        body = request.body
        if isinstance(body, bytes):
            body = body.decode('utf-8')
        body = json.loads(body) if body else None
        self.log.append((request.method, url.path, query, body))
        injected = self.inject.get((request.method, url.path))
        if injected:
            status = injected.pop(0)
            response = requests.Response()
            response.status_code, response._content, response.url = status, b'', request.url
            response.request, response.reason = request, 'Service Unavailable'
            return response
        status, headers, payload = self.route(request.method, url.path.rstrip('/') or '/', query, body,
                                              request.headers)
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict(headers)
        if payload is not None:
            response._content = json.dumps(payload).encode('utf-8')
            response.headers['Content-Type'] = 'application/json'
        else:
            response._content = b''
        response.encoding = 'utf-8'
        response.url = request.url
        response.request = request
        response.reason = {200: 'OK', 201: 'Created', 204: 'No Content'}.get(status, 'Error')
        return response

    @staticmethod
    def error(status, message):
        titles = {400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict'}
        return status, {}, {'error': {'code': status, 'title': titles[status], 'message': message}}

    def route(self, method, path, query, body, headers):
        if path == '/v3' and method == 'GET':
            return 200, {}, {'version': {'id': 'v3.14', 'status': 'stable', 'updated': '2020-04-07T00:00:00Z',
                                         'links': [{'rel': 'self', 'href': AUTH_URL + '/'}],
                                         'media-types': [{'base': 'application/json',
                                                          'type': 'application/vnd.openstack.identity-v3+json'}]}}
        if not (path + '/').startswith('/v3/'):
            return self.error(404, 'The resource could not be found.')
        if path == '/v3/auth/tokens' and method == 'POST':
            return self.authenticate(body)
        token = self.tokens.get(headers.get('X-Auth-Token'))
        if not token or not token.get('project_id'):
            return self.error(401, 'The request you have made requires authentication.')
        if self.forbidden:
            return self.error(403, 'You are not authorized to perform the requested action.')
        match = re.match(r'^/v3/(projects|domains)/([^/]+)/users/([^/]+)/roles/([^/]+)$', path)
        if match and method == 'PUT':
            return self.grant(*match.groups())
        if path == '/v3/role_assignments' and method == 'GET':
            return self.list_assignments(query)
        match = re.match(r'^/v3/(\w+)(?:/([^/]+))?$', path)
        if not match or match.group(1) not in self.SINGULAR:
            return self.error(404, 'Could not find %s.' % path)
        kind, ident = match.groups()
        if ident is None and method == 'GET':
            if kind == 'roles' and 'domain_id' not in query:   # Keystone lists global roles only
                query = dict(query, domain_id='None')
            return 200, {}, {kind: [self.show(kind, e) for e in self.data[kind].values() if self.matches(e, query)],
                             'links': {'self': AUTH_URL + '/' + kind, 'previous': None, 'next': None}}
        if ident is None and method == 'POST':
            return self.create(kind, body[self.SINGULAR[kind]])
        entity = self.data[kind].get(ident)
        if entity is None:
            return self.error(404, 'Could not find %s: %s.' % (self.SINGULAR[kind], ident))
        if method == 'GET':
            return 200, {}, {self.SINGULAR[kind]: self.show(kind, entity)}
        if method == 'PATCH':
            return self.update(kind, entity, body[self.SINGULAR[kind]])
        if method == 'DELETE':
            del self.data[kind][ident]
            return 204, {}, None
        return self.error(400, 'unsupported %s %s' % (method, path))

    def matches(self, entity, query):
        for key in self.FILTERS:
            if key not in query:
                continue
            value = entity.get(key)
            if key == 'name':
                if (value or '').lower() != query[key].lower():
                    return False
            elif key == 'enabled':
                if bool(value) != (query[key].lower() == 'true'):
                    return False
            elif str(value) != query[key]:
                return False
        return True

    def show(self, kind, entity):
        shown = copy.deepcopy(entity)
        shown['links'] = {'self': '%s/%s/%s' % (AUTH_URL, kind, entity['id'])}
        return shown

    def conflict(self, kind, entity, ignore=None):
        def same(other):
            if other['id'] == ignore or (other.get('name') or '').lower() != (entity.get('name') or '').lower():
                return False
            if kind in ('projects', 'users'):
                return other.get('domain_id') == entity.get('domain_id')
            if kind == 'roles':
                return other.get('domain_id') == entity.get('domain_id')
            return kind == 'domains'
        if kind in ('domains', 'projects', 'users', 'roles') and any(same(o) for o in self.data[kind].values()):
            return self.error(409, 'Conflict occurred attempting to store %s - Duplicate entry.'
                              % self.SINGULAR[kind])
        return None

    def check_refs(self, kind, entity):
        if kind in ('projects', 'users') and entity.get('domain_id') not in self.data['domains']:
            return self.error(400, 'Domain %s not found' % entity.get('domain_id'))
        if kind == 'endpoints':
            if entity.get('service_id') not in self.data['services']:
                return self.error(400, 'Service %s not found' % entity.get('service_id'))
            if entity.get('interface') not in ('public', 'internal', 'admin'):
                return self.error(400, 'Invalid interface')
            if not entity.get('url'):
                return self.error(400, "'url' is a required property")
            if entity.get('region_id') not in self.data['regions']:
                return self.error(400, 'Region %s not found' % entity.get('region_id'))
        if kind == 'services' and not entity.get('type'):
            return self.error(400, "'type' is a required property")
        return None

    def create(self, kind, fields):
        entity = dict(fields)
        if not entity.get('name') and kind != 'endpoints':
            return self.error(400, "'name' is a required property")
        password = entity.pop('password', None)
        if kind == 'users':
            entity.setdefault('domain_id', 'default')
            entity.setdefault('password_expires_at', None)
            entity.setdefault('options', {})
        if kind == 'projects':
            entity.setdefault('parent_id', entity.get('domain_id'))
            entity.setdefault('is_domain', False)
        if kind == 'roles':
            entity.setdefault('domain_id', None)
        if kind == 'endpoints':
            entity['region_id'] = entity.get('region_id') or entity.get('region')
            entity['region'] = entity['region_id']
        entity.setdefault('enabled', True) if kind != 'roles' else None
        failure = self.check_refs(kind, entity) or self.conflict(kind, entity)
        if failure:
            return failure
        entity = self.add(kind, entity)
        if password is not None:
            self.passwords[entity['id']] = password
        return 201, {}, {self.SINGULAR[kind]: self.show(kind, entity)}

    def update(self, kind, entity, fields):
        fields = dict(fields)
        password = fields.pop('password', None)
        for key in ('id', 'domain_id'):
            if key in fields and fields[key] != entity.get(key):
                return self.error(400, 'cannot change %s' % key)
        candidate = dict(entity)
        candidate.update(fields)
        if kind == 'endpoints' and 'region_id' in fields:
            candidate['region'] = candidate['region_id']
        failure = self.check_refs(kind, candidate) or self.conflict(kind, candidate, ignore=entity['id'])
        if failure:
            return failure
        entity.clear()
        entity.update(candidate)
        if password is not None:
            self.passwords[entity['id']] = password
        return 200, {}, {self.SINGULAR[kind]: self.show(kind, entity)}

    def grant(self, target, target_id, user_id, role_id):
        if target_id not in self.data[target] or user_id not in self.data['users'] \
                or role_id not in self.data['roles']:
            return self.error(404, 'Could not find %s, user or role.' % target[:-1])
        self.grants.add((user_id, role_id, target[:-1], target_id))
        return 204, {}, None

    def list_assignments(self, query):
        found = []
        for user_id, role_id, target, target_id in sorted(self.grants):
            if 'user.id' in query and query['user.id'] != user_id:
                continue
            if 'role.id' in query and query['role.id'] != role_id:
                continue
            if query.get('scope.project.id') not in (None, target_id if target == 'project' else None):
                continue
            found.append({'role': {'id': role_id}, 'user': {'id': user_id},
                          'scope': {target: {'id': target_id}},
                          'links': {'assignment': '%s/%ss/%s/users/%s/roles/%s'
                                                  % (AUTH_URL, target, target_id, user_id, role_id)}})
        for user_id, role_id, target, target_id in sorted(self.inherited):
            if query.get('user.id') in (None, user_id):
                found.append({'role': {'id': role_id}, 'user': {'id': user_id},
                              'scope': {target: {'id': target_id}, 'OS-INHERIT:inherited_to': 'projects'},
                              'links': {'assignment': 'x'}})
        return 200, {}, {'role_assignments': found,
                         'links': {'self': AUTH_URL + '/role_assignments', 'previous': None, 'next': None}}

    def authenticate(self, body):
        self.auth_bodies.append(body)
        unauthorized = self.error(401, 'The request you have made requires authentication.')
        try:
            identity = body['auth']['identity']
            assert identity['methods'] == ['password']
            given = identity['password']['user']
        except (KeyError, TypeError, AssertionError):
            return self.error(400, 'bad auth request')
        user = None
        if 'id' in given:
            user = self.data['users'].get(given['id'])
        else:
            domain_ref = given.get('domain') or {}
            domain = self._domain(domain_ref)
            if domain is not None:
                user = next((u for u in self.data['users'].values()
                             if u['domain_id'] == domain['id'] and u['name'].lower() == given['name'].lower()),
                            None)
        if user is None or not user.get('enabled', True) or self.passwords.get(user['id']) != given.get('password'):
            return unauthorized
        domain = self.data['domains'][user['domain_id']]
        if not domain.get('enabled', True):
            return unauthorized
        token = {'methods': ['password'], 'audit_ids': [uuid.uuid4().hex[:22]],
                 'expires_at': '2099-01-01T00:00:00.000000Z', 'issued_at': '2025-01-01T00:00:00.000000Z',
                 'user': {'id': user['id'], 'name': user['name'], 'password_expires_at': None,
                          'domain': {'id': domain['id'], 'name': domain['name']}}}
        scope = body['auth'].get('scope')
        project = None
        if isinstance(scope, dict) and 'project' in scope:
            ref = scope['project']
            if 'id' in ref:
                project = self.data['projects'].get(ref['id'])
            else:
                pdomain = self._domain(ref.get('domain') or {})
                project = next((p for p in self.data['projects'].values()
                                if pdomain and p['domain_id'] == pdomain['id'] and p['name'] == ref.get('name')),
                               None)
            roles = [r for (u, r, t, tid) in self.grants if u == user['id'] and t == 'project'
                     and project and tid == project['id']]
            if project is None or not roles:
                return unauthorized
            token['project'] = {'id': project['id'], 'name': project['name'],
                                'domain': {'id': project['domain_id'],
                                           'name': self.data['domains'][project['domain_id']]['name']}}
            token['roles'] = [{'id': r, 'name': self.data['roles'][r]['name']} for r in roles]
            token['catalog'] = self.catalog()
        elif scope not in (None, 'unscoped'):
            return self.error(400, 'unsupported scope in fake')
        token_id = uuid.uuid4().hex
        self.tokens[token_id] = {'user_id': user['id'], 'project_id': project['id'] if project else None}
        return 201, {'X-Subject-Token': token_id}, {'token': token}

    def _domain(self, ref):
        if 'id' in ref:
            return self.data['domains'].get(ref['id'])
        return next((d for d in self.data['domains'].values() if d['name'] == ref.get('name')), None)

    def catalog(self):
        catalog = []
        for service in self.data['services'].values():
            endpoints = [{'id': e['id'], 'interface': e['interface'], 'region': e['region_id'],
                          'region_id': e['region_id'], 'url': e['url']}
                         for e in self.data['endpoints'].values() if e['service_id'] == service['id']]
            catalog.append({'id': service['id'], 'type': service['type'], 'name': service.get('name'),
                            'endpoints': endpoints})
        return catalog


# --------------------------------------------------------------------------- fixtures

@pytest.fixture
def keystone(monkeypatch):
    fake = FakeKeystone()
    monkeypatch.setattr(requests.adapters.HTTPAdapter, 'send',
                        lambda adapter, request, **kwargs: fake.send(request))
    for name in list(os.environ):
        if name.startswith('OS_'):
            monkeypatch.delenv(name)
    return fake


@pytest.fixture
def sleeps(monkeypatch):
    """Record retry back-off instead of sleeping (module_utils looks time.sleep up at call time)."""
    slept = []
    monkeypatch.setattr('ansible.module_utils.openstack_auth.time.sleep', slept.append)
    return slept


@pytest.fixture
def warnings(monkeypatch):
    seen = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, warning, **kw: seen.append(warning))
    return seen


@pytest.fixture
def run(module_args, keystone, sleeps, warnings):
    """run(spec, check=False, diff=False, fail=False) -> result dict; keystone.log is per-run in run.log."""
    def _run(spec, check=False, diff=False, fail=False, auth=True):
        args = dict(spec)
        if auth and 'auth' not in args and 'openrc' not in args:
            args['auth'] = admin_auth()
        args['_ansible_check_mode'] = check
        args['_ansible_diff'] = diff
        start = len(keystone.log)
        module_args(args)
        with pytest.raises(AnsibleFailJson if fail else AnsibleExitJson) as exc:
            keystone_registration.main()
        _run.log = keystone.log[start:]
        _run.writes = [(m, p) for m, p, _q, _b in _run.log if m in WRITE_METHODS and p != '/v3/auth/tokens']
        return exc.value.args[0]
    return _run


def admin_auth(**overrides):
    auth = dict(auth_url=AUTH_URL, username='admin', password=ADMIN_PASSWORD, project_name='admin',
                user_domain_name='Default', project_domain_name='Default')
    auth.update(overrides)
    return auth


def heat_spec(**overrides):
    """The registration the heat role performs (the interface's example)."""
    spec = dict(
        region='RegionOne',
        domains=[{'name': 'heat', 'description': 'Stack projects and users'}],
        users=[
            {'name': 'heat', 'domain': 'Default', 'password': HEAT_PASSWORD, 'default_project': 'service',
             'default_project_domain': 'Default', 'description': 'Heat service user', 'update_password': 'always'},
            {'name': 'heat_domain_admin', 'domain': 'heat', 'password': HDA_PASSWORD, 'update_password': 'always'},
        ],
        roles=['heat_stack_user', {'name': 'heat_stack_owner'}],
        role_assignments=[
            {'user': 'heat', 'user_domain': 'Default', 'role': 'admin', 'project': 'service',
             'project_domain': 'Default'},
            {'user': 'heat_domain_admin', 'user_domain': 'heat', 'role': 'admin', 'domain': 'heat'},
        ],
        services=[{'name': 'heat', 'type': 'orchestration', 'description': 'Orchestration'},
                  {'name': 'heat-cfn', 'type': 'cloudformation', 'description': 'Orchestration'}],
        endpoints=[{'service': 'heat', 'interface': i, 'url': HEAT_URL} for i in ('public', 'internal', 'admin')]
        + [{'service': 'heat-cfn', 'interface': i, 'url': CFN_URL} for i in ('public', 'internal', 'admin')],
    )
    spec.update(overrides)
    return spec


EXPECTED_CREATES = [
    'created domain heat',
    'created role heat_stack_user',
    'created role heat_stack_owner',
    'created user heat in domain Default',
    'created user heat_domain_admin in domain heat',
    'granted role admin to user heat (domain Default) on project service (domain Default)',
    'granted role admin to user heat_domain_admin (domain heat) on domain heat',
    'created service heat (orchestration)',
    'created service heat-cfn (cloudformation)',
    'created endpoint heat public RegionOne',
    'created endpoint heat internal RegionOne',
    'created endpoint heat admin RegionOne',
    'created endpoint heat-cfn public RegionOne',
    'created endpoint heat-cfn internal RegionOne',
    'created endpoint heat-cfn admin RegionOne',
]


# --------------------------------------------------------------------------- create

def test_creates_everything_on_an_empty_keystone(run, keystone):
    result = run(heat_spec())

    assert result['changed'] is True
    assert result['changes'] == EXPECTED_CREATES
    assert len(run.writes) == 15
    heat_domain = keystone.find('domains', name='heat')
    assert heat_domain['description'] == 'Stack projects and users'
    service_project = keystone.find('projects', name='service', domain_id='default')
    heat = keystone.find('users', name='heat', domain_id='default')
    assert heat['default_project_id'] == service_project['id']
    assert heat['description'] == 'Heat service user'
    assert keystone.passwords[heat['id']] == HEAT_PASSWORD
    hda = keystone.find('users', name='heat_domain_admin', domain_id=heat_domain['id'])
    assert keystone.passwords[hda['id']] == HDA_PASSWORD
    admin_role = keystone.admin_role['id']
    assert (heat['id'], admin_role, 'project', service_project['id']) in keystone.grants
    assert (hda['id'], admin_role, 'domain', heat_domain['id']) in keystone.grants
    assert keystone.find('roles', name='heat_stack_owner')['domain_id'] is None
    keystone.find('roles', name='heat_stack_user')
    heat_service = keystone.find('services', name='heat', type='orchestration')
    cfn_service = keystone.find('services', name='heat-cfn', type='cloudformation')
    for interface in ('public', 'internal', 'admin'):
        assert keystone.find('endpoints', service_id=heat_service['id'], interface=interface,
                             region_id='RegionOne')['url'] == HEAT_URL
        assert keystone.find('endpoints', service_id=cfn_service['id'], interface=interface,
                             region_id='RegionOne')['url'] == CFN_URL
    assert result['ids'] == {
        'domains': {'heat': heat_domain['id'], 'Default': 'default'},
        'users': {'heat': heat['id'], 'heat_domain_admin': hda['id']},
        'roles': {'heat_stack_user': keystone.find('roles', name='heat_stack_user')['id'],
                  'heat_stack_owner': keystone.find('roles', name='heat_stack_owner')['id'],
                  'admin': admin_role},
        'services': {'heat': heat_service['id'], 'heat-cfn': cfn_service['id']},
    }


def test_authenticates_once_as_admin_and_never_deletes(run, keystone):
    run(heat_spec())
    auths = [b['auth']['identity']['password']['user']['name'] for m, p, _q, b in run.log if p == '/v3/auth/tokens']
    # The admin once; the passwords are tried from the start, before the users are known
    # (refused here: they do not exist yet), and set by the creation.
    assert sorted(auths) == ['admin', 'heat', 'heat_domain_admin']
    assert not [m for m, _p in run.writes if m == 'DELETE']
    assert not [p for m, p in run.writes if m == 'PATCH' and p.startswith('/v3/users/')]


def test_each_list_creates_only_its_objects(run, keystone):
    result = run({'roles': ['r1', {'name': 'r2', 'description': 'second'}]})
    assert result['changes'] == ['created role r1', 'created role r2']
    assert keystone.find('roles', name='r2')['description'] == 'second'
    assert run.writes == [('POST', '/v3/roles'), ('POST', '/v3/roles')]
    assert not run.log[-1][1].startswith('/v3/regions')
    assert keystone.gets('/v3/regions') == []        # no endpoints, no region: not read


def test_existing_objects_outside_the_spec_are_untouched(run, keystone):
    before = copy.deepcopy(keystone.data)
    grants = set(keystone.grants)
    run(heat_spec())
    for kind, entities in before.items():
        for ident, entity in entities.items():
            assert keystone.data[kind][ident] == entity
    assert grants <= keystone.grants


# --------------------------------------------------------------------------- idempotence

def test_second_run_sends_no_write_request(run, keystone):
    first = run(heat_spec())
    second = run(heat_spec())

    assert first['changed'] is True
    assert second['changed'] is False
    assert second['changes'] == []
    assert run.writes == []
    assert second['ids'] == first['ids']


def test_noop_run_lists_each_kind_once(run, keystone):
    run(heat_spec())
    run(heat_spec())
    gets = [(p, tuple(sorted(q.items()))) for m, p, q, _b in run.log if m == 'GET']
    paths = [p for p, _q in gets]
    for path in ('/v3/regions', '/v3/domains', '/v3/roles', '/v3/services', '/v3/endpoints'):
        assert paths.count(path) == 1, path
    assert paths.count('/v3/users') == 2                  # one lookup per user of the spec
    assert paths.count('/v3/projects') == 1               # "service" (default project and target)
    assert paths.count('/v3/role_assignments') == 2       # one per user with assignments
    auths = [p for m, p, _q, _b in run.log if p == '/v3/auth/tokens']
    assert len(auths) == 3                                # admin + one check per password
    assert len(run.log) == len(gets) + len(auths) == 13     # no version discovery, nothing else


def test_lookups_do_not_wait_for_the_lists_they_do_not_need(run, keystone, monkeypatch):
    """Users and projects are looked up once the domains are known, while the other lists
    are still coming: a no-op's reads take three rounds of Keystone answers, not four."""
    import threading
    run(heat_spec())
    looked_up, waited = threading.Event(), []
    send = keystone.send

    def send_and_watch(request):
        path = urlsplit(request.url).path
        if path == '/v3/endpoints':
            # Answered once a user lookup has been answered, or after 5 s.
            waited.append(looked_up.wait(5))
        response = send(request)
        if path == '/v3/users':
            looked_up.set()
        return response

    monkeypatch.setattr(keystone, 'send', send_and_watch)
    assert run(heat_spec())['changed'] is False
    assert waited == [True]


def test_converged_check_mode_reports_no_change(run, keystone):
    run(heat_spec())
    result = run(heat_spec(), check=True)
    assert result['changed'] is False
    assert run.writes == []


# --------------------------------------------------------------------------- check mode

def test_check_mode_on_empty_keystone_writes_nothing(run, keystone):
    before = copy.deepcopy(keystone.data)
    result = run(heat_spec(), check=True)

    assert result['changed'] is True
    assert result['changes'] == EXPECTED_CREATES     # assignments and endpoints of new objects included
    assert run.writes == []
    assert keystone.data == before
    assert result['ids']['users'] == {'heat': None, 'heat_domain_admin': None}
    assert result['ids']['domains'] == {'heat': None, 'Default': 'default'}
    assert result['ids']['roles']['admin'] == keystone.admin_role['id']


def test_check_mode_reports_updates_without_writing(run, keystone):
    run(heat_spec())
    endpoint = keystone.find('endpoints', url=CFN_URL, interface='public')
    endpoint['url'] = 'http://old:8000/v1'
    hda = keystone.find('users', name='heat_domain_admin')
    keystone.passwords[hda['id']] = 'old-password'

    result = run(heat_spec(), check=True)

    assert result['changed'] is True
    assert result['changes'] == ['password of user heat_domain_admin updated',
                                 'updated endpoint heat-cfn public RegionOne url']
    assert run.writes == []
    assert endpoint['url'] == 'http://old:8000/v1'
    assert keystone.passwords[hda['id']] == 'old-password'


def test_check_mode_user_without_its_default_project(run, keystone):
    keystone.add_user('heat', 'default', HEAT_PASSWORD)
    result = run({'users': [{'name': 'heat', 'password': HEAT_PASSWORD, 'default_project': 'service'}]},
                 check=True)
    assert result['changes'] == ['updated user heat in domain Default default_project']
    assert run.writes == []


# --------------------------------------------------------------------------- updates

def test_endpoint_url_change_updates_in_place(run, keystone):
    run(heat_spec())
    heat_service = keystone.find('services', name='heat')
    old = keystone.find('endpoints', service_id=heat_service['id'], interface='public')
    count = keystone.count('endpoints')
    new_url = 'https://heat.example.org:8004/v1/%(tenant_id)s'
    spec = heat_spec()
    spec['endpoints'][0]['url'] = new_url

    result = run(spec)

    assert result['changes'] == ['updated endpoint heat public RegionOne url']
    assert run.writes == [('PATCH', '/v3/endpoints/%s' % old['id'])]
    assert keystone.data['endpoints'][old['id']]['url'] == new_url
    assert keystone.count('endpoints') == count


def test_duplicate_endpoints_update_first_and_warn(run, keystone, warnings):
    run(heat_spec())
    heat_service = keystone.find('services', name='heat')
    first = keystone.find('endpoints', service_id=heat_service['id'], interface='public')
    first['url'] = 'http://old-1/'
    second = keystone.add('endpoints', dict(first, id='duplicate', url='http://old-2/'))

    result = run(heat_spec())

    assert run.writes == [('PATCH', '/v3/endpoints/%s' % first['id'])]
    assert first['url'] == HEAT_URL and second['url'] == 'http://old-2/'
    assert result['changes'] == ['updated endpoint heat public RegionOne url']
    assert len(warnings) == 1 and 'heat public RegionOne' in warnings[0] and second['id'] in warnings[0]


def test_duplicate_endpoint_that_already_matches_is_kept(run, keystone, warnings):
    run(heat_spec())
    heat_service = keystone.find('services', name='heat')
    first = keystone.find('endpoints', service_id=heat_service['id'], interface='public')
    first['url'] = 'http://stale/'
    keystone.add('endpoints', dict(first, id='dup', url=HEAT_URL))

    result = run(heat_spec())

    assert result['changed'] is False and run.writes == []
    assert first['url'] == 'http://stale/'
    assert len(warnings) == 1


def test_attributes_are_updated_in_place(run, keystone):
    run(heat_spec())
    spec = heat_spec(
        domains=[{'name': 'heat', 'description': 'Heat stacks', 'enabled': True}],
        roles=['heat_stack_user', {'name': 'heat_stack_owner', 'description': 'owns stacks'}],
        services=[{'name': 'heat', 'type': 'orchestration', 'description': 'Heat'},
                  {'name': 'heat-cfn', 'type': 'cloudformation', 'description': 'Orchestration', 'enabled': False}],
    )
    spec['users'][0].update(email='heat@example.org', description='Heat')
    ids = dict((kind, dict((e.get('name'), e['id']) for e in keystone.data[kind].values()))
               for kind in ('domains', 'projects', 'roles', 'services'))
    heat_id = keystone.find('users', name='heat')['id']

    result = run(spec)

    assert result['changes'] == [
        'updated domain heat description',
        'updated role heat_stack_owner description',
        'updated user heat in domain Default description, email',
        'updated service heat description',
        'updated service heat-cfn enabled',
    ]
    assert sorted(run.writes) == sorted([
        ('PATCH', '/v3/domains/%s' % ids['domains']['heat']),
        ('PATCH', '/v3/roles/%s' % ids['roles']['heat_stack_owner']),
        ('PATCH', '/v3/users/%s' % heat_id),
        ('PATCH', '/v3/services/%s' % ids['services']['heat']),
        ('PATCH', '/v3/services/%s' % ids['services']['heat-cfn']),
    ])
    assert keystone.data['users'][heat_id]['email'] == 'heat@example.org'
    assert keystone.data['services'][ids['services']['heat-cfn']]['enabled'] is False
    assert run(spec)['changed'] is False


def test_user_default_project_and_enabled_updated(run, keystone):
    other = keystone.add('projects', {'name': 'other', 'domain_id': 'default', 'enabled': True})
    user = keystone.add_user('heat', 'default', HEAT_PASSWORD, default_project_id=other['id'], enabled=True)

    result = run({'users': [{'name': 'heat', 'password': HEAT_PASSWORD, 'default_project': 'service',
                             'email': 'h@example.org'}]})

    assert result['changes'] == ['updated user heat in domain Default default_project, email']
    assert run.writes == [('PATCH', '/v3/users/%s' % user['id'])]
    assert user['default_project_id'] == keystone.find('projects', name='service')['id']


def test_service_matched_by_name_gets_its_type_updated(run, keystone):
    service = keystone.add('services', {'name': 'heat', 'type': 'orchestration-old', 'enabled': True})
    result = run({'services': [{'name': 'heat', 'type': 'orchestration'}]})
    assert result['changes'] == ['updated service heat type']
    assert run.writes == [('PATCH', '/v3/services/%s' % service['id'])]
    assert result['ids']['services'] == {'heat': service['id']}


def test_endpoint_service_given_by_type(run, keystone):
    service = keystone.add('services', {'name': 'heat', 'type': 'orchestration', 'enabled': True})
    result = run({'region': 'RegionOne',
                  'endpoints': [{'service': 'orchestration', 'interface': 'internal', 'url': HEAT_URL}]})
    assert result['changes'] == ['created endpoint heat internal RegionOne']
    assert keystone.find('endpoints', service_id=service['id'], interface='internal')['url'] == HEAT_URL


def test_endpoint_region_per_endpoint(run, keystone):
    keystone.add('regions', {'id': 'RegionTwo'})
    keystone.add('services', {'name': 'heat', 'type': 'orchestration', 'enabled': True})
    result = run({'endpoints': [{'service': 'heat', 'interface': 'public', 'url': HEAT_URL,
                                 'region': 'RegionTwo'}]})
    assert result['changes'] == ['created endpoint heat public RegionTwo']
    assert keystone.find('endpoints', url=HEAT_URL)['region_id'] == 'RegionTwo'


def test_existing_assignment_is_not_granted_again_but_inherited_one_does_not_count(run, keystone):
    user = keystone.add_user('heat', 'default', HEAT_PASSWORD)
    project = keystone.service_project
    member = keystone.add('roles', {'name': 'member', 'domain_id': None})
    keystone.grants.add((user['id'], keystone.admin_role['id'], 'project', project['id']))
    keystone.inherited.add((user['id'], member['id'], 'domain', 'default'))
    spec = {'role_assignments': [{'user': 'heat', 'role': 'admin', 'project': 'service'},
                                 {'user': 'heat', 'role': 'member', 'domain': 'Default'}]}

    result = run(spec)

    assert result['changes'] == ['granted role member to user heat (domain Default) on domain Default']
    assert run.writes == [('PUT', '/v3/domains/default/users/%s/roles/%s' % (user['id'], member['id']))]
    assert run(spec)['changed'] is False


# --------------------------------------------------------------------------- passwords

def _converged_with_hda_password(run, keystone, password):
    run(heat_spec())
    hda = keystone.find('users', name='heat_domain_admin')
    keystone.passwords[hda['id']] = password
    return hda


def test_correct_password_is_checked_without_writing(run, keystone):
    run(heat_spec())
    keystone.auth_bodies.clear()
    result = run(heat_spec())

    assert result['changed'] is False and run.writes == []
    checks = [b['auth'] for b in keystone.auth_bodies
              if b['auth']['identity']['password']['user']['name'] != 'admin']
    # (The checks run side by side: in either order.)
    assert sorted((c['identity']['password']['user'] for c in checks), key=lambda u: u['name']) == [
        {'name': 'heat', 'domain': {'name': 'Default'}, 'password': HEAT_PASSWORD},
        {'name': 'heat_domain_admin', 'domain': {'name': 'heat'}, 'password': HDA_PASSWORD},
    ]
    # unscoped: nothing of the admin's project mixed in
    assert all(c.get('scope') in (None, 'unscoped') for c in checks)


@pytest.mark.parametrize('password', [HDA_PASSWORD, 'changed-by-someone'])
def test_password_check_that_could_not_tell_is_made_again(run, keystone, monkeypatch, password):
    """A background check that got no answer (e.g. Keystone restarting) is redone, with retries."""
    hda = _converged_with_hda_password(run, keystone, password)
    monkeypatch.setattr(keystone_api.KeystoneAPI, 'try_password', lambda *args: None)
    keystone.auth_bodies.clear()

    result = run(heat_spec())

    assert len(keystone.auth_bodies) == 3                     # admin + both checks, made again
    assert run.writes == ([] if password == HDA_PASSWORD else [('PATCH', '/v3/users/%s' % hda['id'])])
    assert result['changed'] is (password != HDA_PASSWORD)
    assert keystone.passwords[hda['id']] == HDA_PASSWORD


def test_wrong_password_is_updated_with_one_patch(run, keystone):
    hda = _converged_with_hda_password(run, keystone, 'changed-by-someone')

    result = run(heat_spec())

    assert result['changes'] == ['password of user heat_domain_admin updated']
    assert run.writes == [('PATCH', '/v3/users/%s' % hda['id'])]
    assert keystone.passwords[hda['id']] == HDA_PASSWORD
    assert run(heat_spec())['changed'] is False and run.writes == []


def test_password_and_attributes_share_one_patch(run, keystone):
    hda = _converged_with_hda_password(run, keystone, 'changed-by-someone')
    spec = heat_spec()
    spec['users'][1]['description'] = 'domain admin'
    result = run(spec)
    assert result['changes'] == ['updated user heat_domain_admin in domain heat description',
                                 'password of user heat_domain_admin updated']
    assert run.writes == [('PATCH', '/v3/users/%s' % hda['id'])]
    assert run.log[-1][3] == {'user': {'description': 'domain admin', 'password': HDA_PASSWORD}}


def test_on_create_never_checks_nor_changes_the_password(run, keystone):
    hda = _converged_with_hda_password(run, keystone, 'changed-by-someone')
    keystone.auth_bodies.clear()
    spec = heat_spec(update_password='on_create')
    for user in spec['users']:
        user.pop('update_password')

    result = run(spec)

    assert result['changed'] is False and run.writes == []
    assert len(keystone.auth_bodies) == 1                      # the admin only
    assert keystone.passwords[hda['id']] == 'changed-by-someone'


def test_per_user_update_password_overrides_module_default(run, keystone):
    hda = _converged_with_hda_password(run, keystone, 'changed-by-someone')
    spec = heat_spec(update_password='on_create')
    spec['users'][1]['update_password'] = 'always'
    spec['users'][0].pop('update_password')
    result = run(spec)
    assert result['changes'] == ['password of user heat_domain_admin updated']
    assert keystone.passwords[hda['id']] == HDA_PASSWORD


def test_password_check_ignores_admin_os_environment(run, keystone, monkeypatch):
    """LAB-NOTES trap: admin OS_* variables must not leak into the user's check."""
    run(heat_spec())
    for name, value in (('OS_AUTH_URL', AUTH_URL), ('OS_USERNAME', 'admin'), ('OS_PASSWORD', ADMIN_PASSWORD),
                        ('OS_PROJECT_NAME', 'admin'), ('OS_USER_DOMAIN_NAME', 'Default'),
                        ('OS_PROJECT_DOMAIN_NAME', 'Default'), ('OS_PROJECT_ID', keystone.admin_project['id'])):
        monkeypatch.setenv(name, value)

    result = run(heat_spec(), auth=False)

    assert result['changed'] is False and run.writes == []


def test_reads_carry_the_admins_token_beside_refused_password_checks_and_a_reauth(run, keystone, monkeypatch):
    """The service project's lookup must be made with the admin's token, whatever the
    password checks beside it do. Keystone's answer here depends on the token, as the real one's
    does: any other identity gets an empty list (what heat_domain_admin's domain-scoped token gets).
    Forced interleaving: the lookup of the service project waits until both password checks have
    been answered (heat_domain_admin's refused, 401), then the admin's token is refused once (401:
    keystoneauth invalidates the admin's plugin and authenticates again, while the other reads run).
    A guard: the module holds no shared auth state (what Keystone itself shares is reproduced by
    test_a_read_answered_in_another_tokens_domain_scope_is_read_again)."""
    import threading
    run(heat_spec())
    hda = keystone.find('users', name='heat_domain_admin')
    keystone.passwords[hda['id']] = 'changed-by-someone'
    lookup_arrived, checks_answered, waited = threading.Event(), threading.Event(), []
    checks, sent, lock = [], [], threading.Lock()
    send = keystone.send

    def send_by_token(request):
        path = urlsplit(request.url).path
        body = json.loads(request.body) if request.body else None
        if path == '/v3/auth/tokens':
            name = body['auth']['identity']['password']['user']['name']
            if name == 'admin':
                return send(request)
            waited.append(lookup_arrived.wait(5))        # the checks are answered while the lookup waits
            response = send(request)
            with lock:
                checks.append((name, response.status_code))
                if len(checks) == 2:
                    checks_answered.set()
            return response
        token = keystone.tokens.get(request.headers.get('X-Auth-Token')) or {}
        with lock:
            sent.append((request.method, path, token.get('user_id')))
        if path == '/v3/projects' and not lookup_arrived.is_set():
            lookup_arrived.set()
            waited.append(checks_answered.wait(5))
            keystone.inject[('GET', '/v3/projects')] = [401]  # the admin's token refused once
        if path == '/v3/projects' and token and token['user_id'] != keystone.admin['id']:
            return _empty_list(request, 'projects')      # another identity: Keystone answers no project
        return send(request)

    monkeypatch.setattr(keystone, 'send', send_by_token)
    keystone.auth_bodies.clear()
    result = run(heat_spec())

    assert waited == [True, True, True]
    assert sorted(checks) == [('heat', 201), ('heat_domain_admin', 401)]
    assert [m for m, p, _u in sent].count('GET') >= 10
    assert set(u for _m, _p, u in sent) == {keystone.admin['id']}, 'a read carried another identity\'s token'
    admin_auths = [b for b in keystone.auth_bodies if b['auth']['identity']['password']['user']['name'] == 'admin']
    assert len(admin_auths) == 2                         # the admin authenticated again after the 401
    assert result['changes'] == ['password of user heat_domain_admin updated']
    assert run.writes == [('PATCH', '/v3/users/%s' % hda['id'])]


def _empty_list(request, kind):
    response = requests.Response()
    response.status_code, response.reason, response.url, response.request = 200, 'OK', request.url, request
    response.headers = CaseInsensitiveDict({'Content-Type': 'application/json'})
    response._content = json.dumps({kind: [], 'links': {'self': request.url, 'previous': None,
                                                        'next': None}}).encode('utf-8')
    response.encoding = 'utf-8'
    return response


def _as_if_domain_scoped(keystone, response, domain_id):
    """The answer Keystone 16-27 gives a read that its AuthContextMiddleware handles with another
    request's domain-scoped token (self.token, shared by a uwsgi process's threads): the list
    narrowed to that domain (keystone/api/projects.py, users.py, domains.py, role_assignments.py)."""
    body = json.loads(response.content)
    kind = next(k for k in ('projects', 'users', 'domains', 'role_assignments') if k in body)

    def in_domain(item):
        if kind == 'domains':
            return item['id'] == domain_id
        if kind == 'role_assignments':
            scope = item['scope']
            if 'domain' in scope:
                return scope['domain']['id'] == domain_id
            return keystone.data['projects'][scope['project']['id']]['domain_id'] == domain_id
        return item['domain_id'] == domain_id
    body[kind] = [item for item in body[kind] if in_domain(item)]
    response._content = json.dumps(body).encode('utf-8')
    return response


@pytest.mark.parametrize('path, times', [
    ('/v3/projects', 1), ('/v3/users', 1), ('/v3/domains', 1), ('/v3/role_assignments', 1),
    ('/v3/projects', 2), ('/v3/domains', 2)])
def test_a_read_answered_in_another_tokens_domain_scope_is_read_again(run, keystone, monkeypatch, path, times):
    """Measured in the multinode lab: Keystone (2:27.0.0-3+deb13u6, uwsgi threads = 32) answers
    an admin's read beside heat_domain_admin's domain-scoped requests as if the domain-scoped token had
    sent it: GET /v3/projects?domain_id=default&name=service answered 200 with no project. On a converged
    Keystone, such answers (the first `times` GETs of `path`) must neither fail the run nor change
    anything: an absence is believed only once reads made again agree."""
    run(heat_spec())
    heat_domain = keystone.find('domains', name='heat')['id']
    left, send = [times], keystone.send

    def send_racing(request):
        response = send(request)
        if request.method == 'GET' and urlsplit(request.url).path == path and left[0] > 0:
            left[0] -= 1
            response = _as_if_domain_scoped(keystone, response, heat_domain)
        return response
    monkeypatch.setattr(keystone, 'send', send_racing)
    for check in (True, False):            # validate.yml's plan (check mode), then the registration
        left[0] = times
        result = run(heat_spec(), check=check)
        assert left[0] == 0
        assert result['changed'] is False and result['changes'] == [] and run.writes == []


def test_a_read_refused_as_if_another_token_had_sent_it_is_made_again(run, keystone):
    """Beside heat_domain_admin's requests Keystone also refused the admin's GET /v3/services
    (403, measured in the multinode lab), its first attempt and the one made again. A refused read is
    made again FORBIDDEN_RETRIES times; a write never is."""
    run(heat_spec())
    keystone.inject[('GET', '/v3/services')] = [403, 403]
    result = run(heat_spec())
    assert result['changed'] is False and run.writes == []
    assert keystone.inject[('GET', '/v3/services')] == []


def test_disabled_user_password_is_not_checked(run, keystone, warnings):
    run(heat_spec())
    hda = keystone.find('users', name='heat_domain_admin')
    hda['enabled'] = False
    keystone.passwords[hda['id']] = 'unknown'
    result = run(heat_spec())
    assert result['changed'] is False and run.writes == []
    assert any('heat_domain_admin' in w and 'disabled' in w for w in warnings)


def test_user_of_disabled_domain_password_is_not_checked(run, keystone, warnings):
    run(heat_spec())
    keystone.find('domains', name='heat')['enabled'] = False
    hda = keystone.find('users', name='heat_domain_admin')
    keystone.passwords[hda['id']] = 'unknown'
    result = run(heat_spec())
    assert result['changed'] is False and run.writes == []
    assert len(warnings) == 1 and 'heat_domain_admin' in warnings[0]


def test_domain_given_by_id(run, keystone):
    result = run({'users': [{'name': 'heat', 'domain': 'default', 'default_project': 'service',
                             'default_project_domain': 'default'}]})
    assert result['changes'] == ['created user heat in domain Default']
    project = keystone.service_project
    assert keystone.find('users', name='heat')['default_project_id'] == project['id']


def test_no_password_in_results_or_invocation(run, keystone):
    hda = _converged_with_hda_password(run, keystone, 'changed-by-someone')
    results = [run(heat_spec(), diff=True)]
    results.append(run(heat_spec(region='Nowhere'), diff=True, fail=True))
    results.append(run(dict(heat_spec(), auth=admin_auth(password='wrong-' + ADMIN_PASSWORD)), fail=True))
    assert keystone.passwords[hda['id']] == HDA_PASSWORD
    for result in results:
        text = str(result)
        for secret in (ADMIN_PASSWORD, HEAT_PASSWORD, HDA_PASSWORD, 'wrong-' + ADMIN_PASSWORD):
            assert secret not in text
    assert 'invocation' in results[0] and results[0]['invocation']['module_args']['users']


def test_diff_shows_changed_objects_only_without_passwords(run, keystone):
    _converged_with_hda_password(run, keystone, 'changed-by-someone')
    heat_service = keystone.find('services', name='heat')
    keystone.find('endpoints', service_id=heat_service['id'], interface='admin')['url'] = 'http://old/'

    result = run(heat_spec(), diff=True)

    before, after = result['diff']['before'], result['diff']['after']
    assert 'heat_domain_admin' in before and 'heat_domain_admin' in after
    assert 'password: (current, not shown)' in before
    assert 'password: (changed, not shown)' in after
    assert 'url: http://old/' in before and 'url: %s' % HEAT_URL in after
    assert 'heat-cfn' not in before + after                     # unchanged objects are not shown
    assert 'domains:' not in after and 'roles:' not in after
    assert HDA_PASSWORD not in before + after


def test_diff_of_created_objects(run, keystone):
    result = run(heat_spec(), diff=True, check=True)
    assert result['diff']['before'] == ''
    after = result['diff']['after']
    for text in ('domains:', '- name: heat', 'users:', 'password: (set, not shown)', 'role_assignments:',
                 'endpoints:', 'region: RegionOne'):
        assert text in after
    assert HEAT_PASSWORD not in after


def test_no_diff_key_without_diff_mode(run, keystone):
    assert 'diff' not in run(heat_spec())


# --------------------------------------------------------------------------- errors

def test_unreachable_keystone_fails_after_retries(run, keystone, sleeps):
    keystone.down = -1
    result = run(dict(heat_spec(), retries=3, retry_delay=1.5), fail=True)
    assert result['msg'].startswith('Keystone at %s is unreachable' % AUTH_URL)
    assert 'after 4 attempts' in result['msg'] and 'check that Keystone is running' in result['msg']
    assert sleeps == [1.5, 3.0, 6.0]


def test_briefly_unreachable_keystone_is_retried(run, keystone, sleeps):
    keystone.down = 2
    # No password to check: the admin's authentication is the only request at first.
    spec = heat_spec(update_password='on_create')
    for user in spec['users']:
        user.pop('update_password')
    result = run(spec)
    assert result['changed'] is True
    assert sleeps == [2.0, 4.0]


def test_bad_admin_credentials(run, keystone):
    result = run(dict(heat_spec(), auth=admin_auth(password='wrong')), fail=True)
    assert result['msg'] == ('Keystone at %s refused the credentials of user admin (domain Default) on project admin '
                             '(domain Default): HTTP 401: check the admin password, username and project' % AUTH_URL)
    assert result['cause'] == 'credentials'
    assert keystone.writes == []


def test_auth_url_without_version_is_completed(run, keystone):
    result = run(dict(heat_spec(), auth=admin_auth(auth_url='http://keystone.test:5000/')))
    assert result['changed'] is True
    assert all(p.startswith('/v3/') for _m, p, _q, _b in run.log)


def test_auth_url_pointing_elsewhere(run, keystone):
    result = run(dict(heat_spec(), auth=admin_auth(auth_url='http://keystone.test:5000/identity/v3')), fail=True)
    assert result['msg'] == ('Keystone at http://keystone.test:5000/identity/v3 answered 404 Not Found to the '
                             'authentication request: auth_url must be the identity v3 URL, for example '
                             'http://controller:5000/v3')


def test_admin_without_rights(run, keystone):
    keystone.forbidden = True
    result = run(heat_spec(), fail=True)
    assert '403 Forbidden' in result['msg'] and 'for user admin' in result['msg']
    assert 'admin role on project admin' in result['msg']
    # (The password checks started beside the admin's authentication are no writes.)
    assert [w for w in keystone.writes if not w[1].endswith('/auth/tokens')] == []


def test_missing_region(run, keystone):
    region = keystone.data['regions'].pop('RegionOne')
    keystone.add('regions', dict(region, id='regionOne'))
    result = run(heat_spec(), fail=True)
    assert result['msg'] == ("region 'RegionOne' does not exist in Keystone; existing regions: regionOne "
                             "(region IDs are case-sensitive: use 'regionOne' or create 'RegionOne'). "
                             "Nothing was changed.")
    assert keystone.writes == []


def test_missing_module_region_without_endpoints(run, keystone):
    result = run({'region': 'RegionOne ', 'roles': ['r']}, fail=True)
    assert result['msg'].startswith("region 'RegionOne ' does not exist in Keystone; existing regions: RegionOne")
    assert keystone.writes == []


def test_domain_scoped_role_does_not_count_as_global(run, keystone):
    keystone.add('roles', {'name': 'heat_stack_owner', 'domain_id': 'default'})
    result = run({'roles': ['heat_stack_owner']})
    assert result['changes'] == ['created role heat_stack_owner']
    assert keystone.count('roles', name='heat_stack_owner') == 2


def test_read_errors_5xx_are_retried(run, keystone, sleeps):
    # The first answer goes to the read made side by side with the others;
    # it is then made again with the retries (2 s, then 4 s).
    keystone.inject[('GET', '/v3/domains')] = [503, 502, 503]
    result = run(heat_spec())
    assert result['changed'] is True and sleeps == [2.0, 4.0]


def test_write_answered_5xx_is_not_repeated(run, keystone, sleeps):
    """A write that may have reached Keystone is not sent again (endpoints could be duplicated)."""
    keystone.inject[('POST', '/v3/endpoints')] = [503]
    result = run(heat_spec(), fail=True)
    assert result['msg'].startswith('Keystone at %s failed to create endpoint heat public RegionOne: HTTP 503'
                                    % AUTH_URL)
    assert sleeps == []
    assert run.writes.count(('POST', '/v3/endpoints')) == 1
    assert 'created service heat-cfn (cloudformation)' in result['changes'] and result['changed'] is True


def test_missing_domain_fails_before_any_write(run, keystone):
    result = run(heat_spec(domains=[]), fail=True)
    assert result['msg'] == (
        "domain 'heat' (named by user heat_domain_admin, role_assignments[1]) does not exist in Keystone "
        "and is not created by this registration; existing domains: Default. Create it or correct the name. "
        "Nothing was changed.")
    # the project, roles, services ... of the same spec were valid, but nothing was written
    assert keystone.writes == []
    assert result['changed'] is False


def test_missing_role_fails_before_any_write(run, keystone):
    spec = heat_spec(roles=[])
    spec['role_assignments'].append({'user': 'heat', 'role': 'heat_stack_owner', 'project': 'service'})
    result = run(spec, fail=True)
    assert result['msg'] == (
        "role 'heat_stack_owner' (named by role_assignments[2]) does not exist in Keystone and is not created by "
        "this registration; existing roles: admin. Create it or correct the name. Nothing was changed.")
    assert keystone.writes == []


def test_missing_references_are_all_reported(run, keystone):
    del keystone.data['projects'][keystone.service_project['id']]
    spec = heat_spec(services=[])
    spec['role_assignments'].append({'user': 'nobody', 'role': 'admin', 'project': 'service'})
    result = run(spec, fail=True)
    msg = result['msg']
    assert "project 'service' in domain Default (named by the default project of user heat, role_assignments[0], " \
           "role_assignments[2]) does not exist" in msg
    assert "user 'nobody' in domain Default (named by role_assignments[2]) does not exist" in msg
    assert "service 'heat' (named by endpoints[0]) does not exist" in msg
    assert "service 'heat-cfn' (named by endpoints[5]) does not exist" in msg
    assert keystone.writes == []


def test_ambiguous_endpoint_service(run, keystone):
    keystone.add('services', {'name': 'heat', 'type': 'orchestration', 'enabled': True})
    keystone.add('services', {'name': 'heat', 'type': 'other', 'enabled': True})
    result = run({'region': 'RegionOne',
                  'endpoints': [{'service': 'heat', 'interface': 'public', 'url': HEAT_URL}]}, fail=True)
    assert "service 'heat' matches 2 existing services by name" in result['msg']


def test_endpoint_without_region(run, keystone):
    result = run({'endpoints': [{'service': 'heat', 'interface': 'public', 'url': HEAT_URL}]}, fail=True)
    assert 'endpoints[0] (heat public) has no region' in result['msg']
    assert keystone.log == []                    # rejected before connecting


def test_invalid_roles_entry(run, keystone):
    result = run({'roles': [{'description': 'no name'}, 3]}, fail=True)
    assert 'roles[0] must be a role name' in result['msg'] and 'roles[1]' in result['msg']
    assert keystone.log == []


def test_duplicate_spec_entries(run, keystone):
    result = run({'users': [{'name': 'heat'}, {'name': 'heat', 'domain': 'Default'}]}, fail=True)
    assert 'user heat/Default is given twice' in result['msg']


def test_role_assignment_needs_exactly_one_target(run, keystone):
    result = run({'role_assignments': [{'user': 'heat', 'role': 'admin', 'project': 'p', 'domain': 'd'}]},
                 fail=True)
    assert 'mutually exclusive' in result['msg']


def test_write_failure_reports_what_was_done(run, keystone):
    keystone.add_user('HEAT', 'default', 'x')     # the database treats heat and HEAT as the same name
    result = run(heat_spec(), fail=True)
    assert 'create user heat in domain Default' in result['msg'] and '409' in result['msg']
    assert result['changed'] is True
    assert result['changes'] == EXPECTED_CREATES[:3]     # the domain and the roles, before the user


def test_missing_keystoneauth(run, keystone, monkeypatch):
    import sys
    for name in ('keystoneauth1', 'keystoneauth1.session', 'keystoneauth1.identity'):
        monkeypatch.setitem(sys.modules, name, None)       # import fails, as when not installed
    result = run(heat_spec(), fail=True)
    assert 'keystoneauth1' in result['msg'] and 'python3-keystoneauth1' in result['msg']
    assert keystone.log == []


def test_missing_credentials(run, keystone):
    result = run(heat_spec(), auth=False, fail=True)
    assert result['msg'].startswith('missing OpenStack credentials: auth_url, username, password, project_name')


def test_credentials_from_openrc(run, keystone, tmp_path):
    openrc = tmp_path / 'admin-openrc.sh'
    openrc.write_text('export OS_USERNAME=admin\nexport OS_PASSWORD=%s\nexport OS_PROJECT_NAME=admin\n'
                      'export OS_USER_DOMAIN_NAME=Default\nexport OS_PROJECT_DOMAIN_NAME=Default\n'
                      'export OS_AUTH_URL=%s\nexport OS_IDENTITY_API_VERSION=3\n' % (ADMIN_PASSWORD, AUTH_URL))
    result = run(dict(heat_spec(), openrc=str(openrc)))
    assert result['changed'] is True
    assert ADMIN_PASSWORD not in str(result)


# --------------------------------------------------------------------------- helpers

def test_passwords_are_no_log_options():
    spec = keystone_registration.argument_spec()
    assert spec['users']['options']['password']['no_log'] is True
    assert spec['auth']['options']['password']['no_log'] is True


# --------------------------------------------------------------------------- referenced, not listed

def test_the_project_is_referenced_never_shaped(run, keystone):
    """The heat role's call: the service project is Keystone's installation's, only referenced."""
    service = keystone.service_project
    before = copy.deepcopy(service)
    result = run(heat_spec())
    heat = keystone.find('users', name='heat', domain_id='default')
    assert heat['default_project_id'] == service['id']
    assert (heat['id'], keystone.admin_role['id'], 'project', service['id']) in keystone.grants
    assert keystone.data['projects'][service['id']] == before
    # only the grant is written under /v3/projects: no create, no update of the project
    assert [p for _m, p in run.writes if p.startswith('/v3/projects')] == [
        '/v3/projects/%s/users/%s/roles/%s' % (service['id'], heat['id'], keystone.admin_role['id'])]
    assert 'created project service in domain Default' not in result['changes']
    assert 'projects' not in result['ids']


def test_missing_project_fails_naming_it_before_any_write(run, keystone):
    del keystone.data['projects'][keystone.service_project['id']]
    result = run(heat_spec(), fail=True)
    assert result['msg'].startswith(
        "project 'service' in domain Default (named by the default project of user heat, role_assignments[0]) "
        "does not exist in Keystone: it is referenced, not created")
    assert keystone.writes == []
    assert keystone.count('projects', name='service') == 0


# What a role calling the module can be told, when it labels its entries:
# the labels, never the module's own options (users, role_assignments[0]).
MODULE_TERMS = ('role_assignments[', 'endpoints[', 'users[', '`users`', '`roles`', '`domains`', '`services`',
                'identity_region')


def role_registration(**inputs):
    """The heat role's registration (vars/main/main.yml), rendered with the role's defaults and `inputs`."""
    from test_role_vars import render
    inputs = dict(dict(heat_keystone_password=HEAT_PASSWORD, heat_domain_admin_password=HDA_PASSWORD), **inputs)
    spec = render('Debian', '{{ _heat_keystone_registration }}', **inputs)
    return heat_spec(**spec)


def test_the_roles_registration_labels_every_user_and_role_assignment():
    spec = role_registration()
    assert [u['label'] for u in spec['users']] == ['heat_keystone_user', 'heat_domain_admin_user']
    assert [a['label'] for a in spec['role_assignments']] == [
        "heat_keystone_user's admin role on heat_service_project", "heat_domain_admin_user's admin role on heat_stack_domain"]


def test_a_missing_service_project_is_named_in_the_roles_terms(run, keystone):
    result = run(role_registration(heat_service_project='servcie'), fail=True)
    assert result['msg'] == (
        "project 'servcie' in domain Default (named by the default project of heat_keystone_user, heat_keystone_user's "
        "admin role on heat_service_project) does not exist in Keystone: it is referenced, not created; create it or "
        "correct the name. Nothing was changed.")
    assert run.writes == []


def test_missing_domains_users_and_roles_are_named_by_the_labels(run, keystone):
    spec = role_registration(heat_keystone_user_domain='Defualt')
    spec['role_assignments'].append({'user': 'nobody', 'role': 'missing', 'project': 'service', 'label': 'the demo grant'})
    spec['users'] += [dict(spec['users'][1], name='heat_domain_admin')]
    msg = run(spec, fail=True)['msg']
    assert msg == ('invalid specification: user heat_domain_admin/heat is given twice (heat_domain_admin_user, '
                   'heat_domain_admin_user). Nothing was changed.')
    spec['users'].pop()
    msg = run(spec, fail=True)['msg']
    assert ("domain 'Defualt' (named by heat_keystone_user, heat_keystone_user's admin role on heat_service_project) "
            "does not exist in Keystone and is not created by this registration; existing domains: Default. "
            "Create it or correct the name") in msg
    assert ("user 'nobody' in domain Default (named by the demo grant) does not exist in Keystone and is not created "
            "by this registration: create it or correct the name") in msg
    assert "role 'missing' (named by the demo grant) does not exist in Keystone" in msg
    assert [term for term in MODULE_TERMS if term in msg] == []
    assert run.writes == []


def test_an_unlabelled_entry_is_named_by_its_place(run, keystone):
    result = run(heat_spec(endpoints=[{'service': 'nova', 'interface': 'public', 'url': HEAT_URL},
                                      {'service': 'nova', 'interface': 'internal', 'url': HEAT_URL,
                                       'label': 'the compute endpoint'}]), fail=True)
    assert ("service 'nova' (named by endpoints[0]) does not exist in Keystone, by name or by type, and is not "
            "created by this registration: create it or correct the name") in result['msg']
    assert "service 'nova' (named by the compute endpoint) does not exist" in result['msg']


def test_the_identity_region_is_checked_before_any_write(run, keystone):
    # The lab's RegionTwo: a region without identity endpoints.
    keystone.add('regions', {'id': 'RegionTwo', 'description': '', 'parent_region_id': None})
    result = run(heat_spec(identity_region='RegionTwo'), fail=True)
    assert result['cause'] == 'identity_region'
    assert ("no internal identity endpoint in region RegionTwo, where Heat's keystonemiddleware looks Keystone up"
            in result['msg']
            and 'Identity endpoints exist in: RegionOne (admin, internal, public)' in result['msg']), result['msg']
    assert run.writes == []
    result = run(heat_spec(identity_region='RegionNine'), fail=True)
    assert result['cause'] == 'identity_region' and ("region 'RegionNine', where Heat's keystonemiddleware looks "
                                                     "Keystone up, does not exist" in result['msg'])
    assert run(heat_spec(identity_region='RegionOne'))['changed'] is True


@pytest.mark.parametrize('spec, auth, cause', [
    ({}, {'password': 'wrong'}, 'credentials'),
    ({'region': 'RegionNine'}, {}, 'region'),
    ({'users': [dict(heat_spec()['users'][0], default_project='servcie'), heat_spec()['users'][1]]},
     {}, 'project'),
    ({'role_assignments': [{'user': 'nobody', 'user_domain': 'Default', 'role': 'admin', 'project': 'service',
                            'project_domain': 'Default'}]}, {}, 'specification'),
])
def test_each_failure_says_its_cause(run, keystone, spec, auth, cause):
    result = run(dict(heat_spec(**spec), auth=admin_auth(**auth)), fail=True)
    assert result['cause'] == cause, result['msg']
    assert run.writes == []


def test_unreachable_keystone_says_so(run, keystone, sleeps):
    keystone.down = -1
    assert run(heat_spec(), fail=True)['cause'] == 'unreachable'


def test_an_untrusted_certificate_says_tls_at_once(run, keystone, sleeps):
    keystone.untrusted = True
    result = run(heat_spec(), fail=True)
    assert result['cause'] == 'tls' and sleeps == []
    assert result['msg'].startswith('TLS with Keystone at %s failed: ' % AUTH_URL)
    assert 'certificate verify failed' in result['msg']
