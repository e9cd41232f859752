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


# -- per-project keys (issue #7) -------------------------------------------------------------
def _hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869, written out: extract, then expand."""
    import hmac as _hmac

    prk = _hmac.digest(salt, ikm, "sha256")
    out, block = b"", b""
    for i in range(1, -(-length // 32) + 1):
        block = _hmac.digest(prk, block + info + bytes([i]), "sha256")
        out += block
    return out[:length]


def test_derivation_is_hkdf_with_the_project_as_salt(secret):
    """Pins the documented construction: changing it would orphan every file already encoded."""
    import base64

    material = base64.urlsafe_b64decode(secret.to_text().split(":", 1)[1] + "==")
    for project in ("default", "wmo-jeugd-enschede-2026", "Wmo & Jeugd 2026"):
        salt = b"pplink/v1/project:" + project.encode("utf-8")
        for purpose in ("token/bsn", "token/address", "bloom/clk/surname", "row-order"):
            assert secret.derive(purpose, project=project) == _hkdf_sha256(material, salt, purpose.encode(), 32)
        assert secret.fingerprint(project=project) == _hkdf_sha256(material, salt, b"key-fingerprint", 16).hex()


def test_derive_needs_a_project(secret):
    with pytest.raises(ValueError, match="project"):
        secret.derive("token/bsn", project="")


def test_project_names_differing_only_in_case_are_different_projects(secret):
    assert secret.fingerprint(project="wmo-2026") != secret.fingerprint(project="Wmo-2026")


@pytest.mark.parametrize("name", ["", " wmo-2026", "wmo-2026 ", "wmo\n2026", "wmo\t2026"])
def test_invisible_project_name_differences_are_refused(name):
    import dataclasses

    data = pplink.default_schema().to_dict()
    data["project"] = name
    with pytest.raises(pplink.ConfigError, match="'project' must be a non-empty string"):
        pplink.Schema.from_dict(data)
    with pytest.raises(pplink.ConfigError, match="'project' must be a non-empty string"):
        dataclasses.replace(pplink.default_schema(), project=name)


def test_readable_project_names_are_accepted():
    for name in ("wmo-jeugd-enschede-2026", "Wmo & Jeugd, Enschede 2026", "gemeente-’s-Hertogenbosch"):
        data = pplink.default_schema().to_dict()
        data["project"] = name
        assert pplink.Schema.from_dict(data).project == name


# -- docs/howto/projects-and-keys.md -----------------------------------------------------------
HOWTO = os.path.join(os.path.dirname(__file__), os.pardir, "docs", "howto", "projects-and-keys.md")


def test_howto_python_examples_run(tmp_path, monkeypatch):
    """Every ```python block of the how-to, run in order as one doctest in an empty directory."""
    import doctest
    import re
    import warnings

    with open(HOWTO, encoding="utf-8") as fh:
        page = fh.read()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    assert len(blocks) >= 6 and all(">>>" in b for b in blocks)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(SECRET_ENV_VAR, raising=False)
    test = doctest.DocTestParser().get_doctest("\n".join(blocks), {}, "projects-and-keys.md", HOWTO, 0)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.IGNORE_EXCEPTION_DETAIL
    runner = doctest.DocTestRunner(optionflags=flags)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runner.run(test, out=lambda text: pytest.fail(text))
    assert runner.summarize(verbose=False).attempted >= 15


def test_howto_command_line_workflow(tmp_path, capsys, monkeypatch):
    """The commands of the how-to: keygen, encode with a project schema, inspect, link refusal."""
    import json
    import warnings
    from importlib import resources

    from pplink.cli import main
    from pplink.datasets import generate_municipality, mapping_path

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(SECRET_ENV_VAR, raising=False)
    paths = generate_municipality(800, seed=3).write("src")
    text = (resources.files("pplink") / "data" / "schemas" / "nl-person.toml").read_text(encoding="utf-8")
    with open("project-schema.toml", "w", encoding="utf-8") as fh:
        fh.write(text.replace('project = "default"', 'project = "wmo-jeugd-enschede-2026"'))

    def run(*argv):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("keygen", "-o", "project.key")
    secret = pplink.load_secret("project.key")
    assert code == 0 and f"key fingerprint for project 'default': {secret.fingerprint(project='default')}" in out
    code, _, err = run("encode", paths["wmo"], "--mapping", mapping_path("wmo"), "--schema", "project-schema.toml",
                       "--secret-file", "project.key", "-o", "wmo.parquet")
    assert code == 0, err
    code, _, err = run("encode", paths["participatie"], "--mapping", mapping_path("participatie"),
                       "--secret-file", "project.key", "-o", "participatie-default.parquet")
    assert code == 0, err
    schema = pplink.load_schema("project-schema.toml")
    expected = secret.fingerprint(project="wmo-jeugd-enschede-2026")
    code, out, _ = run("inspect", "wmo.parquet", "--json")
    meta = json.loads(out)["metadata"]
    assert code == 0 and meta["schema"]["project"] == "wmo-jeugd-enschede-2026"
    assert (meta["key_fingerprint"], meta["schema_fingerprint"]) == (expected, schema.fingerprint)
    code, out, _ = run("inspect", "wmo.parquet")
    assert f"key fingerprint {expected}" in out and schema.fingerprint in out
    code, _, err = run("link", "wmo.parquet", "participatie-default.parquet", "-o", "links.csv")
    assert code == 2 and "error: sources 'wmo' and 'participatie' were encoded" in err
    assert "different schemas" in err or "different projects" in err
    assert not os.path.exists("links.csv")
