"""Tools for tests that run the project's playbooks against the lab controller.

The lab controller is the podman container `lab-controller` that molecule's
default scenario creates and prepares; inventory/lab reaches it directly.
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


class Run:
    def __init__(self, proc, seconds):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.seconds = seconds

    def __repr__(self):
        return 'rc=%s after %.0fs\n%s' % (self.rc, self.seconds, self.out[-6000:])


def playbook_command(*args, extra=None):
    """argv and environment of ansible-playbook -i inventory/lab ARGS, from the .venv."""
    cmd = [str(ROOT / '.venv/bin/ansible-playbook'), '-i', 'inventory/lab']
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


def task_changes(out, task):
    """How many times the heat role's task `task` reported changed in a run's output."""
    sections = re.split(r'\n(?=TASK \[|RUNNING HANDLER \[|PLAY )', out)
    return sum(section.count('\nchanged: ') for section in sections
               if section.startswith('TASK [heat : %s]' % task))
