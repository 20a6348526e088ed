# -*- coding: utf-8 -*-
# The Keystone check of a controller that has no keystoneauth1 yet: the
# heat role checks the admin credentials, the regions, the identity
# endpoint keystonemiddleware will use and the service project before any
# change, and on a fresh controller that is before the package step brings
# keystoneauth1 (python3-keystoneauth1 and its eleven dependencies are not
# on a minimal Debian 13; installing them would be a change). So this one
# check speaks the five requests it needs itself, over Ansible's open_url;
# every other Keystone request of the modules goes through keystone_api.
from __future__ import annotations

import json
import re
import ssl
import time
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode

from ansible.module_utils.heat_checks import CheckFailed
from ansible.module_utils.keystone_spec import KeystoneState, References, identity_region_errors, region_errors
from ansible.module_utils.urls import open_url


def v3_url(auth_url):
    """Keystone's v3 base from an auth_url given with or without a version."""
    return re.sub(r'/v[23](\.0)?$', '', auth_url.rstrip('/')) + '/v3'


class Keystone(object):
    RETRY_DELAY = 3

    def __init__(self, module, creds, timeout):
        self.module = module
        self.creds = creds
        self.url = v3_url(creds['auth_url'])
        # Looked up at call time, so that tests can patch them.
        self.sleep, self.clock = time.sleep, time.monotonic
        self.timeout = timeout
        self.deadline = self.clock() + timeout
        self.token = None
        validate = module.params['validate_certs']
        self.tls = dict(validate_certs=validate, ca_path=creds.get('cacert') if validate else None)

    def request(self, method, path, body=None):
        """(status, headers, decoded JSON); retried while unreachable or 5xx, until the deadline."""
        headers = {'Content-Type': 'application/json', 'Accept': 'application/json'}
        if self.token:
            headers['X-Auth-Token'] = self.token
        data = json.dumps(body) if body is not None else None
        while True:
            try:
                resp = open_url(self.url + path, data=data, headers=headers, method=method,
                                timeout=min(10, max(1, self.deadline - self.clock())),
                                follow_redirects='none', **self.tls)
                return resp.status, resp.headers, json.loads(resp.read() or b'{}')
            except HTTPError as exc:
                if exc.code < 500:
                    return exc.code, exc.headers, {}
                problem = 'HTTP %d' % exc.code
            except URLError as exc:
                if isinstance(exc.reason, ssl.SSLError):
                    raise CheckFailed('tls', 'TLS with Keystone at %s failed: %s' % (self.url, exc.reason))
                problem = str(exc.reason)
            except (OSError, ValueError) as exc:  # timeouts, resets, not JSON
                problem = str(exc) or type(exc).__name__
            if self.clock() + self.RETRY_DELAY > self.deadline:
                raise CheckFailed('unreachable', 'Keystone at %s is unreachable or failing (%s) after retrying '
                                                 'for %d s' % (self.url, problem, self.timeout))
            self.sleep(self.RETRY_DELAY)

    def authenticate(self):
        c = self.creds
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': c['username'], 'domain': {'name': c['user_domain_name']}, 'password': c['password']}}},
            'scope': {'project': {'name': c['project_name'], 'domain': {'name': c['project_domain_name']}}},
        }}
        status, headers, answer = self.request('POST', '/auth/tokens', body)
        who = 'user %s (domain %s) on project %s (domain %s)' % (
            c['username'], c['user_domain_name'], c['project_name'], c['project_domain_name'])
        if status == 404:
            raise CheckFailed('auth_url', '%s/auth/tokens answered 404: auth_url %s does not point at Keystone'
                              % (self.url, c['auth_url']))
        if status != 201:
            raise CheckFailed('credentials', 'Keystone at %s refused the credentials of %s: HTTP %d'
                              % (self.url, who, status))
        self.token = headers.get('X-Subject-Token')
        self.module.no_log_values.add(self.token)
        return answer['token']

    def get(self, path, key):
        status, _headers, answer = self.request('GET', path)
        if status != 200:
            raise CheckFailed('credentials', 'Keystone at %s answered HTTP %d to GET %s: the admin credentials '
                                             'lack the rights to read identity objects' % (self.url, status, path))
        return answer[key]


