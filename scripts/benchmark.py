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
import sys

# The code is the package scripts/heatbench/ (python3 puts scripts/, this
# file's folder, first on sys.path): common, lab, playbook, peer, report, cli.
from heatbench.cli import main

if __name__ == '__main__':
    try:
        main(__doc__)
    except KeyboardInterrupt:
        sys.exit('benchmark: interrupted (the container was removed unless --keep)')
