"""The lab the benchmark measures in: this machine's figures, the lab
containers (podman: create, prepare, pause, remove), the Heat packages
downloaded ahead, Heat taken away between fresh applies, the SSH set-up of
the measured runs, and molecule's multinode lab.

common.IMAGE is read at call time: --image sets it (cli.main).
"""
import configparser
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

from heatbench import common
from heatbench.common import (
    LABEL, PLAYBOOK_TIMEOUT, PREPARE_PLAYBOOK, ROOT, UNDEPLOY_SCRIPT, VENV_BIN, log, run, spread,
)
from heatbench.playbook import run_playbook


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
    if run(['podman', 'image', 'exists', common.IMAGE], check=False).returncode != 0:
        log('image %s missing: building it with scripts/build-image.sh' % common.IMAGE)
        suite = 'bookworm' if 'debian12' in common.IMAGE else 'trixie'
        subprocess.run(['bash', str(ROOT / 'scripts' / 'build-image.sh')], check=True,
                       env=dict(os.environ, HEAT_LAB_SUITE=suite, HEAT_LAB_IMAGE=common.IMAGE))


def create_container(name, hostname='controller', extra=()):
    """A new lab controller, with molecule.yml's options; waits for systemd."""
    run(['podman', 'run', '--detach', '--name', name, '--hostname', hostname,
         '--label', LABEL, '--systemd', 'always',
         '--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=30000:30000']
        + list(extra) + [common.IMAGE, '/sbin/init'])
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


# --- Setting up, pausing and removing the containers --------------------------

def pause(name, paused):
    """Pause (or unpause) a container so that it takes no CPU while the other tool is measured."""
    state = run(['podman', 'inspect', '--format', '{{.State.Status}}', name], check=False).stdout.strip()
    if (state == 'paused') == paused:
        return
    proc = run(['podman', 'pause' if paused else 'unpause', name], check=False)
    if proc.returncode != 0:
        log('  podman %s %s failed (measuring anyway): %s' % (
            'pause' if paused else 'unpause', name, proc.stdout.strip()[-200:]))


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
    log('creating container %s from %s' % (name, common.IMAGE))
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


# --- The multinode lab (molecule's scenario, --rolling) -----------------------

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
