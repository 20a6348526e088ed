# -*- coding: utf-8 -*-
# Bundled module of the heat role: make Keystone match one declarative spec.
from __future__ import annotations

DOCUMENTATION = r'''
---
module: keystone_registration
short_description: Register domains, projects, users, roles, services and endpoints in Keystone in one call
description:
  - Makes Keystone (identity API v3) match one declarative specification with one
    authentication and one session, e.g. everything the Heat orchestration service needs
    (the C(heat) and C(heat-cfn) services and endpoints, the C(heat) service user, the
    stack-user domain C(heat) and its C(heat_domain_admin), the C(heat_stack_owner) and
    C(heat_stack_user) roles).
  - Creates what is missing and updates in place what differs. It B(never deletes)
    anything and never touches objects that are not in the specification.
  - Attributes that are not given (for example a C(description) left out) are not
    compared and not changed.
  - Every reference (domains, default projects, users, roles and targets of role
    assignments, services and regions of endpoints) is validated before the first
    write; a specification with a missing reference fails without changing anything.
  - Each kind of object is read once (one list request per kind; projects and users are
    looked up by name and domain, role assignments once per user), so a run that changes
    nothing costs a handful of requests.
  - A second run with the same specification sends no write request to Keystone
    (password checks are authentications, not writes).
options:
  region:
    description:
      - Default region of O(endpoints). It must already exist in Keystone (this module
        does not create regions); region IDs are compared case-sensitively, so
        V(RegionOne) and V(regionOne) are different regions.
      - Required when an endpoint has no O(endpoints[].region) of its own.
    type: str
  domains:
    description: Domains to create or update.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Domain name.
        type: str
        required: true
      description:
        description: Description; not compared when left out.
        type: str
      enabled:
        description: Whether the domain is enabled; not compared when left out (new domains are enabled).
        type: bool
  projects:
    description: Projects to create or update.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Project name.
        type: str
        required: true
      domain:
        description: Name of the project's domain (an existing domain or one in O(domains)).
        type: str
        default: Default
      description:
        description: Description; not compared when left out.
        type: str
      enabled:
        description: Whether the project is enabled; not compared when left out.
        type: bool
  users:
    description: Users to create or update.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: User name.
        type: str
        required: true
      domain:
        description: Name of the user's domain (an existing domain or one in O(domains)).
        type: str
        default: Default
      password:
        description:
          - The user's password. Never returned or logged.
          - See O(users[].update_password) for when an existing user's password is changed.
        type: str
      update_password:
        description:
          - V(always) checks the password of an existing user by authenticating as that user
            (unscoped, with nothing but the user's own name, domain and password) and changes
            it only when that authentication is refused.
          - V(on_create) sets the password only when the user is created.
          - Defaults to the module-level O(update_password).
        type: str
        choices: [always, on_create]
      default_project:
        description: Name of the user's default project (an existing project or one in O(projects)).
        type: str
      default_project_domain:
        description: Domain of O(users[].default_project).
        type: str
        default: Default
      email:
        description: E-mail address; not compared when left out.
        type: str
      description:
        description: Description; not compared when left out.
        type: str
      enabled:
        description: Whether the user is enabled; not compared when left out.
        type: bool
  roles:
    description:
      - Global roles to create. Each element is a role name or a dictionary with the keys
        C(name) (required) and C(description) (optional, not compared when left out).
    type: list
    elements: raw
    default: []
  role_assignments:
    description:
      - Role assignments of users on a project or on a domain, granted when missing.
        Assignments that are not listed are left alone.
    type: list
    elements: dict
    default: []
    suboptions:
      user:
        description: User name (an existing user or one in O(users)).
        type: str
        required: true
      user_domain:
        description: Domain of O(role_assignments[].user).
        type: str
        default: Default
      role:
        description: Role name (an existing global role or one in O(roles)).
        type: str
        required: true
      project:
        description: Project the role is granted on. Exactly one of O(role_assignments[].project) and O(role_assignments[].domain).
        type: str
      project_domain:
        description: Domain of O(role_assignments[].project).
        type: str
        default: Default
      domain:
        description: Domain the role is granted on. Exactly one of O(role_assignments[].project) and O(role_assignments[].domain).
        type: str
  services:
    description:
      - Catalog services. An existing service is matched by name and type; failing
        that, by name alone when exactly one service has that name (its type is then
        updated).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Service name.
        type: str
        required: true
      type:
        description: Service type, for example V(orchestration).
        type: str
        required: true
      description:
        description: Description; not compared when left out.
        type: str
      enabled:
        description: Whether the service is enabled; not compared when left out.
        type: bool
  endpoints:
    description:
      - Catalog endpoints, identified by service, interface and region. A different
        URL updates the existing endpoint in place.
      - When Keystone already holds several endpoints for the same service, interface and
        region, one that already matches is kept (otherwise the first is updated), the
        others are left alone and a warning is returned.
    type: list
    elements: dict
    default: []
    suboptions:
      service:
        description:
          - Service name or type; names are matched first (services in O(services), then
            existing ones), then types.
        type: str
        required: true
      interface:
        description: Endpoint interface.
        type: str
        required: true
        choices: [public, internal, admin]
      url:
        description: Endpoint URL, for example V(http://controller:8004/v1/%(tenant_id\)s).
        type: str
        required: true
      region:
        description: Region ID; defaults to O(region). It must exist.
        type: str
      enabled:
        description: Whether the endpoint is enabled; not compared when left out.
        type: bool
  update_password:
    description: Default of O(users[].update_password).
    type: str
    choices: [always, on_create]
    default: always
  auth:
    description:
      - Admin credentials (password authentication, project scope). Keys left out are
        taken from the O(openrc) file, then from the C(OS_*) environment variables of the
        same meaning.
    type: dict
    suboptions:
      auth_url:
        description: Keystone v3 URL, for example V(http://controller:5000/v3) (C(OS_AUTH_URL)).
        type: str
      username:
        description: Admin user name (C(OS_USERNAME)).
        type: str
      password:
        description: Admin password (C(OS_PASSWORD)).
        type: str
      project_name:
        description: Project to scope to (C(OS_PROJECT_NAME)).
        type: str
      user_domain_name:
        description: Domain of the admin user (C(OS_USER_DOMAIN_NAME)); V(Default) if unset.
        type: str
      project_domain_name:
        description: Domain of the project (C(OS_PROJECT_DOMAIN_NAME)); V(Default) if unset.
        type: str
      region_name:
        description: Accepted for symmetry with other modules; not used (this module calls the identity API at O(auth.auth_url)).
        type: str
      interface:
        description: Accepted for symmetry with other modules; not used by this module.
        type: str
        choices: [public, internal, admin]
      cacert:
        description: CA bundle to verify Keystone's TLS certificate (C(OS_CACERT)).
        type: path
  openrc:
    description: Path of an openrc file on the managed host whose C(OS_*) exports supply the credentials (the file is parsed, not run).
    type: path
  identity_region:
    description:
      - A region whose identity endpoint of O(identity_interface) must exist (Heat's keystonemiddleware
        looks Keystone up there). Only checked, never changed; a missing one fails before any write,
        with RV(cause) V(identity_region).
    type: str
  identity_interface:
    description: The interface of the identity endpoint O(identity_region) must have.
    type: str
    default: internal
    choices: [public, internal, admin]
  validate_certs:
    description: Whether to verify Keystone's TLS certificate.
    type: bool
    default: true
  api_timeout:
    description: Timeout of each request, in seconds.
    type: int
    default: 30
  retries:
    description: How many times to retry a request that failed because Keystone was unreachable or answered 5xx.
    type: int
    default: 5
  retry_delay:
    description: First delay between retries, in seconds; it doubles on every retry (at most 30 s).
    type: float
    default: 2.0
attributes:
  check_mode:
    support: full
    description: Reports what would change; no write request is sent (passwords are still checked by authenticating).
  diff_mode:
    support: full
    description: Shows the changed objects only, before and after; passwords are shown as changed, never their value.
  platform:
    support: full
    platforms: posix
notes:
  - The identity API is called at O(auth.auth_url) directly, not through the catalog's
    identity endpoint, so a broken catalog can be repaired with this module.
  - Names are compared exactly (case-sensitively).
  - Disabled users cannot authenticate, so the password of a user that stays disabled
    is not checked (a warning says so).
requirements:
  - python-keystoneclient (Debian/Ubuntu package C(python3-keystoneclient)) and keystoneauth1 on the managed host.
author:
  - heat role maintainers
'''

