"""Reading sources and writing/reading encoded files, always with clear errors and atomic writes.

* Sources are CSV files read as text (every cell a string), in the delimiter and encoding
  their mapping declares. Problems name the file and the line.
* Encoded files are Parquet: ``record_id``, ``clk``, ``bf_<field>``, ``tok_<token>`` as
  ``fixed_size_binary`` columns (null = missing) and ``attr_<name>`` strings, with the
  :class:`~pplink.encoded.EncodingMetadata` as JSON under the schema-metadata key ``pplink``.
* Every output is written to a temporary file in the target directory and renamed into place,
  so an interrupted run never leaves a half file that looks complete.

Example:
    >>> import os, tempfile, pandas as pd
    >>> p = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> write_csv_atomic(pd.DataFrame({"a": [1]}), p)
    >>> open(p).read()
    'a\\n1\\n'
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pplink.encode.tokens import TOKEN_BYTES
from pplink.encoded import FORMAT_VERSION, EncodedDataset, EncodingMetadata
from pplink.errors import EncodedFileError, InputError

__all__ = [
    "read_source",
    "iter_source",
    "atomic_path",
    "write_csv_atomic",
    "EncodedWriter",
    "write_encoded",
    "read_encoded",
    "read_metadata",
    "read_header",
    "read_table",
]

_META_KEY = b"pplink"
_SNIFF_BYTES = 1 << 20


# ---------------------------------------------------------------------------------------
# atomic output
@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it into place only on success.

    Example:
        >>> import os, tempfile
        >>> target = os.path.join(tempfile.mkdtemp(), "out.txt")
        >>> with atomic_path(target) as tmp:
        ...     _ = tmp.write_text("done")
        >>> open(target).read()
        'done'
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.exists():
        raise InputError(f"output directory {directory} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_csv_atomic(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``df`` as UTF-8 CSV (no index) atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


# ---------------------------------------------------------------------------------------
# sources
def _line_of_offset(path: Path, offset: int) -> int:
    with open(path, "rb") as fh:
        return fh.read(offset).count(b"\n") + 1


#: How to declare the encoding {enc}: sources declare it in their mapping; other files must be UTF-8.
_MAPPING_HINT = "set encoding = \"{enc}\" in the mapping's [source] table"
_UTF8_HINT = "re-save the file as UTF-8"
_LATIN1_ENCODINGS = 'latin-1" or "cp1252'
#: The longest field the CSV reader accepts (characters). Longer values are never plausible
#: identifiers; such a field nearly always means a quote that is never closed. Values up to
#: this length are read, and :mod:`pplink.mapping` rejects or reports any longer than its own
#: (much smaller) per-value limit.
MAX_FIELD_CHARS = 16 * 1024 * 1024


def _check_bytes(path: Path, encoding: str, hint: str = _MAPPING_HINT) -> str:
    """Detect problems pandas would report badly; return the encoding to use.

    ``hint`` says how to declare another encoding ``{enc}`` (a mapping setting, or re-saving the file).
    """
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a CSV file")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(f"{path}: file does not exist") from None
    if size == 0:
        raise InputError(f"{path}: file is empty (expected a header line with column names)")
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    enc = encoding.lower()
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and enc != "utf-16":
        raise InputError(
            f"{path}: file is UTF-16 (it starts with a UTF-16 byte-order mark) but the expected encoding is "
            f"{encoding!r}; {hint.format(enc='utf-16')}"
        )
    if enc == "utf-16":
        return enc
    if head.startswith(codecs.BOM_UTF8):
        if enc in ("utf-8", "utf-8-sig"):
            enc = "utf-8-sig"
        else:
            raise InputError(
                f"{path}: file starts with a UTF-8 byte-order mark but the expected encoding is {encoding!r}; "
                f"{hint.format(enc='utf-8')}"
            )
    # NUL bytes: pandas silently truncates or mangles them; refuse with the line number.
    with open(path, "rb") as fh:
        offset = 0
        while chunk := fh.read(_SNIFF_BYTES):
            pos = chunk.find(b"\x00")
            if pos >= 0:
                line = _line_of_offset(path, offset + pos)
                raise InputError(
                    f"{path}: line {line} contains a NUL byte; the file is binary, truncated or in another "
                    "encoding (UTF-16 without byte-order mark?) — fix or re-export it"
                )
            offset += len(chunk)
    if enc in ("utf-8", "utf-8-sig"):
        decoder = codecs.getincrementaldecoder("utf-8")()
        with open(path, "rb") as fh:
            offset = 0
            while True:
                chunk = fh.read(_SNIFF_BYTES)
                try:
                    decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as exc:
                    # the decoder may hold back up to 3 bytes of an unfinished character
                    bad = max(offset + exc.start - len(exc.object) + len(chunk), 0)
                    line = _line_of_offset(path, bad)
                    byte = exc.object[exc.start] if exc.start < len(exc.object) else None
                    what = f" (byte 0x{byte:02x})" if byte is not None else " (it ends inside a character)"
                    raise InputError(
                        f"{path}: line {line} is not valid UTF-8{what}; if the file is Latin-1/Windows-1252, "
                        + hint.format(enc=_LATIN1_ENCODINGS)
                    ) from None
                if not chunk:
                    break
                offset += len(chunk)
    return enc


@contextlib.contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, limit))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _check_field_counts(
    path: Path, delimiter: str, encoding: str, hint: str = _MAPPING_HINT
) -> tuple[list[str], int]:
    """Refuse lines whose number of fields differs from the header's (pandas would silently pad
    short lines with missing values), NUL characters, undecodable text, repeated column names and
    fields longer than :data:`MAX_FIELD_CHARS`. Returns the header and the number of records."""
    bad: list[tuple[int, int, int, bool]] = []
    header: list[str] | None = None
    expected = 0
    n_records = 0
    with _csv_field_limit(MAX_FIELD_CHARS), open(path, newline="", encoding=encoding) as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        start = 1
        try:
            # in UTF-16 a NUL character is not a NUL byte (which _check_bytes refuses for the others)
            check_nul = encoding.lower().startswith("utf-16")
            for row in reader:
                if check_nul and any("\x00" in f for f in row):
                    raise InputError(
                        f"{path}: line {reader.line_num} contains a NUL character; the file is binary, "
                        "truncated or in another encoding — fix or re-export it"
                    )
                if header is None:
                    # like pandas, skip blank lines (also lines of only spaces or tabs) before the header
                    if row and not (len(row) == 1 and not row[0].strip(" \t")):
                        header = row
                        expected = len(header)
                elif row:
                    n_records += 1
                    if len(row) != expected:
                        # a quote that is never closed swallows delimiters and line breaks into one field
                        swallowed = any(delimiter in f or "\n" in f or "\r" in f for f in row)
                        bad.append((start, reader.line_num, len(row), swallowed))
                        if len(bad) >= 5:
                            break
                start = reader.line_num + 1
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise InputError(
                    f"{path}: the record starting on line {start} has a field longer than {MAX_FIELD_CHARS:,} "
                    "characters; most likely a quote (\") is opened there and never closed — fix the quoting"
                ) from None
            raise InputError(f"{path}: line {reader.line_num}: malformed CSV ({exc}); check the quoting") from None
        except UnicodeError as exc:
            raise InputError(
                f"{path}: not valid {encoding} text near line {reader.line_num + 1} ({getattr(exc, 'reason', exc)}); "
                "check the file's encoding" + ("" if hint == _UTF8_HINT else " and the mapping's encoding setting")
            ) from None
    if header is None:
        raise InputError(f"{path}: file has no header line (it is empty or only blank lines)")
    seen: set[str] = set()
    dup = [c for c in header if c in seen or seen.add(c)]  # type: ignore[func-returns-value]
    if dup:
        raise InputError(
            f"{path}: header repeats column name(s) {', '.join(map(repr, dict.fromkeys(dup)))}; column names "
            "must be unique"
        )
    if bad:
        parts = []
        for first, last, n, swallowed in bad:
            where = f"line {first}" if first == last else f"the record on lines {first}-{last}"
            quote = f" (a quote opened on line {first} is probably not closed)" if swallowed else ""
            parts.append(f"{where} has {n} fields{quote}")
        raise InputError(
            f"{path}: the header has {expected} fields but {'; '.join(parts)}"
            f"{' (first 5 shown)' if len(bad) == 5 else ''}; check the delimiter ({delimiter!r}) and the quoting "
            "of those lines"
        )
    return header, n_records


def read_header(
    path: str | os.PathLike[str], *, delimiter: str = ",", encoding: str = "utf-8"
) -> list[str]:
    """Check a CSV file as :func:`iter_source` does and return its column names.

    Raises :class:`~pplink.errors.InputError` naming the file (and line) for every problem
    :func:`iter_source` would refuse: a missing or empty file, NUL bytes, text not in
    ``encoding``, bad quoting, lines with the wrong number of fields, repeated column names.

    Example:
        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "s.csv")
        >>> _ = open(p, "w").write("id;naam\\n1;Jan\\n")
        >>> read_header(p, delimiter=";")
        ['id', 'naam']
    """
    p = Path(path)
    enc = _check_bytes(p, encoding)
    return _check_field_counts(p, delimiter, enc)[0]


def iter_source(
    path: str | os.PathLike[str], *, delimiter: str = ",", encoding: str = "utf-8", chunksize: int = 200_000
) -> Iterator[pd.DataFrame]:
    """Read a CSV source as string frames of at most ``chunksize`` rows.

    Every cell is a string (empty cells are ``NaN``); nothing is inferred or converted.
    """
    return _iter_csv(Path(path), delimiter, encoding, chunksize, _MAPPING_HINT, "per the mapping")


def _iter_csv(
    p: Path, delimiter: str, encoding: str, chunksize: int, hint: str, origin: str
) -> Iterator[pd.DataFrame]:
    enc = _check_bytes(p, encoding, hint)
    _, n_records = _check_field_counts(p, delimiter, enc, hint)
    n_read = 0
    reader = None
    try:
        reader = pd.read_csv(
            p,
            sep=delimiter,
            encoding=enc,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            chunksize=chunksize,
            on_bad_lines="error",
            engine="c",
        )
        first = True
        for chunk in reader:
            first = False
            n_read += len(chunk)
            yield chunk
        if first:  # header only: no chunk came out; yield an empty frame with the columns
            yield pd.read_csv(p, sep=delimiter, encoding=enc, dtype=str, nrows=0)
        if n_read != n_records:
            # never drop a record silently (pandas skips lines of only spaces in one-column files)
            raise InputError(
                f"{p}: the file holds {n_records} records but only {n_read} could be read; lines with only spaces "
                "or tabs in a one-column file are ambiguous — remove them or quote the values"
            )
    except pd.errors.EmptyDataError:
        raise InputError(f"{p}: file has no header line (it is empty or only blank lines)") from None
    except pd.errors.ParserError as exc:
        eof = re.search(r"EOF inside string starting at row (\d+)", str(exc))
        if eof:
            line = int(eof.group(1)) + 1
            raise InputError(
                f"{p}: cannot parse CSV: a quote (\") opened on line {line} or the record before it is never closed; "
                "the file ends inside a quoted field — fix the quoting (a quote inside a quoted field is written as \"\")"
            ) from None
        raise InputError(
            f"{p}: cannot parse CSV: {str(exc).strip()}. Check the delimiter ({delimiter!r} {origin}), quoting and "
            "the number of fields on that line"
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: not valid {enc} text ({exc.reason}); check the file's encoding") from None
    finally:
        if reader is not None:
            reader.close()


def read_source(path: str | os.PathLike[str], *, delimiter: str = ",", encoding: str = "utf-8") -> pd.DataFrame:
    """Read a whole CSV source as strings (see :func:`iter_source`).

    Example:
        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "s.csv")
        >>> _ = open(p, "w").write("id;naam\\n1;Jan\\n")
        >>> read_source(p, delimiter=";").to_dict("records")
        [{'id': '1', 'naam': 'Jan'}]
    """
    parts = list(iter_source(path, delimiter=delimiter, encoding=encoding))
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


_PARQUET_MAGIC = b"PAR1"
_DELIMITERS = (",", ";", "\t", "|")


def _sniff_delimiter(p: Path, encoding: str) -> str:
    """The delimiter of a CSV file: the most frequent of , ; TAB | on its first non-blank line."""
    with open(p, encoding=encoding, newline="") as fh:
        for line in fh:
            if line.strip():
                counts = {d: line.count(d) for d in _DELIMITERS}
                best = max(_DELIMITERS, key=lambda d: counts[d])  # ties: the first listed (comma)
                return best if counts[best] else ","
    return ","


def read_table(
    path: str | os.PathLike[str],
    *,
    what: str = "input file",
    required: Any = (),
    delimiter: str | None = None,
) -> pd.DataFrame:
    """Read a table a user hands to pplink (links, truth, linked data, a reference population).

    ``.parquet``/``.pq`` files are read as Parquet; anything else as UTF-8 CSV (a byte-order
    mark is fine) with every cell a string and empty cells missing. The CSV is checked as
    strictly as a source (:func:`iter_source`): bad quoting, wrong field counts, NUL bytes,
    other encodings and repeated column names are refused, never silently repaired.
    ``delimiter=None`` picks ``,``, ``;``, TAB or ``|`` from the header line. ``required``
    lists columns that must be present. Every problem raises
    :class:`~pplink.errors.InputError` naming ``what`` and the file.

    Example:
        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "t.csv")
        >>> _ = open(p, "w").write("a_id;b_id\\n1;2\\n")
        >>> read_table(p, required=["a_id"]).to_dict("records")
        [{'a_id': '1', 'b_id': '2'}]
    """
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{what} {p} is a directory, not a file")
    if not p.exists():
        raise InputError(f"{what} {p} does not exist")
    try:
        with open(p, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise InputError(f"{what} {p} cannot be read ({exc.strerror or exc})") from None
    if p.suffix.lower() in (".parquet", ".pq"):
        if head != _PARQUET_MAGIC:
            raise InputError(
                f"{what} {p} is not a Parquet file (it does not start with the Parquet signature; a CSV file "
                "must be named .csv), or it is damaged"
            )
        try:
            df = pq.read_table(p).to_pandas()
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise InputError(f"{what} {p} is not a readable Parquet file; it is truncated or damaged ({exc})") from None
    else:
        if head == _PARQUET_MAGIC:
            raise InputError(f"{what} {p} is a Parquet file; give it the suffix .parquet")
        hint = _UTF8_HINT
        enc = _check_bytes(p, "utf-8", hint)
        if delimiter is None:
            delimiter = _sniff_delimiter(p, enc)
        parts = list(_iter_csv(p, delimiter, "utf-8", 200_000, hint, "in this file"))
        df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    columns = [str(c) for c in df.columns]
    if len(set(columns)) != len(columns):
        raise InputError(f"{what} {p} repeats column names; column names must be unique")
    missing = [c for c in required if c not in df.columns]
    if missing:
        # never echo the header: in a file without a header line it is the first record
        raise InputError(
            f"{what} {p} lacks column(s) {', '.join(map(repr, missing))} (it has {len(columns)} columns); does it "
            "start with a header line, and is it the right file?"
        )
    return df


# ---------------------------------------------------------------------------------------
# encoded files
def _fixed_binary(arr: np.ndarray, present: np.ndarray | None) -> pa.Array:
    arr = np.ascontiguousarray(arr)
    n = arr.shape[0]
    width = arr.shape[1] * arr.dtype.itemsize if arr.ndim == 2 else 0
    validity = None
    if present is not None and not present.all():
        validity = pa.array(present, type=pa.bool_()).buffers()[1]
    data = pa.py_buffer(arr.tobytes()) if n else pa.py_buffer(b"")
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [validity, data])


def _arrow_table(ds: EncodedDataset) -> pa.Table:
    cols: dict[str, pa.Array] = {"record_id": pa.array(ds.record_ids.astype(str), type=pa.string())}
    if ds.clk is not None:
        cols["clk"] = _fixed_binary(ds.clk, None)
    for name, arr in ds.filters.items():
        cols[f"bf_{name}"] = _fixed_binary(arr, ds.filter_present[name])
    for name, arr in ds.tokens.items():
        cols[f"tok_{name}"] = _fixed_binary(arr, ds.token_present[name])
    for name in ds.attributes.columns:
        values = ds.attributes[name].astype(object)
        cols[f"attr_{name}"] = pa.array([None if pd.isna(v) else str(v) for v in values], type=pa.string())
    table = pa.table(cols)
    meta = json.dumps(ds.metadata.to_dict(), sort_keys=True).encode("utf-8")
    return table.replace_schema_metadata({_META_KEY: meta})


class EncodedWriter:
    """Stream chunks of one source into a Parquet file, atomically.

    Example:
        >>> import os, tempfile, pplink
        >>> s, k = pplink.default_schema(), pplink.Secret.generate()
        >>> ds = pplink.encode_records([{"surname": "smit"}], ids=["1"], schema=s, secret=k)
        >>> p = os.path.join(tempfile.mkdtemp(), "x.parquet")
        >>> with EncodedWriter(p) as w:
        ...     w.write(ds)
        >>> read_encoded(p).n_records
        1
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._ctx = atomic_path(self.path)
        self._writer: pq.ParquetWriter | None = None
        self._tmp: Path | None = None
        self._schema: pa.Schema | None = None
        self.n_records = 0

    def __enter__(self) -> EncodedWriter:
        self._tmp = self._ctx.__enter__()
        return self

    def write(self, ds: EncodedDataset) -> None:
        table = _arrow_table(ds)
        if self._writer is None:
            self._schema = table.schema
            self._writer = pq.ParquetWriter(self._tmp, table.schema, compression="zstd")
        else:
            table = table.cast(self._schema)
        self._writer.write_table(table)
        self.n_records += ds.n_records

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._writer is not None:
            self._writer.close()
        elif exc_type is None:
            raise EncodedFileError("no chunk was written; an encoded file needs at least its metadata")
        self._ctx.__exit__(exc_type, exc, tb)


