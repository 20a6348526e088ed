# -*- coding: utf-8 -*-
# The heat role's inputs checked together, before the plan reads anything:
# what argument_specs cannot say (an input against another, the shape of a
# URL, a name or a key) and whether the files an input names are on this
# controller. Each message names the input; none shows a secret's value.
# Types, choices and required inputs are argument_specs' (meta/), checked
# by Ansible before the role starts.
from __future__ import annotations

import os
import re

from ansible.module_utils import ini_file

URL = re.compile(r'^https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:[0-9]{1,5})?(/[^\s]*)?$')
HOST = re.compile(r'^(\[?[0-9A-Fa-f:.]+\]?|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$')
DOMAIN_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$')
OBJECT_NAME = re.compile(r'^[^\s/]([^/]{0,253}[^\s/])?$')
REGION = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$')
MEMCACHED = re.compile(r'^[^\s,]+:[0-9]{1,5}$')

# Inputs whose values are secret, and keys of a mapping input (the admin's
# credentials, heat_conf_overrides) whose values are (ini_file decides by
# name): masked in everything the plan returns.

SECRETS = ('heat_db_password', 'heat_keystone_password', 'heat_domain_admin_password', 'heat_auth_encryption_key',
           'heat_messaging_password', 'heat_keystone_admin_password')


def secret_values(inputs):
    """The secret values among the inputs, at any depth of a mapping."""
    found = set()
    for name, value in inputs.items():
        if isinstance(value, dict):
            found.update(secret_values(value))
        elif ini_file.SECRET_NAME_RE.search(str(name)) and value not in (None, '', True, False):
            found.add(str(value))
    return found


def _text(value):
    return '' if value is None else str(value)


def _match(pattern, value):
    return pattern.match(_text(value)) is not None


def _ports_ok(*ports):
    try:
        return all(1 <= int(port) <= 65535 for port in ports)
    except (TypeError, ValueError):
        return False


def missing_secrets(inputs):
    """The required secrets that are empty or unset (an openrc file gives the admin's password)."""
    names = [name for name in SECRETS if not (name == 'heat_keystone_admin_password' and inputs.get('heat_keystone_admin_openrc'))]
    return [name for name in names if _text(inputs.get(name)).strip() == '']


def override_errors(overrides, owned=None):
    """heat_conf_overrides' shape, and the options in it that the role writes from an input (owned: {section:
    {option: the inputs}}): those are refused, naming the inputs, so that the role's checks see what Heat gets."""
    if not isinstance(overrides, dict):
        return ['heat_conf_overrides must be a mapping {section: {key: value}}.']
    bad_sections = [section for section, keys in overrides.items() if not isinstance(keys, dict)]
    options = [(str(section), str(key), value)
               for section, keys in overrides.items() if isinstance(keys, dict) for key, value in keys.items()]
    bad_values = ['[%s] %s' % (section, key) for section, key, value in options
                  if not (value is None or isinstance(value, (bool, int, float))
                          or (isinstance(value, str) and '\n' not in value))]
    # What iniparse could not write back as written (module_utils/ini_file.py).
    bad_names = ['[%s] %s' % (section, key) for section, key, _value in options
                 if not (ini_file.valid_section_name(section) and ini_file.valid_key_name(key))]
    errors = []
    if bad_sections:
        errors.append('heat_conf_overrides: section(s) %s must be mappings of key: value.' % ', '.join(bad_sections))
    if bad_values:
        errors.append('heat_conf_overrides: %s must be a scalar (string, number, boolean; null removes the key) '
                      'on one line.' % ', '.join(bad_values))
    if bad_names:
        errors.append('heat_conf_overrides: %s: a section or option name must not be empty, have surrounding spaces '
                      'or line breaks, hold [ ] (sections) or = : (options), or start with # ; [.' % ', '.join(bad_names))
    for section, key, _value in options:
        inputs = ((owned or {}).get(section) or {}).get(key)
        if inputs and inputs.startswith('heat_'):
            errors.append('heat_conf_overrides sets [%s] %s, which the role writes from %s: set that instead and '
                          'remove [%s] %s from heat_conf_overrides.' % (section, key, inputs, section, key))
        elif inputs:
            errors.append('heat_conf_overrides sets [%s] %s, which the role writes as %s: remove it from '
                          'heat_conf_overrides.' % (section, key, inputs))
    return errors


