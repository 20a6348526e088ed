#!/usr/bin/env python3
"""Benchmark of the heat role in the lab: how long a deployment and
a re-run take, and where the time goes.

Not a test: it measures, prints a Markdown table ready for docs/benchmark.md and
writes a JSON file (default benchmark/results/latest.json; the per-run logs go
to benchmark/results/logs/). It drives ansible-playbook from the repository
root, with the project's ansible.cfg, against one podman lab controller:

  python3 scripts/benchmark.py --fresh              # new container, prepared here
  python3 scripts/benchmark.py --container NAME     # a container already prepared
                                                    # (created as with --fresh when missing)
  python3 scripts/benchmark.py --connection podman  # measure through podman exec

The measured runs reach the controller over SSH with pipelining, as Ansible
reaches a real controller (--connection ssh, the default): the benchmark
installs openssh-server in its container and logs in with a key made for the
run. --connection podman measures through `podman exec` instead, the lab's
own transport, which cannot pipeline (about six podman commands per module).

With --fresh the benchmark creates the container from the lab image (as
molecule/default/molecule.yml does), runs benchmark/prepare.yml (MariaDB,
RabbitMQ and Keystone only, whatever the molecule scenarios prepare), downloads
the Heat packages with `apt-get install --download-only` (timed on its own, so
that the converge excludes downloads), then measures:

1. a fresh converge of site.yml, split by phase (--fresh-repeat times, by
   default --repeat: between two,
   benchmark/undeploy.sh takes Heat away again, unmeasured - the packages
   installed since the first, Heat's files, database and Keystone objects);
2. the no-op re-run of site.yml --skip-tags verify (--repeat times);
3. the no-op re-run of the whole site.yml, verification included;
4. the re-run after changing one heat.conf key through heat_conf_overrides
   ([DEFAULT] debug, alternately true and false; --skip-tags verify; the
   key stays set explicitly in the container's heat.conf);
5. the heat.conf task and the Keystone registration task on the no-op runs;
6. tasks executed and module invocations on the host, per run;
7. the ten slowest tasks of the fresh converge.

With --peer puppet it also measures Debian's puppet-heat on the same chapter
(benchmark/puppet/heat.pp) in a second container, `bench-puppet`, created and
prepared exactly as the first, in the same run: puppet and the Heat packages
are downloaded first (the puppet packages are then installed, timed on their
own), then the fresh `puppet apply` (--fresh-repeat times, undeployed in
between as above), the no-op re-apply (--repeat times) and
the re-apply after one heat.conf change ([DEFAULT] debug through the
manifest's `heat_debug` fact, alternately true and false, --repeat times).
While one tool is measured the other container is paused. The report starts
with a table of both tools' figures and their ratios (puppet / this project,
medians). --image chooses the lab image of both containers.

With --controllers N it then also measures the no-op on N
controllers: N-1 more containers (bench-controller2 ...) run Heat only and
reach the first one's MariaDB, RabbitMQ and Keystone through the name
`controller`; they are converged (not measured), then site.yml --skip-tags
verify runs --repeat times on all N.

With --rolling it measures the several-controllers lab instead:
molecule's `multinode` scenario is created, prepared and converged (infra,
lb with haproxy and TLS, controller1 and controller2), then
molecule/multinode/rolling.yml runs --repeat times, each with its own value
of one heat.conf key: site.yml restarts the controllers one at a time while
prober.py works through https://heat-vip. Reported: each rolling run's time
and the prober's requests and failures; `molecule destroy` at the end unless
--keep.

Per-task timings come from scripts/callback_plugins/benchmark_timer.py; module
invocations are the "Using module file" lines of Ansible's log, remote
commands its "SSH: EXEC" or podman "RUN" lines (written at log verbosity 3,
the console output stays as usual).

The container is removed at the end (podman rm -f) unless --keep is given;
a container the benchmark did not create itself is never removed.
"""
import argparse
import configparser
import datetime
import json
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = ROOT / '.venv' / 'bin'
ANSIBLE_PLAYBOOK = VENV_BIN / 'ansible-playbook'
CALLBACK_DIR = ROOT / 'scripts' / 'callback_plugins'
IMAGE = 'localhost/heat-lab-debian13:latest'  # Debian 13, the platform the project targets first (--image)
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


# --- The machine ------------------------------------------------------------

def machine_info():
    """CPU count, memory, CPU model, load and what else runs in podman."""
    meminfo = Path('/proc/meminfo').read_text()
    mem_kib = int(next(line.split()[1] for line in meminfo.splitlines() if line.startswith('MemTotal:')))
    cpu_model = 'unknown'
    for line in Path('/proc/cpuinfo').read_text().splitlines():
        if line.startswith('model name'):
            cpu_model = line.split(':', 1)[1].strip()
            break
    running = run(['podman', 'ps', '--format', '{{.Names}}'], check=False).stdout.split()
    return {
        'cpu_reference_seconds': cpu_reference_seconds(),
        'nproc': len(os.sched_getaffinity(0)),
        'memory_gib': round(mem_kib / 1024 / 1024, 1),
        'cpu_model': cpu_model,
        'kernel': platform.release(),
        'load_average_at_start': [round(x, 2) for x in os.getloadavg()],
        'containers_running_at_start': running,
    }


def cpu_reference_seconds():
    """Median of 3 runs of a fixed pure-Python loop: how fast this machine was that day.

    The lab's figures follow the host's speed (a shared 2-vCPU machine): the
    same commit measured 8 s and 12 s on one afternoon. Comparing this figure
    tells whether two reports were measured on an equally fast machine.
    """
    code = 'import time; t = time.perf_counter(); sum(i * i for i in range(10 ** 7)); print(time.perf_counter() - t)'
    return round(statistics.median(float(run([sys.executable, '-c', code]).stdout) for _ in range(3)), 2)


def software_info():
    """ansible-core version and the commit measured."""
    version = run([str(VENV_BIN / 'ansible'), '--version'], check=False).stdout.splitlines()
    commit = run(['git', '-C', str(ROOT), 'rev-parse', '--short', 'HEAD'], check=False).stdout.strip()
    dirty = run(['git', '-C', str(ROOT), 'status', '--porcelain', '--untracked-files=no'], check=False).stdout.strip()
    return {
        'ansible': version[0] if version else 'unknown',
        'commit': commit + (' (with uncommitted changes)' if dirty else ''),
    }


# --- The lab container --------------------------------------------------------

def container_exists(name):
    return run(['podman', 'container', 'exists', name], check=False).returncode == 0


def created_by_benchmark(name):
    """True when the container carries the benchmark's label."""
    key, value = LABEL.split('=')
    proc = run(['podman', 'inspect', '--format', '{{index .Config.Labels "%s"}}' % key, name], check=False)
    return proc.returncode == 0 and proc.stdout.strip() == value


def in_container(name, command, check=True, timeout=None):
    """Run a shell command in the container."""
    return run(['podman', 'exec', name, 'bash', '-c', command], check=check, timeout=timeout)


def ensure_image():
    """Build the lab image when it is missing (scripts/build-image.sh)."""
    if run(['podman', 'image', 'exists', IMAGE], check=False).returncode != 0:
        log('image %s missing: building it with scripts/build-image.sh' % IMAGE)
        suite = 'bookworm' if 'debian12' in IMAGE else 'trixie'
        subprocess.run(['bash', str(ROOT / 'scripts' / 'build-image.sh')], check=True,
                       env=dict(os.environ, HEAT_LAB_SUITE=suite, HEAT_LAB_IMAGE=IMAGE))


