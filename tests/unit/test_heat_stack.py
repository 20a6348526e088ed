"""Unit tests for library/heat_stack.py (and module_utils/heat_api.py, heat_templates.py).

HTTP is stubbed at the keystoneauth1 Session level: FakeSession answers
get/post/put/delete from a route table and records every call, so a test can
assert exactly which requests (and how many writes) the module made.
"""
import json

import pytest
from keystoneauth1 import exceptions as ks_exc

import heat_stack
from ansible.module_utils import heat_api
from conftest import AnsibleExitJson, AnsibleFailJson

ENDPOINT = 'http://controller:8004/v1/0123456789abcdef'
SID = '6ab5b6a4-5a8f-4b9b-9c21-9c0f2a0cd8c8'
STACK_PATH = '/stacks/smoke/' + SID
TOKEN = 'gAAAAABmSECRETtokenValue_1234567890abcdefXYZ'
SIGNAL_URL = 'http://controller:8004/v1/0123456789abcdef/stacks/smoke/%s/resources/wait_handle/signal' % SID
CURL_CLI = ("curl -i -X POST -H 'X-Auth-Token: %s' -H 'Content-Type: application/json' "
            "-H 'Accept: application/json' %s" % (TOKEN, SIGNAL_URL))
PASSWORD = 'demo-Passw0rd-xyz'

TEMPLATE_TEXT = """\
heat_template_version: 2015-10-15
description: smoke
parameters:
  key:
    type: string
  secret:
    type: string
    hidden: true
    default: s3cr3t-default
resources:
  wait_handle:
    type: OS::Heat::WaitConditionHandle
  wait_condition:
    type: OS::Heat::WaitCondition
    properties:
      handle: {get_resource: wait_handle}
      count: 1
      timeout: 300
outputs:
  wait_handle_curl_cli:
    value: {get_attr: [wait_handle, curl_cli]}
  wait_condition_data:
    value: {get_attr: [wait_condition, data]}
"""
TEMPLATE = heat_stack.parse_template(TEMPLATE_TEXT, 'test')
AUTH = {
    'auth_url': 'http://controller:5000/v3',
    'username': 'demo',
    'password': PASSWORD,
    'project_name': 'demo',
    'region_name': 'RegionOne',
}


class Resp(object):
    def __init__(self, status_code=200, body=None, text=''):
        self.status_code = status_code
        self._body = body
        self.text = text or (json.dumps(body) if body is not None else '')
        self.reason = ''

    def json(self):
        if self._body is None:
            raise ValueError('no JSON body')
        return self._body


def stack_body(status, outputs=None, parameters=None, reason='', stack_id=SID):
    return {'stack': {
        'id': stack_id,
        'stack_name': 'smoke',
        'stack_status': status,
        'stack_status_reason': reason or 'Stack %s' % status,
        'creation_time': '2024-05-01T10:00:00Z',
        'updated_time': None,
        'outputs': [{'output_key': k, 'output_value': v} for k, v in (outputs or {}).items()],
        'parameters': dict({'OS::stack_id': stack_id, 'OS::stack_name': 'smoke',
                            'OS::project_id': '0123456789abcdef'}, **(parameters or {})),
    }}


def heat_error(code, kind, message):
    return Resp(code, {'code': code, 'title': 'Error', 'explanation': 'The server could not comply.',
                       'error': {'type': kind, 'message': message, 'traceback': None}})


class FakeSession(object):
    """A keystoneauth1 Session stand-in.

    routes[(METHOD, path)] is a Resp, an exception, or a list of them consumed in
    order (the last one repeats). Unrouted requests answer 404.
    """

    def __init__(self):
        self.routes = {}
        self.calls = []
        self.endpoint = ENDPOINT
        self.endpoint_kwargs = None
        self.role_names = ['reader']
        # session.auth.get_access(session).role_names: the token's roles.
        self.auth = self

    def get_access(self, session):
        return self

    def on(self, method, path, *responses):
        self.routes[(method, path)] = list(responses)
        return self

    def get_endpoint(self, **kwargs):
        self.endpoint_kwargs = kwargs
        if isinstance(self.endpoint, Exception):
            raise self.endpoint
        return self.endpoint

    def _do(self, method, url, **kwargs):
        self.calls.append((method, url, kwargs))
        queue = self.routes.get((method, url))
        if not queue:
            return Resp(404, {'error': {'type': 'EntityNotFound', 'message': 'not found'}})
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    def get(self, url, **kwargs):
        return self._do('GET', url, **kwargs)

    def post(self, url, **kwargs):
        return self._do('POST', url, **kwargs)

    def put(self, url, **kwargs):
        return self._do('PUT', url, **kwargs)

    def delete(self, url, **kwargs):
        return self._do('DELETE', url, **kwargs)

    def writes(self):
        return [c for c in self.calls if c[0] != 'GET']

    def count(self, method, url):
        return len([c for c in self.calls if c[0] == method and c[1] == url])


