# -*- coding: utf-8 -*-
# Make Keystone match a normalised specification (keystone_spec): read what
# exists, concurrently and each kind once, then create what is missing and
# update what differs, never deleting. Every write goes through one
# reconcile step; check mode reports the same changes without sending them.
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils import keystone_spec
from ansible.module_utils.keystone_api import KeystoneAPI, KeystoneError
from ansible.module_utils.keystone_spec import KeystoneState

PASSWORD_SHOWN = {'before': '(current, not shown)', 'after': '(changed, not shown)'}
# Each read is one GET, nearly all of it waiting for Keystone: a no-op makes
# about ten, each started as soon as what it needs is known.
READERS = 16
# Keystone may answer a read as if another request's token had sent it: its
# AuthContextMiddleware keeps the token it validated in an attribute of its
# one instance per uwsgi process (self.token, keystone/server/flask/
# request_processing/middleware/auth_context.py, Keystone 16.0.0 to 27.0.0
# at least), which the process's threads share (Debian: threads = 32).
# Beside a request with a domain-scoped token (heat-engine's
# heat_domain_admin), a list of projects, users, domains or role assignments
# comes back narrowed to that domain (never with a foreign object), or the
# read is refused (403, made again by keystone_api). So whatever a read finds
# is there, but an absence is believed only when CONFIRM_BURST reads made at
# once agree, CONFIRM_ROUNDS times (measured in the lab: a read made again
# alone is answered wrong about one time in six under that load).
CONFIRM_ROUNDS = 3
CONFIRM_BURST = 4


def _same(current, wanted):
    """Compare an attribute; None and '' are the same empty string."""
    if isinstance(wanted, str) or isinstance(current, str):
        return (current or '') == (wanted or '')
    return current == wanted


def _updates(current, wanted, fields):
    """{field: wanted value} for every given field whose current value differs."""
    return dict((f, wanted[f]) for f in fields
                if wanted.get(f) is not None and not _same(current.get(f), wanted[f]))


def _shown(item, fields):
    """The given (non-None) fields of a spec entry, for diff output."""
    return dict((k, item[k]) for k in fields if item.get(k) is not None)


def _enabled(item):
    return True if item.get('enabled') is None else item['enabled']


def _answer(future, read, call):
    """A read's answer; one that failed in its thread is made again here, with call()'s retries and
    messages (fail_json must run in the main thread)."""
    try:
        return future.result()
    except Exception:  # noqa: BLE001 - made again here, where failures are explained
        return call(*read)


def confirmed(call, read, found, absent):
    """`found`, unless absent(found): then the first of CONFIRM_BURST reads (what, func) made at once
    that finds it, CONFIRM_ROUNDS times at most; an absence they all agree on stands."""
    for _ in range(CONFIRM_ROUNDS):
        if not absent(found):
            break
        with ThreadPoolExecutor(max_workers=CONFIRM_BURST) as burst:
            futures = [burst.submit(read[1]) for _ in range(CONFIRM_BURST)]
        answers = [_answer(future, read, call) for future in futures]
        found = next((a for a in answers if not absent(a)), answers[-1])
    return found


def _referenced_domains(spec):
    """The domains the spec creates or refers to."""
    refs = [d['name'] for d in spec['domains']] + [u['domain'] for u in spec['users']]
    refs += [u['default_project_domain'] for u in spec['users'] if u.get('default_project')]
    for a in spec['role_assignments']:
        refs += [a['user_domain'], a['project_domain'] if a.get('project') else a['domain']]
    return set(refs)


