from __future__ import annotations

import codecs
import dataclasses

import numpy as np
import pyarrow.parquet as pq
import pytest

import pplink
from pplink.errors import EncodedFileError, IncompatibleEncodingsError, InputError
from pplink.io import EncodedWriter, atomic_path, read_source

RECORDS = [
    {"first_name": "jan", "surname": "berg", "particle": "van den", "birth_date": "1980", "postcode": "7511AB",
     "house_number": "1", "bsn": "123456782"},
    {"first_name": "piet", "surname": None, "particle": "", "birth_date": None},
]


def encoded(secret, schema=None):
    return pplink.encode_records(RECORDS, ids=["a", "b"], secret=secret, schema=schema)


def test_parquet_roundtrip_preserves_everything(tmp_path, secret):
    ds = encoded(secret)
    ds.attributes["service"] = ["wmo", None]
    path = tmp_path / "x.parquet"
    pplink.write_encoded(ds, path)
    back = pplink.read_encoded(path)
    assert back.record_ids.tolist() == ["a", "b"]
    assert np.array_equal(back.clk, ds.clk)
    for name in ds.filters:
        assert np.array_equal(back.filters[name], ds.filters[name])
        assert back.filter_present[name].tolist() == ds.filter_present[name].tolist()
    for name in ds.tokens:
        assert back.token_present[name].tolist() == ds.token_present[name].tolist()
        assert np.array_equal(back.tokens[name][ds.token_present[name]], ds.tokens[name][ds.token_present[name]])
    assert back.metadata == ds.metadata
    assert back.attributes["service"].tolist()[0] == "wmo"


def test_file_has_fingerprints_but_no_secret_or_plaintext(tmp_path, secret):
    path = tmp_path / "x.parquet"
    pplink.write_encoded(encoded(secret), path)
    raw = path.read_bytes()
    assert secret.fingerprint(project="default").encode() in pq.read_schema(path).metadata[b"pplink"]
    for needle in (secret.to_text().split(":")[1].encode(), b"berg", b"7511AB", b"123456782"):
        assert needle not in raw


def test_hardened_roundtrip(tmp_path, secret):
    schema = dataclasses.replace(pplink.default_schema(), hardening=pplink.schema.Hardening(balance=True, xor_fold=True))
    ds = encoded(secret, schema)
    path = tmp_path / "h.parquet"
    pplink.write_encoded(ds, path)
    assert np.array_equal(pplink.read_encoded(path).clk, ds.clk)


def test_mismatched_keys_and_schemas_refused(secret, other_secret):
    a = encoded(secret)
    with pytest.raises(IncompatibleEncodingsError, match="different secrets"):
        pplink.check_compatible(a, encoded(other_secret))
    other_schema = dataclasses.replace(pplink.default_schema(), clk_bits=512)
    with pytest.raises(IncompatibleEncodingsError, match="different schemas"):
        pplink.check_compatible(a, encoded(secret, other_schema))
    pplink.check_compatible(a, encoded(secret))


def test_not_an_encoded_file(tmp_path):
    plain = tmp_path / "plain.parquet"
    import pandas as pd

    pd.DataFrame({"a": [1]}).to_parquet(plain)
    with pytest.raises(EncodedFileError, match="no pplink metadata"):
        pplink.read_encoded(plain)
    junk = tmp_path / "junk.parquet"
    junk.write_text("hello")
    with pytest.raises(EncodedFileError, match="not a Parquet file"):
        pplink.read_encoded(junk)
    with pytest.raises(EncodedFileError, match="does not exist"):
        pplink.read_encoded(tmp_path / "nope.parquet")


def test_interrupted_write_leaves_nothing(tmp_path, secret):
    path = tmp_path / "x.parquet"
    with pytest.raises(RuntimeError), EncodedWriter(path) as writer:
        writer.write(encoded(secret))
        raise RuntimeError("simulated crash")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(ValueError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise ValueError
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


# --- reading sources -------------------------------------------------------------------
def write(tmp_path, data: bytes, name="s.csv"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_utf8_bom_is_handled(tmp_path):
    p = write(tmp_path, codecs.BOM_UTF8 + "id,naam\n1,Zoë\n".encode())
    assert read_source(p).columns.tolist() == ["id", "naam"]


def test_utf16_needs_declared_encoding(tmp_path):
    p = write(tmp_path, "id,naam\n1,Zoë\n".encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16"):
        read_source(p)
    assert read_source(p, encoding="utf-16")["naam"].tolist() == ["Zoë"]


def test_latin1_bytes_in_utf8_file_named_by_line(tmp_path):
    p = write(tmp_path, b"id,naam\n1,Jan\n2,Zo\xeb\n")
    with pytest.raises(InputError, match=r"line 3 is not valid UTF-8.*latin-1"):
        read_source(p)
    assert read_source(p, encoding="latin-1")["naam"].tolist() == ["Jan", "Zoë"]


def test_nul_byte_named_by_line(tmp_path):
    p = write(tmp_path, b"id,naam\n1,Jan\n2,P\x00iet\n")
    with pytest.raises(InputError, match="line 3 contains a NUL byte"):
        read_source(p)


def test_wrong_column_count(tmp_path):
    p = write(tmp_path, b"id,naam\n1,Jan\n2,Piet,extra\n")
    with pytest.raises(InputError, match="line 3"):
        read_source(p)


def test_bad_quoting(tmp_path):
    p = write(tmp_path, b'id,naam\n1,"Jan\n2,Piet\n')
    with pytest.raises(InputError, match="cannot parse CSV"):
        read_source(p)


def test_empty_and_header_only_files(tmp_path):
    with pytest.raises(InputError, match="empty"):
        read_source(write(tmp_path, b""))
    df = read_source(write(tmp_path, b"id,naam\n", "h.csv"))
    assert df.columns.tolist() == ["id", "naam"] and len(df) == 0


def test_duplicate_header_names(tmp_path):
    with pytest.raises(InputError, match="repeats column"):
        read_source(write(tmp_path, b"id,naam,naam\n1,a,b\n"))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_source(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="directory"):
        read_source(tmp_path)


def test_values_are_never_converted(tmp_path):
    df = read_source(write(tmp_path, b"id,bsn,pc\n007,012345672,NA\n"))
    assert df.iloc[0].tolist() == ["007", "012345672", "NA"]


def test_short_lines_are_refused_not_padded(tmp_path):
    p = write(tmp_path, b"id,naam,pc\n1,Jan,7511AB\n2,Piet\n")
    with pytest.raises(InputError, match="line 3 has 2 fields"):
        read_source(p)


def test_quoted_multiline_field_is_fine(tmp_path):
    p = write(tmp_path, b'id,naam\n1,"Jan\nde Vries"\n2,Piet\n')
    assert read_source(p)["naam"].tolist() == ["Jan\nde Vries", "Piet"]
