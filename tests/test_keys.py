from __future__ import annotations

import os
import pickle
import stat

import pytest

import pplink
from pplink.errors import SecretError
from pplink.keys import SECRET_ENV_VAR, SecretPermissionWarning, fingerprints_equal


def test_keygen_file_roundtrip_and_mode(tmp_path):
    path = tmp_path / "k"
    written = pplink.write_secret_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert pplink.load_secret(path) == written


def test_refuses_to_overwrite_existing_secret(tmp_path):
    path = tmp_path / "k"
    pplink.write_secret_file(path)
    with pytest.raises(SecretError, match="already exists"):
        pplink.write_secret_file(path)


def test_secret_from_environment(monkeypatch, secret):
    monkeypatch.setenv(SECRET_ENV_VAR, secret.to_text())
    assert pplink.load_secret() == secret


def test_missing_secret_explains_both_sources(monkeypatch):
    monkeypatch.delenv(SECRET_ENV_VAR, raising=False)
    with pytest.raises(SecretError, match="--secret-file") as info:
        pplink.load_secret()
    assert SECRET_ENV_VAR in str(info.value)


@pytest.mark.parametrize("weak", ["", "short", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "abcabcabcabcabcabcabcabcabc"])
def test_weak_secrets_refused(weak):
    with pytest.raises(SecretError, match="too weak|empty"):
        pplink.Secret.from_text(weak)


def test_long_passphrase_accepted():
    assert pplink.Secret.from_text("correct horse battery staple, Enschede 2026!")


def test_secret_never_shown(secret):
    text = secret.to_text()
    body = text.split(":", 1)[1]
    assert body not in repr(secret) and body not in str(secret)
    assert "redacted" in repr(secret)
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_damaged_secret_error_does_not_echo_it():
    bad = "pplink-secret-v1:!!!notbase64###" + "x" * 20
    with pytest.raises(SecretError) as info:
        pplink.Secret.from_text(bad)
    assert "notbase64" not in str(info.value)


def test_loose_permissions_warn(tmp_path, secret):
    path = tmp_path / "k"
    pplink.write_secret_file(path, secret)
    os.chmod(path, 0o644)
    with pytest.warns(SecretPermissionWarning, match="chmod 600"):
        pplink.load_secret(path)


def test_missing_file_message(tmp_path):
    with pytest.raises(SecretError, match="pplink keygen"):
        pplink.load_secret(tmp_path / "nope")


def test_derivation_separates_purposes_and_projects(secret):
    a = secret.derive("token/bsn", project="p1")
    assert a == secret.derive("token/bsn", project="p1")
    assert a != secret.derive("token/address", project="p1")
    assert a != secret.derive("token/bsn", project="p2")


def test_fingerprint_identifies_without_revealing(secret, other_secret):
    fp = secret.fingerprint(project="default")
    assert fp == pplink.Secret.from_text(secret.to_text()).fingerprint(project="default")
    assert fp != other_secret.fingerprint(project="default")
    assert fp not in secret.to_text()
    assert fingerprints_equal(fp, fp) and not fingerprints_equal(fp, fp[:-1] + "0")


def test_passphrases_are_stretched_before_use():
    phrase = "correct horse battery staple, Enschede 2026!"
    stretched = pplink.Secret.from_text(phrase)
    raw = pplink.Secret(phrase.encode())
    assert stretched.fingerprint(project="p") != raw.fingerprint(project="p")
    assert stretched == pplink.Secret.from_text(phrase)
