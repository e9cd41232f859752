"""Hostile input to the public Python API (issue #7): schemas, policies, the release ledger,
the run report and the encoder, fed malformed files and arguments, raise a
:class:`~pplink.errors.PplinkError` that says what is wrong and names the file (and the
key) — never an AttributeError, TypeError, UnicodeDecodeError, sqlite3 or pandas error, and
never a silent drop or a silently recreated ledger. Synthetic data only.
"""

from __future__ import annotations

import copy
import math
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pplink
from pplink.disclosure.ledger import Ledger, LedgerError
from pplink.disclosure.policy import load_policy, policy_from_dict
from pplink.errors import ConfigError, InputError, PplinkError, SecretError
from pplink.schema import BloomField, Hardening, Schema, default_schema, load_schema

FAST = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))

BASE_SCHEMA = default_schema().to_dict()
GOOD_SCHEMA = """\
version = 1
name = "api-test"
[clk]
bits = 1024
[fields.surname]
clk_k = 15
[fields.birth_date]
clk_k = 10
positional = true
[tokens.bsn]
fields = ["bsn"]
"""


# --- schemas ---------------------------------------------------------------------------
def _top(text: str, line: str) -> str:
    """``text`` with a top-level ``line`` (before the first table)."""
    return text.replace("[clk]", f"{line}\n[clk]", 1)


# (what is replaced in GOOD_SCHEMA or appended to it, what the error must say)
_NO_TOKENS = GOOD_SCHEMA.replace('[tokens.bsn]\nfields = ["bsn"]\n', "")
BAD_SCHEMA_FILES = {
    "tokens_string": (_top(_NO_TOKENS, 'tokens = "x"'), r"'tokens' must be a table"),
    "tokens_list": (_top(_NO_TOKENS, "tokens = [1, 2]"), r"'tokens' must be a table"),
    "tokens_false": (_top(_NO_TOKENS, "tokens = false"), r"'tokens' must be a table"),
    "fields_number": ('version = 1\nname = "x"\nfields = 3\n', r"'fields' must be a table"),
    "field_spec_string": ('version = 1\nname = "x"\nfields = { surname = "x" }\n', r"\[fields.surname\] must be a table"),
    "bits_string": (GOOD_SCHEMA.replace("clk_k = 15", 'clk_k = 15\nbits = "1024"'), r"\[fields.surname\].*'bits' must be an integer"),
    "bits_bool": (GOOD_SCHEMA.replace("clk_k = 15", "clk_k = 15\nbits = true"), r"'bits' must be an integer \(found true\)"),
    "bits_negative": (GOOD_SCHEMA.replace("clk_k = 15", "clk_k = 15\nbits = -64"), r"surname.*bits must be 0 or a multiple"),
    "bits_huge": (GOOD_SCHEMA.replace("clk_k = 15", "clk_k = 15\nbits = 99999999999999999"), r"bits must be 0 or a multiple"),
    "clk_bits_huge": (GOOD_SCHEMA.replace("bits = 1024", "bits = 9223372036854775807"), r"clk bits must be a multiple"),
    "clk_false": (GOOD_SCHEMA.replace("[clk]\nbits = 1024\n", "clk = false\n"), r"\[clk\] must be a table"),
    "clk_bits_string": (GOOD_SCHEMA.replace("bits = 1024", 'bits = "1024"'), r"\[clk\] bits must be an integer"),
    "hardening_string": (_top(GOOD_SCHEMA, 'hardening = "balance"'), r"\[hardening\] must be a table"),
    "hardening_false": (_top(GOOD_SCHEMA, "hardening = false"), r"\[hardening\] must be a table"),
    "hardening_balance_string": (GOOD_SCHEMA + '[hardening]\nbalance = "yes"\n', r"'balance' must be true or false"),
    "hardening_diffusion_float": (GOOD_SCHEMA + "[hardening]\ndiffusion = 2.5\n", r"'diffusion' must be an integer"),
    "hardening_diffusion_bits_huge": (GOOD_SCHEMA + "[hardening]\ndiffusion = 5\ndiffusion_bits = 6400000000\n",
                                      r"diffusion_bits must be .* up to"),
    "hardening_unknown": (GOOD_SCHEMA + "[hardening]\nbalanced = true\n", r"\[hardening\] has unknown setting\(s\) balanced"),
    "version_bool": (GOOD_SCHEMA.replace("version = 1", "version = true"), r"'version' must be 1"),
    "version_float": (GOOD_SCHEMA.replace("version = 1", "version = 1.0"), r"'version' must be 1"),
    "field_name_empty": (GOOD_SCHEMA.replace("[fields.surname]", '[fields.""]'), r"field name '' must be"),
    "malformed_toml": (GOOD_SCHEMA + "[fields.x\n", r"not valid TOML"),
    "nul_byte": (GOOD_SCHEMA + "# \x00\n", r"not valid TOML"),
}


