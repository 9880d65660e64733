"""The encrypted keystore, stored API credentials, and where passphrases come from."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from polytui.ops import keystore as ks
from polytui.ops.passphrase import PassphraseError, read_passphrase
from polytui.ops.redact import REDACTOR, Secret
from polytui.protocol.auth import ApiCreds

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
ADDRESS = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
PASS = Secret("correct horse battery staple")
CREDS = ApiCreds(
    api_key="550e8400-e29b-41d4-a716-446655440000",
    secret="c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I=",
    passphrase="f1e2d3c4b5a6978877665544332211aa",
)


@pytest.fixture(autouse=True)
def _fast_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ks, "SCRYPT_N", 1 << 10)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_import_unlock_and_address(tmp_path: Path) -> None:
    store = ks.Keystore(tmp_path / "keys" / "keystore.json")
    assert store.import_key(KEY, PASS) == ADDRESS
    assert mode(store.path) == 0o600 and mode(store.path.parent) == 0o700
    text = store.path.read_text()
    assert KEY[2:] not in text and PASS.reveal() not in text
    doc = json.loads(text)
    assert doc["version"] == 3 and doc["crypto"]["kdf"] == "scrypt"
    assert store.address() == ADDRESS  # no passphrase needed
    assert store.unlock(PASS).address == ADDRESS
    with pytest.raises(ks.KeystoreError, match="wrong passphrase"):
        store.unlock(Secret("not the passphrase"))


def test_an_existing_keystore_is_never_overwritten(tmp_path: Path) -> None:
    store = ks.Keystore(tmp_path / "keystore.json")
    first = store.create(PASS)
    before = store.path.read_bytes()
    with pytest.raises(ks.KeystoreError, match="already exists"):
        store.import_key(KEY, PASS)
    assert store.path.read_bytes() == before and store.address() == first


def test_bad_input_is_refused_without_echo(tmp_path: Path) -> None:
    store = ks.Keystore(tmp_path / "keystore.json")
    typo = KEY[:-1] + "z"
    with pytest.raises(ks.KeystoreError) as info:
        store.import_key(typo, PASS)
    assert typo not in str(info.value) and typo[2:] not in str(info.value)
    assert not store.path.exists()
    with pytest.raises(ks.KeystoreError, match="no keystore"):
        store.address()
    store.path.write_text("{not json")
    os.chmod(store.path, 0o600)
    with pytest.raises(ks.KeystoreError, match="not a keystore"):
        store.address()


def test_a_readable_keystore_is_refused(tmp_path: Path) -> None:
    store = ks.Keystore(tmp_path / "keystore.json")
    store.import_key(KEY, PASS)
    os.chmod(store.path, 0o644)
    with pytest.raises(ks.KeystoreError, match="chmod 600"):
        store.unlock(PASS)


def test_api_creds_are_stored_encrypted_and_bound_to_the_key(tmp_path: Path) -> None:
    store = ks.Keystore(tmp_path / "keystore.json")
    store.import_key(KEY, PASS)
    store.save_creds(CREDS, PASS)
    blob = store.creds_path.read_bytes()
    assert mode(store.creds_path) == 0o600
    for secret in (CREDS.secret, CREDS.passphrase, CREDS.api_key):
        assert secret.encode() not in blob
    assert store.load_creds(PASS) == CREDS
    assert REDACTOR.scrub_text(CREDS.secret) == "***"  # loaded secrets are masked from now on
    with pytest.raises(ks.KeystoreError, match="cannot open"):
        store.load_creds(Secret("wrong passphrase"))
    other = ks.Keystore(tmp_path / "other" / "keystore.json")
    other.create(PASS)
    other.creds_path.write_bytes(blob)
    os.chmod(other.creds_path, 0o600)
    with pytest.raises(ks.KeystoreError, match="belongs to"):
        other.load_creds(PASS)


def test_passphrase_sources_in_order(tmp_path: Path) -> None:
    common = {"purpose": "keystore", "env_var": "PP", "credential": "cred"}
    file = tmp_path / "pp"
    file.write_text("from the file\n")
    os.chmod(file, 0o600)
    creds_dir = tmp_path / "creds"
    creds_dir.mkdir()
    (creds_dir / "cred").write_text("from systemd")
    env = {"PP": "from the environment", "CREDENTIALS_DIRECTORY": str(creds_dir)}
    assert read_passphrase(**common, file=file, environ=env).reveal() == "from the file"
    assert read_passphrase(**common, environ=env).reveal() == "from the environment"
    env.pop("PP")
    assert read_passphrase(**common, environ=env).reveal() == "from systemd"
    asked = iter(["typed", "typed"])
    got = read_passphrase(**common, environ={}, interactive=True, prompt=lambda _: next(asked))
    assert got.reveal() == "typed"
    with pytest.raises(PassphraseError, match="--passphrase-file"):
        read_passphrase(**common, environ={}, interactive=False)


def test_passphrase_refusals(tmp_path: Path) -> None:
    common = {"purpose": "backup", "env_var": "PP", "credential": "cred", "environ": {}}
    answers = iter(["one passphrase", "another one"])
    with pytest.raises(PassphraseError, match="differ"):
        read_passphrase(**common, new=True, interactive=True, prompt=lambda _: next(answers))
    with pytest.raises(PassphraseError, match="at least 8"):
        read_passphrase(**common, new=True, interactive=True, prompt=lambda _: "short")
    file = tmp_path / "pp"
    file.write_text("readable by all")
    os.chmod(file, 0o644)
    with pytest.raises(PassphraseError, match="chmod 600"):
        read_passphrase(**common, file=file)
    with pytest.raises(PassphraseError, match="cannot read"):
        read_passphrase(**common, file=tmp_path / "missing")