def create_container(name, hostname='controller', extra=()):
    """A new lab controller, with molecule.yml's options; waits for systemd."""
    run(['podman', 'run', '--detach', '--name', name, '--hostname', hostname,
         '--label', LABEL, '--systemd', 'always',
         '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=30000:30000']
        + list(extra) + [IMAGE, '/sbin/init'])
    # "degraded" is fine (units that make no sense in a container).
    in_container(name, 'systemctl is-system-running --wait >/dev/null || true', timeout=300)


def remove_container(name):
    run(['podman', 'rm', '--force', name], check=False)


def package_installed(name, package):
    proc = in_container(name, "dpkg-query -W -f '${Status}' %s" % shlex.quote(package), check=False)
    return proc.returncode == 0 and 'install ok installed' in proc.stdout


def heat_packages():
    """The Debian packages the role installs (roles/heat/vars/main/main.yml)."""
    role_vars = yaml.safe_load((ROOT / 'roles/heat/vars/main/main.yml').read_text())
    # rabbit is the only transport now; older role versions listed its packages apart.
    return role_vars['_heat_packages']['Debian'] + role_vars.get('_heat_transport_packages', {}).get('rabbit', [])


def apt_cache(name):
    """Number of .deb files in the container's apt cache and their size in MiB."""
    out = in_container(name, "find /var/cache/apt/archives -name '*.deb' | wc -l;"
                       " find /var/cache/apt/archives -name '*.deb' -printf '%s\\n'"
                       " | awk '{s += $1} END {print int(s / 1048576)}'").stdout.split()
    return int(out[0]), int(out[1])


def download_packages(name, packages=None):
    """apt-get install --download-only of the Heat packages (or PACKAGES), timed."""
    packages = packages or heat_packages()
    debs_before, mib_before = apt_cache(name)
    start = time.monotonic()
    in_container(name, 'DEBIAN_FRONTEND=noninteractive apt-get install --download-only --yes --quiet %s'
                 % shlex.join(packages), timeout=1800)
    elapsed = time.monotonic() - start
    debs_after, mib_after = apt_cache(name)
    return {
        'seconds': elapsed,
        'method': 'apt-get install --download-only of the role\'s packages before the converge, '
                  'so that the converge installs from the local cache',
        'packages': packages,
        'debs_downloaded': debs_after - debs_before,
        'mib_downloaded': mib_after - mib_before,
    }


def record_baseline(name):
    """The packages of the prepared container, before the first fresh apply (benchmark/undeploy.sh)."""
    in_container(name, "dpkg-query -W -f '${Package}\\n' | sort > /root/bench-packages.baseline")


def fresh_applies(name, count, apply):
    """COUNT fresh applies in container NAME, apply(1..COUNT) each, Heat taken away in between."""
    record_baseline(name)
    runs = []
    for index in range(1, count + 1):
        if index > 1:
            undeploy(name)
        runs.append(apply(index))
    return {'runs': runs, 'wall': spread([r['wall_seconds'] for r in runs]), 'changed': [r['changed'] for r in runs]}


def undeploy(name):
    """Take Heat away again (benchmark/undeploy.sh, not measured): the next apply is a fresh one."""
    run(['podman', 'cp', str(UNDEPLOY_SCRIPT), '%s:/root/undeploy.sh' % name])
    start = time.monotonic()
    out = in_container(name, 'bash /root/undeploy.sh', timeout=900).stdout.strip().splitlines()
    log('%s: %s, in %.0f s (not measured)' % (name, out[-1] if out else 'undeployed', time.monotonic() - start))


def podman_exec_seconds(name, count=5):
    """Median time of `podman exec NAME true`: the lab's cost per remote command."""
    times = []
    for _ in range(count):
        start = time.monotonic()
        run(['podman', 'exec', name, 'true'])
        times.append(time.monotonic() - start)
    return statistics.median(times)


def current_debug(name):
    """[DEFAULT] debug in the container's heat.conf, as a boolean (unset is false)."""
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.read_string(in_container(name, 'cat /etc/heat/heat.conf').stdout)
    return parser.get('DEFAULT', 'debug', fallback='false').strip().lower() in ('true', '1', 'yes', 'on')


def container_address(name):
    """The container's IP address on its podman network."""
    info = json.loads(run(['podman', 'inspect', name]).stdout)[0]['NetworkSettings']
    addresses = [info.get('IPAddress')] + [net.get('IPAddress') for net in (info.get('Networks') or {}).values()]
    addresses = [a for a in addresses if a]
    if not addresses:
        raise SystemExit('benchmark: container %s has no IP address (podman inspect)' % name)
    return addresses[0]


def enable_ssh(name, directory):
    """openssh-server in the container, root login with a key made for this run.

    Returns the connection variables of the inventory.
    """
    key = Path(directory) / 'id_ed25519'
    if not key.exists():
        run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'heat-benchmark', '-f', str(key)])
    if not package_installed(name, 'openssh-server'):
        log('installing openssh-server in %s (not measured)' % name)
        # The lab image's package lists may be empty (a new container, not prepared).
        in_container(name, 'export DEBIAN_FRONTEND=noninteractive; apt-get install --yes --quiet openssh-server '
                     '>/dev/null 2>&1 || { apt-get update -qq && apt-get install --yes --quiet openssh-server >/dev/null; }',
                     timeout=900)
    public = (Path(directory) / 'id_ed25519.pub').read_text().strip()
    in_container(name, 'install -d -m 0700 /root/.ssh && printf "%%s\\n" %s > /root/.ssh/authorized_keys && '
                 'chmod 0600 /root/.ssh/authorized_keys && systemctl enable --now --quiet ssh'
                 % shlex.quote(public))
    return {
        'ansible_connection': 'ansible.builtin.ssh',
        'ansible_host': container_address(name),
        'ansible_user': 'root',
        'ansible_ssh_private_key_file': str(key),
        'ansible_ssh_common_args': '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR',
    }


# --- Running ansible-playbook ---------------------------------------------------

PODMAN_CONNECTION = {'ansible_connection': 'containers.podman.podman'}


def write_inventory(directory, name, connection, more=None, file_name='hosts.yml'):
    """Inventory: group controller with the container (and `more`: {name: connection}), and the lab's group_vars."""
    hosts = dict((host, dict(conn, ansible_python_interpreter='/usr/bin/python3'))
                 for host, conn in [(name, connection)] + list((more or {}).items()))
    path = Path(directory) / file_name
    path.write_text(yaml.safe_dump({'controller': {'hosts': hosts}}, default_flow_style=False))
    group_vars = Path(directory) / 'group_vars'
    if not group_vars.exists():
        group_vars.symlink_to(ROOT / 'inventory' / 'lab' / 'group_vars')
    return path


def ansible_env(logs, label):
    """Environment of one ansible-playbook run: the timing callback and the log."""
    env = dict(os.environ)
    env.update({
        'ANSIBLE_CONFIG': str(ROOT / 'ansible.cfg'),
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_CALLBACK_PLUGINS': str(CALLBACK_DIR),
        # profile_tasks is what ansible.cfg enables: keep what operators run.
        'ANSIBLE_CALLBACKS_ENABLED': 'ansible.posix.profile_tasks,benchmark_timer',
        'BENCHMARK_TIMINGS_FILE': str(logs / ('%s.tasks.jsonl' % label)),
        'ANSIBLE_LOG_PATH': str(logs / ('%s.ansible.log' % label)),
        'ANSIBLE_LOG_VERBOSITY': '3',
        'PATH': '%s:%s' % (VENV_BIN, os.environ.get('PATH', '')),
    })
    return env


