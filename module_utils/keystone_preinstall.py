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
                                                 'for the timeout (keystone.check.timeout)' % (self.url, problem))
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


def check_keystone(module, creds, opts):
    ks = Keystone(module, creds, opts['timeout'])
    token = ks.authenticate()
    region, ks_region = opts['region'], opts['keystone_region'] or opts['region']
    regions = sorted(r['id'] for r in ks.get('/regions', 'regions'))

    def need_region(name, option):
        if name not in regions:
            same = [r for r in regions if r.lower() == name.lower()]
            raise CheckFailed(option, "region '%s' (keystone.check.%s) does not exist in Keystone; existing regions: %s%s"
                              % (name, option, ', '.join(regions) or 'none',
                                 '. Region IDs are case-sensitive: did you mean %s?' % same[0] if same else ''))
    need_region(region, 'region')
    need_region(ks_region, 'keystone_region')

    catalog = {}
    identity = {}
    for service in token.get('catalog', []):
        for ep in service.get('endpoints', []):
            where = ep.get('region_id') or ep.get('region')
            catalog.setdefault(where, set()).add(service['type'])
            if service['type'] == 'identity':
                identity.setdefault(where, {})[ep['interface']] = ep['url']
    url = identity.get(ks_region, {}).get(opts['interface'])
    if not url:
        have = '; '.join('%s (%s)' % (r, ', '.join(sorted(i))) for r, i in sorted(identity.items())) or 'none'
        raise CheckFailed('keystone_region', "Keystone's catalog has no %s identity endpoint in region %s "
                          "(keystone.check.keystone_region), where Heat's keystonemiddleware looks Keystone up: every Heat "
                          "API call would answer 500 EndpointNotFound. Identity endpoints exist in: %s"
                          % (opts['interface'], ks_region, have))

    domains = ks.get('/domains', 'domains')
    projects = []
    for index, wanted in enumerate(opts['projects']):
        ref = wanted['domain']
        domain = next((d for d in domains if ref in (d['id'], d['name'])), None) \
            or next((d for d in domains if d['name'].lower() == ref.lower()), None)
        if not domain:
            raise CheckFailed('domain', "domain '%s' of project %s (keystone.check.projects[%d]) does not exist in "
                              "Keystone; existing domains: %s"
                              % (ref, wanted['name'], index, ', '.join(sorted(d['name'] for d in domains))))
        # By name: listing a domain's projects would not scale (one per tenant).
        found = ks.get('/projects?' + urlencode(dict(domain_id=domain['id'], name=wanted['name'])), 'projects')
        if not found:
            raise CheckFailed('project', "project '%s' (keystone.check.projects[%d]) does not exist in domain %s; "
                              "it is checked, not created: create it (e.g. openstack project create --domain %s %s) "
                              "or correct the name" % (wanted['name'], index, domain['name'], domain['name'],
                                                       wanted['name']))
        projects.append(dict(name=found[0]['name'], domain=domain['name'], id=found[0]['id']))
    return dict(
        auth_url=ks.url,
        user=dict(name=token['user']['name'], domain=token['user']['domain']['name']),
        project=dict(name=token['project']['name'], domain=token['project']['domain']['name']),
        regions=regions,
        catalog=dict((r, sorted(types)) for r, types in sorted(catalog.items(), key=lambda x: str(x[0]))),
        identity_endpoint=url,
        projects=projects,
    )


def options():
    """The options of this check (heat_preflight's and heat_plan's `keystone.check`)."""
    return dict(
        region=dict(type='str', required=True),
        keystone_region=dict(type='str'),
        interface=dict(type='str', default='internal', choices=['public', 'internal', 'admin']),
        projects=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True),
            domain=dict(type='str', default='Default'),
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
