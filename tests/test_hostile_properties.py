"""Property and fuzz tests (hypothesis) for the input layer: the CSV reader, the table reader,
the mapping layer and the encoded-file reader, fed arbitrary bytes and text.

Each either returns a well-formed result or raises a :class:`~pplink.errors.PplinkError`
subclass — never another exception — and the CSV reader never drops or alters a value.
The parsers and normalisers themselves are covered in ``tests/standardize/test_std_properties.py``.
"""

from __future__ import annotations

import atexit
import csv
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import pplink
from pplink.errors import ConfigError, EncodedFileError, InputError, PplinkError
from pplink.io import read_encoded, read_source, read_table
from pplink.mapping import Mapping, load_mapping, standardize_frame

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_DIR = Path(tempfile.mkdtemp(prefix="pplink-hostile-props-"))
atexit.register(shutil.rmtree, _DIR, ignore_errors=True)


def _file(data: bytes, suffix: str = ".csv") -> Path:
    fd, name = tempfile.mkstemp(suffix=suffix, dir=_DIR)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return Path(name)


def _check_frame(df: pd.DataFrame) -> None:
    """What a successful read promises: unique column names, every cell a string or missing."""
    assert len(set(map(str, df.columns))) == len(df.columns)
    for col in df.columns:
        for value in df[col]:
            assert isinstance(value, str) or pd.isna(value), (col, value)


# --- the CSV reader --------------------------------------------------------------------
# bytes that matter to CSV: delimiters, quotes, line breaks, NUL, BOMs, Latin-1 and UTF-8 letters
_CSV_BYTES = st.lists(
    st.sampled_from([b"a", b"b", b"1", b",", b";", b"\t", b"|", b'"', b"\n", b"\r", b"\r\n", b" ", b"\x00",
                     b"\xef\xbb\xbf", b"\xff\xfe", b"\xeb", b"\xc3\xab", b"\xe2\x82\xac", b"\x80"]),
    max_size=60,
).map(b"".join)


