#!/usr/bin/env python3
"""Run a command against a molecule scenario whose prepared containers start from images.

    lab_prepared.py LAB COMMAND...     e.g. lab_prepared.py default molecule test -s default

A lab is a molecule scenario on a Debian suite: most are their scenario of
the same name; `unstable` is the `testing` scenario started from Debian
unstable's base image.

A scenario's prepare installs the same Debian packages on every run (MariaDB,
RabbitMQ, Keystone; in `default` also Glance, Placement, Nova and Neutron).
Its result is kept instead, one image per container that prepare sets up,
localhost/heat-lab-prepared-LAB-NAME:latest, labelled with

- heat.lab.prepared: a digest of everything the prepare reads (INPUTS, the
  base image's id, LAB_CATALOG) — any change builds the images again;
- heat.lab.prepared.at: when it was built (seconds since the epoch) — an
  image older than HEAT_LAB_PREPARED_MAX_AGE_DAYS (default 7) is built
  again, so that Debian's updates still arrive.

The images are built here, with molecule's own create (and prepare) from the
base image of scripts/build-image.sh, each container then stopped cleanly
and committed; nothing is pulled. COMMAND then runs with HEAT_LAB_IMAGE_NAME
naming each image (the scenarios' molecule.yml use them in place of the
base image) and HEAT_LAB_PREPARE=ready (their prepare step runs ready.yml,
which waits for the services instead of installing them). The multinode
images trust the lab CA made when they were built: it is kept beside them
(HEAT_LAB_PKI_SEED, read by the scenario's dependency step).

Containers that prepare does not set up (multinode's controllers) start
from the base image, as a new controller does. Heat itself is never in an
image: converge installs it from Debian's mirror on every run.
"""
import collections
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get('HEAT_LAB_CACHE', '/var/cache/heat-lab'))
MAX_AGE_DAYS = float(os.environ.get('HEAT_LAB_PREPARED_MAX_AGE_DAYS', '7'))

COMMON = ['scripts/build-image.sh', 'scripts/lab_prepared.py', 'scripts/lab-ssh.sh', 'molecule/shared']
DEFAULT_PREPARE = ['molecule/default/prepare.yml', 'molecule/default/ready.yml', 'molecule/default/tasks',
                   'molecule/default/vars', 'molecule/default/files', 'inventory/lab/group_vars']

Lab = collections.namedtuple('Lab', 'scenario containers base inputs keeps_pki')
# The containers prepare sets up, their base image, what prepare reads, whether a PKI is kept.
LABS = {
    'default': Lab('default', ['lab-controller'], 'localhost/heat-lab-debian13:latest',
                   ['molecule/default/molecule.yml'] + DEFAULT_PREPARE, False),
    'upgrade': Lab('upgrade', ['upgrade-controller'], 'localhost/heat-lab-debian12:latest',
                   ['molecule/upgrade/molecule.yml', 'scripts/lab-cgroup.sh'] + DEFAULT_PREPARE, False),
    'multinode': Lab('multinode', ['infra', 'lb'], 'localhost/heat-lab-debian13:latest',
                     ['molecule/multinode/' + name for name in
                      ('molecule.yml', 'prepare.yml', 'ready.yml', 'tasks', 'templates', 'group_vars', 'make-pki.sh')],
                     True),
    'testing': Lab('testing', ['testing-controller'], 'localhost/heat-lab-debian14:latest',
                   ['molecule/testing/molecule.yml', 'scripts/lab-cgroup.sh'] + DEFAULT_PREPARE, False),
    'unstable': Lab('testing', ['testing-controller'], 'localhost/heat-lab-debiansid:latest',
                    ['molecule/testing/molecule.yml', 'scripts/lab-cgroup.sh'] + DEFAULT_PREPARE, False),
}


def log(message):
    print('lab_prepared: %s' % message, file=sys.stderr, flush=True)


def podman(*args, check=True):
    return subprocess.run(['podman', *args], check=check, text=True, stdout=subprocess.PIPE).stdout.strip()


def image_name(lab, container):
    return 'localhost/heat-lab-prepared-%s-%s:latest' % (lab, container)


def env_name(container):
    return 'HEAT_LAB_IMAGE_' + container.upper().replace('-', '_')


def digest(lab):
    """sha256 of the prepare's inputs (path and content of every file), the base image and LAB_CATALOG."""
    sha = hashlib.sha256()
    for entry in COMMON + LABS[lab].inputs:
        path = ROOT / entry
        files = sorted(p for p in path.rglob('*') if p.is_file()) if path.is_dir() else [path]
        for file in files:
            sha.update(str(file.relative_to(ROOT)).encode() + b'\0' + file.read_bytes() + b'\0')
    sha.update(podman('image', 'inspect', '--format', '{{.Id}}', LABS[lab].base).encode())
    sha.update(os.environ.get('LAB_CATALOG', 'true').encode())
    return sha.hexdigest()


