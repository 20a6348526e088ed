# -*- coding: utf-8 -*-
# The registration's specification: normalised from the module's options,
# then every reference in it checked against what Keystone holds (a
# KeystoneState) before the first write. Pure functions, no requests.
from __future__ import annotations

# The keys that name one object of each kind: the same object twice in one
# spec is a mistake (which one wins?).
IDENTITY_KEYS = (
    ('domains', ('name',)), ('users', ('name', 'domain')),
    ('roles', ('name',)), ('services', ('name', 'type')), ('endpoints', ('service', 'interface', 'region')),
)


class KeystoneState(object):
    """What Keystone holds of the objects the specification names."""

    def __init__(self):
        self.domains_by_name, self.domains_by_id = {}, {}
        self.projects, self.users = {}, {}      # (name, domain_id) -> dict or None
        self.assignments = {}                   # user_id -> {(role_id, target, target_id)}
        self.assignment_reads = {}              # user_id -> (what, func): to confirm an absence
        self.regions = None                     # None: not read
        self.roles, self.services, self.endpoints = {}, [], []

    def domain_id(self, ref):
        domain = self.domains_by_name.get(ref) or self.domains_by_id.get(ref)
        return domain['id'] if domain else None

    def project(self, name, domain):
        return self.projects.get((name, self.domain_id(domain)))

    def user(self, name, domain):
        return self.users.get((name, self.domain_id(domain)))


def _roles(given, errors):
    """Roles as {name, description}: a name, or a dictionary with a name."""
    roles = []
    for index, role in enumerate(given or []):
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
    return roles


def normalise(params, secrets):
    """(spec, errors): lists of plain dicts, defaults filled in; passwords added to `secrets`."""
    errors = []
    roles = _roles(params['roles'], errors)
    users = []
    for user in params['users']:
        user = dict(user)
        user['update_password'] = user.get('update_password') or params['update_password']
        if user.get('password'):
            secrets.add(user['password'])
        users.append(user)
    endpoints = []
    for index, endpoint in enumerate(params['endpoints']):
        endpoint = dict(endpoint)
        endpoint['region'] = endpoint.get('region') or params['region']
        if not endpoint['region']:
            errors.append('endpoints[%d] (%s %s) has no region: set `region` for the module or for the '
                          'endpoint' % (index, endpoint['service'], endpoint['interface']))
        endpoints.append(endpoint)
    spec = dict(
        domains=[dict(d) for d in params['domains']],
        users=users,
        roles=roles,
        role_assignments=[dict(a) for a in params['role_assignments']],
        services=[dict(s) for s in params['services']],
        endpoints=endpoints,
    )
    for kind, key in IDENTITY_KEYS:
        seen = {}
        for item in spec[kind]:
            ident = tuple(item.get(k) for k in key)
            if ident in seen:
                labels = [x['label'] for x in (seen[ident], item) if x.get('label')]
                errors.append('%s %s is given twice%s' % (kind[:-1], '/'.join(str(v) for v in ident),
                                                          ' (%s)' % ', '.join(labels) if labels else ''))
            seen[ident] = item
    return spec, errors


def canonical_domain_refs(spec, state):
    """A domain given by its ID (e.g. `default`) is named by its name from here on."""
    def canon(ref):
        if ref is None or ref in state.domains_by_name or ref not in state.domains_by_id:
            return ref
        return state.domains_by_id[ref]['name']
    for item in spec['users']:
        item['domain'] = canon(item['domain'])
        item['default_project_domain'] = canon(item['default_project_domain'])
    for item in spec['role_assignments']:
        for key in ('user_domain', 'project_domain', 'domain'):
            item[key] = canon(item.get(key))


def service_candidates(spec, state):
    """Every spec service matched to an existing one (or None: to create)."""
    matches = []
    for s in spec['services']:
        exact = [x for x in state.services if x.get('name') == s['name'] and x.get('type') == s['type']]
        named = [x for x in state.services if x.get('name') == s['name']]
        matches.append(exact[0] if exact else named[0] if len(named) == 1 else None)
    return matches