@pytest.mark.parametrize("kind", sorted(BAD_SCHEMA_FILES))
def test_load_schema_refuses_wrong_types_naming_file_and_key(tmp_path, kind):
    text, pattern = BAD_SCHEMA_FILES[kind]
    path = tmp_path / f"{kind}.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=pattern) as info:
        load_schema(path)
    assert str(path) in str(info.value)


def test_load_schema_refuses_non_utf8_and_directories(tmp_path):
    latin = tmp_path / "latin.toml"
    latin.write_bytes(GOOD_SCHEMA.replace('"api-test"', '"Zoë"').encode("latin-1"))
    with pytest.raises(ConfigError, match=r"not UTF-8") as info:
        load_schema(latin)
    assert str(latin) in str(info.value)
    with pytest.raises(ConfigError, match="is a directory"):
        load_schema(tmp_path)
    assert load_schema(_write(tmp_path / "good.toml", GOOD_SCHEMA)).name == "api-test"


@pytest.mark.parametrize(
    "data, pattern",
    [
        ([BASE_SCHEMA], r"must be a table of settings"),
        (None, r"must be a table of settings"),
        ({**BASE_SCHEMA, "fields": {1: {"clk_k": 10}}}, r"field name 1 must be"),
        ({**BASE_SCHEMA, "tokens": {("a",): {"fields": ["bsn"]}}}, r"token name \('a',\) must be"),
        ({**BASE_SCHEMA, 1: 2, "zz": 3}, r"unknown top-level key\(s\) 1, zz"),  # mixed key types
        ({**BASE_SCHEMA, "fields": {"a": {1: 2, "q": 2}}}, r"unknown setting\(s\) 1"),
        ({**BASE_SCHEMA, "clk": {"bits": 1024, 5: 1}}, r"\[clk\] accepts only 'bits'"),
    ],
)
def test_schema_from_dict_refuses_non_toml_shapes(data, pattern):
    with pytest.raises(ConfigError, match=pattern) as info:
        Schema.from_dict(data, source="schema file s.toml")
    assert "s.toml" in str(info.value)


def test_schema_built_directly_checks_types():
    surname = BloomField("surname")
    for bad in (BloomField("a", derive=3), BloomField("a", positional="yes"), BloomField(3)):  # type: ignore[arg-type]
        with pytest.raises(ConfigError):
            Schema(name="x", fields=(bad,))
    with pytest.raises(ConfigError, match="salt"):
        Schema(name="x", fields=(surname,), hardening=Hardening(salt=5))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="fields must be a tuple"):
        Schema(name="x", fields=[surname])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="built-in schemas: nl-person"):
        default_schema("../../pyproject")


_KEYS = st.one_of(
    st.sampled_from(["version", "name", "project", "clk", "bits", "fields", "tokens", "hardening", "q", "k", "clk_k",
                     "tokenizer", "derive", "positional", "padded", "salt", "balance", "xor_fold", "diffusion",
                     "diffusion_bits", "household", "optional", "surname", "bsn"]),
    st.text(max_size=4),
    st.integers(-2, 2),
)
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-70, 2100), st.floats(), st.text(max_size=6),
    st.sampled_from(["qgram", "exact", "birth_date:year", ":year", "surname", "a:b"]),
)
_VALUES = st.recursive(
    _SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_KEYS, inner, max_size=3)),
    max_leaves=8,
)