def pki_seed(lab, key):
    return CACHE / ('%s-pki-%s' % (lab, key[:16]))


def current(lab, key):
    """Why the images must be built ('' when every one is current)."""
    for container in LABS[lab].containers:
        image = image_name(lab, container)
        if subprocess.run(['podman', 'image', 'exists', image], check=False).returncode != 0:
            return '%s does not exist' % image
        labels = podman('image', 'inspect', '--format',
                        '{{index .Labels "heat.lab.prepared"}} {{index .Labels "heat.lab.prepared.at"}}', image).split()
        if len(labels) != 2 or labels[0] != key:
            return '%s was prepared from other inputs' % image
        age = (time.time() - float(labels[1])) / 86400
        if age > MAX_AGE_DAYS:
            return '%s is %.1f days old (HEAT_LAB_PREPARED_MAX_AGE_DAYS=%g)' % (image, age, MAX_AGE_DAYS)
    if LABS[lab].keeps_pki and not (pki_seed(lab, key) / 'ca.pem').is_file():
        return 'the CA of the prepared images is missing (%s)' % pki_seed(lab, key)
    return ''


def molecule(env, *args):
    log('molecule %s' % ' '.join(args))
    # stdout to stderr: what COMMAND prints stays apart from the build's output.
    subprocess.run([str(ROOT / '.venv/bin/molecule'), *args], cwd=ROOT, env=env, check=True, stdout=sys.stderr)


def build(lab, key):
    """Create and prepare the lab's scenario from its base image, then commit each prepared container."""
    scenario, containers = LABS[lab].scenario, LABS[lab].containers
    env = {k: v for k, v in os.environ.items() if not k.startswith('HEAT_LAB_IMAGE_')
           and k not in ('HEAT_LAB_PREPARE', 'HEAT_LAB_PKI_SEED')}
    env.update({env_name(c): LABS[lab].base for c in containers})
    env['PATH'] = '%s:%s' % (ROOT / '.venv/bin', env.get('PATH', ''))
    # An ephemeral directory of the build's own: the test run's is untouched, and the PKI is found here.
    env['MOLECULE_EPHEMERAL_DIRECTORY'] = tempfile.mkdtemp(prefix='heat-lab-prepare-%s.' % lab, dir='/var/tmp')
    started = time.monotonic()
    try:
        molecule(env, 'destroy', '-s', scenario)
        molecule(env, 'create', '-s', scenario)  # create, then prepare
        for container in containers:
            # systemd stops every service before the container ends (MariaDB's and RabbitMQ's files consistent).
            podman('stop', '--time', '180', container)
        for container in containers:
            image = image_name(lab, container)
            old = podman('image', 'inspect', '--format', '{{.Id}}', image, check=False)
            podman('commit', '--quiet', '--change', 'LABEL heat.lab.prepared=%s' % key,
                   '--change', 'LABEL heat.lab.prepared.at=%d' % time.time(), container, image)
            if old:
                subprocess.run(['podman', 'rmi', old], check=False, capture_output=True)
        if LABS[lab].keeps_pki:
            seed = pki_seed(lab, key)
            for stale in CACHE.glob('%s-pki-*' % lab):
                shutil.rmtree(stale)
            shutil.copytree(Path(env['MOLECULE_EPHEMERAL_DIRECTORY']) / 'pki', seed)
    finally:
        molecule(env, 'destroy', '-s', scenario)
        shutil.rmtree(env['MOLECULE_EPHEMERAL_DIRECTORY'], ignore_errors=True)
    log('%s prepared and kept in %.0f s' % (lab, time.monotonic() - started))


def main(argv):
    if len(argv) < 3 or argv[1] not in LABS:
        sys.exit('usage: lab_prepared.py {%s} COMMAND...' % ','.join(LABS))
    lab, command = argv[1], argv[2:]
    key = digest(lab)
    CACHE.mkdir(parents=True, exist_ok=True)
    # One build at a time: labs of `make test` that start together on a fresh
    # machine would otherwise install three labs' packages at once on 2 cores.
    with open(CACHE / 'build.lock', 'w', encoding='utf-8') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        reason = current(lab, key)
        if reason:
            log('building the prepared images of %s: %s' % (lab, reason))
            build(lab, key)
        else:
            log('%s starts from its prepared images' % lab)
    env = dict(os.environ, HEAT_LAB_PREPARE='ready')
    env.update({env_name(c): image_name(lab, c) for c in LABS[lab].containers})
    if LABS[lab].keeps_pki:
        env['HEAT_LAB_PKI_SEED'] = str(pki_seed(lab, key))
    os.execvpe(command[0], command, env)


if __name__ == '__main__':
    main(sys.argv)