def resolve_service(spec, state, ref):
    """An endpoint's service: ('spec', index) or ('existing', service), an error string, or None."""
    for attr in ('name', 'type'):
        spec_hits = [i for i, s in enumerate(spec['services']) if s[attr] == ref]
        if len(spec_hits) == 1:
            return ('spec', spec_hits[0])
        if len(spec_hits) > 1:
            return 'service %r matches several entries of `services` by %s' % (ref, attr)
        hits = [s for s in state.services if s.get(attr) == ref]
        if len(hits) == 1:
            return ('existing', hits[0])
        if len(hits) > 1:
            return ('service %r matches %d existing services by %s (ids %s): list the one you mean in '
                    '`services` with its name and type' % (ref, len(hits), attr, ', '.join(h['id'] for h in hits)))
    return None


def named_by(entry, default):
    """How a message names a spec entry: its `label` (the caller's own term, e.g. the role input
    it comes from) or `default` (its place in the module's options, e.g. role_assignments[0])."""
    return entry.get('label') or default


class References(object):
    """The domains and projects a spec needs, and which of them Keystone lacks.

    Projects are referenced (default projects, role assignment targets), never
    created: the service project is the cloud's, made when Keystone was.
    `domains`: the names the spec would create (None: it creates none).
    `used_by`: what names the reference (None: nothing but the caller, which says why itself).
    The advice is neutral: the caller may be a role whose operator never wrote
    this module's options.
    """

    def __init__(self, state, domains=None):
        self.state = state
        self.spec_domains = set(domains or ())
        self.creates_domains = domains is not None
        self.missing_domains = {}
        self.missing_projects = {}

    def domain(self, ref, used_by):
        if ref in self.spec_domains or self.state.domain_id(ref):
            return True
        users = self.missing_domains.setdefault(ref, [])
        if used_by and used_by not in users:
            users.append(used_by)
        return False

    def project(self, name, domain, used_by):
        if not self.domain(domain, used_by):
            return
        if self.state.project(name, domain):
            return
        users = self.missing_projects.setdefault((name, domain), [])
        if used_by:
            users.append(used_by)

    def errors(self):
        errors = []
        for name, users in sorted(self.missing_domains.items()):
            errors.append(('domain', "domain '%s'%s does not exist in Keystone%s; existing domains: %s. "
                           "Create it or correct the name"
                           % (name, _named_by_clause(users),
                              ' and is not created by this registration' if self.creates_domains else '',
                              ', '.join(sorted(self.state.domains_by_name)) or 'none')))
        for (name, domain), users in sorted(self.missing_projects.items()):
            errors.append(('project', "project '%s' in domain %s%s does not exist in Keystone: it is "
                           "referenced, not created; create it or correct the name"
                           % (name, domain, _named_by_clause(users))))
        return errors


def _named_by_clause(users):
    """' (named by a, b)': the entries (named_by) that refer to a missing domain or project."""
    return ' (named by %s)' % ', '.join(users) if users else ''


def region_errors(state, wanted):
    """The regions of `wanted` Keystone lacks (state.regions None: not read, not checked)."""
    if state.regions is None:
        return []
    errors = []
    for name in sorted(set(r for r in wanted if r)):
        if name not in state.regions:
            alike = [r for r in state.regions if r.lower() == name.lower()]
            errors.append(('region', "region '%s' does not exist in Keystone; existing regions: %s%s"
                           % (name, ', '.join(sorted(state.regions)) or 'none',
                              " (region IDs are case-sensitive: use '%s' or create '%s')" % (alike[0], name)
                              if alike else '')))
    return errors