@st.composite
def _mutated(draw, base):
    """``base`` with one to three values (at any depth) replaced or added."""
    d = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        node = d
        while node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node, key=str)))
            if not isinstance(node[key], dict):
                break
            node = node[key]
        key = draw(st.one_of(st.sampled_from(sorted(node, key=str)), _KEYS) if node else _KEYS)
        node[key] = draw(_VALUES)
    return d


@FAST
@given(st.one_of(_mutated(BASE_SCHEMA), st.dictionaries(_KEYS, _VALUES, max_size=5), _VALUES))
def test_schema_from_dict_raises_only_config_error(data):
    try:
        schema = Schema.from_dict(data)
    except ConfigError:
        return
    assert len(schema.fingerprint) == 64 and schema.input_fields
    assert Schema.from_dict(schema.to_dict()).fingerprint == schema.fingerprint


# --- disclosure policies ---------------------------------------------------------------
# every key of every section, with a value of the wrong type
WRONG_POLICY_VALUES = [
    ("frequency", "min_persons", '"10"'), ("frequency", "min_households", "1.5"),
    ("frequency", "zero_is_safe", '"yes"'),
    ("magnitude", "dominance", '"1,50"'), ("magnitude", "dominance", "[[1, true]]"),
    ("magnitude", "p_percent", '"10"'), ("magnitude", "p_percent", "nan"),
    ("magnitude", "contributor", "1"), ("magnitude", "frequency_range_pct", "inf"),
    ("magnitude", "allow_negative", "1"),
    ("group_disclosure", "sensitive", '"service"'), ("group_disclosure", "sensitive", "[1]"),
    ("group_disclosure", "max_share", "true"),
    ("secondary", "method", "[]"), ("secondary", "protection_level", "2.0"), ("secondary", "cost", "1"),
    ("secondary", "time_limit_s", "nan"), ("secondary", "exact_max_cells", "99999999999999999999"),
    ("secondary", "upper_bound_factor", "inf"),
    ("rounding", "base", '"5"'), ("rounding", "method", "false"),
    ("cell_key", "enabled", '"true"'), ("cell_key", "seed", "123"), ("cell_key", "seed_env", "{ a = 1 }"),
    ("cell_key", "max_noise", "1e3"), ("cell_key", "variance", '"1"'),
    ("ledger", "min_difference", "-1.5"), ("ledger", "on_conflict", "0"),
    ("output", "total_label", "[1]"),
    ("policy", "name", "1"), ("policy", "version", "1"), ("policy", "description", "[]"), ("policy", "source", "true"),
]


@pytest.mark.parametrize("section, key, value", WRONG_POLICY_VALUES)
def test_load_policy_names_file_section_and_key(tmp_path, section, key, value):
    path = tmp_path / "policy.toml"
    path.write_text(f"format_version = 1\n[{section}]\n{key} = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    message = str(info.value)
    assert str(path) in message and f"[{section}]" in message, message
    assert key in message or section in ("magnitude", "group_disclosure"), message


def test_load_policy_refuses_non_utf8_and_names_the_file(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes('[policy]\nname = "beleid"\ndescription = "Zoë"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"is not UTF-8 text \(line 3\)") as info:
        load_policy(path)
    assert str(path) in str(info.value)
    for bad, pattern in ((tmp_path, "is a directory"), (tmp_path / "none.toml", "does not exist")):
        with pytest.raises(ConfigError, match=pattern):
            load_policy(bad)


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: policy_from_dict({"frequency": {"min_persons": 5}, 1: {}, "zz": {}}), r"unknown section\(s\) 1, zz"),
        (lambda: policy_from_dict({"frequency": {"min_persons": 5, 2: 1}}), r"unknown key\(s\) 2"),
        (lambda: policy_from_dict({"format_version": True}), "format_version true"),
        (lambda: policy_from_dict({"policy": ""}), r"\[policy\] must be a table"),
        (lambda: policy_from_dict({"cell_key": {"enabled": True, "max_noise": 10**6, "variance": 1.0}}), "max_noise"),
        (lambda: policy_from_dict({"secondary": {"time_limit_s": 10**400}}), "finite number"),
        (lambda: load_policy("strict", overrides=3), "overrides must be a table"),  # type: ignore[arg-type]
        (lambda: load_policy(3), "preset name, a .toml file"),  # type: ignore[arg-type]
        (lambda: load_policy("strict", overrides={"rounding": {"base": "5"}}), r"preset strict \(with overrides\)"),
    ],
)
def test_policy_api_refuses_bad_arguments(call, pattern):
    with pytest.raises(ConfigError, match=pattern):
        call()


