# -*- coding: utf-8 -*-
# heat.conf's sections and options as the installed Heat knows them, and the
# settings the role would write checked against them. oslo.config ignores
# what it does not know: a misspelt section or an option in the wrong one is
# silently without effect. The registry is what Heat and the libraries it
# reads heat.conf with list in their `oslo.config.opts` entry points (what
# oslo-config-generator reads), plus the options of each section's
# keystoneauth plugin (`auth_type`), registered only when the plugin loads.
# The same reading lists Heat's policies (module_utils/heat_policy.py).
#
# Read in a child Python (Reader): importing Heat's option modules takes
# about a second and brings eventlet along, which the plan's threads must
# not share; the child reads while the plan reads the rest, and the result
# is cached (CACHE_DIR) by what it depends on, so that a re-run on the same
# Heat reads a file instead.
from __future__ import annotations

import difflib
import hashlib
import inspect
import json
import os
import subprocess
import sys
import tempfile

# The libraries whose options Heat reads from heat.conf: upstream Heat's
# config-generator.conf, plus oslo.db and oslo.concurrency ([database],
# [oslo_concurrency]), which Heat reads but its sample leaves out. Heat's own
# namespaces are every entry point named heat.*.
LIBRARY_NAMESPACES = (
    'keystonemiddleware.auth_token', 'oslo.cache', 'oslo.concurrency', 'oslo.db', 'oslo.log', 'oslo.messaging',
    'oslo.middleware', 'oslo.policy', 'oslo.reports', 'oslo.service.periodic_task', 'oslo.service.service',
    'oslo.service.sslutils', 'oslo.versionedobjects',
)


def _group(name):
    from importlib import metadata
    found = metadata.entry_points()
    if hasattr(found, 'select'):
        return found.select(group=name)
    return found.get(name, [])  # Python < 3.10: a dict by group


def _entry_points():
    """The oslo.config.opts entry points of the namespaces the registry reads: Heat's own and LIBRARY_NAMESPACES."""
    return [entry for entry in _group('oslo.config.opts')
            if entry.name.startswith('heat.') or entry.name in LIBRARY_NAMESPACES]


def _policies(registry):
    """Heat's policies, as its `oslo.policy.policies` entry point lists them (what oslopolicy-sample-generator
    reads): their names, and the old names oslo.policy still honours ({old: new})."""
    try:
        entry = [found for found in _group('oslo.policy.policies') if found.name == 'heat'][0]
        rules = list(entry.load()())
        # Heat gives some rules deprecated_rule=[] (none).
        old = dict((rule.name, getattr(getattr(rule, 'deprecated_rule', None), 'name', None)) for rule in rules)
    except Exception as exc:  # IndexError too: no heat entry point
        registry['policies_failed'] = "Heat's policies: %s" % (exc or 'no oslo.policy.policies entry point')
        return
    registry['policies'] = sorted(old)
    registry['policies_renamed'] = dict((former, name) for name, former in old.items() if former and former != name)


def _own_source():
    """This file's source (standard library only at the top), wherever Ansible put it: the child's code."""
    return inspect.getsource(sys.modules[__name__])


def _dest(name):
    return name.replace('-', '_')


def _describe(group, opt, registry):
    """Record one oslo.config option of `group`, and its old names."""
    section = 'DEFAULT' if group is None else getattr(group, 'name', group)
    registry['sections'].setdefault(section, {})[opt.dest] = dict(
        removal=bool(getattr(opt, 'deprecated_for_removal', False)),
        reason=getattr(opt, 'deprecated_reason', None) or '')
    for old in getattr(opt, 'deprecated_opts', None) or []:
        # A DeprecatedOpt without a group is in the option's own group, without a name its own name.
        old_section = old.group or section
        old_name = _dest(old.name or opt.dest)
        if (old_section, old_name) != (section, opt.dest):
            registry['renamed']['%s.%s' % (old_section, old_name)] = '%s.%s' % (section, opt.dest)