def _keystone_errors(i):
    errors = []
    public, internal = _text(i['heat_keystone_public_url']), _text(i['heat_keystone_internal_url'])
    for name, url in (('heat_keystone_public_url', public), ('heat_keystone_internal_url', internal)):
        if not URL.match(url):
            errors.append("%s must be an absolute http(s) URL such as http://controller:5000, got '%s'." % (name, url))
    if any(re.search(r'/v[23](\.0)?$', url.rstrip('/')) for url in (public, internal)):
        errors.append('heat_keystone_public_url and heat_keystone_internal_url must not end in /v3: give the base URL, '
                      'e.g. http://controller:5000.')
    auth = i.get('heat_keystone_admin_auth') or {}
    openrc = _text(i.get('heat_keystone_admin_openrc'))
    if not openrc and not _match(URL, auth.get('auth_url')):
        errors.append("heat_keystone_admin_auth.auth_url must be an absolute http(s) URL, got '%s'."
                      % _text(auth.get('auth_url')))
    if not openrc and not (auth.get('username') and auth.get('project_name')):
        errors.append('heat_keystone_admin_auth needs a username and a project_name (or set heat_keystone_admin_openrc).')
    if openrc and not openrc.startswith('/'):
        errors.append("heat_keystone_admin_openrc must be an absolute path on the first controller, got '%s'." % openrc)
    return errors


def _url_errors(i):
    errors = []
    if not _match(URL, i['heat_metadata_server_url']):
        errors.append("heat_metadata_server_url must be an absolute http(s) URL that instances can reach, got '%s'."
                      % i['heat_metadata_server_url'])
    wait = _text(i['heat_waitcondition_server_url'])
    if not URL.match(wait) or not wait.endswith('/v1/waitcondition'):
        errors.append("heat_waitcondition_server_url must be an absolute http(s) URL ending in /v1/waitcondition, "
                      "got '%s'." % wait)
    return errors


def _tls_errors(i):
    errors = []
    ca_content, ca_path = _text(i['heat_ca_bundle_content']), _text(i['heat_ca_bundle'])
    if ca_content and '-----BEGIN CERTIFICATE-----' not in ca_content:
        errors.append('heat_ca_bundle_content must hold PEM certificates (-----BEGIN CERTIFICATE-----).')
    if ca_path and not ca_path.startswith('/'):
        errors.append("heat_ca_bundle must be an absolute path on the controllers, got '%s'." % ca_path)
    cert, key = _text(i['heat_tls_cert_content']), _text(i['heat_tls_key_content'])
    if bool(cert) != bool(key):
        errors.append("heat_tls_cert_content and heat_tls_key_content go together: give both (TLS on Heat's listeners) "
                      "or neither.")
    if cert and key:
        if '-----BEGIN CERTIFICATE-----' not in cert or not re.search(r'-----BEGIN [A-Z ]*PRIVATE KEY-----', key):
            errors.append('heat_tls_cert_content must hold a PEM certificate and heat_tls_key_content a PEM private key.')
        if not _match(HOST, i['heat_tls_probe_host']):
            errors.append("heat_tls_probe_host must be the host name in this controller's certificate, got '%s'."
                          % _text(i['heat_tls_probe_host']))
    # Its choices are argument_specs'.
    strategy = _text(i['heat_memcache_security_strategy'])
    if strategy and not _text(i['heat_memcache_secret_key']):
        errors.append('heat_memcache_security_strategy %s needs heat_memcache_secret_key (the same on every controller).'
                      % strategy)
    if strategy and not i['heat_memcached_servers']:
        errors.append('heat_memcache_security_strategy protects the token cache in memcached: set heat_memcached_servers '
                      'too.')
    if i['heat_db_ssl_ca'] and not _text(i['heat_db_ssl_ca']).startswith('/'):
        errors.append("heat_db_ssl_ca must be an absolute path on the controllers, got '%s'." % i['heat_db_ssl_ca'])
    messaging_ca = _text(i['heat_messaging_ssl_ca_file'])
    if i['heat_messaging_use_ssl'] and messaging_ca and not messaging_ca.startswith('/'):
        errors.append("heat_messaging_ssl_ca_file must be an absolute path on the controllers, got '%s'." % messaging_ca)
    return errors


