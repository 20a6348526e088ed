# -*- coding: utf-8 -*-
# An INI file (oslo.config style) read and edited with iniparse, which keeps
# comments, blank lines and order: what ini_settings writes, and what the
# plan (heat_plan's controller part) compares heat.conf with, so that both
# decide "differs" in the same way.
from __future__ import annotations

import io
import re

from ansible.module_utils.common.text.converters import to_native

try:
    from iniparse import ini as iniparse_ini
    from iniparse.ini import EmptyLine, INIConfig, LineContainer, SectionLine
    HAS_INIPARSE = True
except ImportError:
    HAS_INIPARSE = False

DEFAULT_SECTION = 'DEFAULT'
MASK = '********'

# Names whose values are secret (they are, or embed, passwords and keys):
# heat.conf's keys, the role's own and an override's, and the role's inputs
# (module_utils/heat_inputs.py). The one place that decides it.
SECRET_NAME_RE = re.compile(r'pass|secret|token|_key$|key_content|connection|transport_url', re.IGNORECASE)

# What iniparse reads back as a section name / an option name (see iniparse.ini
# SectionLine and OptionLine); anything else would not round-trip.
SECTION_NAME_RE = re.compile(r'^[^\[\]\r\n]+$')
KEY_NAME_RE = re.compile(r'^[^:=\s\[#;][^:=\r\n]*$')


def valid_section_name(name):
    return isinstance(name, str) and SECTION_NAME_RE.match(name) is not None and name == name.strip()


def valid_key_name(name):
    return isinstance(name, str) and KEY_NAME_RE.match(name) is not None and name == name.strip()


class ParseError(ValueError):
    """The file is not INI; the message names the lines (never a secret's value)."""


def _type_name(value):
    if isinstance(value, dict):
        return 'dict'
    if isinstance(value, (list, tuple, set)):
        return 'list'
    return type(value).__name__


def _to_ini_text(value):
    """The text written for a scalar value: booleans as oslo.config writes them."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return to_native(value).strip()


def is_secret(section, key, secret_keys):
    return (SECRET_NAME_RE.search(key) is not None
            or key in secret_keys
            or '%s.%s' % (section, key) in secret_keys)


def _secret_strings(value):
    """Every non-empty string a secret value can show up as in a result."""
    found = set()
    if isinstance(value, dict):
        for item in value.values():
            found.update(_secret_strings(item))
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            found.update(_secret_strings(item))
    elif isinstance(value, bool) or value is None:
        pass  # true/false are not secrets worth masking everywhere (as AnsibleModule)
    else:
        text = to_native(value)
        for candidate in (text, text.strip()):
            if candidate:
                found.add(candidate)
    return found


def register_secrets(module, settings, secret_keys):
    """Add every secret value to the module's no_log_values, before anything can be reported."""
    if not isinstance(settings, dict):
        return
    for section, keys in settings.items():
        if not isinstance(keys, dict):
            continue
        for key, value in keys.items():
            if is_secret(to_native(section), to_native(key), secret_keys):
                module.no_log_values.update(_secret_strings(value))


def validate_settings(settings, where='settings'):
    """Return ([(section, key, text or None)], [error, ...]) without touching anything."""
    wanted = []
    errors = []
    for section, keys in settings.items():
        place = '%s.%s' % (where, section)
        if not valid_section_name(section):
            errors.append('%s: invalid section name (it must not be empty, have surrounding spaces, '
                          'line breaks or square brackets)' % place)
            continue
        if not isinstance(keys, dict):
            errors.append('%s: section must be a mapping of key: value, got %s' % (place, _type_name(keys)))
            continue
        for key, value in keys.items():
            place = '%s.%s.%s' % (where, section, key)
            if not valid_key_name(key):
                errors.append('%s: invalid key name (it must not be empty, have surrounding spaces, '
                              'start with #, ; or [, or contain =, : or line breaks)' % place)
                continue
            if value is None:
                wanted.append((section, key, None))
                continue
            if not isinstance(value, (str, int, float, bool)):
                errors.append('%s: value must be a scalar (string, number, boolean) or null, got %s'
                              % (place, _type_name(value)))
                continue
            text = _to_ini_text(value)
            if '\n' in text or '\r' in text:
                errors.append('%s: value must be a single line' % place)
                continue
            wanted.append((section, key, text))
    return wanted, errors


