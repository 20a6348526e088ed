"""Unit tests of library/ini_settings.py against a realistic heat.conf."""
from __future__ import annotations

import errno
import os
import stat

import pytest
from ansible.module_utils import basic

import ini_settings
from ansible.module_utils import ini_file
from conftest import AnsibleExitJson, AnsibleFailJson

# Shaped like the heat.conf that oslo-config-generator ships: commented-out
# defaults, a real [DEFAULT] header, a secret already in place.
HEAT_CONF = """\
[DEFAULT]

#
# From heat.common.config
#

# Name of the engine node. (string value)
#host = <None>

# Enable debug logging (boolean value)
#debug = false

[database]
# The SQLAlchemy connection string (string value)
#connection = <None>
connection = mysql+pymysql://heat:OLD_DB_PW@controller/heat

[keystone_authtoken]
# Complete public Identity API endpoint (string value)
#www_authenticate_uri = <None>
www_authenticate_uri = http://controller:5000
auth_type = password
memcached_servers = controller:11211

[trustee]
auth_type = password
"""

DB_PW = 'NEW_DB_PW_9f3a'
RABBIT_PW = 'RABBIT_PW_71c2'
KS_PW = 'KS_PW_c0ffee'
ENC_KEY = 'ENC_KEY_0123456789abcdef'


@pytest.fixture
def conf(tmp_path):
    path = tmp_path / 'heat.conf'
    path.write_text(HEAT_CONF)
    os.chmod(path, 0o644)
    return path


def run(module_args, **args):
    module_args(args)
    with pytest.raises(AnsibleExitJson) as exc:
        ini_settings.main()
    return exc.value.args[0]


def fail(module_args, **args):
    module_args(args)
    with pytest.raises(AnsibleFailJson) as exc:
        ini_settings.main()
    return exc.value.args[0]


def section_of(text, key_line):
    """The [section] a line belongs to."""
    current = None
    for line in text.splitlines():
        if line.startswith('['):
            current = line
        if line == key_line:
            return current
    raise AssertionError('%r not in file' % key_line)


# --- editing -----------------------------------------------------------------

def test_add_update_remove_keep_comments_untouched_keys_and_order(module_args, conf):
    result = run(module_args, path=str(conf), settings={
        'keystone_authtoken': {
            'www_authenticate_uri': 'https://keystone:5000',   # updated
            'memcached_servers': None,                         # removed
            'project_name': 'service',                         # added
        },
    })

    assert result['changed'] is True
    assert conf.read_text() == HEAT_CONF.replace(
        'www_authenticate_uri = http://controller:5000\nauth_type = password\n'
        'memcached_servers = controller:11211\n',
        'www_authenticate_uri = https://keystone:5000\nauth_type = password\n'
        'project_name = service\n')
    assert result['changes'] == [
        {'section': 'keystone_authtoken', 'key': 'www_authenticate_uri', 'action': 'updated',
         'value': 'https://keystone:5000'},
        {'section': 'keystone_authtoken', 'key': 'memcached_servers', 'action': 'removed', 'value': None},
        {'section': 'keystone_authtoken', 'key': 'project_name', 'action': 'added', 'value': 'service'},
    ]
    assert result['path'] == str(conf)


def test_new_section_is_appended_with_one_blank_line(module_args, conf):
    run(module_args, path=str(conf), settings={'clients_keystone': {'auth_uri': 'http://controller:5000'}})

    assert conf.read_text() == HEAT_CONF + '\n[clients_keystone]\nauth_uri = http://controller:5000\n'


def test_default_key_goes_under_existing_default_header(module_args, conf):
    result = run(module_args, path=str(conf), settings={'DEFAULT': {'debug': True}})

    text = conf.read_text()
    assert result['changes'] == [{'section': 'DEFAULT', 'key': 'debug', 'action': 'added', 'value': 'true'}]
    assert text.count('[DEFAULT]') == 1
    assert section_of(text, 'debug = true') == '[DEFAULT]'
    assert '#debug = false' in text                      # the commented default stays
    assert text.count('debug = true') == 1
    # Only the one line was added, everything else byte for byte as before.
    lines = text.splitlines()
    lines.remove('debug = true')
    assert '\n'.join(lines) + '\n' == HEAT_CONF


