"""The guide template's checks (roles/heat/tasks/verify_guide.yml), templated
as Ansible templates them, with answers shaped like Glance's, Neutron's and
Nova's. The lab's test_zz_safety.py runs them against the real services."""
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar, trust_as_template

init_plugin_loader()  # the file lookup the task uses

ROOT = Path(__file__).resolve().parents[2]
TASKS = {task['name']: task for task in yaml.safe_load((ROOT / 'roles/heat/tasks/verify_guide.yml').read_text())}
UUID = yaml.safe_load((ROOT / 'roles/heat/vars/main/main.yml').read_text())['_heat_uuid_pattern']
IMAGE_ID = '0f7d7c8e-3a3b-4c1e-9d59-3c0f6a1b2c3d'


def render(expression, **variables):
    if not isinstance(expression, str):
        return expression
    variables.setdefault('_heat_uuid_pattern', UUID)
    loader = DataLoader()
    return Templar(loader=loader, variables=variables).template(trust_as_template(expression))


def test_the_flavor_is_read_from_the_guides_template():
    expression = TASKS['Read what the guide\'s template boots']['ansible.builtin.set_fact']['_heat_verify_flavor_names']
    assert render(expression, heat_verify_templates_dir=str(ROOT / 'templates')) == ['m1.tiny']


@pytest.mark.parametrize('value,is_id', [
    (IMAGE_ID, True), (IMAGE_ID.replace('-', ''), True),
    ('cirros-0.3.2-x86_64', False), ('demo-net', False), (IMAGE_ID + 'x', False),
])
def test_ids_are_told_from_names(value, is_id):
    assert render('{{ value is match(_heat_uuid_pattern) }}', value=value) is is_id


def answers(image, image_status=200, networks=(), flavors=(), limits=None):
    """openstack_get's answers, by request name."""
    return {'_heat_verify_lookups': {'answers': {
        'image': {'status': image_status, 'json': image},
        'network': {'status': 200, 'json': {'networks': list(networks)}},
        'flavors': {'status': 200, 'json': {'flavors': list(flavors)}},
        'limits': {'status': 200, 'json': {'limits': {'absolute': limits or {}}}},
    }}}


def read(heat_verify_image, lookups, flavor_names=('m1.tiny',)):
    task = TASKS['Read the answers']
    facts = {}
    for name, expression in task['ansible.builtin.set_fact'].items():
        facts[name] = render(expression, heat_verify_image=heat_verify_image, _heat_verify_flavor_names=list(flavor_names),
                             _lookups=render(task['vars']['_lookups'], **lookups))
    return facts


TINY = {'id': '1', 'name': 'm1.tiny', 'vcpus': 1, 'ram': 512}


def test_an_image_by_name_and_a_flavor_by_name():
    facts = read('cirros', answers({'images': [{'id': 'i', 'status': 'active'}]}, flavors=[TINY, {'id': '2', 'name': 'm1.small'}]))
    assert facts['_heat_verify_images'] == [{'id': 'i', 'status': 'active'}]
    assert facts['_heat_verify_flavors'] == [TINY]


def test_an_image_by_id_found_and_not_found():
    assert read(IMAGE_ID, answers({'id': IMAGE_ID, 'status': 'active'}))['_heat_verify_images'] == [{'id': IMAGE_ID, 'status': 'active'}]
    assert read(IMAGE_ID, answers({'message': 'not found'}, image_status=404))['_heat_verify_images'] == []


def quota_shortfall(limits):
    task = TASKS['Fail when the project\'s compute quota has no room for the server']
    context = {'_heat_verify_flavors': [TINY], '_heat_verify_limits': limits}
    need = {kind: render(value, **context) for kind, value in task['vars']['_need'].items()}
    return render(task['vars']['_short'], _need=need, **context)


LIMITS = {'maxTotalInstances': 10, 'totalInstancesUsed': 0, 'maxTotalCores': 20, 'totalCoresUsed': 0,
          'maxTotalRAMSize': 51200, 'totalRAMUsed': 0}


@pytest.mark.parametrize('change,short', [
    ({}, []),
    ({'maxTotalInstances': -1, 'maxTotalCores': -1, 'maxTotalRAMSize': -1, 'totalCoresUsed': 99}, []),
    ({'maxTotalInstances': 0}, ['instances 0 used of 0, 1 needed']),
    ({'totalInstancesUsed': 10}, ['instances 10 used of 10, 1 needed']),
    ({'totalCoresUsed': 20, 'totalRAMUsed': 51000}, ['cores 20 used of 20, 1 needed', 'ram 51000 used of 51200, 512 needed']),
])
def test_the_quota_shortfall_names_each_limit(change, short):
    assert quota_shortfall(dict(LIMITS, **change)) == short


@pytest.mark.parametrize('name,status,image,fails', [
    ('image', 404, IMAGE_ID, False),       # an image by ID that is not there: named by a later task
    ('image', 404, 'cirros', True),        # by name the answer is a list, never a 404
    ('network', 404, 'cirros', True),      # no list of networks to read
    ('flavors', 0, 'cirros', True),        # no answer
    ('limits', 200, 'cirros', False),
])
def test_only_answers_with_a_body_to_read_go_on(name, status, image, fails):
    condition = TASKS['Fail when an API did not answer']['when']
    item = {'key': name, 'value': {'status': status}}
    assert render('{{ %s }}' % condition, item=item, heat_verify_image=image) is fails