def _describe_line(lineno, line, secret_keys):
    line = to_native(line).rstrip('\r\n')
    name = line.split('=', 1)[0].split(':', 1)[0].strip()
    if SECRET_NAME_RE.search(line) or any(s and s in line for s in secret_keys) or name in secret_keys:
        return 'line %d (content not shown, it may hold a secret)' % lineno
    if len(line) > 80:
        line = line[:77] + '...'
    return 'line %d: %r' % (lineno, line)


def parse(path, text, secret_keys=()):
    """text parsed with iniparse; ParseError naming the offending line(s)."""
    # Lines starting with "rem" are options, not comments (as crudini does).
    iniparse_ini.change_comment_syntax(';#', allow_rem=False)
    fp = io.StringIO(text)
    fp.name = path
    try:
        # Case-sensitive keys (optionxformvalue=None), as crudini and oslo.config.
        return INIConfig(fp, optionxformvalue=None)
    except Exception as e:  # iniparse raises configparser's errors
        if hasattr(e, 'lineno') and hasattr(e, 'line'):  # MissingSectionHeaderError
            raise ParseError('cannot parse %s: %s: key = value line before the first [section] header'
                             % (path, _describe_line(e.lineno, e.line, secret_keys)))
        if getattr(e, 'errors', None):  # ParsingError, one entry per bad line
            lines = '; '.join(_describe_line(n, l, secret_keys) for n, l in e.errors)
            raise ParseError('cannot parse %s: %s: not a [section] header, key = value line or # comment'
                             % (path, lines))
        raise ParseError('cannot parse %s: %s' % (path, to_native(e)))


def _section(cfg, name):
    """The INISection for name, or None. DEFAULT is iniparse's defaults object."""
    if name == DEFAULT_SECTION:
        return cfg._defaults
    return cfg._sections.get(name)


def _default_header_present(cfg):
    last = cfg._defaults._lines[-1]
    return any(line is last for line in cfg._data.contents)


def _ensure_section(cfg, name):
    if name != DEFAULT_SECTION:
        sec = cfg._sections.get(name)
        if sec is None:
            # _new_namespace puts a blank line before the new header; drop the one
            # that only ended the file, or the file gets two.
            contents = cfg._data.contents
            if contents and isinstance(contents[-1], EmptyLine):
                contents.pop()
            sec = cfg._new_namespace(name)
        return sec
    if not _default_header_present(cfg):
        # iniparse keeps DEFAULT keys in a container that is not part of the file
        # unless the file has a [DEFAULT] header: add one before the first section,
        # after any comments opening the file.
        header = LineContainer(SectionLine(DEFAULT_SECTION))
        contents = cfg._data.contents
        index = next((i for i, x in enumerate(contents) if isinstance(x, LineContainer)), None)
        if index is None:
            if contents and not isinstance(contents[-1], EmptyLine):
                contents.append(EmptyLine())
            contents.append(header)
        else:
            contents[index:index] = [header, EmptyLine()]
        cfg._defaults._lines.append(header)
    return cfg._defaults


def current(cfg, section, key):
    """The key's value as written in the section itself (never a DEFAULT fallback)."""
    sec = _section(cfg, section)
    if sec is None or key not in sec._options:
        return None
    value = sec._options[key].value
    return '' if value is None else to_native(value).strip()


def differences(cfg, wanted):
    """[(section, key, action, old, new)] of wanted against cfg, which is left as it is."""
    changes = []
    for section, key, new in wanted:
        old = current(cfg, section, key)
        if new is None:
            if old is not None:
                changes.append((section, key, 'removed', old, None))
        elif old is None:
            changes.append((section, key, 'added', None, new))
        elif old != new:
            changes.append((section, key, 'updated', old, new))
    return changes


def apply(cfg, changes):
    """Make the changes in cfg (in memory)."""
    for section, key, action, old, new in changes:
        if action == 'removed':
            del _section(cfg, section)[key]
        elif action == 'added':
            _ensure_section(cfg, section)[key] = new
        else:
            _section(cfg, section)[key] = new


def render(cfg):
    text = to_native(str(cfg))
    if text and not text.endswith('\n'):
        text += '\n'
    return text


def read(path):
    """(exists, text) of the file at path; OSError and UnicodeDecodeError as raised."""
    try:
        with open(path, 'r', encoding='utf-8') as handle:
            return True, handle.read()
    except FileNotFoundError:
        return False, ''
