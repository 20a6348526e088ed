#!/usr/bin/python
# -*- coding: utf-8 -*-
# Bundled with this project's heat role: `openstack-config --set` / crudini in
# one module call, built on iniparse (which keeps comments, blank lines and order).
from __future__ import annotations

DOCUMENTATION = r"""
---
module: ini_settings
short_description: Set and remove many keys of an INI file (oslo.config style) in one call
description:
  - Sets or removes keys in an INI file such as C(/etc/heat/heat.conf), the way
    C(openstack-config --set) or C(crudini --set) would, but for a whole nested mapping
    of sections and keys in one call and one atomic write.
  - Comments (including commented-out defaults such as C(#debug = false)), blank lines,
    untouched keys and the order of the file are kept. A new key is appended to the end
    of its section; a new section is appended to the end of the file.
  - The C([DEFAULT]) section is handled as an ordinary section of the file, as oslo.config
    does. Its keys are never read as values of other sections.
  - Values of secret keys never appear in the result, the diff or the invocation echo.
    See O(secret_keys).
  - Validates every section, key and value before it reads or changes the file.
version_added: "1.0.0"
options:
  path:
    description:
      - The INI file to edit. If it is a symbolic link, the link's target is edited.
    type: path
    required: true
  settings:
    description:
      - 'Nested mapping C({section: {key: value}}). The section C(DEFAULT) is the INI
        default section C([DEFAULT]).'
      - A value of V(null) removes the key. Removing a key that is absent is no change.
      - Strings, integers and floats are written as text, booleans as V(true) or V(false)
        (lower case, as oslo.config writes them). Leading and trailing whitespace of a
        value is dropped (an INI file cannot keep it).
      - A list or mapping as value, a value with a line break, or a section that is not a
        mapping is refused, naming the section and key, before the file is touched.
      - Keys are matched case-sensitively. An empty section mapping is no change.
    type: dict
    required: true
  secret_keys:
    description:
      - Further keys whose values are secret, each as V(key) (in any section) or
        V(section.key).
      - In addition, any key whose name matches V(password), V(secret), V(_key$)
        (for example C(auth_encryption_key)), V(^connection$) or V(transport_url)
        (these URLs embed passwords) is always secret (case-insensitive).
      - Secret values are shown as C(********) in RV(changes) and the diff, and are
        masked everywhere else in the result, including C(invocation.module_args).
    type: list
    elements: str
    default: []
  create:
    description:
      - Create the file (and the sections) if missing.
      - If V(false) and the file does not exist, the module fails.
      - The directory must exist.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  # The sub-fragment only renders by its short name (ansible-core 2.19).
  - action_common_attributes.files
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff lists only the changed keys, with secret values masked, never the whole
        file.
      - 'A changed mode, owner or group is shown as a comment line such as C(# mode: 0640).'
  platform:
    platforms: posix
  safe_file_operations:
    support: full
  vault:
    support: none
notes:
  - The file is written to a temporary file in the same directory and moved into place
    with an atomic rename, so an interrupted run never leaves a half-written file.
    An existing file keeps its owner, group and mode unless O(owner), O(group) or
    O(mode) say otherwise; a new file holding secrets is never readable by others
    before O(mode) is applied.
  - Values are compared with the value as read from the file, with surrounding
    whitespace stripped. The module reports a change only when a value differs.
  - Lines beginning with C(#) or C(;) are comments. Inline comments after C( ;) are kept.
requirements:
  - iniparse >= 0.5 on the managed host (Debian/Ubuntu and RHEL package C(python3-iniparse))
seealso:
  - module: community.general.ini_file
author:
  - Heat deployment project
"""

