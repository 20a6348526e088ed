"""The report: the targets checked against the figures, and the Markdown
tables (both tools side by side, the runs, the phases, the tasks, the
targets; the rolling re-run's own report).
"""
from heatbench.common import (
    STARTUP_FILES, TARGET_FLOOR_SECONDS, TARGET_FRESH_SECONDS, TARGET_MULTI_RATIO, TARGET_NOOP_SECONDS,
    TARGET_PEER_RATIO, seconds, spread, spread_text,
)
from heatbench.playbook import median_run


# --- The targets --------------------------------------------------------------

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


# --- Both tools side by side (--peer puppet) ----------------------------------

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


# --- The tables ---------------------------------------------------------------

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
    lines = ['| Target | Measured | Met |', '| --- | --- | --- |']
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