def write_encoded(ds: EncodedDataset, path: str | os.PathLike[str]) -> None:
    """Write an encoded dataset to Parquet atomically (see :class:`EncodedWriter`)."""
    with EncodedWriter(path) as writer:
        writer.write(ds)


def _check_metadata(d: Any) -> str | None:
    """What is wrong with the decoded metadata dictionary of an encoded file (``None``: nothing)."""
    if not isinstance(d, dict):
        return "it is not a JSON object"

    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    checks = [
        ("source", lambda v: isinstance(v, str)),
        ("schema", lambda v: isinstance(v, dict)),
        ("schema_fingerprint", lambda v: isinstance(v, str)),
        ("key_fingerprint", lambda v: isinstance(v, str)),
        ("clk_bits", lambda v: is_int(v) and v >= 0 and v % 64 == 0),
        ("field_bits", lambda v: isinstance(v, dict)
         and all(isinstance(k, str) and is_int(b) and b > 0 and b % 64 == 0 for k, b in v.items())),
        ("tokens", lambda v: isinstance(v, list) and all(isinstance(t, str) for t in v)),
        ("household_token", lambda v: v is None or isinstance(v, str)),
        ("pplink_version", lambda v: isinstance(v, str)),
    ]
    for key, ok in checks:
        if key not in d:
            return f"it lacks {key!r}"
        if not ok(d[key]):
            return f"{key!r} has an invalid value"
    if "format_version" in d and not is_int(d["format_version"]):
        return "'format_version' has an invalid value"
    known = {k for k, _ in checks} | {"format_version"}
    unknown = sorted(set(d) - known)
    if unknown:
        return f"unknown key(s) {', '.join(map(str, unknown))} (written by a newer pplink?)"
    return None