class FakeTime(object):
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake(monkeypatch):
    session = FakeSession()
    built = []

    def _build(module, creds=None):
        built.append(creds)
        return session

    session.built = built
    monkeypatch.setattr(heat_api, 'build_session', _build)
    return session


@pytest.fixture
def clock(monkeypatch):
    fake_time = FakeTime()
    monkeypatch.setattr(heat_stack, 'time', fake_time)
    monkeypatch.setattr(heat_api, 'time', fake_time)
    return fake_time


def run(module_args, **args):
    base = {'auth': dict(AUTH), 'name': 'smoke', 'template_body': TEMPLATE_TEXT}
    base.update(args)
    module_args(dict((k, v) for k, v in base.items() if v is not None))  # None: option not given
    with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as info:
        heat_stack.main()
    return info.type, info.value.args[0]


def ok(module_args, **args):
    kind, result = run(module_args, **args)
    assert kind is AnsibleExitJson, result.get('msg')
    return result


def failed(module_args, **args):
    kind, result = run(module_args, **args)
    assert kind is AnsibleFailJson, result
    return result


def existing(fake, status='CREATE_COMPLETE', parameters=None, template=None, reason=''):
    fake.on('GET', '/stacks/smoke', Resp(200, stack_body(status, parameters=parameters, reason=reason)))
    fake.on('GET', STACK_PATH + '/template', Resp(200, template if template is not None else TEMPLATE))


# ------------------------------------------------------------------ present

def test_create_waits_until_complete(module_args, fake, clock):
    fake.on('POST', '/stacks', Resp(201, {'stack': {'id': SID, 'links': []}}))
    fake.on('GET', STACK_PATH,
            Resp(200, stack_body('CREATE_IN_PROGRESS')),
            Resp(200, stack_body('CREATE_IN_PROGRESS')),
            Resp(200, stack_body('CREATE_IN_PROGRESS')),
            Resp(200, stack_body('CREATE_COMPLETE', outputs={'wait_condition_data': '{"1": "x"}'},
                                 parameters={'key': 'value'})))
    result = ok(module_args, parameters={'key': 'value'}, timeout=300)

    assert result['changed'] is True
    assert result['action'] == 'created'
    assert result['stack']['status'] == 'CREATE_COMPLETE'
    assert result['stack']['id'] == SID
    assert result['stack']['outputs'] == {'wait_condition_data': '{"1": "x"}'}
    posts = [c for c in fake.calls if c[0] == 'POST']
    assert len(posts) == 1
    body = posts[0][2]['json']
    assert body['stack_name'] == 'smoke'
    assert body['template'] == TEMPLATE
    assert body['template']['heat_template_version'] == '2015-10-15'  # a string, not a date
    assert body['parameters'] == {'key': 'value'}
    assert body['timeout_mins'] == 5
    # every call goes to the orchestration endpoint of the auth's region/interface
    assert posts[0][2]['endpoint_filter'] == {'service_type': 'orchestration', 'interface': 'public',
                                              'region_name': 'RegionOne'}
    assert fake.endpoint_kwargs == posts[0][2]['endpoint_filter']
    # growing poll interval
    assert clock.sleeps == sorted(clock.sleeps) and clock.sleeps[0] < clock.sleeps[-1]
    assert PASSWORD not in str(result)


def test_poll_interval_is_capped(module_args, fake, clock):
    fake.on('POST', '/stacks', Resp(201, {'stack': {'id': SID}}))
    fake.on('GET', STACK_PATH, *([Resp(200, stack_body('CREATE_IN_PROGRESS'))] * 15
                                 + [Resp(200, stack_body('CREATE_COMPLETE'))]))
    ok(module_args)
    assert max(clock.sleeps) == 5.0
    assert clock.sleeps.count(5.0) > 3


