# -*- coding: utf-8 -*-
# What the heat role asks an operator to check when a part of its plan
# fails, by part and cause, naming the role's inputs. Where the inputs
# depend on how the role was given them (an openrc file or the admin
# inputs, a CA bundle by content or by path), the role says which
# ({admin_source}, {auth_url_source}, {ca_source}, {messaging_ca_source},
# {db_delegate_to}, {host}: heat_plan's `explain`).
from __future__ import annotations

DATABASE = {
    'database': 'check heat_db_host, heat_db_port, that MariaDB/MySQL listens there, the firewall, and '
                'heat_db_wait_timeout',
    'socket': 'heat_db_login_unix_socket (empty: where MariaDB puts it) is where the database tasks on '
              '{db_delegate_to} (heat_db_delegate_to) log in: run them on the database server, set '
              'heat_db_login_unix_socket to its socket, or log in over TCP with heat_db_login_host',
    'parameters': 'an input of the role is malformed',
}

KEYSTONE = {
    'credentials': 'check {admin_source}',
    'unreachable': 'from {host}: check {auth_url_source}, that Keystone runs, and heat_keystone_wait_timeout',
    'auth_url': 'check {auth_url_source}',
    'tls': "{auth_url_source} is https: its certificate must be signed by a CA in {ca_source} and carry the URL's "
           "host name",
    'tls_url': "the certificate must be signed by a CA in {ca_source} and carry the URL's host name",
    'region': "check heat_region, the region Heat's endpoints are registered in (openstack region create, or "
              "correct the name)",
    'keystone_region': 'check heat_keystone_region (default: heat_region), which becomes [keystone_authtoken] '
                       'region_name and needs an identity endpoint',
    'domain': 'check heat_service_project_domain and heat_keystone_user_domain',
    'project': 'check heat_service_project and heat_service_project_domain: the role uses the service project, it '
               'does not create it',
    'specification': 'check heat_keystone_user, heat_keystone_user_domain, heat_stack_owner_role and '
                     'heat_stack_user_role',
    'keystone': 'Keystone refused the request: see its log',
    'parameters': 'an input of the role is malformed',
}
KEYSTONE['identity_region'] = KEYSTONE['keystone_region']

MESSAGING = {
    'unreachable': 'check heat_messaging_hosts, heat_messaging_port, that RabbitMQ listens there, and the firewall',
    'tls': "heat_messaging_use_ssl is true: the broker's certificate must be signed by a CA in {messaging_ca_source} "
           "and carry the name in heat_messaging_hosts; heat_messaging_port must be its TLS port (5671)",
    'protocol': "check heat_messaging_port: it must be RabbitMQ's AMQP 0-9-1 port (5672, or its TLS port with "
                "heat_messaging_use_ssl)",
    'credentials': 'check heat_messaging_user and heat_messaging_password',
    'vhost': "check heat_messaging_vhost and the user's permissions on it (rabbitmqctl list_permissions -p <vhost>)",
    'refused': "check heat_messaging_user, heat_messaging_vhost and the broker's log",
    'parameters': 'an input of the role is malformed',
}

# heat.conf's options the installed Heat does not register (module_utils/heat_options.py).
OPTIONS = ('Heat ignores options it does not register: correct heat_conf_overrides, or list in heat_conf_unregistered '
           'the section.option a plugin of yours reads')

# heat_policy_overrides that name no policy or do not parse (module_utils/heat_policy.py).
POLICY = ('oslo.policy loads any name and denies what it cannot parse, silently: correct heat_policy_overrides '
          '(oslopolicy-sample-generator --namespace heat lists the policies)')

CONTEXT_KEYS = ('host', 'db_delegate_to', 'admin_source', 'auth_url_source', 'ca_source', 'messaging_ca_source')


def _options(result):
    """What the plan's controller part found of heat.conf's options (heat_controller.options_state)."""
    return ((result.get('controller') or {}).get('config') or {}).get('options') or {}


def _policy(result):
    """What the plan's controller part found of heat_policy_overrides (heat_controller.policy_state)."""
    return (result.get('controller') or {}).get('policy') or {}


def warnings(result):
    """heat.conf's deprecated options, and the unknown ones where part of the registry could not be read; the
    deprecated policy names of heat_policy_overrides."""
    options = _options(result)
    found = ['heat.conf: %s.' % text for text in options.get('deprecated') or []]
    found += ['heat_policy_overrides: %s.' % text for text in _policy(result).get('deprecated') or []]
    if options.get('state') == 'partial':
        found += ['heat.conf: %s (not refused: part of the registry did not load: %s).' % (text, options['reason'])
                  for text in options.get('unknown') or []]
    return found


def _refused(what, result, context, texts, hint):
    """One refusal of what the operator wrote around the inputs, for the Heat installed there."""
    return '%s on %s, for Heat %s: %s. %s.' % (
        what, context['host'], (result.get('controller') or {}).get('version') or '(version unknown)',
        ' '.join('%s.' % text for text in texts).rstrip('.'), hint)


def _hint(table, cause, default, context):
    return (table.get(cause) or table[default]).format(**context)


def problems(result, context):
    """Every failure in a plan's result, each with what to check: [(cause, message)], in the order that
    helps - the database first (Keystone keeps its data there too: a stopped MariaDB is named as such),
    then Keystone and the https URLs, heat.conf's options and the policy overrides, then the brokers (a bad CA
    is named by the Keystone check first)."""
    context = dict((key, context.get(key) or '') for key in CONTEXT_KEYS)
    found = []
    database = result.get('database')
    if database and not database.get('ok'):
        found.append((database.get('cause'), 'From %s: %s; %s.' % (
            context['host'], database.get('msg', ''), _hint(DATABASE, database.get('cause'), 'database', context))))
    for part in ('keystone', 'tls_urls'):
        failed = result.get(part) or {}
        if 'msg' in failed:
            found.append((failed.get('cause'), '%s; %s.' % (
                failed['msg'].rstrip('.'), _hint(KEYSTONE, failed.get('cause'), 'credentials', context))))
    options = _options(result)
    if options.get('state') == 'checked' and options.get('unknown'):
        found.append(('config_options', _refused('heat.conf', result, context, options['unknown'], OPTIONS)))
    policy = _policy(result)
    if policy.get('refused'):
        found.append(('policy', _refused('heat_policy_overrides', result, context, policy['refused'], POLICY)))
    brokers = [b for b in result.get('messaging') or [] if not b.get('ok')]
    if brokers:
        found.append((brokers[0].get('cause'), 'From %s: %s; %s.' % (
            context['host'], '; '.join(b.get('msg', '') for b in brokers),
            _hint(MESSAGING, brokers[0].get('cause'), 'refused', context))))
    return found
