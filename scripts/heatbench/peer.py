"""The peer: Debian's puppet-heat (--peer puppet), applied over SSH in its
own container: puppet installed, the fresh apply, the no-op re-applies and
the re-applies after one heat.conf change.
"""
import json
import shlex
import time

import yaml

from heatbench.common import (
    LAB_VARS, PEER_MANIFEST, PEER_TOOL_PACKAGES, PLAYBOOK_TIMEOUT, ROOT, log, run, spread,
)
from heatbench.lab import (
    current_debug, download_packages, fresh_applies, heat_packages, in_container, package_installed,
)


def lab_values():
    """The lab's passwords and names from inventory/lab/group_vars/all/lab.yml.

    Only what the manifest needs; `{{ name }}` references to other lab
    variables are resolved (lab.yml uses nothing else).
    """
    raw = yaml.safe_load(LAB_VARS.read_text())

    def resolve(value):
        value = str(value)
        while '{{' in value:
            start, end = value.index('{{'), value.index('}}')
            value = value[:start] + str(raw[value[start + 2:end].strip()]) + value[end + 2:]
        return value

    return {
        'admin_password': resolve(raw['heat_keystone_admin_password']),
        'heat_db_password': resolve(raw['heat_db_password']),
        'heat_keystone_password': resolve(raw['heat_keystone_password']),
        'heat_domain_admin_password': resolve(raw['heat_domain_admin_password']),
        'heat_auth_encryption_key': resolve(raw['heat_auth_encryption_key']),
        'rabbit_user': resolve(raw['heat_messaging_user']),
        'rabbit_password': resolve(raw['heat_messaging_password']),
    }


def ssh_command(connection, command):
    """argv running COMMAND on the container over SSH, as the measured Ansible runs connect."""
    return (['ssh', '-i', connection['ansible_ssh_private_key_file'], '-o', 'BatchMode=yes']
            + shlex.split(connection['ansible_ssh_common_args'])
            + ['%s@%s' % (connection['ansible_user'], connection['ansible_host']), command])


def install_puppet(name):
    """puppet and the modules from the local apt cache, the manifest and the lab's values (not measured)."""
    start = time.monotonic()
    in_container(name, 'DEBIAN_FRONTEND=noninteractive apt-get install --yes --quiet --no-install-recommends %s'
                 ' >/dev/null' % shlex.join(PEER_TOOL_PACKAGES), timeout=1800)
    elapsed = time.monotonic() - start
    run(['podman', 'cp', str(PEER_MANIFEST), '%s:/root/heat.pp' % name])
    facts = json.dumps({'heat_lab': lab_values()})
    in_container(name, 'install -d -m 0755 /etc/facter/facts.d && umask 077 && printf "%%s\\n" %s'
                 ' > /etc/facter/facts.d/heat_lab.json' % shlex.quote(facts))
    versions = in_container(name, "puppet --version; dpkg-query -W -f '${Version}' puppet-module-heat").stdout.split()
    return {'seconds': elapsed, 'puppet': versions[0], 'puppet_module_heat': versions[1]}


def puppet_summary(name):
    """puppet's own last_run_summary.yaml: resources, events and times of the last apply."""
    text = in_container(name, 'cat "$(puppet config print lastrunfile)"').stdout
    return yaml.safe_load(text)


def changed_resources(output):
    """The resources a puppet apply changed or refreshed, from its Notice lines."""
    found = []
    for line in output.splitlines():
        if not line.startswith('Notice: /Stage['):
            continue
        # /Stage[main]/Heat::Engine/Service[heat-engine]/ensure: ... -> Service[heat-engine]
        # (titles may hold '/' and ': ', as in Heat_config[DEFAULT/debug]).
        text = line[len('Notice: '):]
        parts, part, depth = [], '', 0
        for index, char in enumerate(text):
            if depth == 0 and (char == '/' or text.startswith(': ', index)):
                parts.append(part)
                part = ''
                if char == ':':
                    break
                continue
            depth += {'[': 1, ']': -1}.get(char, 0)
            part += char
        parts = [part for part in parts if '[' in part]
        resource = parts[-1] if parts else line
        if resource not in found:
            found.append(resource)
    return found