@pytest.mark.parametrize('given,shown', [
    ({'key': 'value'}, {'key': 'value'}),
    ({'key': 5}, {'key': '5'}),
    ({'key': True}, {'key': 'True'}),
    ({'key': ['a', 'b']}, {'key': 'a,b'}),
    ({'key': {'a': 1}}, {'key': '{"a": 1}'}),
    ({'key': 'value', 'secret': 'changed-but-hidden'}, {'key': 'value', 'secret': '******'}),
])
def test_identical_stack_is_a_noop_without_writes(module_args, fake, clock, given, shown):
    existing(fake, parameters=shown)
    result = ok(module_args, parameters=given)
    assert result['changed'] is False
    assert result['action'] == 'none'
    assert fake.writes() == []
    assert result['stack']['status'] == 'CREATE_COMPLETE'


def test_update_on_changed_parameter(module_args, fake, clock):
    existing(fake, parameters={'key': 'old'})
    fake.on('PUT', STACK_PATH, Resp(202, None))
    fake.on('GET', STACK_PATH,
            Resp(200, stack_body('UPDATE_IN_PROGRESS')),
            Resp(200, stack_body('UPDATE_COMPLETE', parameters={'key': 'new'})))
    result = ok(module_args, parameters={'key': 'new'}, _ansible_diff=True)
    assert result['changed'] is True
    assert result['action'] == 'updated'
    assert result['stack']['status'] == 'UPDATE_COMPLETE'
    assert fake.count('PUT', STACK_PATH) == 1
    assert fake.count('POST', '/stacks') == 0
    put = [c for c in fake.calls if c[0] == 'PUT'][0][2]['json']
    assert put['parameters'] == {'key': 'new'} and put['template'] == TEMPLATE
    assert result['diff']['before']['parameters'] == {'key': 'old'}
    assert result['diff']['after']['parameters'] == {'key': 'new'}


def test_update_waits_past_the_stale_status(module_args, fake, clock):
    # Right after the PUT, Heat may still show the old CREATE_COMPLETE: that is
    # not the end of the update.
    existing(fake, parameters={'key': 'old'})
    fake.on('PUT', STACK_PATH, Resp(202, None))
    fake.on('GET', STACK_PATH,
            Resp(200, stack_body('CREATE_COMPLETE', parameters={'key': 'old'})),
            Resp(200, stack_body('UPDATE_IN_PROGRESS')),
            Resp(200, stack_body('UPDATE_FAILED', reason='Resource UPDATE failed: boom')))
    result = failed(module_args, parameters={'key': 'new'})
    assert 'UPDATE_FAILED' in result['msg'] and result['action'] == 'updated'
    assert fake.count('GET', STACK_PATH) == 3


def older_template():
    old = json.loads(json.dumps(TEMPLATE))
    old['resources']['wait_condition']['properties']['timeout'] = 100
    return old


@pytest.mark.parametrize('status, template, deployed_parameters, parameters', [
    ('CREATE_COMPLETE', older_template(), {'key': 'value'}, {'key': 'value'}),   # the template changed
    ('UPDATE_FAILED', None, {'key': 'old'}, {'key': 'new'}),                      # a failed stack, new parameters
], ids=['changed template', 'failed stack with new parameters'])
def test_a_stack_that_differs_is_updated(module_args, fake, clock, status, template, deployed_parameters, parameters):
    existing(fake, status=status, parameters=deployed_parameters, template=template)
    fake.on('PUT', STACK_PATH, Resp(202, None))
    fake.on('GET', STACK_PATH, Resp(200, stack_body('UPDATE_COMPLETE')))
    result = ok(module_args, parameters=parameters)
    assert result['action'] == 'updated'
    assert fake.count('PUT', STACK_PATH) == 1


def test_diff_masks_hidden_parameters(module_args, fake, clock):
    fake.on('GET', '/stacks/smoke', Resp(404, None))
    result = ok(module_args, parameters={'key': 'v', 'secret': 'top-secret-value'},
                _ansible_diff=True, _ansible_check_mode=True)
    assert result['diff']['after']['parameters'] == {'key': 'v', 'secret': '******'}
    assert result['diff']['before'] == {'state': 'absent'}


