#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: heat_probe
short_description: Read in one call what the heat role needs to know about a controller
description:
  - Only reads. One call instead of one task per question, because on a re-run that changes nothing
    each Ansible task costs about 0.3 s of module start-up over SSH, and these questions are asked on
    every run.
  - Which of O(packages) are not installed (C(dpkg-query), or C(rpm -q) where there is no dpkg) and
    the installed version of O(version_package).
  - For each of O(services) - whether its unit is enabled at boot, whether it runs, and whether it was
    started before the last change of one of its files (it then runs an older configuration, which an
    interrupted run or a package's own start leaves behind).
  - For each of O(files), whether it exists, and its sha256, mode, owner and group.
  - Where Heat's C(heat/api/aws/ec2token.py) is, its sha256, and whether it reads the keystoneauth
    options of C([ec2authtoken]) (upstream's fix for Keystone's service-token requirement, OSSA-2025-002).
    The package is located without importing Heat.
  - The number of CPUs this process may run on.
  - The HTTP status each of O(http) answers (one try, no retry; the role waits elsewhere).
  - Which of O(modules), Python modules, this host's Python can import (located, not imported).
  - Whether O(config) sets an C(auth_encryption_key), and whether it is O(encryption_key), read with
    oslo.config as Heat reads it; neither key is returned.
version_added: "1.1.0"
author:
  - Heat deployment project
options:
  packages:
    description: Packages to look for.
    type: list
    elements: str
    default: []
  version_package:
    description: The package whose installed version is returned in RV(version) (Heat's common package).
    type: str
  services:
    description:
      - The services to look at, by a key of the caller's choice.
      - Each is a mapping with C(unit), the systemd unit, C(files), the files it reads at start
        (missing ones are ignored), and C(ec2token), true when the ec2token.py found (RV(ec2token))
        counts among them.
    type: dict
    default: {}
  files:
    description: Files to describe (missing ones are reported as such).
    type: list
    elements: path
    default: []
  modules:
    description: Python modules to look for.
    type: list
    elements: str
    default: []
  http:
    description:
      - URLs to ask once, each a mapping with C(name), C(url) and optionally C(ca_path), the CA bundle
        an https URL's certificate is verified with (the system's by default).
    type: list
    elements: dict
    default: []
  encryption_key:
    description: The encryption key heat.conf is to hold, compared with the deployed one (RV(encryption_key)).
    type: str
  config:
    description: Heat's configuration file, for O(encryption_key).
    type: path
    default: /etc/heat/heat.conf
attributes:
  check_mode:
    support: full
    description: The module only reads.
  diff_mode:
    support: none
'''

EXAMPLES = r'''
- name: Look at this controller's Heat
  heat_probe:
    packages: [heat-api, heat-api-cfn, heat-engine, python3-heatclient]
    version_package: heat-common
    services:
      engine: {unit: heat-engine, files: [/etc/heat/heat.conf]}
    files: [/var/lib/heat/db_sync.done]
  register: probe
'''

RETURN = r'''
missing_packages:
  description: The packages of O(packages) that are not installed, in their order.
  returned: always
  type: list
  elements: str
version:
  description: The installed version of O(version_package), empty when it is not installed or not asked for.
  returned: always
  type: str
  sample: 1:24.0.0-2
services:
  description: Per key of O(services) - C(enabled), C(running), C(stale) (started before a change of one of its files).
  returned: always
  type: dict
  sample: {engine: {enabled: true, running: true, stale: false}}
files:
  description: Per path of O(files) - C(exists), and for a file that exists C(sha256), C(mode) (octal text), C(owner), C(group).
  returned: always
  type: dict
  sample: {/var/lib/heat/db_sync.done: {exists: true, sha256: 5e88..., mode: '0644', owner: heat, group: heat}}
ec2token:
  description: C(path), C(sha256) and C(keystoneauth) of Heat's ec2token.py; null when Heat is not installed.
  returned: always
  type: dict
  sample: {path: /usr/lib/python3/dist-packages/heat/api/aws/ec2token.py, sha256: ffe7..., keystoneauth: false}
http:
  description: Per name of O(http), the status the URL answered, 0 when it did not answer within 5 s.
  returned: always
  type: dict
  sample: {heat-api: 200, heat-api-cfn: 0}
modules:
  description: Per name of O(modules), whether this host's Python finds it.
  returned: always
  type: dict
  sample: {keystoneauth1: true}
encryption_key:
  description:
    - C(deployed), whether O(config) exists and sets a key, and C(matches), whether that key is
      O(encryption_key); null when O(encryption_key) is not given.
  returned: always
  type: dict
  sample: {deployed: true, matches: true}
cpus:
  description: The number of CPUs this process may run on (its affinity, so a container's cpuset counts).
  returned: always
  type: int
'''

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

from ansible.module_utils.basic import AnsibleModule
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


def file_state(path):
    try:
        info = os.stat(path)
    except OSError:
        return dict(exists=False)
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(65536), b''):
            digest.update(block)
    try:
        owner = pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        owner = str(info.st_uid)
    try:
        group = grp.getgrgid(info.st_gid).gr_name
    except KeyError:
        group = str(info.st_gid)
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


def main():
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type='list', elements='str', default=[]),
            version_package=dict(type='str'),
            services=dict(type='dict', default={}),
            files=dict(type='list', elements='path', default=[]),
            http=dict(type='list', elements='dict', default=[]),
            modules=dict(type='list', elements='str', default=[]),
            encryption_key=dict(type='str', no_log=True),
            config=dict(type='path', default='/etc/heat/heat.conf'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    for key, spec in params['services'].items():
        if not isinstance(spec, dict) or not spec.get('unit'):
            module.fail_json(msg='services: %s must be a mapping with a unit (and files)' % key)
    for item in params['http']:
        if not item.get('name') or not item.get('url'):
            module.fail_json(msg='http: each entry needs a name and a url, got %s' % sorted(item))

    key = None
    if params['encryption_key'] is not None:
        try:
            deployed, matches = compare_key(params['config'], params['encryption_key'])[:2]
        except ValueError as exc:
            module.fail_json(msg='config: %s' % exc)
        key = dict(deployed=deployed, matches=matches)
    code = ec2token()
    wanted = list(params['packages']) + ([params['version_package']] if params['version_package'] else [])
    installed = installed_versions(module, wanted)
    module.exit_json(
        changed=False,
        missing_packages=[name for name in params['packages'] if name not in installed],
        version=installed.get(params['version_package'] or '', ''),
        services=dict((key, service_state(module, spec['unit'], list(spec.get('files') or [])
                                          + ([code['path']] if code and spec.get('ec2token') else [])))
                      for key, spec in params['services'].items()),
        files=dict((path, file_state(path)) for path in params['files']),
        ec2token=code,
        modules=dict((name, importable(name)) for name in params['modules']),
        http=dict((item['name'], http_status(item['url'], item.get('ca_path'))) for item in params['http']),
        encryption_key=key,
        cpus=len(os.sched_getaffinity(0)),
    )


if __name__ == '__main__':
    main()
