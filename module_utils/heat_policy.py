# -*- coding: utf-8 -*-
# heat_policy_overrides checked against the installed Heat before the role
# writes them: oslo.policy loads any name from a policy file and takes a
# check string it cannot parse as "deny", both silently. Each rule name must
# be one of Heat's policies (module_utils/heat_options.py reads them with
# the option registry) or a rule another override refers to (`rule:name`, an
# alias of the operator's); each check string must parse as oslo.policy
# parses it, and refer only to rules that exist.
from __future__ import annotations

import difflib
import logging


class _Collect(logging.Handler):
    """What oslo.policy's parser logs while it parses: what it could not understand."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def parse(check_str):
    """oslo.policy's own parse of a check string: (the check, [what it could not understand]). The parser does not
    raise: it logs and denies."""
    from oslo_policy import _parser
    logger = logging.getLogger(_parser.__name__)
    collect = _Collect()
    propagate, logger.propagate = logger.propagate, False  # not into the module's output
    logger.addHandler(collect)
    try:
        check = _parser.parse_rule(check_str)
    finally:
        logger.removeHandler(collect)
        logger.propagate = propagate
    return check, collect.messages


def references(check):
    """The rule names a parsed check refers to (`rule:name`), through and/or/not."""
    if getattr(check, 'kind', None) == 'rule':
        yield check.match
    for part in getattr(check, 'rules', None) or []:
        yield from references(part)
    if getattr(check, 'rule', None) is not None:
        yield from references(check.rule)


def unchecked(reason):
    """The result of check() where the policies could not be looked up, and why."""
    return dict(state='unchecked', reason=reason, refused=[], deprecated=[])


def check(overrides, registry):
    """heat_policy_overrides ({rule: check string}) against the installed Heat's policies (the option registry's
    `policies` and `policies_renamed`). Returns {state: checked or unchecked, reason, refused: [text],
    deprecated: [text]}."""
    if not overrides:
        return dict(state='checked', reason='', refused=[], deprecated=[])
    if 'policies' not in registry:
        return unchecked(registry.get('policies_failed') or '; '.join(registry.get('failed') or []))
    try:
        parsed = dict((name, parse(str(text))) for name, text in overrides.items())
    except ImportError as exc:
        return unchecked('oslo.policy: %s' % exc)
    policies, renamed = set(registry['policies']), registry.get('policies_renamed') or {}
    referred = set(name for check_, _problems in parsed.values() for name in references(check_))
    refused, deprecated = [], []
    for name, (check_, problems) in sorted(parsed.items()):
        if problems:
            # oslo.policy's words name the check string.
            refused.append('the check string of %s does not parse: %s' % (name, '; '.join(problems)))
        for target in sorted(set(references(check_)) - policies - set(renamed) - set(overrides)):
            refused.append('the check string of %s refers to rule:%s, which is neither a policy of Heat nor in '
                           'heat_policy_overrides' % (name, target))
        if name in renamed:
            deprecated.append('%s is deprecated: its name is now %s' % (name, renamed[name]))
        elif name not in policies and name not in referred:
            text = '%s is not a policy of Heat, nor a rule another override refers to' % name
            closest = difflib.get_close_matches(name, sorted(policies), n=3, cutoff=0.7)
            refused.append(text + ('; closest: %s' % ', '.join(closest) if closest else ''))
    return dict(state='checked', reason='', refused=refused, deprecated=deprecated)
