"""heat.conf's options against the installed Heat's registry (module_utils/heat_options.py): the lookup,
the closest names, the words, and the child that reads the registry."""
import sys
import textwrap

import pytest

from ansible.module_utils import heat_options

REGISTRY = {
    'sections': {
        'DEFAULT': {'debug': {'removal': False, 'reason': ''},
                    'auth_encryption_key': {'removal': False, 'reason': ''},
                    'deferred_auth_method': {'removal': True, 'reason': 'Stored password based\n  deferred auth is broken.'}},
        'keystone_authtoken': {'www_authenticate_uri': {'removal': False, 'reason': ''},
                               'auth_type': {'removal': False, 'reason': ''},
                               'region_name': {'removal': False, 'reason': ''}},
        'ec2authtoken': {'auth_uri': {'removal': False, 'reason': ''}, 'ca_file': {'removal': False, 'reason': ''}},
        'trustee': {'auth_type': {'removal': False, 'reason': ''}},
        'database': {'connection': {'removal': False, 'reason': ''}},
    },
    'renamed': {'keystone_authtoken.auth_uri': 'keystone_authtoken.www_authenticate_uri',
                'DEFAULT.sql_connection': 'database.connection'},
    'plugins': {'password': ['auth_url', 'username', 'password', 'user_domain_name']},
    'failed': [],
    'policies': ['stacks:create', 'stacks:delete'],
    'policies_renamed': {},
}
OVERRIDES = {'ec2authtoken.www_authenticate_uri': 'heat_conf_overrides', 'keystone_authtokn.region_name':
             'heat_conf_overrides'}


def test_known_options_and_removals_pass():
    settings = {'DEFAULT': {'debug': 'true', 'auth_encryption_key': 'k' * 32},
                'keystone_authtoken': {'www_authenticate_uri': 'http://k:5000', 'region_name': 'RegionOne'}}
    assert heat_options.check(settings, REGISTRY) == {'unknown': [], 'deprecated': []}
    # A null removes the option: nothing to look up.
    assert heat_options.check({'nosuch': {'thing': None}}, REGISTRY) == {'unknown': [], 'deprecated': []}


def test_a_misplaced_option_is_named_with_where_it_belongs():
    found = heat_options.check({'ec2authtoken': {'www_authenticate_uri': 'http://k:5000/v3'}}, REGISTRY, OVERRIDES)
    assert found['unknown'] == [dict(section='ec2authtoken', option='www_authenticate_uri', source='heat_conf_overrides',
                                     known_section=True, closest=[], elsewhere=['keystone_authtoken'])]
    assert heat_options.describe_unknown(found['unknown'][0]) == (
        '[ec2authtoken] www_authenticate_uri (heat_conf_overrides): not an option of [ec2authtoken]; '
        'www_authenticate_uri is an option of [keystone_authtoken]')


def test_a_misspelt_section_is_named_with_the_closest_ones():
    found = heat_options.check({'keystone_authtokn': {'region_name': 'RegionOne'}}, REGISTRY, OVERRIDES)
    assert heat_options.describe_unknown(found['unknown'][0]) == (
        '[keystone_authtokn] region_name (heat_conf_overrides): [keystone_authtokn] is not a section Heat reads; '
        'closest: [keystone_authtoken]; region_name is an option of [keystone_authtoken]')


def test_a_misspelt_option_is_named_with_the_closest_ones():
    found = heat_options.check({'DEFAULT': {'debgu': 'true', 'auth_encryption_keys': 'x'}}, REGISTRY)
    assert [heat_options.describe_unknown(item) for item in found['unknown']] == [
        '[DEFAULT] auth_encryption_keys (the role): not an option of [DEFAULT]; closest: auth_encryption_key',
        '[DEFAULT] debgu (the role): not an option of [DEFAULT]; closest: debug']


