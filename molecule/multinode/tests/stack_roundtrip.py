"""Create a small stack through one Heat API, read it and delete it through
another; standard library only (runs on `infra`, as the demo user).

    python3 stack_roundtrip.py KEYSTONE_V3_URL CREATE_BASE OTHER_BASE STACK_NAME
    (bases such as https://controller1:8004 or https://heat-vip:8004; the demo
    user and password in OS_USERNAME / OS_PASSWORD, the CA in OS_CACERT)

Prints one JSON object: the statuses seen and the stack's output.
"""
import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

TEMPLATE = {
    'heat_template_version': '2015-10-15',
    'description': 'multinode scenario: a stack created through one controller',
    'resources': {'random': {'type': 'OS::Heat::RandomString', 'properties': {'length': 12}}},
    'outputs': {'value': {'value': {'get_attr': ['random', 'value']}}},
}


CONTEXT = ssl.create_default_context(cafile=os.environ.get('OS_CACERT') or None)


def call(method, url, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header('Content-Type', 'application/json')
    req.add_header('Accept', 'application/json')
    if token:
        req.add_header('X-Auth-Token', token)
    try:
        with urllib.request.urlopen(req, timeout=30, context=CONTEXT) as resp:
            raw = resp.read()
            return resp.status, resp.headers, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode(errors='replace')


def wait(url, token, done, timeout=300):
    """Poll the stack until done(status, body) is true; return the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        status, _, body = call('GET', url, token)
        if done(status, body) or time.monotonic() > deadline:
            return status, body
        time.sleep(2)


def main():
    keystone, create_host, other_host, name = sys.argv[1:5]
    user, password = os.environ['OS_USERNAME'], os.environ['OS_PASSWORD']
    status, headers, body = call('POST', keystone.rstrip('/') + '/auth/tokens', body={'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {
            'name': user, 'domain': {'name': 'Default'}, 'password': password}}},
        'scope': {'project': {'name': user, 'domain': {'name': 'Default'}}}}})
    assert status == 201, 'no token: %s %s' % (status, body)
    token, project = headers['X-Subject-Token'], body['token']['project']['id']
    api = {base: '%s/v1/%s' % (base.rstrip('/'), project) for base in (create_host, other_host)}
    result = {'created_through': create_host, 'checked_through': other_host}

    status, _, body = call('POST', api[create_host] + '/stacks', token,
                           {'stack_name': name, 'template': TEMPLATE, 'timeout_mins': 5})
    assert status == 201, 'create through %s: %s %s' % (create_host, status, body)
    stack_id = body['stack']['id']
    path = '/stacks/%s/%s' % (name, stack_id)

    status, body = wait(api[create_host] + path, token,
                        lambda s, b: s == 200 and not b['stack']['stack_status'].endswith('IN_PROGRESS'))
    result['status'] = body['stack']['stack_status'] if status == 200 else '%s %s' % (status, body)
    result['reason'] = body['stack'].get('stack_status_reason') if status == 200 else None

    # The same stack, seen through the other controller (shared database).
    status, _, body = call('GET', api[other_host] + path, token)
    result['other_status'] = body['stack']['stack_status'] if status == 200 else '%s %s' % (status, body)
    outputs = body['stack'].get('outputs', []) if status == 200 else []
    result['output'] = next((o.get('output_value') for o in outputs if o.get('output_key') == 'value'), None)

    # Deleted through the other controller.
    status, _, body = call('DELETE', api[other_host] + path, token)
    result['delete'] = status
    status, body = wait(api[create_host] + path, token,
                        lambda s, b: s == 404 or (s == 200 and b['stack']['stack_status'] in ('DELETE_COMPLETE', 'DELETE_FAILED')))
    result['after_delete'] = status if status == 404 else body['stack']['stack_status']
    print(json.dumps(result))


if __name__ == '__main__':
    main()