def _open_parquet_schema(p: Path) -> pa.Schema:
    if p.is_dir():
        raise EncodedFileError(f"{p}: is a directory, not an encoded file (expected the output of `pplink encode`)")
    try:
        with open(p, "rb") as fh:
            head = fh.read(4)
    except FileNotFoundError:
        raise EncodedFileError(f"{p}: file does not exist") from None
    except OSError as exc:
        raise EncodedFileError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    if head != _PARQUET_MAGIC:
        what = "it is empty" if not head else "it does not start with the Parquet signature; is it a CSV file?"
        raise EncodedFileError(f"{p}: not a Parquet file ({what}); expected the output of `pplink encode`")
    try:
        return pq.read_schema(p)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise EncodedFileError(
            f"{p}: not a readable Parquet file ({exc}); it is truncated or damaged — copy or re-encode it"
        ) from None


def read_metadata(path: str | os.PathLike[str]) -> EncodingMetadata:
    """Read only the metadata of an encoded file (cheap)."""
    p = Path(path)
    schema = _open_parquet_schema(p)
    raw = (schema.metadata or {}).get(_META_KEY)
    if raw is None:
        raise EncodedFileError(f"{p}: Parquet file has no pplink metadata; it was not written by `pplink encode`")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise EncodedFileError(f"{p}: pplink metadata is damaged ({exc}); re-encode the source") from None
    problem = _check_metadata(data)
    if problem is None and data.get("format_version", FORMAT_VERSION) != FORMAT_VERSION:
        raise EncodedFileError(
            f"{p}: encoded-file format version {data['format_version']} is not supported by this pplink "
            f"(supports {FORMAT_VERSION}); re-encode with the same pplink version as the other parties"
        )
    if problem is not None:
        raise EncodedFileError(f"{p}: pplink metadata is damaged ({problem}); re-encode the source")
    try:
        meta = EncodingMetadata.from_dict(data)
    except (ValueError, TypeError) as exc:  # pragma: no cover - _check_metadata catches these first
        raise EncodedFileError(f"{p}: pplink metadata is damaged ({exc}); re-encode the source") from None
    return meta


