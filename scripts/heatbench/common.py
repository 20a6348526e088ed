"""What the benchmark's modules share: its settings (paths, the lab image,
the phases, the tasks and targets it reports on) and the small helpers
(progress lines, running a command, a spread of figures and its text).
"""
import shlex
import statistics
import subprocess
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / '.venv' / 'bin'
ANSIBLE_PLAYBOOK = VENV_BIN / 'ansible-playbook'
CALLBACK_DIR = ROOT / 'scripts' / 'callback_plugins'
# Debian 13, the platform the project targets first; --image replaces it (cli.main
# assigns common.IMAGE, so the other modules read it as common.IMAGE).
IMAGE = 'localhost/heat-lab-debian13:latest'
PREPARE_PLAYBOOK = 'benchmark/prepare.yml'
PEER_MANIFEST = ROOT / 'benchmark' / 'puppet' / 'heat.pp'
# Between two fresh applies in one container: Heat taken away again.
UNDEPLOY_SCRIPT = ROOT / 'benchmark' / 'undeploy.sh'
# Debian's puppet and the modules the manifest uses (puppet-module-heat pulls
# in openstacklib, keystone, oslo, puppetlabs-mysql, -inifile, -stdlib ...).
PEER_TOOL_PACKAGES = ['puppet-agent', 'puppet-module-heat']
LAB_VARS = ROOT / 'inventory' / 'lab' / 'group_vars' / 'all' / 'lab.yml'
# Containers the benchmark creates carry this label; only those are removed.
LABEL = 'heat-benchmark=true'
PLAYBOOK_TIMEOUT = 3600

# Where each task comes from decides its phase (paths relative to ROOT).
PHASES = [
    ('validation and facts', ['roles/heat/tasks/validate.yml', 'roles/heat/tasks/probe.yml',
                              'roles/heat/tasks/encryption_key.yml', 'playbooks/heat.yml']),
    ('packages', ['roles/heat/tasks/install.yml']),
    ('database', ['roles/heat/tasks/database.yml']),
    ('heat.conf', ['roles/heat/tasks/config.yml']),
    ('db_sync', ['roles/heat/tasks/db_sync.yml']),
    ('Keystone', ['roles/heat/tasks/keystone.yml']),
    ('services start + ready', ['roles/heat/tasks/services.yml', 'roles/heat/handlers/main.yml',
                                'roles/heat/tasks/restart.yml', 'roles/heat/tasks/ready.yml']),
    ('verification', ['roles/heat/tasks/verify.yml', 'playbooks/verify.yml']),
]
OTHER_TASKS = 'other tasks'
OUTSIDE_TASKS = 'outside tasks (Ansible start-up, between tasks)'
# Heat's own service start-up: the restarts (handlers) and the readiness waits.
STARTUP_FILES = ['roles/heat/handlers/main.yml', 'roles/heat/tasks/restart.yml', 'roles/heat/tasks/ready.yml']

# The single tasks with a no-op target: (file, task name, target s).
# The plan (validate.yml, heat_plan) reads the controller, the database, the
# brokers and Keystone (the registration in check mode); keystone.yml writes
# only when the plan found something to do (skipped on a no-op).
HEAT_CONF_TASK = ('roles/heat/tasks/config.yml', 'Configure heat.conf', 1.0)
PLAN_TASK = ('roles/heat/tasks/validate.yml', 'Plan the run (this controller, the database, the brokers, Keystone)',
             2.0)
KEYSTONE_PROBE_TASK = ('roles/heat/tasks/keystone.yml', 'Register the Orchestration service in Keystone', None)

TARGET_NOOP_SECONDS = 15.0
TARGET_FRESH_SECONDS = 180.0
# The no-op's targets: its floor, its ratio to puppet-heat's, and to itself on several controllers.
TARGET_FLOOR_SECONDS = 4.0
TARGET_PEER_RATIO = 10.0
TARGET_MULTI_RATIO = 1.5


# --- Small helpers -------------------------------------------------------------

def log(message):
    """A progress line, with the time of day."""
    print('[%s] %s' % (time.strftime('%H:%M:%S'), message), flush=True)


def run(argv, check=True, timeout=None):
    """Run a command; return the CompletedProcess (stdout and stderr together)."""
    proc = subprocess.run(argv, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          check=False, timeout=timeout)
    if check and proc.returncode != 0:
        raise SystemExit('benchmark: %s failed (rc %s):\n%s' % (shlex.join(argv), proc.returncode, proc.stdout[-3000:]))
    return proc


def spread(values):
    """min, median and max of a list of numbers (None when the list is empty)."""
    if not values:
        return None
    return {'min': min(values), 'median': statistics.median(values), 'max': max(values), 'n': len(values)}


def seconds(value):
    """A duration for the table: '12.3 s', or '-' when unknown."""
    return '-' if value is None else '%.1f s' % value


def spread_text(stats):
    """'min / median / max' for the table."""
    if stats is None:
        return '-'
    return '%.1f / %.1f / %.1f s' % (stats['min'], stats['median'], stats['max'])


def relative(path):
    """A task path (file:line) relative to the repository, without the line."""
    file_part = path.rsplit(':', 1)[0] if path else ''
    try:
        return str(Path(file_part).resolve().relative_to(ROOT))
    except ValueError:
        return file_part