def test_stack_ending_failed_fails_with_reasons(module_args, fake, clock):
    fake.on('POST', '/stacks', Resp(201, {'stack': {'id': SID}}))
    fake.on('GET', STACK_PATH,
            Resp(200, stack_body('CREATE_IN_PROGRESS')),
            Resp(200, stack_body('CREATE_FAILED', reason='Resource CREATE failed: WaitConditionTimeout')))
    fake.on('GET', STACK_PATH + '/resources', Resp(200, {'resources': [
        {'resource_name': 'wait_handle', 'resource_type': 'OS::Heat::WaitConditionHandle',
         'resource_status': 'CREATE_COMPLETE', 'resource_status_reason': 'state changed'},
        {'resource_name': 'wait_condition', 'resource_type': 'OS::Heat::WaitCondition',
         'resource_status': 'CREATE_FAILED',
         'resource_status_reason': 'WaitConditionTimeout: resources.wait_condition: 0 of 1 received'},
    ]}))
    result = failed(module_args)
    assert 'CREATE_FAILED' in result['msg']
    assert 'Resource CREATE failed: WaitConditionTimeout' in result['msg']
    assert '0 of 1 received' in result['msg']
    assert result['changed'] is True
    assert result['action'] == 'created'
    assert result['failed_resources'] == [{
        'resource_name': 'wait_condition', 'resource_type': 'OS::Heat::WaitCondition',
        'status': 'CREATE_FAILED',
        'status_reason': 'WaitConditionTimeout: resources.wait_condition: 0 of 1 received'}]


def test_existing_failed_stack_with_same_template_is_not_retried(module_args, fake, clock):
    existing(fake, status='CREATE_FAILED', parameters={'key': 'value'}, reason='Quota exceeded')
    fake.on('GET', STACK_PATH + '/resources', Resp(200, {'resources': [
        {'resource_name': 'wait_condition', 'resource_type': 'OS::Heat::WaitCondition',
         'resource_status': 'CREATE_FAILED', 'resource_status_reason': 'boom'}]}))
    result = failed(module_args, parameters={'key': 'value'})
    assert fake.writes() == []
    assert 'CREATE_FAILED' in result['msg'] and 'Quota exceeded' in result['msg']
    assert 'state: absent' in result['msg']
    assert result['failed_resources'][0]['status_reason'] == 'boom'


def test_existing_delete_failed_stack_fails(module_args, fake, clock):
    existing(fake, status='DELETE_FAILED', reason='volume busy')
    result = failed(module_args)
    assert 'DELETE_FAILED' in result['msg'] and 'volume busy' in result['msg']
    assert fake.writes() == []


def test_timeout_names_last_status(module_args, fake, clock):
    fake.on('POST', '/stacks', Resp(201, {'stack': {'id': SID}}))
    fake.on('GET', STACK_PATH, Resp(200, stack_body('CREATE_IN_PROGRESS', reason='Stack CREATE started')))
    result = failed(module_args, timeout=60)
    assert 'timed out after 60 s' in result['msg']
    assert 'CREATE_IN_PROGRESS' in result['msg']
    assert result['stack']['status'] == 'CREATE_IN_PROGRESS'
    assert clock.now - 1000.0 == pytest.approx(60)


def test_wait_false_returns_after_the_request(module_args, fake, clock):
    fake.on('POST', '/stacks', Resp(201, {'stack': {'id': SID}}))
    fake.on('GET', STACK_PATH, Resp(200, stack_body('CREATE_IN_PROGRESS')))
    result = ok(module_args, wait=False)
    assert result['changed'] is True and result['stack']['status'] == 'CREATE_IN_PROGRESS'
    assert clock.sleeps == []


# ------------------------------------------------------------------ signals