def _column_bits(
    col: pa.ChunkedArray, words_dtype: type, width: int, n: int, name: str = "column"
) -> tuple[np.ndarray, np.ndarray]:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if not pa.types.is_fixed_size_binary(arr.type) or arr.type.byte_width != width:
        raise EncodedFileError(f"{name} has type {arr.type}, expected fixed_size_binary({width})")
    buf = arr.buffers()[1]
    raw = np.frombuffer(buf, dtype=np.uint8)[arr.offset * width : (arr.offset + n) * width] if n else np.zeros(0, np.uint8)
    present = arr.is_valid().to_numpy(zero_copy_only=False) if n else np.zeros(0, bool)
    itemsize = np.dtype(words_dtype).itemsize
    return raw.copy().view(words_dtype).reshape(n, width // itemsize), present


def _record_ids(p: Path, table: pa.Table) -> np.ndarray:
    col = table.column("record_id")
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        raise EncodedFileError(f"{p}: column record_id has type {col.type}, expected strings; the file is damaged")
    if col.null_count:
        rows = np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[:5] + 1
        raise EncodedFileError(
            f"{p}: record_id is empty in row(s) {', '.join(map(str, rows))}; the file is damaged — re-encode the source"
        )
    ids = np.asarray(col.to_pylist(), dtype=object)
    index = pd.Index(ids)
    if not index.is_unique:
        dup = index[index.duplicated()].unique()[:3]
        where = "; ".join(
            f"record id {v!r} appears in rows {', '.join(str(i + 1) for i in np.flatnonzero(ids == v)[:5])}"
            for v in dup
        )
        raise EncodedFileError(
            f"{p}: record ids must be unique, but {where}{' (first 3 shown)' if len(dup) == 3 else ''}; "
            "the file is damaged or was not written by `pplink encode` — re-encode the source"
        )
    return ids


def read_encoded(path: str | os.PathLike[str]) -> EncodedDataset:
    """Read an encoded Parquet file written by :func:`write_encoded` / ``pplink encode``."""
    p = Path(path)
    meta = read_metadata(p)
    try:
        table = pq.read_table(p)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise EncodedFileError(
            f"{p}: cannot read the encodings ({exc}); the file is truncated or damaged — copy or re-encode it"
        ) from None
    n = table.num_rows
    needed = ["record_id"] + (["clk"] if meta.clk_bits else []) + [f"bf_{f}" for f in meta.field_bits]
    needed += [f"tok_{t}" for t in meta.tokens]
    missing = [c for c in needed if c not in table.column_names]
    if missing:
        raise EncodedFileError(
            f"{p}: column(s) {', '.join(missing)} named in the metadata are missing; the file is damaged"
        )
    try:
        ids = _record_ids(p, table)
        clk = None
        if meta.clk_bits:
            if table.column("clk").null_count:
                raise EncodedFileError("column clk has missing values")
            clk, _ = _column_bits(table.column("clk"), np.uint64, meta.clk_bits // 8, n, "column clk")
        filters, present = {}, {}
        for name, bits in meta.field_bits.items():
            filters[name], present[name] = _column_bits(
                table.column(f"bf_{name}"), np.uint64, bits // 8, n, f"column bf_{name}")
        tokens, tpresent = {}, {}
        for name in meta.tokens:
            tokens[name], tpresent[name] = _column_bits(
                table.column(f"tok_{name}"), np.uint8, TOKEN_BYTES, n, f"column tok_{name}")
    except EncodedFileError as exc:
        msg = str(exc)
        raise EncodedFileError(msg if msg.startswith(f"{p}:") else f"{p}: {msg}; the file is damaged") from None
    attr_cols = [c for c in table.column_names if c.startswith("attr_")]
    for c in attr_cols:
        t = table.column(c).type
        if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t)):
            raise EncodedFileError(f"{p}: attribute column {c} has type {t}, expected strings; the file is damaged")
    attrs = pd.DataFrame({c[len("attr_") :]: table.column(c).to_pandas() for c in attr_cols}, index=range(n))
    return EncodedDataset(
        record_ids=ids,
        clk=clk,
        filters=filters,
        filter_present=present,
        tokens=tokens,
        token_present=tpresent,
        metadata=meta,
        attributes=attrs,
    )