def validate(spec, state, params):
    """([(cause, message)], endpoint services): every reference the spec makes, checked before any write."""
    errors = []
    refs = References(state, [d['name'] for d in spec['domains']])
    for u in spec['users']:
        user = named_by(u, 'user %s' % u['name'])
        refs.domain(u['domain'], user)
        if u.get('default_project'):
            refs.project(u['default_project'], u['default_project_domain'], 'the default project of %s' % user)
    spec_users = set((u['name'], u['domain']) for u in spec['users'])
    spec_roles = set(r['name'] for r in spec['roles'])
    for index, a in enumerate(spec['role_assignments']):
        label = named_by(a, 'role_assignments[%d]' % index)
        if refs.domain(a['user_domain'], label) and (a['user'], a['user_domain']) not in spec_users \
                and not state.user(a['user'], a['user_domain']):
            errors.append(('specification', "user '%s' in domain %s (named by %s) does not exist in Keystone and is "
                           "not created by this registration: create it or correct the name"
                           % (a['user'], a['user_domain'], label)))
        if a['role'] not in spec_roles and a['role'] not in state.roles:
            errors.append(('specification', "role '%s' (named by %s) does not exist in Keystone and is not created by "
                           "this registration; existing roles: %s. Create it or correct the name"
                           % (a['role'], label, ', '.join(sorted(state.roles)) or 'none')))
        if a.get('project'):
            refs.project(a['project'], a['project_domain'], label)
        else:
            refs.domain(a['domain'], label)
    errors += refs.errors()
    regions = [params['region']] + [e['region'] for e in spec['endpoints']]
    errors += region_errors(state, regions)
    endpoint_services = []
    for index, e in enumerate(spec['endpoints']):
        label = named_by(e, 'endpoints[%d]' % index)
        found = resolve_service(spec, state, e['service'])
        if found is None:
            errors.append(('specification', "service '%s' (named by %s) does not exist in Keystone, by name or by "
                           "type, and is not created by this registration: create it or correct the name"
                           % (e['service'], label)))
        elif isinstance(found, str):
            errors.append(('specification', '%s (named by %s)' % (found, label)))
        endpoint_services.append(found)
    errors += identity_region_errors(state, params['identity_region'], params['identity_interface'], checked=regions)
    return errors, endpoint_services


def identity_region_errors(state, region, interface, checked=()):
    """The region keystonemiddleware looks Keystone up in: an identity endpoint of `interface` there.
    A missing region among `checked` (region_errors has named it) is not named twice. Worded by what
    the region is for, not by an option's name: the module's, or the role's plan's, whoever calls."""
    if not region:
        return []
    if region not in (state.regions or []):
        if region in checked:
            return []
        return [('identity_region', "region '%s', where Heat's keystonemiddleware looks Keystone up, does not exist "
                 "in Keystone; existing regions: %s" % (region, ', '.join(sorted(state.regions or [])) or 'none'))]
    identity = set(s['id'] for s in state.services if s.get('type') == 'identity')
    found = dict()
    for e in state.endpoints:
        if e.get('service_id') in identity:
            found.setdefault(e.get('region_id') or e.get('region'), set()).add(e.get('interface'))
    if interface in found.get(region, ()):
        return []
    have = '; '.join('%s (%s)' % (r, ', '.join(sorted(i))) for r, i in sorted(found.items(), key=str)) or 'none'
    return [('identity_region', "Keystone's catalog has no %s identity endpoint in region %s, "
             "where Heat's keystonemiddleware looks Keystone up: every Heat API call would answer 500 "
             "EndpointNotFound. Identity endpoints exist in: %s" % (interface, region, have))]


def registration_options():
    """keystone_registration's specification options (heat_plan's `keystone.registration`)."""
    return dict(
        region=dict(type='str'),
        domains=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True),
            description=dict(type='str'),
            enabled=dict(type='bool'),
        )),
        users=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True),
            label=dict(type='str'),
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
                label=dict(type='str'),
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
            label=dict(type='str'),
        )),
        update_password=dict(type='str', default='always', choices=['always', 'on_create'], no_log=False),
        identity_region=dict(type='str'),
        identity_interface=dict(type='str', default='internal', choices=['public', 'internal', 'admin']),
    )