def read_tasks(path):
    """The callback's lines, each with its duration and phase."""
    if not path.exists():
        return []
    tasks = []
    # Complete lines only: the callback may be writing the last one.
    for line in path.read_text().split('\n')[:-1]:
        task = json.loads(line)
        task['file'] = relative(task['path'])
        task['seconds'] = task['end'] - task['start'] if task['start'] else 0.0
        task['phase'] = phase_of(task['file'])
        tasks.append(task)
    return tasks


def phase_of(file):
    for phase, files in PHASES:
        if file in files:
            return phase
    return OTHER_TASKS


def show_progress(timings, shown, label, start):
    """Print a progress line when a new phase starts, else once a minute.

    shown is (phase, time of the last line); the new one is returned.
    """
    tasks = read_tasks(timings)
    phase, last_line = shown
    current = tasks[-1]['phase'] if tasks else None
    if current == phase and time.monotonic() - last_line < 60:
        return shown
    last_task = tasks[-1]['name'] if tasks else '(none yet)'
    log('  %s: +%.0f s, %s, %d tasks done, last: %s' % (
        label, time.monotonic() - start, current or 'starting', len(tasks), last_task))
    return current, time.monotonic()


def finished(proc, timeout):
    """Wait up to TIMEOUT seconds for the process; True when it has ended.

    (wait() returns as soon as it ends, so the wall time stays exact.)
    """
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def run_playbook(label, args, inventory, logs):
    """Run ansible-playbook ARGS; return the run's figures. Stops on failure."""
    argv = [str(ANSIBLE_PLAYBOOK), '-i', str(inventory)] + args
    env = ansible_env(logs, label)
    timings = Path(env['BENCHMARK_TIMINGS_FILE'])
    for stale in (timings, Path(env['ANSIBLE_LOG_PATH'])):
        stale.unlink(missing_ok=True)
    output = logs / ('%s.out' % label)
    start = time.monotonic()
    shown = (None, start)
    with open(output, 'w', encoding='utf-8') as stream:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=stream, stderr=subprocess.STDOUT)
        try:
            while not finished(proc, timeout=2):
                shown = show_progress(timings, shown, label, start)
                if time.monotonic() - start > PLAYBOOK_TIMEOUT:
                    proc.kill()
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM): stop ansible-playbook too.
            proc.kill()
            raise
    wall = time.monotonic() - start
    if proc.returncode != 0:
        tail = output.read_text().splitlines()[-40:]
        raise SystemExit('benchmark: %s failed (rc %s) after %.0f s; log %s:\n%s'
                         % (label, proc.returncode, wall, output, '\n'.join(tail)))
    result = summarize_run(read_tasks(timings), Path(env['ANSIBLE_LOG_PATH']))
    result.update({'label': label, 'command': shlex.join(['ansible-playbook'] + args), 'wall_seconds': wall})
    result['phases'] = phase_seconds(result['tasks'], wall)
    return result


def count_log_lines(log_path):
    """Module invocations (by module) and remote commands, from Ansible's log."""
    modules = Counter()
    remote_commands = 0
    for line in log_path.read_text(errors='replace').splitlines():
        if '| Using module file ' in line:
            modules[Path(line.split('| Using module file ', 1)[1]).stem] += 1
        elif '> RUN [' in line or ' SSH: EXEC ' in line:
            remote_commands += 1
    return modules, remote_commands


def summarize_run(tasks, log_path):
    """Counts of one run: tasks, changes, module invocations."""
    modules, remote_commands = count_log_lines(log_path)
    executed = [t for t in tasks if t['status'] != 'skipped']
    return {
        'tasks_total': len(tasks),
        'tasks_executed': len(executed),
        'tasks_skipped': len(tasks) - len(executed),
        'changed': sum(1 for t in tasks if t['changed']),
        'changed_tasks': ['%s (%s)' % (t['name'], t['file']) for t in tasks if t['changed']],
        'module_invocations': sum(modules.values()),
        'modules': dict(modules.most_common()),
        'remote_commands': remote_commands,
        'task_seconds': sum(t['seconds'] for t in tasks),
        'tasks': tasks,
    }


def phase_seconds(tasks, wall):
    """Seconds per phase, in PHASES order, plus what happened outside tasks."""
    totals = {phase: 0.0 for phase, _ in PHASES}
    totals[OTHER_TASKS] = 0.0
    for task in tasks:
        totals[task['phase']] += task['seconds']
    totals[OUTSIDE_TASKS] = wall - sum(totals.values())
    return totals


def slowest(tasks, count):
    """The COUNT slowest tasks: name, file, phase, seconds, changed."""
    ordered = sorted(tasks, key=lambda t: t['seconds'], reverse=True)[:count]
    return [{key: t[key] for key in ('name', 'file', 'phase', 'seconds', 'changed', 'handler')} for t in ordered]


def task_seconds(run_result, task_spec):
    """Duration of one task (by file and name) in a run, or None."""
    file, name = task_spec[0], task_spec[1]
    found = [t['seconds'] for t in run_result['tasks'] if t['file'] == file and t['name'].endswith(name)]
    return sum(found) if found else None


def run_line(result):
    """One progress line about a finished run."""
    return ('%.1f s, %d tasks executed (%d skipped), %d changed, %d module invocations, %d remote commands'
            % (result['wall_seconds'], result['tasks_executed'], result['tasks_skipped'], result['changed'],
               result['module_invocations'], result['remote_commands']))


# --- The measurements -----------------------------------------------------------

def measure_fresh_converge(inventory, logs, index=1, repeat=1):
    """Figure 1 and 7: site.yml on a prepared controller without Heat."""
    log('fresh converge %d/%d of site.yml (verification included)' % (index, repeat))
    result = run_playbook('fresh-converge-%d' % index, ['site.yml'], inventory, logs)
    result['heat_service_startup_seconds'] = sum(
        t['seconds'] for t in result['tasks'] if t['file'] in STARTUP_FILES)
    result['slowest_tasks'] = slowest(result['tasks'], 10)
    log('fresh converge: ' + run_line(result))
    return result


