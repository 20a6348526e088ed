"""The purge of deleted stacks (tasks/housekeeping.yml): a timer on the controller,
whose service removes from Heat's database the stacks deleted more than the age
given, and nothing else; changing the age restarts no Heat service."""
import re

from labtools import delete_stack, heat_start_times, in_controller, playbook

EMPTY_TEMPLATE = 'heat_template_version: 2015-10-15\nresources: {}\n'


def sql(query):
    rc, out = in_controller('mysql -N -e "%s" heat' % query)
    assert rc == 0, out
    return out.strip()


def purge_exec():
    rc, out = in_controller('systemctl cat heat-purge-deleted.service | grep ^ExecStart=')
    assert rc == 0, out
    return out.strip()


def test_the_purge_timer_runs_at_boot_with_the_default_age():
    rc, out = in_controller('systemctl is-enabled heat-purge-deleted.timer && systemctl is-active heat-purge-deleted.timer')
    assert rc == 0 and out.split() == ['enabled', 'active'], out
    assert purge_exec() == 'ExecStart=/usr/bin/heat-manage purge_deleted -g days 30'
    rc, out = in_controller('systemctl list-timers heat-purge-deleted.timer --no-legend')
    assert rc == 0 and 'heat-purge-deleted.timer' in out, out


def test_a_stack_deleted_longer_ago_than_the_age_is_purged():
    rc, out = in_controller("cat > /root/empty-stack.yml <<'EOF'\n%sEOF\n"
                            '. /root/demo-openrc.sh && openstack stack create --wait -t /root/empty-stack.yml purgeStack'
                            % EMPTY_TEMPLATE)
    assert rc == 0, out
    rc, out = delete_stack('purgeStack')
    assert rc == 0, out
    # Deleted, but kept in the database (Heat's soft delete).
    assert sql("SELECT COUNT(*) FROM stack WHERE name='purgeStack' AND deleted_at IS NOT NULL") == '1'
    kept = sql('SELECT COUNT(*) FROM stack WHERE deleted_at IS NULL')
    before = heat_start_times()
    try:
        run = playbook('playbooks/heat.yml', '--tags', 'heat-housekeeping',
                       extra={'heat_purge_deleted_age': 1, 'heat_purge_deleted_age_unit': 'seconds'})
        assert run.rc == 0, run
        assert re.search(r'lab-controller\s*:\s*ok=\d+\s+changed=[1-9]', run.out), run
        assert purge_exec() == 'ExecStart=/usr/bin/heat-manage purge_deleted -g seconds 1'
        assert heat_start_times() == before, 'a Heat service was restarted for the purge'
        # What the timer starts, now rather than at its next calendar time.
        rc, out = in_controller('sleep 2; systemctl start heat-purge-deleted.service')
        assert rc == 0, out
        assert sql("SELECT COUNT(*) FROM stack WHERE name='purgeStack'") == '0'
        assert sql('SELECT COUNT(*) FROM stack WHERE deleted_at IS NULL') == kept
    finally:
        run = playbook('playbooks/heat.yml', '--tags', 'heat-housekeeping')
        assert run.rc == 0, run
    assert purge_exec() == 'ExecStart=/usr/bin/heat-manage purge_deleted -g days 30'
    run = playbook('playbooks/heat.yml', '--tags', 'heat-housekeeping')
    assert run.rc == 0 and re.search(r'lab-controller\s*:\s*ok=\d+\s+changed=0', run.out), run
