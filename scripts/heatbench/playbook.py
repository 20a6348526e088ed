"""ansible-playbook runs: the inventory, the environment with the timing
callback (scripts/callback_plugins/benchmark_timer.py) and Ansible's log,
each run's figures by task and phase, and the measured series of runs.
"""
import json
import os
import shlex
import subprocess
import time
from collections import Counter
from pathlib import Path

import yaml

from heatbench.common import (
    ANSIBLE_PLAYBOOK, CALLBACK_DIR, HEAT_CONF_TASK, KEYSTONE_PROBE_TASK, OTHER_TASKS, OUTSIDE_TASKS, PHASES,
    PLAN_TASK, PLAYBOOK_TIMEOUT, ROOT, STARTUP_FILES, VENV_BIN, log, relative, spread,
)


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