EXAMPLES = r"""
- name: Configure heat.conf
  ini_settings:
    path: /etc/heat/heat.conf
    owner: root
    group: heat
    mode: "0640"
    settings:
      DEFAULT:
        transport_url: "rabbit://openstack:{{ heat_rabbit_password }}@controller"
        heat_metadata_server_url: http://controller:8000
        heat_waitcondition_server_url: http://controller:8000/v1/waitcondition
        stack_domain_admin: heat_domain_admin
        stack_domain_admin_password: "{{ heat_domain_admin_password }}"
        stack_user_domain_name: heat
        debug: false
      database:
        connection: "mysql+pymysql://heat:{{ heat_db_password }}@controller/heat"
      keystone_authtoken:
        www_authenticate_uri: http://controller:5000
        auth_url: http://controller:5000
        memcached_servers: controller:11211
        auth_type: password
        project_domain_name: default
        user_domain_name: default
        project_name: service
        username: heat
        password: "{{ heat_keystone_password }}"
      trustee:
        auth_type: password
        auth_url: http://controller:5000
        username: heat
        password: "{{ heat_keystone_password }}"
        user_domain_name: default
      clients_keystone:
        auth_uri: http://controller:5000
  notify: Restart heat services

- name: Remove a key, and mask a value whose name the module does not know is secret
  ini_settings:
    path: /etc/heat/heat.conf
    create: false
    secret_keys:
      - ec2authtoken.ca_file_contents
    settings:
      DEFAULT:
        use_stderr: null
      ec2authtoken:
        ca_file_contents: "{{ some_private_value }}"
"""

RETURN = r"""
path:
  description: The file that was edited, as given in O(path).
  returned: always
  type: str
  sample: /etc/heat/heat.conf
changes:
  description:
    - One entry per key that was (or in check mode would be) added, updated or removed,
      in the order of O(settings). Empty when nothing changes.
  returned: always
  type: list
  elements: dict
  contains:
    section:
      description: The section, V(DEFAULT) for C([DEFAULT]).
      type: str
      sample: DEFAULT
    key:
      description: The key.
      type: str
      sample: debug
    action:
      description: What happens to the key.
      type: str
      choices: [added, updated, removed]
      sample: updated
    value:
      description: The new value as written; C(********) for a secret; null when removed.
      type: str
      sample: "true"
  sample:
    - {section: DEFAULT, key: debug, action: updated, value: "true"}
    - {section: database, key: connection, action: added, value: "********"}
    - {section: DEFAULT, key: use_stderr, action: removed, value: null}
"""

import os
import tempfile
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_bytes, to_native

try:
    import iniparse  # noqa: F401 - module_utils/ini_file.py uses it
    HAS_INIPARSE = True
    INIPARSE_IMPORT_ERROR = None
except ImportError:
    HAS_INIPARSE = False
    INIPARSE_IMPORT_ERROR = traceback.format_exc()

from ansible.module_utils import ini_file
from ansible.module_utils.ini_file import MASK

INSTALL_HINT = (
    ' Install it on the managed host: Debian/Ubuntu package python3-iniparse,'
    ' RHEL package python3-iniparse (or pip install iniparse).'
)


def parse_ini(module, path, text, secret_keys):
    """Parse text with iniparse, failing with the offending line(s)."""
    try:
        return ini_file.parse(path, text, secret_keys)
    except ini_file.ParseError as exc:
        module.fail_json(msg=str(exc))


def check_round_trip(module, path, text, wanted, secret_keys):
    """Fail (before writing) if the new text would not read back as asked."""
    cfg = parse_ini(module, path, text, secret_keys)
    wrong = ['settings.%s.%s' % (section, key) for section, key, new in wanted
             if ini_file.current(cfg, section, key) != new]
    if wrong:
        module.fail_json(msg='cannot write %s: %s would not read back as given (a value containing '
                             '" ;" is taken as an inline comment by the INI parser)' % (path, ', '.join(wrong)))


def build_diff(path, changes, is_secret, attr_diff):
    before, after = [], []
    # File attributes first, as comments, so they do not read as keys of a section.
    for attr in sorted(set(attr_diff.get('before', {})) | set(attr_diff.get('after', {}))):
        for side, lines in (('before', before), ('after', after)):
            value = attr_diff.get(side, {}).get(attr)
            if value is not None:
                lines.append('# %s: %s' % (attr, value))
    current = None
    for section, key, action, old, new in changes:
        if section != current:
            for lines in (before, after):
                if lines:
                    lines.append('')
                lines.append('[%s]' % section)
            current = section
        secret = is_secret(section, key)
        if old is not None:
            before.append('%s = %s' % (key, MASK if secret else old))
        if new is not None:
            after.append('%s = %s' % (key, MASK if secret else new))

    def as_text(lines):
        return '\n'.join(lines) + '\n' if lines else ''

    return {'before': as_text(before), 'after': as_text(after),
            'before_header': path, 'after_header': path}