def median_run(runs):
    """The run of median wall time (for an even count, the faster middle one)."""
    return sorted(runs, key=lambda r: r['wall_seconds'])[(len(runs) - 1) // 2]


def measure_reruns(label, args_for_run, repeat, inventory, logs):
    """Run site.yml REPEAT times; return the runs and their spread."""
    runs = []
    for index in range(repeat):
        args = args_for_run(index)
        log('%s %d/%d: ansible-playbook %s' % (label, index + 1, repeat, shlex.join(args)))
        result = run_playbook('%s-%d' % (label, index + 1), args, inventory, logs)
        log('%s %d/%d: %s' % (label, index + 1, repeat, run_line(result)))
        if label.startswith('noop') and result['changed']:
            log('  NOTE: a no-op run changed: %s' % ', '.join(result['changed_tasks']))
        runs.append(result)
    middle = median_run(runs)
    return {
        'runs': runs,
        'wall': spread([r['wall_seconds'] for r in runs]),
        'changed': [r['changed'] for r in runs],
        'tasks_executed': [r['tasks_executed'] for r in runs],
        'module_invocations': [r['module_invocations'] for r in runs],
        'slowest_tasks_of_median_run': slowest(middle['tasks'], 10),
    }


def debug_override(value):
    """-e argument setting [DEFAULT] debug through heat_conf_overrides."""
    return json.dumps({'heat_conf_overrides': {'DEFAULT': {'debug': value}}})


def noop_task_times(noop_runs):
    """Figure 5: the heat.conf and Keystone tasks on the no-op runs."""
    figures = {}
    for key, spec in (('heat_conf', HEAT_CONF_TASK), ('plan', PLAN_TASK),
                      ('keystone_auth_probe', KEYSTONE_PROBE_TASK)):
        values = [v for v in (task_seconds(r, spec) for r in noop_runs) if v is not None]
        figures[key] = {'task': '%s (%s)' % (spec[1], spec[0]), 'seconds': spread(values), 'target_seconds': spec[2]}
    return figures


def targets(results):
    """The targets, each with the measured figure and whether it is met."""
    checks = []
    noop = results['noop_skip_verify']
    checks.append({
        'target': 'No-op re-run of site.yml --skip-tags verify: at most %.0f s, zero changed' % TARGET_NOOP_SECONDS,
        'measured': '%s median, changed %s' % (seconds(noop['wall']['median']), noop['changed']),
        'met': noop['wall']['median'] <= TARGET_NOOP_SECONDS and not any(noop['changed']),
    })
    for key, label in (('heat_conf', 'heat.conf no-op'), ('plan', 'The plan (one call: controller, database, brokers, Keystone) on a no-op')):
        figure = results['noop_task_seconds'][key]
        median = figure['seconds']['median'] if figure['seconds'] else None
        checks.append({
            'target': '%s: under %.0f s' % (label, figure['target_seconds']),
            'measured': '%s median' % seconds(median),
            'met': median is not None and median < figure['target_seconds'],
        })
    checks.append({
        'target': 'No-op re-run of site.yml --skip-tags verify (the floor): at most %.0f s' % TARGET_FLOOR_SECONDS,
        'measured': '%s median' % seconds(noop['wall']['median']),
        'met': noop['wall']['median'] <= TARGET_FLOOR_SECONDS,
    })
    multi = results.get('noop_multi')
    if multi:
        checks.append({
            'target': 'The no-op on %d controllers at most %.1fx the one on one' % (
                multi['controllers'], TARGET_MULTI_RATIO),
            'measured': '%s median, %.2fx' % (seconds(multi['wall']['median']),
                                              multi['wall']['median'] / noop['wall']['median']),
            'met': multi['wall']['median'] <= TARGET_MULTI_RATIO * noop['wall']['median'] and not any(multi['changed']),
        })
    peer = results.get('peer')
    if peer:
        factor = peer['noop']['wall']['median'] / noop['wall']['median']
        checks.append({
            'target': 'The no-op at least %.0fx faster than puppet-heat\'s, same run' % TARGET_PEER_RATIO,
            'measured': '%.1fx (%s against %s)' % (factor, seconds(noop['wall']['median']),
                                                   seconds(peer['noop']['wall']['median'])),
            'met': factor >= TARGET_PEER_RATIO,
        })
    fresh = results.get('fresh_converge')
    if fresh:
        checks.append({
            'target': 'Fresh converge excluding package downloads: under %.0f min' % (TARGET_FRESH_SECONDS / 60),
            'measured': '%s (of which Heat service start-up %s, verification %s)' % (
                seconds(fresh['wall_seconds']), seconds(fresh['heat_service_startup_seconds']),
                seconds(fresh['phases']['verification'])),
            'met': fresh['wall_seconds'] < TARGET_FRESH_SECONDS,
        })
    return checks


# --- The peer: Debian's puppet-heat (--peer puppet) ------------------------------

def lab_values():
    """The lab's passwords and names from inventory/lab/group_vars/all/lab.yml.

    Only what the manifest needs; `{{ name }}` references to other lab
    variables are resolved (lab.yml uses nothing else).
    """
    raw = yaml.safe_load(LAB_VARS.read_text())

    def resolve(value):
        value = str(value)
        while '{{' in value:
            start, end = value.index('{{'), value.index('}}')
            value = value[:start] + str(raw[value[start + 2:end].strip()]) + value[end + 2:]
        return value

    return {
        'admin_password': resolve(raw['heat_keystone_admin_password']),
        'heat_db_password': resolve(raw['heat_db_password']),
        'heat_keystone_password': resolve(raw['heat_keystone_password']),
        'heat_domain_admin_password': resolve(raw['heat_domain_admin_password']),
        'heat_auth_encryption_key': resolve(raw['heat_auth_encryption_key']),
        'rabbit_user': resolve(raw['heat_messaging_user']),
        'rabbit_password': resolve(raw['heat_messaging_password']),
    }


def pause(name, paused):
    """Pause (or unpause) a container so that it takes no CPU while the other tool is measured."""
    state = run(['podman', 'inspect', '--format', '{{.State.Status}}', name], check=False).stdout.strip()
    if (state == 'paused') == paused:
        return
    proc = run(['podman', 'pause' if paused else 'unpause', name], check=False)
    if proc.returncode != 0:
        log('  podman %s %s failed (measuring anyway): %s' % (
            'pause' if paused else 'unpause', name, proc.stdout.strip()[-200:]))


def ssh_command(connection, command):
    """argv running COMMAND on the container over SSH, as the measured Ansible runs connect."""
    return (['ssh', '-i', connection['ansible_ssh_private_key_file'], '-o', 'BatchMode=yes']
            + shlex.split(connection['ansible_ssh_common_args'])
            + ['%s@%s' % (connection['ansible_user'], connection['ansible_host']), command])


def install_puppet(name):
    """puppet and the modules from the local apt cache, the manifest and the lab's values (not measured)."""
    start = time.monotonic()
    in_container(name, 'DEBIAN_FRONTEND=noninteractive apt-get install --yes --quiet --no-install-recommends %s'
                 ' >/dev/null' % shlex.join(PEER_TOOL_PACKAGES), timeout=1800)
    elapsed = time.monotonic() - start
    run(['podman', 'cp', str(PEER_MANIFEST), '%s:/root/heat.pp' % name])
    facts = json.dumps({'heat_lab': lab_values()})
    in_container(name, 'install -d -m 0755 /etc/facter/facts.d && umask 077 && printf "%%s\\n" %s'
                 ' > /etc/facter/facts.d/heat_lab.json' % shlex.quote(facts))
    versions = in_container(name, "puppet --version; dpkg-query -W -f '${Version}' puppet-module-heat").stdout.split()
    return {'seconds': elapsed, 'puppet': versions[0], 'puppet_module_heat': versions[1]}


def puppet_summary(name):
    """puppet's own last_run_summary.yaml: resources, events and times of the last apply."""
    text = in_container(name, 'cat "$(puppet config print lastrunfile)"').stdout
    return yaml.safe_load(text)


def changed_resources(output):
    """The resources a puppet apply changed or refreshed, from its Notice lines."""
    found = []
    for line in output.splitlines():
        if not line.startswith('Notice: /Stage['):
            continue
        # /Stage[main]/Heat::Engine/Service[heat-engine]/ensure: ... -> Service[heat-engine]
        # (titles may hold '/' and ': ', as in Heat_config[DEFAULT/debug]).
        text = line[len('Notice: '):]
        parts, part, depth = [], '', 0
        for index, char in enumerate(text):
            if depth == 0 and (char == '/' or text.startswith(': ', index)):
                parts.append(part)
                part = ''
                if char == ':':
                    break
                continue
            depth += {'[': 1, ']': -1}.get(char, 0)
            part += char
        parts = [part for part in parts if '[' in part]
        resource = parts[-1] if parts else line
        if resource not in found:
            found.append(resource)
    return found


def puppet_apply(label, name, connection, logs, debug=None):
    """One `puppet apply` of the manifest over SSH; its wall time and puppet's own figures."""
    env = '' if debug is None else 'FACTER_heat_debug=%s ' % ('true' if debug else 'false')
    command = '%spuppet apply --detailed-exitcodes --color=false /root/heat.pp' % env
    start = time.monotonic()
    proc = run(ssh_command(connection, command), check=False, timeout=PLAYBOOK_TIMEOUT)
    wall = time.monotonic() - start
    (logs / ('%s.out' % label)).write_text(proc.stdout)
    # --detailed-exitcodes: 0 nothing changed, 2 changes, 4 failures, 6 changes and failures.
    if proc.returncode not in (0, 2):
        tail = proc.stdout.splitlines()[-40:]
        raise SystemExit('benchmark: %s failed (rc %s) after %.0f s; log %s:\n%s'
                         % (label, proc.returncode, wall, logs / ('%s.out' % label), '\n'.join(tail)))
    summary = puppet_summary(name)
    resources = summary.get('resources', {})
    result = {
        'label': label,
        'command': command,
        'wall_seconds': wall,
        'exit_code': proc.returncode,
        'resources_total': resources.get('total', 0),
        'changed': resources.get('changed', 0),
        'out_of_sync': resources.get('out_of_sync', 0),
        'restarted': resources.get('restarted', 0),
        'failed': resources.get('failed', 0),
        'events': summary.get('events', {}).get('total', 0),
        'changed_resources': changed_resources(proc.stdout),
        'puppet_seconds': summary.get('time', {}),
    }
    log('%s: %.1f s, %d resources, %d changed, %d restarted, %d events' % (
        label, wall, result['resources_total'], result['changed'], result['restarted'], result['events']))
    return result


def puppet_reruns(label, name, connection, logs, repeat, debug_for_run):
    """REPEAT applies; their runs and spread."""
    runs = []
    for index in range(repeat):
        result = puppet_apply('%s-%d' % (label, index + 1), name, connection, logs, debug_for_run(index))
        if label.startswith('puppet-noop') and (result['changed'] or result['restarted']):
            log('  NOTE: a no-op apply changed: %s' % ', '.join(result['changed_resources']))
        runs.append(result)
    return {
        'runs': runs,
        'wall': spread([r['wall_seconds'] for r in runs]),
        'changed': [r['changed'] for r in runs],
        'restarted': [r['restarted'] for r in runs],
        'resources_total': [r['resources_total'] for r in runs],
    }


def measure_peer(args, connection, logs):
    """puppet-heat in its own prepared container: fresh apply, no-op re-applies, one heat.conf change."""
    name = args.peer_container
    peer = {'tool': 'puppet-heat', 'container': name, 'manifest': str(PEER_MANIFEST.relative_to(ROOT))}
    if package_installed(name, 'heat-engine'):
        raise SystemExit('benchmark: Heat is already installed in %s: no fresh apply to measure (use --fresh)' % name)
    log('downloading puppet and the Heat packages in %s (apt-get install --download-only)' % name)
    peer['package_download'] = download_packages(name, PEER_TOOL_PACKAGES + heat_packages())
    log('downloaded in %.0f s' % peer['package_download']['seconds'])
    log('installing puppet and the modules (from the cache; not part of the apply)')
    peer['puppet_install'] = install_puppet(name)
    log('puppet %s, puppet-module-heat %s, installed in %.0f s' % (
        peer['puppet_install']['puppet'], peer['puppet_install']['puppet_module_heat'],
        peer['puppet_install']['seconds']))
    def apply(index):
        log('fresh puppet apply %d/%d of %s' % (index, args.fresh_repeat, peer['manifest']))
        return puppet_apply('puppet-fresh-apply-%d' % index, name, connection, logs)

    peer['fresh_apply'] = fresh_applies(name, args.fresh_repeat, apply)
    peer['noop'] = puppet_reruns('puppet-noop', name, connection, logs, args.repeat, lambda i: None)
    first = not current_debug(name)
    peer['heat_conf_change'] = puppet_reruns(
        'puppet-heat-conf-change', name, connection, logs, args.repeat,
        lambda i: first if i % 2 == 0 else not first)
    return peer


def ratio(peer_value, ours_value):
    """'2.3x' (peer / ours), or '-'."""
    if not peer_value or not ours_value:
        return '-'
    return '%.1fx' % (peer_value / ours_value)


def peer_table(results):
    """Both tools side by side: this project's figure, puppet-heat's, the ratio of the medians."""
    peer = results['peer']
    fresh = results.get('fresh_converge')
    lines = ['| Figure | This project (min / median / max) | puppet-heat (min / median / max) '
             '| Ratio puppet / this project (medians) |', '| --- | --- | --- | --- |']
    puppet_fresh = peer['fresh_apply']['wall']
    if fresh:
        ours = results['fresh_converges']['wall']
        without_verify = spread([r['wall_seconds'] - r['phases']['verification']
                                 for r in results['fresh_converges']['runs']])
        lines.append('| Fresh apply, packages included, downloads excluded (this project: `site.yml` '
                     'with its verification) (x%d) | %s | %s | %s |' % (
                         ours['n'], spread_text(ours), spread_text(puppet_fresh),
                         ratio(puppet_fresh['median'], ours['median'])))
        lines.append('| Fresh apply, this project without its verification phase (x%d) | %s | %s | %s |' % (
            ours['n'], spread_text(without_verify), spread_text(puppet_fresh),
            ratio(puppet_fresh['median'], without_verify['median'])))
    for ours_key, peer_key, label in (
            ('noop_skip_verify', 'noop', 'No-op re-apply (x%d)' % results['repeat']),
            ('heat_conf_change', 'heat_conf_change', 'Re-apply after one heat.conf change, `[DEFAULT] debug` '
                                                     '(x%d)' % results['repeat'])):
        ours, theirs = results[ours_key]['wall'], peer[peer_key]['wall']
        lines.append('| %s | %s | %s | %s |' % (label, spread_text(ours), spread_text(theirs),
                                               ratio(theirs['median'], ours['median'])))
    noop_ours = results['noop_skip_verify']
    lines.append('| Work per run: tasks executed / puppet resources | %s | %s | - |' % (
        range_text(noop_ours['tasks_executed']), range_text(peer['noop']['resources_total'])))
    lines.append('| Changed on the no-op re-runs | %s | %s (restarted %s) | - |' % (
        ', '.join(str(c) for c in noop_ours['changed']), ', '.join(str(c) for c in peer['noop']['changed']),
        ', '.join(str(c) for c in peer['noop']['restarted'])))
    lines.append('| Changed on the heat.conf change re-runs | %s | %s (restarted %s) | - |' % (
        ', '.join(str(c) for c in results['heat_conf_change']['changed']),
        ', '.join(str(c) for c in peer['heat_conf_change']['changed']),
        ', '.join(str(c) for c in peer['heat_conf_change']['restarted'])))
    install = peer['puppet_install']
    download = peer['package_download']
    lines += ['', 'puppet %s with puppet-module-heat %s (Debian\'s packages), `%s` applied over SSH in `%s`, '
              'a container created and prepared as `%s`; puppet and the Heat packages downloaded first (%d .deb, '
              '%d MiB, %s), puppet installed from that cache in %s, neither counted. The other tool\'s container '
              'was paused while one was measured.' % (
                  install['puppet'], install['puppet_module_heat'], peer['manifest'], peer['container'],
                  results['container'], download['debs_downloaded'], download['mib_downloaded'],
                  seconds(download['seconds']), seconds(install['seconds']))]
    return lines


# --- The report -------------------------------------------------------------------

def range_text(values):
    """'7' when all runs agree, '7-9' otherwise."""
    low, high = min(values), max(values)
    return str(low) if low == high else '%d-%d' % (low, high)


def counts_text(runs):
    """'executed (skipped)' and 'module invocations (remote commands)' of a list of runs, as text."""
    executed = range_text([r['tasks_executed'] for r in runs])
    skipped = range_text([r['tasks_skipped'] for r in runs])
    invocations = range_text([r['module_invocations'] for r in runs])
    remote = range_text([r['remote_commands'] for r in runs])
    return '%s (%s skipped)' % (executed, skipped), '%s (%s)' % (invocations, remote)


def markdown(results):
    """The Markdown report: header, notes, then one table per figure."""
    lines = header_lines(results)
    if results.get('peer'):
        lines += peer_table(results) + ['']
    lines += runs_table(results) + [''] + phases_table(results) + [''] + task_targets_table(results)
    lines += [''] + slowest_table('Ten slowest tasks of the fresh converge',
                                  results.get('fresh_converge', {}).get('slowest_tasks', []))
    lines += [''] + slowest_table('Five slowest tasks of the median no-op re-run (`--skip-tags verify`)',
                                  results['noop_skip_verify']['slowest_tasks_of_median_run'][:5])
    lines += [''] + targets_table(results)
    return '\n'.join(lines)


def header_lines(results):
    """Title, machine and date, how downloads were left out, the lab's connection cost."""
    machine = results['machine']
    lines = [
        '### Benchmark (`%s`)' % results['command'],
        '',
        'Measured %s on %s CPUs (%s), %s GiB RAM, load average %s at start (%s at the end), '
        '%d podman containers running; CPU reference loop %s s at start (%s s at the end; lower is a faster '
        'machine); %s, commit %s.' % (
            results['date'], machine['nproc'], machine['cpu_model'], machine['memory_gib'],
            ' '.join(str(x) for x in machine['load_average_at_start']),
            ' '.join(str(x) for x in machine.get('load_average_at_end', [])),
            len(machine['containers_running_at_start']), machine.get('cpu_reference_seconds', '-'),
            machine.get('cpu_reference_seconds_at_end', '-'), results['software']['ansible'],
            results['software']['commit']),
        '',
    ]
    download = results.get('package_download')
    if download:
        lines += ['Packages downloaded first with `apt-get install --download-only` (%d .deb, %d MiB): %s, '
                  'not counted in the fresh converge.' % (
                      download['debs_downloaded'], download['mib_downloaded'], seconds(download['seconds'])), '']
    noop = median_run(results['noop_skip_verify']['runs'])
    per_module = noop['remote_commands'] / max(noop['module_invocations'], 1)
    if results['connection'] == 'ssh':
        lines += ['Ansible reached the controller over SSH with pipelining, as it reaches a real controller: '
                  '%.1f remote commands per module invocation on the no-op re-run (one `podman exec` takes '
                  '%.2f s here, for comparison with `--connection podman`).' % (
                      per_module, results['podman_exec_seconds']), '']
    else:
        lines += ['Ansible reached the controller with `podman exec` (the podman connection has no pipelining): '
                  'one `podman exec` took %.2f s (median of 5) on this machine, and a module invocation cost %.1f '
                  'podman commands on the no-op re-run.' % (results['podman_exec_seconds'], per_module), '']
    return lines


def targets_table(results):
    lines = ['| Target (issues 7 and 17) | Measured | Met |', '| --- | --- | --- |']
    for check in results['targets']:
        lines.append('| %s | %s | %s |' % (check['target'], check['measured'], 'yes' if check['met'] else '**no**'))
    return lines


def runs_table(results):
    lines = ['| Run | Wall time (min / median / max) | Tasks executed | Module invocations (remote commands) '
             '| Changed |', '| --- | --- | --- | --- | --- |']
    fresh = results.get('fresh_converge')
    if fresh:
        runs = results['fresh_converges']['runs']
        executed, invocations = counts_text(runs)
        lines.append('| Fresh converge of `site.yml` (downloads excluded) (x%d) | %s | %s | %s | %s |'
                     % (len(runs), spread_text(results['fresh_converges']['wall']), executed, invocations,
                        ', '.join(str(r['changed']) for r in runs)))
    for key, label in (('noop_skip_verify', 'No-op re-run, `site.yml --skip-tags verify`'),
                       ('noop_full', 'No-op re-run, `site.yml` with the verification'),
                       ('heat_conf_change', 'Re-run after changing one heat.conf key (`--skip-tags verify`)')):
        block = results[key]
        executed, invocations = counts_text(block['runs'])
        lines.append('| %s (x%d) | %s | %s | %s | %s |' % (
            label, len(block['runs']), spread_text(block['wall']), executed, invocations,
            ', '.join(str(c) for c in block['changed'])))
    multi = results.get('noop_multi')
    if multi:
        executed, invocations = counts_text(multi['runs'])
        lines.append('| No-op re-run on %d controllers, `site.yml --skip-tags verify` (x%d) | %s | %s | %s | %s |' % (
            multi['controllers'], len(multi['runs']), spread_text(multi['wall']), executed, invocations,
            ', '.join(str(c) for c in multi['changed'])))
    return lines


def phases_table(results):
    fresh = results.get('fresh_converge')
    noop = results['noop_skip_verify']['runs']
    median_noop = median_run(noop)
    lines = ['| Phase | Fresh converge | Median no-op re-run (`--skip-tags verify`) |', '| --- | --- | --- |']
    for phase in median_noop['phases']:
        lines.append('| %s | %s | %s |' % (phase, seconds(fresh['phases'][phase]) if fresh else '-',
                                           seconds(median_noop['phases'][phase])))
    if fresh:
        lines.append("| of which Heat's own service start-up (restarts + readiness waits) | %s | %s |" % (
            seconds(fresh['heat_service_startup_seconds']),
            seconds(sum(t['seconds'] for t in median_noop['tasks'] if t['file'] in STARTUP_FILES))))
    return lines


def task_targets_table(results):
    lines = ['| Task on a no-op re-run | min / median / max | Target |', '| --- | --- | --- |']
    for figure in results['noop_task_seconds'].values():
        target = 'under %.0f s' % figure['target_seconds'] if figure['target_seconds'] else '-'
        lines.append('| %s | %s | %s |' % (figure['task'], spread_text(figure['seconds']), target))
    return lines


def slowest_table(title, tasks):
    lines = ['| %s | Phase | Time |' % title, '| --- | --- | --- |']
    for task in tasks:
        marks = (' (handler)' if task['handler'] else '') + (' (changed)' if task['changed'] else '')
        lines.append('| %s%s | %s | %s |' % (task['name'], marks, task['phase'], seconds(task['seconds'])))
    return lines


# --- Main ---------------------------------------------------------------------------

def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--container', default='bench-controller',
                        help='lab controller container (default: bench-controller)')
    parser.add_argument('--fresh', action='store_true',
                        help='create and prepare a new container first (otherwise reuse the prepared one, '
                             'or create it when missing)')
    parser.add_argument('--keep', action='store_true', help='keep the container at the end')
    parser.add_argument('--connection', choices=['ssh', 'podman'], default='ssh',
                        help='how the measured runs reach the controller: ssh with pipelining, as a real '
                             'controller (default), or podman exec, the lab\'s transport')
    parser.add_argument('--repeat', type=int, default=3, help='runs of each re-run figure (default: 3)')
    parser.add_argument('--fresh-repeat', type=int,
                        help='fresh applies of each tool, Heat taken away in between (default: --repeat)')
    parser.add_argument('--peer', choices=['puppet'],
                        help='also measure Debian\'s puppet-heat (benchmark/puppet/heat.pp) in a second container, '
                             'in the same run, and print both tools\' figures with their ratios')
    parser.add_argument('--peer-container', default='bench-puppet',
                        help='the peer\'s container (default: bench-puppet)')
    parser.add_argument('--image', default=IMAGE,
                        help='lab image of the containers (default: %s; localhost/heat-lab-debian12:latest '
                             'for Debian 12)' % IMAGE)
    parser.add_argument('--controllers', type=int, default=1,
                        help='also measure the no-op on this many controllers: the first, and as many more '
                             'containers (Heat only, sharing its MariaDB, RabbitMQ and Keystone); default 1')
    parser.add_argument('--rolling', action='store_true',
                        help='measure the rolling re-run of the multinode lab under the prober\'s load instead')
    parser.add_argument('--output', type=Path, default=ROOT / 'benchmark' / 'results' / 'latest.json',
                        help='JSON file to write (default: benchmark/results/latest.json)')
    args = parser.parse_args()
    if args.rolling and args.output == parser.get_default('output'):
        args.output = args.output.with_name('rolling.json')
    if args.repeat < 1 or (args.fresh_repeat is not None and args.fresh_repeat < 1):
        parser.error('--repeat and --fresh-repeat must be at least 1')
    if args.fresh_repeat is None:
        args.fresh_repeat = args.repeat
    if args.controllers < 1 or (args.controllers > 1 and (args.rolling or args.connection != 'ssh')):
        parser.error('--controllers must be at least 1, and more than 1 only over SSH, without --rolling')
    if args.peer and (args.rolling or args.connection != 'ssh'):
        parser.error('--peer measures over SSH, on one controller: not with --rolling or --connection podman')
    if args.peer and args.peer_container == args.container:
        parser.error('--peer-container must differ from --container')
    return args


