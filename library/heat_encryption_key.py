#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r'''
---
module: heat_encryption_key
short_description: Compare Heat's deployed auth_encryption_key with a new one, and re-encrypt the database with it
description:
  - Reads C([DEFAULT] auth_encryption_key) from O(config) with oslo.config, the parser Heat itself uses,
    and tells whether it is O(key). Neither key is ever returned.
  - With O(reencrypt=true) and a different key, decrypts every value Heat encrypted with the deployed
    key and encrypts it again with O(key), in one database transaction, using Heat's own
    C(heat.common.crypt) - the stored credentials (C(user_creds) passwords and trust IDs, redacted
    C(resource_data) such as stack users' passwords) and, when C(encrypt_parameters_and_properties) was
    used, hidden template parameters and resource properties.
  - A value that already decrypts with O(key) is left alone, so an interrupted rotation can be re-run.
  - The database is found through C([database] connection) of O(config). heat.conf itself is not
    changed; heat-engine should be stopped while this runs.
  - C(heat-manage update_params) is no substitute - it handles only parameters and properties, not
    the credentials, and on Heat 22 to 24 it fails (the database functions it calls were removed).
version_added: "1.0.0"
author:
  - Heat deployment project
options:
  key:
    description: The encryption key heat.conf is to hold (32 ASCII characters).
    type: str
    required: true
  config:
    description: Heat's configuration file on the host.
    type: path
    default: /etc/heat/heat.conf
  reencrypt:
    description: Re-encrypt the database with O(key) when the deployed key differs.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Counts the values that would be re-encrypted; nothing is written.
  diff_mode:
    support: none
requirements:
  - Heat's Python packages and SQLAlchemy on the host (a Heat controller)
'''

EXAMPLES = r'''
- name: Compare the deployed key
  heat_encryption_key:
    key: "{{ heat_auth_encryption_key }}"
  register: deployed
  no_log: true

- name: Re-encrypt the database with the new key
  heat_encryption_key:
    key: "{{ heat_auth_encryption_key }}"
    reencrypt: true
  no_log: true
'''

RETURN = r'''
deployed:
  description: Whether O(config) exists and sets auth_encryption_key.
  returned: always
  type: bool
matches:
  description: Whether the deployed key is O(key) (false when there is none).
  returned: always
  type: bool
reencrypted:
  description: Values re-encrypted (or to be, in check mode) per table.
  returned: always
  type: dict
  sample: {user_creds: 2, resource_data: 1, raw_template: 0, resource_properties_data: 0}
'''

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.heat_config import compare_key

TABLES = ('user_creds', 'resource_data', 'raw_template', 'resource_properties_data')


class Recrypt:
    """Re-encrypt one (method, value) pair from the old key to the new one."""

    def __init__(self, crypt, old, new):
        self.crypt, self.old, self.new = crypt, old, new

    def __call__(self, method, value, where):
        """(method, value) encrypted with the new key, or None when nothing is to do."""
        if method is None or value is None:
            return None
        try:
            self.crypt.decrypt(method, value, self.new)
            return None  # already under the new key (an interrupted rotation)
        except Exception:  # InvalidEncryptionKey (Fernet), or garbage from an old method
            pass
        try:
            plain = self.crypt.decrypt(method, value, self.old)
        except Exception as exc:
            raise ValueError('%s decrypts neither with the deployed key nor with the new one (%s)'
                             % (where, type(exc).__name__))
        return self.crypt.encrypt(plain, self.new)


def recrypt_named(recrypt, pairs, names, where):
    """Re-encrypt pairs[name] = [method, value] in place for each name; True when one changed.
    `where` names the place for an error, with %s for the name."""
    changed = False
    for name in names:
        new = recrypt(*pairs[name], where=where % name)
        if new:
            pairs[name] = list(new)
            changed = True
    return changed


def reencrypt(conn, recrypt, write):
    """Walk the encrypted columns; return the count of rows per table. Writes only if write."""
    from sqlalchemy import text
    counts = dict.fromkeys(TABLES, 0)

    # Password and trust ID share the row's decrypt_method; Heat sets one of them.
    rows = conn.execute(text('SELECT id, decrypt_method, password, trust_id FROM user_creds'))
    for row_id, method, password, trust in rows.fetchall():
        new_pw = recrypt(method, password, 'user_creds %s password' % row_id)
        new_trust = recrypt(method, trust, 'user_creds %s trust_id' % row_id)
        if new_pw or new_trust:
            counts['user_creds'] += 1
            if write:
                conn.execute(text('UPDATE user_creds SET decrypt_method=:m, password=:p, trust_id=:t WHERE id=:id'),
                             {'id': row_id, 'm': (new_pw or new_trust)[0],
                              'p': new_pw[1] if new_pw else password, 't': new_trust[1] if new_trust else trust})

    rows = conn.execute(text('SELECT id, decrypt_method, value FROM resource_data WHERE redact'))
    for row_id, method, value in rows.fetchall():
        new = recrypt(method, value, 'resource_data %s' % row_id)
        if new:
            counts['resource_data'] += 1
            if write:
                conn.execute(text('UPDATE resource_data SET decrypt_method=:m, value=:v WHERE id=:id'),
                             {'id': row_id, 'm': new[0], 'v': new[1]})

    rows = conn.execute(text('SELECT id, environment FROM raw_template'))
    for row_id, env in rows.fetchall():
        env = json.loads(env) if env else {}
        if recrypt_named(recrypt, env.get('parameters') or {}, env.get('encrypted_param_names') or [],
                         'raw_template %s parameter %%s' % row_id):
            counts['raw_template'] += 1
            if write:
                conn.execute(text('UPDATE raw_template SET environment=:e WHERE id=:id'),
                             {'id': row_id, 'e': json.dumps(env)})

    rows = conn.execute(text('SELECT id, data FROM resource_properties_data WHERE encrypted'))
    for row_id, data in rows.fetchall():
        data = json.loads(data) if data else {}
        if recrypt_named(recrypt, data, list(data), 'resource_properties_data %s property %%s' % row_id):
            counts['resource_properties_data'] += 1
            if write:
                conn.execute(text('UPDATE resource_properties_data SET data=:d WHERE id=:id'),
                             {'id': row_id, 'd': json.dumps(data)})
    return counts


def main():
    module = AnsibleModule(
        argument_spec=dict(
            key=dict(type='str', required=True, no_log=True),
            config=dict(type='path', default='/etc/heat/heat.conf'),
            reencrypt=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    key, path = module.params['key'], module.params['config']
    result = dict(changed=False, deployed=False, matches=False, reencrypted=dict.fromkeys(TABLES, 0))
    try:
        result['deployed'], result['matches'], old, connection = compare_key(path, key)
    except ValueError as exc:
        module.fail_json(msg='config: %s' % exc, **result)
    if not module.params['reencrypt'] or not old or result['matches']:
        module.exit_json(**result)

    try:
        import sqlalchemy
        from heat.common import crypt
    except ImportError as exc:
        module.fail_json(msg='reencrypt needs Heat and SQLAlchemy on %s: %s' % (path, exc), **result)
    if not connection:
        module.fail_json(msg='reencrypt: %s has no [database] connection' % path, **result)
    engine = sqlalchemy.create_engine(connection)
    try:
        # One transaction: all values move to the new key, or none does.
        with engine.begin() as conn:
            result['reencrypted'] = reencrypt(conn, Recrypt(crypt, old, key), write=not module.check_mode)
    except ValueError as exc:
        module.fail_json(msg='key: cannot re-encrypt the Heat database: %s. Nothing was changed.' % exc, **result)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        module.fail_json(msg='reencrypt: the Heat database (from %s) failed: %s. Nothing was changed.'
                         % (path, type(exc).__name__), **result)
    result['changed'] = sum(result['reencrypted'].values()) > 0
    module.exit_json(**result)


if __name__ == '__main__':
    main()
