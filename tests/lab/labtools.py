"""Tools for tests that run the project's playbooks against the lab controller.

The lab controller is the podman container `lab-controller` that molecule's
default scenario creates and prepares; inventory/lab reaches it directly.
Under molecule (its verifier and side effects), the playbook runs reach it
over SSH with pipelining, as Ansible reaches a real controller: the
scenario's dependency step wrote an ssh config and key into molecule's
ephemeral directory (scripts/lab-ssh.sh), and a second inventory here sets
the connection of inventory/lab's host to it. Shell checks (in_controller)
stay one `podman exec` each.
"""
import os
import re
import subprocess
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# HEAT_LAB_CONTAINER: another container to run the same tests against (a scratch lab).
CONTAINER = os.environ.get('HEAT_LAB_CONTAINER', 'lab-controller')
LAB = yaml.safe_load((ROOT / 'inventory/lab/group_vars/all/lab.yml').read_text())
SECRET_NAMES = [
    'lab_admin_password', 'lab_demo_password', 'lab_rabbit_password',
    'heat_db_password', 'heat_keystone_password', 'heat_domain_admin_password',
    'heat_auth_encryption_key',
]


# The lab's ssh config (scripts/lab-ssh.sh): HEAT_LAB_SSH_CONFIG, or the one
# of the molecule scenario running the tests. HEAT_LAB_SSH_CONFIG= (empty)
# keeps inventory/lab's podman connection.
_EPHEMERAL = os.environ.get('MOLECULE_EPHEMERAL_DIRECTORY')
SSH_CONFIG = os.environ.get('HEAT_LAB_SSH_CONFIG', str(Path(_EPHEMERAL) / 'ssh/config') if _EPHEMERAL else '')


def ssh_inventory():
    """A second inventory giving inventory/lab's host an SSH connection to
    CONTAINER, or None when no ssh config names it (podman exec then)."""
    config = Path(SSH_CONFIG) if SSH_CONFIG else None
    if config is None or not config.is_file() or 'Host %s\n' % CONTAINER not in config.read_text():
        return None
    path = config.parent / ('inventory-%s.yml' % CONTAINER)
    host = {'ansible_connection': 'ansible.builtin.ssh', 'ansible_host': CONTAINER, 'ansible_user': 'root',
            'ansible_ssh_common_args': '-F %s' % config}
    text = yaml.safe_dump({'controller': {'hosts': {'lab-controller': host}}}, default_flow_style=False)
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return path


class Run:
    def __init__(self, proc, seconds):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.seconds = seconds

    @property
    def text(self):
        """The output with its whitespace folded: a message the callback wrapped reads as one line."""
        return re.sub(r'\s+', ' ', self.out)

    def failed_tasks(self):
        """Each failed task's name and message (the output's tail may no longer hold them)."""
        found, task, lines = [], '', self.out.splitlines()
        for index, line in enumerate(lines):
            if line.startswith('TASK ['):
                task = line.rstrip(' *')
            elif line.startswith(('fatal: ', 'failed: ')):
                found.append('\n'.join([task, line] + lines[index + 1:index + 15]))
        return found

    def __repr__(self):
        # The last three: tasks with ignore_errors print theirs too, earlier.
        failed = '\n'.join(self.failed_tasks()[-3:])[:4000]
        return 'rc=%s after %.0fs\n%s%s' % (self.rc, self.seconds, 'Failed:\n%s\n...\n' % failed if failed else '',
                                          self.out[-6000:])


def assert_refused(run, said):
    """The run failed, and its output says each of `said`."""
    assert run.rc != 0, run
    for words in said:
        assert words in run.text, 'the failure does not say %r: %r' % (words, run)


