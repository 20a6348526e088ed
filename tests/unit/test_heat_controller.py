"""Unit tests of module_utils/heat_controller.py, through heat_plan's controller
part: each answer the role reads from it, with dpkg and systemctl replaced by
stand-ins and real files, processes and an HTTP server of this machine."""
from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import sys
import threading
import time

import pytest

import heat_plan
from conftest import AnsibleExitJson, AnsibleFailJson
from ansible.module_utils import basic, heat_config, heat_controller


class Commands:
    """run_command's stand-in: answers by the command's first two words."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, args, **kwargs):
        self.calls.append(list(args))
        for prefix, answer in self.answers.items():
            if ' '.join(args).startswith(prefix):
                return answer(args) if callable(answer) else answer
        return 1, '', 'unknown command'


@pytest.fixture
def commands(monkeypatch):
    def install(answers):
        fake = Commands(answers)
        monkeypatch.setattr(basic.AnsibleModule, 'run_command', fake)
        return fake
    monkeypatch.setattr(shutil, 'which', lambda name: '/usr/bin/' + name)
    return install


@pytest.fixture
def probe(module_args):
    def run(**args):
        module_args({'controller': args})
        with pytest.raises(AnsibleExitJson) as exit_:
            heat_plan.main()
        result = exit_.value.args[0]
        return dict(result['controller'], changed=result['changed'])
    return run


DPKG = ('dpkg-query', (0, 'heat-api\tinstalled\t1:24.0.0-2\nheat-engine\tnot-installed\t\n'
                          'heat-common\tinstalled\t1:24.0.0-2\npython3-heat:amd64\tinstalled\t1:24.0.0-2\n', ''))


def test_missing_packages_in_their_order_and_the_version(probe, commands):
    commands(dict([DPKG]))
    result = probe(packages=['heat-engine', 'heat-api', 'heat-api-cfn', 'python3-heat'], version_package='heat-common')
    assert result['missing_packages'] == ['heat-engine', 'heat-api-cfn']
    assert result['version'] == '1:24.0.0-2'
    assert result['changed'] is False


def test_rpm_where_there_is_no_dpkg(probe, commands, monkeypatch):
    fake = commands({'rpm -q': (1, 'openstack-heat-common\t22.0.0-1.el9\n', 'package openstack-heat-api is not installed\n')})
    monkeypatch.setattr(shutil, 'which', lambda name: None)
    result = probe(packages=['openstack-heat-api'], version_package='openstack-heat-common')
    assert result['missing_packages'] == ['openstack-heat-api']
    assert result['version'] == '22.0.0-1.el9'
    assert fake.calls[0][:2] == ['rpm', '-q']


def test_nothing_asked_runs_no_package_command(probe, commands):
    fake = commands({})
    result = probe()
    assert (result['missing_packages'], result['version'], fake.calls) == ([], '', [])


@pytest.fixture
def own_process(commands):
    """systemctl stand-in: unit `up` is this test process (started now), `down` has no process."""
    return commands({
        'systemctl --quiet is-enabled up': (0, '', ''),
        'systemctl --quiet is-enabled down': (1, '', ''),
        'systemctl show --property=MainPID --value up': (0, '%d\n' % os.getpid(), ''),
        'systemctl show --property=MainPID --value down': (0, '0\n', ''),
    })


def test_a_service_running_since_before_its_file_changed_is_stale(probe, own_process, tmp_path):
    old, new = tmp_path / 'old.conf', tmp_path / 'new.conf'
    old.write_text('x')
    new.write_text('y')
    started = heat_controller.process_start(os.getpid())
    os.utime(old, (started - 60, started - 60))
    os.utime(new, (started + 60, started + 60))
    result = probe(services={'current': {'unit': 'up', 'files': [str(old), str(tmp_path / 'missing')]},
                             'stale': {'unit': 'up', 'files': [str(old), str(new)]},
                             'stopped': {'unit': 'down', 'files': [str(new)]}})
    assert result['services'] == {'current': {'enabled': True, 'running': True, 'stale': False},
                                  'stale': {'enabled': True, 'running': True, 'stale': True},
                                  'stopped': {'enabled': False, 'running': False, 'stale': False}}


def test_process_start_is_this_process_start(probe):
    started = heat_controller.process_start(os.getpid())
    assert time.time() - 3600 < started <= time.time()
    assert heat_controller.process_start(2 ** 22 + 1) is None


def test_ec2token_counts_among_the_files_of_the_service_that_says_so(probe, own_process, tmp_path, monkeypatch):
    package = tmp_path / 'heat'
    (package / 'api' / 'aws').mkdir(parents=True)
    (package / '__init__.py').write_text('')
    code = package / 'api' / 'aws' / 'ec2token.py'
    code.write_text("ks_loading.register_auth_conf_options(cfg.CONF, 'ec2authtoken')\n")
    later = heat_controller.process_start(os.getpid()) + 60
    os.utime(code, (later, later))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, 'heat', raising=False)
    result = probe(services={'cfn': {'unit': 'up', 'files': [], 'ec2token': True},
                             'api': {'unit': 'up', 'files': []}})
    assert result['ec2token']['path'] == str(code)
    assert result['ec2token']['keystoneauth'] is True
    assert len(result['ec2token']['sha256']) == 64
    assert (result['services']['cfn']['stale'], result['services']['api']['stale']) == (True, False)


def test_no_heat_no_ec2token(probe, commands, monkeypatch):
    # The test environment has no Heat (it is not among the dependencies).
    commands({})
    monkeypatch.delitem(sys.modules, 'heat', raising=False)
    assert heat_controller.importlib.util.find_spec('heat') is None
    assert probe()['ec2token'] is None


def test_files_described_missing_ones_too(probe, commands, tmp_path):
    commands({})
    present = tmp_path / 'dropin.conf'
    present.write_text('[Service]\n')
    present.chmod(0o640)
    result = probe(files=[str(present), str(tmp_path / 'absent')])
    described = result['files'][str(present)]
    assert described['exists'] is True and described['mode'] == '0640'
    assert described['sha256'] == hashlib.sha256(b'[Service]\n').hexdigest()
    assert result['files'][str(tmp_path / 'absent')] == {'exists': False}


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == '/healthcheck' else 503)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(('127.0.0.1', 0), Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d' % httpd.server_port
    httpd.shutdown()


def test_http_status_of_each_url_and_0_when_nothing_answers(probe, commands, server, tmp_path):
    commands({})
    closed = http.server.HTTPServer(('127.0.0.1', 0), Health)
    port = closed.server_port
    closed.server_close()
    result = probe(http=[{'name': 'api', 'url': server + '/healthcheck'},
                         {'name': 'drained', 'url': server + '/other'},
                         {'name': 'down', 'url': 'http://127.0.0.1:%d/healthcheck' % port},
                         {'name': 'tls', 'url': 'https://127.0.0.1:%d/' % port, 'ca_path': str(tmp_path / 'not-yet.pem')}])
    assert result['http'] == {'api': 200, 'drained': 503, 'down': 0, 'tls': 0}


def test_cpus_are_those_this_process_may_use(probe, commands):
    commands({})
    assert probe()['cpus'] == len(os.sched_getaffinity(0)) >= 1


@pytest.mark.parametrize('args, cause', [
    ({'services': {'engine': {'files': []}}}, 'services: engine must be a mapping with a unit'),
    ({'http': [{'url': 'http://x/'}]}, 'http: each entry needs a name and a url'),
])
def test_malformed_input_is_named(module_args, commands, args, cause):
    commands({})
    module_args({'controller': args})
    with pytest.raises(AnsibleFailJson) as fail:
        heat_plan.main()
    assert cause in fail.value.args[0]['msg']


def test_python_modules_found_or_not():
    """How the plan tells whether keystoneauth1 is installed: located, not imported."""
    found = dict((name, heat_controller.importable(name)) for name in ('json', 'no_such_module_here', 'os.path'))
    assert found == {'json': True, 'no_such_module_here': False, 'os.path': True}


KEY = 'k' * 32


def test_no_encryption_key_asked_none_returned(probe, commands):
    commands({})
    assert probe()['encryption_key'] is None


def test_no_heat_conf_no_deployed_key(probe, commands, tmp_path):
    commands({})
    found = probe(encryption_key=KEY, config=str(tmp_path / 'heat.conf'))['encryption_key']
    assert found == {'deployed': False, 'matches': False}


@pytest.mark.parametrize('deployed, expected', [
    (KEY, {'deployed': True, 'matches': True}),
    ('o' * 32, {'deployed': True, 'matches': False}),
    (None, {'deployed': False, 'matches': False}),
])
def test_deployed_encryption_key_compared_never_returned(probe, commands, tmp_path, monkeypatch, deployed, expected):
    commands({})
    conf = tmp_path / 'heat.conf'
    conf.write_text('[DEFAULT]\n')
    monkeypatch.setattr(heat_config, 'read_config', lambda path: (deployed, 'mysql+pymysql://heat:secret@db/heat'))
    result = probe(encryption_key=KEY, config=str(conf))
    assert result['encryption_key'] == expected
    assert KEY not in repr(result) and 'o' * 32 not in repr(result) and 'secret' not in repr(result)


def test_unreadable_heat_conf_is_named(module_args, commands, tmp_path, monkeypatch):
    commands({})
    conf = tmp_path / 'heat.conf'
    conf.write_text('[DEFAULT\n')

    def broken(path):
        raise RuntimeError('parse error')

    monkeypatch.setattr(heat_config, 'read_config', broken)
    module_args({'controller': {'encryption_key': KEY, 'config': str(conf)}})
    with pytest.raises(AnsibleFailJson) as fail:
        heat_plan.main()
    assert fail.value.args[0]['msg'] == 'config: cannot read %s with oslo.config: parse error' % conf


# --- heat.conf and the other files the role writes, against what it would write ---------------

PASSWORD = 'pa$$word-in-heat.conf'
# Where Heat is not installed (as here), the options are not looked up.
UNCHECKED = {'state': 'unchecked', 'reason': 'Heat is not installed yet', 'unknown': [], 'deprecated': [], 'dropped': []}


def conf_wanted(path, **extra):
    wanted = dict(settings={'DEFAULT': {'debug': 'false', 'use_stderr': None},
                            'keystone_authtoken': {'password': PASSWORD, 'auth_type': 'password'}},
                  owner=None, group=None, mode='0640')
    wanted.update(extra)
    return dict(config=str(path), config_wanted=wanted)


def whole_result(module_args, **args):
    module_args({'controller': args})
    with pytest.raises(AnsibleExitJson) as exit_:
        heat_plan.main()
    return exit_.value.args[0]


def test_heat_conf_as_wanted_is_the_same(probe, commands, tmp_path):
    commands({})
    conf = tmp_path / 'heat.conf'
    conf.write_text('[DEFAULT]\n#debug = true\ndebug = false\n\n[keystone_authtoken]\nauth_type = password\n'
                    'password = %s\n' % PASSWORD)
    conf.chmod(0o640)
    assert probe(**conf_wanted(conf))['config'] == {'state': 'same', 'changes': [], 'options': UNCHECKED}


def test_heat_conf_differences_named_by_key_never_by_value(module_args, commands, tmp_path):
    commands({})
    conf = tmp_path / 'heat.conf'
    conf.write_text('[DEFAULT]\ndebug = true\nuse_stderr = true\n\n[keystone_authtoken]\npassword = old-one\n')
    conf.chmod(0o644)
    result = whole_result(module_args, **conf_wanted(conf))
    assert result['controller']['config'] == {'state': 'differs', 'changes': [
        'DEFAULT.debug updated', 'DEFAULT.use_stderr removed', 'keystone_authtoken.password updated',
        'keystone_authtoken.auth_type added', 'owner, group or mode'], 'options': UNCHECKED}
    assert PASSWORD not in repr(result) and 'old-one' not in repr(result)
    assert conf.read_text().startswith('[DEFAULT]\ndebug = true\n')     # only read


def test_a_missing_heat_conf_differs(probe, commands, tmp_path):
    commands({})
    assert probe(**conf_wanted(tmp_path / 'heat.conf'))['config']['state'] == 'differs'


@pytest.mark.parametrize('code, form', [
    ("ks_loading.register_auth_conf_options(cfg.CONF, 'ec2authtoken')\n", 'keystoneauth'),
    ('# Heat 19\n', 'legacy'),
])
def test_ec2authtoken_follows_the_installed_code(probe, commands, tmp_path, monkeypatch, code, form):
    commands({})
    package = tmp_path / 'heat'
    (package / 'api' / 'aws').mkdir(parents=True)
    (package / '__init__.py').write_text('')
    (package / 'api' / 'aws' / 'ec2token.py').write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, 'heat', raising=False)
    conf = tmp_path / 'heat.conf'
    conf.write_text('[DEFAULT]\ndebug = false\n\n[keystone_authtoken]\nauth_type = password\npassword = %s\n\n'
                    '[ec2authtoken]\nauth_uri = http://keystone:5000/v3\n' % PASSWORD)
    conf.chmod(0o640)
    forms = {'legacy': {'auth_uri': 'http://keystone:5000/v3', 'auth_type': None},
             'keystoneauth': {'auth_uri': None, 'auth_type': 'password'}}
    found = probe(**conf_wanted(conf, ec2authtoken=forms))['config']
    # This Heat has no entry points: its options are not looked up.
    assert found.pop('options')['state'] == 'unchecked'
    assert found == ({'state': 'same', 'changes': []} if form == 'legacy' else
                     {'state': 'differs', 'changes': ['ec2authtoken.auth_uri removed', 'ec2authtoken.auth_type added']})


def test_heat_conf_unknown_without_iniparse_or_unparseable(probe, commands, tmp_path, monkeypatch):
    commands({})
    conf = tmp_path / 'heat.conf'
    conf.write_text('password = %s\n' % PASSWORD)
    found = probe(**conf_wanted(conf))['config']
    assert found['state'] == 'unknown' and 'line 1 (content not shown' in found['reason']
    monkeypatch.setattr(heat_controller.ini_file, 'HAS_INIPARSE', False)
    assert probe(**conf_wanted(conf))['config'] == {'state': 'unknown', 'reason': 'iniparse is not installed',
                                                    'changes': [], 'options': UNCHECKED}


def test_managed_files_compared_by_content_owner_group_and_mode(module_args, commands, tmp_path):
    commands({})
    same = tmp_path / 'same'
    same.write_text('DAEMON_ARGS="--processes 2"\n')
    same.chmod(0o644)
    other_mode = tmp_path / 'mode'
    other_mode.write_text('x\n')
    other_mode.chmod(0o600)
    key = tmp_path / 'key.pem'
    key.write_text('-----BEGIN PRIVATE KEY-----\nold\n')
    wanted_key = '-----BEGIN PRIVATE KEY-----\nnew-secret\n-----END PRIVATE KEY-----\n'
    import grp as group_db
    import pwd as user_db
    me = user_db.getpwuid(os.getuid()).pw_name
    my_group = group_db.getgrgid(os.getgid()).gr_name
    result = whole_result(module_args, managed=[
        {'path': str(same), 'content': 'DAEMON_ARGS="--processes 2"\n', 'owner': me, 'group': my_group, 'mode': '0644'},
        {'path': str(other_mode), 'content': 'x\n', 'mode': '0644'},
        {'path': str(key), 'content': wanted_key, 'mode': '0640'},
        {'path': str(tmp_path / 'absent'), 'content': 'y\n'},
        {'path': str(same), 'content': 'DAEMON_ARGS="--processes 2"\n', 'owner': 'nobody-such-user'},
    ])
    assert result['controller']['managed_differ'] == [str(other_mode), str(key), str(tmp_path / 'absent'), str(same)]
    assert 'new-secret' not in repr(result)


def test_files_to_remove_differ_while_they_exist(module_args, commands, tmp_path):
    commands({})
    there = tmp_path / 'heat-purge-deleted.timer'
    there.write_text('[Timer]\n')
    result = whole_result(module_args, managed=[{'path': str(there), 'state': 'absent'},
                                                {'path': str(tmp_path / 'gone.service'), 'state': 'absent'}])
    assert result['controller']['managed_differ'] == [str(there)]


def test_a_file_to_write_needs_its_content(module_args, commands):
    commands({})
    module_args({'controller': {'managed': [{'path': '/etc/x.timer'}]}})
    with pytest.raises(AnsibleFailJson) as failed:
        heat_plan.main()
    assert failed.value.args[0]['msg'] == 'managed: /etc/x.timer needs a content'


@pytest.mark.parametrize('answer, state', [
    ((0, 'UnitFileState=enabled\nActiveState=active\n', ''), {'enabled': True, 'active': True}),
    ((0, 'UnitFileState=disabled\nActiveState=inactive\n', ''), {'enabled': False, 'active': False}),
    ((1, '', 'Unit heat-purge-deleted.timer could not be found.'), {'enabled': False, 'active': False}),
])
def test_timers_enabled_and_active(probe, commands, answer, state):
    commands({'systemctl show --property=UnitFileState': answer})
    assert probe(timers=['heat-purge-deleted.timer'])['timers'] == {'heat-purge-deleted.timer': state}