def read_state(api, spec, params, call):
    """Read, in three rounds of concurrent GETs, what the spec needs; call(what, func) explains failures."""
    with ThreadPoolExecutor(max_workers=READERS) as executor:
        def start(reads):
            return dict((key, (read, executor.submit(read[1]))) for key, read in reads.items())

        def results(started):
            return dict((key, _answer(future, read, call)) for key, (read, future) in started.items())

        state = KeystoneState()
        identity_region = params['identity_region']
        reads = {'domains': ('list domains', lambda: api.list('domains'))}
        if spec['endpoints'] or params['region'] or identity_region:
            reads['regions'] = ('list regions', lambda: api.list('regions'))
        if spec['roles'] or spec['role_assignments']:
            reads['roles'] = ('list roles', lambda: api.list('roles'))
        if spec['services'] or spec['endpoints'] or identity_region:
            reads['services'] = ('list services', lambda: api.list('services'))
        if spec['endpoints'] or identity_region:
            reads['endpoints'] = ('list endpoints', lambda: api.list('endpoints'))
        lists = start(reads)
        referenced = _referenced_domains(spec)
        domains = confirmed(call, reads['domains'], results({'domains': lists.pop('domains')})['domains'],
                            lambda found: bool(referenced - set(d['name'] for d in found) - set(d['id'] for d in found)))
        state.domains_by_name = dict((d['name'], d) for d in domains)
        state.domains_by_id = dict((d['id'], d) for d in domains)
        keystone_spec.canonical_domain_refs(spec, state)

        # Projects and users are looked up by name in their domain (Heat's stack domain fills
        # up with one project and user per stack), while the other lists are still coming.
        reads = {}
        for kind, wanted in _named(spec).items():
            for name, domain in wanted:
                domain_id = state.domain_id(domain)
                if domain_id:
                    reads.setdefault((kind, name, domain_id), (
                        'look up %s %s in domain %s' % (kind[:-1], name, domain),
                        lambda kind=kind, name=name, domain_id=domain_id: api.list(kind, name=name,
                                                                                  domain_id=domain_id)))
        for key, found in results(start(reads)).items():
            kind, name, domain_id = key

            def match(found, name=name, domain_id=domain_id):
                return next((x for x in found if x['name'] == name and x.get('domain_id') == domain_id), None)
            found = confirmed(call, reads[key], found, lambda found, match=match: match(found) is None)
            getattr(state, kind)[(name, domain_id)] = match(found)
        # Direct role assignments, once per existing user the spec assigns roles to.
        reads = state.assignment_reads = {}
        for a in spec['role_assignments']:
            user = state.user(a['user'], a['user_domain'])
            if user:
                reads.setdefault(user['id'], ('list role assignments of user %s' % a['user'],
                                              lambda user_id=user['id']: api.direct_assignments(user_id)))
        assignments = start(reads)
        lists = results(lists)
        state.assignments = results(assignments)
    if 'regions' in lists:
        state.regions = [r['id'] for r in lists['regions']]
    for role in lists.get('roles', []):
        if not role.get('domain_id'):
            state.roles.setdefault(role['name'], role)
    state.services = lists.get('services', [])
    state.endpoints = lists.get('endpoints', [])
    return state


def _named(spec):
    """The (name, domain) of every project the spec refers to and every user it names or refers to."""
    projects = [(u['default_project'], u['default_project_domain']) for u in spec['users'] if u.get('default_project')]
    projects += [(a['project'], a['project_domain']) for a in spec['role_assignments'] if a.get('project')]
    users = [(u['name'], u['domain']) for u in spec['users']]
    users += [(a['user'], a['user_domain']) for a in spec['role_assignments']]
    return {'projects': projects, 'users': users}


