# -*- coding: utf-8 -*-
# What the heat role asks of a controller on every run, read-only and in
# one pass: the packages missing, Heat's version, each service's state and
# whether it runs an older configuration, the files the role manages, the
# ec2token code, the CPUs, whether the APIs answer, whether the deployed
# heat.conf holds the wanted encryption key, whether heat.conf and the other
# files the role writes differ from what it would write, and whether the
# installed Heat knows every option heat.conf would get and every policy
# heat_policy_overrides names. Read by the plan
# (heat_plan's controller part). Standard library only (oslo.config for the
# key and iniparse for heat.conf, where Heat is installed).
from __future__ import annotations

import grp
import hashlib
import importlib.util
import os
import pwd
import shutil
import ssl
import time
import urllib.error
import urllib.request

from ansible.module_utils import heat_options, heat_policy, ini_file
from ansible.module_utils.heat_config import compare_key

# What upstream's fix ("Use authentication with keystone ec2token api") adds.
KEYSTONEAUTH_MARK = b"register_auth_conf_options(cfg.CONF, 'ec2authtoken')"


def installed_versions(module, names):
    """{package: version} of those installed."""
    if not names:
        return {}
    if shutil.which('dpkg-query'):
        # One line per known package; unknown ones go to stderr (rc 1).
        rc, out, err = module.run_command(['dpkg-query', '-W', '-f', '${Package}\t${db:Status-Status}\t${Version}\n']
                                          + list(names))
        found = {}
        for line in out.splitlines():
            name, _, rest = line.partition('\t')
            status, _, version = rest.partition('\t')
            # A package name may carry an architecture (python3-heat:amd64).
            if status == 'installed':
                found[name.split(':')[0]] = version
        return found
    rc, out, err = module.run_command(['rpm', '-q', '--qf', '%{NAME}\t%{VERSION}-%{RELEASE}\n'] + list(names))
    return dict(line.split('\t', 1) for line in out.splitlines() if '\t' in line)


