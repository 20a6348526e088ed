#!/usr/bin/env python3
"""A client of Heat through the load balancer, counting every failure.

Runs on `infra` (rolling.yml starts it with systemd-run) while site.yml
changes heat.conf on every controller: a rolling restart must not make
any of these requests fail.

    python3 prober.py --openrc /root/demo-openrc.sh --summary FILE
                      [--stop-file FILE] [--max-seconds N] ...

Credentials come from the openrc file (OS_AUTH_URL, OS_USERNAME,
OS_PASSWORD, OS_PROJECT_NAME, the domains, OS_CACERT), then from the
environment. Each iteration:
  - GET  https://heat-vip:8004/v1/<project>/stacks   (expects 200)
  - GET  https://heat-vip:8000/                      (the CFN API's versions,
                                                      expects 200 or 300)
and every --stack-every iterations a tiny stack (one OS::Heat::RandomString)
is created, waited for (CREATE_COMPLETE), deleted and waited for until gone.
Failures: a connection error or timeout, a 5xx, any unexpected status, a
stack ending *_FAILED or not finishing in time. The token is renewed when
it nears expiry (or on a 401, counted as a failure).

It stops when the stop file appears or after --max-seconds, then writes
the JSON summary (also rewritten after every iteration, "running": true)
and prints `requests N, failed M` and the failures. Exit status 0 even
with failures: the summary is the verdict.
"""
import argparse
import datetime
import json
import os
import shlex
import sys
import time
import uuid

import requests

TEMPLATE = {
    'heat_template_version': '2015-10-15',
    'description': 'heat-prober: a tiny stack through the load balancer',
    'resources': {'random': {'type': 'OS::Heat::RandomString', 'properties': {'length': 8}}},
}


def read_openrc(path):
    """The `export NAME=VALUE` lines of an openrc file, as a dict."""
    values = {}
    with open(path, encoding='utf-8') as handle:
        for line in handle:
            words = shlex.split(line, comments=True)
            if len(words) == 2 and words[0] == 'export' and '=' in words[1]:
                name, value = words[1].split('=', 1)
                values[name] = value
    return values


