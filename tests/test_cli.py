from __future__ import annotations

import json
import os
import stat

import pandas as pd
import pytest

import pplink
from pplink.cli import main

MAPPING = """
version = 1
[source]
name = "wmo"
record_id = "client_id"
delimiter = ";"
[fields.first_name]
column = "voornaam"
parser = "name"
[fields.surname]
column = "achternaam"
parser = "surname"
[fields.birth_date]
column = "geboortedatum"
parser = "date"
[fields.bsn]
column = "bsn"
parser = "bsn"
[attributes]
service = "voorziening"
"""
CSV = (
    "client_id;voornaam;achternaam;geboortedatum;bsn;voorziening\n"
    "1;Jan;van den Berg;1980-05-17;123456782;huishoudelijke hulp\n"
    "2;Piet;Jansen;1980-13-01;111222333;vervoer\n"
    "2;Klaas;Smit;1970-01-01;;vervoer\n"
)


@pytest.fixture()
def source(tmp_path):
    (tmp_path / "wmo.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "wmo.toml").write_text(MAPPING, encoding="utf-8")
    return tmp_path


def run(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def test_keygen_encode_inspect(source, capsys, monkeypatch):
    monkeypatch.delenv("PPLINK_SECRET", raising=False)
    key = source / "project.key"
    code, out, _ = run(capsys, "keygen", "-o", key)
    assert code == 0 and stat.S_IMODE(os.stat(key).st_mode) == 0o600
    secret_text = key.read_text().strip()
    assert secret_text not in out

    out_path = source / "wmo.parquet"
    code, out, err = run(capsys, "encode", source / "wmo.csv", "--mapping", source / "wmo.toml",
                         "--secret-file", key, "-o", out_path)
    assert code == 0, err
    assert "3 rows read, 2 encoded, 1 rejected, 1 fields set to missing" in out
    rejects = pd.read_csv(source / "wmo.rejects.csv")
    assert rejects[rejects.action == "rejected"].row.tolist() == [3]
    ds = pplink.read_encoded(out_path)
    by_id = dict(zip(ds.record_ids.tolist(), ds.attributes["service"].tolist()))
    assert by_id == {"1": "huishoudelijke hulp", "2": "vervoer"}

    code, out, _ = run(capsys, "inspect", out_path, "--json")
    report = json.loads(out)
    assert code == 0 and report["n_records"] == 2
    assert report["metadata"]["key_fingerprint"] == pplink.load_secret(key).fingerprint(project="default")
    for text in (secret_text, "Berg", "123456782"):
        assert text.lower() not in out.lower()


def test_secret_from_environment(source, capsys, monkeypatch, secret):
    monkeypatch.setenv("PPLINK_SECRET", secret.to_text())
    code, _, err = run(capsys, "encode", source / "wmo.csv", "--mapping", source / "wmo.toml", "-o", source / "o.parquet")
    assert code == 0, err


def test_secret_on_command_line_is_refused_without_echo(source, capsys):
    code, out, err = run(capsys, "encode", source / "wmo.csv", "--mapping", source / "wmo.toml",
                         "--secret", "hunter2hunter2hunter2hunter2", "-o", source / "o.parquet")
    assert code == 2
    assert "never accepted as command-line arguments" in err
    assert "hunter2" not in out + err
    assert not (source / "o.parquet").exists()


def test_missing_secret_is_a_clear_error(source, capsys, monkeypatch):
    monkeypatch.delenv("PPLINK_SECRET", raising=False)
    code, _, err = run(capsys, "encode", source / "wmo.csv", "--mapping", source / "wmo.toml", "-o", source / "o.parquet")
    assert code == 2 and "PPLINK_SECRET" in err and "Traceback" not in err


def test_bad_input_is_a_clear_error_not_a_traceback(source, capsys, secret_file):
    (source / "bad.csv").write_bytes(b"client_id;voornaam\n1;Jan\x00\n")
    code, _, err = run(capsys, "encode", source / "bad.csv", "--mapping", source / "wmo.toml",
                       "--secret-file", secret_file, "-o", source / "o.parquet")
    assert code == 2 and "NUL byte" in err and "Traceback" not in err
    assert not (source / "o.parquet").exists()


def test_inspect_rejects_non_pplink_file(tmp_path, capsys):
    path = tmp_path / "x.parquet"
    pd.DataFrame({"a": [1]}).to_parquet(path)
    code, _, err = run(capsys, "inspect", path)
    assert code == 2 and "not written by `pplink encode`" in err


def test_link_and_evaluate_on_febrl(tmp_path, capsys, secret_file):
    from pathlib import Path

    from pplink.datasets import write_febrl4

    root = Path(__file__).resolve().parents[1]
    paths = write_febrl4(tmp_path)
    for side in ("a", "b"):
        code, _, err = run(capsys, "encode", paths[side], "--mapping", root / "examples/febrl/mapping.toml",
                           "--schema", root / "examples/febrl/schema.toml", "--secret-file", secret_file,
                           "-o", tmp_path / f"{side}.parquet")
        assert code == 0, err
    code, out, err = run(capsys, "link", tmp_path / "a.parquet", tmp_path / "b.parquet", "-o", tmp_path / "links.csv",
                         "--candidates", tmp_path / "cands.parquet")
    assert code == 0, err
    assert "links at match probability" in out
    code, out, err = run(capsys, "evaluate", tmp_path / "links.csv", "--truth", paths["truth"],
                         "--candidates", tmp_path / "cands.parquet", "--json")
    assert code == 0, err
    m = json.loads(out)
    assert m["f1"] >= 0.995 and m["pair_completeness"] >= 0.999 and m["reduction_ratio"] > 0.99


def test_link_refuses_mixed_keys(tmp_path, capsys, secret):
    a = pplink.encode_records([{"surname": "smit"}], ids=["1"], secret=secret)
    b = pplink.encode_records([{"surname": "smit"}], ids=["1"], secret=pplink.Secret.generate())
    pplink.write_encoded(a, tmp_path / "a.parquet")
    pplink.write_encoded(b, tmp_path / "b.parquet")
    code, _, err = run(capsys, "link", tmp_path / "a.parquet", tmp_path / "b.parquet", "-o", tmp_path / "l.csv")
    assert code == 2 and "different secrets" in err
    assert not (tmp_path / "l.csv").exists()


def test_audit_command_reidentifies_unhardened_per_field_filters(tmp_path, capsys, secret):
    from pplink.datasets import generate_municipality

    pop = generate_municipality(n_persons=1500, seed=4).population.head(600)
    fields = pd.DataFrame({
        "first_name": pop.roepnaam.str.lower(), "surname": pop.geslachtsnaam.str.lower(),
        "birth_date": pop.geboortedatum, "postcode": pop.postcode,
    })
    import dataclasses

    ids = [f"r{i}" for i in range(len(fields))]
    unhardened = dataclasses.replace(pplink.default_schema(), hardening=pplink.schema.Hardening())
    pplink.write_encoded(pplink.encode_records(fields, ids=ids, secret=secret, schema=unhardened),
                         tmp_path / "enc.parquet")
    pplink.write_encoded(pplink.encode_records(fields, ids=ids, secret=secret), tmp_path / "default.parquet")
    fields.assign(record_id=ids).to_csv(tmp_path / "reference.csv", index=False)
    shares = {}
    for name in ("enc", "default"):
        code, out, err = run(capsys, "audit", tmp_path / f"{name}.parquet", "--reference", tmp_path / "reference.csv",
                             "--attacks", "pattern", "--json")
        assert code == 0, err
        shares[name] = {r["attack"]: r for r in json.loads(out)["attacks"]}["pattern"]["reidentified"]
    assert shares["enc"] > 0.5  # unhardened filters leak: the point of the audit
    assert shares["default"] <= 0.01  # the default schema's diffusion stops the attack
    code, _, err = run(capsys, "audit", tmp_path / "enc.parquet", "--reference", tmp_path / "reference.csv",
                       "--attacks", "magic")
    assert code == 2 and "unknown attack" in err


def test_project_option_gives_the_project_schema_fingerprints(source, capsys):
    import dataclasses

    key = source / "project.key"
    code, out, _ = run(capsys, "keygen", "-o", key, "--project", "wmo-2026")
    secret = pplink.load_secret(key)
    assert code == 0 and f"project 'wmo-2026': {secret.fingerprint(project='wmo-2026')}" in out
    assert secret.fingerprint(project="wmo-2026") != secret.fingerprint(project="default")
    paths = {}
    for project in ("wmo-2026", "other"):
        paths[project] = source / f"{project}.parquet"
        code, _, err = run(capsys, "encode", source / "wmo.csv", "--mapping", source / "wmo.toml",
                           "--secret-file", key, "--project", project, "-o", paths[project])
        assert code == 0, err
    meta = pplink.read_metadata(paths["wmo-2026"])
    assert meta.schema["project"] == "wmo-2026"
    assert meta.key_fingerprint == secret.fingerprint(project="wmo-2026")
    expected = dataclasses.replace(pplink.default_schema(), project="wmo-2026").fingerprint
    assert meta.schema_fingerprint == expected
    code, out, _ = run(capsys, "inspect", paths["wmo-2026"])
    assert "project 'wmo-2026'" in out
    code, _, err = run(capsys, "link", paths["wmo-2026"], paths["other"], "-o", source / "links.csv")
    assert code == 2 and "different projects ('wmo-2026' and 'other')" in err
    code, _, err = run(capsys, "keygen", "-o", source / "k2.key", "--project", " padded ")
    assert code == 2 and not (source / "k2.key").exists()