EXAMPLES = r'''
- name: Register Heat in Keystone
  keystone_registration:
    openrc: /root/admin-openrc.sh
    region: RegionOne
    domains:
      - name: heat
        description: Stack projects and users
    projects:
      - name: service
        description: Service Project
    users:
      - name: heat
        password: "{{ heat_keystone_password }}"
        default_project: service
      - name: heat_domain_admin
        domain: heat
        password: "{{ heat_domain_admin_password }}"
    roles:
      - heat_stack_owner
      - heat_stack_user
    role_assignments:
      - {user: heat, role: admin, project: service}
      - {user: heat_domain_admin, user_domain: heat, role: admin, domain: heat}
    services:
      - {name: heat, type: orchestration, description: Orchestration}
      - {name: heat-cfn, type: cloudformation, description: Orchestration}
    endpoints:
      - {service: heat, interface: public, url: "http://controller:8004/v1/%(tenant_id)s"}
      - {service: heat, interface: internal, url: "http://controller:8004/v1/%(tenant_id)s"}
      - {service: heat, interface: admin, url: "http://controller:8004/v1/%(tenant_id)s"}
      - {service: heat-cfn, interface: public, url: "http://controller:8000/v1"}
  run_once: true

- name: Same, with explicit admin credentials, setting passwords only on creation
  keystone_registration:
    auth:
      auth_url: http://controller:5000/v3
      username: admin
      password: "{{ keystone_admin_password }}"
      project_name: admin
    update_password: on_create
    users:
      - name: heat
        password: "{{ heat_keystone_password }}"
'''

RETURN = r'''
cause:
  description:
    - On failure, what failed, for a caller to name its own inputs. V(credentials) (the admin credentials were
      refused, or lack the rights), V(auth_url), V(unreachable), V(region), V(identity_region), V(domain),
      V(project), V(specification) (the specification refers to a user, role or service that does not exist),
      V(keystone) (Keystone refused a write).
  returned: failed
  type: str
changes:
  description:
    - What was changed, one sentence per change (in check mode, what would be changed).
    - Passwords are never shown.
  returned: always
  type: list
  elements: str
  sample:
    - created user heat in domain Default
    - updated endpoint heat public RegionOne url
    - password of user heat_domain_admin updated
ids:
  description:
    - IDs of the objects named in the specification, by kind and name (also the
      existing domains and roles it refers to). In check mode, objects that would be
      created have the ID V(null).
    - When two users (or projects) of the specification share a name in different
      domains, their keys are C(name@domain).
  returned: always
  type: dict
  contains:
    domains:
      description: Domain name to ID.
      type: dict
      returned: always
    projects:
      description: Project name to ID.
      type: dict
      returned: always
    users:
      description: User name to ID.
      type: dict
      returned: always
    roles:
      description: Role name to ID.
      type: dict
      returned: always
    services:
      description: Service name to ID.
      type: dict
      returned: always
  sample:
    domains: {Default: default, heat: 0f8a5c1e2b7d4e0a9c3b6d1e2f4a5b6c}
    projects: {service: 5d2c7e0f1a3b4c5d6e7f8091a2b3c4d5}
    users: {heat: 9a8b7c6d5e4f30211203f4e5d6c7b8a9}
    roles: {admin: 1b2c3d4e5f60718293a4b5c6d7e8f901, heat_stack_owner: 3c4d5e6f708192a3b4c5d6e7f8091a2b}
    services: {heat: 7e8f9001a2b3c4d5e6f708192a3b4c5d}
'''

import traceback
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.openstack_auth import (
    auth_argument_spec, resolve_auth, build_session, with_retries,
)

try:
    from keystoneauth1 import exceptions as ks_exc
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3 as ks_v3
    from keystoneclient.v3 import client as ks_client
except ImportError:
    HAS_KEYSTONECLIENT = False
    KEYSTONECLIENT_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_KEYSTONECLIENT = True
    KEYSTONECLIENT_IMPORT_ERROR = None

KINDS = ('domains', 'projects', 'users', 'roles', 'services')
PASSWORD_SHOWN = {'before': '(current, not shown)', 'after': '(changed, not shown)'}


