"""Every bundled module documents itself the way ansible-doc reads it."""
import ast
import os

import pytest
import yaml

from conftest import ROOT

LIBRARY = os.path.join(ROOT, 'library')
MODULES = sorted(name for name in os.listdir(LIBRARY) if name.endswith('.py'))


def documents(path):
    tree = ast.parse(open(path).read())
    return dict((node.targets[0].id, node.value.value) for node in tree.body
                if isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', None)
                in ('DOCUMENTATION', 'EXAMPLES', 'RETURN'))


def descriptions(entry, where=()):
    """The description of a documented entry (module, option, return value) and of those
    it contains, with where each is (an option may itself be named `description`)."""
    if 'description' in entry:
        yield where, entry['description']
    for children in ('options', 'suboptions', 'contains'):
        for name, child in (entry.get(children) or {}).items():
            yield from descriptions(child, where + (name,))


@pytest.mark.parametrize('module', MODULES)
def test_documentation_examples_and_return_parse(module):
    docs = documents(os.path.join(LIBRARY, module))
    assert sorted(docs) == ['DOCUMENTATION', 'EXAMPLES', 'RETURN']
    parsed = dict((name, yaml.safe_load(text)) for name, text in docs.items())
    assert parsed['DOCUMENTATION']['module'] == module[:-3]
    # A ': ' in a plain description line makes a mapping of it: ansible-doc then refuses the module.
    for name, entry in (('DOCUMENTATION', parsed['DOCUMENTATION']), ('RETURN', {'contains': parsed['RETURN']})):
        for where, text in descriptions(entry):
            lines = text if isinstance(text, list) else [text]
            assert all(isinstance(line, str) for line in lines), (name, where, text)