def signal_routes(fake, signal_response=None):
    fake.on('POST', '/stacks', Resp(201, {'stack': {'id': SID}}))
    fake.on('GET', STACK_PATH,
            Resp(200, stack_body('CREATE_IN_PROGRESS')),
            Resp(200, stack_body('CREATE_IN_PROGRESS')),
            Resp(200, stack_body('CREATE_IN_PROGRESS')),
            Resp(200, stack_body('CREATE_COMPLETE', outputs={
                'wait_handle_curl_cli': CURL_CLI,
                'wait_condition_data': '{"1": "signalled by heat_stack"}'})))
    # first poll: handle not created yet (null value); then the curl_cli
    fake.on('GET', STACK_PATH + '/outputs/wait_handle_curl_cli',
            Resp(200, {'output': {'output_key': 'wait_handle_curl_cli', 'output_value': None}}),
            Resp(200, {'output': {'output_key': 'wait_handle_curl_cli', 'output_value': CURL_CLI}}))
    fake.on('POST', SIGNAL_URL, signal_response or Resp(200, None))


def test_signal_posted_once_with_the_handle_token(module_args, fake, clock):
    signal_routes(fake)
    result = ok(module_args, signal_outputs=['wait_handle_curl_cli'], signal_data={'data': 'hello'})

    signals = [c for c in fake.calls if c[0] == 'POST' and c[1] == SIGNAL_URL]
    assert len(signals) == 1
    kwargs = signals[0][2]
    assert kwargs['headers']['X-Auth-Token'] == TOKEN
    assert kwargs['authenticated'] is False
    assert 'endpoint_filter' not in kwargs
    assert kwargs['json'] == {'status': 'SUCCESS', 'reason': 'signalled by heat_stack',
                              'data': 'hello', 'id': '1'}
    assert result['signalled'] == ['wait_handle_curl_cli']
    assert result['stack']['status'] == 'CREATE_COMPLETE'
    assert TOKEN not in str(result)
    assert SIGNAL_URL in result['stack']['outputs']['wait_handle_curl_cli']  # only the token is masked


def test_signal_default_data(module_args, fake, clock):
    signal_routes(fake)
    ok(module_args, signal_outputs=['wait_handle_curl_cli'])
    body = [c for c in fake.calls if c[1] == SIGNAL_URL][0][2]['json']
    assert body['data'] == 'signalled by heat_stack' and body['status'] == 'SUCCESS'


def test_token_in_outputs_is_masked_without_signalling(module_args, fake, clock):
    existing(fake)
    fake.on('GET', '/stacks/smoke', Resp(200, stack_body('CREATE_COMPLETE', outputs={
        'wait_handle_curl_cli': CURL_CLI, 'sig': {'url': SIGNAL_URL, 'token': 'another-secret-token-42'}})))
    result = ok(module_args)
    assert TOKEN not in str(result)
    assert 'another-secret-token-42' not in str(result)


def test_signal_rejected_names_host_and_status(module_args, fake, clock):
    signal_routes(fake, Resp(401, None, text='Authentication required'))
    result = failed(module_args, signal_outputs=['wait_handle_curl_cli'])
    assert result['msg'].startswith('signalling wait condition at http://controller:8004 failed: 401')
    assert TOKEN not in str(result)


def test_signal_unreachable_after_retries(module_args, fake, clock):
    signal_routes(fake, ks_exc.ConnectFailure('Connection refused'))
    result = failed(module_args, signal_outputs=['wait_handle_curl_cli'], retries=2)
    assert 'signalling wait condition at http://controller:8004' in result['msg']
    assert 'Connection refused' in result['msg']
    assert fake.count('POST', SIGNAL_URL) == 3


def test_signal_output_must_be_in_template(module_args, fake, clock):
    result = failed(module_args, signal_outputs=['no_such_output'])
    assert 'no_such_output' in result['msg']
    assert fake.calls == [] and fake.built == []


def test_signal_output_that_is_not_curl_cli_fails(module_args, fake, clock):
    fake.on('POST', '/stacks', Resp(201, {'stack': {'id': SID}}))
    fake.on('GET', STACK_PATH, Resp(200, stack_body('CREATE_IN_PROGRESS')))
    fake.on('GET', STACK_PATH + '/outputs/wait_condition_data',
            Resp(200, {'output': {'output_value': '{"1": "x"}'}}))
    result = failed(module_args, signal_outputs=['wait_condition_data'])
    assert 'not a curl_cli' in result['msg']


# ------------------------------------------------------------------ absent

