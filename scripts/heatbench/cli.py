"""The command line: the options, the order of the measurements, and main
(scripts/benchmark.py calls it with its docstring, the options' description).
"""
import argparse
import datetime
import json
import os
import shlex
import signal
import sys
import tempfile
import threading
from pathlib import Path

import yaml

from heatbench import common
from heatbench.common import ROOT, log, spread
from heatbench.lab import (
    clean_up, container_address, container_exists, cpu_reference_seconds, create_container, created_by_benchmark,
    current_debug, download_packages, enable_ssh, ensure_image, fresh_applies, machine_info, molecule,
    package_installed, pause, podman_exec_seconds, set_up_container, software_info,
)
from heatbench.peer import measure_peer
from heatbench.playbook import (
    PODMAN_CONNECTION, debug_override, measure_fresh_converge, measure_reruns, median_run, noop_task_times,
    run_playbook, write_inventory,
)
from heatbench.report import markdown, rolling_markdown, targets


def parse_args(doc):
    parser = argparse.ArgumentParser(description=doc.split('\n\n')[0],
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
    parser.add_argument('--image', default=common.IMAGE,
                        help='lab image of the containers (default: %s; localhost/heat-lab-debian12:latest '
                             'for Debian 12)' % common.IMAGE)
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


def stop_on_sigterm(signum, frame):
    """SIGTERM ends the benchmark like Ctrl-C: the container is still removed."""
    raise KeyboardInterrupt


def main(doc):
    """The benchmark; DOC is scripts/benchmark.py's docstring (--help shows its first paragraph)."""
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    args = parse_args(doc)
    common.IMAGE = args.image
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
