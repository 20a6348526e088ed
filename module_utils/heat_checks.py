# -*- coding: utf-8 -*-
# What the read-only checks of the heat role share: the failure they
# raise (with its cause, for the role to name its inputs), a CA bundle
# given as content, and the TLS check of the https URLs Heat is given.
from __future__ import annotations

import os
import ssl
from urllib.error import HTTPError, URLError

from ansible.module_utils.urls import open_url


class CheckFailed(Exception):
    def __init__(self, cause, msg):
        super().__init__(msg)
        self.cause = cause


def write_ca_file(data, directory):
    """The path of a file holding the PEM bundle `data` in `directory`; CheckFailed('parameters') when unusable."""
    if '-----BEGIN CERTIFICATE-----' not in data:
        raise CheckFailed('parameters', 'ca_data must hold PEM certificates (-----BEGIN CERTIFICATE-----)')
    path = os.path.join(directory, 'ca-bundle.pem')
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(data)
    try:
        ssl.create_default_context(cafile=path)
    except ssl.SSLError as exc:
        raise CheckFailed('parameters', 'ca_data holds no usable CA certificate: %s' % exc)
    return path


def check_tls_urls(entries, ca_file, validate=True):
    """Fail on the first https URL whose certificate does not verify; return the URLs checked."""
    checked = []
    for entry in entries:
        if not entry['url'].lower().startswith('https://'):
            continue
        try:
            open_url(entry['url'], method='GET', timeout=10, follow_redirects='none', validate_certs=validate,
                     ca_path=ca_file if validate else None)
        except HTTPError:
            pass  # an HTTP answer: TLS worked
        except URLError as exc:
            if isinstance(exc.reason, ssl.SSLError):
                raise CheckFailed('tls_url', 'TLS with %s (%s) failed: %s' % (entry['url'], entry['name'], exc.reason))
            continue  # unreachable
        except (OSError, ValueError):
            continue
        checked.append(entry['url'])
    return checked


def tls_url_options():
    """The https URLs to check (heat_plan's `tls_urls`)."""
    return dict(type='list', elements='dict', options=dict(
        name=dict(type='str', required=True),
        url=dict(type='str', required=True),
    ))