def process_start(pid):
    """Epoch seconds at which process `pid` started, or None when it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            # The command may hold spaces and parentheses: fields after the last ')'.
            fields = handle.read().rpartition(')')[2].split()
        with open('/proc/uptime') as handle:
            uptime = float(handle.read().split()[0])
    except OSError:
        return None
    # Field 22 (starttime, clock ticks after boot) is the 20th after the command.
    started_after_boot = int(fields[19]) / os.sysconf('SC_CLK_TCK')
    return time.time() - uptime + started_after_boot


def service_state(module, unit, files):
    rc, out, err = module.run_command(['systemctl', '--quiet', 'is-enabled', unit])
    enabled = rc == 0
    rc, out, err = module.run_command(['systemctl', 'show', '--property=MainPID', '--value', unit])
    pid = int(out.strip()) if rc == 0 and out.strip().isdigit() else 0
    started = process_start(pid) if pid else None
    stale = False
    if started is not None:
        # Whole seconds, as file times and `ps -o etimes` compare.
        stale = any(os.path.exists(path) and int(os.stat(path).st_mtime) > int(started) for path in files if path)
    return dict(enabled=enabled, running=started is not None, stale=stale)


def timer_state(module, unit):
    """Whether a systemd timer is enabled at boot and active."""
    rc, out, err = module.run_command(['systemctl', 'show', '--property=UnitFileState', '--property=ActiveState', unit])
    found = dict(line.split('=', 1) for line in out.splitlines() if '=' in line)
    return dict(enabled=found.get('UnitFileState') == 'enabled', active=found.get('ActiveState') == 'active')


def owner_group(info):
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = str(info.st_uid)
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
    return owner, group


def attributes_differ(info, wanted):
    """Whether the file's owner, group or mode (those wanted) differ from wanted's."""
    owner, group = owner_group(info)
    return ((wanted.get('owner') and wanted['owner'] != owner)
            or (wanted.get('group') and wanted['group'] != group)
            or (wanted.get('mode') and int(str(wanted['mode']), 8) != info.st_mode & 0o7777))


def file_differs(wanted):
    """Whether the file at wanted['path'] differs from wanted (content, owner, group, mode), as copy would find it;
    with state absent, whether it exists."""
    if wanted.get('state') == 'absent':
        return os.path.lexists(wanted['path'])
    try:
        info = os.stat(wanted['path'])
        with open(wanted['path'], 'rb') as handle:
            content = handle.read()
    except OSError:
        return True
    return content != wanted['content'].encode('utf-8') or bool(attributes_differ(info, wanted))


def final_settings(wanted, code):
    """The settings the role would write: [ec2authtoken] in the form the installed ec2token code reads."""
    settings = dict(wanted['settings'])
    forms = wanted.get('ec2authtoken') or {}
    if forms and (code is not None or forms['legacy'] == forms['keystoneauth']):
        # Both forms the same: the role forces one, whatever the code.
        settings['ec2authtoken'] = forms['keystoneauth' if code and code['keystoneauth'] else 'legacy']
    return settings


def without(settings, names):
    """settings with the options `names` ('section.option') set to null: removed from heat.conf, not checked."""
    settings = dict((section, dict(keys) if isinstance(keys, dict) else keys) for section, keys in settings.items())
    for name in names:
        section, option = name.split('.', 1)
        settings[section][option] = None
    return settings


def options_state(settings, wanted, reader):
    """Every option the settings set, looked up in the installed Heat's registry (module_utils/heat_options.py):
    state checked, partial (a namespace did not load: unknown ones are not refused) or unchecked (Heat not
    installed yet, or the registry unreadable: reason), unknown and
    deprecated (each in words, naming heat_conf_overrides for the operator's own)."""
    if reader is None:
        return dict(state='unchecked', reason='Heat is not installed yet', unknown=[], deprecated=[])
    registry = reader.result()
    if 'sections' not in registry:
        return dict(state='unchecked', reason='; '.join(registry['failed']), unknown=[], deprecated=[])
    overrides = wanted.get('overrides') or {}
    sources = dict(('%s.%s' % (section, key), 'heat_conf_overrides')
                   for section, keys in overrides.items() if isinstance(keys, dict) for key in keys)
    found = heat_options.check(settings, registry, sources, wanted.get('unregistered') or [])
    # A namespace that did not load leaves its options unknown: not a reason to refuse them.
    return dict(state='checked' if not registry['failed'] else 'partial', reason='; '.join(registry['failed']),
                unknown=[heat_options.describe_unknown(item) for item in found['unknown']],
                deprecated=[heat_options.describe_deprecated(item) for item in found['deprecated']])


def policy_state(overrides, reader):
    """heat_policy_overrides against the installed Heat's policies (module_utils/heat_policy.py)."""
    if overrides and reader is None:
        return heat_policy.unchecked('Heat is not installed yet')
    return heat_policy.check(overrides, reader.result() if overrides else {})


def registry_reader(settings, code, write_cache=True):
    """The installed Heat's option registry, cached or read by a child started now; None where Heat is not
    installed."""
    if settings is None or code is None:
        return None
    return heat_options.Reader(heat_options.auth_types(settings), code, write=write_cache)


def unregistered_own(settings, wanted, reader):
    """The role's own options that it writes only where the installed Heat registers them
    (wanted['where_registered']: section.option, section.* or section) and that this Heat does not: the role removes
    them instead (e.g. [heat_api] bind_host, which Heat 26 and 27 no longer read). Never an override's: those are
    checked.
    Unknown without a complete registry (Heat not installed, a namespace that did not load): none removed."""
    patterns = wanted.get('where_registered') or []
    registry = reader.result() if reader is not None and patterns else {}
    if 'sections' not in registry or registry.get('failed'):
        return []
    overrides = wanted.get('overrides') or {}
    own = dict((section, dict((key, value) for key, value in keys.items()
                              if value is not None and key not in (overrides.get(section) or {})))
               for section, keys in settings.items() if isinstance(keys, dict))
    found = heat_options.check(own, registry)['unknown']
    return ['%s.%s' % (item['section'], item['option']) for item in found
            if heat_options.wanted_by('%s.%s' % (item['section'], item['option']), patterns)]


def config_state(path, wanted, settings, reader=None):
    """heat.conf against the settings the role would write (final_settings: [ec2authtoken] in the form the
    installed ec2token code reads), compared as ini_settings compares them.

    state: same, differs or unknown (iniparse not installed yet, a file it cannot read: ini_settings then
    says why); changes: 'section.key action', never a value; options: the options against the installed
    Heat's registry, read by `reader` (options_state).
    """
    dropped = unregistered_own(settings, wanted, reader)
    settings = without(settings, dropped)
    options = options_state(settings, wanted, reader)
    options['dropped'] = dropped
    if not ini_file.HAS_INIPARSE:
        return dict(state='unknown', reason='iniparse is not installed', changes=[], options=options)
    keys, errors = ini_file.validate_settings(settings)
    if errors:
        return dict(state='unknown', reason='; '.join(errors), changes=[], options=options)
    try:
        exists, text = ini_file.read(path)
        cfg = ini_file.parse(path, text, wanted.get('secret_keys') or [])
        info = os.stat(path) if exists else None
    except (OSError, UnicodeDecodeError, ini_file.ParseError) as exc:
        return dict(state='unknown', reason=str(exc), changes=[], options=options)
    changes = ['%s.%s %s' % (section, key, action) for section, key, action, _old, _new in ini_file.differences(cfg, keys)]
    if info is None:
        changes.append('file missing')
    elif attributes_differ(info, wanted):
        changes.append('owner, group or mode')
    return dict(state='differs' if changes else 'same', changes=changes, options=options)


def register_secrets(module, params):
    """heat.conf's secret values masked in everything the module returns (the plan reports key names only)."""
    wanted = params.get('config_wanted')
    if wanted:
        secret_keys = set(wanted.get('secret_keys') or [])
        ini_file.register_secrets(module, wanted['settings'], secret_keys)
        for form in (wanted.get('ec2authtoken') or {}).values():
            ini_file.register_secrets(module, {'ec2authtoken': form or {}}, secret_keys)


def file_state(path):
    try:
        info = os.stat(path)
    except OSError:
        return dict(exists=False)
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(65536), b''):
            digest.update(block)
    owner, group = owner_group(info)
    return dict(exists=True, sha256=digest.hexdigest(), mode='%04o' % (info.st_mode & 0o7777), owner=owner, group=group)