def _service_errors(i):
    errors = []
    if int(i['heat_restart_batch_size'] or 0) < 0 or int(i['heat_restart_lb_delay'] or 0) < 0:
        errors.append('heat_restart_batch_size (0: all at once) and heat_restart_lb_delay must not be negative.')
    addresses = [i['heat_public_address'], i['heat_internal_address'], i['heat_admin_address']]
    if not all(_match(HOST, address) for address in addresses):
        errors.append('heat_public_address, heat_internal_address and heat_admin_address must be host names or IP '
                      "addresses without scheme, port or path; got '%s'." % "', '".join(_text(a) for a in addresses))
    if not _match(HOST, i['heat_bind_host']):
        errors.append("heat_bind_host must be an IP address (0.0.0.0 for all), got '%s'." % _text(i['heat_bind_host']))
    if not _ports_ok(i['heat_api_port'], i['heat_cfn_port'], i['heat_messaging_port'], i['heat_db_port']):
        errors.append('heat_api_port, heat_cfn_port, heat_messaging_port and heat_db_port must be between 1 and 65535.')
    if _text(i['heat_api_port']) == _text(i['heat_cfn_port']):
        errors.append('heat_api_port and heat_cfn_port must differ (both are %s).' % i['heat_api_port'])
    hosts = i['heat_messaging_hosts'] or []
    if not hosts or not all(_match(HOST, host) for host in hosts):
        errors.append('heat_messaging_hosts must list at least one host name or IP address (no scheme or port), got %s.'
                      % hosts)
    if not i['heat_messaging_user'] or not i['heat_messaging_vhost']:
        errors.append("heat_messaging_user and heat_messaging_vhost must not be empty (the default virtual host is '/').")
    if int(i['heat_num_engine_workers'] or 0) < 1 or int(i['heat_api_processes'] or 0) < 1:
        errors.append("heat_num_engine_workers and heat_api_processes must be at least 1, got '%s', '%s'."
                      % (i['heat_num_engine_workers'], i['heat_api_processes']))
    if not _text(i['heat_lock_path']).startswith('/'):
        errors.append("heat_lock_path must be an absolute path, got '%s'." % i['heat_lock_path'])
    if not all(_match(MEMCACHED, server) for server in i['heat_memcached_servers'] or []):
        errors.append('heat_memcached_servers entries must be host:port, got %s.' % i['heat_memcached_servers'])
    return errors


def _housekeeping_errors(i):
    errors = []
    if not i['heat_purge_deleted_enabled']:
        return errors
    if int(i['heat_purge_deleted_age'] or 0) < 1:
        errors.append("heat_purge_deleted_age must be at least 1 (in heat_purge_deleted_age_unit), got '%s'."
                      % i['heat_purge_deleted_age'])
    schedule = _text(i['heat_purge_deleted_schedule'])
    if not schedule.strip() or '\n' in schedule or '\r' in schedule:
        errors.append("heat_purge_deleted_schedule must be a systemd calendar expression on one line (e.g. daily), "
                      "got '%s'." % schedule.strip())
    if not _text(i['heat_purge_deleted_host']).strip():
        errors.append('heat_purge_deleted_host must name the controller that runs the purge.')
    return errors


def _policy_errors(i):
    """heat_policy_overrides' shape (heat_policy.py checks the names and check strings against the installed Heat)."""
    overrides = i['heat_policy_overrides']
    if overrides is None:
        return []
    if not isinstance(overrides, dict):
        return ['heat_policy_overrides must be a mapping {rule: check string}.']
    bad_names = [repr(name) for name in overrides if not isinstance(name, str) or not name.strip()
                 or name != name.strip() or '\n' in name]
    bad_values = [str(name) for name, value in overrides.items() if not isinstance(value, str)]
    errors = []
    if bad_names:
        errors.append('heat_policy_overrides: rule names %s must be non-empty strings on one line, without '
                      'surrounding spaces.' % ', '.join(bad_names))
    if bad_values:
        errors.append('heat_policy_overrides: the check strings of %s must be strings (quote them in YAML; "" '
                      'allows everyone, "!" nobody).' % ', '.join(bad_values))
    return errors


def _database_errors(i):
    errors = []
    if not _match(HOST, i['heat_db_host']):
        errors.append("heat_db_host must be a host name or IP address, got '%s'." % _text(i['heat_db_host']))
    if not re.match(r'^[A-Za-z0-9_]{1,64}$', _text(i['heat_db_name'])) or \
            not re.match(r'^[A-Za-z0-9_]{1,80}$', _text(i['heat_db_user'])):
        errors.append("heat_db_name and heat_db_user must be plain identifiers (letters, digits, _), got '%s', '%s'."
                      % (i['heat_db_name'], i['heat_db_user']))
    if not i['heat_db_allowed_hosts']:
        errors.append('heat_db_allowed_hosts must list at least one host (e.g. localhost and %).')
    if not i['heat_db_delegate_to']:
        errors.append('heat_db_delegate_to must name the host that runs the database tasks.')
    if int(i['heat_db_max_retries'] or 0) < -1:
        errors.append("heat_db_max_retries must be -1 (forever) or more, got '%s'." % i['heat_db_max_retries'])
    return errors