class Prober:
    def __init__(self, args, creds):
        self.args = args
        self.creds = creds
        self.session = requests.Session()
        self.session.verify = creds.get('OS_CACERT') or True
        self.requests = 0
        self.failures = []
        self.stacks_created = 0
        self.stacks_deleted = 0
        self.statuses = {}
        self.token = None
        self.token_expires = 0.0
        self.project_id = None
        self.started = time.monotonic()
        self.started_at = datetime.datetime.now(datetime.timezone.utc).isoformat()

    # -- bookkeeping -----------------------------------------------------
    def fail(self, what, detail):
        entry = {'t': round(time.monotonic() - self.started, 1), 'what': what, 'detail': ' '.join(str(detail).split())[:300]}
        self.failures.append(entry)
        print('FAILED %(t)ss %(what)s: %(detail)s' % entry, flush=True)

    def call(self, what, method, url, expect, **kwargs):
        """One HTTP request, counted; returns the response or None (a failure)."""
        self.requests += 1
        headers = kwargs.pop('headers', {})
        if self.token and 'auth/tokens' not in url:
            headers['X-Auth-Token'] = self.token
        headers.setdefault('Accept', 'application/json')
        # A connection of its own per request, as from many independent
        # clients: every request is balanced anew, and none is sent on a
        # kept-alive connection the balancer closes at that very instant (a
        # client-side race HTTP lets clients retry, RFC 9112 9.3.1; measured
        # once here as RemoteDisconnected with no request in haproxy's log).
        headers['Connection'] = 'close'
        try:
            resp = self.session.request(method, url, headers=headers, timeout=self.args.timeout, **kwargs)
        except requests.RequestException as err:
            self.fail(what, '%s: %s' % (type(err).__name__, err))
            return None
        self.statuses[str(resp.status_code)] = self.statuses.get(str(resp.status_code), 0) + 1
        if resp.status_code not in expect:
            self.fail(what, '%s %s: %s' % (method, resp.status_code, resp.text[:200]))
            if resp.status_code == 401:
                self.token_expires = 0.0  # authenticate again next time
            return None
        return resp

    # -- Keystone --------------------------------------------------------
    def authenticate(self):
        if self.token and time.monotonic() < self.token_expires - self.args.token_margin:
            return True
        c = self.creds
        body = {'auth': {
            'identity': {'methods': ['password'], 'password': {'user': {
                'name': c['OS_USERNAME'], 'password': c['OS_PASSWORD'],
                'domain': {'name': c.get('OS_USER_DOMAIN_NAME', 'Default')}}}},
            'scope': {'project': {'name': c['OS_PROJECT_NAME'],
                                  'domain': {'name': c.get('OS_PROJECT_DOMAIN_NAME', 'Default')}}}}}
        self.token = None
        resp = self.call('token', 'POST', c['OS_AUTH_URL'].rstrip('/') + '/auth/tokens', (201,), json=body)
        if resp is None:
            return False
        token = resp.json()['token']
        expires = datetime.datetime.fromisoformat(token['expires_at'].replace('Z', '+00:00'))
        lifetime = (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        self.token = resp.headers['X-Subject-Token']
        self.token_expires = time.monotonic() + lifetime
        self.project_id = token['project']['id']
        return True

    # -- Heat ------------------------------------------------------------
    def stacks_url(self):
        return '%s/v1/%s/stacks' % (self.args.heat_url.rstrip('/'), self.project_id)

    def wait_stack(self, url, done, what):
        """Poll url until done(response) names a final state; None on timeout."""
        deadline = time.monotonic() + self.args.stack_timeout
        while time.monotonic() < deadline:
            resp = self.call(what, 'GET', url, (200, 404))
            if resp is not None:
                state = done(resp)
                if state:
                    return state
            time.sleep(1)
        self.fail(what, 'not finished after %ss' % self.args.stack_timeout)
        return None

    def stack_cycle(self):
        name = 'prober-%s' % uuid.uuid4().hex[:8]
        resp = self.call('stack create', 'POST', self.stacks_url(), (201,),
                         json={'stack_name': name, 'template': TEMPLATE, 'timeout_mins': 5})
        if resp is None:
            return
        url = '%s/%s/%s' % (self.stacks_url(), name, resp.json()['stack']['id'])

        def final_state(if_gone):
            """A stack's final status, `if_gone` when it answers 404, None while in progress."""
            def done(r):
                if r.status_code == 404:
                    return if_gone
                status = r.json()['stack']['stack_status']
                return None if status.endswith('IN_PROGRESS') else status
            return done
        status = self.wait_stack(url, final_state('MISSING'), 'stack create wait')
        if status == 'CREATE_COMPLETE':
            self.stacks_created += 1
        elif status is not None:
            self.fail('stack create', '%s ended %s' % (name, status))
        # Deleted whatever happened, so that no stack is left behind.
        if self.call('stack delete', 'DELETE', url, (204,)) is None:
            return
        status = self.wait_stack(url, final_state('GONE'), 'stack delete wait')
        if status in ('GONE', 'DELETE_COMPLETE'):
            self.stacks_deleted += 1
        elif status is not None:
            self.fail('stack delete', '%s ended %s' % (name, status))

    # -- the loop --------------------------------------------------------
    def should_stop(self):
        if self.args.stop_file and os.path.exists(self.args.stop_file):
            return 'stop file'
        if time.monotonic() - self.started > self.args.max_seconds:
            return 'max duration'
        return None

    def summary(self, running, reason=None):
        return {
            'running': running, 'stopped_by': reason,
            'started_at': self.started_at,
            'duration_s': round(time.monotonic() - self.started, 1),
            'requests': self.requests, 'failed': len(self.failures),
            'stacks_created': self.stacks_created, 'stacks_deleted': self.stacks_deleted,
            'statuses': self.statuses, 'failures': self.failures,
        }

    def write(self, data):
        tmp = self.args.summary + '.tmp'
        with open(tmp, 'w', encoding='utf-8') as handle:
            json.dump(data, handle, indent=1)
        os.replace(tmp, self.args.summary)

    def run(self):
        iteration = 0
        while True:
            reason = self.should_stop()
            if reason:
                break
            if self.authenticate():
                self.call('stack list', 'GET', self.stacks_url(), (200,))
                self.call('cfn versions', 'GET', self.args.cfn_url, (200, 300))
                if iteration % self.args.stack_every == 0:
                    self.stack_cycle()
            iteration += 1
            self.write(self.summary(True))
            time.sleep(self.args.interval)
        data = self.summary(False, reason)
        self.write(data)
        print('requests %d, failed %d' % (data['requests'], data['failed']), flush=True)
        for entry in self.failures:
            print('  %(t)ss %(what)s: %(detail)s' % entry)
        return data


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--openrc', help='openrc file with the OS_* credentials')
    parser.add_argument('--summary', required=True, help='JSON summary written here')
    parser.add_argument('--stop-file', help='stop when this file exists')
    parser.add_argument('--max-seconds', type=float, default=1800)
    parser.add_argument('--heat-url', default='https://heat-vip:8004')
    parser.add_argument('--cfn-url', default='https://heat-vip:8000/')
    parser.add_argument('--interval', type=float, default=0.5, help='seconds between iterations')
    parser.add_argument('--stack-every', type=int, default=5, help='a stack cycle every N iterations')
    parser.add_argument('--stack-timeout', type=float, default=180)
    parser.add_argument('--timeout', type=float, default=30, help='seconds per HTTP request')
    parser.add_argument('--token-margin', type=float, default=300,
                        help='renew the token this many seconds before it expires')
    args = parser.parse_args()
    creds = dict(read_openrc(args.openrc)) if args.openrc else {}
    for name in ('OS_AUTH_URL', 'OS_USERNAME', 'OS_PASSWORD', 'OS_PROJECT_NAME', 'OS_CACERT',
                 'OS_USER_DOMAIN_NAME', 'OS_PROJECT_DOMAIN_NAME'):
        if name in os.environ:
            creds[name] = os.environ[name]
    missing = [n for n in ('OS_AUTH_URL', 'OS_USERNAME', 'OS_PASSWORD', 'OS_PROJECT_NAME') if not creds.get(n)]
    if missing:
        sys.exit('missing credentials: %s' % ', '.join(missing))
    Prober(args, creds).run()


if __name__ == '__main__':
    main()