def test_delete_waits_until_gone(module_args, fake, clock):
    fake.on('GET', '/stacks/smoke', Resp(200, stack_body('CREATE_COMPLETE')), Resp(404, None))
    fake.on('DELETE', STACK_PATH, Resp(204, None))
    fake.on('GET', STACK_PATH,
            Resp(200, stack_body('DELETE_IN_PROGRESS')),
            Resp(200, stack_body('DELETE_IN_PROGRESS')),
            Resp(404, None))
    result = ok(module_args, state='absent', template_body=None)
    assert result['changed'] is True and result['action'] == 'deleted'
    assert fake.count('DELETE', STACK_PATH) == 1
    assert fake.count('GET', STACK_PATH) == 3


def test_delete_complete_counts_as_gone(module_args, fake, clock):
    fake.on('GET', '/stacks/smoke', Resp(200, stack_body('CREATE_COMPLETE')), Resp(404, None))
    fake.on('DELETE', STACK_PATH, Resp(204, None))
    fake.on('GET', STACK_PATH, Resp(200, stack_body('DELETE_COMPLETE')))
    result = ok(module_args, state='absent', template_body=None)
    assert result['action'] == 'deleted'


def test_delete_returns_once_the_name_is_free(module_args, fake, clock):
    # DELETE_COMPLETE, yet the name still resolves until Heat soft-deletes
    # the row: a create of the same name meanwhile would be refused (409).
    fake.on('GET', '/stacks/smoke', Resp(200, stack_body('CREATE_COMPLETE')),
            Resp(200, stack_body('DELETE_COMPLETE')), Resp(200, stack_body('DELETE_COMPLETE')), Resp(404, None))
    fake.on('DELETE', STACK_PATH, Resp(204, None))
    fake.on('GET', STACK_PATH, Resp(200, stack_body('DELETE_COMPLETE')))
    result = ok(module_args, state='absent', template_body=None)
    assert result['action'] == 'deleted'
    assert fake.count('GET', '/stacks/smoke') == 4


def test_already_absent_is_unchanged(module_args, fake, clock):
    result = ok(module_args, state='absent', template_body=None)
    assert result['changed'] is False and result['action'] == 'none'
    assert fake.writes() == []
    assert fake.count('GET', '/stacks/smoke') == 1


def test_delete_failed_reports_reason(module_args, fake, clock):
    fake.on('GET', '/stacks/smoke', Resp(200, stack_body('CREATE_COMPLETE')))
    fake.on('DELETE', STACK_PATH, Resp(204, None))
    fake.on('GET', STACK_PATH, Resp(200, stack_body('DELETE_FAILED', reason='Resource DELETE failed: busy')))
    result = failed(module_args, state='absent', template_body=None)
    assert 'DELETE_FAILED' in result['msg'] and 'busy' in result['msg']


# ------------------------------------------------------------------ check mode

def test_check_mode_create_writes_nothing(module_args, fake, clock):
    result = ok(module_args, _ansible_check_mode=True)
    assert result['changed'] is True and result['action'] == 'created'
    assert fake.writes() == []


def test_check_mode_update_writes_nothing(module_args, fake, clock):
    existing(fake, parameters={'key': 'old'})
    result = ok(module_args, parameters={'key': 'new'}, _ansible_check_mode=True)
    assert result['changed'] is True and result['action'] == 'updated'
    assert fake.writes() == []


def test_check_mode_delete_writes_nothing(module_args, fake, clock):
    fake.on('GET', '/stacks/smoke', Resp(200, stack_body('CREATE_COMPLETE')))
    result = ok(module_args, state='absent', template_body=None, _ansible_check_mode=True)
    assert result['changed'] is True and result['action'] == 'deleted'
    assert fake.writes() == []


# ------------------------------------------------------------------ template errors

def test_missing_template_file_fails_before_any_request(module_args, fake, clock, tmp_path):
    result = failed(module_args, template_body=None, template=str(tmp_path / 'nope.yml'))
    assert 'cannot read template' in result['msg'] and 'nope.yml' in result['msg']
    assert fake.built == [] and fake.calls == []


def test_unparseable_template_fails_before_any_request(module_args, fake, clock, tmp_path):
    path = tmp_path / 'bad.yml'
    path.write_text('heat_template_version: 2015-10-15\nresources: [unclosed\n')
    result = failed(module_args, template_body=None, template=str(path))
    assert 'not valid YAML' in result['msg'] and str(path) in result['msg']
    assert fake.calls == []