def _identity_errors(i):
    errors = []
    for name in ('heat_region', 'heat_keystone_region'):
        if not _match(REGION, i[name]):
            errors.append("%s must be a region id such as RegionOne (letters, digits, . _ -), got '%s'."
                          % (name, _text(i[name])))
    domains = [i['heat_stack_domain'], i['heat_keystone_user_domain'], i['heat_service_project_domain']]
    if not all(_match(DOMAIN_NAME, domain) for domain in domains):
        errors.append('heat_stack_domain, heat_keystone_user_domain and heat_service_project_domain must be Keystone '
                      "domain names (1-64 characters), got '%s'." % "', '".join(_text(d) for d in domains))
    if _text(i['heat_stack_domain']).lower() == 'default':
        errors.append("heat_stack_domain must be a domain of its own (the guide's 'heat'), not Default: stack users "
                      "would land among real users.")
    names = [i['heat_keystone_user'], i['heat_domain_admin_user'], i['heat_service_project'], i['heat_stack_user_role'],
             i['heat_stack_owner_role']]
    if not all(_match(OBJECT_NAME, name) for name in names):
        errors.append('heat_keystone_user, heat_domain_admin_user, heat_service_project, heat_stack_user_role and '
                      "heat_stack_owner_role must be non-empty names without '/' or surrounding blanks.")
    return errors


def _key_errors(i):
    key = _text(i['heat_auth_encryption_key'])
    size = len(key.encode('utf-8'))
    if len(key) != 32 or size != 32:
        # Heat makes its Fernet key from the key's UTF-8 bytes: 32 characters and 32 bytes, i.e. 32 ASCII characters.
        return ['heat_auth_encryption_key must be exactly 32 characters that are 32 bytes in UTF-8 (32 ASCII characters: '
                'Heat builds its Fernet key from those bytes); it has %d characters, %d bytes. Use the same key on every '
                'controller.' % (len(key), size)]
    return []


def file_errors(i, host):
    """The CA bundles given by path that are not files on this controller (every client of Heat reads them)."""
    wanted = []
    ca_path, ca_content = _text(i['heat_ca_bundle']), _text(i['heat_ca_bundle_content'])
    if ca_path and not ca_content:
        wanted.append(('heat_ca_bundle', ca_path))
    db_ca = _text(i['heat_db_ssl_ca'])
    if db_ca and (db_ca != ca_path or not ca_content):
        wanted.append(('heat_db_ssl_ca', db_ca))
    messaging_ca = _text(i['heat_messaging_ssl_ca_file'])
    if i['heat_messaging_use_ssl'] and messaging_ca and (messaging_ca != ca_path or not ca_content):
        wanted.append(('heat_messaging_ssl_ca_file', messaging_ca))
    missing = ['%s %s' % (name, path) for name, path in wanted if not os.path.isfile(path)]
    if missing:
        return ['Not a file on %s: %s. Install the bundle there first, or give its content in heat_ca_bundle_content for '
                'the role to install.' % (host, ', '.join(missing))]
    return []


class Inputs(dict):
    """The inputs by name; one not given (unset, without a default) is None."""

    def __missing__(self, name):
        return None


def errors(inputs, host, owned=None):
    """Every problem of the inputs, each naming the input; [] when they are fine. owned: the heat.conf options
    the role writes from its inputs (heat_conf_overrides may not set them)."""
    inputs = Inputs(inputs)
    missing = missing_secrets(inputs)
    if missing:
        # The other checks would only repeat it.
        return ['Empty or unset: %s. Set them in the inventory, from an Ansible Vault file.' % ', '.join(missing)]
    found = []
    for check in (_key_errors, _keystone_errors, _url_errors, _tls_errors, _service_errors, _database_errors,
                  _identity_errors, _housekeeping_errors, _policy_errors):
        found += check(inputs)
    found += override_errors(inputs['heat_conf_overrides'], owned)
    return found or file_errors(inputs, host)


def shared_errors(shared):
    """The settings that differ between the controllers ({host: {name: value or hash}}), as one message."""
    hosts = list(shared)
    names = list(shared[hosts[0]]) if hosts else []
    differing = [name for name in names if len(set(str(shared[host].get(name)) for host in hosts)) > 1]
    if not differing:
        return []
    return ['These differ between the controllers %s: %s (keys are compared by their hashes). Set them once for the '
            'group (group_vars), e.g. a VIP or load-balancer name for the addresses; the encryption key must be '
            'identical everywhere.' % (', '.join(hosts), ', '.join(differing))]
