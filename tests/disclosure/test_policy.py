"""Policy loading, validation, presets and fingerprints."""

from __future__ import annotations

import json

import pytest

from pplink.errors import ConfigError
from pplink.disclosure.policy import list_presets, load_policy, policy_from_dict


def test_presets_exist_and_differ():
    names = list_presets()
    assert {"cbs-remote-access", "neighbourhood", "strict"} <= set(names)
    prints = {load_policy(n).fingerprint for n in names}
    assert len(prints) == len(names)


def test_cbs_preset_values():
    p = load_policy("cbs-remote-access")
    assert p.frequency.min_persons == 10 and p.frequency.min_households == 10
    assert (1, 50.0) in p.magnitude.dominance
    assert p.rounding.base == 0


def test_neighbourhood_rounds_to_five():
    p = load_policy("neighbourhood")
    assert p.rounding.base == 5 and p.rounding.method == "nearest"


def test_fingerprint_is_sha256_of_canonical_json():
    import hashlib

    p = load_policy("strict")
    assert p.fingerprint == hashlib.sha256(p.canonical_json().encode()).hexdigest()
    # canonical: sorted keys, compact
    data = json.loads(p.canonical_json())
    assert json.dumps(data, sort_keys=True, separators=(",", ":")) == p.canonical_json()


def test_fingerprint_changes_with_any_rule():
    base = load_policy("cbs-remote-access")
    for ov in (
        {"frequency": {"min_households": 11}},
        {"secondary": {"protection_level": 12}},
        {"magnitude": {"dominance": [[1, 60]]}},
        {"rounding": {"base": 3}},
    ):
        assert load_policy("cbs-remote-access", overrides=ov).fingerprint != base.fingerprint


def test_seed_not_in_canonical_json():
    p = load_policy("cbs-remote-access", overrides={"cell_key": {"enabled": True, "seed": "geheim-zaad-123"}})
    assert "geheim-zaad-123" not in p.canonical_json()
    q = load_policy("cbs-remote-access", overrides={"cell_key": {"enabled": True, "seed": "ander-zaad"}})
    assert p.fingerprint != q.fingerprint


def test_toml_file(tmp_path):
    f = tmp_path / "p.toml"
    f.write_text('format_version = 1\n[policy]\nname = "mijn"\n[frequency]\nmin_persons = 20\n', "utf-8")
    p = load_policy(f)
    assert p.name == "mijn" and p.frequency.min_persons == 20 and p.frequency.min_households == 10


@pytest.mark.parametrize(
    "data, match",
    [
        ({"frequency": {"min_persons": -1}}, "minimums"),
        ({"frequency": {"min_persons": "10"}}, "whole number"),
        ({"frequency": {"unknown": 1}}, "unknown key"),
        ({"nonsense": {}}, "unknown section"),
        ({"format_version": 2}, "format_version"),
        ({"secondary": {"method": "magic"}}, "method"),
        ({"secondary": {"method": "none"}}, "only allowed"),
        ({"rounding": {"base": 1}}, "base"),
        ({"magnitude": {"dominance": [[0, 50]]}}, "dominance"),
        ({"magnitude": {"dominance": [1, 50]}}, "pairs"),
        ({"group_disclosure": {"max_share": 0}}, "max_share"),
        ({"cell_key": {"enabled": True, "max_noise": 1, "variance": 1.0}}, "variance"),
        ({"rounding": {"base": 5}, "cell_key": {"enabled": True}}, "either"),
        ({"ledger": {"on_conflict": "ignore"}}, "on_conflict"),
    ],
)
def test_invalid_policies(data, match):
    with pytest.raises(ConfigError, match=match):
        policy_from_dict(data)


def test_unknown_name_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="unknown policy"):
        load_policy("does-not-exist")
    bad = tmp_path / "bad.toml"
    bad.write_text("[frequency\n", "utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_policy(bad)


def test_overrides_on_policy_object():
    p = load_policy("strict")
    q = load_policy(p, overrides={"secondary": {"method": "heuristic"}})
    assert q.secondary.method == "heuristic" and q.frequency.min_persons == 15


def test_seed_env(monkeypatch):
    monkeypatch.setenv("PPLINK_TEST_SEED", "uit-de-omgeving")
    p = load_policy(
        "cbs-remote-access", overrides={"cell_key": {"enabled": True, "seed_env": "PPLINK_TEST_SEED"}}
    )
    assert p.cell_key.resolved_seed() == "uit-de-omgeving"
