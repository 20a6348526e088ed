#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: openstack_get
short_description: Read OpenStack APIs as a user, without a token in the playbook
description:
  - Authenticates with O(auth) (or O(openrc), or the C(OS_*) environment) on a keystoneauth1
    session, returns what the token says (RV(token) - the user, the project, the roles, the
    catalog's endpoints) and makes the GET requests of O(requests) with it. The token itself
    is never returned, so a task that uses this module needs no C(no_log) to hide it.
  - A request names an absolute O(requests[].url) or a catalog O(requests[].service) type and a
    O(requests[].path) below its endpoint. Either may hold C({project_id}), the token's project.
  - Every answer is returned with its status, whatever it is; the caller decides. Only a refusal
    of the credentials, or a service the catalog lacks, fails the module.
options:
  auth:
    description: Credentials (see keystone_registration); O(auth.region_name) and O(auth.interface) choose endpoints.
    type: dict
  openrc:
    description: An openrc file with the credentials.
    type: path
  validate_certs:
    description: Verify TLS certificates (with O(auth.cacert) when given).
    type: bool
    default: true
  api_timeout:
    description: Seconds each request may take.
    type: int
    default: 30
  retries:
    description: Retries of an unreachable or failing (5xx) service.
    type: int
    default: 5
  retry_delay:
    description: First delay between retries, doubled each time (at most 30 s).
    type: float
    default: 2.0
  requests:
    description: The GET requests to make, in this order.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The key of the answer in RV(answers).
        type: str
        required: true
      service:
        description: A service type of the catalog (C(network), C(image), C(compute), C(orchestration)).
        type: str
      path:
        description: The path below the service's endpoint, with its query string.
        type: str
        default: ''
      url:
        description: An absolute URL instead of O(requests[].service).
        type: str
  hint:
    description: What to check when Keystone refuses the credentials, added to that failure's message.
    type: str
attributes:
  check_mode:
    support: full
    description: It only reads, in check mode too.
  diff_mode:
    support: none
author:
  - Heat deployment project
'''

EXAMPLES = r'''
- name: The demo user's roles and catalog, and the network's ports
  openstack_get:
    openrc: /root/demo-openrc.sh
    requests:
      - {name: ports, service: network, path: "/v2.0/ports?network_id={{ network_id }}"}
  register: demo
'''

RETURN = r'''
token:
  description: What the token says; never the token.
  returned: always
  type: dict
  contains:
    user:
      description: C(id), C(name), C(domain).
      type: dict
    project:
      description: C(id), C(name), C(domain).
      type: dict
    roles:
      description: The names of the roles the token carries.
      type: list
      elements: str
    catalog:
      description:
        - Service type to the URL of its endpoint for the credentials' interface and region; its keys are
          the services of that region.
      type: dict
    services:
      description: Every service type of the catalog, in every region.
      type: list
      elements: str
answers:
  description: Request name to C(url), C(status) (0 when there was no answer) and C(json) (the decoded body, or null).
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.openstack_auth import auth_argument_spec, build_session, resolve_auth, with_retries

try:
    from keystoneauth1 import exceptions as ks_exc
except ImportError:  # pragma: no cover - build_session explains it
    ks_exc = None


def argument_spec():
    spec = auth_argument_spec()
    spec.update(
        requests=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True),
            service=dict(type='str'),
            path=dict(type='str', default=''),
            url=dict(type='str'),
        ), required_one_of=[('service', 'url')], mutually_exclusive=[('service', 'url')]),
        hint=dict(type='str'),
    )
    return spec


def describe(access, interface, region):
    """The token as the caller may see it: no token, no secret."""
    catalog, services = {}, []
    for service in access.service_catalog.catalog or []:
        services.append(service.get('type'))
        for endpoint in service.get('endpoints') or []:
            if endpoint.get('interface') == interface and \
                    (not region or (endpoint.get('region_id') or endpoint.get('region')) == region):
                catalog[service.get('type')] = endpoint.get('url', '').rstrip('/')
    return dict(
        user=dict(id=access.user_id, name=access.username, domain=access.user_domain_name),
        project=dict(id=access.project_id, name=access.project_name, domain=access.project_domain_name),
        roles=list(access.role_names or []),
        catalog=catalog,
        services=sorted(set(s for s in services if s)),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    creds = resolve_auth(module)
    session = build_session(module, creds)
    who = 'user %s (domain %s) for project %s (domain %s)' % (
        creds['username'], creds['user_domain_name'], creds['project_name'], creds['project_domain_name'])
    hint = ' %s' % module.params['hint'] if module.params['hint'] else ''
    try:
        access = with_retries(module, lambda: session.auth.get_access(session),
                              'Keystone at %s' % creds['auth_url'])
    except ks_exc.HttpError as exc:
        module.fail_json(msg='Keystone at %s did not issue a token to %s: %s %s.%s'
                             % (creds['auth_url'], who, getattr(exc, 'http_status', '?'), exc, hint),
                         cause='credentials')
    except ks_exc.ClientException as exc:
        module.fail_json(msg='Keystone at %s did not issue a token to %s: %s.%s'
                             % (creds['auth_url'], who, exc, hint), cause='unreachable')
    token = describe(access, creds['interface'], creds['region_name'])
    answers = {}
    for request in module.params['requests']:
        if request['service']:
            base = token['catalog'].get(request['service'])
            if not base:
                # The services listed are those of the region and interface asked for, where the URL was looked for.
                module.fail_json(msg='the catalog of %s has no %s %s endpoint%s (services: %s)%s'
                                     % (who, creds['interface'], request['service'],
                                        ' in region %s' % creds['region_name'] if creds['region_name'] else '',
                                        ', '.join(sorted(token['catalog'])) or 'none',
                                        '; %s has endpoints only in another region or for another interface'
                                        % request['service'] if request['service'] in token['services'] else ''),
                                 cause='catalog', token=token, answers=answers)
            url = base + request['path']
        else:
            url = request['url']
        url = url.replace('{project_id}', token['project']['id'] or '')
        try:
            resp = with_retries(module, lambda: session.get(url, raise_exc=False), url)
            try:
                body = resp.json()
            except ValueError:
                body = None
            answers[request['name']] = dict(url=url, status=resp.status_code, json=body)
        except ks_exc.ClientException as exc:
            answers[request['name']] = dict(url=url, status=0, json=None, msg=str(exc))
    module.exit_json(changed=False, token=token, answers=answers)


if __name__ == '__main__':
    main()