@FAST
@given(data=st.one_of(st.binary(max_size=200), _CSV_BYTES),
       delimiter=st.sampled_from([",", ";", "\t", "|"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"]))
@example(data=b"a,b\n1,2\n", delimiter=",", encoding="utf-8")
@example(data=b'a,b\n"1,2\n', delimiter=",", encoding="utf-8")
@example(data=b"a;b\n\x811;2\n", delimiter=";", encoding="cp1252")
@example(data=b"\xff\xfea\x00", delimiter=",", encoding="utf-16")
def test_read_source_returns_strings_or_raises_input_error(data: bytes, delimiter: str, encoding: str) -> None:
    path = _file(data)
    try:
        df = read_source(path, delimiter=delimiter, encoding=encoding)
    except InputError as exc:
        assert str(path) in str(exc)  # every error names the file
        return
    _check_frame(df)


# the same without NUL and invalid UTF-8: files that get past the byte checks to the parser and mapping
_CSV_UTF8 = st.lists(
    st.sampled_from([b"jan", b"1", b"2", b"1980-01-01", b"31-02-1980", b",", b",", b"\n", b"\n", b"\r\n", b'"', b" ",
                     b"\xc3\xab", b";", b"x" * 1500]),
    max_size=40,
).map(b"".join)
# rows of mostly the right width: files that reach the mapping and the encoder
_CSV_ROWS = st.lists(
    st.lists(st.sampled_from([b"jan", b"", b"1", b"2", b" 1 ", b"1980-01-01", b"00-00-0000", b"x" * 1500, b'"a,b"',
                              b'"a\nb"', b"\xc3\xab", b"123456782"]), min_size=3, max_size=3).map(b",".join),
    max_size=10,
).map(lambda rows: b"".join(r + b"\n" for r in rows))
_CELL = st.text(alphabet=st.sampled_from(list('ab Zë€1,;\t|"\'\n\r') + ["\u00a0", "\u2028"]), max_size=8)


@FAST
@given(
    rows=st.integers(1, 4).flatmap(lambda k: st.lists(st.lists(_CELL, min_size=k, max_size=k), max_size=8)),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    bom=st.booleans(),
)
@example(rows=[["", ""], ["a", ""]], delimiter=",", quoting=csv.QUOTE_MINIMAL, bom=False)
@example(rows=[["\r"], ["x"]], delimiter=",", quoting=csv.QUOTE_MINIMAL, bom=False)
@example(rows=[[" "], ["x"]], delimiter=",", quoting=csv.QUOTE_MINIMAL, bom=False)
@example(rows=[['"', "a\nb"]], delimiter=";", quoting=csv.QUOTE_MINIMAL, bom=True)
def test_csv_round_trip_never_drops_or_changes_a_value(
    rows: list[list[str]], delimiter: str, quoting: int, bom: bool
) -> None:
    """Whatever a correct CSV writer produces, the reader gives back row for row, value for value
    (empty values as missing) — or, for the one ambiguous case, refuses the file: never a silent drop."""
    k = len(rows[0]) if rows else 2
    header = [f"col{i}" for i in range(k)]
    buf = io.StringIO()
    # "\r\n" line ends: the writer then quotes every value holding \r or \n
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n", quoting=quoting)
    writer.writerow(header)
    writer.writerows(rows)
    path = _file((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8"))
    try:
        df = read_source(path, delimiter=delimiter, encoding="utf-8")
    except InputError as exc:
        # an unquoted value of only spaces/tabs alone on its line reads as a blank line
        assert k == 1 and quoting == csv.QUOTE_MINIMAL and "could be read" in str(exc)
        assert any(r[0] and not r[0].strip(" \t") for r in rows)
        return
    assert list(df.columns) == header
    assert len(df) == len(rows)
    for i, r in enumerate(rows):
        for j, value in enumerate(r):
            got = df.iat[i, j]
            assert (pd.isna(got) and value == "") or got == value, (i, j, value, got)


@FAST
@given(data=st.one_of(st.binary(max_size=200), _CSV_BYTES), suffix=st.sampled_from([".csv", ".parquet", ".txt"]))
@example(data=b"PAR1", suffix=".csv")
@example(data=b"PAR1\x00\x00PAR1", suffix=".parquet")
def test_read_table_returns_strings_or_raises_input_error(data: bytes, suffix: str) -> None:
    path = _file(data, suffix)
    try:
        df = read_table(path, what="test file")
    except InputError as exc:
        assert str(path) in str(exc)
        return
    assert suffix != ".parquet"  # random bytes are never a valid Parquet file
    _check_frame(df)


# --- the mapping layer -----------------------------------------------------------------
_MAPPING: dict[str, Any] = {
    "version": 1,
    "source": {"name": "h", "record_id": "id"},
    "fields": {
        "first_name": {"column": "a", "parser": "name"},
        "surname": {"column": "b", "parser": "surname"},
        "birth_date": {"column": "c", "parser": "date"},
        "postcode": {"column": "d", "parser": "postcode"},
        "house_number": {"column": "e", "parser": "house_number"},
        "bsn": {"column": "f", "parser": "bsn"},
        "sex": {"column": "g", "parser": "sex"},
    },
    "attributes": {"svc": "h"},
}
MAPPING = Mapping.from_dict(_MAPPING)
_VALUE = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["Jan", "van der Berg", "1980-05-17", "17-05-1980", "7511 AB", "12a", "123456782", "M", "v",
                     "  ", "x" * 1200, "Zoë\u0301", "\x00", "\ufeff", "'s-Gravenhage"]),
)


@FAST
@given(
    ids=st.lists(st.one_of(st.none(), st.sampled_from(["1", "2", "3", " 1 ", "", "x" * 1001]), st.text(max_size=4)),
                 max_size=25),
    data=st.data(),
)
def test_standardize_frame_accounts_for_every_row(ids: list[Any], data: st.DataObject) -> None:
    n = len(ids)
    frame = pd.DataFrame({"id": pd.Series(ids, dtype=object)})
    for col in "abcdefgh":
        frame[col] = pd.Series(data.draw(st.lists(_VALUE, min_size=n, max_size=n)), dtype=object)
    try:
        std = standardize_frame(frame, MAPPING)
    except PplinkError:
        return  # e.g. record ids that look like BSNs are refused as a whole, with the reason
    assert std.n_input == n
    assert len(std.fields) + std.n_rejected == n  # every row kept or rejected, none lost
    rejected = std.issues[std.issues.action == "rejected"].row.tolist()
    assert len(rejected) == len(set(rejected)) and all(1 <= r <= n for r in rejected)
    kept = [str(r) for r in std.record_ids]
    assert len(kept) == len(set(kept)) and all(r == r.strip() and r for r in kept)
    assert len(std.attributes) == len(std.fields)
    for col in std.fields.columns:
        for value in std.fields[col]:
            assert value is None or (isinstance(value, str) and len(value) <= 1000)


# TOML-shaped values: what a mapping file can contain
_TOML = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), st.text(max_size=6),
              st.sampled_from(["name", "date", "surname", "utf-8", ";", "id", "a"])),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.sampled_from(["column", "parser", "format", "values", "map", "x", ""]),
                                               children, max_size=3)),
    max_leaves=8,
)
_PATHS = [("version",), ("source",), ("source", "name"), ("source", "record_id"), ("source", "delimiter"),
          ("source", "encoding"), ("source", "strict"), ("source", "extra"), ("fields",), ("fields", "surname"),
          ("fields", "surname", "column"), ("fields", "surname", "parser"), ("fields", "birth_date", "format"),
          ("fields", "sex", "values"), ("fields", "sex", "map"), ("fields", "new"), ("attributes",),
          ("attributes", "svc"), ("extra",)]