class Reconciler(object):
    """Creates and updates; the changes, their diff and the IDs of the objects named."""

    def __init__(self, api, spec, state, check_mode, warn):
        self.api, self.spec, self.state = api, spec, state
        self.check_mode, self.warn = check_mode, warn
        self.changes, self.before, self.after = [], {}, {}
        self.ids = dict((kind, {}) for kind in ('domains', 'users', 'roles', 'services'))
        self.new = dict((kind, {}) for kind in ('domains', 'users'))

    def call(self, what, func, write=False):
        return self.api.call(what, func, write=write, changed=bool(self.changes))

    def write(self, what, func):
        """Send one write request unless in check mode; its result (or None)."""
        return None if self.check_mode else self.call(what, func, write=True)

    def record(self, kind, identity, before, after):
        """Remember a change for diff mode (never with password values)."""
        if before is not None:
            self.before.setdefault(kind, []).append(dict(identity, **before))
        self.after.setdefault(kind, []).append(dict(identity, **after))

    def create(self, kind, label, identity, fields, shown, done=None):
        """Create one object: its ID (None in check mode)."""
        created = self.write('create %s' % label, lambda: self.api.create(kind, fields))
        self.change(done or 'created %s' % label)
        self.record(kind, identity, None, shown)
        return created['id'] if created else None

    def update(self, kind, label, identity, current, updates, before=None, after=None):
        """PATCH the fields that differ (one request); the diff shows before/after (default: the updates)."""
        if not updates:
            return
        self.write('update %s' % label, lambda: self.api.update(kind, current['id'], updates))
        shown = after if after is not None else updates
        fields = sorted(k for k in shown if k != 'password')
        if fields:
            self.change('updated %s %s' % (label, ', '.join(fields)))
        self.record(kind, identity, before if before is not None else dict((k, current.get(k)) for k in updates),
                    shown)

    def reconcile(self, kind, label, identity, wanted, current, fields, create_fields, done=None):
        """Create `wanted` when there is no `current`, else update its `fields` that differ: the ID."""
        if current is None:
            return self.create(kind, label, identity, create_fields, _shown(wanted, fields), done)
        self.update(kind, label, identity, current, _updates(current, wanted, fields))
        return current['id']

    def change(self, text):
        self.changes.append(text)

    @staticmethod
    def _id_key(name, domain, names):
        return name if names.count(name) <= 1 else '%s@%s' % (name, domain)

    # ------------------------------------------------------------ IDs after the writes

    def domain_id(self, ref):
        """ID of a domain after the domains step (None: to be created, check mode)."""
        return self.new['domains'][ref] if ref in self.new['domains'] else self.state.domain_id(ref)

    def domain_name(self, ref):
        domain = self.state.domains_by_name.get(ref) or self.state.domains_by_id.get(ref)
        return domain['name'] if domain else ref

    def project_id(self, name, domain):
        current = self.state.project(name, domain)
        return current['id'] if current else None

    def user_id(self, name, domain):
        if (name, domain) in self.new['users']:
            return self.new['users'][(name, domain)]
        current = self.state.user(name, domain)
        return current['id'] if current else None

    # ------------------------------------------------------------ the kinds, in dependency order

    def apply(self, endpoint_services, password_current):
        self.apply_domains()
        self.apply_roles()
        self.apply_users(password_current)
        self.apply_assignments()
        self.apply_services()
        self.apply_endpoints(endpoint_services)

    def apply_domains(self):
        fields = ('description', 'enabled')
        for d in self.spec['domains']:
            self.new['domains'][d['name']] = self.reconcile(
                'domains', 'domain %s' % d['name'], {'name': d['name']}, d,
                self.state.domains_by_name.get(d['name']), fields,
                {'name': d['name'], 'description': d.get('description'), 'enabled': _enabled(d)})
        for d in self.spec['domains']:
            self.ids['domains'][d['name']] = self.domain_id(d['name'])
        for ref in _referenced_domains(self.spec) - set(d['name'] for d in self.spec['domains']):
            self.ids['domains'].setdefault(self.domain_name(ref), self.domain_id(ref))

    def apply_roles(self):
        roles = self.state.roles
        for r in self.spec['roles']:
            current = roles.get(r['name'])
            role_id = self.reconcile('roles', 'role %s' % r['name'], {'name': r['name']}, r, current,
                                     ('description',), {'name': r['name'], 'description': r['description']})
            roles.setdefault(r['name'], {'id': role_id, 'name': r['name']})
            self.ids['roles'][r['name']] = role_id
        for a in self.spec['role_assignments']:
            self.ids['roles'].setdefault(a['role'], roles[a['role']]['id'])

    def apply_users(self, password_current):
        """password_current(user, domain_name, password) -> bool: whether Keystone accepts it."""
        names = [u['name'] for u in self.spec['users']]
        for u in self.spec['users']:
            domain_id = self.domain_id(u['domain'])
            current = self.state.users.get((u['name'], domain_id)) if domain_id else None
            project_id = self.project_id(u['default_project'], u['default_project_domain']) \
                if u.get('default_project') else None
            label = 'user %s in domain %s' % (u['name'], u['domain'])
            identity = {'name': u['name'], 'domain': u['domain']}
            fields = ('email', 'description', 'enabled')
            if current is None:
                shown = _shown(u, ('default_project',) + fields)
                if u.get('password'):
                    shown['password'] = '(set, not shown)'
                user_id = self.create('users', label, identity, dict(
                    name=u['name'], domain_id=domain_id, password=u.get('password'), default_project_id=project_id,
                    enabled=_enabled(u), email=u.get('email'), description=u.get('description')), shown)
            else:
                user_id = current['id']
                updates = _updates(current, u, fields)
                before, after = dict((k, current.get(k)) for k in updates), dict(updates)
                if u.get('default_project') and (project_id is None or current.get('default_project_id') != project_id):
                    updates['default_project_id'] = project_id
                    before['default_project'] = current.get('default_project_id')
                    after['default_project'] = u['default_project']
                if self._password_outdated(u, current, password_current):
                    updates['password'] = u['password']
                    before['password'], after['password'] = PASSWORD_SHOWN['before'], PASSWORD_SHOWN['after']
                self.update('users', label, identity, current, updates, before, after)
                if 'password' in updates:
                    self.change('password of user %s updated' % u['name'])
            self.new['users'][(u['name'], u['domain'])] = user_id
            self.ids['users'][self._id_key(u['name'], u['domain'], names)] = user_id

    def _password_outdated(self, user, current, password_current):
        """update_password=always: whether Keystone refuses the spec's password (a disabled user: warn, keep)."""
        if not (user.get('password') and user['update_password'] == 'always'):
            return False
        wanted = next((d for d in self.spec['domains'] if d['name'] == user['domain']), {})
        domain = self.state.domains_by_name.get(user['domain']) or {}
        if user.get('enabled') is False or (user.get('enabled') is None and current.get('enabled') is False) \
                or wanted.get('enabled') is False or (wanted.get('enabled') is None and domain.get('enabled') is False):
            self.warn('user %s in domain %s (or its domain) is disabled, so its password cannot be checked; it was '
                      'left unchanged' % (user['name'], user['domain']))
            return False
        return not password_current(user['name'], self.domain_name(user['domain']), user['password'])

    def apply_assignments(self):
        for a in self.spec['role_assignments']:
            user_id = self.user_id(a['user'], a['user_domain'])
            role_id = self.state.roles[a['role']]['id']
            if a.get('project'):
                target, target_id = 'project', self.project_id(a['project'], a['project_domain'])
                where = 'project %s (domain %s)' % (a['project'], a['project_domain'])
            else:
                target, target_id = 'domain', self.domain_id(a['domain'])
                where = 'domain %s' % a['domain']
            held = self.state.assignments.setdefault(user_id, set())
            wanted = (role_id, target, target_id)
            if None not in wanted and wanted not in held and user_id in self.state.assignment_reads:
                # An assignment not seen: confirmed absent before it is granted (see CONFIRM_ROUNDS).
                held |= confirmed(self.call, self.state.assignment_reads.pop(user_id), set(),
                                  lambda found: wanted not in found)
            if None not in (user_id, role_id, target_id) and wanted in held:
                continue
            self.write('grant role %s to user %s on %s' % (a['role'], a['user'], where),
                       lambda: self.api.grant(role_id, user_id, target, target_id))
            held.add((role_id, target, target_id))
            self.change('granted role %s to user %s (domain %s) on %s' % (a['role'], a['user'], a['user_domain'], where))
            identity = {'user': a['user'], 'user_domain': a['user_domain'], 'role': a['role']}
            identity.update({'project': a['project'], 'project_domain': a['project_domain']}
                            if a.get('project') else {'domain': a['domain']})
            self.record('role_assignments', identity, None, {'granted': True})

    def apply_services(self):
        self.service_ids = []
        for s, current in zip(self.spec['services'], keystone_spec.service_candidates(self.spec, self.state)):
            service_id = self.reconcile(
                'services', 'service %s' % s['name'], {'name': s['name'], 'type': s['type']}, s, current,
                ('type', 'description', 'enabled'),
                {'name': s['name'], 'type': s['type'], 'description': s.get('description'), 'enabled': _enabled(s)},
                done='created service %s (%s)' % (s['name'], s['type']))
            self.service_ids.append(service_id)
            self.ids['services'][s['name']] = service_id

    def apply_endpoints(self, endpoint_services):
        for found in endpoint_services:
            if found[0] == 'existing':
                self.ids['services'].setdefault(found[1].get('name') or found[1]['id'], found[1]['id'])
        for e, found in zip(self.spec['endpoints'], endpoint_services):
            if found[0] == 'spec':
                service_id, service_name = self.service_ids[found[1]], self.spec['services'][found[1]]['name']
            else:
                service_id, service_name = found[1]['id'], found[1].get('name') or e['service']
            label = 'endpoint %s %s %s' % (service_name, e['interface'], e['region'])
            identity = {'service': service_name, 'interface': e['interface'], 'region': e['region']}
            same = [x for x in self.state.endpoints if service_id is not None and x.get('service_id') == service_id
                    and x.get('interface') == e['interface'] and (x.get('region_id') or x.get('region')) == e['region']]
            current = next((x for x in same if not _updates(x, e, ('url', 'enabled'))), same[0]) if same else None
            if len(same) > 1:
                self.warn('Keystone has %d endpoints for %s (ids %s); only %s is managed, the others were left '
                          'alone' % (len(same), label[len('endpoint '):], ', '.join(x['id'] for x in same),
                                     current['id']))
            self.reconcile('endpoints', label, identity, e, current, ('url', 'enabled'), {
                'service_id': service_id, 'url': e['url'], 'interface': e['interface'], 'region_id': e['region'],
                'enabled': _enabled(e)})