def set_up_container(args, inventory, logs, results, name=None, label='prepare'):
    """Reuse the prepared container, or create and prepare one (--fresh, or none yet)."""
    name = name or args.container
    if container_exists(name):
        if not args.fresh:
            if not package_installed(name, 'keystone'):
                raise SystemExit('benchmark: %s is not prepared (no Keystone): use --fresh' % name)
            log('reusing the prepared container %s' % name)
            return
        if not created_by_benchmark(name):
            raise SystemExit('benchmark: container %s exists and was not created by the benchmark: '
                             'choose another --container' % name)
        log('removing the previous benchmark container %s' % name)
        remove_container(name)
    elif not args.fresh:
        log('no container %s yet: creating one, as with --fresh' % name)
    create_and_prepare(name, inventory, logs, results, label)


def create_and_prepare(name, inventory, logs, results, label='prepare'):
    """A new container from the lab image, prepared by benchmark/prepare.yml."""
    ensure_image()
    log('creating container %s from %s' % (name, IMAGE))
    start = time.monotonic()
    create_container(name)
    results['container_create_seconds'] = time.monotonic() - start
    log('preparing it (%s: MariaDB, RabbitMQ, Keystone)' % PREPARE_PLAYBOOK)
    prepare = run_playbook(label, [PREPARE_PLAYBOOK], inventory, logs)
    results['prepare_seconds'] = prepare['wall_seconds']
    log('prepared in %.0f s' % prepare['wall_seconds'])