def catalog_lists(token):
    """The token's catalog as the lists Keystone's API gives: (services, endpoints)."""
    services, endpoints = [], []
    for index, service in enumerate(token.get('catalog', [])):
        service_id = service.get('id') or 'catalog-%d' % index
        services.append(dict(id=service_id, type=service.get('type'), name=service.get('name')))
        for ep in service.get('endpoints', []):
            endpoints.append(dict(service_id=service_id, interface=ep.get('interface'), url=ep.get('url'),
                                  region_id=ep.get('region_id') or ep.get('region')))
    return services, endpoints


def check_keystone(module, creds, opts):
    """The admin's credentials, the regions, the identity endpoint and the projects, decided as the
    registration decides them (keystone_spec); CheckFailed with every problem found."""
    ks = Keystone(module, creds, opts['timeout'])
    token = ks.authenticate()
    region, ks_region = opts['region'], opts['keystone_region'] or opts['region']
    state = KeystoneState()
    state.regions = sorted(r['id'] for r in ks.get('/regions', 'regions'))
    state.services, state.endpoints = catalog_lists(token)
    domains = ks.get('/domains', 'domains')
    state.domains_by_name = dict((d['name'], d) for d in domains)
    state.domains_by_id = dict((d['id'], d) for d in domains)
    refs = References(state)
    projects = []
    for index, wanted in enumerate(opts['projects']):
        domain_id = state.domain_id(wanted['domain'])
        if domain_id:
            # By name: listing a domain's projects would not scale (one per tenant).
            found = ks.get('/projects?' + urlencode(dict(domain_id=domain_id, name=wanted['name'])), 'projects')
            state.projects[(wanted['name'], domain_id)] = found[0] if found else None
            if found:
                projects.append(dict(name=found[0]['name'], domain=state.domains_by_id[domain_id]['name'],
                                     id=found[0]['id']))
        # Named by its label (the caller's input) or by nothing: the caller knows why it checks it.
        refs.project(wanted['name'], wanted['domain'], wanted.get('label'))
    errors = region_errors(state, [region])
    errors += identity_region_errors(state, ks_region, opts['interface'], [region])
    errors += refs.errors()
    if errors:
        raise CheckFailed(errors[0][0], '; '.join(text for _cause, text in errors))
    kinds = dict((s['id'], s['type']) for s in state.services)
    catalog = {}
    for ep in state.endpoints:
        catalog.setdefault(ep['region_id'], set()).add(kinds[ep['service_id']])
    url = next(ep['url'] for ep in state.endpoints if kinds[ep['service_id']] == 'identity'
               and ep['region_id'] == ks_region and ep['interface'] == opts['interface'])
    return dict(
        auth_url=ks.url,
        user=dict(name=token['user']['name'], domain=token['user']['domain']['name']),
        project=dict(name=token['project']['name'], domain=token['project']['domain']['name']),
        regions=state.regions,
        catalog=dict((r, sorted(types)) for r, types in sorted(catalog.items(), key=lambda x: str(x[0]))),
        identity_endpoint=url,
        projects=projects,
    )


def options():
    """The options of this check (heat_plan's `keystone.check`)."""
    return dict(
        region=dict(type='str', required=True),
        keystone_region=dict(type='str'),
        interface=dict(type='str', default='internal', choices=['public', 'internal', 'admin']),
        projects=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True),
            domain=dict(type='str', default='Default'),
            # How messages name the project (e.g. the role input it comes from).
            label=dict(type='str'),
        )),
        timeout=dict(type='int', default=60),
    )


def option_errors(opts, where='keystone.check'):
    errors = []
    if not opts['region'].strip():
        errors.append('%s.region must not be empty' % where)
    if opts['keystone_region'] is not None and not opts['keystone_region'].strip():
        errors.append('%s.keystone_region must not be empty (leave it out to use %s.region)' % (where, where))
    if opts['timeout'] < 1:
        errors.append('%s.timeout must be at least 1 second, got %d' % (where, opts['timeout']))
    return errors