class PasswordChecks(object):
    """The passwords of the users with update_password=always, checked in the background from the start.

    Each check is a password authentication, which Keystone hashes with bcrypt
    (about 0.25 s each in the lab, more while it also serves the reads): they
    run side by side, beside the admin's authentication and the reads,
    instead of after them. Whether a user exists and can log in is not known
    yet: current() uses a check only for a user that does, so a user created
    by this run costs one refused authentication, once. One attempt each; a
    check that could not tell is made again by current(), with retries and
    errors explained.
    """

    def __init__(self, api, users):
        self.api = api
        self.checks = {}
        users = [u for u in users if u.get('password') and u['update_password'] == 'always']
        self.executor = ThreadPoolExecutor(max_workers=len(users)) if users else None
        for u in users:
            # Keyed by the domain as given: a domain given by its ID (e.g. `default`)
            # is only named by its name after the reads, and then checked again.
            self.checks[(u['name'], u['domain'])] = self.executor.submit(
                api.try_password, u['name'], u['domain'], u['password'])
        if self.executor:
            self.executor.shutdown(wait=False)

    def current(self, user, domain_name, password):
        check = self.checks.pop((user, domain_name), None)
        answer = check.result() if check is not None else None
        return self.api.password_accepted(user, domain_name, password) if answer is None else answer

    def wait(self):
        """The checks still running (of users this run created) end with the module."""
        if self.executor is not None:
            self.executor.shutdown(wait=True)