def playbook_command(*args, extra=None):
    """argv and environment of ansible-playbook -i inventory/lab ARGS, from the .venv
    (over SSH when the lab's ssh config is known: ssh_inventory)."""
    cmd = [str(ROOT / '.venv/bin/ansible-playbook'), '-i', 'inventory/lab']
    ssh = ssh_inventory()
    if ssh:
        cmd += ['-i', str(ssh)]
    for key, value in (extra or {}).items():
        cmd += ['-e', yaml.safe_dump({key: value}, default_flow_style=True).strip()]
    env = dict(os.environ, ANSIBLE_FORCE_COLOR='0', ANSIBLE_NOCOLOR='1')
    env['PATH'] = '%s:%s' % (ROOT / '.venv/bin', env.get('PATH', ''))
    return cmd + list(args), env


def playbook(*args, extra=None, timeout=1800):
    """ansible-playbook -i inventory/lab ARGS; stdout and stderr together."""
    cmd, env = playbook_command(*args, extra=extra)
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, text=True, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    return Run(proc, time.monotonic() - start)


def in_controller(command):
    """Run a shell command in the lab controller; return (rc, output)."""
    proc = subprocess.run(['podman', 'exec', CONTAINER, 'bash', '-c', command], text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    return proc.returncode, proc.stdout


# heat-api-cfn's ec2token code, and what upstream's fix (and the role's
# patch, files/ec2token-heat*.patch) adds to it.
EC2TOKEN = '/usr/lib/python3/dist-packages/heat/api/aws/ec2token.py'
EC2TOKEN_MARK = "register_auth_conf_options(cfg.CONF, 'ec2authtoken')"


def ec2token_has_mark():
    """Whether the controller's ec2token.py reads the [ec2authtoken] keystoneauth options."""
    rc, out = in_controller('grep -cF "%s" %s' % (EC2TOKEN_MARK, EC2TOKEN))
    return rc == 0 and int(out.strip() or 0) > 0


def changed_count(output):
    """The `changed=` count of the lab controller in a run's recap."""
    match = re.search(r'lab-controller\s*:\s*ok=\d+\s+changed=(\d+)', output)
    assert match, output[-3000:]
    return int(match.group(1))


HEAT_UNITS = ('heat-api', 'heat-api-cfn', 'heat-engine')


def heat_start_times():
    """{unit: ActiveEnterTimestampMonotonic} of heat-api, heat-api-cfn and heat-engine: changes on every (re)start."""
    rc, out = in_controller('for u in %s; do systemctl show -p ActiveEnterTimestampMonotonic --value $u; done'
                            % ' '.join(HEAT_UNITS))
    assert rc == 0, out
    times = out.split()
    assert len(times) == len(HEAT_UNITS), out
    return dict(zip(HEAT_UNITS, times))


def secrets_in(text, extra=()):
    """Names of the lab secrets whose values appear in text."""
    values = {name: str(LAB[name]) for name in SECRET_NAMES}
    values.update(extra)
    return [name for name, value in values.items() if value and value in text]


# Debian's uwsgi heat-api, just restarted, reset a connection of
# `openstack stack delete --wait`'s event polling twice in the lab (the
# rotation and the upgrade tests): the deletion is asked once, then the
# stack list is polled, a failed listing being no answer.
DELETE_STACK = ('. /root/demo-openrc.sh && openstack stack delete --yes {name} && '
                'for i in $(seq 100); do sleep 3; names=$(openstack stack list -f value -c "Stack Name") || continue; '
                'grep -qx {name} <<<"$names" || exit 0; done; exit 1')


def delete_stack(name):
    """Delete the demo user's stack NAME and wait until it is gone; return (rc, output)."""
    return in_controller(DELETE_STACK.format(name=name))


def task_sections(out, task):
    """The output of each run of the heat role's task `task` in a run's output."""
    return [section for section in re.split(r'\n(?=TASK \[|RUNNING HANDLER \[|PLAY )', out)
            if section.startswith('TASK [heat : %s]' % task)]


def task_changes(out, task):
    """How many times the heat role's task `task` reported changed in a run's output."""
    return sum(section.count('\nchanged: ') for section in task_sections(out, task))