def write_atomic(module, path, target, text, creating):
    """Write text to a temp file next to target, then rename it over target."""
    directory = os.path.dirname(target) or '.'
    try:
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(target), suffix='.tmp', dir=directory)
    except OSError as e:
        module.fail_json(msg='cannot write %s: %s' % (path, e.strerror or to_native(e)))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(to_bytes(text, errors='surrogate_or_strict'))
            f.flush()
            os.fsync(f.fileno())
        if creating:
            # atomic_move gives a new file the umask's mode; keep it private until
            # set_fs_attributes_if_different applies the requested mode (secrets).
            old_umask = os.umask(0o077)
            try:
                module.atomic_move(tmp, target, unsafe_writes=module.params['unsafe_writes'])
            finally:
                os.umask(old_umask)
            if module.params['mode'] is None:
                os.chmod(target, 0o666 & ~old_umask)
        else:
            # Keeps the existing file's owner, group, mode and SELinux context.
            module.atomic_move(tmp, target, unsafe_writes=module.params['unsafe_writes'])
    except Exception as e:
        if os.path.lexists(tmp):
            try:
                os.unlink(tmp)
            except OSError:
                pass
        detail = getattr(e, 'strerror', None) or to_native(e)
        module.fail_json(msg='cannot write %s: %s' % (path, detail), exception=traceback.format_exc())


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            settings=dict(type='dict', required=True),
            secret_keys=dict(type='list', elements='str', default=[], no_log=False),
            create=dict(type='bool', default=True),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    path = module.params['path']
    settings = module.params['settings']
    secret_keys = set(module.params['secret_keys'] or [])

    # First of all, so that no message below can show a secret.
    ini_file.register_secrets(module, settings, secret_keys)

    def is_secret(section, key):
        return ini_file.is_secret(section, key, secret_keys)

    if not HAS_INIPARSE:
        module.fail_json(msg=missing_required_lib('iniparse') + INSTALL_HINT, exception=INIPARSE_IMPORT_ERROR)
    wanted, errors = ini_file.validate_settings(settings)
    if errors:
        module.fail_json(msg='; '.join(errors))

    target = os.path.realpath(path) if os.path.islink(path) else path
    try:
        exists, original = ini_file.read(target)
    except UnicodeDecodeError as e:
        module.fail_json(msg='cannot read %s: not UTF-8 text (%s)' % (path, to_native(e)))
    except OSError as e:
        module.fail_json(msg='cannot read %s: %s' % (path, e.strerror or to_native(e)))
    if not exists and not module.params['create']:
        module.fail_json(msg='cannot edit %s: the file does not exist and create is false' % path)

    cfg = parse_ini(module, path, original, secret_keys)
    changes = ini_file.differences(cfg, wanted)
    changed = bool(changes)

    if changed:
        ini_file.apply(cfg, changes)
        text = ini_file.render(cfg)
        check_round_trip(module, path, text, wanted, secret_keys)
        if not module.check_mode:
            write_atomic(module, path, target, text, creating=not exists)
            exists = True

    attr_diff = {'before': {}, 'after': {}}
    if exists:
        file_args = module.load_file_common_arguments(module.params, path=target)
        changed = module.set_fs_attributes_if_different(file_args, changed, diff=attr_diff)

    result = dict(
        changed=changed,
        path=path,
        changes=[dict(section=section, key=key, action=action,
                      value=None if new is None else (MASK if is_secret(section, key) else new))
                 for section, key, action, old, new in changes],
    )
    if module._diff:
        result['diff'] = build_diff(path, changes, is_secret, attr_diff)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
