#!/usr/bin/env python3
"""Where the test suite's time goes, from the output of its molecule runs.

    COMMAND 2>&1 | suite_times.py stamp LOG    each line, prefixed with the seconds since the start,
                                               to stdout and to LOG
    suite_times.py sample FILE                 the machine's load and memory in use every 15 s,
                                               to FILE, until stopped
    suite_times.py report LOG... [FILE]        a Markdown table per LOG: each molecule phase
                                               (create, prepare, converge, ...) and, inside the
                                               verifier and the side effects, each test file
                                               and the slowest tests (pytest's --durations);
                                               for a FILE of samples, their peaks and means

`make test` stamps each scenario's output into .cache/suite/SCENARIO.log,
samples into .cache/suite/machine.samples, and prints the report at its end;
docs/testing.md keeps a dated copy.
"""
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

ANSI = re.compile(r'\x1b\[[0-9;]*m')
STAMP = re.compile(r'^\s*(\d+\.\d) (.*)$')
# molecule: "INFO     default ➜ converge: Executing" ... "Executed: Successful"
PHASE = re.compile(r'(?:INFO|WARNING)\s+(\S+) ➜ (\w+): (Executing|Executed: (\w+))')
# scripts/lab_prepared.py, around the molecule runs that build a scenario's prepared images
BUILD = re.compile(r'lab_prepared: (building the prepared images|\S+ prepared and kept in (\d+) s)')
# pytest --durations: "12.34s call     tests/lab/test_x.py::test_y[a case]"
DURATION = re.compile(r'(\d+\.\d+)s (setup|call|teardown)\s+(\S+?)::(\w+(?:\[[^\]]*\])?)')


def stamp(log_path):
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with open(log_path, 'w', encoding='utf-8') as log:
        for line in sys.stdin:
            line = '%7.1f %s' % (time.monotonic() - start, line)
            sys.stdout.write(line)
            sys.stdout.flush()
            log.write(line)


def sample(path, every=15):
    start = time.monotonic()
    with open(path, 'w', encoding='utf-8') as out:
        while True:
            load = Path('/proc/loadavg').read_text().split()[0]
            meminfo = dict(line.split(':', 1) for line in Path('/proc/meminfo').read_text().splitlines())
            used = (int(meminfo['MemTotal'].split()[0]) - int(meminfo['MemAvailable'].split()[0])) // 1024
            out.write('%.0f %s %d\n' % (time.monotonic() - start, load, used))
            out.flush()
            time.sleep(every)


def machine(path):
    rows = [line.split() for line in Path(path).read_text().splitlines() if len(line.split()) == 3]
    if not rows:
        return []
    loads, used = [float(r[1]) for r in rows], [int(r[2]) for r in rows]
    return ['### the machine (%d samples over %.1f min)' % (len(rows), float(rows[-1][0]) / 60), '',
            '| | peak | mean |', '|---|---:|---:|',
            '| load (1 min) | %.1f | %.1f |' % (max(loads), sum(loads) / len(loads)),
            '| memory in use (MiB) | %d | %d |' % (max(used), sum(used) / len(used)), '']


def parse(text):
    """(phases [(scenario, phase, seconds, outcome)], tests {(file, test): seconds}, total seconds)."""
    phases, tests, steps, opened, last, prefix = [], defaultdict(float), {}, {}, 0.0, ''
    for raw in text.splitlines():
        line = ANSI.sub('', raw)
        match = STAMP.match(line)
        if not match:
            continue
        seconds, line = float(match.group(1)), match.group(2)
        last = seconds
        build = BUILD.search(line)
        if build:
            prefix = '' if build.group(2) else 'image: '
            if build.group(2):
                phases.append(('', 'prepared images built', float(build.group(2)), 'Successful'))
            continue
        phase = PHASE.search(line)
        if phase:
            scenario, name, what, outcome = phase.groups()
            name = prefix + name
            if what == 'Executing':
                opened[(scenario, name)] = seconds
            elif (scenario, name) in opened:
                phases.append((scenario, name, seconds - opened.pop((scenario, name)), outcome))
            continue
        duration = DURATION.search(line)
        if duration:
            # A side effect's report may show the same line twice: once per test and step.
            steps[(Path(duration.group(3)).name, duration.group(4), duration.group(2))] = float(duration.group(1))
    for (file, test, _), seconds in steps.items():
        tests[(file, test)] += seconds
    # A phase still open at the end (the run failed or was stopped there).
    phases += [(scenario, name, last - begun, 'unfinished') for (scenario, name), begun in opened.items()]
    return phases, tests, last


def report(paths, slowest=12):
    out = []
    for path in paths:
        if path.endswith('.samples'):
            out += machine(path)
            continue
        phases, tests, total = parse(Path(path).read_text(encoding='utf-8', errors='replace'))
        out += ['### %s: %.1f min' % (Path(path).stem, total / 60), '', '| phase | seconds | outcome |', '|---|---:|---|']
        out += ['| %s | %.0f | %s |' % (name, seconds, outcome) for _, name, seconds, outcome in phases
                if seconds >= 1 and outcome != 'Missing']
        if tests:
            files = defaultdict(float)
            for (file, _), seconds in tests.items():
                files[file] += seconds
            out += ['', '| test file | seconds |', '|---|---:|']
            out += ['| %s | %.0f |' % item for item in sorted(files.items(), key=lambda i: -i[1])]
            out += ['', '| slowest tests | seconds |', '|---|---:|']
            out += ['| %s::%s | %.0f |' % (file, test, seconds)
                    for (file, test), seconds in sorted(tests.items(), key=lambda i: -i[1])[:slowest]]
        out.append('')
    return '\n'.join(out)


def main(argv):
    if len(argv) == 3 and argv[1] == 'stamp':
        stamp(argv[2])
    elif len(argv) == 3 and argv[1] == 'sample':
        sample(argv[2])
    elif len(argv) >= 3 and argv[1] == 'report':
        print(report([p for p in argv[2:] if Path(p).is_file()]))
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main(sys.argv)