def clean_up(args, name=None):
    """Remove the container, unless --keep or the benchmark did not create it."""
    name = name or args.container
    if not container_exists(name):
        return
    if args.keep or not created_by_benchmark(name):
        log('container %s left in place' % name)
    else:
        log('removing container %s' % name)
        remove_container(name)


def measure(args, inventory, logs, results):
    """All the figures, in order: fresh converge, no-op runs, heat.conf change."""
    name = args.container
    results['podman_exec_seconds'] = podman_exec_seconds(name)
    log('one podman exec takes %.2f s here' % results['podman_exec_seconds'])
    if package_installed(name, 'heat-engine'):
        log('Heat is already installed in %s: no fresh converge measured (use --fresh)' % name)
    else:
        log('downloading the Heat packages (apt-get install --download-only)')
        results['package_download'] = download_packages(name)
        log('downloaded in %.0f s' % results['package_download']['seconds'])
        results['fresh_converges'] = fresh_applies(
            name, args.fresh_repeat, lambda i: measure_fresh_converge(inventory, logs, i, args.fresh_repeat))
        # The median run's phases and slowest tasks for the tables.
        results['fresh_converge'] = median_run(results['fresh_converges']['runs'])

    results['noop_skip_verify'] = measure_reruns(
        'noop-skip-verify', lambda i: ['site.yml', '--skip-tags', 'verify'], args.repeat, inventory, logs)
    results['noop_full'] = measure_reruns('noop-full', lambda i: ['site.yml'], args.repeat, inventory, logs)

    first = not current_debug(name)
    results['heat_conf_change'] = measure_reruns(
        'heat-conf-change',
        lambda i: ['site.yml', '--skip-tags', 'verify', '-e', debug_override(first if i % 2 == 0 else not first)],
        args.repeat, inventory, logs)
    results['noop_task_seconds'] = noop_task_times(results['noop_skip_verify']['runs'])
    if args.controllers > 1:
        results['noop_multi'] = measure_multi(args, inventory, logs)


