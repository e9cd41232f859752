"""Hostile and broken input (issue #7): every command and public reader, fed malformed files,
gives a clear one-line error or a rejects report — never a traceback, never a silent drop.

The matrix runs each CLI command that reads a user-supplied file against malformed variants
of that file and checks: the exit status is 2 (or 1 with a clear message), never the generic
"internal error" path; no traceback; the message names the file (and the line where that is
meaningful). For ``encode``, every input row is either encoded or listed in the rejects report.
Synthetic data only.
"""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import pplink
from pplink.cli import main
from pplink.errors import ConfigError, EncodedFileError, InputError, PplinkError

# --- the happy-path inputs ------------------------------------------------------------
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
[attributes]
service = "voorziening"
"""
SCHEMA = """
version = 1
name = "hostile-test"
[clk]
bits = 1024
[fields.first_name]
clk_k = 15
[fields.surname]
clk_k = 15
[fields.particle]
clk_k = 3
[fields.birth_date]
clk_k = 10
"""
HEADER = b"client_id;voornaam;achternaam;geboortedatum;voorziening"
ROWS = [
    b"c1;Jan;van den Berg;1980-05-17;hulp",
    b"c2;Piet;Jansen;1975-01-02;vervoer",
    b"c3;Klaas;Smit;1970-01-01;hulp",
    b"c4;Anna;de Vries;1990-12-31;vervoer",
    b"c5;Els;Bakker;1985-06-15;hulp",
]
BIG = 10_000_000  # a 10 MB field


def csv_bytes(header: bytes = HEADER, rows: list[bytes] = ROWS) -> bytes:
    return header + b"\n" + b"\n".join(rows) + b"\n"


def replace_row(i: int, row: bytes) -> bytes:
    rows = list(ROWS)
    rows[i] = row
    return csv_bytes(rows=rows)


# Malformed variants of the source CSV: (bytes, what the error must say; None = must succeed)
BAD_SOURCES = {
    "bad_quoting": (replace_row(1, b'c2;"Piet;Jansen;1975-01-02;vervoer'),
                    r"record on lines 3-6 has 2 fields \(a quote opened on line 3 is probably not closed\)"),
    "unclosed_quote_at_end": (csv_bytes()[:-1] + b';"x\n', r"quote"),
    "wrong_column_count_long": (replace_row(2, ROWS[2] + b";extra"), r"line 4 has 6 fields"),
    "wrong_column_count_short": (replace_row(2, b"c3;Klaas"), r"line 4 has 2 fields"),
    "latin1_bytes": (replace_row(1, "c2;Zoë;Jansen;1975-01-02;vervoer".encode("latin-1")),
                     r"line 3 is not valid UTF-8.*latin-1"),
    "utf16": (csv_bytes().decode().encode("utf-16"), r"UTF-16.*encoding"),
    "utf16_without_bom": (csv_bytes().decode().encode("utf-16-le"), r"line 1 contains a NUL byte"),
    "nul_byte": (replace_row(3, b"c4;An\x00na;de Vries;1990-12-31;vervoer"), r"line 5 contains a NUL byte"),
    "empty_file": (b"", r"empty"),
    "blank_lines_only": (b"\n\n  \n", r"no header line"),
    "missing_columns": (b"client_id;voornaam\nc1;Jan\n", r"lacks column\(s\) 'achternaam'"),
    "duplicate_header": (HEADER + b";voornaam\n" + ROWS[0] + b";x\n", r"repeats column name"),
    "giant_field": (replace_row(0, b"c1;" + b"a" * (17 * 1024 * 1024) + b";Berg;1980-05-17;hulp"),
                    r"line 2.*longer than"),
    "parquet_given": (b"PAR1\x15\x00\x15\x1c\x00\x00PAR1", r"NUL byte"),
}


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean_error(code, out, err, path, pattern=None):
    """A clear one-line error that names the file: not a traceback, not the generic path."""
    assert code in (1, 2), (code, out, err)
    assert "Traceback" not in out + err
    assert "internal error" not in err, err
    assert str(path) in err or Path(path).name in err, err
    if pattern:
        assert re.search(pattern, err, flags=re.S), err


def counts(out: str) -> tuple[int, int, int]:
    m = re.search(r"(\d+) rows read, (\d+) encoded, (\d+) rejected", out)
    assert m, out
    return int(m[1]), int(m[2]), int(m[3])


# --- shared fixtures -------------------------------------------------------------------
@pytest.fixture(scope="module")
def ws(tmp_path_factory, secret):
    """A workspace: secret, mapping, schema, two encoded files, their links, linked data, a reference."""
    d = tmp_path_factory.mktemp("hostile")
    pplink.write_secret_file(d / "k.key", secret)
    (d / "m.toml").write_text(MAPPING, encoding="utf-8")
    (d / "s.toml").write_text(SCHEMA, encoding="utf-8")
    (d / "good.csv").write_bytes(csv_bytes())
    recs = [{"first_name": f"naam{i}", "surname": f"achter{i % 7}", "birth_date": f"19{50 + i % 40}-01-0{1 + i % 9}"}
            for i in range(40)]
    ds = pplink.encode_records(recs, ids=[f"r{i}" for i in range(40)], secret=secret)
    pplink.write_encoded(ds, d / "a.parquet")
    pplink.write_encoded(ds, d / "b.parquet")
    assert main(["link", str(d / "a.parquet"), str(d / "b.parquet"), "-o", str(d / "links.csv"),
                 "--candidates", str(d / "cands.parquet"), "--quiet"]) == 0
    from pplink.disclosure.synthetic import synthetic_clients

    synthetic_clients(300, n_wijken=3, seed=5).to_csv(d / "linked.csv", index=False)
    pd.DataFrame(recs).assign(record_id=[f"r{i}" for i in range(40)]).to_csv(d / "reference.csv", index=False)
    return d


def variant(ws: Path, name: str, data: bytes, suffix: str = ".csv") -> Path:
    p = ws / f"{name}{suffix}"
    p.write_bytes(data)
    return p


# --- encode: the source CSV ------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(BAD_SOURCES))
def test_encode_refuses_malformed_source(ws, capsys, kind):
    data, pattern = BAD_SOURCES[kind]
    src = variant(ws, f"src_{kind}", data)
    out_path = ws / f"out_{kind}.parquet"
    code, out, err = run(capsys, "encode", src, "--mapping", ws / "m.toml", "--secret-file", ws / "k.key",
                         "-o", out_path)
    assert_clean_error(code, out, err, src, pattern)
    assert not out_path.exists() and not (ws / f"out_{kind}.rejects.csv").exists()
    assert not list(ws.glob(f".out_{kind}*"))  # no temporary file left behind


def encode_ok(ws, capsys, name, data, mapping=None):
    src = variant(ws, f"ok_{name}", data)
    out_path = ws / f"ok_{name}.parquet"
    code, out, err = run(capsys, "encode", src, "--mapping", mapping or ws / "m.toml",
                         "--secret-file", ws / "k.key", "-o", out_path)
    assert code == 0, err
    assert "Traceback" not in out + err
    n_read, n_enc, n_rej = counts(out)
    rejects = pd.read_csv(ws / f"ok_{name}.rejects.csv", dtype=str, keep_default_na=False)
    assert n_enc + n_rej == n_read  # every row encoded or rejected: nothing silently dropped
    assert int((rejects.action == "rejected").sum()) == n_rej
    assert pplink.read_encoded(out_path).n_records == n_enc
    return n_read, n_enc, rejects


@pytest.mark.parametrize(
    "name, data",
    [("bom", codecs.BOM_UTF8 + csv_bytes()), ("crlf", csv_bytes().replace(b"\n", b"\r\n")),
     ("no_final_newline", csv_bytes()[:-1]), ("blank_line_inside", csv_bytes().replace(b"\nc3", b"\n\nc3"))],
)
def test_encode_accepts_harmless_variants(ws, capsys, name, data):
    n_read, n_enc, _ = encode_ok(ws, capsys, name, data)
    assert n_read == n_enc == len(ROWS)


def test_encode_header_only_writes_an_empty_but_valid_file(ws, capsys):
    n_read, n_enc, rejects = encode_ok(ws, capsys, "header_only", HEADER + b"\n")
    assert n_read == n_enc == 0 and len(rejects) == 0


def test_encode_declared_utf16_and_latin1_are_read(ws, capsys):
    for enc, delim in (("utf-16", ";"), ("latin-1", ";")):
        m = ws / f"m_{enc}.toml"
        m.write_text(MAPPING.replace('delimiter = ";"', f'delimiter = "{delim}"\nencoding = "{enc}"'), encoding="utf-8")
        data = csv_bytes().decode().replace("Jan;", "Zoë;").encode(enc)
        n_read, n_enc, _ = encode_ok(ws, capsys, f"declared_{enc}", data, mapping=m)
        assert n_read == n_enc == len(ROWS)


def test_encode_declared_utf16_still_refuses_nul_characters(ws, capsys):
    m = ws / "m_utf16_nul.toml"
    m.write_text(MAPPING.replace('delimiter = ";"', 'delimiter = ";"\nencoding = "utf-16"'), encoding="utf-8")
    src = variant(ws, "src_utf16_nul", replace_row(2, b"c3;Kl\x00aas;Smit;1970-01-01;hulp").decode().encode("utf-16"))
    code, out, err = run(capsys, "encode", src, "--mapping", m, "--secret-file", ws / "k.key", "-o", ws / "u16.parquet")
    assert_clean_error(code, out, err, src, r"line 4 contains a NUL character")
    assert not (ws / "u16.parquet").exists()


def test_encode_duplicate_ids_are_rejected_by_name_and_row(ws, capsys):
    data = replace_row(3, b"c2;Anna;de Vries;1990-12-31;vervoer")
    n_read, n_enc, rejects = encode_ok(ws, capsys, "dup_ids", data)
    assert (n_read, n_enc) == (5, 4)
    dup = rejects[rejects.action == "rejected"].iloc[0]
    assert dup.record_id == "c2" and dup.row == "4" and "duplicate record id (first seen in row 2)" in dup.reason


def test_encode_10mb_field_is_reported_not_fatal(ws, capsys):
    # a giant name: the field is set to missing and reported; the row is still encoded
    data = replace_row(1, b"c2;" + b"p" * BIG + b";Jansen;1975-01-02;vervoer")
    n_read, n_enc, rejects = encode_ok(ws, capsys, "big_name", data)
    assert (n_read, n_enc) == (5, 5)
    issue = rejects.iloc[0]
    assert (issue.row, issue.field, issue.action) == ("2", "first_name", "field_set_missing")
    assert "longer than 1000 characters" in issue.reason
    # a giant record id: the row is rejected with the reason
    data = replace_row(1, b"c" * BIG + b";Piet;Jansen;1975-01-02;vervoer")
    n_read, n_enc, rejects = encode_ok(ws, capsys, "big_id", data)
    assert (n_read, n_enc) == (5, 4)
    assert "record id is longer than 1000 characters" in rejects.iloc[0].reason
    assert len(rejects.iloc[0].record_id) == 0  # the giant value is not copied into the report


def test_encode_every_row_is_accounted_for_with_many_problems(ws, capsys):
    rows = [b"c1;Jan;Berg;1980-05-17;a", b";Piet;Jansen;1975-01-02;b", b"c3;;;;c", b"c1;Klaas;Smit;1970-01-01;d",
            b"c5;Els;Bakker;1985-13-45;e", b"c6;" + b"x" * 5000 + b";Vos;1999-01-01;f", b";;;;", b"c8;A;B;C;D"]
    n_read, n_enc, rejects = encode_ok(ws, capsys, "mixed", csv_bytes(rows=rows))
    assert n_read == len(rows)
    rejected_rows = set(rejects[rejects.action == "rejected"].row.astype(int))
    assert rejected_rows == {2, 3, 4, 7}  # empty id, no usable field, duplicate id, empty row


def test_encode_refuses_outputs_that_overwrite_inputs(ws, capsys):
    src = ws / "good.csv"
    before = src.read_bytes()
    code, out, err = run(capsys, "encode", src, "--mapping", ws / "m.toml", "--secret-file", ws / "k.key", "-o", src)
    assert_clean_error(code, out, err, src, "also the INPUT file")
    assert src.read_bytes() == before
    code, out, err = run(capsys, "encode", src, "--mapping", ws / "m.toml", "--secret-file", ws / "k.key",
                         "-o", ws / "o.parquet", "--rejects", ws / "nodir" / "r.csv")
    assert_clean_error(code, out, err, ws / "nodir", "does not exist")
    assert not (ws / "o.parquet").exists()


@pytest.mark.parametrize("what", ["INPUT", "--mapping", "--schema", "--secret-file"])
def test_encode_directory_or_missing_file(ws, capsys, what):
    args = {"INPUT": ws / "good.csv", "--mapping": ws / "m.toml", "--schema": ws / "s.toml", "--secret-file": ws / "k.key"}
    for bad in (ws, ws / "missing.file"):
        argv = ["encode"]
        for key, value in {**args, what: bad}.items():
            argv += [value] if key == "INPUT" else [key, value]
        code, out, err = run(capsys, *argv, "-o", ws / "dir.parquet")
        assert_clean_error(code, out, err, bad)
        assert not (ws / "dir.parquet").exists()


# --- encode: mapping and schema TOML ---------------------------------------------------
BAD_TOML = {
    "malformed": (b"version = 1\n[source\nname = 'x'\n", r"not valid TOML"),
    "latin1": ("version = 1\n# Zoë\n".encode("latin-1"), r"not UTF-8"),
    "utf16": ("version = 1\n".encode("utf-16"), r"not UTF-8"),
    "nul": (b"version = 1\x00\n", r"not valid TOML"),
    "empty": (b"", r"version"),
}
MAPPING_TYPES = {
    "delimiter_number": (MAPPING.replace('delimiter = ";"', "delimiter = 5"), r"delimiter"),
    "delimiter_newline": (MAPPING.replace('delimiter = ";"', 'delimiter = "\\n"'), r"delimiter"),
    "version_bool": (MAPPING.replace("version = 1", "version = true"), r"version"),
    "unknown_key": (MAPPING.replace("version = 1", "version = 1\nbogus = 1"), r"unknown top-level key\(s\) bogus"),
    "unknown_source_key": (MAPPING.replace('[source]', '[source]\nsep = ";"'), r"unknown \[source\] key"),
    "fields_not_table": ('version = 1\nfields = 5\n[source]\nname = "w"\nrecord_id = "id"\n', r"\[fields.NAME\]"),
    "parser_unknown": (MAPPING.replace('parser = "date"', 'parser = "datum"'), r"unknown parser"),
    "option_wrong_type": (MAPPING.replace('parser = "date"', 'parser = "date"\nformat = 5'), r"format"),
    "attributes_not_strings": (MAPPING.replace('service = "voorziening"', "service = 5"), r"attributes"),
    "encoding_unknown": (MAPPING.replace('delimiter = ";"', 'delimiter = ";"\nencoding = "ebcdic"'), r"encoding"),
}
SCHEMA_TYPES = {
    "clk_bits_string": (SCHEMA.replace("bits = 1024", 'bits = "1024"'), r"bits"),
    "unknown_key": ("bogus = 1\n" + SCHEMA, r"unknown"),
    "tokens_not_table": (SCHEMA.replace("[clk]", 'tokens = "bsn"\n[clk]'), r"tokens|wrong type"),
    "fields_not_table": ("version = 1\nname = 'x'\nfields = 3\n", r"fields"),
}


CONFIG_CASES = [(role, kind) for role in ("--mapping", "--schema") for kind in sorted(BAD_TOML)]
CONFIG_CASES += [("--mapping", kind) for kind in sorted(MAPPING_TYPES)]
CONFIG_CASES += [("--schema", kind) for kind in sorted(SCHEMA_TYPES)]


@pytest.mark.parametrize("role, kind", CONFIG_CASES)
def test_encode_refuses_malformed_config(ws, capsys, role, kind):
    if kind in BAD_TOML:
        data, pattern = BAD_TOML[kind]
    else:
        text, pattern = (MAPPING_TYPES if role == "--mapping" else SCHEMA_TYPES)[kind]
        data = text.encode()
    cfg = variant(ws, f"cfg_{role.strip('-')}_{kind}", data, ".toml")
    args = {"--mapping": ws / "m.toml", "--schema": ws / "s.toml", role: cfg}
    code, out, err = run(capsys, "encode", ws / "good.csv", *[x for kv in args.items() for x in kv],
                         "--secret-file", ws / "k.key", "-o", ws / "cfg.parquet")
    assert_clean_error(code, out, err, cfg, pattern)
    assert code == 2
    assert not (ws / "cfg.parquet").exists()


# --- inspect, link, audit: encoded Parquet files ---------------------------------------
def _damaged_parquet(ws: Path) -> dict[str, tuple[bytes | None, str]]:
    good = (ws / "a.parquet").read_bytes()
    table = pq.read_table(ws / "a.parquet")
    meta = json.loads(table.schema.metadata[b"pplink"])

    def write(t: pa.Table, name: str) -> bytes:
        path = ws / f"tmp_{name}.parquet"
        pq.write_table(t, path)
        return path.read_bytes()

    corrupt = bytearray(good)
    corrupt[100 : len(good) // 2] = b"\xab" * (len(good) // 2 - 100)
    ids = table.schema.get_field_index("record_id")
    bf = table.schema.get_field_index("bf_surname")
    return {
        "truncated": (good[: len(good) // 2], r"truncated or damaged"),
        "corrupt_pages": (bytes(corrupt), r"truncated or damaged"),
        "csv_text": (csv_bytes(), r"not a Parquet file.*CSV"),
        "empty": (b"", r"not a Parquet file.*empty"),
        "no_metadata": (write(table.replace_schema_metadata({}), "nometa"), r"no pplink metadata"),
        "metadata_not_json": (write(table.replace_schema_metadata({b"pplink": b"{oops"}), "badjson"),
                              r"metadata is damaged"),
        "metadata_wrong_type": (write(table.replace_schema_metadata(
            {b"pplink": json.dumps({**meta, "field_bits": "x"}).encode()}), "badtype"), r"field_bits"),
        "metadata_newer_format": (write(table.replace_schema_metadata(
            {b"pplink": json.dumps({**meta, "format_version": 99}).encode()}), "newer"), r"format version 99"),
        "missing_column": (write(table.drop(["bf_surname"]), "nocol"), r"bf_surname.*missing"),
        "duplicate_ids": (write(table.set_column(ids, "record_id", pa.array(["r1", "r2"] * 20)), "dupids"),
                          r"record id 'r1' appears in rows 1, 3"),
        "empty_ids": (write(table.set_column(ids, "record_id", pa.array([None] * 40, pa.string())), "nullids"),
                      r"record_id is empty in row"),
        "numeric_ids": (write(table.set_column(ids, "record_id", pa.array(range(40))), "intids"),
                        r"record_id has type int64"),
        "wrong_filter_width": (write(table.set_column(bf, "bf_surname", pa.array([b"x"] * 40)), "width"),
                               r"bf_surname has type binary"),
    }


@pytest.fixture(scope="module")
def damaged(ws):
    return {k: (variant(ws, f"enc_{k}", data, ".parquet"), pattern) for k, (data, pattern) in _damaged_parquet(ws).items()}


DAMAGED_KINDS = ["truncated", "corrupt_pages", "csv_text", "empty", "no_metadata", "metadata_not_json",
                 "metadata_wrong_type", "metadata_newer_format", "missing_column", "duplicate_ids", "empty_ids",
                 "numeric_ids", "wrong_filter_width"]


@pytest.mark.parametrize("kind", DAMAGED_KINDS)
@pytest.mark.parametrize("command", ["inspect", "link", "audit"])
def test_encoded_file_readers_refuse_damaged_files(ws, damaged, capsys, command, kind):
    path, pattern = damaged[kind]
    argv = {
        "inspect": ["inspect", path],
        "link": ["link", ws / "a.parquet", path, "-o", ws / f"l_{kind}.csv", "--quiet"],
        "audit": ["audit", path, "--reference", ws / "reference.csv", "--attacks", "frequency"],
    }[command]
    code, out, err = run(capsys, *argv)
    assert_clean_error(code, out, err, path, pattern)
    assert code == 2
    assert not (ws / f"l_{kind}.csv").exists()


@pytest.mark.parametrize("command", ["inspect", "link"])
def test_encoded_file_readers_refuse_directories_and_missing_files(ws, capsys, command):
    for bad in (ws, ws / "missing.parquet"):
        argv = ["inspect", bad] if command == "inspect" else ["link", ws / "a.parquet", bad, "-o", ws / "l.csv"]
        code, out, err = run(capsys, *argv)
        assert_clean_error(code, out, err, bad)


def test_link_refuses_outputs_that_overwrite_inputs(ws, capsys):
    before = (ws / "b.parquet").read_bytes()
    code, out, err = run(capsys, "link", ws / "a.parquet", ws / "b.parquet", "-o", ws / "b.parquet", "--quiet")
    assert_clean_error(code, out, err, ws / "b.parquet", "also the input #2 file")
    code, out, err = run(capsys, "link", ws / "a.parquet", ws / "b.parquet", "-o", ws / "x.csv",
                         "--candidates", ws / "a.parquet", "--quiet")
    assert_clean_error(code, out, err, ws / "a.parquet", "also the input #1 file")
    assert (ws / "b.parquet").read_bytes() == before and not (ws / "x.csv").exists()


# --- evaluate: links, truth and candidates ---------------------------------------------
LINKS_HEADER = b"a_id,b_id"
BAD_PAIRS = {
    "bad_quoting": (b'a_id,b_id\nr1,r1\n"r2,r2\nr3,r3\n', r"lines 3-4.*quote"),
    "wrong_column_count": (b"a_id,b_id\nr1,r1\nr2,r2,r9\n", r"line 3 has 3 fields"),
    "latin1": (b"a_id,b_id\nr1,r1\nr\xe92,r2\n", r"line 3 is not valid UTF-8"),
    "utf16": ("a_id,b_id\nr1,r1\n".encode("utf-16"), r"UTF-16"),
    "nul": (b"a_id,b_id\nr1,r\x001\n", r"line 2 contains a NUL"),
    "empty": (b"", r"empty"),
    "duplicate_pair": (b"a_id,b_id\nr1,r1\nr2,r2\nr1,r1\n", r"a_id='r1', b_id='r1' appears more than once \(row 1, row 3\)"),
    "missing_columns": (b"x,y\n1,2\n", r"a_id"),
    "empty_id": (b"a_id,b_id\nr1,r1\n,r2\n", r"a_id is empty on row 2"),
    "parquet_as_csv": (b"PAR1\x00\x00PAR1", r"Parquet file; give it the suffix"),
}


@pytest.mark.parametrize("kind", sorted(BAD_PAIRS))
@pytest.mark.parametrize("role", ["links", "truth", "candidates"])
def test_evaluate_refuses_malformed_pair_files(ws, capsys, role, kind):
    data, pattern = BAD_PAIRS[kind]
    bad = variant(ws, f"pairs_{role}_{kind}", data)
    files = {"links": ws / "links.csv", "truth": ws / "links.csv", "candidates": ws / "cands.parquet", role: bad}
    code, out, err = run(capsys, "evaluate", files["links"], "--truth", files["truth"],
                         "--candidates", files["candidates"], "--summary", ws / "links.summary.json")
    assert_clean_error(code, out, err, bad, pattern)


@pytest.mark.parametrize("role", ["links", "truth", "candidates"])
def test_evaluate_refuses_damaged_parquet(ws, damaged, capsys, role):
    for kind in ("truncated", "corrupt_pages", "csv_text"):
        bad = damaged[kind][0]
        files = {"links": ws / "links.csv", "truth": ws / "links.csv", "candidates": ws / "cands.parquet", role: bad}
        code, out, err = run(capsys, "evaluate", files["links"], "--truth", files["truth"],
                             "--candidates", files["candidates"], "--summary", ws / "links.summary.json")
        assert_clean_error(code, out, err, bad, r"Parquet|damaged")


@pytest.mark.parametrize(
    "text, pattern",
    [("{oops", r"not valid JSON"), ('{"stats": {"n_a": "forty", "n_b": 40}}', r"whole numbers"),
     ("[1, 2]", r"no input sizes"), ('{"stats": {"n_a": 1, "n_b": 1}}', r"pass the summary of the same link run")],
)
def test_evaluate_refuses_bad_summary(ws, capsys, text, pattern):
    summary = variant(ws, "bad_summary", text.encode(), ".json")
    code, out, err = run(capsys, "evaluate", ws / "links.csv", "--truth", ws / "links.csv",
                         "--candidates", ws / "cands.parquet", "--summary", summary)
    assert_clean_error(code, out, err, summary, pattern)


def test_evaluate_accepts_bom_big_field_and_semicolons(ws, capsys):
    good = (ws / "links.csv").read_bytes()
    for name, data in (("bom", codecs.BOM_UTF8 + good), ("semicolon", good.replace(b",", b";")),
                       ("big", good + b"x" * BIG + b",r1,0.1,0.1,1\n")):
        links = variant(ws, f"ev_{name}", data)
        code, out, err = run(capsys, "evaluate", links, "--truth", ws / "links.csv", "--json")
        assert code == 0, err
        metrics = json.loads(out)
        assert metrics["recall"] == 1.0
        assert metrics["fp"] == (1 if name == "big" else 0)  # the giant id is a (wrong) link, not dropped


def test_evaluate_clusters_refuses_duplicates_and_notes_missing_truth(ws, capsys):
    clusters = variant(ws, "clusters", b"source,record_id,entity_id\na,1,e1\na,2,e1\nb,1,e2\n")
    truth = variant(ws, "ctruth_dup", b"source,record_id,person_id\na,1,p1\na,1,p2\n")
    code, out, err = run(capsys, "evaluate", clusters, "--truth", truth)
    assert_clean_error(code, out, err, truth, r"source='a', record_id='1' appears more than once")
    truth = variant(ws, "ctruth_part", b"source,record_id,person_id\na,1,p1\na,2,p1\n")
    code, out, err = run(capsys, "evaluate", clusters, "--truth", truth, "--json")
    assert code == 0 and "1 of 3 records" in err and "left out" in err  # reported, not silently dropped


# --- release: linked data, policy, hierarchy, ledger -----------------------------------
@pytest.fixture(scope="module")
def linked_variants(ws):
    good = (ws / "linked.csv").read_bytes()
    header, rest = good.split(b"\n", 1)
    lines = rest.split(b"\n")
    return {
        "bad_quoting": (header + b"\n" + b'"' + rest, r"quote"),
        "wrong_column_count": (header + b"\n" + lines[0] + b",extra\n" + b"\n".join(lines[1:]), r"line 2 has 10 fields"),
        "latin1": (header + b"\n" + lines[0].replace(b"P0", b"\xe90", 1) + b"\n" + b"\n".join(lines[1:]),
                   r"line 2 is not valid UTF-8"),
        "utf16": (good.decode().encode("utf-16"), r"UTF-16"),
        "nul": (header + b"\n" + rest[:30] + b"\x00" + rest[30:], r"line 2 contains a NUL"),
        "empty": (b"", r"empty"),
        "header_only": (header + b"\n", r"no rows"),
        "missing_columns": (b"x,y\n1,2\n", r"missing column"),
        "non_numeric_amount": (header + b"\n" + b"\n".join(re.sub(rb",[0-9.]+$", b",veel", ln) for ln in lines),
                               r"non-numeric"),
    }


@pytest.mark.parametrize("kind", ["bad_quoting", "wrong_column_count", "latin1", "utf16", "nul", "empty",
                                  "header_only", "missing_columns", "non_numeric_amount"])
def test_release_refuses_malformed_linked_data(ws, linked_variants, capsys, kind):
    data, pattern = linked_variants[kind]
    bad = variant(ws, f"linked_{kind}", data)
    out_csv = ws / f"table_{kind}.csv"
    code, out, err = run(capsys, "release", bad, "--by", "wijk", "--measure", "sum:amount", "-o", out_csv)
    assert_clean_error(code, out, err, bad, pattern)
    assert not out_csv.exists() and not (ws / f"table_{kind}.report.json").exists()


def test_release_refuses_damaged_parquet_and_accepts_bom(ws, damaged, capsys):
    for kind in ("truncated", "corrupt_pages", "csv_text", "empty"):
        bad = damaged[kind][0]
        code, out, err = run(capsys, "release", bad, "--by", "wijk", "-o", ws / "t.csv")
        assert_clean_error(code, out, err, bad, r"Parquet|damaged")
    bom = variant(ws, "linked_bom", codecs.BOM_UTF8 + (ws / "linked.csv").read_bytes())
    code, out, err = run(capsys, "release", bom, "--by", "wijk", "--policy", "neighbourhood", "-o", ws / "t.csv")
    assert code == 0, err
    assert (ws / "t.csv").exists()


@pytest.mark.parametrize(
    "data, pattern",
    [(b"[policy\n", r"not valid TOML"), (b"[policy]\nname = 5\n", r"name must be a string"),
     (b"[policy]\nname = 'x'\nbogus = 1\n", r"unknown key"), ("[policy]\nname = 'Zoë'\n".encode("latin-1"), r"not UTF-8"),
     ("[policy]\n".encode("utf-16"), r"not UTF-8")],
)
def test_release_refuses_malformed_policy(ws, capsys, data, pattern):
    policy = variant(ws, "bad_policy", data, ".toml")
    code, out, err = run(capsys, "release", ws / "linked.csv", "--by", "wijk", "--policy", policy, "-o", ws / "p.csv")
    assert_clean_error(code, out, err, policy, pattern)
    assert not (ws / "p.csv").exists()


def test_release_refuses_bad_hierarchy_ledger_and_self_overwrite(ws, capsys):
    hier = variant(ws, "hier", b"[oops", ".toml")
    code, out, err = run(capsys, "release", ws / "linked.csv", "--by", "wijk", "--hierarchy-file", hier, "-o", ws / "h.csv")
    assert_clean_error(code, out, err, hier, "not valid")
    ledger = variant(ws, "ledger", b"this is not sqlite", ".sqlite")
    code, out, err = run(capsys, "release", ws / "linked.csv", "--by", "wijk", "--ledger", ledger, "-o", ws / "h.csv")
    assert_clean_error(code, out, err, ledger, "not a pplink release ledger")
    assert not (ws / "h.csv").exists()
    before = (ws / "linked.csv").read_bytes()
    code, out, err = run(capsys, "release", ws / "linked.csv", "--by", "wijk", "-o", ws / "linked.csv")
    assert_clean_error(code, out, err, ws / "linked.csv", "also the linked data file")
    assert (ws / "linked.csv").read_bytes() == before


# --- audit: the plaintext reference ----------------------------------------------------
REF_HEADER = b"first_name,surname,birth_date,record_id"
BAD_REFERENCES = {
    "bad_quoting": (REF_HEADER + b'\n"naam1,achter1,1951-01-02,r1\n', r"line 2 has 1 fields \(a quote opened"),
    "wrong_column_count": (REF_HEADER + b"\nnaam1,achter1,1951-01-02,r1,x\n", r"line 2 has 5 fields"),
    "latin1": (REF_HEADER + b"\nzo\xeb,achter1,1951-01-02,r1\n", r"line 2 is not valid UTF-8"),
    "utf16": ((REF_HEADER + b"\nnaam1,achter1,1951-01-02,r1\n").decode().encode("utf-16"), r"UTF-16"),
    "nul": (REF_HEADER + b"\nna\x00am1,achter1,1951-01-02,r1\n", r"line 2 contains a NUL"),
    "empty": (b"", r"empty"),
    "header_only": (REF_HEADER + b"\n", r"no rows"),
    "duplicate_truth_ids": (REF_HEADER + b"\nnaam1,achter1,1951-01-02,r1\nnaam2,achter2,1952-01-03,r1\n",
                            r"truth id 'r1' is given to more than one reference person \(row 1, row 2\)"),
    "no_usable_fields": (b"x,y\n1,2\n", r"no values for any field"),
    "big_field": (REF_HEADER + b"\n" + b"a" * BIG + b",achter1,1951-01-02,r1\n", r"row 1, column 'first_name'.*longer"),
}


@pytest.mark.parametrize("kind", sorted(BAD_REFERENCES))
def test_audit_refuses_malformed_reference(ws, capsys, kind):
    data, pattern = BAD_REFERENCES[kind]
    ref = variant(ws, f"ref_{kind}", data)
    code, out, err = run(capsys, "audit", ws / "a.parquet", "--reference", ref, "--attacks", "frequency")
    assert_clean_error(code, out, err, ref, pattern)


def test_audit_with_mapping_checks_the_raw_reference(ws, capsys):
    for kind in ("latin1_bytes", "wrong_column_count_long", "missing_columns"):
        data, pattern = BAD_SOURCES[kind]
        ref = variant(ws, f"rawref_{kind}", data)
        code, out, err = run(capsys, "audit", ws / "a.parquet", "--reference", ref, "--mapping", ws / "m.toml",
                             "--attacks", "frequency")
        assert_clean_error(code, out, err, ref, pattern)
    bad_mapping = variant(ws, "rawref_mapping", b"version = 1\n[source\n", ".toml")
    code, out, err = run(capsys, "audit", ws / "a.parquet", "--reference", ws / "good.csv", "--mapping", bad_mapping)
    assert_clean_error(code, out, err, bad_mapping, "not valid TOML")


# --- run: the pipeline file ------------------------------------------------------------
PIPE = """version = 1
output = "out"
secret_file = "k.key"
[[sources]]
name = "wmo"
input = "src.csv"
mapping = "m.toml"
"""
BAD_PIPELINES = {
    "malformed": ("version = 1\n[[sources]\n", r"not valid TOML"),
    "version": (PIPE.replace("version = 1", "version = 2"), r"version = 1"),
    "sources_not_tables": ("version = 1\nsources = [1, 2]\n", r"\[\[sources\]\] #1 must be a table"),
    "source_missing_key": (PIPE.replace('mapping = "m.toml"\n', ""), r"needs 'mapping'"),
    "source_unknown_key": (PIPE + 'delimiter = ";"\n', r"unknown key\(s\) delimiter"),
    "source_name_path": (PIPE.replace('name = "wmo"', 'name = "../evil"'), r"becomes a file name"),
    "output_number": (PIPE.replace('output = "out"', "output = 5"), r"'output' must be"),
    "secret_file_number": (PIPE.replace('secret_file = "k.key"', "secret_file = 5"), r"'secret_file' must be"),
    "unknown_top_key": ("bogus = 1\n" + PIPE, r"unknown top-level key\(s\) bogus"),
    "link_not_table": (PIPE.replace("version = 1", "version = 1\nlink = 5"), r"\[link\] must be a table"),
    "link_unknown": (PIPE + "[link]\nblock = 'lsh'\n", r"unknown setting"),
    "link_non_numeric": (PIPE + "[link]\ncandidate_threshold = 'high'\n", r"candidate_threshold must be a number"),
    "link_bad_value": (PIPE + "[link]\nsolver = 'magic'\n", r"solver must be"),
    "engine_unknown": (PIPE + "[engine]\nname = 'dask'\n", r"\[engine\] name"),
    "analysis_type": (PIPE + "[analysis]\ndomain_sources = 'wmo'\n", r"domain_sources must be a list"),
    "release_table_no_by": (PIPE + "[[release.tables]]\nname = 't'\n", r"'by' must be"),
    "release_table_bad_name": (PIPE + "[[release.tables]]\nname = 'a/b'\nby = ['x']\n", r"needs 'name'"),
    "release_table_unknown": (PIPE + "[[release.tables]]\nname = 't'\nby = ['x']\nsize = 3\n", r"unknown key"),
    "latin1": ("version = 1\nname = 'Zoë'\n", r"not UTF-8"),
    "empty": ("", r"version = 1"),
}


@pytest.mark.parametrize("kind", sorted(BAD_PIPELINES))
def test_run_refuses_malformed_pipeline(ws, capsys, kind):
    text, pattern = BAD_PIPELINES[kind]
    d = ws / f"pipe_{kind}"
    d.mkdir()
    (d / "src.csv").write_bytes(csv_bytes())
    (d / "m.toml").write_text(MAPPING, encoding="utf-8")
    (d / "k.key").write_bytes((ws / "k.key").read_bytes())
    p = d / "pipeline.toml"
    p.write_bytes(text.encode("latin-1") if kind == "latin1" else text.encode())
    code, out, err = run(capsys, "run", p)
    assert_clean_error(code, out, err, p, pattern)
    assert code == 2
    assert not (d / "out" / "encoded" / "wmo.parquet").exists()


@pytest.mark.parametrize("kind", ["latin1_bytes", "wrong_column_count_long", "missing_columns", "empty_file"])
def test_run_names_a_malformed_source_before_writing_anything(ws, capsys, kind):
    d = ws / f"pipesrc_{kind}"
    d.mkdir()
    data, pattern = BAD_SOURCES[kind]
    (d / "good.csv").write_bytes(csv_bytes())
    (d / "src.csv").write_bytes(data)
    (d / "m.toml").write_text(MAPPING, encoding="utf-8")
    (d / "k.key").write_bytes((ws / "k.key").read_bytes())
    text = PIPE.replace('input = "src.csv"', 'input = "good.csv"')
    text += '[[sources]]\nname = "two"\ninput = "src.csv"\nmapping = "m.toml"\n'
    (d / "pipeline.toml").write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "run", d / "pipeline.toml")
    assert_clean_error(code, out, err, d / "src.csv", pattern)
    assert not (d / "out" / "encoded").exists()  # checked before the first source was encoded


# --- report: a run directory with damaged files ----------------------------------------
@pytest.mark.parametrize("kind", ["bad_quoting", "wrong_column_count_long", "latin1_bytes", "utf16", "nul_byte",
                                  "empty_file"])
def test_report_names_a_damaged_run_file(ws, capsys, kind):
    d = ws / f"run_{kind}"
    (d / "encoded").mkdir(parents=True)
    data, _ = BAD_SOURCES[kind]
    rejects = d / "encoded" / "wmo.rejects.csv"
    rejects.write_bytes(data.replace(b";", b","))
    code, out, err = run(capsys, "report", d)
    assert_clean_error(code, out, err, rejects)
    assert not (d / "report.html").exists()


def test_report_of_a_missing_directory_or_a_file(ws, capsys):
    for bad in (ws / "no-such-run", ws / "good.csv"):
        code, out, err = run(capsys, "report", bad)
        assert_clean_error(code, out, err, bad)


# --- the Python API --------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["bad_quoting", "wrong_column_count_short", "latin1_bytes", "utf16", "nul_byte",
                                  "empty_file", "duplicate_header", "giant_field"])
def test_python_encode_raises_input_error(ws, secret, kind):
    from pplink.encode import encode_file

    data, pattern = BAD_SOURCES[kind]
    src = variant(ws, f"api_{kind}", data)
    mapping = pplink.load_mapping(ws / "m.toml")
    with pytest.raises(InputError, match=pattern) as info:
        encode_file(src, mapping=mapping, secret=secret, schema=pplink.load_schema(ws / "s.toml"))
    assert str(src) in str(info.value)
    with pytest.raises(InputError, match=pattern):
        pplink.encode(src, mapping=ws / "m.toml", schema=ws / "s.toml", secret=secret)


def test_python_encode_missing_columns_is_a_pplink_error(ws, secret):
    src = variant(ws, "api_missing", b"client_id;voornaam\nc1;Jan\n")
    with pytest.raises(PplinkError, match="lacks column"):
        pplink.encode(src, mapping=ws / "m.toml", schema=ws / "s.toml", secret=secret)
    with pytest.raises(InputError, match=re.escape(str(src))):
        pplink.mapping.check_source(src, pplink.load_mapping(ws / "m.toml"))


@pytest.mark.parametrize("kind", DAMAGED_KINDS)
def test_python_readers_of_encoded_files_raise_encoded_file_error(ws, damaged, kind):
    path, pattern = damaged[kind]
    with pytest.raises(EncodedFileError, match=pattern):
        pplink.read_encoded(path)
    with pytest.raises(EncodedFileError):
        pplink.link(ws / "a.parquet", path)
    if kind in ("truncated", "csv_text", "empty", "no_metadata", "metadata_not_json", "metadata_wrong_type"):
        with pytest.raises(EncodedFileError):
            pplink.read_metadata(path)


@pytest.mark.parametrize("loader", ["mapping", "schema", "policy", "pipeline"])
def test_python_config_loaders_raise_config_error(ws, loader):
    from pplink.run import load_pipeline

    load = {"mapping": pplink.load_mapping, "schema": pplink.load_schema, "policy": pplink.load_policy,
            "pipeline": load_pipeline}[loader]
    for name, data in (("malformed", b"version = 1\n[x\n"), ("wrong_types", b"version = 'one'\n"),
                       ("nul", b"version = 1\x00")):
        cfg = variant(ws, f"api_{loader}_{name}", data, ".toml")
        with pytest.raises(ConfigError):
            load(cfg)
    with pytest.raises(ConfigError, match="UTF-8"):
        load(variant(ws, f"api_{loader}_latin1", "version = 1 # Zoë\n".encode("latin-1"), ".toml"))


def test_python_table_readers_raise_input_error(ws):
    from pplink.disclosure.cli_support import read_linked
    from pplink.io import read_source, read_table

    for kind in ("bad_quoting", "latin1_bytes", "nul_byte", "utf16", "empty_file"):
        data, pattern = BAD_SOURCES[kind]
        path = variant(ws, f"tbl_{kind}", data)
        with pytest.raises(InputError, match=pattern):
            read_source(path, delimiter=";")
        for reader in (read_table, read_linked):  # files without a mapping: the hint is to re-save as UTF-8
            with pytest.raises(InputError, match=pattern.split(".*")[0]):
                reader(path)
    with pytest.raises(InputError, match="lacks column"):
        read_table(ws / "good.csv", required=["a_id"])


def test_python_release_and_reference_raise_pplink_errors(ws):
    from pplink.audit.reference import Reference

    data = pd.read_csv(ws / "linked.csv", dtype=str)
    with pytest.raises(InputError, match="non-numeric"):
        pplink.release(data.assign(amount="veel"), ["wijk"], "sum:amount", "neighbourhood")
    with pytest.raises(InputError, match="missing column"):
        pplink.release(data, ["nope"], "count", "neighbourhood")
    with pytest.raises(InputError, match="truth column"):
        Reference.from_frame(pd.DataFrame({"surname": ["a"]}), truth="nope")


# --- atomic outputs and determinism ----------------------------------------------------
def _big_source(n: int = 2500) -> bytes:
    rows = [f"c{i};Naam{i % 97};Achter{i % 89};19{50 + i % 40}-0{1 + i % 9}-1{i % 9};hulp".encode() for i in range(n)]
    return csv_bytes(rows=rows)


def test_interrupted_encode_leaves_no_output(ws, capsys, monkeypatch):
    from pplink.io import EncodedWriter

    src = variant(ws, "interrupt_src", _big_source())
    out_path = ws / "interrupted.parquet"
    out_path.write_bytes(b"the previous run's complete output")
    real_write = EncodedWriter.write
    calls = []

    def write_then_crash(self, ds):
        calls.append(ds.n_records)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user pressed Ctrl-C in the middle of the second chunk
        real_write(self, ds)

    monkeypatch.setattr(EncodedWriter, "write", write_then_crash)
    code, out, err = run(capsys, "encode", src, "--mapping", ws / "m.toml", "--secret-file", ws / "k.key",
                         "-o", out_path, "--chunksize", "1000")
    assert code == 130 and "no partial output" in err and len(calls) == 2
    assert out_path.read_bytes() == b"the previous run's complete output"  # untouched, not half-replaced
    assert not (ws / "interrupted.rejects.csv").exists()
    assert not [p for p in ws.iterdir() if p.name.startswith(".interrupted")]


def test_interrupted_link_leaves_no_output(ws, capsys, monkeypatch):
    real_to_csv = pd.DataFrame.to_csv

    def half_then_crash(self, path=None, *args, **kwargs):
        if path is not None and ".links_interrupted.csv." in str(path):
            Path(path).write_text("a_id,b_id\nr1,")  # half a file ...
            raise OSError(28, "No space left on device")  # ... then the disk is full
        return real_to_csv(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_crash)
    out_path = ws / "links_interrupted.csv"
    code, out, err = run(capsys, "link", ws / "a.parquet", ws / "b.parquet", "-o", out_path, "--quiet")
    assert code == 1 and "No space left on device" in err and "internal error" not in err
    assert not out_path.exists()
    assert not [p for p in ws.iterdir() if p.name.startswith(".links_interrupted")]


def test_reruns_are_byte_identical(ws, capsys):
    src = variant(ws, "det_src", _big_source(1500) + b"c1;Dubbel;Id;1980-01-01;x\n")
    outputs = []
    for i in (1, 2):
        code, _, err = run(capsys, "encode", src, "--mapping", ws / "m.toml", "--schema", ws / "s.toml",
                           "--secret-file", ws / "k.key", "-o", ws / f"det{i}.parquet", "--chunksize", "1000")
        assert code == 0, err
        code, _, err = run(capsys, "link", ws / f"det{i}.parquet", ws / "det1.parquet", "-o", ws / f"det{i}.links.csv",
                           "--candidates", ws / f"det{i}.cands.parquet", "--quiet")
        assert code == 0, err
        outputs.append([(ws / f"det{i}{suffix}").read_bytes()
                        for suffix in (".parquet", ".rejects.csv", ".links.csv", ".cands.parquet")])
    assert outputs[0] == outputs[1]
    assert b"duplicate record id" in outputs[0][1]
    summaries = [json.loads((ws / f"det{i}.links.summary.json").read_text()) for i in (1, 2)]
    for s in summaries:
        s["stats"].pop("seconds")  # wall-clock timings are the only thing allowed to differ
        s.pop("inputs")
    assert summaries[0] == summaries[1]
