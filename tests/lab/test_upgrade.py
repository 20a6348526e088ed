"""Debian 12 to 13 and on to testing under a deployed Heat (molecule `upgrade`, side effect).

Against the converged Debian 12 lab controller (HEAT_LAB_CONTAINER), for
each hop of HOPS (Heat 19 to 24; 24 to 26, 2025.1 to 2026.1, the SLURP
upgrade): keep a stack as the demo user, upgrade the controller the way an
operator does (apt sources to the next release, full-upgrade, Keystone's
own db_sync), re-run site.yml, and check that Heat's db_sync ran once and
was reported changed, that each Heat service restarted at most once
(heat-engine exactly once), that the kept stack is still listed, can be
updated and deleted, and that a second re-run changes nothing.
The tests run in file order, each one a step of the upgrade, hop after hop
(the module-scoped `hop` fixture: pytest runs every test of one hop first).
"""
import collections
import re

import pytest

from labtools import LAB, changed_count, in_controller, playbook, task_changes, task_sections

STACK = 'keptStack'
# A stack user (the handle) holds credentials Heat stored encrypted, and a
# parameter gives the update something to change.
TEMPLATE = '''heat_template_version: 2015-10-15
parameters:
  length: {type: number, default: 8}
resources:
  random: {type: OS::Heat::RandomString, properties: {length: {get_param: length}}}
  handle: {type: OS::Heat::WaitConditionHandle}
outputs:
  value: {value: {get_attr: [random, value]}}
'''
# --no-install-recommends: what trixie newly recommends (a desktop's worth of
# libraries, through python3-networkx and others) is no part of a controller,
# and doubles the upgrade's time here.
APT = ('DEBIAN_FRONTEND=noninteractive apt-get -y -q --no-install-recommends -o Dpkg::Options::=--force-confdef '
       '-o Dpkg::Options::=--force-confold')


def sh(command):
    rc, out = in_controller('set -o nounset -o pipefail -o errexit\n' + command)
    assert rc == 0, out[-4000:]
    return out


def as_demo(command):
    return sh('. /root/demo-openrc.sh\n' + command)


def stack_output(name):
    return as_demo('openstack stack output show %s value -f value -c output_value' % name).strip()


Hop = collections.namedtuple('Hop', 'start suite end')
# The release the controller starts on, the suite it is upgraded to, and
# what /etc/debian_version then starts with (testing's reads forky/sid).
# 13 to testing is the SLURP upgrade, 2025.1 to 2026.1.
HOPS = [Hop('12', 'trixie', '13'), Hop('13', 'forky', 'forky')]


@pytest.fixture(scope='module', params=HOPS, ids=lambda hop: '%s-to-%s' % (hop.start, hop.suite))
def hop(request):
    return request.param


def debian_release():
    return sh('cut -d. -f1 /etc/debian_version').strip()


def test_starts_with_a_kept_stack(hop):
    assert debian_release().startswith(hop.start)
    sh("cat >/root/kept-stack.yml <<'EOF'\n%sEOF" % TEMPLATE)
    as_demo('openstack stack create --wait -t /root/kept-stack.yml --parameter length=8 %s >/dev/null' % STACK)
    assert len(stack_output(STACK)) == 8


def test_operator_upgrades_the_controller(hop):
    # RabbitMQ 3.10 (Debian 12) cannot be upgraded to 4.0 (Debian 13) in
    # place: 4.0 refuses to start on 3.10's data ("required feature flag not
    # enabled: stream_single_active_consumer", a flag 3.10 does not have).
    # Heat keeps nothing in the broker that outlives its services, so the
    # operator empties it and creates the OpenStack user again afterwards.
    # 4.0 to testing's 4.3 keeps its data once every stable flag is on.
    if hop.start == '12':
        sh('systemctl stop rabbitmq-server && rm -rf /var/lib/rabbitmq/mnesia')
    else:
        sh('rabbitmqctl enable_feature_flag all >/dev/null')
    # The apt sources, then the whole system; configuration files the
    # operator changed are kept (confold), as an operator answers apt.
    # (Testing's Release files are valid for a week; the lab's mirror may be older.)
    sh('sed -i "s/%s/%s/g" /etc/apt/sources.list && echo \'Acquire::Check-Valid-Until "false";\' '
       '>/etc/apt/apt.conf.d/99heat-lab-mirror && apt-get update -q >/dev/null'
       % ({'12': 'bookworm', '13': 'trixie'}[hop.start], hop.suite))
    sh('%s full-upgrade >/tmp/full-upgrade.log 2>&1 || { tail -50 /tmp/full-upgrade.log; exit 1; }' % APT)
    assert debian_release().startswith(hop.end)
    if hop.start == '12':
        sh("rabbitmqctl await_startup && rabbitmqctl add_user %s '%s' >/dev/null"
           " && rabbitmqctl set_permissions %s '.*' '.*' '.*'"
           % (LAB['lab_rabbit_user'], LAB['lab_rabbit_password'], LAB['lab_rabbit_user']))
    else:
        sh('rabbitmqctl await_startup')
    # The lab's prepare set two uwsgi processes in keystone-uwsgi.ini, so
    # confold kept the old file; Keystone 30 (testing) has no
    # /usr/bin/keystone-wsgi-public for it to load (every request 500). The
    # operator takes the package's new file and makes the same change again.
    sh('if [ -e /etc/keystone/keystone-uwsgi.ini.dpkg-dist ]; then'
       ' mv /etc/keystone/keystone-uwsgi.ini.dpkg-dist /etc/keystone/keystone-uwsgi.ini'
       ' && sed -i "s/^processes = .*/processes = 2/" /etc/keystone/keystone-uwsgi.ini; fi')
    # Keystone's own schema, then Keystone with its new code.
    sh('runuser -u keystone -- keystone-manage db_sync && systemctl restart keystone')
    sh('for i in $(seq 60); do python3 -c "import urllib.request; urllib.request.urlopen(\'http://controller:5000/v3\')" '
       '2>/dev/null && exit 0; sleep 2; done; exit 1')


