# -*- coding: utf-8 -*-
# Bundled module of the heat role: make Keystone match one declarative spec.
from __future__ import annotations

DOCUMENTATION = r'''
---
module: keystone_registration
short_description: Register domains, users, roles, role assignments, services and endpoints in Keystone in one call
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
  - Projects are referenced, never created nor changed (a service project is the
    cloud's, made with Keystone).
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
        description: Name of the user's default project, an existing project.
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
      label:
        description:
          - How failure messages name this user instead of V(user <name>); a caller such as
            a role gives the input the entry comes from.
        type: str
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
      label:
        description:
          - How failure messages name this entry instead of by its place in O(role_assignments)
            (V(role_assignments[0])); a caller such as a role gives the input the entry comes from.
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
      label:
        description:
          - How failure messages name this entry instead of by its place in O(endpoints)
            (V(endpoints[0])); a caller such as a role gives the input the entry comes from.
        type: str
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
  - keystoneauth1 on the managed host (Debian/Ubuntu package C(python3-keystoneauth1), a dependency of Heat's).
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
    - When two users of the specification share a name in different domains, their
      keys are C(name@domain).
  returned: always
  type: dict
  contains:
    domains:
      description: Domain name to ID.
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
    users: {heat: 9a8b7c6d5e4f30211203f4e5d6c7b8a9}
    roles: {admin: 1b2c3d4e5f60718293a4b5c6d7e8f901, heat_stack_owner: 3c4d5e6f708192a3b4c5d6e7f8091a2b}
    services: {heat: 7e8f9001a2b3c4d5e6f708192a3b4c5d}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.keystone_api import KeystoneError
from ansible.module_utils.keystone_reconcile import register
from ansible.module_utils.keystone_spec import registration_options
from ansible.module_utils.openstack_auth import auth_argument_spec


def argument_spec():
    spec = auth_argument_spec()
    spec.update(registration_options())
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        result = register(module, module.check_mode)
    except KeystoneError as exc:
        partial = getattr(exc, 'partial', {})
        if exc.cause == 'specification' and not partial:
            module.fail_json(msg=exc.msg)
        module.fail_json(msg=exc.msg, cause=exc.cause, **partial)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
