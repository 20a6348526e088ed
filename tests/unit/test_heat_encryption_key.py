"""Unit tests of library/heat_encryption_key.py: the key comparison and the
re-encryption of one value (Heat's crypt replaced by a stand-in)."""
from __future__ import annotations

import pytest

import heat_encryption_key as mod
from ansible.module_utils import heat_config
from conftest import AnsibleExitJson

OLD, NEW = 'o' * 32, 'n' * 32


class FakeCrypt:
    """encrypt/decrypt like heat.common.crypt: decrypting with another key raises."""

    class InvalidEncryptionKey(Exception):
        pass

    def encrypt(self, value, key):
        return 'fake_v1', '%s|%s' % (key, value)

    def decrypt(self, method, data, key):
        assert method == 'fake_v1'
        owner, _, value = data.partition('|')
        if owner != key:
            raise self.InvalidEncryptionKey()
        return value


@pytest.fixture
def recrypt():
    return mod.Recrypt(FakeCrypt(), OLD, NEW)


def test_value_under_the_old_key_moves_to_the_new_one(recrypt):
    assert recrypt('fake_v1', OLD + '|secret', 'user_creds 1 password') == ('fake_v1', NEW + '|secret')


def test_value_already_under_the_new_key_is_left_alone(recrypt):
    assert recrypt('fake_v1', NEW + '|secret', 'user_creds 1 password') is None
    assert recrypt(None, None, 'user_creds 1 trust_id') is None


def test_value_of_a_third_key_names_the_row(recrypt):
    with pytest.raises(ValueError, match='resource_data 7 decrypts neither'):
        recrypt('fake_v1', 'x' * 32 + '|secret', 'resource_data 7')


def test_no_heat_conf_is_not_deployed(module_args, tmp_path):
    module_args({'key': NEW, 'config': str(tmp_path / 'heat.conf')})
    with pytest.raises(AnsibleExitJson) as res:
        mod.main()
    assert res.value.args[0]['deployed'] is False and res.value.args[0]['changed'] is False


@pytest.mark.parametrize('deployed,matches', [(NEW, True), (OLD, False)])
def test_deployed_key_is_compared_and_never_returned(module_args, monkeypatch, tmp_path, deployed, matches):
    conf = tmp_path / 'heat.conf'
    conf.write_text('[DEFAULT]\n')
    monkeypatch.setattr(heat_config, 'read_config', lambda path: (deployed, 'mysql+pymysql://heat@db/heat'))
    module_args({'key': NEW, 'config': str(conf)})
    with pytest.raises(AnsibleExitJson) as res:
        mod.main()
    result = res.value.args[0]
    assert (result['deployed'], result['matches'], result['changed']) == (True, matches, False)
    assert OLD not in repr(result) and NEW not in repr(result)


def test_named_pairs_are_reencrypted_in_place_and_only_those_named(recrypt):
    # raw_template parameters: only encrypted_param_names are touched.
    params = {'db_pass': ['fake_v1', OLD + '|a'], 'plain': 'left as it is', 'done': ['fake_v1', NEW + '|b']}
    assert mod.recrypt_named(recrypt, params, ['db_pass', 'done'], 'raw_template 3 parameter %s') is True
    assert params == {'db_pass': ['fake_v1', NEW + '|a'], 'plain': 'left as it is', 'done': ['fake_v1', NEW + '|b']}
    # Nothing under the old key: no change reported.
    assert mod.recrypt_named(recrypt, params, ['db_pass', 'done'], 'raw_template 3 parameter %s') is False


def test_named_pair_of_a_third_key_names_its_place(recrypt):
    with pytest.raises(ValueError, match='resource_properties_data 9 property password decrypts neither'):
        mod.recrypt_named(recrypt, {'password': ['fake_v1', 'x' * 32 + '|c']}, ['password'],
                          'resource_properties_data 9 property %s')