def test_default_values_do_not_leak_into_other_sections(module_args, tmp_path):
    path = tmp_path / 'heat.conf'
    original = '[DEFAULT]\ndebug = true\n\n[database]\nmax_retries = 10\n'
    path.write_text(original)

    # Removing database.debug must not see (or remove) DEFAULT's debug.
    result = run(module_args, path=str(path), settings={'database': {'debug': None}})
    assert result['changed'] is False
    assert path.read_text() == original

    # Setting database.debug must add it to [database], not find it "already set".
    result = run(module_args, path=str(path), settings={'database': {'debug': True}})
    assert result['changes'] == [{'section': 'database', 'key': 'debug', 'action': 'added', 'value': 'true'}]
    assert path.read_text() == original + 'debug = true\n'


def test_default_header_created_when_file_has_none(module_args, tmp_path):
    path = tmp_path / 'heat.conf'
    path.write_text('# managed by ansible\n[database]\nmax_retries = 10\n')

    run(module_args, path=str(path), settings={'DEFAULT': {'debug': False}})

    assert path.read_text() == ('# managed by ansible\n[DEFAULT]\ndebug = false\n\n'
                                '[database]\nmax_retries = 10\n')


def test_scalars_are_written_as_oslo_config_strings(module_args, conf):
    settings = {'DEFAULT': {'debug': True, 'use_stderr': False, 'num_engine_workers': 4,
                            'client_retry_limit': 2.5, 'host': ' heat01 '}}
    run(module_args, path=str(conf), settings=settings)

    text = conf.read_text()
    for line in ('debug = true', 'use_stderr = false', 'num_engine_workers = 4',
                 'client_retry_limit = 2.5', 'host = heat01'):
        assert section_of(text, line) == '[DEFAULT]'

    # Same values again: the strings compare equal, nothing changes.
    assert run(module_args, path=str(conf), settings=settings)['changed'] is False


def test_key_starting_with_rem_is_an_option_not_a_comment(module_args, tmp_path):
    # iniparse by default reads lines starting with "rem" as comments.
    path = tmp_path / 'heat.conf'
    path.write_text('[DEFAULT]\nremote_debug = false\n')

    result = run(module_args, path=str(path), settings={'DEFAULT': {'remote_debug': True}})

    assert result['changes'][0]['action'] == 'updated'
    assert path.read_text() == '[DEFAULT]\nremote_debug = true\n'


def test_removing_absent_key_or_section_is_no_change(module_args, conf):
    result = run(module_args, path=str(conf), settings={
        'keystone_authtoken': {'password': None}, 'no_such_section': {'x': None}})

    assert result['changed'] is False
    assert result['changes'] == []
    assert conf.read_text() == HEAT_CONF


# --- idempotence and check mode -------------------------------------------------

def test_second_call_changes_nothing(module_args, conf):
    settings = {
        'DEFAULT': {'debug': True, 'transport_url': 'rabbit://openstack:%s@controller' % RABBIT_PW},
        'database': {'connection': 'mysql+pymysql://heat:%s@controller/heat' % DB_PW},
        'keystone_authtoken': {'memcached_servers': None, 'auth_type': 'password'},
    }
    assert run(module_args, path=str(conf), settings=settings)['changed'] is True
    first = conf.read_bytes()
    mtime = os.stat(conf).st_mtime_ns

    result = run(module_args, path=str(conf), settings=settings)

    assert result['changed'] is False
    assert result['changes'] == []
    assert conf.read_bytes() == first
    assert os.stat(conf).st_mtime_ns == mtime      # not even rewritten


def test_check_mode_reports_but_writes_nothing(module_args, conf, tmp_path):
    mtime = os.stat(conf).st_mtime_ns
    result = run(module_args, path=str(conf), mode='0600', _ansible_check_mode=True,
                 settings={'DEFAULT': {'debug': True}})

    assert result['changed'] is True
    assert result['changes'] == [{'section': 'DEFAULT', 'key': 'debug', 'action': 'added', 'value': 'true'}]
    assert conf.read_text() == HEAT_CONF
    assert os.stat(conf).st_mtime_ns == mtime
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o644
    assert os.listdir(tmp_path) == ['heat.conf']

    missing = tmp_path / 'new.conf'
    result = run(module_args, path=str(missing), _ansible_check_mode=True,
                 settings={'DEFAULT': {'debug': True}})
    assert result['changed'] is True
    assert not missing.exists()


# --- diff and secrets -------------------------------------------------------------

