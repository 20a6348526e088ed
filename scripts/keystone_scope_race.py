#!/usr/bin/env python3
"""Does Keystone answer the admin's reads as if another token had sent them?

    keystone_scope_race.py --url https://infra:5000/v3 --cacert CA
        --admin-password P --hda-password Q [--tries 3000] [--threads 16]
        [--noise-threads 16] [--no-noise] [--json FILE]

Standard library only (runs on any lab host). Two identities, two processes,
nothing shared between them (each thread has its own connection):

- the readers (this process, --threads threads): the cloud admin's
  project-scoped token, the reads keystone_registration makes; each answer
  is checked against what the admin must see:
    projects  GET /v3/projects?domain_id=default&name=service  (1 project)
    users     GET /v3/users?domain_id=default&name=admin        (1 user)
    domains   GET /v3/domains                                   (has `default`)
- the noise (a forked process, --noise-threads threads): heat_domain_admin's
  token scoped to the stack domain (what heat-engine holds), reading in its
  own domain, and one read that its own scope must answer with nothing:
    GET /v3/projects?domain_id=<heat>&name=x, GET /v3/users?domain_id=<heat>&name=y,
    GET /v3/projects?name=service   (empty for heat_domain_admin; the service
                                     project of Default if answered as the admin)

Prints (and writes with --json) the counts: wrong answers per read of the
admin, and the noise's reads answered with another domain's project.
"""
import argparse
import http.client
import json
import multiprocessing
import ssl
import sys
import threading
import time
import urllib.parse

ADMIN_READS = (
    ('projects', '/projects?domain_id=default&name=service',
     lambda body: [p['name'] for p in body['projects']] == ['service']),
    ('users', '/users?domain_id=default&name=admin',
     lambda body: [u['name'] for u in body['users']] == ['admin']),
    ('domains', '/domains',
     lambda body: 'default' in [d['id'] for d in body['domains']]),
)


class Conn:
    """One keep-alive HTTPS (or HTTP) connection to Keystone, for one thread."""

    def __init__(self, url, context):
        self.parts = urllib.parse.urlsplit(url)
        self.base = self.parts.path.rstrip('/')
        self.context = context
        self.conn = None

    def request(self, method, path, token=None, body=None):
        headers = {'Accept': 'application/json', 'User-Agent': 'keystone-scope-race'}
        if token:
            headers['X-Auth-Token'] = token
        if body is not None:
            body = json.dumps(body)
            headers['Content-Type'] = 'application/json'
        for attempt in range(3):
            if self.conn is None:
                cls = http.client.HTTPSConnection if self.parts.scheme == 'https' else http.client.HTTPConnection
                kwargs = {'context': self.context} if self.parts.scheme == 'https' else {}
                self.conn = cls(self.parts.hostname, self.parts.port, timeout=60, **kwargs)
            try:
                self.conn.request(method, self.base + path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                return resp.status, resp.getheaders(), data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise


def token(url, context, user, password, user_domain, scope):
    status, headers, data = Conn(url, context).request('POST', '/auth/tokens', body={'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {
            'name': user, 'password': password, 'domain': {'name': user_domain}}}},
        'scope': scope}})
    if status != 201:
        sys.exit('%s: authentication answered %s: %s' % (user, status, data[:300]))
    return dict((k.lower(), v) for k, v in headers)['x-subject-token'], json.loads(data)['token']


def noise(url, cafile, hda_token, heat_domain_id, threads, stop, counts):
    context = ssl.create_default_context(cafile=cafile)
    reads = ['/projects?domain_id=%s&name=x' % heat_domain_id, '/users?domain_id=%s&name=y' % heat_domain_id,
             '/projects?name=service']
    lock = threading.Lock()

    def run():
        conn, i = Conn(url, context), 0
        while not stop.is_set():
            path = reads[i % len(reads)]
            i += 1
            status, _h, data = conn.request('GET', path, hda_token)
            with lock:
                counts['noise_requests'] += 1
                if status != 200:
                    counts['noise_status_%d' % status] = counts.get('noise_status_%d' % status, 0) + 1
                elif path == '/projects?name=service' and json.loads(data)['projects']:
                    counts['noise_answered_as_another'] += 1
    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--url', required=True, help='the identity v3 URL, e.g. https://infra:5000/v3')
    parser.add_argument('--cacert')
    parser.add_argument('--admin-user', default='admin')
    parser.add_argument('--admin-password', required=True)
    parser.add_argument('--admin-project', default='admin')
    parser.add_argument('--hda-user', default='heat_domain_admin')
    parser.add_argument('--hda-password', required=True)
    parser.add_argument('--stack-domain', default='heat')
    parser.add_argument('--tries', type=int, default=3000, help='admin reads in all')
    parser.add_argument('--threads', type=int, default=16)
    parser.add_argument('--noise-threads', type=int, default=16)
    parser.add_argument('--no-noise', action='store_true')
    parser.add_argument('--json')
    args = parser.parse_args()
    context = ssl.create_default_context(cafile=args.cacert)

    admin_token, _ = token(args.url, context, args.admin_user, args.admin_password, 'Default',
                           {'project': {'name': args.admin_project, 'domain': {'name': 'Default'}}})
    hda_token, hda = token(args.url, context, args.hda_user, args.hda_password, args.stack_domain,
                           {'domain': {'name': args.stack_domain}})
    heat_domain_id = hda['domain']['id']

    manager = multiprocessing.Manager()
    counts = manager.dict(noise_requests=0, noise_answered_as_another=0)
    stop = multiprocessing.Event()
    proc = None
    if not args.no_noise:
        proc = multiprocessing.Process(target=noise, args=(args.url, args.cacert, hda_token, heat_domain_id,
                                                           args.noise_threads, stop, counts))
        proc.start()
        time.sleep(1)

    results = dict((name, {'tries': 0, 'wrong': 0, 'sizes': {}}) for name, _p, _c in ADMIN_READS)
    lock = threading.Lock()
    left = [args.tries]

    def read():
        conn, i = Conn(args.url, context), 0
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            name, path, right = ADMIN_READS[i % len(ADMIN_READS)]
            i += 1
            status, _h, data = conn.request('GET', path, admin_token)
            ok = status == 200 and right(json.loads(data))
            with lock:
                r = results[name]
                r['tries'] += 1
                if not ok:
                    r['wrong'] += 1
                    key = '%s %dB' % (status, len(data))
                    r['sizes'][key] = r['sizes'].get(key, 0) + 1
    started = time.monotonic()
    workers = [threading.Thread(target=read) for _ in range(args.threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    seconds = time.monotonic() - started
    stop.set()
    if proc:
        proc.join()
    summary = {'url': args.url, 'noise': not args.no_noise, 'threads': args.threads,
               'noise_threads': 0 if args.no_noise else args.noise_threads, 'seconds': round(seconds, 1),
               'admin_reads': results, 'admin_wrong': sum(r['wrong'] for r in results.values()),
               'admin_tries': sum(r['tries'] for r in results.values())}
    summary.update(dict(counts))
    print(json.dumps(summary, indent=1, sort_keys=True))
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as handle:
            json.dump(summary, handle, indent=1, sort_keys=True)


if __name__ == '__main__':
    main()