def read_here(auth_types):
    """The registry, read in this process: {sections: {section: {option: {removal, reason}}},
    renamed: {'section.old': 'section.new'}, plugins: {auth_type: [option, ...]}, failed: [why, ...],
    policies: [name, ...], policies_renamed: {old: new} (or policies_failed: why)}."""
    registry = dict(sections={}, renamed={}, plugins={}, failed=[])
    seen = set()
    for entry in _entry_points():
        if entry.name in seen:
            continue
        seen.add(entry.name)
        try:
            for group, opts in entry.load()():
                for opt in opts:
                    _describe(group, opt, registry)
        except Exception as exc:  # a namespace that does not load: its options stay unknown
            registry['failed'].append('%s: %s' % (entry.name, exc))
    _policies(registry)
    # What the modules loaded register on import but do not list (e.g. the
    # keystoneauth options of a patched ec2token.py).
    try:
        from oslo_config import cfg
        for opt in getattr(cfg.CONF, '_opts', {}).values():
            _describe(None, opt['opt'], registry)
        for name, group in getattr(cfg.CONF, '_groups', {}).items():
            for opt in getattr(group, '_opts', {}).values():
                _describe(name, opt['opt'], registry)
    except ImportError:
        pass
    if not any(name.startswith('heat.') for name in seen):
        return dict(failed=["Heat has no oslo.config.opts entry point here (is its Python package installed?)"])
    for name in auth_types:
        try:
            from keystoneauth1 import loading
            options = loading.get_plugin_loader(name).get_options()
        except Exception as exc:
            registry['failed'].append('keystoneauth plugin %s: %s' % (name, exc))
            continue
        names = registry['plugins'][name] = []
        for opt in options:
            names.append(_dest(opt.dest if getattr(opt, 'dest', None) else opt.name))
            names.extend(_dest(old.name) for old in getattr(opt, 'deprecated', None) or [])
    return registry


def child_main():
    """In the child: auth types as JSON on stdin, the registry as JSON on stdout."""
    json.dump(read_here(json.load(sys.stdin)), sys.stdout)


# The registry read last, by what it depends on (cache_key): a no-op run
# reads this file instead of importing Heat again.
CACHE_DIR = '/var/cache/heat-role'


def cache_key(auth_types, code, source):
    """What the registry depends on: this code (`source`), the Python, the versions of the distributions whose
    namespaces it loads and keystoneauth1's, the auth types, and the ec2token code (the role's patch changes it in
    place)."""
    from importlib import metadata
    dists = set()
    for entry in _entry_points():
        dist = getattr(entry, 'dist', None)
        dists.add((entry.name, dist.metadata['Name'] if dist else '', dist.version if dist else ''))
    try:
        dists.add(('keystoneauth1', 'keystoneauth1', metadata.version('keystoneauth1')))
    except metadata.PackageNotFoundError:
        pass
    key = json.dumps([source, sys.version, sorted(dists), sorted(auth_types), (code or {}).get('sha256')])
    return hashlib.sha256(key.encode('utf-8')).hexdigest()


