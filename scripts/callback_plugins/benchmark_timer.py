"""Callback plugin of scripts/benchmark.py: one JSON line per task result.

Used only by the benchmark, which enables it (scripts/heatbench/playbook.py)
with ANSIBLE_CALLBACK_PLUGINS=scripts/callback_plugins, ANSIBLE_CALLBACKS_ENABLED
and BENCHMARK_TIMINGS_FILE (the file the lines are appended to). Each line
holds the task name, the file the task comes from (task.get_path()), the
start of the task, the time of its result, the host and the outcome.
"""
import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: benchmark_timer
    type: aggregate
    short_description: Per-task timings for scripts/benchmark.py
    description:
      - Appends one JSON line per task result to the file named by the BENCHMARK_TIMINGS_FILE environment variable.
    requirements:
      - enabled in ANSIBLE_CALLBACKS_ENABLED
"""


class CallbackModule(CallbackBase):
    """Record when each task starts and when each of its results arrives."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'benchmark_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._path = os.environ.get('BENCHMARK_TIMINGS_FILE')
        self._starts = {}

    def _task_started(self, task, handler):
        self._starts[task._uuid] = (time.time(), handler)

    def _write(self, result, status):
        """Append one line for this result (nothing when no file was given)."""
        if not self._path:
            return
        task = result._task
        start, handler = self._starts.get(task._uuid, (None, False))
        raw = result._result
        line = {
            'name': task.get_name(),
            'path': task.get_path() or '',
            'action': task.action,
            'handler': handler,
            'host': result._host.get_name(),
            'start': start,
            'end': time.time(),
            'status': status,
            'changed': bool(raw.get('changed', False)) and status != 'skipped',
            'items': len(raw.get('results', [])) if isinstance(raw.get('results'), list) else 0,
            'attempts': raw.get('attempts', 1) if isinstance(raw.get('attempts'), int) else 1,
        }
        with open(self._path, 'a', encoding='utf-8') as stream:
            stream.write(json.dumps(line) + '\n')

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_started(task, handler=False)

    def v2_playbook_on_handler_task_start(self, task):
        self._task_started(task, handler=True)

    def v2_runner_on_ok(self, result):
        self._write(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._write(result, 'ignored' if ignore_errors else 'failed')

    def v2_runner_on_skipped(self, result):
        self._write(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._write(result, 'unreachable')