def extra_names(args):
    return ['%s%d' % (args.container, index) for index in range(2, args.controllers + 1)]


def measure_multi(args, inventory, logs):
    """--controllers N: N-1 more controllers beside the first, converged, then the no-op on all N.

    Each new container runs Heat only: it reaches the first one's MariaDB,
    RabbitMQ and Keystone through the name `controller` (--add-host), as the
    lab inventory's URLs say, over the default podman network. They get the
    same SSH set-up as the first; their converge is not measured.
    """
    address = container_address(args.container)
    directory = inventory.parent
    more = {}
    for index, name in enumerate(extra_names(args), start=2):
        if container_exists(name):
            if not created_by_benchmark(name):
                raise SystemExit('benchmark: container %s exists and was not created by the benchmark' % name)
        else:
            log('creating container %s (controller%d, Heat only)' % (name, index))
            create_container(name, hostname='controller%d' % index, extra=['--add-host', 'controller:%s' % address])
        more[name] = enable_ssh(name, directory)
    connection = yaml.safe_load(inventory.read_text())['controller']['hosts'][args.container]
    connection.pop('ansible_python_interpreter', None)
    multi = write_inventory(directory, args.container, connection, more=more, file_name='hosts-multi.yml')
    log('converging the %d controllers (site.yml --skip-tags verify, not measured)' % args.controllers)
    converge = run_playbook('multi-converge', ['site.yml', '--skip-tags', 'verify'], multi, logs)
    block = measure_reruns('noop-%d-controllers' % args.controllers, lambda i: ['site.yml', '--skip-tags', 'verify'],
                           args.repeat, multi, logs)
    block['controllers'] = args.controllers
    block['converge_seconds'] = converge['wall_seconds']
    return block