_POLICY_BASE = {
    "format_version": 1,
    "policy": {"name": "p", "version": "1"},
    **{k: v for k, v in load_policy("neighbourhood").to_dict().items()
       if k in ("frequency", "magnitude", "group_disclosure", "secondary", "rounding", "ledger", "output")},
}


@FAST
@given(st.one_of(_mutated(_POLICY_BASE), st.dictionaries(_KEYS, _VALUES, max_size=4), _VALUES))
def test_policy_from_dict_raises_only_config_error(data):
    try:
        policy = policy_from_dict(data)
    except ConfigError:
        return
    assert len(policy.fingerprint) == 64
    assert all(math.isfinite(x) for x in (policy.secondary.time_limit_s, policy.secondary.upper_bound_factor,
                                          policy.magnitude.p_percent, policy.cell_key.variance))


# --- the release ledger ----------------------------------------------------------------
@pytest.fixture(scope="module")
def clients():
    from pplink.disclosure.synthetic import synthetic_clients

    return synthetic_clients(300, n_wijken=3, seed=5)


@pytest.fixture(scope="module")
def ledger_file(tmp_path_factory, clients):
    """A real ledger holding one release."""
    path = tmp_path_factory.mktemp("ledger") / "ledger.sqlite"
    pplink.release(clients, ["wijk"], "count", "neighbourhood", ledger=path)
    return path