def test_template_without_version_fails(module_args, fake, clock):
    result = failed(module_args, template_body='resources: {}\n')
    assert 'heat_template_version' in result['msg']
    assert fake.calls == []


def test_template_file_is_read(module_args, fake, clock, tmp_path):
    path = tmp_path / 'smoke.yml'
    path.write_text(TEMPLATE_TEXT)
    result = ok(module_args, template_body=None, template=str(path), _ansible_check_mode=True)
    assert result['action'] == 'created'


def test_template_and_template_body_are_exclusive(module_args, fake, clock, tmp_path):
    result = failed(module_args, template='/x.yml')
    assert 'mutually exclusive' in result['msg']


def test_present_needs_a_template(module_args, fake, clock):
    result = failed(module_args, template_body=None)
    assert 'template' in result['msg']
    assert fake.calls == []


def test_present_with_empty_template_body(module_args, fake, clock):
    result = failed(module_args, template_body='')
    assert 'neither template nor template_body' in result['msg']
    assert fake.built == []


# ------------------------------------------------------------------ API errors

def test_endpoint_not_in_catalog(module_args, fake, clock):
    fake.endpoint = ks_exc.EndpointNotFound('public endpoint for orchestration service in RegionOne region not found')
    result = failed(module_args)
    assert result['msg'].startswith('no orchestration endpoint in region RegionOne for interface public: '
                                    'is Heat registered in Keystone?')
    assert fake.calls == []


def test_endpoint_none_means_not_in_catalog(module_args, fake, clock):
    fake.endpoint = None
    result = failed(module_args, auth=dict(AUTH, interface='internal'))
    assert 'no orchestration endpoint in region RegionOne for interface internal' in result['msg']


def test_keystone_401_names_the_openrc(module_args, fake, clock, tmp_path):
    openrc = tmp_path / 'demo-openrc.sh'
    openrc.write_text('export OS_AUTH_URL=http://controller:5000/v3\nexport OS_USERNAME=demo\n'
                      'export OS_PASSWORD=%s\nexport OS_PROJECT_NAME=demo\n' % PASSWORD)
    fake.endpoint = ks_exc.Unauthorized('The request you have made requires authentication.')
    result = failed(module_args, auth=None, openrc=str(openrc))
    assert '401' in result['msg'] and str(openrc) in result['msg']
    assert PASSWORD not in str(result)


def test_heat_403(module_args, fake, clock):
    fake.on('GET', '/stacks/smoke', heat_error(403, 'Forbidden', 'You are not authorized'))
    result = failed(module_args)
    assert '403' in result['msg'] and 'member' in result['msg']
    assert 'who holds reader' in result['msg']


def test_heat_400_shows_heats_message(module_args, fake, clock):
    fake.on('POST', '/stacks', heat_error(400, 'StackValidationFailed',
                                          'The Resource Type (OS::Nova::Server) could not be found.'))
    result = failed(module_args)
    assert '400' in result['msg']
    assert 'StackValidationFailed: The Resource Type (OS::Nova::Server) could not be found.' in result['msg']
    assert result['changed'] is False


def test_heat_unreachable_retries_then_fails(module_args, fake, clock):
    fake.on('GET', '/stacks/smoke', ks_exc.ConnectFailure('Unable to establish connection to %s' % ENDPOINT))
    result = failed(module_args, retries=3)
    assert 'unreachable' in result['msg'] and ENDPOINT in result['msg']
    assert fake.count('GET', '/stacks/smoke') == 4
    assert len(clock.sleeps) == 3


def test_heat_500_on_read_is_retried(module_args, fake, clock):
    fake.on('GET', '/stacks/smoke', heat_error(503, 'ServiceUnavailable', 'starting'), Resp(404, None))
    result = ok(module_args, _ansible_check_mode=True)
    assert result['action'] == 'created'
    assert fake.count('GET', '/stacks/smoke') == 2


# ------------------------------------------------------------------ helpers

def test_parse_curl_cli():
    assert heat_stack.parse_curl_cli(CURL_CLI) == (SIGNAL_URL, TOKEN)
    assert heat_stack.parse_curl_cli('not a curl') == (None, None)
    assert heat_stack.parse_curl_cli("curl -X POST %s" % SIGNAL_URL) == (SIGNAL_URL, None)
