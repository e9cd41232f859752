from __future__ import annotations

import copy

import pytest

import pplink
from pplink.errors import ConfigError
from pplink.schema import Schema

BASE = pplink.default_schema().to_dict()


def variant(path: list[str], value):
    d = copy.deepcopy(BASE)
    node = d
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return d


def test_roundtrip_and_fingerprint_stability():
    s = Schema.from_dict(copy.deepcopy(BASE))
    assert s.fingerprint == pplink.default_schema().fingerprint
    assert Schema.from_dict(s.to_dict()).to_dict() == s.to_dict()


@pytest.mark.parametrize(
    "path,value",
    [
        (["clk", "bits"], 2048),
        (["fields", "surname", "k"], 16),
        (["fields", "birth_date", "positional"], False),
        (["hardening", "balance"], True),
        (["hardening", "salt"], "birth_date:year"),
        (["project"], "enschede-2026"),
        (["tokens", "bsn", "fields"], ["bsn", "sex"]),
    ],
)
def test_every_setting_changes_the_fingerprint(path, value):
    assert Schema.from_dict(variant(path, value)).fingerprint != pplink.default_schema().fingerprint


@pytest.mark.parametrize(
    "path,value,message",
    [
        (["clk", "bits"], 1000, "multiple of 64"),
        (["fields", "surname", "bits"], 100, "multiple of 64"),
        (["fields", "surname", "q"], 0, "q must be"),
        (["fields", "surname", "tokenizer"], "soundex", "tokenizer"),
        (["fields", "surname", "kk"], 3, "unknown setting"),
        (["hardening", "balance"], "false", "true or false"),
        (["hardening", "xor_fold"], "false", "true or false"),
        (["hardening", "diffusion"], True, "integer"),
        (["hardening", "salt"], 1, "string"),
        (["hardening", "salt"], "a:b:year", "FIELD:year"),
        (["tokens", "address", "household"], "false", "true or false"),
        (["tokens", "bsn", "fields"], "bsn", "list of field names"),
        (["fields", "surname", "positional"], "yes", "true or false"),
        (["version"], 2, "version"),
    ],
)
def test_invalid_schemas_are_explained(path, value, message):
    with pytest.raises(ConfigError, match=message):
        Schema.from_dict(variant(path, value))


def test_xor_fold_needs_even_word_counts():
    d = variant(["hardening", "xor_fold"], True)
    d["fields"]["sex"]["bits"] = 64
    with pytest.raises(ConfigError, match=r"multiples of 128 bits; change sex \(64 bits\)"):
        Schema.from_dict(d)


def test_load_schema_errors_name_the_file(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text("version = 1\nname = [", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"s\.toml is not valid TOML"):
        pplink.load_schema(p)