def puppet_apply(label, name, connection, logs, debug=None):
    """One `puppet apply` of the manifest over SSH; its wall time and puppet's own figures."""
    env = '' if debug is None else 'FACTER_heat_debug=%s ' % ('true' if debug else 'false')
    command = '%spuppet apply --detailed-exitcodes --color=false /root/heat.pp' % env
    start = time.monotonic()
    proc = run(ssh_command(connection, command), check=False, timeout=PLAYBOOK_TIMEOUT)
    wall = time.monotonic() - start
    (logs / ('%s.out' % label)).write_text(proc.stdout)
    # --detailed-exitcodes: 0 nothing changed, 2 changes, 4 failures, 6 changes and failures.
    if proc.returncode not in (0, 2):
        tail = proc.stdout.splitlines()[-40:]
        raise SystemExit('benchmark: %s failed (rc %s) after %.0f s; log %s:\n%s'
                         % (label, proc.returncode, wall, logs / ('%s.out' % label), '\n'.join(tail)))
    summary = puppet_summary(name)
    resources = summary.get('resources', {})
    result = {
        'label': label,
        'command': command,
        'wall_seconds': wall,
        'exit_code': proc.returncode,
        'resources_total': resources.get('total', 0),
        'changed': resources.get('changed', 0),
        'out_of_sync': resources.get('out_of_sync', 0),
        'restarted': resources.get('restarted', 0),
        'failed': resources.get('failed', 0),
        'events': summary.get('events', {}).get('total', 0),
        'changed_resources': changed_resources(proc.stdout),
        'puppet_seconds': summary.get('time', {}),
    }
    log('%s: %.1f s, %d resources, %d changed, %d restarted, %d events' % (
        label, wall, result['resources_total'], result['changed'], result['restarted'], result['events']))
    return result


def puppet_reruns(label, name, connection, logs, repeat, debug_for_run):
    """REPEAT applies; their runs and spread."""
    runs = []
    for index in range(repeat):
        result = puppet_apply('%s-%d' % (label, index + 1), name, connection, logs, debug_for_run(index))
        if label.startswith('puppet-noop') and (result['changed'] or result['restarted']):
            log('  NOTE: a no-op apply changed: %s' % ', '.join(result['changed_resources']))
        runs.append(result)
    return {
        'runs': runs,
        'wall': spread([r['wall_seconds'] for r in runs]),
        'changed': [r['changed'] for r in runs],
        'restarted': [r['restarted'] for r in runs],
        'resources_total': [r['resources_total'] for r in runs],
    }


def measure_peer(args, connection, logs):
    """puppet-heat in its own prepared container: fresh apply, no-op re-applies, one heat.conf change."""
    name = args.peer_container
    peer = {'tool': 'puppet-heat', 'container': name, 'manifest': str(PEER_MANIFEST.relative_to(ROOT))}
    if package_installed(name, 'heat-engine'):
        raise SystemExit('benchmark: Heat is already installed in %s: no fresh apply to measure (use --fresh)' % name)
    log('downloading puppet and the Heat packages in %s (apt-get install --download-only)' % name)
    peer['package_download'] = download_packages(name, PEER_TOOL_PACKAGES + heat_packages())
    log('downloaded in %.0f s' % peer['package_download']['seconds'])
    log('installing puppet and the modules (from the cache; not part of the apply)')
    peer['puppet_install'] = install_puppet(name)
    log('puppet %s, puppet-module-heat %s, installed in %.0f s' % (
        peer['puppet_install']['puppet'], peer['puppet_install']['puppet_module_heat'],
        peer['puppet_install']['seconds']))
    def apply(index):
        log('fresh puppet apply %d/%d of %s' % (index, args.fresh_repeat, peer['manifest']))
        return puppet_apply('puppet-fresh-apply-%d' % index, name, connection, logs)

    peer['fresh_apply'] = fresh_applies(name, args.fresh_repeat, apply)
    peer['noop'] = puppet_reruns('puppet-noop', name, connection, logs, args.repeat, lambda i: None)
    first = not current_debug(name)
    peer['heat_conf_change'] = puppet_reruns(
        'puppet-heat-conf-change', name, connection, logs, args.repeat,
        lambda i: first if i % 2 == 0 else not first)
    return peer