def test_site_yml_after_the_upgrade_syncs_once_and_restarts_once(hop):
    run = playbook('site.yml', '--skip-tags', 'verify')
    assert run.rc == 0, run
    # db_sync ran and was reported changed (Heat 19's schema to 24's, 24's to 26's).
    assert re.search(r'TASK \[heat : Populate the Orchestration database[^\n]*\n(?:[^\n]*\n)*?changed: ', run.out), run
    # heat-engine restarts once, for the new schema. The APIs were restarted by
    # their packages with the heat.conf already in place, so the role finds them
    # current and restarts them no more (at most once, had heat.conf changed:
    # on Heat 26 the [heat_api] listen options it no longer registers go).
    assert task_changes(run.out, 'Restart heat-engine') == 1, run
    for task in ('Restart heat-api', 'Restart heat-api-cfn'):
        assert task_changes(run.out, task) <= 1, (task, run)
    # Heat 24's and 26's schemas are under alembic: a revision id.
    version = sh('runuser -u heat -- heat-manage db_version 2>/dev/null | tail -n 1').strip()
    assert re.fullmatch(r'[0-9a-f]{12}', version), version
    # The database was made by Heat 19: utf8mb3 tables (its migrations named
    # the character set) in the utf8mb4 database step 3 made, and its
    # migrate_version in the database's default. The sync made its new tables
    # in the collation of the others (Heat 26's resource_snapshot has a
    # foreign key to snapshot, errno 150 otherwise), and the database has its
    # default back.
    for task in ('Make new tables in the collation of the existing ones for the sync',
                 'Give the database back its default collation'):
        sections = task_sections(run.out, task)
        assert len(sections) == 1 and '\nok: ' in sections[0], (task, run)
    name = LAB.get('heat_db_name', 'heat')
    default = sh("mysql -N -e \"SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '%s'\""
                 % name).strip()
    assert default == 'utf8mb4_general_ci', default
    tables = dict(line.split() for line in sh(
        "mysql -N -e \"SELECT TABLE_NAME, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = '%s'\""
        % name).splitlines())
    assert {collation for table, collation in tables.items() if table != 'migrate_version'} == {'utf8mb3_general_ci'}, tables
    assert hop.end != 'forky' or 'resource_snapshot' in tables, tables


def test_the_kept_stack_survived_and_can_be_updated_and_deleted(hop):
    listed = as_demo('openstack stack list -f value -c "Stack Name" -c "Stack Status"')
    assert '%s CREATE_COMPLETE' % STACK in listed, listed
    as_demo('openstack stack update --wait -t /root/kept-stack.yml --parameter length=12 %s >/dev/null' % STACK)
    status = as_demo('openstack stack show %s -f value -c stack_status' % STACK).strip()
    assert status == 'UPDATE_COMPLETE', status
    assert len(stack_output(STACK)) == 12
    # Deleting removes the stack user Heat created before the upgrade (its
    # credentials were stored encrypted and are read back by the new Heat).
    # (Polled by name, not with --wait: its event polling met a reset
    # connection from the freshly upgraded uwsgi API once here.)
    as_demo('openstack stack delete --yes %s' % STACK)
    as_demo('for i in $(seq 60); do sleep 3; names=$(openstack stack list -f value -c "Stack Name") || continue; '
            'grep -qx %s <<<"$names" || exit 0; done; exit 1' % STACK)
    projects = sh('. /root/admin-openrc.sh && openstack project list --domain heat -f value -c Name')
    assert projects.strip() == '', projects


def test_a_second_run_changes_nothing(hop):
    run = playbook('site.yml')
    assert run.rc == 0, run
    assert changed_count(run.out) == 0, run
