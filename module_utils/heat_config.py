# -*- coding: utf-8 -*-
# Shared by heat_plan (is the deployed encryption key the wanted one?) and
# heat_encryption_key (re-encrypt with the new one): heat.conf read once, the
# way Heat reads it, and the key compared without returning it.
from __future__ import annotations

import hmac
import os


def read_config(path):
    """auth_encryption_key and [database] connection of heat.conf, read with oslo.config as Heat reads them."""
    from oslo_config import cfg
    conf = cfg.ConfigOpts()
    conf.register_opts([cfg.StrOpt('auth_encryption_key')])
    conf.register_opts([cfg.StrOpt('connection', secret=True)], group='database')
    conf(args=[], project='heat', default_config_files=[path], default_config_dirs=[])
    return conf.auth_encryption_key, conf.database.connection


def compare_key(path, key):
    """(deployed, matches, deployed key, connection): whether heat.conf at path sets a key, and whether it is key.

    Raises ValueError naming the file when it exists but cannot be read.
    """
    if not os.path.exists(path):
        return False, False, None, None
    try:
        old, connection = read_config(path)
    except Exception as exc:  # noqa: BLE001 - oslo.config's errors, ImportError: named for the caller
        raise ValueError('cannot read %s with oslo.config: %s' % (path, exc))
    matches = bool(old) and hmac.compare_digest(old.encode('utf-8'), key.encode('utf-8'))
    return bool(old), matches, old, connection