def test_diff_lists_only_changed_keys_with_secrets_masked(module_args, conf):
    result = run(module_args, path=str(conf), _ansible_diff=True, settings={
        'DEFAULT': {'debug': True},
        'database': {'connection': 'mysql+pymysql://heat:%s@controller/heat' % DB_PW},
        'keystone_authtoken': {'auth_type': 'password', 'memcached_servers': None,
                               'password': KS_PW},
    })

    assert result['diff'] == {
        'before': ('[DEFAULT]\n'
                   '\n[database]\nconnection = ********\n'
                   '\n[keystone_authtoken]\nmemcached_servers = controller:11211\n'),
        'after': ('[DEFAULT]\ndebug = true\n'
                  '\n[database]\nconnection = ********\n'
                  '\n[keystone_authtoken]\npassword = ********\n'),
        'before_header': str(conf),
        'after_header': str(conf),
    }


def test_no_diff_unless_asked(module_args, conf):
    result = run(module_args, path=str(conf), settings={'DEFAULT': {'debug': True}})
    assert 'diff' not in result


def test_diff_shows_mode_change(module_args, conf):
    result = run(module_args, path=str(conf), mode='0640', _ansible_diff=True,
                 settings={'DEFAULT': {'debug': True}})

    assert result['diff']['before'].startswith('# mode: 0644\n')
    assert result['diff']['after'].startswith('# mode: 0640\n')


AUTO_SECRETS = {
    'DEFAULT': {
        'transport_url': 'rabbit://openstack:%s@controller' % RABBIT_PW,
        'auth_encryption_key': ENC_KEY,
        'stack_domain_admin_password': 'DOMAIN_ADMIN_PW_55',
    },
    'database': {'connection': 'mysql+pymysql://heat:%s@controller/heat' % DB_PW},
    'keystone_authtoken': {'password': KS_PW, 'memcache_secret_key': 'MEMCACHE_SECRET_77'},
}
AUTO_SECRET_VALUES = [RABBIT_PW, ENC_KEY, 'DOMAIN_ADMIN_PW_55', DB_PW, KS_PW, 'MEMCACHE_SECRET_77']


def test_auto_detected_secrets_never_in_result(module_args, conf):
    result = run(module_args, path=str(conf), _ansible_diff=True,
                 settings=dict(AUTO_SECRETS, trustee={'username': 'heat'}))

    text = str(result)
    for value in AUTO_SECRET_VALUES + ['OLD_DB_PW']:
        assert value not in text
    # The result is not simply empty: non-secrets are shown, secrets are masked.
    assert result['invocation']['module_args']['settings']['trustee'] == {'username': 'heat'}
    assert {c['value'] for c in result['changes'] if c['key'] != 'username'} == {'********'}
    # ... and the file really got them.
    written = conf.read_text()
    for value in AUTO_SECRET_VALUES:
        assert value in written


def test_secrets_masked_in_check_mode_and_on_second_run(module_args, conf):
    for check_mode in (True, False, False):
        result = run(module_args, path=str(conf), _ansible_diff=True,
                     _ansible_check_mode=check_mode, settings=AUTO_SECRETS)
        text = str(result)
        for value in AUTO_SECRET_VALUES:
            assert value not in text
    assert result['changed'] is False


def test_secret_keys_option_masks_extra_keys(module_args, conf):
    settings = {'ec2authtoken': {'signing_blob': 'BLOB_SECRET_1'},
                'DEFAULT': {'region_name_for_services': 'OPAQUE_TOKEN_2'}}

    # Control: the names are not secret-looking, so without secret_keys the values show.
    control = str(run(module_args, path=str(conf), _ansible_check_mode=True, _ansible_diff=True,
                      settings=settings))
    assert 'BLOB_SECRET_1' in control and 'OPAQUE_TOKEN_2' in control

    result = run(module_args, path=str(conf), _ansible_diff=True, settings=settings,
                 secret_keys=['ec2authtoken.signing_blob', 'region_name_for_services'])

    text = str(result)
    assert 'BLOB_SECRET_1' not in text
    assert 'OPAQUE_TOKEN_2' not in text
    assert 'signing_blob = ********' in result['diff']['after']
    assert 'region_name_for_services = ********' in result['diff']['after']


def test_secret_keys_section_form_is_section_specific(module_args, conf):
    result = run(module_args, path=str(conf), settings={
        'ec2authtoken': {'blob': 'MASKED_ONE'}, 'trustee': {'blob': 'SHOWN_ONE'}},
        secret_keys=['ec2authtoken.blob'])

    text = str(result)
    assert 'MASKED_ONE' not in text
    assert 'SHOWN_ONE' in text