def test_the_plugin_of_a_section_brings_its_options():
    with_plugin = {'trustee': {'auth_type': 'password', 'username': 'heat', 'password': 'x'}}
    assert heat_options.check(with_plugin, REGISTRY)['unknown'] == []
    # Without auth_type the plugin's options are unknown there.
    without = heat_options.check({'trustee': {'username': 'heat'}}, REGISTRY)['unknown']
    assert [(item['section'], item['option']) for item in without] == [('trustee', 'username')]
    assert heat_options.auth_types({'trustee': {'auth_type': 'password'}, 'a': {'auth_type': None}, 'b': 'x'}) == \
        ['password']


def test_deprecated_names_and_removals_are_told_with_their_replacement():
    found = heat_options.check({'keystone_authtoken': {'auth_uri': 'http://k:5000'},
                                'DEFAULT': {'deferred_auth_method': 'password', 'sql_connection': 'x'}}, REGISTRY)
    assert found['unknown'] == []
    assert [heat_options.describe_deprecated(item) for item in found['deprecated']] == [
        '[DEFAULT] deferred_auth_method (the role) is deprecated for removal: Stored password based deferred auth is '
        'broken.',
        '[DEFAULT] sql_connection (the role) is deprecated: its name is now [database] connection',
        '[keystone_authtoken] auth_uri (the role) is deprecated: its name is now [keystone_authtoken] '
        'www_authenticate_uri']


@pytest.mark.parametrize('unregistered', [['myplugin.endpoint'], ['myplugin.*'], ['myplugin']])
def test_unregistered_options_an_operator_lists_are_not_looked_up(unregistered):
    settings = {'myplugin': {'endpoint': 'http://x', 'other': 'y'}}
    found = heat_options.check(settings, REGISTRY, unregistered=unregistered)['unknown']
    assert [item['option'] for item in found] == ([] if unregistered != ['myplugin.endpoint'] else ['other'])