@FAST
@given(path=st.sampled_from(_PATHS), value=_TOML)
@example(path=("fields", "birth_date", "format"), value="%Y-%m-%d%")
@example(path=("source", "delimiter"), value='"')
def test_mapping_from_dict_builds_or_raises_config_error(path: tuple[str, ...], value: Any) -> None:
    import copy

    data = copy.deepcopy(_MAPPING)
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node
    if isinstance(node, dict):
        node[path[-1]] = value
    try:
        mapping = Mapping.from_dict(data, origin="fuzz.toml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.toml")
        return
    assert mapping.columns and mapping.logical_fields


@FEW
@given(data=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)))
@example(data=b"version = 1\n[source]\nname = 'x'\nrecord_id = 'id'\n[fields.surname]\ncolumn = 'a'\nparser = 'surname'\n")
def test_load_mapping_on_arbitrary_bytes(data: bytes) -> None:
    path = _file(data, ".toml")
    try:
        mapping = load_mapping(path)
    except ConfigError as exc:
        assert str(path) in str(exc)
        return
    assert mapping.record_id == "id"


# --- the encoded-file reader -----------------------------------------------------------
@pytest.fixture(scope="module")
def encoded_bytes(secret) -> bytes:
    recs = [{"first_name": f"n{i}", "surname": f"s{i % 5}", "birth_date": "1980-01-01"} for i in range(30)]
    ds = pplink.encode_records(recs, ids=[f"r{i}" for i in range(30)], secret=secret)
    path = _DIR / "good.parquet"
    pplink.write_encoded(ds, path)
    return path.read_bytes()


@FEW
@given(cuts=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=6),
       truncate=st.one_of(st.none(), st.floats(0, 1)))
def test_read_encoded_on_damaged_files_raises_encoded_file_error(encoded_bytes, cuts, truncate) -> None:
    data = bytearray(encoded_bytes)
    for where, byte in cuts:
        data[min(int(where * len(data)), len(data) - 1)] = byte
    if truncate is not None:
        data = data[: int(truncate * len(data))]
    path = _file(bytes(data), ".parquet")
    try:
        ds = read_encoded(path)
    except EncodedFileError as exc:
        assert str(path) in str(exc)
        return
    # the damage missed everything that matters: the file reads as a consistent dataset
    assert ds.n_records == 30 and len(set(ds.record_ids)) == 30
    assert all(arr.shape[0] == 30 for arr in ds.filters.values())
    assert ds.clk is None or ds.clk.dtype == np.uint64


# --- the encode command end to end -----------------------------------------------------
_CLI_MAPPING = """
version = 1
[source]
name = "fuzz"
record_id = "id"
[fields.first_name]
column = "voornaam"
parser = "name"
[fields.birth_date]
column = "geb"
parser = "date"
"""


@pytest.fixture(scope="module")
def cli_files(secret) -> tuple[Path, Path]:
    mapping = _DIR / "cli_mapping.toml"
    mapping.write_text(_CLI_MAPPING, encoding="utf-8")
    key = _DIR / "cli.key"
    pplink.write_secret_file(key, secret)
    return mapping, key


_HEADERS = [b"id,voornaam,geb\n", b"id,voornaam,geb,x\n", b"", b"\xef\xbb\xbfid,geb,voornaam\n"]


# capsys is read out per example, so sharing it between examples is fine
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(body=st.one_of(_CSV_BYTES, _CSV_UTF8, _CSV_ROWS), header=st.sampled_from(_HEADERS))
@example(body=b"1,jan,1980-01-01\n1,piet,x\n,\xc3\xab,\n", header=b"id,voornaam,geb\n")
def test_encode_command_reports_every_row_or_fails_cleanly(cli_files, capsys, body: bytes, header: bytes) -> None:
    import re

    from pplink.cli import main

    mapping, key = cli_files
    src = _file(header + body)
    out = src.with_suffix(".parquet")
    code = main(["encode", str(src), "--mapping", str(mapping), "--secret-file", str(key), "-o", str(out)])
    stdout, stderr = capsys.readouterr()
    assert "Traceback" not in stdout + stderr and "internal error" not in stderr
    if code != 0:
        assert code == 2 and str(src) in stderr and not out.exists()
        return
    n_read, n_enc, n_rej = map(int, re.search(r"(\d+) rows read, (\d+) encoded, (\d+) rejected", stdout).groups())
    assert n_enc + n_rej == n_read
    assert read_encoded(out).n_records == n_enc
    rejects = pd.read_csv(src.with_suffix(".rejects.csv"), dtype=str, keep_default_na=False)
    assert int((rejects.action == "rejected").sum()) == n_rej