def test_secret_masked_in_failure_result(module_args, conf):
    result = fail(module_args, path=str(conf), settings={
        'keystone_authtoken': {'password': KS_PW, 'memcached_servers': ['a:11211', 'b:11211']}})

    assert KS_PW not in str(result)
    assert 'memcached_servers' in result['msg']


# --- refusals and errors ------------------------------------------------------------

def test_non_scalar_value_refused_before_file_is_touched(module_args, conf, mocker):
    opened = mocker.spy(ini_settings, 'parse_ini')
    mtime = os.stat(conf).st_mtime_ns

    result = fail(module_args, path=str(conf), settings={
        'DEFAULT': {'debug': True},
        'keystone_authtoken': {'memcached_servers': ['controller:11211']},
    })

    assert result['msg'] == ('settings.keystone_authtoken.memcached_servers: value must be a scalar '
                             '(string, number, boolean) or null, got list')
    assert opened.call_count == 0
    assert conf.read_text() == HEAT_CONF
    assert os.stat(conf).st_mtime_ns == mtime


@pytest.mark.parametrize('settings, msg', [
    ({'DEFAULT': {'opts': {'a': 1}}},
     'settings.DEFAULT.opts: value must be a scalar (string, number, boolean) or null, got dict'),
    ({'database': 'connection=x'},
     'settings.database: section must be a mapping of key: value, got str'),
    ({'database': None},
     'settings.database: section must be a mapping of key: value, got NoneType'),
    ({'DEFAULT': {'banner': 'line1\nline2'}},
     'settings.DEFAULT.banner: value must be a single line'),
    ({'DEFAULT': {'a=b': 'x'}}, 'settings.DEFAULT.a=b: invalid key name'),
    ({'bad]name': {'a': 'x'}}, 'settings.bad]name: invalid section name'),
])
def test_invalid_settings_refused(module_args, conf, settings, msg):
    result = fail(module_args, path=str(conf), settings=settings)

    assert result['msg'].startswith(msg)
    assert conf.read_text() == HEAT_CONF


def test_value_that_would_not_read_back_is_refused(module_args, conf):
    result = fail(module_args, path=str(conf), settings={'DEFAULT': {'host': 'a ;b'}})

    assert 'settings.DEFAULT.host would not read back' in result['msg']
    assert conf.read_text() == HEAT_CONF


def test_unreadable_file(module_args, conf, mocker):
    # Tests run as root, for whom chmod 000 is no barrier: make open() say what
    # the kernel says to an unprivileged user.
    mocker.patch.object(ini_file, 'open', create=True,
                        side_effect=PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(conf)))

    result = fail(module_args, path=str(conf), settings={'DEFAULT': {'debug': True}})

    assert result['msg'] == 'cannot read %s: Permission denied' % conf


def test_unparseable_file_names_the_line(module_args, tmp_path):
    path = tmp_path / 'heat.conf'
    original = '[DEFAULT]\ndebug = true\nthis line is junk\n[database]\npassword PW_IN_BAD_LINE\n'
    path.write_text(original)

    result = fail(module_args, path=str(path), settings={'DEFAULT': {'debug': False}})

    assert result['msg'].startswith('cannot parse %s: line 3: ' % path)
    assert "'this line is junk'" in result['msg']
    assert 'line 5 (content not shown' in result['msg']
    assert 'PW_IN_BAD_LINE' not in str(result)
    assert path.read_text() == original


def test_option_before_first_section_is_a_parse_error(module_args, tmp_path):
    path = tmp_path / 'heat.conf'
    path.write_text('# heat\ndebug = true\n[DEFAULT]\n')

    result = fail(module_args, path=str(path), settings={'DEFAULT': {'debug': False}})

    assert result['msg'] == ("cannot parse %s: line 2: 'debug = true': key = value line before "
                             "the first [section] header" % path)


def test_create_false_and_missing_file_fails(module_args, tmp_path):
    path = tmp_path / 'heat.conf'

    result = fail(module_args, path=str(path), create=False, settings={'DEFAULT': {'debug': True}})

    assert result['msg'] == 'cannot edit %s: the file does not exist and create is false' % path
    assert not path.exists()


