"""The verification's choice of template (roles/heat/tasks/verify.yml, "Read the
catalog" and "Choose the verification template"), templated as Ansible
templates them: only heat_region's catalog counts, as only there does Heat
find the guide's server, image and network (region_name_for_services)."""
from pathlib import Path

import pytest
import yaml
from ansible.template import trust_as_template

from test_verify_guide import render

ROOT = Path(__file__).resolve().parents[2]
BLOCK = yaml.safe_load((ROOT / 'roles/heat/tasks/verify.yml').read_text())[0]['block']
TASKS = {task['name']: task for task in BLOCK}

EVERYTHING = ['compute', 'identity', 'image', 'network', 'orchestration']


def token(catalog, services=EVERYTHING):
    """openstack_get's token: `catalog` the region's (and interface's) URLs, `services` every region's types."""
    return {'catalog': {kind: 'http://%s' % kind for kind in catalog}, 'services': list(services)}


def choose(demo_token, template='auto', region='RegionTwo', image='cirros', network='demo-net'):
    inputs = dict(_heat_verify_demo={'token': demo_token}, heat_region=region, heat_verify_template=template,
                  heat_verify_image=image, heat_verify_network=network)
    facts = {name: render(value, **inputs) for name, value in TASKS['Read the catalog']['ansible.builtin.set_fact'].items()}
    task = TASKS['Choose the verification template']
    # The task's vars are templates too, resolved when used.
    local = {name: trust_as_template(value) if isinstance(value, str) else value for name, value in task['vars'].items()}
    for name, value in task['ansible.builtin.set_fact'].items():
        facts[name] = render(value, **dict(inputs, **facts, **local))
        if isinstance(facts[name], str):  # a folded scalar's line breaks
            facts[name] = ' '.join(facts[name].split())
    return facts


def holds(condition, **variables):
    """A `when:` condition, as Ansible evaluates it."""
    return render('{{ %s }}' % condition, **variables)


def test_a_region_without_the_guides_services_gets_the_smoke_template():
    # RegionTwo has Heat only; RegionOne has compute, image and network.
    facts = choose(token(['orchestration']))
    assert facts['_heat_verify_catalog_types'] == ['orchestration']
    assert facts['_heat_verify_kind'] == 'smoke'
    assert facts['_heat_verify_why'] == "auto: the catalog of region RegionTwo lacks compute, image, network"
    assert facts['_heat_verify_lacking'] == ['compute', 'image', 'network']


def test_a_region_lacking_one_service_names_it():
    facts = choose(token(['compute', 'identity', 'orchestration', 'network']), region='RegionOne')
    assert (facts['_heat_verify_kind'], facts['_heat_verify_why']) == ('smoke', "auto: the catalog of region RegionOne lacks image")


def test_a_region_with_everything_gets_the_guides_template():
    facts = choose(token(EVERYTHING), region='RegionOne')
    assert facts['_heat_verify_kind'] == 'guide'
    assert facts['_heat_verify_why'] == ("auto: the catalog of region RegionOne has compute, image and network, and "
                                         "heat_verify_image and heat_verify_network are set")
    assert facts['_heat_verify_lacking'] == []


@pytest.mark.parametrize('template,kind', [('guide', 'guide'), ('smoke', 'smoke')])
def test_a_forced_template_is_said_and_a_forced_guide_in_a_bare_region_is_refused(template, kind):
    facts = choose(token(['orchestration']), template=template)
    assert (facts['_heat_verify_kind'], facts['_heat_verify_why']) == (kind, 'heat_verify_template is %s' % template)
    forced = TASKS['Fail when the guide\'s template is forced in a region without compute, image or network']
    variables = dict(facts, heat_region='RegionTwo', _heat_verify_demo={'token': token(['orchestration'])})
    refused = all(holds(condition, **variables) for condition in forced['when'])
    assert refused is (kind == 'guide')
    if refused:
        msg = ' '.join(render(forced['ansible.builtin.fail']['msg'], **variables).split())
        assert msg.startswith("heat_verify_template is guide, but the catalog of region RegionTwo (heat_region")
        assert 'lacks compute, image, network (registered in another region only): use heat_verify_template' in msg


@pytest.mark.parametrize('services,ending', [
    (EVERYTHING, ": orchestration is in another region, and heat_region must be the region of Heat's endpoints?"),
    (['identity'], ': is Heat registered in Keystone?'),
])
def test_a_region_without_heat_is_named_with_heat_region(services, ending):
    task = TASKS['Fail when the catalog has no public orchestration endpoint in the region']
    variables = dict(heat_region='RegionTwo', _heat_verify_demo={'token': token([], services)},
                     _heat_verify_catalog_types=[], _heat_verify_urls={})
    assert holds(task['when'], **variables) is True
    msg = ' '.join(render(task['ansible.builtin.fail']['msg'], **variables).split())
    assert msg == ("The demo user's catalog has no public orchestration endpoint in region RegionTwo (heat_region; "
                   "its services there: none)" + ending)
