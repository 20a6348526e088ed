"""The documentation stays true to the repository: docs/variables.md is what
scripts/variables_doc.py makes of the argument specification today, and every
relative link of README.md and docs/*.md reaches a file, and every #anchor a
heading of the file it points into."""
import glob
import importlib.util
import os
import re

import pytest
import yaml

from conftest import ROOT

DOCUMENTS = ['README.md'] + sorted(os.path.relpath(path, ROOT) for path in glob.glob(os.path.join(ROOT, 'docs', '*.md')))

FENCE = re.compile(r'^(```|~~~).*?^\1[^\n]*$', re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r'`[^`\n]+`')
# [text](target) and ![alt](target), with an optional "title"; the text may hold one level of [ ].
INLINE_LINK = re.compile(r'!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
REFERENCE_LINK = re.compile(r'^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$', re.MULTILINE)
HEADING = re.compile(r'^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$', re.MULTILINE)
EXTERNAL = re.compile(r'^[a-z][a-z0-9+.-]*:', re.IGNORECASE)  # https:, mailto:, ...


def load_variables_doc():
    path = os.path.join(ROOT, 'scripts', 'variables_doc.py')
    spec = importlib.util.spec_from_file_location('variables_doc', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_variables_page_is_generated_from_the_argument_specs():
    variables_doc = load_variables_doc()
    with open(variables_doc.SPEC) as spec:
        wanted = variables_doc.render(spec.read())
    with open(variables_doc.PAGE) as page:
        assert page.read() == wanted, 'docs/variables.md is stale: run python3 scripts/variables_doc.py'


def test_variables_page_lists_every_option_and_no_secret_default():
    """What the page must hold, checked apart from the generator that writes it."""
    variables_doc = load_variables_doc()
    with open(variables_doc.SPEC) as spec:
        specs = yaml.safe_load(spec)['argument_specs']
    with open(variables_doc.PAGE) as page:
        rows = dict((line.split('`')[1], line) for line in page if line.startswith('| `'))
    for entry_point in variables_doc.ENTRY_POINTS:
        for name, option in specs[entry_point]['options'].items():
            assert name in rows, '%s is missing from docs/variables.md' % name
            if option.get('no_log'):
                assert '**secret**' in rows[name] and '| not shown |' in rows[name], rows[name]


def prose(text):
    """Markdown without its fenced blocks, and code spans made plain words (no link inside)."""
    return CODE_SPAN.sub('code', FENCE.sub('', text))


def slug(heading):
    """GitHub's anchor for a heading: its text, lowercased, without punctuation but - and _,
    spaces made hyphens."""
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', heading)  # a link's text only
    text = re.sub(r'[^\w\- ]', '', text.lower())
    return text.replace(' ', '-')


def anchors(text):
    """Every anchor GitHub gives the headings of a Markdown text: a repeated one gets -1, -2, ..."""
    seen = {}
    result = set()
    for heading in HEADING.findall(FENCE.sub('', text)):
        base = slug(heading)
        count = seen.get(base, 0)
        result.add(base if count == 0 else '%s-%d' % (base, count))
        seen[base] = count + 1
    return result


def links(text):
    body = prose(text)
    return INLINE_LINK.findall(body) + REFERENCE_LINK.findall(body)


def test_slugs_follow_githubs_rules():
    text = '# Why bundled modules (library/)\n## The lab\n## The lab\n```\n# not a heading\n```\n### `make test`, again\n'
    assert anchors(text) == {'why-bundled-modules-library', 'the-lab', 'the-lab-1', 'make-test-again'}


def broken_links(document):
    path = os.path.join(ROOT, document)
    with open(path) as source:
        text = source.read()
    broken = []
    for target in links(text):
        if EXTERNAL.match(target):
            continue
        file_part, _, anchor = target.partition('#')
        linked = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
        if not os.path.exists(linked):
            broken.append('%s: no such file' % target)
        elif anchor and not linked.endswith('.md'):
            broken.append('%s: an anchor into a file that is not Markdown' % target)
        elif anchor:
            with open(linked) as linked_text:
                if anchor not in anchors(linked_text.read()):
                    broken.append('%s: no heading with that anchor' % target)
    return broken


@pytest.mark.parametrize('document', DOCUMENTS)
def test_relative_links_and_anchors_resolve(document):
    broken = broken_links(document)
    assert not broken, '%s:\n  %s' % (document, '\n  '.join(broken))
