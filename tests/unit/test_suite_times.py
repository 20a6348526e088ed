"""scripts/suite_times.py: the phases and tests of a stamped molecule run."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'scripts'))
import suite_times  # noqa: E402  (after the path is set)

LOG = '''\
    0.1 lab_prepared: building the prepared images of default: localhost/heat-lab-prepared-lab-controller:latest does not exist
    0.2 INFO     default \u279c prepare: Executing
    0.3 WARNING  default \u279c cleanup: Executing
    0.4 WARNING  default \u279c cleanup: Executed: Missing playbook (Remove from destroy_sequence to suppress)
    0.7 INFO     default \u279c prepare: Executed: Successful
    0.8 lab_prepared: default prepared and kept in 1 s
    0.8 \x1b[36mINFO    \x1b[0m \x1b[32mdefault\x1b[0m \u279c \x1b[33mcreate\x1b[0m: \x1b[36mExecuting\x1b[0m
    9.9 INFO     default \u279c create: Executed: Successful
    9.9 INFO     default \u279c converge: Executing
  130.0   \u2502 ok: [lab-controller]
  190.4 INFO     default \u279c converge: Executed: Successful
  190.4 INFO     default \u279c verify: Executing
  400.0 ============================= slowest durations ==============================
  400.0 120.50s call     molecule/default/tests/test_zz_safety.py::test_password_rotation_end_to_end
  400.0 3.25s setup    molecule/default/tests/test_zz_safety.py::test_password_rotation_end_to_end
  400.0 30.00s call     test_heat.py::test_bad_input[empty db password]
  400.1 30.00s call     test_heat.py::test_bad_input[empty db password]
  400.0   \u2502 ok: [localhost] => { "msg": [ "12.00s call     tests/lab/test_upgrade.py::test_upgrade" ] }
  401.0 INFO     default \u279c verify: Executed: Failed
  402.0 INFO     default \u279c destroy: Executing
  420.0 some last line
'''


def test_phases_tests_and_the_unfinished_phase_are_found():
    phases, tests, total = suite_times.parse(LOG)
    assert [(name, round(seconds, 1), outcome) for _, name, seconds, outcome in phases] == [
        ('image: cleanup', 0.1, 'Missing'), ('image: prepare', 0.5, 'Successful'),
        ('prepared images built', 1.0, 'Successful'), ('create', 9.1, 'Successful'), ('converge', 180.5, 'Successful'), ('verify', 210.6, 'Failed'),
        ('destroy', 18.0, 'unfinished')]
    assert tests == {('test_zz_safety.py', 'test_password_rotation_end_to_end'): 123.75,
                     ('test_heat.py', 'test_bad_input[empty db password]'): 30.0,
                     ('test_upgrade.py', 'test_upgrade'): 12.0}
    assert total == 420.0


def test_the_report_names_each_phase_and_the_slowest_test(tmp_path):
    log = tmp_path / 'default.log'
    log.write_text(LOG)
    samples = tmp_path / 'machine.samples'
    samples.write_text('0 1.5 1000\n15 4.5 3000\n')
    text = suite_times.report([str(log), str(samples)])
    assert '### default: 7.0 min' in text
    assert '| verify | 211 | Failed |' in text
    assert '| prepared images built | 1 | Successful |' in text and 'cleanup' not in text
    assert '| test_zz_safety.py | 124 |' in text
    assert '| load (1 min) | 4.5 | 3.0 |' in text
    assert '| memory in use (MiB) | 3000 | 2000 |' in text
