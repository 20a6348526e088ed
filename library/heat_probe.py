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

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.heat_controller import argument_spec, check_params, probe


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    errors = check_params(module.params)
    if errors:
        module.fail_json(msg=errors[0])
    try:
        found = probe(module, module.params)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **found)


if __name__ == '__main__':
    main()