def test_missing_file_is_created_with_mode(module_args, tmp_path):
    path = tmp_path / 'heat.conf'

    result = run(module_args, path=str(path), mode='0640',
                 settings={'DEFAULT': {'debug': True}, 'database': {'connection': 'sqlite://'}})

    assert result['changed'] is True
    assert path.read_text() == '[DEFAULT]\ndebug = true\n\n[database]\nconnection = sqlite://\n'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_new_file_without_mode_follows_umask(module_args, tmp_path):
    path = tmp_path / 'heat.conf'
    old = os.umask(0o027)
    try:
        run(module_args, path=str(path), settings={'DEFAULT': {'debug': True}})
    finally:
        os.umask(old)

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_missing_iniparse_names_the_packages(module_args, conf, monkeypatch):
    monkeypatch.setattr(ini_settings, 'HAS_INIPARSE', False)
    monkeypatch.setattr(ini_settings, 'INIPARSE_IMPORT_ERROR', 'ImportError: iniparse')

    result = fail(module_args, path=str(conf), settings={'DEFAULT': {'debug': True}})

    assert 'Failed to import the required Python library (iniparse)' in result['msg']
    assert 'Debian/Ubuntu package python3-iniparse' in result['msg']
    assert 'RHEL package python3-iniparse' in result['msg']


# --- file attributes ---------------------------------------------------------------

def test_mode_change_alone_is_a_change(module_args, conf):
    settings = {'keystone_authtoken': {'auth_type': 'password'}}    # already so

    result = run(module_args, path=str(conf), mode='0640', settings=settings)
    assert result['changed'] is True
    assert result['changes'] == []
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o640
    assert conf.read_text() == HEAT_CONF

    assert run(module_args, path=str(conf), mode='0640', settings=settings)['changed'] is False


def test_existing_mode_kept_when_not_given(module_args, conf):
    os.chmod(conf, 0o600)

    run(module_args, path=str(conf), settings={'DEFAULT': {'debug': True}})

    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o600


def test_symlink_target_is_edited_and_link_kept(module_args, conf, tmp_path):
    link = tmp_path / 'link.conf'
    link.symlink_to(conf)

    run(module_args, path=str(link), settings={'DEFAULT': {'debug': True}})

    assert link.is_symlink()
    assert 'debug = true' in conf.read_text()


# --- atomic write --------------------------------------------------------------------

def test_writes_through_atomic_move_of_temp_file_in_same_directory(module_args, conf, tmp_path, mocker):
    seen = {}
    real_move = basic.AnsibleModule.atomic_move

    def observe(self, src, dest, *args, **kwargs):
        seen['src'], seen['dest'] = src, dest
        with open(src) as f:
            seen['content'] = f.read()
        seen['original_at_move'] = conf.read_text()
        return real_move(self, src, dest, *args, **kwargs)

    mocker.patch.object(basic.AnsibleModule, 'atomic_move', autospec=True, side_effect=observe)

    run(module_args, path=str(conf), settings={'DEFAULT': {'debug': True}})

    assert os.path.dirname(seen['src']) == str(tmp_path)
    assert seen['src'] != str(conf)
    assert seen['dest'] == str(conf)
    assert 'debug = true' in seen['content']
    assert seen['original_at_move'] == HEAT_CONF    # the real file untouched until the move
    assert conf.read_text() == seen['content']
    assert sorted(os.listdir(tmp_path)) == ['heat.conf']


@pytest.mark.parametrize('broken', ['atomic_move', 'fsync'])
def test_failed_write_leaves_original_intact(module_args, conf, tmp_path, mocker, broken):
    if broken == 'atomic_move':
        mocker.patch.object(basic.AnsibleModule, 'atomic_move',
                            side_effect=OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    else:
        mocker.patch.object(ini_settings.os, 'fsync',
                            side_effect=OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))

    result = fail(module_args, path=str(conf), settings={'DEFAULT': {'debug': True}})

    assert result['msg'] == 'cannot write %s: No space left on device' % conf
    assert conf.read_text() == HEAT_CONF
    assert sorted(os.listdir(tmp_path)) == ['heat.conf']     # no temp file left behind


def test_new_file_is_private_until_mode_is_applied(module_args, tmp_path, mocker):
    # With umask 022 atomic_move alone would create it 0644: readable by all,
    # with passwords in it, until the mode is set.
    path = tmp_path / 'heat.conf'
    seen = []
    real = basic.AnsibleModule.set_fs_attributes_if_different

    def observe(self, file_args, changed, *args, **kwargs):
        seen.append(stat.S_IMODE(os.stat(path).st_mode))
        return real(self, file_args, changed, *args, **kwargs)

    mocker.patch.object(basic.AnsibleModule, 'set_fs_attributes_if_different', autospec=True,
                        side_effect=observe)
    old = os.umask(0o022)
    try:
        run(module_args, path=str(path), mode='0640', settings={'database': {'connection': 'x://u:p@h'}})
    finally:
        os.umask(old)

    assert seen == [0o600]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
