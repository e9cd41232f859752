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


def _check_bytes(path: Path, encoding: str) -> str:
    """Detect problems pandas would report badly; return the encoding to use."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(f"{path}: file does not exist") from None
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a CSV file")
    if size == 0:
        raise InputError(f"{path}: file is empty (expected a header line with column names)")
    with open(path, "rb") as fh:
        head = fh.read(4)
    enc = encoding.lower()
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and enc != "utf-16":
        raise InputError(
            f"{path}: file is UTF-16 (it starts with a UTF-16 byte-order mark) but the mapping says "
            f"encoding = {encoding!r}; set encoding = \"utf-16\" in the mapping's [source] table"
        )
    if enc == "utf-16":
        return enc
    if head.startswith(codecs.BOM_UTF8) and enc in ("utf-8", "utf-8-sig"):
        enc = "utf-8-sig"
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
            while chunk := fh.read(_SNIFF_BYTES):
                try:
                    decoder.decode(chunk, final=len(chunk) < _SNIFF_BYTES)
                except UnicodeDecodeError as exc:
                    line = _line_of_offset(path, offset + exc.start)
                    raise InputError(
                        f"{path}: line {line} is not valid UTF-8 (byte 0x{chunk[exc.start]:02x}); if the file is "
                        "Latin-1/Windows-1252, set encoding = \"latin-1\" or \"cp1252\" in the mapping"
                    ) from None
                offset += len(chunk)
    return enc


def _check_field_counts(path: Path, delimiter: str, encoding: str) -> None:
    """Refuse lines whose number of fields differs from the header's (pandas would silently pad
    short lines with missing values)."""
    bad: list[tuple[int, int]] = []
    with open(path, newline="", encoding=encoding) as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header = next(reader, None)
            if header is None:
                return
            expected = len(header)
            for row in reader:
                if row and len(row) != expected:
                    bad.append((reader.line_num, len(row)))
                    if len(bad) >= 5:
                        break
        except csv.Error as exc:
            raise InputError(f"{path}: line {reader.line_num}: malformed CSV ({exc}); check the quoting") from None
    if bad:
        where = "; ".join(f"line {line} has {n} fields" for line, n in bad)
        raise InputError(
            f"{path}: the header has {expected} fields but {where}{' (first 5 shown)' if len(bad) == 5 else ''}; "
            f"check the delimiter ({delimiter!r} per the mapping) and the quoting of those lines"
        )


def iter_source(
    path: str | os.PathLike[str], *, delimiter: str = ",", encoding: str = "utf-8", chunksize: int = 200_000
) -> Iterator[pd.DataFrame]:
    """Read a CSV source as string frames of at most ``chunksize`` rows.

    Every cell is a string (empty cells are ``NaN``); nothing is inferred or converted.
    """
    p = Path(path)
    enc = _check_bytes(p, encoding)
    _check_field_counts(p, delimiter, enc)
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
            if first:
                dup = [c for c in chunk.columns if "." in str(c) and str(c).rsplit(".", 1)[0] in chunk.columns]
                if dup:
                    raise InputError(f"{p}: header repeats column name(s) {', '.join(dup)}; column names must be unique")
                first = False
            yield chunk
        if first:  # header only: no chunk came out; yield an empty frame with the columns
            yield pd.read_csv(p, sep=delimiter, encoding=enc, dtype=str, nrows=0)
    except pd.errors.EmptyDataError:
        raise InputError(f"{p}: file has no header line (it is empty or only blank lines)") from None
    except pd.errors.ParserError as exc:
        raise InputError(
            f"{p}: cannot parse CSV: {str(exc).strip()}. Check the delimiter ({delimiter!r} per the mapping), quoting and the "
            "number of fields on that line"
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: not valid {enc} text ({exc.reason}); set the right encoding in the mapping") from None
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


def read_metadata(path: str | os.PathLike[str]) -> EncodingMetadata:
    """Read only the metadata of an encoded file (cheap)."""
    p = Path(path)
    try:
        schema = pq.read_schema(p)
    except FileNotFoundError:
        raise EncodedFileError(f"{p}: file does not exist") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise EncodedFileError(f"{p}: not a Parquet file ({exc}); expected the output of `pplink encode`") from None
    raw = (schema.metadata or {}).get(_META_KEY)
    if raw is None:
        raise EncodedFileError(f"{p}: Parquet file has no pplink metadata; it was not written by `pplink encode`")
    try:
        meta = EncodingMetadata.from_dict(json.loads(raw))
    except (ValueError, TypeError) as exc:
        raise EncodedFileError(f"{p}: pplink metadata is damaged ({exc}); re-encode the source") from None
    if meta.format_version != FORMAT_VERSION:
        raise EncodedFileError(
            f"{p}: encoded-file format version {meta.format_version} is not supported by this pplink "
            f"(supports {FORMAT_VERSION}); re-encode with the same pplink version as the other parties"
        )
    return meta


def _column_bits(col: pa.ChunkedArray, words_dtype: type, width: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if not pa.types.is_fixed_size_binary(arr.type) or arr.type.byte_width != width:
        raise EncodedFileError(f"column has type {arr.type}, expected fixed_size_binary({width})")
    buf = arr.buffers()[1]
    raw = np.frombuffer(buf, dtype=np.uint8)[arr.offset * width : (arr.offset + n) * width] if n else np.zeros(0, np.uint8)
    present = arr.is_valid().to_numpy(zero_copy_only=False) if n else np.zeros(0, bool)
    itemsize = np.dtype(words_dtype).itemsize
    return raw.copy().view(words_dtype).reshape(n, width // itemsize), present


def read_encoded(path: str | os.PathLike[str]) -> EncodedDataset:
    """Read an encoded Parquet file written by :func:`write_encoded` / ``pplink encode``."""
    p = Path(path)
    meta = read_metadata(p)
    table = pq.read_table(p)
    n = table.num_rows
    try:
        ids = np.asarray(table.column("record_id").to_pylist(), dtype=object)
        clk = None
        if meta.clk_bits:
            clk, _ = _column_bits(table.column("clk"), np.uint64, meta.clk_bits // 8, n)
        filters, present = {}, {}
        for name, bits in meta.field_bits.items():
            filters[name], present[name] = _column_bits(table.column(f"bf_{name}"), np.uint64, bits // 8, n)
        tokens, tpresent = {}, {}
        for name in meta.tokens:
            tokens[name], tpresent[name] = _column_bits(table.column(f"tok_{name}"), np.uint8, TOKEN_BYTES, n)
    except KeyError as exc:
        raise EncodedFileError(f"{p}: column {exc} named in the metadata is missing; the file is damaged") from None
    except EncodedFileError as exc:
        raise EncodedFileError(f"{p}: {exc}") from None
    attrs = pd.DataFrame(
        {c[len("attr_") :]: table.column(c).to_pandas() for c in table.column_names if c.startswith("attr_")},
        index=range(n),
    )
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