def test_the_registry_is_read_from_entry_points_and_what_they_register(tmp_path, monkeypatch):
    # A tiny "Heat" with one namespace, its options as oslo.config would give them.
    package = tmp_path / 'fakeheat'
    package.mkdir()
    (package / '__init__.py').write_text(textwrap.dedent('''
        class Deprecated(object):
            def __init__(self, name=None, group=None):
                self.name, self.group = name, group
        class Opt(object):
            def __init__(self, dest, removal=False, deprecated=()):
                self.dest, self.deprecated_for_removal, self.deprecated_opts = dest, removal, list(deprecated)
                self.deprecated_reason = 'gone soon' if removal else None
        def list_opts():
            yield None, [Opt('debug'), Opt('old_thing', removal=True)]
            yield 'database', [Opt('connection', deprecated=[Deprecated('sql_connection', 'DEFAULT')])]
        class Rule(object):
            def __init__(self, name, old=None):
                self.name = name
                self.deprecated_rule = Rule(old) if old else None
        def list_rules():
            return [Rule('stacks:create'), Rule('stacks:show', old='stacks:get')]
        '''))
    dist = tmp_path / 'fakeheat-1.0.dist-info'
    dist.mkdir()
    (dist / 'METADATA').write_text('Metadata-Version: 2.1\nName: fakeheat\nVersion: 1.0\n')
    (dist / 'entry_points.txt').write_text('[oslo.config.opts]\nheat.common.config = fakeheat:list_opts\n'
                                           'nova.conf = fakeheat:nothing_of_ours\n'
                                           '[oslo.policy.policies]\nheat = fakeheat:list_rules\n'
                                           'nova = fakeheat:nothing_of_ours\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = heat_options.read_here([])
    assert registry['sections']['DEFAULT']['debug'] == {'removal': False, 'reason': ''}
    assert registry['sections']['DEFAULT']['old_thing'] == {'removal': True, 'reason': 'gone soon'}
    assert registry['renamed'] == {'DEFAULT.sql_connection': 'database.connection'}
    # nova's namespace is not Heat's: not loaded (it would fail).
    assert registry['failed'] == []
    # Heat's policies, with the old names oslo.policy still honours.
    assert registry['policies'] == ['stacks:create', 'stacks:show']
    assert registry['policies_renamed'] == {'stacks:get': 'stacks:show'}


def test_without_heat_the_registry_is_not_read(monkeypatch):
    monkeypatch.setattr(sys, 'path', [p for p in sys.path if 'fakeheat' not in p])
    assert heat_options.read_here([]) == {
        'failed': ['Heat has no oslo.config.opts entry point here (is its Python package installed?)']}


def test_the_child_reports_what_it_could_not_read(tmp_path):
    reader = heat_options.Reader(['password'], cache_dir=str(tmp_path))
    found = reader.result()
    # No Heat in the test's Python: the child says so instead of failing the plan, and nothing is cached.
    assert found == {'failed': ['Heat has no oslo.config.opts entry point here (is its Python package installed?)']}
    assert list(tmp_path.iterdir()) == []


class FakeChild(object):
    """subprocess.Popen's stand-in: answers REGISTRY, counts the children started."""
    started = 0

    def __init__(self, *args, **kwargs):
        FakeChild.started += 1
        self.returncode = 0

    def communicate(self, data=None, timeout=None):
        import json
        return json.dumps(REGISTRY), ''


def test_the_registry_is_cached_by_what_it_depends_on(tmp_path, monkeypatch):
    monkeypatch.setattr(heat_options.subprocess, 'Popen', FakeChild)
    FakeChild.started = 0
    code = {'sha256': 'a' * 64}
    assert heat_options.Reader(['password'], code, cache_dir=str(tmp_path)).result() == REGISTRY
    assert heat_options.Reader(['password'], code, cache_dir=str(tmp_path)).result() == REGISTRY
    assert FakeChild.started == 1, 'the second read was not the cache'
    [cached] = list(tmp_path.iterdir())
    assert oct(cached.stat().st_mode & 0o777) == '0o644'
    # Another ec2token code (the role's patch) or other auth types: read again, one file kept.
    heat_options.Reader(['password'], {'sha256': 'b' * 64}, cache_dir=str(tmp_path)).result()
    heat_options.Reader(['password', 'v3password'], {'sha256': 'b' * 64}, cache_dir=str(tmp_path)).result()
    assert FakeChild.started == 3
    assert len(list(tmp_path.iterdir())) == 1


def test_check_mode_reads_the_cache_but_writes_none(tmp_path, monkeypatch):
    monkeypatch.setattr(heat_options.subprocess, 'Popen', FakeChild)
    assert heat_options.Reader(['password'], cache_dir=str(tmp_path), write=False).result() == REGISTRY
    assert list(tmp_path.iterdir()) == []
    # A cache that cannot be written is no failure.
    blocked = tmp_path / 'file'
    blocked.write_text('')
    assert heat_options.Reader(['password'], cache_dir=str(blocked / 'sub')).result() == REGISTRY


# --- In the plan: the controller part, the failure and the warnings ---------------------------------

class FakeReader(object):
    def __init__(self, registry):
        self.registry = registry

    def result(self):
        return self.registry


def test_the_controller_part_names_the_overrides_as_the_source():
    from ansible.module_utils import heat_controller
    wanted = dict(settings={'ec2authtoken': {'www_authenticate_uri': 'http://k:5000'},
                            'keystone_authtoken': {'auth_uri': 'http://k:5000'}},
                  overrides={'ec2authtoken': {'www_authenticate_uri': 'http://k:5000'}}, unregistered=[])
    found = heat_controller.options_state(wanted['settings'], wanted, FakeReader(REGISTRY))
    assert found == dict(state='checked', reason='', unknown=[
        '[ec2authtoken] www_authenticate_uri (heat_conf_overrides): not an option of [ec2authtoken]; '
        'www_authenticate_uri is an option of [keystone_authtoken]'], deprecated=[
        '[keystone_authtoken] auth_uri (the role) is deprecated: its name is now [keystone_authtoken] '
        'www_authenticate_uri'])
    assert heat_controller.options_state({}, wanted, None)['state'] == 'unchecked'
    unread = heat_controller.options_state({}, wanted, FakeReader({'failed': ['boom']}))
    assert (unread['state'], unread['reason']) == ('unchecked', 'boom')


def test_unknown_options_fail_the_plan_naming_the_input_deprecated_ones_warn():
    from ansible.module_utils import heat_hints
    options = dict(state='checked', reason='', unknown=['[keystone_authtokn] region_name (heat_conf_overrides): '
                                                        '[keystone_authtokn] is not a section Heat reads'],
                   deprecated=['[DEFAULT] sql_connection (heat_conf_overrides) is deprecated: its name is now '
                               '[database] connection'])
    result = {'controller': {'version': '1:24.0.0-2', 'config': {'state': 'differs', 'options': options}}}
    assert heat_hints.problems(result, {'host': 'controller1'}) == [('config_options', (
        'heat.conf on controller1, for Heat 1:24.0.0-2: [keystone_authtokn] region_name (heat_conf_overrides): '
        '[keystone_authtokn] is not a section Heat reads. Heat ignores options it does not register: correct '
        'heat_conf_overrides, or list in heat_conf_unregistered the section.option a plugin of yours reads.'))]
    assert heat_hints.warnings(result) == [
        'heat.conf: [DEFAULT] sql_connection (heat_conf_overrides) is deprecated: its name is now [database] '
        'connection.']
    # Part of the registry unread: the unknown ones warn instead of failing.
    partial = dict(options, state='partial', reason='oslo.db: ImportError')
    result['controller']['config']['options'] = partial
    assert heat_hints.problems(result, {'host': 'controller1'}) == []
    assert heat_hints.warnings(result)[1].endswith(
        '(not refused: part of the registry did not load: oslo.db: ImportError).')


# --- The role's own options written only where the installed Heat registers them --------------------

def test_own_options_the_installed_heat_no_longer_registers_are_removed_not_refused(tmp_path):
    from ansible.module_utils import heat_controller
    # A Heat 27-like registry: [heat_api] registers none of the listen options.
    registry = dict(REGISTRY, sections=dict(REGISTRY['sections'], heat_api={'heat_api_root': {'removal': False,
                                                                                              'reason': ''}}))
    settings = {'DEFAULT': {'debug': 'true'}, 'heat_api': {'bind_host': '0.0.0.0', 'workers': '2', 'cert_file': None}}
    wanted = dict(settings=settings, overrides={}, unregistered=[], where_registered=['heat_api'])
    conf = tmp_path / 'heat.conf'
    conf.write_text('[DEFAULT]\ndebug = true\n\n[heat_api]\nbind_host = 0.0.0.0\nworkers = 2\n')
    found = heat_controller.config_state(str(conf), dict(wanted, owner=None, group=None, mode=None), settings,
                                         FakeReader(registry))
    assert found['options']['dropped'] == ['heat_api.bind_host', 'heat_api.workers']
    assert found['options']['unknown'] == [] and found['options']['state'] == 'checked'
    assert found['changes'] == ['heat_api.bind_host removed', 'heat_api.workers removed']
    # Where Heat registers them (19, 24), they stay; without a complete registry, nothing is removed.
    kept = heat_controller.config_state(str(conf), dict(wanted, owner=None, group=None, mode=None), settings,
                                        FakeReader(dict(registry, sections=dict(registry['sections'], heat_api={
                                            'bind_host': {'removal': False, 'reason': ''},
                                            'workers': {'removal': False, 'reason': ''}}))))
    assert kept['options']['dropped'] == [] and kept['state'] == 'same'
    assert heat_controller.unregistered_own(settings, wanted, FakeReader(dict(registry, failed=['oslo.db: x']))) == []
    assert heat_controller.unregistered_own(settings, wanted, None) == []
    # An override of the same option is the operator's: refused as unknown, not removed.
    overridden = dict(wanted, overrides={'heat_api': {'workers': '4'}})
    assert heat_controller.unregistered_own(settings, overridden, FakeReader(registry)) == ['heat_api.bind_host']