class Reader(object):
    """The registry: from the cache when what it depends on is unchanged, else read by a child Python, started now,
    answered by result() (and cached, unless `write` is false: check mode)."""

    def __init__(self, auth_types, code=None, cache_dir=CACHE_DIR, write=True, timeout=120):
        self.timeout = timeout
        self.auth_types = sorted(set(auth_types))
        self.write = write
        self.cache_dir = cache_dir
        self.process = self.cached = None
        source = _own_source()
        try:
            self.path = os.path.join(cache_dir, 'option-registry-%s.json' % cache_key(self.auth_types, code, source))
            with open(self.path) as handle:
                self.cached = json.load(handle)
            return
        except (OSError, ValueError):
            pass
        self.process = subprocess.Popen([sys.executable, '-c', source + '\nchild_main()\n'], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)

    def result(self):
        """The registry, or a dict with only `failed` when the child could not read it."""
        if self.cached is None:
            self.cached = self._answer()
        return self.cached

    def _answer(self):
        try:
            out, err = self.process.communicate(json.dumps(self.auth_types), timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            return dict(failed=['reading the option registry took more than %d s' % self.timeout])
        try:
            registry = json.loads(out)
        except ValueError:
            last = (err.strip().splitlines() or ['no output'])[-1]
            return dict(failed=['reading the option registry failed (rc %s): %s' % (self.process.returncode, last)])
        if self.write and 'sections' in registry and 'policies' in registry and not registry['failed']:
            self._store(registry)
        return registry

    def _store(self, registry):
        """Keep only this registry in the cache; a cache that cannot be written is read again next time."""
        try:
            os.makedirs(self.cache_dir, mode=0o755, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.cache_dir, prefix='.option-registry-')
            with os.fdopen(handle, 'w') as out:
                json.dump(registry, out)
            os.chmod(temporary, 0o644)
            os.rename(temporary, self.path)
            for name in os.listdir(self.cache_dir):
                if name.startswith('option-registry-') and os.path.join(self.cache_dir, name) != self.path:
                    os.unlink(os.path.join(self.cache_dir, name))
        except OSError:
            pass


def auth_types(settings):
    """The keystoneauth plugins the settings name (each section's auth_type)."""
    return sorted(set(str(keys['auth_type']) for keys in settings.values()
                      if isinstance(keys, dict) and keys.get('auth_type')))


def wanted_by(name, patterns):
    """Whether section.option `name` is one of `patterns` (section.option, section.* or section)."""
    section = name.split('.', 1)[0]
    return name in patterns or section in patterns or '%s.*' % section in patterns


def check(settings, registry, sources=None, unregistered=()):
    """The options of settings ({section: {option: value}}; a null value removes, it is not checked) against the
    registry. sources: {'section.option': where it comes from} (default: the role). Returns
    {unknown: [{section, option, source, known_section, closest, elsewhere}], deprecated: [{section, option, source,
    replacement, reason}]}; options listed in `unregistered` (section.option, section.* or section) are not checked."""
    sources = sources or {}
    sections = registry.get('sections') or {}
    unknown, deprecated = [], []
    for section, keys in sorted(settings.items()):
        known = dict(sections.get(section) or {})
        plugin = keys.get('auth_type') if isinstance(keys, dict) else None
        for name in (registry.get('plugins') or {}).get(str(plugin), []) if plugin else []:
            known.setdefault(name, dict(removal=False, reason=''))
        for option, value in sorted((keys or {}).items()):
            name = '%s.%s' % (section, option)
            if value is None or wanted_by(name, unregistered):
                continue
            source = sources.get(name, 'the role')
            renamed = (registry.get('renamed') or {}).get(name)
            if renamed:
                deprecated.append(dict(section=section, option=option, source=source, replacement=renamed, reason=''))
            elif option in known:
                if known[option]['removal']:
                    deprecated.append(dict(section=section, option=option, source=source, replacement=None,
                                           reason=known[option]['reason']))
            else:
                word, candidates = (option, list(known)) if section in sections else (section, list(sections))
                unknown.append(dict(
                    section=section, option=option, source=source, known_section=section in sections,
                    closest=difflib.get_close_matches(word, candidates, n=3, cutoff=0.7),
                    elsewhere=sorted(other for other, options in sections.items() if option in options)[:3]))
    return dict(unknown=unknown, deprecated=deprecated)


def describe_unknown(item):
    """One unknown option in words, e.g. "[ec2authtoken] www_authenticate_uri (heat_conf_overrides): not an
    option of [ec2authtoken]; closest: auth_uri; an option of [keystone_authtoken]"."""
    if item['known_section']:
        text = '[%s] %s (%s): not an option of [%s]' % (item['section'], item['option'], item['source'],
                                                          item['section'])
        if item['closest']:
            text += '; closest: %s' % ', '.join(item['closest'])
    else:
        text = '[%s] %s (%s): [%s] is not a section Heat reads' % (item['section'], item['option'], item['source'],
                                                                    item['section'])
        if item['closest']:
            text += '; closest: %s' % ', '.join('[%s]' % name for name in item['closest'])
    if item['elsewhere']:
        text += '; %s is an option of %s' % (item['option'], ', '.join('[%s]' % name for name in item['elsewhere']))
    return text


def describe_deprecated(item):
    text = '[%s] %s (%s) is deprecated' % (item['section'], item['option'], item['source'])
    if item['replacement']:
        section, option = item['replacement'].split('.', 1)
        return text + ': its name is now [%s] %s' % (section, option)
    return text + ' for removal' + (': %s' % ' '.join(item['reason'].split()) if item['reason'] else '')