def _damaged_ledgers(d: Path, good: Path) -> dict[str, Path]:
    data = good.read_bytes()
    other = d / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE clients (id TEXT)")
    db.close()
    files = {
        "text": b"release 1: wijk table\n",
        "truncated_header": data[:60],
        "truncated": data[: len(data) // 2],
        "empty": b"",
    }
    out = {name: _write_bytes(d / f"{name}.sqlite", content) for name, content in files.items()}
    out["directory"] = d
    out["missing_directory"] = d / "no-such-dir" / "ledger.sqlite"
    out["other_database"] = other
    return out


@pytest.mark.parametrize("kind", ["text", "truncated_header", "truncated", "empty", "directory", "missing_directory",
                                  "other_database"])
def test_a_damaged_ledger_is_refused_not_recreated(tmp_path, ledger_file, clients, kind):
    path = _damaged_ledgers(tmp_path, ledger_file)[kind]
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(LedgerError) as info:
        Ledger(path)
    assert str(path) in str(info.value)
    with pytest.raises(PplinkError):  # the public API: never a bare sqlite3 error
        pplink.release(clients, ["wijk"], "count", "neighbourhood", ledger=path)
    if before is not None:
        assert path.read_bytes() == before  # refused, not repaired or recreated
    assert not (path.parent / "no-such-dir").exists()


def test_a_ledger_with_damaged_contents_is_refused(tmp_path, ledger_file, clients):
    blob = _write_bytes(tmp_path / "blob.sqlite", ledger_file.read_bytes())
    with sqlite3.connect(blob) as db:
        db.execute("UPDATE releases SET data = ?", (b"not an npz archive",))
    db.close()
    with pytest.raises(LedgerError, match=r"release is damaged.*backup") as info:
        pplink.release(clients, ["wijk"], "count", "neighbourhood", ledger=blob)
    assert str(blob) in str(info.value)

    salt = _write_bytes(tmp_path / "salt.sqlite", ledger_file.read_bytes())
    with sqlite3.connect(salt) as db:
        db.execute("DELETE FROM meta WHERE key = 'salt'")
    db.close()
    with pytest.raises(LedgerError, match="lost its hashing salt"):
        Ledger(salt)

    fmt = _write_bytes(tmp_path / "fmt.sqlite", ledger_file.read_bytes())
    with sqlite3.connect(fmt) as db:
        db.execute("UPDATE meta SET value = 'pplink-ledger/99' WHERE key = 'format'")
    db.close()
    with pytest.raises(LedgerError, match="pplink-ledger/99"):
        Ledger(fmt)

    with Ledger(ledger_file) as led:  # the intact ledger still opens, with its release
        assert len(led.releases()) >= 1


# --- the run report --------------------------------------------------------------------
BAD_RUN_FILES = {
    "rejects_latin1": ("encoded/x.rejects.csv", "field,reason,action\nsurname,Zoë,rejected\n".encode("latin-1"),
                       r"line 2 is not valid UTF-8"),
    "rejects_empty": ("encoded/x.rejects.csv", b"", r"empty"),
    "rejects_bad_quoting": ("encoded/x.rejects.csv", b'field,reason,action\nsurname,"abc,rejected\nx,y,z\n',
                            r"quote opened on line 2"),
    "links_short_line": ("linkage/links.csv", b"source_a,source_b,probability,match_weight\na,b,0.9\n",
                         r"line 2 has 3 fields"),
    "clusters_nul": ("linkage/clusters.csv", b"source,entity_id\na,\x001\n", r"NUL byte"),
    "clusters_utf16": ("linkage/clusters.csv", "source,entity_id\na,1\n".encode("utf-16"), r"UTF-16"),
    "summary_not_json": ("linkage/summary.json", b"{\"pairs\": ", r"not valid JSON"),
    "summary_latin1": ("linkage/summary.json", '{"name": "Zoë"}'.encode("latin-1"), r"not UTF-8"),
    "summary_a_list": ("linkage/summary.json", b"[1, 2]", r"not a JSON object"),
    "summary_pairs_string": ("linkage/summary.json", b'{"pairs": "a|b"}', r"'pairs' is not an object"),
    "summary_n_a_string": ("linkage/summary.json", b'{"pairs": {"a|b": {"n_a": "veel"}}}', r"'n_a' is not a number"),
    "report_audit_number": ("release/t.report.json", b'{"audit": 3}', r"'audit' is not an object"),
    "report_by_string": ("release/t.report.json", b'{"definition": {"by": "wijk"}}', r"'by' is not a list"),
    "report_counts_text": ("release/t.report.json", b'{"status_counts": {"published": "x"}}', r"whole number"),
}


@pytest.mark.parametrize("kind", sorted(BAD_RUN_FILES))
def test_write_report_names_a_damaged_run_file(tmp_path, kind):
    from pplink.report import write_report

    rel, data, pattern = BAD_RUN_FILES[kind]
    path = _write_bytes(tmp_path / rel, data)
    with pytest.raises(InputError, match=pattern) as info:
        write_report(tmp_path)
    assert str(path) in str(info.value)
    assert not (tmp_path / "report.html").exists()


def test_write_report_checks_released_tables_and_warns_about_damaged_encodings(tmp_path):
    from pplink.report import collect_run, write_report

    _write_bytes(tmp_path / "release" / "t.report.json", b"{}")
    table = _write_bytes(tmp_path / "release" / "t.csv", b"wijk,value\nA,1,2\n")
    with pytest.raises(InputError, match=r"released table .*line 2 has 3 fields") as info:
        write_report(tmp_path)
    assert str(table) in str(info.value)
    table.write_bytes(b"wijk,wijk_level,value,status\nA,wijk,15,published\n")
    _write_bytes(tmp_path / "encoded" / "x.parquet", b"PAR1 damaged PAR1")
    data = collect_run(tmp_path)
    assert any("encoded/x.parquet could not be read" in w for w in data.warnings)
    assert data.tables[0].table["value"].tolist() == ["15"]
    assert write_report(tmp_path).exists()


# --- encoding --------------------------------------------------------------------------
MAPPING = {
    "version": 1,
    "source": {"name": "demo", "record_id": "id"},
    "fields": {"full_name": {"column": "naam", "parser": "full_name"}},
}


def test_encode_names_the_source_file_with_missing_columns(tmp_path, secret):
    from pplink.encode import encode_file

    mapping = pplink.Mapping.from_dict(MAPPING)
    src = _write_bytes(tmp_path / "export.csv", b"id,achternaam\n1,Smit\n")
    with pytest.raises(InputError, match=r"lacks column\(s\) 'naam'") as info:
        encode_file(src, mapping=mapping, secret=secret)
    assert str(src) in str(info.value)
    with pytest.raises(InputError, match=r"export\.csv: lacks column"):
        pplink.encode(src, mapping=mapping, secret=secret)
    chunks = []
    with pytest.raises(InputError):  # checked before the first chunk is encoded
        encode_file(_write_bytes(tmp_path / "late.csv", b"id,naam\n1,Jan\n2\n"), mapping=mapping, secret=secret,
                    on_chunk=lambda enc, issues: chunks.append(enc))
    assert chunks == []


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"secret": "geheim"}, SecretError, "secret must be a pplink.Secret"),
        ({"mapping": 3}, ConfigError, "mapping must be a pplink Mapping"),
        ({"mapping": MAPPING}, ConfigError, "mapping must be a pplink Mapping"),
        ({"schema": 3}, ConfigError, "schema must be a pplink Schema"),
        ({"chunksize": 0}, ConfigError, "chunksize"),
        ({"source": 3}, InputError, "source must be a CSV file path or a DataFrame"),
    ],
)
def test_encode_refuses_arguments_of_the_wrong_type(secret, kwargs, error, pattern):
    args = {"source": pd.DataFrame({"id": ["1"], "naam": ["Jan Smit"]}), "mapping": pplink.Mapping.from_dict(MAPPING),
            "secret": secret, **kwargs}
    with pytest.raises(error, match=pattern):
        pplink.encode(args.pop("source"), **args)