def register(module, check_mode):
    """Make Keystone match module.params (normalised by keystone_spec); the result of keystone_registration.

    Raises KeystoneError with `partial` (changed, changes, ids) when Keystone
    refuses or the specification does not hold; module.fail_json is called
    for what openstack_auth explains (credentials missing, unreachable).
    """
    spec, errors = keystone_spec.normalise(module.params, module.no_log_values)
    if errors:
        raise KeystoneError('invalid specification: %s. Nothing was changed.' % '; '.join(errors), 'specification')
    api = KeystoneAPI(module)
    checks = PasswordChecks(api, spec['users'])
    reconciler = None
    try:
        api.authenticate()
        state = read_state(api, spec, module.params, api.call)
        errors, endpoint_services = keystone_spec.validate(spec, state, module.params)
        reconciler = Reconciler(api, spec, state, check_mode, module.warn)
        if errors:
            raise KeystoneError('%s. Nothing was changed.' % '; '.join(text for _cause, text in errors), errors[0][0])
        reconciler.apply(endpoint_services, checks.current)
    except KeystoneError as exc:
        done = reconciler or Reconciler(api, spec, None, check_mode, module.warn)
        exc.partial = dict(changed=bool(done.changes), changes=done.changes, ids=done.ids)
        raise
    finally:  # fail_json leaves by an exception too
        checks.wait()
    result = dict(changed=bool(reconciler.changes), changes=reconciler.changes, ids=reconciler.ids)
    if module._diff:
        # PyYAML comes with keystoneauth1 (oslo.config needs it).
        import yaml
        result['diff'] = dict((side, yaml.safe_dump(changes, default_flow_style=False, sort_keys=False)
                               if changes else '')
                              for side, changes in (('before', reconciler.before), ('after', reconciler.after)))
    return result