def molecule(action, logs, env=None):
    """Run `molecule ACTION -s multinode` from the repository root; its output goes to a log file."""
    log_path = logs / ('multinode-%s.log' % action)
    start = time.monotonic()
    with open(log_path, 'w') as handle:
        proc = subprocess.run([str(VENV_BIN / 'molecule'), action, '-s', 'multinode'], cwd=ROOT, stdout=handle,
                              stderr=subprocess.STDOUT, timeout=PLAYBOOK_TIMEOUT,
                              env=dict(os.environ, PATH='%s:%s' % (VENV_BIN, os.environ['PATH']), **(env or {})))
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit('benchmark: molecule %s -s multinode failed (rc %d), see %s' % (action, proc.returncode, log_path))
    return seconds


def measure_rolling(args, logs, results):
    """The multinode lab converged, then rolling.yml --repeat times: run time and prober figures."""
    ensure_image()
    results['multinode_setup_seconds'] = {}
    for action in ('create', 'prepare', 'converge'):
        log('molecule %s -s multinode' % action)
        results['multinode_setup_seconds'][action] = molecule(action, logs)
        log('%s took %.0f s' % (action, results['multinode_setup_seconds'][action]))
    runs = []
    for index in range(args.repeat):
        figures = logs / ('rolling-%d.json' % (index + 1))
        log('rolling run %d of %d (prober through https://heat-vip)' % (index + 1, args.repeat))
        wall = molecule('side-effect', logs, env={'HEAT_MULTINODE_SIDE_EFFECT': 'rolling.yml',
                                                 'HEAT_ROLLING_VALUE': str(1000 + index),
                                                 'HEAT_ROLLING_RESULTS': str(figures)})
        run = json.loads(figures.read_text())
        prober = run['prober']
        runs.append({'site_seconds': run['rolling_run_seconds'], 'playbook_seconds': wall,
                     'requests': prober['requests'], 'failed': prober['failed'],
                     'stacks_deleted': prober.get('stacks_deleted')})
        log('site.yml %.1f s; requests %d, failed %d' % (run['rolling_run_seconds'], prober['requests'], prober['failed']))
    results['rolling'] = {'runs': runs, 'site_seconds': spread([r['site_seconds'] for r in runs])}


def rolling_markdown(results):
    """The report of --rolling: one row per figure."""
    runs = results['rolling']['runs']
    setup = results['multinode_setup_seconds']
    lines = ['Benchmark of %s, %s (2 controllers behind haproxy, TLS everywhere).' % (results['command'], results['date']),
             '',
             '| Figure | Value |', '| --- | --- |',
             '| Lab set-up: create / prepare / converge | %s |' % ' / '.join(seconds(setup[a]) for a in ('create', 'prepare', 'converge')),
             '| Rolling re-run of site.yml after one heat.conf change (x%d) | %s |' % (
                 len(runs), spread_text(results['rolling']['site_seconds'])),
             '| Prober through https://heat-vip during each run: requests | %s |' % ', '.join(str(r['requests']) for r in runs),
             '| ... failed | %s |' % ', '.join(str(r['failed']) for r in runs),
             '| ... stacks created and deleted | %s |' % ', '.join(str(r['stacks_deleted']) for r in runs)]
    return '\n'.join(lines)


def stop_on_sigterm(signum, frame):
    """SIGTERM ends the benchmark like Ctrl-C: the container is still removed."""
    raise KeyboardInterrupt


def main():
    global IMAGE
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    args = parse_args()
    IMAGE = args.image
    logs = args.output.parent / 'logs'
    logs.mkdir(parents=True, exist_ok=True)
    results = {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'command': shlex.join(['python3', 'scripts/benchmark.py'] + sys.argv[1:]),
        'container': args.container,
        'repeat': args.repeat,
        'connection': args.connection,
        'image': args.image,
        'machine': machine_info(),
        'software': software_info(),
    }
    machine = results['machine']
    log('benchmark on %s CPUs (%s), %s GiB RAM, load %s; logs in %s' % (
        machine['nproc'], machine['cpu_model'], machine['memory_gib'], machine['load_average_at_start'], logs))
    if args.rolling:
        try:
            measure_rolling(args, logs, results)
        finally:
            if not args.keep:
                log('molecule destroy -s multinode')
                molecule('destroy', logs)
        args.output.write_text(json.dumps(results, indent=2) + '\n')
        print()
        print(rolling_markdown(results))
        return
    with tempfile.TemporaryDirectory(prefix='heat-benchmark-') as directory:
        inventory = write_inventory(directory, args.container, PODMAN_CONNECTION)
        peer_directory = Path(directory) / 'peer'
        peer_directory.mkdir()
        try:
            if args.peer:
                # Prepared by the same playbook, at the same time (nothing is measured yet).
                results['peer_setup'] = {}
                peer_inventory = write_inventory(peer_directory, args.peer_container, PODMAN_CONNECTION)
                errors = []

                def prepare_peer():
                    try:
                        set_up_container(args, peer_inventory, logs, results['peer_setup'],
                                         name=args.peer_container, label='peer-prepare')
                    except BaseException as error:  # reported by the main thread
                        errors.append(error)

                ensure_image()
                thread = threading.Thread(target=prepare_peer)
                thread.start()
            set_up_container(args, inventory, logs, results)
            if args.peer:
                thread.join()
                if errors:
                    raise errors[0]
                peer_connection = enable_ssh(args.peer_container, peer_directory)
            if args.connection == 'ssh':
                inventory = write_inventory(directory, args.container, enable_ssh(args.container, directory))
            if args.peer:
                pause(args.peer_container, True)
            measure(args, inventory, logs, results)
            if args.peer:
                pause(args.container, True)
                pause(args.peer_container, False)
                results['peer'] = measure_peer(args, peer_connection, logs)
            results['targets'] = targets(results)
        except BaseException as error:
            # What was measured before the failure is kept (a full run takes about 45 min).
            results['incomplete'] = '%s: %s' % (type(error).__name__, error)
            partial = args.output.with_name(args.output.stem + '.partial.json')
            partial.write_text(json.dumps(results, indent=2, default=str) + '\n')
            log('the figures measured so far are in %s' % partial)
            raise
        finally:
            if args.peer:
                for name in (args.container, args.peer_container):
                    if container_exists(name):
                        pause(name, False)
                clean_up(args, args.peer_container)
            clean_up(args)
            for name in extra_names(args):
                clean_up(args, name)

    results['machine']['load_average_at_end'] = [round(x, 2) for x in os.getloadavg()]
    results['machine']['cpu_reference_seconds_at_end'] = cpu_reference_seconds()
    args.output.write_text(json.dumps(results, indent=2) + '\n')
    print()
    print(markdown(results))
    print()
    log('JSON written to %s' % args.output)


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        sys.exit('benchmark: interrupted (the container was removed unless --keep)')