def test_encode_records_refuses_mismatched_ids_and_records(secret):
    with pytest.raises(InputError, match="2 ids were given for 1 records"):
        pplink.encode_records([{"surname": "smit"}], ids=["a", "b"], secret=secret)
    with pytest.raises(InputError, match="ids must be a list"):
        pplink.encode_records([{"surname": "smit"}], ids=None, secret=secret)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="record 1 is not a"):
        pplink.encode_records([{"surname": "smit"}, "jansen"], ids=["a", "b"], secret=secret)  # type: ignore[list-item]
    with pytest.raises(SecretError):
        pplink.encode_records([{"surname": "smit"}], ids=["a"], secret="geheim")  # type: ignore[arg-type]


# --- helpers ---------------------------------------------------------------------------
def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _write_bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_ledger_error_is_a_pplink_error_but_not_about_the_input_data():
    # callers that prefix an InputError with the data file's name must not blame the data for the ledger
    assert issubclass(LedgerError, PplinkError) and not issubclass(LedgerError, InputError)


def test_encode_records_refuses_duplicate_ids():
    import pplink
    from pplink.errors import InputError

    with pytest.raises(InputError, match=r"repeated: 'a' at positions 0, 2"):
        pplink.encode_records([{"surname": "x"}, {"surname": "y"}, {"surname": "z"}], ids=["a", "b", "a"],
                              secret=pplink.Secret.generate())
