# -*- coding: utf-8 -*-
# Heat templates and stacks as heat_stack compares them: a template parsed
# as Heat stores it, the parameters as Heat shows them, the statuses, and a
# wait condition handle's curl_cli. No requests.
from __future__ import annotations

import json
import re
import shlex

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - python3-yaml ships with every OpenStack host
    yaml = None
    HAS_YAML = False

VERSION_KEYS = ('heat_template_version', 'HeatTemplateFormatVersion', 'AWSTemplateFormatVersion')
TOKEN_IN_TEXT = re.compile(r'X-Auth-Token:\s*([^\s\'"]+)', re.IGNORECASE)
HIDDEN = '******'


def _template_loader():
    """A SafeLoader that keeps timestamps as strings, as Heat's own parser does.

    `heat_template_version: 2015-10-15` must stay the string Heat expects
    (and JSON can carry), not a datetime.date.
    """
    class HeatLoader(yaml.SafeLoader):
        pass

    def _as_str(loader, node):
        return loader.construct_scalar(node)

    HeatLoader.add_constructor('tag:yaml.org,2002:str', _as_str)
    HeatLoader.add_constructor('tag:yaml.org,2002:timestamp', _as_str)
    return HeatLoader


def parse_template(text, origin):
    """Return the template as the JSON-compatible dict Heat stores, or raise ValueError."""
    try:
        data = yaml.load(text, Loader=_template_loader())  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ValueError('%s is not valid YAML/JSON: %s' % (origin, exc))
    if not isinstance(data, dict):
        raise ValueError('%s is not a Heat template: expected a mapping at the top, got %s'
                         % (origin, type(data).__name__ if data is not None else 'an empty document'))
    if not any(key in data for key in VERSION_KEYS):
        raise ValueError('%s is not a Heat template: it has no heat_template_version' % origin)
    try:
        # What Heat gives back from GET .../template is this JSON round trip.
        return json.loads(json.dumps(data))
    except (TypeError, ValueError) as exc:
        raise ValueError('%s holds a value JSON cannot carry: %s' % (origin, exc))


# ---------------------------------------------------------------- helpers

def is_in_progress(status):
    return (status or '').endswith('_IN_PROGRESS')


def is_failed(status):
    status = status or ''
    return status.endswith('_FAILED') or status.startswith('ROLLBACK_')


def param_matches(given, current):
    """Compare a given parameter with the string Heat shows for it."""
    if current is None:
        return False
    if current == HIDDEN:
        return True  # hidden parameter: Heat does not show it, cannot compare
    if isinstance(given, bool):
        return str(given).lower() == str(current).lower()
    if isinstance(given, (list, dict)):
        if isinstance(given, list) and current == ','.join(str(v) for v in given):
            return True
        try:
            return json.loads(current) == given
        except (TypeError, ValueError):
            return False
    if isinstance(given, float) and not isinstance(current, bool):
        try:
            return float(current) == given
        except (TypeError, ValueError):
            return False
    return str(given) == str(current)


def parse_curl_cli(text):
    """Return (url, token) of a wait condition handle's curl_cli string."""
    try:
        words = shlex.split(text)
    except ValueError:
        return None, None
    if not words or not words[0].endswith('curl'):
        return None, None
    url = token = None
    index = 1
    while index < len(words):
        word = words[index]
        if word in ('-H', '--header') and index + 1 < len(words):
            name, _sep, value = words[index + 1].partition(':')
            if name.strip().lower() == 'x-auth-token':
                token = value.strip()
            index += 2
            continue
        if word.startswith(('http://', 'https://')):
            url = word
        index += 1
    return url, token



def tokens_in(value):
    """The tokens an output value holds (curl_cli headers, `token` keys), to mask them."""
    found = set()
    if isinstance(value, str):
        found.update(TOKEN_IN_TEXT.findall(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == 'token' and isinstance(item, str) and item:
                found.add(item)
            else:
                found |= tokens_in(item)
    elif isinstance(value, list):
        for item in value:
            found |= tokens_in(item)
    return found