def argument_spec():
    spec = auth_argument_spec()
    spec.update(
        region=dict(type='str'),
        domains=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True),
            description=dict(type='str'),
            enabled=dict(type='bool'),
        )),
        projects=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True),
            domain=dict(type='str', default='Default'),
            description=dict(type='str'),
            enabled=dict(type='bool'),
        )),
        users=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True),
            domain=dict(type='str', default='Default'),
            password=dict(type='str', no_log=True),
            update_password=dict(type='str', choices=['always', 'on_create'], no_log=False),
            default_project=dict(type='str'),
            default_project_domain=dict(type='str', default='Default'),
            email=dict(type='str'),
            description=dict(type='str'),
            enabled=dict(type='bool'),
        )),
        roles=dict(type='list', elements='raw', default=[]),
        role_assignments=dict(
            type='list', elements='dict', default=[],
            mutually_exclusive=[('project', 'domain')],
            required_one_of=[('project', 'domain')],
            options=dict(
                user=dict(type='str', required=True),
                user_domain=dict(type='str', default='Default'),
                role=dict(type='str', required=True),
                project=dict(type='str'),
                project_domain=dict(type='str', default='Default'),
                domain=dict(type='str'),
            )),
        services=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True),
            type=dict(type='str', required=True),
            description=dict(type='str'),
            enabled=dict(type='bool'),
        )),
        endpoints=dict(type='list', elements='dict', default=[], options=dict(
            service=dict(type='str', required=True),
            interface=dict(type='str', required=True, choices=['public', 'internal', 'admin']),
            url=dict(type='str', required=True),
            region=dict(type='str'),
            enabled=dict(type='bool'),
        )),
        update_password=dict(type='str', default='always', choices=['always', 'on_create'], no_log=False),
        identity_region=dict(type='str'),
        identity_interface=dict(type='str', default='internal', choices=['public', 'internal', 'admin']),
    )
    return spec


# ---------------------------------------------------------------- helpers

def _same(current, wanted):
    """Compare an attribute; None and '' are the same empty string."""
    if isinstance(wanted, str) or isinstance(current, str):
        return (current or '') == (wanted or '')
    return current == wanted


def _updates(current, wanted, fields):
    """{field: wanted value} for every given field whose current value differs."""
    out = {}
    for field in fields:
        value = wanted.get(field)
        if value is not None and not _same(current.get(field), value):
            out[field] = value
    return out


def _is_unsent(exc):
    """Retry a write only when it certainly never reached Keystone."""
    return isinstance(exc, (ks_exc.ConnectFailure, ks_exc.ConnectTimeout))