def importable(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def ec2token():
    """Where ec2token.py is and what it does, without importing Heat."""
    try:
        spec = importlib.util.find_spec('heat')
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], 'api', 'aws', 'ec2token.py')
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except OSError:
        return None
    return dict(path=path, sha256=hashlib.sha256(data).hexdigest(), keystoneauth=KEYSTONEAUTH_MARK in data)


def http_status(url, ca_path=None):
    """The status `url` answers to a GET, 0 when it does not answer."""
    try:
        # A CA bundle not installed yet (config.yml installs it) counts as no answer.
        context = ssl.create_default_context(cafile=ca_path or None) if url.startswith('https:') else None
        with urllib.request.urlopen(url, timeout=5, context=context) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):  # refused, timed out, TLS refused, malformed
        return 0


def check_params(params):
    """Errors in the probe's own parameters (services, http and managed entries)."""
    errors = ['managed: %s needs a content' % item['path'] for item in params['managed']
              if item['state'] == 'present' and item['content'] is None]
    for key, spec in params['services'].items():
        if not isinstance(spec, dict) or not spec.get('unit'):
            errors.append('services: %s must be a mapping with a unit (and files)' % key)
    for item in params['http']:
        if not item.get('name') or not item.get('url'):
            errors.append('http: each entry needs a name and a url, got %s' % sorted(item))
    return errors


def probe(module, params):
    """The controller as the role needs to know it; ValueError when heat.conf cannot be read."""
    key = None
    if params.get('encryption_key') is not None:
        try:
            deployed, matches = compare_key(params['config'], params['encryption_key'])[:2]
        except ValueError as exc:
            raise ValueError('config: %s' % exc)
        key = dict(deployed=deployed, matches=matches)
    code = ec2token()
    wanted_conf = params['config_wanted']
    settings = final_settings(wanted_conf, code) if wanted_conf else None
    # The slowest read (about a second of imports), in a child while the rest is read.
    reader = registry_reader(settings, code, write_cache=not module.check_mode)
    wanted = list(params['packages']) + ([params['version_package']] if params['version_package'] else [])
    installed = installed_versions(module, wanted)
    return dict(
        missing_packages=[name for name in params['packages'] if name not in installed],
        version=installed.get(params['version_package'] or '', ''),
        services=dict((key, service_state(module, spec['unit'], list(spec.get('files') or [])
                                          + ([code['path']] if code and spec.get('ec2token') else [])))
                      for key, spec in params['services'].items()),
        files=dict((path, file_state(path)) for path in params['files']),
        ec2token=code,
        http=dict((item['name'], http_status(item['url'], item.get('ca_path'))) for item in params['http']),
        encryption_key=key,
        cpus=len(os.sched_getaffinity(0)),
        config=config_state(params['config'], wanted_conf, settings, reader) if wanted_conf else None,
        managed_differ=[item['path'] for item in params['managed'] if file_differs(item)],
        timers=dict((unit, timer_state(module, unit)) for unit in params['timers']),
        policy=policy_state(params['policy_overrides'], reader) if params['policy_overrides'] is not None else None,
    )


def argument_spec():
    """The options of heat_plan's `controller` part."""
    return dict(
        packages=dict(type='list', elements='str', default=[]),
        version_package=dict(type='str'),
        services=dict(type='dict', default={}),
        files=dict(type='list', elements='path', default=[]),
        http=dict(type='list', elements='dict', default=[]),
        encryption_key=dict(type='str', no_log=True),
        config=dict(type='path', default='/etc/heat/heat.conf'),
        # heat.conf as the role would write it (ini_settings' settings and file attributes).
        config_wanted=dict(type='dict', options=dict(
            settings=dict(type='dict', required=True),
            ec2authtoken=dict(type='dict', options=dict(keystoneauth=dict(type='dict'), legacy=dict(type='dict'))),
            secret_keys=dict(type='list', elements='str', default=[], no_log=False),
            owner=dict(type='str'),
            group=dict(type='str'),
            mode=dict(type='str'),
            # heat_conf_overrides (named as the source of the options it sets) and heat_conf_unregistered.
            overrides=dict(type='dict', default={}),
            unregistered=dict(type='list', elements='str', default=[]),
            # The role's options it writes only where the installed Heat registers them.
            where_registered=dict(type='list', elements='str', default=[]),
        )),
        # heat_policy_overrides, checked against the installed Heat's policies.
        policy_overrides=dict(type='dict'),
        # Systemd timers: whether each is enabled and active.
        timers=dict(type='list', elements='str', default=[]),
        # The other files the role writes (or removes), compared as copy compares them.
        managed=dict(type='list', elements='dict', default=[], options=dict(
            path=dict(type='path', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            content=dict(type='str', no_log=True),
            owner=dict(type='str'),
            group=dict(type='str'),
            mode=dict(type='str'),
        )),
    )
