"""Node identities on disk: encrypted, owner-only, and refused when anything is off."""

from __future__ import annotations

import json
import os
import stat

import pytest

from crypto.errors import KeyFileError
from crypto.keys import KdfParams, NodeIdentity, load_identity, save_identity

from .conftest import NOW

FAST = KdfParams(iterations=1, lanes=1, memory_kib=8 * 1024)  # the floor: tests stay quick


def test_saved_identity_loads_with_the_same_keys(tmp_path, iq):
    path = tmp_path / "identity.key"
    save_identity(iq, path, "correct horse battery staple", FAST)
    loaded = load_identity(path, "correct horse battery staple")
    assert loaded.node_id == "IQ"
    assert loaded.signing.public == iq.signing.public
    assert [k.kid for k in loaded.kem_keys] == [k.kid for k in iq.kem_keys]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_key_file_holds_no_plaintext_secret(tmp_path, iq):
    path = tmp_path / "identity.key"
    save_identity(iq, path, "pass phrase", FAST)
    data = path.read_bytes()
    for seed in (*iq.signing.seeds(), iq.kem_keys[0].private.seed):
        assert seed not in data
    assert b'"node_id"' not in data  # even the node id is inside the ciphertext


def test_default_kdf_is_memory_hard(tmp_path):
    identity = NodeIdentity.generate("SY", now=NOW)
    path = tmp_path / "k"
    save_identity(identity, path, "pass phrase")
    kdf = json.loads(path.read_bytes())["kdf"]
    assert kdf["name"] == "argon2id" and kdf["memory_kib"] >= 64 * 1024


def test_wrong_passphrase_is_refused(tmp_path, iq):
    path = tmp_path / "identity.key"
    save_identity(iq, path, "right", FAST)
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        load_identity(path, "wrong")


def test_empty_passphrase_is_refused(tmp_path, iq):
    with pytest.raises(KeyFileError):
        save_identity(iq, tmp_path / "k", "", FAST)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_key_file_readable_by_others_is_refused(tmp_path, iq, mode):
    path = tmp_path / "identity.key"
    save_identity(iq, path, "pass", FAST)
    os.chmod(path, mode)
    with pytest.raises(KeyFileError, match="chmod 600"):
        load_identity(path, "pass")


@pytest.mark.parametrize("field", ["salt", "nonce", "ciphertext", "iterations"])
def test_tampered_key_file_is_refused(tmp_path, iq, field):
    path = tmp_path / "identity.key"
    save_identity(iq, path, "pass", FAST)
    obj = json.loads(path.read_bytes())
    if field == "iterations":
        obj["kdf"]["iterations"] = 2  # bound as associated data: a changed cost is detected
    else:
        target = obj if field != "salt" else obj["kdf"]
        value = target[field]
        target[field] = ("A" if value[0] != "A" else "B") + value[1:]
    path.write_text(json.dumps(obj))
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileError):
        load_identity(path, "pass")


def test_absurd_kdf_parameters_are_refused(tmp_path, iq):
    path = tmp_path / "identity.key"
    save_identity(iq, path, "pass", FAST)
    obj = json.loads(path.read_bytes())
    obj["kdf"]["memory_kib"] = 1 << 40
    path.write_text(json.dumps(obj))
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileError, match="memory"):
        load_identity(path, "pass")


def test_missing_and_garbage_files_are_refused(tmp_path):
    with pytest.raises(KeyFileError, match="does not exist"):
        load_identity(tmp_path / "absent", "pass")
    path = tmp_path / "garbage"
    path.write_bytes(b"\x00not json")
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileError):
        load_identity(path, "pass")


def test_rotation_keeps_old_keys_until_destroyed():
    identity = NodeIdentity.generate("SY", now=NOW - 100, kem_lifetime=1000)
    old = identity.kem_keys[0]
    new = identity.add_kem_key(now=NOW, lifetime=1000)
    assert identity.current_kem_key(NOW + 10).kid == new.kid
    assert identity.kem_key(old.kid) is old
    assert identity.destroy_kem_keys_before(NOW + 950) == [old.kid]
    assert [k.kid for k in identity.kem_keys] == [new.kid]


def test_named_secrets_survive_the_key_file(tmp_path):
    identity = NodeIdentity.generate("IQ", now=NOW)
    identity.secrets["data-key"] = b"\x07" * 32
    path = tmp_path / "identity.key"
    save_identity(identity, path, "pass", FAST)
    assert b"\x07" * 32 not in path.read_bytes()
    assert load_identity(path, "pass").secrets == {"data-key": b"\x07" * 32}