class KeystoneRegistration(object):

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.changes = []
        self.before = {}
        self.after = {}
        self.ids = dict((kind, {}) for kind in KINDS)
        self.creds = None
        self.session = None
        self.client = None
        self.where = None
        self.spec = {}
        self.password_executor = None

    # ------------------------------------------------------------ plumbing

    def fail(self, msg, **extra):
        self.module.fail_json(msg=msg, changed=bool(self.changes), changes=self.changes,
                              ids=self.ids, **extra)

    def call(self, what, func, write=False):
        """Run one Keystone request (with retries); explain any failure."""
        try:
            return with_retries(
                self.module, func, self.where,
                transient=_is_unsent if write else None,
                hint='check that Keystone is running and that auth_url is right; nothing more was changed'
                     if self.changes else 'check that Keystone is running and that auth_url is right')
        except ks_exc.Forbidden as exc:
            self.fail('Keystone at %s refused to %s (403 Forbidden) for user %s: these credentials lack the '
                      'rights to manage identity objects; use an admin account (admin role on project %s): %s'
                      % (self.creds['auth_url'], what, self.creds['username'], self.creds['project_name'],
                         exc), cause='credentials')
        except ks_exc.Unauthorized as exc:
            self.fail('Keystone at %s rejected the token of user %s while trying to %s (401): %s'
                      % (self.creds['auth_url'], self.creds['username'], what, exc), cause='credentials')
        except ks_exc.Conflict as exc:
            self.fail('Keystone refused to %s: it conflicts with an existing object (409; names may differ '
                      'only in letter case, which the database treats as equal): %s' % (what, exc), cause='keystone')
        except ks_exc.HttpError as exc:
            self.fail('Keystone at %s failed to %s: HTTP %s: %s'
                      % (self.creds['auth_url'], what, getattr(exc, 'http_status', '?'), exc), cause='keystone')
        except ks_exc.ClientException as exc:
            self.fail('could not %s at Keystone %s: %s' % (what, self.creds['auth_url'], exc), cause='unreachable')

    def record(self, kind, identity, before, after):
        """Remember a change for diff mode (never with password values)."""
        if before is not None:
            entry = dict(identity)
            entry.update(before)
            self.before.setdefault(kind, []).append(entry)
        entry = dict(identity)
        entry.update(after)
        self.after.setdefault(kind, []).append(entry)

    @staticmethod
    def _id_key(name, domain, names):
        return name if names.count(name) <= 1 else '%s@%s' % (name, domain)

    # ------------------------------------------------------------ spec

    def normalise(self):
        """Lists of plain dicts, roles as {name, description}, defaults filled in."""
        p = self.params
        errors = []
        roles = []
        for index, role in enumerate(p['roles'] or []):
            if isinstance(role, str) and role:
                roles.append({'name': role, 'description': None})
            elif isinstance(role, dict) and isinstance(role.get('name'), str) and role['name']:
                unknown = set(role) - set(('name', 'description'))
                if unknown:
                    errors.append('roles[%d] has unknown keys %s (allowed: name, description)'
                                  % (index, ', '.join(sorted(unknown))))
                roles.append({'name': role['name'], 'description': role.get('description')})
            else:
                errors.append('roles[%d] must be a role name or a dictionary with a name, got %r' % (index, role))
        users = []
        for user in p['users']:
            user = dict(user)
            user['update_password'] = user.get('update_password') or p['update_password']
            if user.get('password'):
                self.module.no_log_values.add(user['password'])
            users.append(user)
        endpoints = []
        for index, endpoint in enumerate(p['endpoints']):
            endpoint = dict(endpoint)
            endpoint['region'] = endpoint.get('region') or p['region']
            if not endpoint['region']:
                errors.append('endpoints[%d] (%s %s) has no region: set `region` for the module or for the '
                              'endpoint' % (index, endpoint['service'], endpoint['interface']))
            endpoints.append(endpoint)
        self.spec = dict(
            domains=[dict(d) for d in p['domains']],
            projects=[dict(x) for x in p['projects']],
            users=users,
            roles=roles,
            role_assignments=[dict(a) for a in p['role_assignments']],
            services=[dict(s) for s in p['services']],
            endpoints=endpoints,
        )
        # The same object twice in one spec is a mistake: which one wins?
        for kind, key in (('domains', ('name',)), ('projects', ('name', 'domain')),
                          ('users', ('name', 'domain')), ('roles', ('name',)),
                          ('services', ('name', 'type')),
                          ('endpoints', ('service', 'interface', 'region'))):
            seen = set()
            for item in self.spec[kind]:
                ident = tuple(item.get(k) for k in key)
                if ident in seen:
                    errors.append('%s lists %s twice' % (kind, '/'.join(str(v) for v in ident)))
                seen.add(ident)
        return errors

    # ------------------------------------------------------------ connect

    def connect(self):
        self.creds = resolve_auth(self.module)
        self.where = 'Keystone at %s' % self.creds['auth_url']
        self.session = build_session(self.module, self.creds)
        # Beside the admin's authentication and the reads (bcrypt in Keystone each).
        self.start_password_checks()
        try:
            with_retries(self.module, lambda: self.session.auth.get_access(self.session), self.where,
                         hint='check that Keystone is running and that auth_url is right')
        except ks_exc.Unauthorized:
            # Worded as heat_preflight words it: the role's checks say the same either way.
            self.module.fail_json(
                msg='Keystone at %s refused the credentials of user %s (domain %s) on project %s (domain %s): '
                    'HTTP 401: check the admin password, username and project'
                    % (self.creds['auth_url'], self.creds['username'], self.creds['user_domain_name'],
                       self.creds['project_name'], self.creds['project_domain_name']), cause='credentials')
        except ks_exc.NotFound:
            self.module.fail_json(
                msg='Keystone at %s answered 404 Not Found to the authentication request: auth_url must be the '
                    'identity v3 URL, for example http://controller:5000/v3' % self.creds['auth_url'],
                cause='auth_url')
        except ks_exc.SSLError as exc:
            self.module.fail_json(msg='TLS with Keystone at %s failed: %s' % (self.creds['auth_url'], exc), cause='tls')
        except ks_exc.HttpError as exc:
            self.module.fail_json(msg='authentication to Keystone at %s as %s failed: HTTP %s: %s'
                                      % (self.creds['auth_url'], self.creds['username'],
                                         getattr(exc, 'http_status', '?'), exc), cause='credentials')
        except ks_exc.ClientException as exc:
            self.module.fail_json(msg='authentication to Keystone at %s as %s failed: %s'
                                      % (self.creds['auth_url'], self.creds['username'], exc), cause='unreachable')
        # The identity API at auth_url itself: no catalog lookup, no version discovery.
        # keystoneauth authenticates at <auth_url>/v3 when auth_url lacks the version; so do we.
        endpoint = self.creds['auth_url'].rstrip('/')
        if not endpoint.endswith('/v3'):
            endpoint += '/v3'
        self.client = ks_client.Client(session=self.session, endpoint_override=endpoint)

    # ------------------------------------------------------------ read

    def _start(self, executor, reads):
        """Start reads {key: (what, func)} in the executor; {key: (read, future)}.

        Each read is one GET, nearly all of it waiting for Keystone: a no-op
        makes about ten, each started as soon as what it needs is known.
        """
        return dict((key, (read, executor.submit(read[1]))) for key, read in reads.items())

    def _results(self, started):
        """The results of started reads, by key. A read that failed in its
        thread is made again here, with call()'s retries and messages
        (fail_json must run in the main thread)."""
        results = {}
        for key, (read, future) in started.items():
            try:
                results[key] = future.result()
            except Exception:  # noqa: BLE001 - made again below, where failures are explained
                results[key] = self.call(*read)
        return results

    @staticmethod
    def _dicts(items):
        return [item.to_dict() if hasattr(item, 'to_dict') else item for item in items]

    def read(self):
        with ThreadPoolExecutor(max_workers=16) as executor:
            self._read(executor)

    def _read(self, executor):
        spec = self.spec
        client = self.client
        # The lists first, side by side; the lookups below need only the domains.
        reads = {'domains': ('list domains', client.domains.list)}
        identity_region = self.params['identity_region']
        if spec['endpoints'] or self.params['region'] or identity_region:
            reads['regions'] = ('list regions', client.regions.list)
        if spec['roles'] or spec['role_assignments']:
            reads['roles'] = ('list roles', client.roles.list)
        if spec['services'] or spec['endpoints'] or identity_region:
            reads['services'] = ('list services', client.services.list)
        if spec['endpoints'] or identity_region:
            reads['endpoints'] = ('list endpoints', client.endpoints.list)
        lists = self._start(executor, reads)
        self.domains = self._dicts(self._results({'domains': lists.pop('domains')})['domains'])
        self.domains_by_name = dict((d['name'], d) for d in self.domains)
        self.domains_by_id = dict((d['id'], d) for d in self.domains)
        self._canonical_domain_refs()

        # Projects and users: looked up by name in their domain (the stack domain of
        # Heat fills up with one project and user per stack; listing all would not scale),
        # side by side, while the other lists are still coming.
        reads = {}
        wanted = [(x['name'], x['domain']) for x in spec['projects']]
        wanted += [(u['default_project'], u['default_project_domain']) for u in spec['users']
                   if u.get('default_project')]
        wanted += [(a['project'], a['project_domain']) for a in spec['role_assignments'] if a.get('project')]
        for name, domain in wanted:
            domain_id = self.existing_domain_id(domain)
            if domain_id:
                reads.setdefault(('project', name, domain_id), (
                    'look up project %s in domain %s' % (name, domain),
                    lambda name=name, domain_id=domain_id: client.projects.list(name=name, domain=domain_id)))
        wanted = [(u['name'], u['domain']) for u in spec['users']]
        wanted += [(a['user'], a['user_domain']) for a in spec['role_assignments']]
        for name, domain in wanted:
            domain_id = self.existing_domain_id(domain)
            if domain_id:
                reads.setdefault(('user', name, domain_id), (
                    'look up user %s in domain %s' % (name, domain),
                    lambda name=name, domain_id=domain_id: client.users.list(name=name, domain=domain_id)))
        self.projects = {}
        self.users = {}
        for (kind, name, domain_id), found in self._results(self._start(executor, reads)).items():
            match = next((x for x in self._dicts(found) if x['name'] == name), None)
            (self.projects if kind == 'project' else self.users)[(name, domain_id)] = match
        # Direct role assignments, once per existing user that the spec assigns roles to.
        reads = {}
        for a in spec['role_assignments']:
            user = self.users.get((a['user'], self.existing_domain_id(a['user_domain'])))
            if user:
                reads.setdefault(user['id'], (
                    'list role assignments of user %s' % a['user'],
                    lambda user_id=user['id']: client.role_assignments.list(user=user_id)))
        assignments = self._start(executor, reads)

        lists = dict((key, self._dicts(found)) for key, found in self._results(lists).items())
        self.regions = [r['id'] for r in lists['regions']] if 'regions' in lists else None
        self.roles = {}
        for role in lists.get('roles', []):
            if not role.get('domain_id'):
                self.roles.setdefault(role['name'], role)
        self.services = lists.get('services', [])
        self.endpoints = lists.get('endpoints', [])

        self.assignments = {}
        for user_id, found in self._results(assignments).items():
            held = set()
            for item in self._dicts(found):
                scope = item.get('scope') or {}
                if 'OS-INHERIT:inherited_to' in scope:
                    continue
                for target in ('project', 'domain'):
                    if target in scope:
                        held.add((item['role']['id'], target, scope[target]['id']))
            self.assignments[user_id] = held

    def _canonical_domain_refs(self):
        """A domain given by its ID (e.g. `default`) is named by its name from here on."""
        def canon(ref):
            if ref is None or ref in self.domains_by_name or ref not in self.domains_by_id:
                return ref
            return self.domains_by_id[ref]['name']
        for item in self.spec['projects']:
            item['domain'] = canon(item['domain'])
        for item in self.spec['users']:
            item['domain'] = canon(item['domain'])
            item['default_project_domain'] = canon(item['default_project_domain'])
        for item in self.spec['role_assignments']:
            for key in ('user_domain', 'project_domain', 'domain'):
                item[key] = canon(item.get(key))

    def existing_domain_id(self, ref):
        domain = self.domains_by_name.get(ref) or self.domains_by_id.get(ref)
        return domain['id'] if domain else None

    # ------------------------------------------------------------ validate

    def _service_candidates(self):
        """Match every spec service to an existing one (or None: to create)."""
        matches = []
        for s in self.spec['services']:
            exact = [x for x in self.services if x.get('name') == s['name'] and x.get('type') == s['type']]
            named = [x for x in self.services if x.get('name') == s['name']]
            if exact:
                matches.append(exact[0])
            elif len(named) == 1:
                matches.append(named[0])
            else:
                matches.append(None)
        return matches

    def resolve_service(self, ref):
        """('spec', index) or ('existing', service) or an error string."""
        for attr in ('name', 'type'):
            spec_hits = [i for i, s in enumerate(self.spec['services']) if s[attr] == ref]
            if len(spec_hits) == 1:
                return ('spec', spec_hits[0])
            if len(spec_hits) > 1:
                return 'service %r matches several entries of `services` by %s' % (ref, attr)
            hits = [s for s in self.services if s.get(attr) == ref]
            if len(hits) == 1:
                return ('existing', hits[0])
            if len(hits) > 1:
                return ('service %r matches %d existing services by %s (ids %s): list the one you mean in '
                        '`services` with its name and type' % (ref, len(hits), attr,
                                                              ', '.join(h['id'] for h in hits)))
        return None

    def validate(self):
        spec = self.spec
        errors = []
        spec_domains = set(d['name'] for d in spec['domains'])
        missing_domains = {}

        def need_domain(ref, used_by):
            if ref in spec_domains or self.existing_domain_id(ref):
                return True
            if used_by not in missing_domains.setdefault(ref, []):
                missing_domains[ref].append(used_by)
            return False

        spec_projects = set((x['name'], x['domain']) for x in spec['projects'])
        missing_projects = {}

        def need_project(name, domain, used_by):
            if not need_domain(domain, used_by):
                return
            if (name, domain) in spec_projects or self.projects.get((name, self.existing_domain_id(domain))):
                return
            missing_projects.setdefault((name, domain), []).append(used_by)

        for x in spec['projects']:
            need_domain(x['domain'], 'project %s' % x['name'])
        for u in spec['users']:
            need_domain(u['domain'], 'user %s' % u['name'])
            if u.get('default_project'):
                need_project(u['default_project'], u['default_project_domain'],
                             'default project of user %s' % u['name'])
        spec_users = set((u['name'], u['domain']) for u in spec['users'])
        spec_roles = set(r['name'] for r in spec['roles'])
        for index, a in enumerate(spec['role_assignments']):
            label = 'role_assignments[%d]' % index
            if need_domain(a['user_domain'], label) and (a['user'], a['user_domain']) not in spec_users \
                    and not self.users.get((a['user'], self.existing_domain_id(a['user_domain']))):
                errors.append(('specification', "user '%s' in domain %s (%s) does not exist in Keystone and is not "
                               "listed in `users`: add it to `users` or correct the name"
                               % (a['user'], a['user_domain'], label)))
            if a['role'] not in spec_roles and a['role'] not in self.roles:
                errors.append(('specification', "role '%s' (%s) does not exist in Keystone and is not listed in "
                               "`roles`; existing roles: %s. Add it to `roles` or correct the name"
                               % (a['role'], label, ', '.join(sorted(self.roles)) or 'none')))
            if a.get('project'):
                need_project(a['project'], a['project_domain'], label)
            else:
                need_domain(a['domain'], label)
        for name, users in sorted(missing_domains.items()):
            errors.append(('domain', "domain '%s' (needed by %s) does not exist in Keystone and is not listed in "
                           "`domains`; existing domains: %s. Add it to `domains` or correct the name"
                           % (name, ', '.join(users), ', '.join(sorted(self.domains_by_name)) or 'none')))
        for (name, domain), users in sorted(missing_projects.items()):
            errors.append(('project', "project '%s' in domain %s (needed by %s) does not exist in Keystone and is "
                           "not listed in `projects`: add it to `projects` or correct the name"
                           % (name, domain, ', '.join(users))))
        if self.regions is not None:
            wanted_regions = []
            if self.params['region']:
                wanted_regions.append(self.params['region'])
            wanted_regions += [e['region'] for e in spec['endpoints'] if e['region']]
            for region in sorted(set(wanted_regions)):
                if region not in self.regions:
                    alike = [r for r in self.regions if r.lower() == region.lower()]
                    errors.append(('region', "region '%s' does not exist in Keystone; existing regions: %s%s"
                                   % (region, ', '.join(sorted(self.regions)) or 'none',
                                      " (region IDs are case-sensitive: use '%s' or create '%s')"
                                      % (alike[0], region) if alike else '')))
        self.endpoint_services = []
        for index, e in enumerate(spec['endpoints']):
            found = self.resolve_service(e['service'])
            if found is None:
                errors.append(('specification', "service '%s' (endpoints[%d]) does not exist in Keystone and is not "
                               "listed in `services` (looked up by name, then by type): add it to `services`"
                               % (e['service'], index)))
            elif isinstance(found, str):
                errors.append(('specification', '%s (endpoints[%d])' % (found, index)))
            self.endpoint_services.append(found)
        errors += self.identity_region_errors()
        return errors

    def identity_region_errors(self):
        """identity_region: an identity endpoint of identity_interface there (keystonemiddleware's lookup)."""
        region, interface = self.params['identity_region'], self.params['identity_interface']
        if not region:
            return []
        if region not in (self.regions or []):
            return [('identity_region', "region '%s' (identity_region) does not exist in Keystone; existing regions: %s"
                     % (region, ', '.join(sorted(self.regions or [])) or 'none'))]
        identity = set(s['id'] for s in self.services if s.get('type') == 'identity')
        found = dict()
        for e in self.endpoints:
            if e.get('service_id') in identity:
                found.setdefault(e.get('region_id') or e.get('region'), set()).add(e.get('interface'))
        if interface in found.get(region, ()):
            return []
        have = '; '.join('%s (%s)' % (r, ', '.join(sorted(i))) for r, i in sorted(found.items(), key=str)) or 'none'
        return [('identity_region', "Keystone's catalog has no %s identity endpoint in region %s (identity_region), "
                 "where Heat's keystonemiddleware looks Keystone up: every Heat API call would answer 500 "
                 "EndpointNotFound. Identity endpoints exist in: %s" % (interface, region, have))]

    # ------------------------------------------------------------ apply

    def change(self, text):
        self.changes.append(text)

    def write(self, what, func):
        """Send one write request unless in check mode; returns its result (or None)."""
        if self.check_mode:
            return None
        return self.call(what, func, write=True)

    def domain_id(self, ref):
        """ID of a domain after the domains step (None: to be created, check mode)."""
        if ref in self.new_domain_ids:
            return self.new_domain_ids[ref]
        return self.existing_domain_id(ref)

    def domain_name(self, ref):
        domain = self.domains_by_name.get(ref) or self.domains_by_id.get(ref)
        return domain['name'] if domain else ref

    def apply_domains(self):
        self.new_domain_ids = {}
        for d in self.spec['domains']:
            current = self.domains_by_name.get(d['name'])
            if current is None:
                created = self.write('create domain %s' % d['name'], lambda: self.client.domains.create(
                    d['name'], description=d.get('description'),
                    enabled=True if d.get('enabled') is None else d['enabled']))
                self.new_domain_ids[d['name']] = created.id if created else None
                self.change('created domain %s' % d['name'])
                self.record('domains', {'name': d['name']}, None, _shown(d, ('description', 'enabled')))
            else:
                updates = _updates(current, d, ('description', 'enabled'))
                if updates:
                    self.write('update domain %s' % d['name'],
                               lambda: self.client.domains.update(current['id'], **updates))
                    self.change('updated domain %s %s' % (d['name'], ', '.join(sorted(updates))))
                    self.record('domains', {'name': d['name']},
                                dict((k, current.get(k)) for k in updates), updates)
        for d in self.spec['domains']:
            self.ids['domains'][d['name']] = self.domain_id(d['name'])
        for ref in self._referenced_domains():
            self.ids['domains'].setdefault(self.domain_name(ref), self.domain_id(ref))

    def _referenced_domains(self):
        refs = [x['domain'] for x in self.spec['projects']] + [u['domain'] for u in self.spec['users']]
        refs += [u['default_project_domain'] for u in self.spec['users'] if u.get('default_project')]
        for a in self.spec['role_assignments']:
            refs.append(a['user_domain'])
            refs.append(a['project_domain'] if a.get('project') else a['domain'])
        return refs

    def apply_projects(self):
        self.new_project_ids = {}
        names = [x['name'] for x in self.spec['projects']]
        for x in self.spec['projects']:
            domain_id = self.domain_id(x['domain'])
            current = self.projects.get((x['name'], domain_id)) if domain_id else None
            if current is None:
                created = self.write('create project %s in domain %s' % (x['name'], x['domain']),
                                     lambda: self.client.projects.create(
                                         x['name'], domain_id, description=x.get('description'),
                                         enabled=True if x.get('enabled') is None else x['enabled']))
                project_id = created.id if created else None
                self.change('created project %s in domain %s' % (x['name'], x['domain']))
                self.record('projects', {'name': x['name'], 'domain': x['domain']}, None,
                            _shown(x, ('description', 'enabled')))
            else:
                project_id = current['id']
                updates = _updates(current, x, ('description', 'enabled'))
                if updates:
                    self.write('update project %s' % x['name'],
                               lambda: self.client.projects.update(current['id'], **updates))
                    self.change('updated project %s in domain %s %s'
                                % (x['name'], x['domain'], ', '.join(sorted(updates))))
                    self.record('projects', {'name': x['name'], 'domain': x['domain']},
                                dict((k, current.get(k)) for k in updates), updates)
            self.new_project_ids[(x['name'], x['domain'])] = project_id
            self.ids['projects'][self._id_key(x['name'], x['domain'], names)] = project_id

    def project_id(self, name, domain):
        if (name, domain) in self.new_project_ids:
            return self.new_project_ids[(name, domain)]
        current = self.projects.get((name, self.existing_domain_id(domain)))
        return current['id'] if current else None

    def apply_roles(self):
        for r in self.spec['roles']:
            current = self.roles.get(r['name'])
            if current is None:
                kwargs = {'description': r['description']} if r['description'] is not None else {}
                created = self.write('create role %s' % r['name'],
                                     lambda: self.client.roles.create(r['name'], **kwargs))
                self.roles[r['name']] = {'id': created.id if created else None, 'name': r['name']}
                self.change('created role %s' % r['name'])
                self.record('roles', {'name': r['name']}, None, _shown(r, ('description',)))
            else:
                updates = _updates(current, r, ('description',))
                if updates:
                    self.write('update role %s' % r['name'],
                               lambda: self.client.roles.update(current['id'], **updates))
                    self.change('updated role %s description' % r['name'])
                    self.record('roles', {'name': r['name']}, {'description': current.get('description')},
                                updates)
        for r in self.spec['roles']:
            self.ids['roles'][r['name']] = self.roles[r['name']]['id']
        for a in self.spec['role_assignments']:
            self.ids['roles'].setdefault(a['role'], self.roles[a['role']]['id'])

    def _user_session(self, user, domain_name, password):
        """An unscoped password plugin of the user alone, and a session of its own."""
        plugin = ks_v3.Password(auth_url=self.creds['auth_url'], username=user, password=password,
                                user_domain_name=domain_name, unscoped=True)
        return plugin, ks_session.Session(auth=plugin, verify=self.session.verify, cert=self.session.cert,
                                          timeout=self.session.timeout)

    def password_works(self, user, domain_name, password):
        """Authenticate as the user alone (unscoped); True if Keystone accepts the password.

        Only the user's own name, domain and password are used: mixing in the admin's
        project or OS_* environment would make a right password fail.
        """
        plugin, probe = self._user_session(user, domain_name, password)
        try:
            with_retries(self.module, lambda: plugin.get_access(probe), self.where,
                         hint='check that Keystone is running')
        except ks_exc.Unauthorized:
            return False
        except ks_exc.ClientException as exc:
            self.fail('could not check the password of user %s in domain %s by authenticating as that user: %s'
                      % (user, domain_name, exc))
        return True

    @staticmethod
    def password_to_check(user):
        """Whether an existing user's password is compared with the spec's (update_password=always)."""
        return bool(user.get('password')) and user['update_password'] == 'always'

    def start_password_checks(self):
        """Check the passwords of the users with update_password=always in the background, from the start.

        Each check is a password authentication, which Keystone hashes with
        bcrypt (about 0.25 s each in the lab, more while it also serves the
        reads): they run side by side, beside the admin's authentication and
        the reads, instead of after them. Whether a user exists and can log
        in is not known yet: password_current uses a check only for a user
        that does (as apply_users asks), so a user created by this run costs
        one refused authentication, once. One attempt each, and only a yes or
        a no is kept: password_current falls back to password_works (with
        retries and errors) when a check could not tell.
        """
        self.password_checks = {}
        users = [u for u in self.spec['users'] if self.password_to_check(u)]
        if not users:
            return
        executor = self.password_executor = ThreadPoolExecutor(max_workers=len(users))
        for u in users:
            # Keyed by the domain as given: a domain given by its ID (e.g. `default`)
            # is only named by its name after the reads, and then checked again.
            self.password_checks[(u['name'], u['domain'])] = executor.submit(
                self._try_password, u['name'], u['domain'], u['password'])
        executor.shutdown(wait=False)

    def wait_for_password_checks(self):
        """The checks still running (of users this run created, whose answer is not needed) end with the module."""
        if self.password_executor is not None:
            self.password_executor.shutdown(wait=True)

    def _try_password(self, user, domain_name, password):
        """True or False when Keystone accepted or refused the password; None when it could not tell."""
        plugin, probe = self._user_session(user, domain_name, password)
        try:
            plugin.get_access(probe)
        except ks_exc.Unauthorized:
            return False
        except Exception:  # noqa: BLE001 - password_works retries and explains
            return None
        return True

    def password_current(self, user, domain_name, password):
        """Whether Keystone accepts the password: the background check, else password_works."""
        check = self.password_checks.pop((user, domain_name), None)
        answer = check.result() if check is not None else None
        if answer is None:
            answer = self.password_works(user, domain_name, password)
        return answer

    def can_authenticate(self, user, current):
        """Whether the user and its domain are enabled once this run is done."""
        if user.get('enabled') is False or (user.get('enabled') is None and current.get('enabled') is False):
            return False
        wanted = next((d for d in self.spec['domains'] if d['name'] == user['domain']), {})
        domain = self.domains_by_name.get(user['domain']) or {}
        if wanted.get('enabled') is False or (wanted.get('enabled') is None and domain.get('enabled') is False):
            return False
        return True

    def apply_users(self):
        self.new_user_ids = {}
        names = [u['name'] for u in self.spec['users']]
        for u in self.spec['users']:
            domain_id = self.domain_id(u['domain'])
            domain_name = self.domain_name(u['domain'])
            current = self.users.get((u['name'], domain_id)) if domain_id else None
            project_id = None
            if u.get('default_project'):
                project_id = self.project_id(u['default_project'], u['default_project_domain'])
            identity = {'name': u['name'], 'domain': u['domain']}
            if current is None:
                kwargs = dict((k, u[k]) for k in ('email', 'description') if u.get(k) is not None)
                created = self.write('create user %s in domain %s' % (u['name'], u['domain']),
                                     lambda: self.client.users.create(
                                         u['name'], domain=domain_id, password=u.get('password'),
                                         default_project=project_id,
                                         enabled=True if u.get('enabled') is None else u['enabled'], **kwargs))
                user_id = created.id if created else None
                self.change('created user %s in domain %s' % (u['name'], u['domain']))
                after = _shown(u, ('default_project', 'email', 'description', 'enabled'))
                if u.get('password'):
                    after['password'] = '(set, not shown)'
                self.record('users', identity, None, after)
            else:
                user_id = current['id']
                updates = _updates(current, u, ('email', 'description', 'enabled'))
                before = dict((k, current.get(k)) for k in updates)
                after = dict(updates)
                if u.get('default_project') and (project_id is None
                                                 or current.get('default_project_id') != project_id):
                    updates['default_project'] = project_id
                    before['default_project'] = current.get('default_project_id')
                    after['default_project'] = u['default_project']
                password_changed = False
                if self.password_to_check(u):
                    if not self.can_authenticate(u, current):
                        self.module.warn('user %s in domain %s (or its domain) is disabled, so its password '
                                         'cannot be checked; it was left unchanged' % (u['name'], u['domain']))
                    elif not self.password_current(u['name'], domain_name, u['password']):
                        updates['password'] = u['password']
                        password_changed = True
                        before['password'] = PASSWORD_SHOWN['before']
                        after['password'] = PASSWORD_SHOWN['after']
                if updates:
                    # One PATCH for all attributes and the password.
                    self.write('update user %s in domain %s' % (u['name'], u['domain']),
                               lambda: self.client.users.update(user_id, **updates))
                    fields = sorted(k for k in after if k != 'password')
                    if fields:
                        self.change('updated user %s in domain %s %s' % (u['name'], u['domain'], ', '.join(fields)))
                    if password_changed:
                        self.change('password of user %s updated' % u['name'])
                    self.record('users', identity, before, after)
            self.new_user_ids[(u['name'], u['domain'])] = user_id
            self.ids['users'][self._id_key(u['name'], u['domain'], names)] = user_id

    def user_id(self, name, domain):
        if (name, domain) in self.new_user_ids:
            return self.new_user_ids[(name, domain)]
        current = self.users.get((name, self.existing_domain_id(domain)))
        return current['id'] if current else None

    def apply_assignments(self):
        for a in self.spec['role_assignments']:
            user_id = self.user_id(a['user'], a['user_domain'])
            role_id = self.roles[a['role']]['id']
            if a.get('project'):
                target, target_id = 'project', self.project_id(a['project'], a['project_domain'])
                where = 'project %s (domain %s)' % (a['project'], a['project_domain'])
            else:
                target, target_id = 'domain', self.domain_id(a['domain'])
                where = 'domain %s' % a['domain']
            if None not in (user_id, role_id, target_id) and \
                    (role_id, target, target_id) in self.assignments.get(user_id, set()):
                continue
            self.write('grant role %s to user %s on %s' % (a['role'], a['user'], where),
                       lambda: self.client.roles.grant(role_id, user=user_id, **{target: target_id}))
            self.assignments.setdefault(user_id, set()).add((role_id, target, target_id))
            self.change('granted role %s to user %s (domain %s) on %s'
                        % (a['role'], a['user'], a['user_domain'], where))
            identity = {'user': a['user'], 'user_domain': a['user_domain'], 'role': a['role']}
            identity.update({'project': a['project'], 'project_domain': a['project_domain']}
                            if a.get('project') else {'domain': a['domain']})
            self.record('role_assignments', identity, None, {'granted': True})

    def apply_services(self):
        self.spec_service_ids = []
        for s, current in zip(self.spec['services'], self._service_candidates()):
            identity = {'name': s['name'], 'type': s['type']}
            if current is None:
                created = self.write('create service %s' % s['name'], lambda: self.client.services.create(
                    s['name'], type=s['type'], description=s.get('description'),
                    enabled=True if s.get('enabled') is None else s['enabled']))
                service_id = created.id if created else None
                self.change('created service %s (%s)' % (s['name'], s['type']))
                self.record('services', identity, None, _shown(s, ('description', 'enabled')))
            else:
                service_id = current['id']
                updates = _updates(current, s, ('type', 'description', 'enabled'))
                if updates:
                    self.write('update service %s' % s['name'],
                               lambda: self.client.services.update(service_id, **updates))
                    self.change('updated service %s %s' % (s['name'], ', '.join(sorted(updates))))
                    self.record('services', identity, dict((k, current.get(k)) for k in updates), updates)
            self.spec_service_ids.append(service_id)
            self.ids['services'][s['name']] = service_id
        for found in self.endpoint_services:
            if found[0] == 'existing':
                self.ids['services'].setdefault(found[1].get('name') or found[1]['id'], found[1]['id'])

    def apply_endpoints(self):
        for e, found in zip(self.spec['endpoints'], self.endpoint_services):
            if found[0] == 'spec':
                service_id = self.spec_service_ids[found[1]]
                service_name = self.spec['services'][found[1]]['name']
            else:
                service_id, service_name = found[1]['id'], found[1].get('name') or e['service']
            label = '%s %s %s' % (service_name, e['interface'], e['region'])
            identity = {'service': service_name, 'interface': e['interface'], 'region': e['region']}
            same = []
            if service_id is not None:
                same = [x for x in self.endpoints if x.get('service_id') == service_id
                        and x.get('interface') == e['interface']
                        and (x.get('region_id') or x.get('region')) == e['region']]
            if not same:
                created = self.write('create endpoint %s' % label, lambda: self.client.endpoints.create(
                    service_id, e['url'], interface=e['interface'], region_id=e['region'],
                    enabled=True if e.get('enabled') is None else e['enabled']))
                if created:
                    self.endpoints.append(created.to_dict())
                self.change('created endpoint %s' % label)
                self.record('endpoints', identity, None, _shown(e, ('url', 'enabled')))
                continue
            current = next((x for x in same if not _updates(x, e, ('url', 'enabled'))), same[0])
            if len(same) > 1:
                self.module.warn('Keystone has %d endpoints for %s (ids %s); only %s is managed, the others '
                                     'were left alone' % (len(same), label, ', '.join(x['id'] for x in same),
                                                          current['id']))
            updates = _updates(current, e, ('url', 'enabled'))
            if updates:
                self.write('update endpoint %s' % label,
                           lambda: self.client.endpoints.update(current['id'], **updates))
                self.change('updated endpoint %s %s' % (label, ', '.join(sorted(updates))))
                self.record('endpoints', identity, dict((k, current.get(k)) for k in updates), updates)

    # ------------------------------------------------------------ run

    def run(self):
        errors = self.normalise()
        if errors:
            self.module.fail_json(msg='invalid specification: %s. Nothing was changed.' % '; '.join(errors))
        self.connect()
        self.read()
        errors = self.validate()
        if errors:
            self.fail('%s. Nothing was changed.' % '; '.join(text for cause, text in errors), cause=errors[0][0])
        self.apply_domains()
        self.apply_projects()
        self.apply_roles()
        self.apply_users()
        self.apply_assignments()
        self.apply_services()
        self.apply_endpoints()
        result = dict(changed=bool(self.changes), changes=self.changes, ids=self.ids)
        if self.module._diff:
            # PyYAML comes with the Keystone client (oslo.config needs it).
            import yaml
            result['diff'] = dict(before=yaml.safe_dump(self.before, default_flow_style=False, sort_keys=False)
                                  if self.before else '',
                                  after=yaml.safe_dump(self.after, default_flow_style=False, sort_keys=False)
                                  if self.after else '')
        self.module.exit_json(**result)


def _shown(item, fields):
    """The given (non-None) fields of a spec entry, for diff output."""
    return dict((k, item[k]) for k in fields if item.get(k) is not None)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_KEYSTONECLIENT:
        module.fail_json(msg=missing_required_lib('python-keystoneclient')
                         + ' On Debian/Ubuntu install the package python3-keystoneclient.',
                         exception=KEYSTONECLIENT_IMPORT_ERROR)
    registration = KeystoneRegistration(module)
    try:
        registration.run()
    finally:  # exit_json and fail_json leave by an exception
        registration.wait_for_password_checks()


if __name__ == '__main__':
    main()
