"""The pplink pipeline on Apache Spark: encode, block, compare, decide, cluster.

This engine mirrors the embedded one (:mod:`pplink.linkage.pipeline`) step by step and calls
the same code for everything that decides a result, so on the same input it gives the same
links, probabilities and clusters:

* **Input**: encoded Parquet files (``pplink encode`` output). The metadata (schema and key
  fingerprints) is read on the driver with :func:`pplink.io.read_metadata`, and files with
  mismatched fingerprints are refused by :func:`pplink.check_compatible` before any Spark job
  runs. Records are numbered by their row in the file (Spark's ``_metadata.row_index``), the
  numbering the embedded engine uses for its random ``u`` sample and its tie-breaking.
* **Blocking** on keys computed per Arrow batch (``mapInArrow``) and joined in Spark. Keyed
  tokens (``tok_*``, 16 bytes): one join over all tokens; a value held by more than
  ``max_group`` records on either side is skipped, as in
  :func:`pplink.linkage.blocking.token_pairs`. Hamming LSH by the rule of
  :func:`pplink.linkage.blocking.lsh_dice_pairs`, spelled out in :func:`_lsh_spark`: the same
  band positions (and the same automatic ``lsh_bits_per_band``), buckets over ``max_bucket``
  skipped, the distinct colliding pairs counted (``stats["n_lsh_pairs"]``), kept when their
  CLK Dice reaches ``candidate_threshold``, at most ``candidate_top_k`` per a-record (a
  window function). Only ``blocking="lsh"`` and ``"tokens"`` run on Spark (``"auto"`` means
  ``"lsh"`` here): exact all-pairs CLK search is a single-machine kernel, not a Spark join.
* **Comparison vectors** per Arrow batch (``mapInArrow``): each batch of candidate pairs is
  turned into two small :class:`~pplink.encoded.EncodedDataset` objects and passed to the same
  :func:`pplink.linkage.features.comparison_vectors` and compiled Dice kernel. Candidates,
  the random pairs for ``u`` and the same-address pairs for the household ``u`` go through
  one pass, summarised by one ``groupBy``.
* **Model** on the driver from small aggregates: ``u`` from random record pairs drawn on the
  driver with the embedded engine's RNG and seed and compared in Spark; the household ``u``
  from the address-token join; a labelled sample (``labels``) by the embedded code on the
  labelled records only; ``m`` and the match share by
  :func:`pplink.linkage.fullspace.fit_fullspace` on the *counts* of distinct comparison
  patterns (a ``groupBy`` over the int8 level columns: a few thousand rows whatever the number
  of candidates).
* **Decision**: probabilities and match weights are computed per pattern on the driver and
  joined back onto the candidates in Spark (a broadcast join on the level columns); the
  automatic threshold comes from :func:`pplink.linkage.threshold.choose_threshold` on the
  pattern probabilities with their counts. The driver holds one row per pattern, never one
  per candidate. Only the solver's input is collected: the pairs at or above the threshold
  (about one per record), made one-to-one by :func:`pplink.linkage.solve.solve` on the
  driver; entities across N sources by :func:`pplink.linkage.cluster.cluster_records` on the
  accepted edges. Both are exact, deterministic and fast on millions of links; an iterative
  "mutual best" formulation in Spark would need many shuffles for the same answer.
* **Encoding** (data-holder side, on the data holder's own cluster): :func:`encode_spark`
  standardises and encodes each partition with :meth:`pplink.encode.Encoder.encode_frame`;
  :func:`write_encoded_spark` writes the standard encoded Parquet file.

Nothing in linking takes or needs a secret. Workers need pplink (and its dependencies) on
their Python path; see ``docs/howto/spark.md`` for spark-submit, notebooks and sizing.

Example (not run here: needs PySpark and a Java runtime)::

    from pplink.engines.spark import link_spark, spark_session
    spark = spark_session("local[2]")
    result = link_spark(spark, "wmo.parquet", "jeugd.parquet", blocking="lsh")
    result.links                     # pandas: a_id, b_id, score, probability, match_weight
    result.candidates                # Spark DataFrame of every scored candidate pair
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import os
import re
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pplink.encoded import FORMAT_VERSION, EncodedDataset, EncodingMetadata, check_compatible
from pplink.errors import ConfigError, EncodedFileError
from pplink.linkage.blocking import (
    auto_bits_from_sample,
    auto_bits_sample,
    band_positions,
    lsh_dice_pairs,
    token_pairs,
)
from pplink.linkage.cluster import cluster_records
from pplink.linkage.features import Feature, comparison_vectors, derive_features
from pplink.linkage.model import FellegiSunter
from pplink.linkage.pipeline import (
    LINK_COLUMNS,
    LinkSettings,
    _fit,
    _settings,
    entity_households,
    household_u,
    random_pairs,
)
from pplink.linkage.similarity import dice_pairs
from pplink.linkage.solve import solve
from pplink.linkage.threshold import ThresholdChoice, choose_threshold

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

    from pplink.keys import Secret
    from pplink.mapping import Mapping
    from pplink.schema import Schema

__all__ = [
    "SparkSource",
    "SparkLinkResult",
    "SparkClusterResult",
    "SparkEncoded",
    "SparkUnavailableError",
    "spark_session",
    "read_encoded_spark",
    "link_spark",
    "link_many_spark",
    "encode_spark",
    "write_encoded_spark",
    "write_via_driver",
    "SPARK_BLOCKING",
]

#: Blocking methods available on Spark (``"auto"`` is taken as ``"lsh"``).
SPARK_BLOCKING = ("lsh", "tokens")

# The embedded engine calls token_pairs, lsh_dice_pairs and auto_bits_per_band with their
# defaults; read them from the functions so the two engines can never drift apart.
_MAX_GROUP: int = inspect.signature(token_pairs).parameters["max_group"].default
_MAX_BUCKET: int = inspect.signature(lsh_dice_pairs).parameters["max_bucket"].default
_TOKEN_BYTES = 16


class SparkUnavailableError(ConfigError, ImportError):
    """PySpark is not installed (a :class:`~pplink.errors.ConfigError` and an ``ImportError``).

    Example:
        >>> issubclass(SparkUnavailableError, ImportError), issubclass(SparkUnavailableError, ConfigError)
        (True, True)
    """


def _require_pyspark() -> Any:
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import functions as F
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise SparkUnavailableError(
            "the Spark engine needs PySpark and a Java runtime: pip install 'pplink[spark]' "
            "(and e.g. apt-get install default-jre-headless)"
        ) from None
    return F


def spark_session(master: str | None = None, conf: dict[str, str] | None = None, *, app_name: str = "pplink") -> SparkSession:
    """Get the active Spark session or start one.

    Under ``spark-submit`` or in a notebook (Databricks, Fabric, ...) this returns the
    session the platform made, and ``master``/``conf`` only add settings. Started from plain
    Python without a master, Spark runs in local mode on all cores. For local mode the Python
    workers are pointed at this interpreter (so they see pplink) unless ``PYSPARK_PYTHON`` is
    set.

    Example (needs PySpark and Java, so not run as a doctest):
        ```python
        spark = spark_session("local[2]", {"spark.sql.shuffle.partitions": "8"})
        spark.conf.get("spark.sql.shuffle.partitions")
        # -> '8'
        ```
    """
    _require_pyspark()
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    launched_by_spark = "PYSPARK_GATEWAY_PORT" in os.environ or SparkContext._active_spark_context is not None
    local = master is None or master.startswith("local")
    if local and not launched_by_spark and "PYSPARK_PYTHON" not in os.environ:
        os.environ["PYSPARK_PYTHON"] = sys.executable
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


# ----------------------------------------------------------------------------- inputs


@dataclass
class SparkSource:
    """An encoded source on Spark: a DataFrame with the encoded-file columns (``record_id``,
    ``clk``, ``bf_<field>``, ``tok_<token>``, ``attr_<name>``) and its metadata.

    Records are numbered by their 0-based row in the encoded file (the embedded engine's
    numbering): from a ``_pos`` column when ``df`` has one; from Spark's
    ``_metadata.row_index`` when ``df`` is a direct Parquet read (``n_records`` is then known
    from the file footer); else in the DataFrame's order, with a warning that tie-breaking and
    the random ``u`` sample may then differ from the embedded engine's.

    Example (the metadata from a local copy, the data from the lake; not run as a doctest):
        ```python
        from pplink.io import read_metadata
        src = SparkSource(spark.read.parquet("abfss://enc@lake/wmo.parquet"),
                              read_metadata("/tmp/wmo.parquet"))
        ```
    """

    df: DataFrame
    metadata: EncodingMetadata
    n_records: int | None = None


def _is_uri(text: str) -> bool:
    return "://" in text and not text.startswith("file://")


def _read_footer(path: str | os.PathLike[str]) -> tuple[EncodingMetadata, int | None]:
    """Metadata (:func:`pplink.io.read_metadata`) and row count of an encoded file, also for
    URIs pyarrow can open (``s3://``, ``abfss://``, ...). The count is ``None`` for a directory."""
    import pyarrow.parquet as pq

    text = str(path)
    if not _is_uri(text):
        from pplink.io import read_metadata

        local = text[len("file://"):] if text.startswith("file://") else text
        meta = read_metadata(local)
        return meta, (pq.read_metadata(local).num_rows if os.path.isfile(local) else None)
    try:
        schema = pq.read_schema(text)
        n_rows = pq.read_metadata(text).num_rows
    except (pa.ArrowInvalid, OSError, ValueError) as exc:
        raise EncodedFileError(f"{text}: cannot read the Parquet footer ({exc}); pass a SparkSource with the "
                               "metadata from pplink.io.read_metadata on a local copy") from None
    raw = (schema.metadata or {}).get(b"pplink")
    if raw is None:
        raise EncodedFileError(f"{text}: Parquet file has no pplink metadata; it was not written by `pplink encode`")
    meta = EncodingMetadata.from_dict(json.loads(raw))
    if meta.format_version != FORMAT_VERSION:
        raise EncodedFileError(f"{text}: encoded-file format version {meta.format_version} is not supported "
                               f"(supports {FORMAT_VERSION})")
    return meta, n_rows


def read_encoded_spark(spark: SparkSession, path: str | os.PathLike[str]) -> SparkSource:
    """An encoded Parquet file (``pplink encode`` output) as a :class:`SparkSource`.

    The metadata and the record count come from the file footer, read on the driver with
    pyarrow (local paths, mounted paths such as ``/dbfs/...`` or ``/lakehouse/default/Files/...``,
    and URIs pyarrow supports). Spark reads the data itself.

    Example (needs a Spark session, so not run as a doctest):
        ```python
        src = read_encoded_spark(spark, "wmo.parquet")
        src.metadata.source, src.n_records
        # -> ('wmo', 94624)
        ```
    """
    _require_pyspark()
    meta, n_rows = _read_footer(path)
    return SparkSource(spark.read.parquet(str(path)), meta, n_rows)


def _as_source(spark: SparkSession, x: Any) -> SparkSource:
    if isinstance(x, SparkSource):
        return x
    if isinstance(x, (str, os.PathLike)):
        return read_encoded_spark(spark, x)
    if isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], EncodingMetadata):
        return SparkSource(x[0], x[1], None)
    if isinstance(x, SparkEncoded):
        return x.source
    raise ConfigError(
        f"a Spark input must be an encoded Parquet path, a SparkSource or (DataFrame, EncodingMetadata); "
        f"got {type(x).__name__} (a bare DataFrame has lost the file's metadata: use read_encoded_spark)"
    )


@dataclass
class _Side:
    """A source prepared for linking: ``df`` has ``_pos`` and the encoded columns (persisted)."""

    df: DataFrame
    meta: EncodingMetadata
    n: int


def _encoded_columns(meta: EncodingMetadata) -> list[str]:
    cols = ["record_id"] + (["clk"] if meta.clk_bits else [])
    cols += [f"bf_{f}" for f in meta.field_bits] + [f"tok_{t}" for t in meta.tokens]
    return cols


def _with_positions(spark: SparkSession, df: DataFrame, n_records: int | None = None) -> tuple[DataFrame, int]:
    """``df`` with ``_pos`` = the record's 0-based row in its encoded file, and the count."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    if n_records is not None and "_pos" not in df.columns:
        # one file read directly: its row index is the position, its footer gave the count
        return df.select("*", F.col("_metadata.row_index").alias("_pos")), n_records
    if "_pos" in df.columns:
        agg = df.agg(F.count(F.lit(1)).alias("n"), F.min("_pos").alias("lo"), F.max("_pos").alias("hi")).first()
        n = int(agg["n"])
        if n and (agg["lo"] != 0 or agg["hi"] != n - 1):
            raise ConfigError("column _pos must number the records 0..n-1")
        return df, n
    try:
        tagged = df.select("*", F.col("_metadata.row_index").alias("_row"), F.col("_metadata.file_path").alias("_file"))
        per_file = tagged.groupBy("_file").agg(F.count(F.lit(1)).alias("n"), F.max("_row").alias("hi")).toPandas()
    except AnalysisException:
        per_file = None
    if per_file is not None and (per_file["n"] == per_file["hi"] + 1).all():
        per_file = per_file.sort_values("_file").reset_index(drop=True)
        n = int(per_file["n"].sum())
        if len(per_file) <= 1:
            return tagged.withColumn("_pos", F.col("_row")).drop("_row", "_file"), n
        starts = np.concatenate([[0], np.cumsum(per_file["n"].to_numpy())[:-1]])
        offsets = spark.createDataFrame(pd.DataFrame({"_file": per_file["_file"], "_off": starts.astype(np.int64)}))
        out = tagged.join(F.broadcast(offsets), "_file").withColumn("_pos", F.col("_off") + F.col("_row"))
        return out.drop("_row", "_file", "_off"), n
    warnings.warn(
        "the input is not a direct read of an encoded Parquet file: records are numbered in the DataFrame's "
        "order, so tie-breaking and the random u sample can differ from the embedded engine",
        RuntimeWarning,
        stacklevel=3,
    )
    from pyspark import StorageLevel
    from pyspark.sql import Window

    # number the rows in the DataFrame's order (one window over all rows: a fallback only)
    marked = df.withColumn("_mid", F.monotonically_increasing_id())
    out = (marked.withColumn("_pos", F.row_number().over(Window.orderBy("_mid")).cast("long") - 1)
           .drop("_mid").persist(StorageLevel.MEMORY_AND_DISK))
    return out, int(out.count())


def _prepare(spark: SparkSession, src: SparkSource) -> _Side:
    from pyspark import StorageLevel

    cols = _encoded_columns(src.metadata)
    missing = [c for c in cols if c not in src.df.columns]
    if missing:
        raise EncodedFileError(
            f"source {src.metadata.source!r}: column(s) {', '.join(missing)} named in the metadata are missing"
        )
    df, n = _with_positions(spark, src.df, src.n_records)
    if n == 0:
        raise ConfigError(f"source {src.metadata.source!r} has no records")
    df = df.select(["_pos"] + cols).persist(StorageLevel.MEMORY_AND_DISK)
    return _Side(df, src.metadata, n)


def _skeleton(meta: EncodingMetadata) -> EncodedDataset:
    """A record-less dataset with ``meta``'s fields, for :func:`derive_features`."""
    return EncodedDataset(
        record_ids=np.zeros(0, dtype=object),
        clk=np.zeros((0, max(meta.clk_bits // 64, 1)), np.uint64) if meta.clk_bits else None,
        filters={f: np.zeros((0, bits // 64), np.uint64) for f, bits in meta.field_bits.items()},
        filter_present={f: np.zeros(0, bool) for f in meta.field_bits},
        tokens={t: np.zeros((0, _TOKEN_BYTES), np.uint8) for t in meta.tokens},
        token_present={t: np.zeros(0, bool) for t in meta.tokens},
        metadata=meta,
    )


# ----------------------------------------------------------------- arrow <-> arrays


def _binary_matrix(col: pa.Array | pa.ChunkedArray, width: int, dtype: Any, name: str = "column") -> tuple[np.ndarray, np.ndarray]:
    """A (nullable) binary Arrow column of ``width``-byte values as ``(n, width / itemsize)``
    ``dtype`` rows plus a presence mask (null rows are all-zero)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    n = len(col)
    itemsize = np.dtype(dtype).itemsize
    if n == 0:
        return np.zeros((0, width // itemsize), dtype), np.zeros(0, dtype=bool)
    valid = col.is_valid()
    present = valid.to_numpy(zero_copy_only=False).astype(bool)
    if col.null_count:
        col = pc.if_else(valid, col, pa.scalar(b"\x00" * width, type=col.type))
    try:
        fixed = col if pa.types.is_fixed_size_binary(col.type) else col.cast(pa.binary(width))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise EncodedFileError(f"{name}: values are not {width} bytes long; the input is not a pplink encoding "
                               "made with this metadata") from None
    if fixed.type.byte_width != width:
        raise EncodedFileError(f"{name}: values are {fixed.type.byte_width} bytes, expected {width}")
    raw = np.frombuffer(fixed.buffers()[1], np.uint8, count=n * width, offset=fixed.offset * width)
    return raw.reshape(n, width).copy().view(dtype), present


def _fixed_binary_column(arr: np.ndarray, present: np.ndarray | None) -> pa.Array:
    """Rows of ``arr`` as a Spark-friendly (variable) binary Arrow column, null where absent."""
    from pplink.io import _fixed_binary

    return _fixed_binary(arr, present).cast(pa.binary())


def _table_to_dataset(table: pa.Table | pa.RecordBatch, meta: EncodingMetadata, prefix: str = "",
                      filters: Sequence[str] | None = None, tokens: Sequence[str] | None = None,
                      with_clk: bool = True, record_ids: np.ndarray | None = None) -> EncodedDataset:
    """A (small) :class:`EncodedDataset` from the encoded columns of an Arrow batch."""
    n = table.num_rows
    filters = list(meta.field_bits) if filters is None else list(filters)
    tokens = list(meta.tokens) if tokens is None else list(tokens)
    arrays, present = {}, {}
    for f in filters:
        name = f"{prefix}bf_{f}"
        arrays[f], present[f] = _binary_matrix(table.column(name), meta.field_bits[f] // 8, np.uint64, name)
    toks, tpresent = {}, {}
    for t in tokens:
        name = f"{prefix}tok_{t}"
        toks[t], tpresent[t] = _binary_matrix(table.column(name), _TOKEN_BYTES, np.uint8, name)
    clk = None
    if with_clk and meta.clk_bits:
        clk, ok = _binary_matrix(table.column(f"{prefix}clk"), meta.clk_bits // 8, np.uint64, f"{prefix}clk")
        if not ok.all():
            raise EncodedFileError(f"{prefix}clk: {int((~ok).sum())} records have no CLK")
    return EncodedDataset(
        record_ids=np.arange(n) if record_ids is None else record_ids,
        clk=clk,
        filters=arrays,
        filter_present=present,
        tokens=toks,
        token_present=tpresent,
        metadata=meta,
    )


# ------------------------------------------------------------------ worker functions
# Module-level functions (bound with functools.partial) so Spark pickles them by reference.


def _one_thread() -> None:
    """Spark runs one task per core: the compiled kernels then run single-threaded in a task
    (their parallel launch costs more than it gains on one Arrow batch, and cores are busy).
    Results do not depend on the number of threads."""
    import numba

    if numba.get_num_threads() != 1:
        numba.set_num_threads(1)


def _band_key_batches(batches: Iterator[pa.RecordBatch], *, positions: np.ndarray,
                      clk_bytes: int) -> Iterator[pa.RecordBatch]:
    """LSH band keys per record: ``(k, key, pos)``, ``k`` the band and ``key`` its sampled CLK
    bits packed exactly as the embedded engine packs them
    (:func:`pplink.linkage.blocking._band_keys`; uint64 stored as int64)."""
    from pplink.linkage.blocking import _band_keys

    _one_thread()
    for batch in batches:
        n = batch.num_rows
        if n == 0:
            continue
        clk, _ = _binary_matrix(batch.column("clk"), clk_bytes, np.uint64, "clk")
        keys = np.ascontiguousarray(_band_keys(clk, positions).view(np.int64).T)  # (bands, n)
        pos = pc.cast(batch.column("_pos"), pa.int64())
        for band in range(len(positions)):
            yield pa.RecordBatch.from_arrays([pa.array(np.full(n, band, np.int32)), pa.array(keys[band]), pos],
                                             names=["k", "key", "pos"])


def _token_key_batches(batches: Iterator[pa.RecordBatch], *, tokens: list[str]) -> Iterator[pa.RecordBatch]:
    """Token keys per record: ``(k, key, pos)`` with ``k = i`` for ``tokens[i]`` and ``key`` its
    16 bytes (records without the token get no row)."""
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pos = pc.cast(batch.column("_pos"), pa.int64())
        for i, t in enumerate(tokens):
            col = batch.column(f"tok_{t}")
            valid = col.is_valid()
            key_col = pc.filter(col, valid).cast(pa.binary())
            yield pa.RecordBatch.from_arrays(
                [pa.array(np.full(len(key_col), i, np.int32)), key_col, pc.filter(pos, valid)], names=["k", "key", "pos"]
            )


def _dice_batches(batches: Iterator[pa.RecordBatch], *, clk_bytes: int, min_dice: float) -> Iterator[pa.RecordBatch]:
    """Distinct colliding pairs (``ia, ib, a_clk, b_clk``) -> those whose CLK Dice (float64)
    reaches ``min_dice``, with the Dice rounded to float32 (``ia, ib, score``; ``_n`` null),
    plus one row per batch with its number of pairs in ``_n`` (``ia, ib, score`` null)."""
    _one_thread()
    for batch in batches:
        n = batch.num_rows
        if n == 0:
            continue
        a, _ = _binary_matrix(batch.column("a_clk"), clk_bytes, np.uint64, "a_clk")
        b, _ = _binary_matrix(batch.column("b_clk"), clk_bytes, np.uint64, "b_clk")
        idx = np.arange(n, dtype=np.int64)
        score = dice_pairs(a, b, idx, idx)
        keep = score >= min_dice
        mask = pa.array(keep)
        yield pa.RecordBatch.from_arrays(
            [pc.filter(batch.column("ia"), mask), pc.filter(batch.column("ib"), mask),
             pa.array(score[keep].astype(np.float32)), pa.nulls(int(keep.sum()), pa.int64())],
            names=["ia", "ib", "score", "_n"],
        )
        yield pa.RecordBatch.from_arrays(
            [pa.nulls(1, pa.int64()), pa.nulls(1, pa.int64()), pa.nulls(1, pa.float32()), pa.array([n], pa.int64())],
            names=["ia", "ib", "score", "_n"],
        )


def _compare_batches(
    batches: Iterator[pa.RecordBatch],
    *,
    meta: EncodingMetadata,
    features: list[Feature],
    levels: tuple[float, ...],
    filters: list[str],
    tokens: list[str],
    with_score: bool,
    carry: tuple[str, ...],
) -> Iterator[pa.RecordBatch]:
    """Comparison levels (and the CLK Dice score) of the candidate pairs in each batch."""
    _one_thread()
    for batch in batches:
        n = batch.num_rows
        if n == 0:
            continue
        a = _table_to_dataset(batch, meta, "a_", filters, tokens, with_clk=with_score)
        b = _table_to_dataset(batch, meta, "b_", filters, tokens, with_clk=with_score)
        idx = np.arange(n, dtype=np.int64)
        gamma = comparison_vectors(a, b, idx, idx, features, levels)
        cols = [batch.column(c) for c in carry]
        names = list(carry)
        score = dice_pairs(a.clk, b.clk, idx, idx) if (with_score and a.clk is not None) else np.zeros(n)
        cols.append(pa.array(score, pa.float64()))
        names.append("score")
        for j in range(gamma.shape[1]):
            cols.append(pa.array(gamma[:, j], pa.int8()))
            names.append(f"g{j}")
        yield pa.RecordBatch.from_arrays(cols, names=names)


def _ipc_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Each Arrow batch as one row holding its IPC stream (to stream a DataFrame to the driver)."""
    for batch in batches:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        yield pa.RecordBatch.from_arrays([pa.array([sink.getvalue().to_pybytes()], pa.binary())], names=["ipc"])


# ----------------------------------------------------------------------- blocking


def _spark_blocking(s: LinkSettings) -> str:
    if s.blocking == "all-pairs":
        raise ConfigError(
            "blocking='all-pairs' (exact CLK search) runs only on the embedded engine; on Spark use "
            "blocking='lsh' (Hamming LSH on the CLK plus token joins) or 'tokens'"
        )
    return "lsh" if s.blocking == "auto" else s.blocking


def _token_pairs_spark(A: _Side, B: _Side, tokens: list[str], *, dedup: bool) -> DataFrame:
    """The token joins of a source pair in one Spark join: ``(k, ia, ib)`` per shared token
    value, ``k`` the index of the token in ``tokens``. A value held by more than ``max_group``
    records on either side is skipped, as in :func:`pplink.linkage.blocking.token_pairs`."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    fn = functools.partial(_token_key_batches, tokens=tokens)
    cols = ["_pos"] + [f"tok_{t}" for t in tokens]

    def side(S: _Side, name: str) -> DataFrame:
        keys = S.df.select(cols).mapInArrow(fn, "k int, key binary, pos long")
        keys = keys.withColumn("_n", F.count(F.lit(1)).over(Window.partitionBy("k", "key")))
        return keys.where(F.col("_n") <= _MAX_GROUP).select("k", "key", F.col("pos").alias(name))

    ka = side(A, "ia")
    kb = ka.withColumnRenamed("ia", "ib") if dedup else side(B, "ib")
    return ka.join(kb, ["k", "key"]).select("k", "ia", "ib")


def _sampled_clks(S: _Side, positions: np.ndarray) -> np.ndarray:
    """The CLKs of the records at ``positions`` (in that order, repeats allowed), collected:
    for samples only."""
    from pyspark.sql import functions as F

    spark = S.df.sparkSession
    wanted = np.unique(positions)
    pos_df = spark.createDataFrame(pd.DataFrame({"_pos": wanted.astype(np.int64)}), "_pos long")
    local = S.df.join(F.broadcast(pos_df), "_pos").select("_pos", "clk").toPandas()
    clk, _ = _binary_matrix(pa.array(local["clk"].tolist(), pa.binary()), S.meta.clk_bits // 8, np.uint64, "clk")
    rows = np.empty((len(wanted), clk.shape[1]), np.uint64)
    rows[np.searchsorted(wanted, local["_pos"].to_numpy(np.int64))] = clk
    return rows[np.searchsorted(wanted, positions)]


def _lsh_bits_per_band(A: _Side, B: _Side, s: LinkSettings) -> int:
    """``lsh_bits_per_band``, or when it is ``None`` what
    :func:`pplink.linkage.blocking.auto_bits_per_band` would choose for the full CLK arrays:
    the same seeded pairs (:func:`~pplink.linkage.blocking.auto_bits_sample`), whose CLKs alone
    are collected, and the same rule (:func:`~pplink.linkage.blocking.auto_bits_from_sample`)."""
    if s.lsh_bits_per_band is not None:
        return int(s.lsh_bits_per_band)
    drawn = auto_bits_sample(A.n, B.n, seed=s.seed)
    if drawn is None:
        return 8
    ra, rb = drawn
    return auto_bits_from_sample(_sampled_clks(A, ra), _sampled_clks(B, rb), bits=A.meta.clk_bits, n_a=A.n, n_b=B.n)


@dataclass
class _SparkLsh:
    """What :func:`_lsh_spark` returns: the kept ``pairs`` (``ia, ib``), the number of distinct
    colliding pairs and the persisted frame they come from (to unpersist)."""

    pairs: DataFrame
    n_colliding: int
    bits_per_band: int
    cached: DataFrame


def _lsh_spark(A: _Side, B: _Side, s: LinkSettings, *, dedup: bool) -> _SparkLsh:
    """Hamming-LSH candidates on Spark, by the rule of :func:`pplink.linkage.blocking.lsh_dice_pairs`.

    The rule, shared by both engines (and tested for equality):

    1. ``lsh_bands`` bands of ``lsh_bits_per_band`` CLK bit positions (``None``: chosen by
       :func:`~pplink.linkage.blocking.auto_bits_per_band`), drawn from the public ``seed`` by
       :func:`~pplink.linkage.blocking.band_positions`. Two records *collide* in a band when
       their CLKs agree on all its bits, unless that bucket holds more than ``max_bucket``
       records on either side (it is then skipped in that band).
    2. Every distinct colliding pair counts once: ``n_colliding``, reported as
       ``stats["n_lsh_pairs"]``.
    3. A pair is kept when its CLK Dice (float64) is at least ``candidate_threshold``.
    4. At most ``candidate_top_k`` kept pairs per a-record: the best score first (the score
       rounded to float32, as the embedded engine stores it), ties by the lower b position.

    How each engine de-duplicates differs, not what it finds. The embedded engine takes each
    pair only in the first band it collides in, inside its compiled band join. On Spark the
    band keys are computed per Arrow batch, oversized buckets dropped by a window count, the
    bands joined in one Spark join on ``(band, key)`` and the colliding pairs de-duplicated by
    one ``distinct`` in the JVM (a shuffle of ``(ia, ib)``, 16 bytes a pair). Only the distinct
    pairs get their CLKs joined on and go through Python for the Dice (:func:`_dice_batches`);
    what passes the threshold is persisted, with the count of distinct pairs, and cut to
    ``top_k`` by a window. (Taking pairs in their first band on Spark would need every band
    key to carry its record's CLK, about five times the shuffled bytes of the band join; that
    variant gave the same pairs but took 1.4 to 1.8 times as long for the LSH step at
    100,000 x 100,000 records in local mode.)
    """
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    bits_per_band = _lsh_bits_per_band(A, B, s)
    positions = band_positions(A.meta.clk_bits, s.lsh_bands, bits_per_band, s.seed)
    clk_bytes = A.meta.clk_bits // 8
    fn = functools.partial(_band_key_batches, positions=positions, clk_bytes=clk_bytes)

    def side(S: _Side, name: str) -> DataFrame:
        keys = S.df.select("_pos", "clk").mapInArrow(fn, "k int, key long, pos long")
        keys = keys.withColumn("_n", F.count(F.lit(1)).over(Window.partitionBy("k", "key")))
        return keys.where(F.col("_n") <= _MAX_BUCKET).select("k", "key", F.col("pos").alias(name))

    ka = side(A, "ia")
    kb = ka.withColumnRenamed("ia", "ib") if dedup else side(B, "ib")
    pairs = ka.join(kb, ["k", "key"]).select("ia", "ib").distinct()
    clk_a = A.df.select(F.col("_pos").alias("ia"), F.col("clk").alias("a_clk"))
    clk_b = B.df.select(F.col("_pos").alias("ib"), F.col("clk").alias("b_clk"))
    scored = pairs.join(clk_a, "ia").join(clk_b, "ib").mapInArrow(
        functools.partial(_dice_batches, clk_bytes=clk_bytes, min_dice=float(s.candidate_threshold)),
        "ia long, ib long, score float, _n long",
    ).persist(StorageLevel.MEMORY_AND_DISK)
    n_colliding = int(scored.agg(F.sum("_n")).first()[0] or 0)
    kept = scored.where(F.col("ia").isNotNull()).select("ia", "ib", "score")
    if s.candidate_top_k is not None:
        order = Window.partitionBy("ia").orderBy(F.col("score").desc(), F.col("ib").asc())
        kept = kept.withColumn("_rank", F.row_number().over(order)).where(F.col("_rank") <= s.candidate_top_k)
    return _SparkLsh(kept.select("ia", "ib"), n_colliding, bits_per_band, scored)


# --------------------------------------------------------------------- comparison


def _needed(features: Sequence[Feature], meta: EncodingMetadata) -> tuple[list[str], list[str]]:
    """Filters and tokens the comparison reads: all of them (in metadata order).

    Features may combine fields (the household feature reads the surname and the address
    token, the date feature the birth date and year), so every encoded column travels with a
    pair; ``comparison_vectors`` then sees exactly what the embedded engine gives it.
    """
    return list(meta.field_bits), list(meta.tokens)


def _compare_pairs(pairs: DataFrame, A: _Side, B: _Side, features: list[Feature], levels: tuple[float, ...],
                   *, with_score: bool = True, carry: tuple[str, ...] = ("ia", "ib")) -> DataFrame:
    """``pairs`` (``ia``, ``ib`` and ``carry``) with ``score`` and levels ``g0..`` per feature."""
    from pyspark.sql import functions as F

    filters, tokens = _needed(features, A.meta)
    with_score = with_score and bool(A.meta.clk_bits)

    def cols(S: _Side, prefix: str, key: str) -> DataFrame:
        c = [F.col("_pos").alias(key)]
        if with_score:
            c.append(F.col("clk").alias(f"{prefix}clk"))
        c += [F.col(f"bf_{f}").alias(f"{prefix}bf_{f}") for f in filters]
        c += [F.col(f"tok_{t}").alias(f"{prefix}tok_{t}") for t in tokens]
        return S.df.select(c)

    joined = pairs.join(cols(A, "a_", "ia"), "ia").join(cols(B, "b_", "ib"), "ib")
    fn = functools.partial(_compare_batches, meta=A.meta, features=list(features), levels=tuple(levels),
                           filters=filters, tokens=tokens, with_score=with_score, carry=carry)
    carried = {f.name: f.dataType.simpleString() for f in pairs.schema.fields}
    schema = ", ".join([f"{c} {carried[c]}" for c in carry] + ["score double"]
                       + [f"g{j} byte" for j in range(len(features))])
    return joined.mapInArrow(fn, schema)


@dataclass
class _SparkComparison:
    """Candidates (persisted, scored) and the block's u for one source pair."""

    a: _Side
    b: _Side
    scored: DataFrame  # ia, ib, score, g0.. (persisted)
    patterns: np.ndarray
    counts: np.ndarray
    u: list[np.ndarray]
    n_pairs: float
    stats: dict[str, Any]
    dedup: bool
    cached: list[Any] = field(default_factory=list)

    @property
    def n_candidates(self) -> int:
        return int(self.counts.sum())


_CANDIDATE, _RANDOM, _HOUSEHOLD = 0, 1, 2


def _compare_spark(spark: SparkSession, A: _Side, B: _Side, s: LinkSettings, features: list[Feature],
                   model: FellegiSunter, *, dedup: bool = False) -> _SparkComparison:
    """Candidates, comparison vectors and u for one source pair (the embedded ``_compare``).

    The candidate pairs, the random pairs for ``u`` and the address-token pairs for the
    household ``u`` are compared in *one* Spark pass (tagged, persisted) and summarised by one
    ``groupBy`` over (tag, levels): a few jobs per source pair, whatever its size.
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    stats: dict[str, Any] = {"n_a": A.n, "n_b": B.n}
    t0 = time.perf_counter()
    n_pairs = A.n * (A.n - 1) / 2 if dedup else float(A.n) * B.n
    blocking = _spark_blocking(s)
    stats["blocking"] = blocking
    if not A.meta.clk_bits and blocking == "lsh":
        raise ConfigError("the schema has no CLK; use blocking='tokens' or add clk fields to the schema")
    household = [j for j, f in enumerate(features) if f.kind == "household"]
    hh = A.meta.household_token
    block_tokens = s.token_blocking or blocking == "tokens"
    tokens = [t for t in A.meta.tokens if block_tokens or (household and t == hh)]
    parts = []
    sets = []
    cached: list[Any] = []
    if blocking == "lsh":
        lsh = _lsh_spark(A, B, s, dedup=dedup)
        stats["n_lsh_pairs"] = lsh.n_colliding
        stats["lsh_bits_per_band"] = lsh.bits_per_band
        sets.append(lsh.pairs)
        cached.append(lsh.cached)
    if tokens:
        joined = _token_pairs_spark(A, B, tokens, dedup=dedup)
        if block_tokens:
            sets.append(joined.select("ia", "ib"))
        if household:
            same_address = joined.where(F.col("k") == tokens.index(str(hh))).select("ia", "ib")
            if dedup:
                same_address = same_address.where(F.col("ia") < F.col("ib"))
            parts.append(same_address.withColumn("_tag", F.lit(_HOUSEHOLD).cast("byte")))
    if sets:
        cand = functools.reduce(lambda x, y: x.unionByName(y), sets).distinct()
        if dedup:
            cand = cand.where(F.col("ia") < F.col("ib"))
        parts.append(cand.withColumn("_tag", F.lit(_CANDIDATE).cast("byte")))
    # u from random pairs: the same draws as the embedded engine's _compare
    ra, rb = random_pairs(A.n, B.n, s, dedup=dedup)
    if len(ra):
        random_df = spark.createDataFrame(pd.DataFrame({"ia": ra.astype(np.int64), "ib": rb.astype(np.int64)}),
                                             "ia long, ib long")
        parts.append(random_df.withColumn("_tag", F.lit(_RANDOM).cast("byte")))
    if not parts:
        parts.append(spark.createDataFrame([], "ia long, ib long, _tag byte"))
    everything = functools.reduce(lambda x, y: x.unionByName(y), parts)
    scored_all = _compare_pairs(everything, A, B, features, s.levels, carry=("_tag", "ia", "ib"))
    scored_all = scored_all.persist(StorageLevel.MEMORY_AND_DISK)
    gcols = [f"g{j}" for j in range(len(features))]
    counts = scored_all.groupBy(["_tag"] + gcols).count().toPandas()
    counts = counts.sort_values(["_tag"] + gcols, kind="stable").reset_index(drop=True)
    t1 = time.perf_counter()

    def tagged(tag: int) -> tuple[np.ndarray, np.ndarray]:
        rows = counts[counts["_tag"] == tag]
        return rows[gcols].to_numpy(np.int8).reshape(len(rows), len(gcols)), rows["count"].to_numpy(np.int64)

    patterns, pattern_counts = tagged(_CANDIDATE)
    stats["n_candidates"] = int(pattern_counts.sum())
    if len(ra) == 0:
        u = [np.full(f.n_levels, 1.0 / f.n_levels) for f in features]
    else:
        rp, rc = tagged(_RANDOM)
        # at most u_sample rows (the random pairs, not the candidates): the embedded estimator as is
        u = model.estimate_u_random(np.repeat(rp, rc, axis=0))
    for j in household:
        hp, hc = tagged(_HOUSEHOLD)
        u[j] = _household_u_spark(A, B, u[j], max(n_pairs, 1.0), hp[:, j].astype(np.int64), hc, dedup=dedup)
    scored = scored_all.where(F.col("_tag") == _CANDIDATE).drop("_tag")
    # Spark evaluates lazily: "candidates" covers blocking and the comparison of candidates,
    # random and same-address pairs (one pass); "compare" the u estimates (with the count of
    # same-address pairs, a Spark job)
    stats["seconds"] = {"candidates": t1 - t0, "compare": time.perf_counter() - t1}
    return _SparkComparison(A, B, scored, patterns, pattern_counts, u, max(n_pairs, 1.0), stats, dedup,
                            cached + [scored_all])


def _household_u_spark(A: _Side, B: _Side, u_random: np.ndarray, n_pairs: float, levels: np.ndarray,
                       level_counts: np.ndarray, *, dedup: bool) -> np.ndarray:
    """:func:`pplink.linkage.pipeline._household_u` from Spark aggregates.

    ``levels``/``level_counts``: the household feature's levels among the address-token pairs
    (the same join the embedded engine makes) and how often each occurs.
    """
    from pyspark.sql import functions as F

    t = A.meta.household_token
    assert t is not None
    col = f"tok_{t}"
    counts_a = A.df.where(F.col(col).isNotNull()).groupBy(col).agg(F.count(F.lit(1)).alias("ca"))
    if dedup:
        n_same = counts_a.agg(F.sum(F.col("ca") * (F.col("ca") - 1) / 2)).first()[0]
    else:
        counts_b = B.df.where(F.col(col).isNotNull()).groupBy(col).agg(F.count(F.lit(1)).alias("cb"))
        n_same = counts_a.join(counts_b, col).agg(F.sum(F.col("ca") * F.col("cb"))).first()[0]
    return household_u(u_random, float(n_same or 0) / n_pairs, levels, level_counts)


# ----------------------------------------------------------------------- decision


def _pattern_table(spark: SparkSession, patterns: np.ndarray, probability: np.ndarray, weight: np.ndarray) -> DataFrame:
    n_features = patterns.shape[1]
    frame = pd.DataFrame({f"g{j}": patterns[:, j].astype(np.int8) for j in range(n_features)})
    frame["probability"] = probability
    frame["match_weight"] = weight
    schema = ", ".join([f"g{j} byte" for j in range(n_features)] + ["probability double", "match_weight double"])
    return spark.createDataFrame(frame, schema)


@dataclass
class _Decision:
    links: pd.DataFrame
    accepted: pd.DataFrame  # ia, ib, a_id, b_id, score, probability, match_weight (kept links)
    candidates: DataFrame
    choice: ThresholdChoice | None
    threshold: float


def _decide_spark(spark: SparkSession, c: _SparkComparison, model: FellegiSunter, lam: float,
                  s: LinkSettings) -> _Decision:
    """Probabilities, threshold and solver for one comparison (mirrors the embedded ``_decide``)."""
    from pyspark.sql import functions as F

    model.u_, model.lambda_ = c.u, lam
    n_features = c.patterns.shape[1]
    gcols = [f"g{j}" for j in range(n_features)]
    if c.n_candidates:
        probability = model.probability(c.patterns)
        weight = model.match_weights(c.patterns)
    else:
        probability = weight = np.zeros(0)
    choice: ThresholdChoice | None = None
    if s.match_threshold is not None:
        threshold = s.match_threshold
    elif c.n_candidates:
        # one probability per pattern with its count: the same choice as over every pair
        choice = choose_threshold(probability, counts=c.counts)
        threshold = max(choice.threshold, s.min_match_probability)  # the embedded engine's floor
    else:
        threshold = 1.0
    table = F.broadcast(_pattern_table(spark, c.patterns, probability, weight))
    scored = c.scored.join(table, gcols)
    ids_a = c.a.df.select(F.col("_pos").alias("ia"), F.col("record_id").alias("a_id"))
    ids_b = c.b.df.select(F.col("_pos").alias("ib"), F.col("record_id").alias("b_id"))
    above = (scored.where(F.col("probability") >= F.lit(float(threshold)))
             .select("ia", "ib", "score", "probability", "match_weight")
             .join(ids_a, "ia").join(ids_b, "ib")
             .toPandas())
    above = above.sort_values(["ia", "ib"], kind="stable").reset_index(drop=True)
    keep = np.zeros(len(above), dtype=bool)
    if len(above):
        w = above["match_weight"].to_numpy(np.float64)
        sc = above["score"].to_numpy(np.float64)
        # the embedded engine's ranking: evidence, then CLK similarity to break ties
        rank = w - w.min() + 1.0 + 1e-3 * sc
        keep = solve(above["ia"].to_numpy(np.int64), above["ib"].to_numpy(np.int64), rank, method=s.solver)
    accepted = above[keep].reset_index(drop=True)
    above_t = probability >= threshold
    p_total = float(np.dot(probability, c.counts)) if c.n_candidates else 0.0
    p_above = float(np.dot(probability[above_t], c.counts[above_t])) if c.n_candidates else 0.0
    n_above = int(c.counts[above_t].sum()) if c.n_candidates else 0
    c.stats.update(
        n_links=int(len(accepted)),
        match_threshold=float(threshold),
        estimated_matches=float(lam * c.n_pairs),
        # the model's own estimates at the threshold used (before the 1:1 step); summed per
        # pattern, so they can differ from the embedded engine's in the last digits
        estimated_precision=p_above / n_above if n_above else 1.0,
        estimated_recall=p_above / p_total if p_total > 0 else 1.0,
        u=[[float(x) for x in arr] for arr in c.u],
    )
    links = pd.DataFrame(
        {
            "a_id": accepted["a_id"].astype(str).to_numpy(dtype=object),
            "b_id": accepted["b_id"].astype(str).to_numpy(dtype=object),
            "score": accepted["score"].to_numpy(np.float64),
            "probability": accepted["probability"].to_numpy(np.float64),
            "match_weight": accepted["match_weight"].to_numpy(np.float64),
        },
        columns=LINK_COLUMNS,
    )
    links = links.sort_values(["a_id", "b_id"], kind="stable").reset_index(drop=True)
    flags = spark.createDataFrame(
        pd.DataFrame({"ia": accepted["ia"].to_numpy(np.int64), "ib": accepted["ib"].to_numpy(np.int64),
                      "accepted": np.ones(len(accepted), dtype=bool)}),
        "ia long, ib long, accepted boolean",
    )
    candidates = (scored.join(flags, ["ia", "ib"], "left")
                  .join(ids_a, "ia").join(ids_b, "ib")
                  .select("a_id", "b_id", "ia", "ib", "score", "probability", "match_weight",
                          F.coalesce(F.col("accepted"), F.lit(False)).alias("accepted")))
    return _Decision(links, accepted, candidates, choice, float(threshold))


# ------------------------------------------------------------------------ results


@dataclass
class SparkLinkResult:
    """What :func:`link_spark` returns; like :class:`pplink.linkage.pipeline.LinkResult`.

    ``links`` is a pandas DataFrame (``a_id, b_id, score, probability, match_weight``; at most
    one row per record, so it fits the driver). ``candidates`` is a *Spark* DataFrame of every
    scored candidate pair (``a_id, b_id, ia, ib, score, probability, match_weight,
    accepted``): it can be far larger than memory; write it with Spark or
    :func:`write_via_driver`. Call :meth:`unpersist` when done to free the cache.

    Example (needs a Spark session, so not run as a doctest):
        ```python
        result = link_spark(spark, "wmo.parquet", "commercial.parquet")
        result.candidates.where("accepted").count() == len(result.links)
        # -> True
        result.unpersist()
        ```
    """

    links: pd.DataFrame
    candidates: DataFrame
    model: FellegiSunter
    threshold: ThresholdChoice | None
    match_threshold: float
    settings: LinkSettings
    stats: dict[str, Any] = field(default_factory=dict)
    _cached: list[Any] = field(default_factory=list, repr=False)

    @property
    def named_candidates(self) -> DataFrame:
        """The candidates with record ids (the same Spark DataFrame as ``candidates``)."""
        return self.candidates

    def unpersist(self) -> None:
        """Release the cached inputs and scored candidates (``candidates`` stays usable, recomputed)."""
        for df in self._cached:
            df.unpersist()


@dataclass
class SparkClusterResult:
    """What :func:`link_many_spark` returns; like :class:`pplink.linkage.pipeline.ClusterResult`.

    ``clusters`` and ``links`` are pandas DataFrames (one row per record / accepted link);
    ``candidates`` is a Spark DataFrame (``source_a, source_b, a_id, b_id, score, probability,
    match_weight, accepted``).

    Example (needs a Spark session, so not run as a doctest):
        ```python
        result = link_many_spark(spark, ["wmo.parquet", "jeugd.parquet"])
        sorted(result.pairs)
        # -> [('wmo', 'jeugd')]
        ```
    """

    clusters: pd.DataFrame
    links: pd.DataFrame
    model: FellegiSunter
    pairs: dict[tuple[str, str], dict[str, Any]]
    settings: LinkSettings
    candidates: DataFrame
    _cached: list[Any] = field(default_factory=list, repr=False)

    def unpersist(self) -> None:
        """Release the cached inputs and scored candidates."""
        for df in self._cached:
            df.unpersist()


# ---------------------------------------------------------------------------- API


def _loaded(spark: SparkSession, inputs: Sequence[Any]) -> list[SparkSource]:
    _require_pyspark()
    return [_as_source(spark, x) for x in inputs]


def _records(spark: SparkSession, S: _Side, ids: Sequence[str]) -> EncodedDataset:
    """The records with the given ids (those that exist) as a small local dataset."""
    from pyspark.sql import functions as F

    wanted = spark.createDataFrame(pd.DataFrame({"record_id": sorted(set(ids))}), "record_id string")
    local = S.df.join(F.broadcast(wanted), "record_id").select(_encoded_columns(S.meta)).toPandas()
    table = pa.table({c: pa.array(local[c].tolist(), pa.string() if c == "record_id" else pa.binary())
                      for c in local.columns})
    return _table_to_dataset(table, S.meta, record_ids=local["record_id"].astype(str).to_numpy(dtype=object))


def _m_from_labels_spark(spark: SparkSession, A: _Side, B: _Side, labels: pd.DataFrame, features: list[Feature],
                         s: LinkSettings, fs: FellegiSunter) -> list[np.ndarray]:
    """m from a reviewed sample: the embedded ``_m_from_labels`` on the labelled records only
    (collected to the driver; a reviewed sample is small)."""
    from pplink.linkage.pipeline import _m_from_labels

    if {"a_id", "b_id"} <= set(labels.columns):
        a = _records(spark, A, labels["a_id"].astype(str).tolist())
        b = _records(spark, B, labels["b_id"].astype(str).tolist())
    else:  # let the embedded check name the missing columns
        a, b = _skeleton(A.meta), _skeleton(B.meta)
    return _m_from_labels(a, b, labels, features, s, fs)


def link_spark(
    spark: SparkSession,
    a: Any,
    b: Any,
    settings: LinkSettings | None = None,
    *,
    model: FellegiSunter | None = None,
    labels: pd.DataFrame | None = None,
    **overrides: Any,
) -> SparkLinkResult:
    """Link source ``a`` to source ``b`` on Spark; the Spark twin of :func:`pplink.linkage.pipeline.link`.

    ``a`` and ``b`` are encoded Parquet paths (what ``pplink encode`` writes), or
    :class:`SparkSource` objects (``read_encoded_spark``). Keyword overrides, ``model`` (reuse
    its ``m``) and ``labels`` (labelled-sample mode) work as in the embedded ``link``.
    ``blocking`` must be ``"lsh"``, ``"tokens"`` or ``"auto"`` (= ``"lsh"``). Raises
    :class:`~pplink.errors.IncompatibleEncodingsError` for mismatched fingerprints before any
    Spark job runs. No secret is involved.

    Example:
        >>> SPARK_BLOCKING  # what ``blocking`` may be on Spark; "auto" means "lsh"
        ('lsh', 'tokens')

    With a Spark session (not run as a doctest):
        ```python
        result = link_spark(spark, "wmo.parquet", "commercial.parquet", blocking="lsh")
        result.stats["n_lsh_pairs"], result.stats["n_candidates"]
        # -> (2339202, 162800)
        result.links.columns.tolist()
        # -> ['a_id', 'b_id', 'score', 'probability', 'match_weight']
        ```
    """
    s = _settings(settings, overrides)
    _spark_blocking(s)
    src_a, src_b = _loaded(spark, [a, b])
    check_compatible(src_a.metadata, src_b.metadata)
    features = derive_features(_skeleton(src_a.metadata), s.levels, s.features)
    fs = FellegiSunter([f.n_levels for f in features], [f.name for f in features])
    if model is not None and model.n_levels != fs.n_levels:
        raise ConfigError("the given model was fitted on other features; refit it for this schema")
    A, B = _prepare(spark, src_a), _prepare(spark, src_b)
    m_fixed = None if model is None else model.m_
    if labels is not None:  # before the comparison: a bad sample fails fast
        m_fixed = _m_from_labels_spark(spark, A, B, labels, features, s, fs)
    comparison = _compare_spark(spark, A, B, s, features, fs)
    if labels is not None:
        comparison.stats["labelled_pairs"] = int(len(labels))
    t0 = time.perf_counter()
    if comparison.n_candidates:
        # the embedded _fit: fit_fullspace([Block(patterns, u, n_pairs, counts=counts)]), on the
        # pattern counts aggregated in Spark (a _SparkComparison has the fields it reads)
        lam = _fit([comparison], fs, m_fixed=m_fixed)[0]  # type: ignore[list-item]
    else:
        fs.m_, lam = [np.full(f.n_levels, 1.0 / f.n_levels) for f in features], 1.0 / comparison.n_pairs
    t1 = time.perf_counter()
    d = _decide_spark(spark, comparison, fs, lam, s)
    comparison.stats["seconds"].update(fit=t1 - t0, decide=time.perf_counter() - t1)
    comparison.stats.update(features=[f.name for f in features], em_iterations=fs.n_iter_,
                            em_converged=fs.converged_, engine="spark")
    return SparkLinkResult(d.links, d.candidates, fs, d.choice, d.threshold, s, comparison.stats,
                           [A.df, B.df] + comparison.cached)


def link_many_spark(
    spark: SparkSession,
    sources: Sequence[Any],
    settings: LinkSettings | None = None,
    *,
    deduplicate: bool = False,
    **overrides: Any,
) -> SparkClusterResult:
    """Link N sources into entities on Spark; the twin of :func:`pplink.linkage.pipeline.link_many`.

    Every pair of sources is blocked and compared in Spark; ``m`` is fitted once for all pairs
    on the driver from the pattern counts; each pair gets its own match share, threshold and
    one-to-one solution; the accepted links are collected and merged into entities by
    :func:`~pplink.linkage.cluster.cluster_records` (at most one record per source per entity
    unless ``deduplicate``), and households are assigned as in the embedded engine (list
    authoritative sources first).

    Example (needs a Spark session, so not run as a doctest):
        ```python
        result = link_many_spark(spark, ["brp.parquet", "wmo.parquet", "jeugd.parquet"])
        result.clusters.columns.tolist()
        # -> ['source', 'record_id', 'entity_id', 'household_id']
        ```
    """
    from pyspark.sql import functions as F

    s = _settings(settings, overrides)
    _spark_blocking(s)
    srcs = _loaded(spark, sources)
    if not srcs:
        raise ConfigError("link_many needs at least one source")
    for x in srcs[1:]:
        check_compatible(srcs[0].metadata, x.metadata)
    names = [x.metadata.source for x in srcs]
    if len(set(names)) != len(names):
        names = [f"{n}#{i}" if names.count(n) > 1 else n for i, n in enumerate(names)]
    features = derive_features(_skeleton(srcs[0].metadata), s.levels, s.features)
    fs = FellegiSunter([f.n_levels for f in features], [f.name for f in features])
    sides = [_prepare(spark, x) for x in srcs]
    keys: list[tuple[int, int]] = [(i, j) for i in range(len(sides)) for j in range(i + 1, len(sides))]
    if deduplicate:
        keys += [(i, i) for i in range(len(sides))]
    comparisons = [_compare_spark(spark, sides[i], sides[j], s, features, fs, dedup=i == j) for i, j in keys]
    with_candidates = [c for c in comparisons if c.n_candidates]
    lambdas = iter(_fit(with_candidates, fs, m_fixed=None) if with_candidates else [])  # type: ignore[arg-type]
    if not with_candidates:
        fs.m_ = [np.full(f.n_levels, 1.0 / f.n_levels) for f in features]
    edges = []
    link_frames = []
    cand_frames = []
    pair_stats: dict[tuple[str, str], dict[str, Any]] = {}
    for (i, j), c in zip(keys, comparisons, strict=True):
        lam = next(lambdas) if c.n_candidates else 1.0 / c.n_pairs
        d = _decide_spark(spark, c, fs, lam, s)
        c.stats["engine"] = "spark"
        pair_stats[(names[i], names[j])] = c.stats
        acc = d.accepted
        edges.append((i, j, acc["ia"].to_numpy(np.int64), acc["ib"].to_numpy(np.int64),
                      acc["match_weight"].to_numpy(np.float64) + 1e-3 * acc["score"].to_numpy(np.float64)))
        link_frames.append(d.links.assign(source_a=names[i], source_b=names[j]))
        cand_frames.append(d.candidates.drop("ia", "ib")
                           .withColumn("source_a", F.lit(names[i])).withColumn("source_b", F.lit(names[j])))
    clusters = cluster_records([x.n for x in sides], edges, allow_same_source=deduplicate)
    hh = srcs[0].metadata.household_token
    record_ids, tokens, present = [], [], []
    for x in sides:
        cols = ["_pos", "record_id"] + ([f"tok_{hh}"] if hh is not None else [])
        local = x.df.select(cols).toPandas().sort_values("_pos")
        record_ids.append(local["record_id"].astype(str).to_numpy(dtype=object))
        if hh is not None:
            t, p = _binary_matrix(pa.array(local[f"tok_{hh}"].tolist(), pa.binary()), _TOKEN_BYTES, np.uint8)
            tokens.append(t)
            present.append(p)
    frame = clusters.to_frame(names, record_ids)
    if hh is not None:
        frame["household_id"] = entity_households(clusters.entity_id, np.concatenate(tokens), np.concatenate(present))
    all_links = pd.concat(link_frames, ignore_index=True) if link_frames else pd.DataFrame(columns=LINK_COLUMNS)
    fs.u_, fs.lambda_ = (comparisons[0].u, 0.5) if comparisons else (fs.m_, 0.5)
    if cand_frames:
        all_cands = functools.reduce(lambda x, y: x.unionByName(y), cand_frames)
    else:
        all_cands = spark.createDataFrame([], "a_id string, b_id string, score double, probability double, "
                                              "match_weight double, accepted boolean, source_a string, source_b string")
    cached = [x.df for x in sides] + [df for c in comparisons for df in c.cached]
    return SparkClusterResult(frame, all_links, fs, pair_stats, s, all_cands, cached)


# ------------------------------------------------------------------ writing results


def _iter_arrow(df: DataFrame) -> Iterator[pa.Table]:
    """Stream a DataFrame to the driver as Arrow tables, one partition batch at a time."""
    for row in df.mapInArrow(_ipc_batches, "ipc binary").toLocalIterator(prefetchPartitions=True):
        yield pa.ipc.open_stream(row["ipc"]).read_all()


def write_via_driver(df: DataFrame, path: str | os.PathLike[str]) -> int:
    """Write a Spark DataFrame as *one* file through the driver: Parquet for a ``.parquet``
    path, else CSV (written by pandas, like the embedded engine's tables). Streamed partition
    by partition (bounded memory) and atomic; returns the number of rows. For outputs that
    must be single files like the embedded engine's; use ``df.write`` for very large ones.

    Example (needs a Spark session, so not run as a doctest):
        ```python
        write_via_driver(result.candidates, "candidates.parquet")
        # -> 162800
        ```
    """
    import pyarrow.parquet as pq

    from pplink.io import atomic_path

    _require_pyspark()
    n = 0
    as_parquet = str(path).lower().endswith(".parquet")
    with atomic_path(path) as tmp:
        writer = None
        try:
            for table in _iter_arrow(df):
                if as_parquet:
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
                    writer.write_table(table.cast(writer.schema))
                else:
                    table.to_pandas().to_csv(tmp, mode="a" if n else "w", header=not n, index=False)
                n += table.num_rows
            if n == 0:
                if as_parquet:
                    from pyspark.sql.pandas.types import to_arrow_schema

                    writer = writer or pq.ParquetWriter(tmp, to_arrow_schema(df.schema), compression="zstd")
                else:
                    pd.DataFrame(columns=df.columns).to_csv(tmp, index=False)
        finally:
            if writer is not None:
                writer.close()
    return n


# ------------------------------------------------------------------------ encoding


@dataclass
class SparkEncoded:
    """What :func:`encode_spark` returns.

    ``encoded`` has the encoded-file columns (``record_id, clk, bf_<field>, tok_<token>,
    attr_<name>``; binary columns are null where a value is missing); ``issues`` lists rejected
    rows and fields set to missing (``source, row, record_id, field, column, reason,
    action``; ``row`` is the 1-based row in the input DataFrame's order). Both are computed
    once and cached.

    Example (needs a Spark session, so not run as a doctest):
        ```python
        enc = encode_spark(spark, raw, "wmo.toml", secret=secret)
        enc.issues.where("action = 'rejected'").count()
        # -> 3
        ```
    """

    encoded: DataFrame
    issues: DataFrame
    metadata: EncodingMetadata

    @property
    def source(self) -> SparkSource:
        return SparkSource(self.encoded, self.metadata)


# Characters Python's str.strip() removes (a superset of Spark's trim), removed anywhere to
# partition rows by record id so that every copy of an id meets in one partition.
_ID_SPACE = r"[\p{Z}\t\n\x0B\f\r\x1C-\x1F\x85]"
_FIRST_SEEN = re.compile(r"first seen in row (\d+)")


def _encode_partition(
    batches: Iterator[pa.RecordBatch],
    *,
    mapping: Mapping,
    schema: Schema,
    secret_text: str,
    record_cols: list[tuple[str, str]],
    attr_names: list[str],
) -> Iterator[pa.RecordBatch]:
    """Standardise and encode one partition (rows sorted by input row number)."""
    from pplink.encode.encoder import Encoder
    from pplink.keys import Secret
    from pplink.mapping import standardize_frame

    frames = [b.to_pandas() for b in batches if b.num_rows]
    if not frames:
        return
    raw = pd.concat(frames, ignore_index=True)
    rows = raw.pop("_row").to_numpy(np.int64)
    raw = raw.drop(columns=["_key"])
    encoder = Encoder(schema, Secret.from_text(secret_text))
    std = standardize_frame(raw, mapping, first_row=1, seen_ids={})
    order = encoder.row_order(std.record_ids)
    enc = encoder.encode_frame(
        std.fields.iloc[order].reset_index(drop=True),
        std.record_ids[order],
        attributes=std.attributes.iloc[order].reset_index(drop=True),
        source=mapping.name,
    )
    n = enc.n_records
    cols: dict[str, pa.Array] = {"_kind": pa.array(np.zeros(n, np.int8))}
    cols["record_id"] = pa.array(enc.record_ids.astype(str), pa.string())
    if enc.clk is not None:
        cols["clk"] = _fixed_binary_column(enc.clk, None)
    for f, arr in enc.filters.items():
        cols[f"bf_{f}"] = _fixed_binary_column(arr, enc.filter_present[f])
    for t, arr in enc.tokens.items():
        cols[f"tok_{t}"] = _fixed_binary_column(arr, enc.token_present[t])
    for name in attr_names:
        values = enc.attributes[name].astype(object) if name in enc.attributes else pd.Series([None] * n)
        cols[f"attr_{name}"] = pa.array([None if pd.isna(v) else str(v) for v in values], pa.string())
    issue_types = {"issue_row": pa.int64(), "issue_record_id": pa.string(), "issue_field": pa.string(),
                   "issue_column": pa.string(), "issue_reason": pa.string(), "issue_action": pa.string()}
    for name, typ in issue_types.items():
        cols[name] = pa.nulls(n, typ)
    names = [c for c, _ in record_cols]
    yield pa.RecordBatch.from_arrays([cols[c] for c in names], names=names)

    issues = std.issues
    if len(issues):
        k = len(issues)
        rel = issues["row"].to_numpy(np.int64)
        reasons = [
            _FIRST_SEEN.sub(lambda m: f"first seen in row {rows[int(m.group(1)) - 1]}", str(r)) for r in issues["reason"]
        ]
        icols: dict[str, pa.Array] = {"_kind": pa.array(np.ones(k, np.int8))}
        for c, typ in record_cols:
            if not c.startswith("issue_") and c != "_kind":
                icols[c] = pa.nulls(k, pa.string() if typ == "string" else pa.binary())
        icols["issue_row"] = pa.array(rows[rel - 1], pa.int64())
        icols["issue_record_id"] = pa.array([None if pd.isna(v) else str(v) for v in issues["record_id"]], pa.string())
        icols["issue_field"] = pa.array([None if pd.isna(v) else str(v) for v in issues["field"]], pa.string())
        icols["issue_column"] = pa.array([None if pd.isna(v) else str(v) for v in issues["column"]], pa.string())
        icols["issue_reason"] = pa.array(reasons, pa.string())
        icols["issue_action"] = pa.array(issues["action"].astype(str).tolist(), pa.string())
        yield pa.RecordBatch.from_arrays([icols[c] for c in names], names=names)


def encode_spark(
    spark: SparkSession,
    df: DataFrame,
    mapping: Mapping | str | os.PathLike[str],
    schema: Schema | str | os.PathLike[str] | None = None,
    secret: Secret | None = None,
    *,
    num_partitions: int | None = None,
) -> SparkEncoded:
    """Standardise and encode a source DataFrame on the data holder's Spark cluster.

    ``df`` holds the raw source columns the mapping names (cast to strings); every partition is
    standardised with :func:`pplink.mapping.standardize_frame` and encoded with
    :meth:`pplink.encode.Encoder.encode_frame`, giving the same bytes per record as
    ``pplink encode`` (rows are first partitioned by record id, so duplicate ids are found
    across the whole input; the first row in the DataFrame's order wins). Within a partition
    rows are written in the encoder's keyed order; across partitions the order is not
    meaningful.

    **The secret goes to the executors.** ``Secret`` and ``Encoder`` refuse pickling, so the
    secret's text form travels inside the task closure and each task derives its own
    ``Encoder``. Run this only on a cluster that belongs to the data holder, never on the
    linkage unit's. Write the result with :func:`write_encoded_spark` and ship that file.

    Example (data holder's cluster; needs a Spark session, so not run as a doctest):
        ```python
        import pplink
        secret = pplink.load_secret("/secure/project.key")
        raw = spark.read.table("sociaal_domein.wmo_export")
        enc = encode_spark(spark, raw, "wmo.toml", secret=secret)
        write_encoded_spark(enc, "/outbox/wmo.parquet")
        # -> 94624
        ```
    """
    F = _require_pyspark()
    from pyspark import StorageLevel

    from pplink.encode import check_mapping_against_schema
    from pplink.encode.encoder import Encoder
    from pplink.mapping import Mapping as MappingType, load_mapping, standardize_frame
    from pplink.schema import Schema as SchemaType, default_schema, load_schema

    if secret is None:
        raise ConfigError("encode_spark needs the project secret (data-holder side)")
    if not isinstance(mapping, MappingType):
        mapping = load_mapping(mapping)
    if schema is None:
        schema = default_schema()
    elif not isinstance(schema, SchemaType):
        schema = load_schema(schema)
    check_mapping_against_schema(mapping, schema)
    meta = Encoder(schema, secret).metadata(mapping.name)
    # the same "missing columns" error as the embedded reader, before any job runs
    standardize_frame(pd.DataFrame({c: pd.Series(dtype=object) for c in df.columns}), mapping)
    raw = df.select([F.col(c).cast("string").alias(c) for c in mapping.columns])
    n_parts = num_partitions or int(spark.conf.get("spark.sql.shuffle.partitions"))
    # 1-based row numbers in the DataFrame's order (partition by partition)
    tagged = raw.withColumn("_pid", F.spark_partition_id()).withColumn("_mid", F.monotonically_increasing_id())
    tagged = tagged.persist(StorageLevel.MEMORY_AND_DISK)
    sizes = tagged.groupBy("_pid").count().toPandas().sort_values("_pid")
    starts = np.concatenate([[0], np.cumsum(sizes["count"].to_numpy())[:-1]]).astype(np.int64)
    offsets = spark.createDataFrame(pd.DataFrame({"_pid": sizes["_pid"].to_numpy(np.int32), "_start": starts}),
                                    "_pid int, _start long")
    numbered = (tagged.join(F.broadcast(offsets), "_pid")
                .withColumn("_row", F.col("_start") + (F.col("_mid") - F.shiftleft(F.col("_pid").cast("long"), 33)) + 1)
                .withColumn("_key", F.regexp_replace(F.col(mapping.record_id), _ID_SPACE, ""))
                .select(mapping.columns + ["_row", "_key"]))
    ordered = numbered.repartition(n_parts, "_key").sortWithinPartitions("_row")
    attr_names = list(mapping.attributes)
    record_cols: list[tuple[str, str]] = [("_kind", "byte"), ("record_id", "string")]
    if meta.clk_bits:
        record_cols.append(("clk", "binary"))
    record_cols += [(f"bf_{f}", "binary") for f in meta.field_bits]
    record_cols += [(f"tok_{t}", "binary") for t in meta.tokens]
    record_cols += [(f"attr_{a}", "string") for a in attr_names]
    record_cols += [("issue_row", "long"), ("issue_record_id", "string"), ("issue_field", "string"),
                    ("issue_column", "string"), ("issue_reason", "string"), ("issue_action", "string")]
    fn = functools.partial(_encode_partition, mapping=mapping, schema=schema, secret_text=secret.to_text(),
                           record_cols=record_cols, attr_names=attr_names)
    out_schema = ", ".join(f"`{c}` {t}" for c, t in record_cols)
    both = ordered.mapInArrow(fn, out_schema).persist(StorageLevel.MEMORY_AND_DISK)
    both.count()
    tagged.unpersist()
    encoded = both.where(F.col("_kind") == 0).select([F.col(c) for c, _ in record_cols[1:-6]])
    issues = both.where(F.col("_kind") == 1).select(
        F.lit(mapping.name).alias("source"), F.col("issue_row").alias("row"), F.col("issue_record_id").alias("record_id"),
        F.col("issue_field").alias("field"), F.col("issue_column").alias("column"),
        F.col("issue_reason").alias("reason"), F.col("issue_action").alias("action"),
    )
    return SparkEncoded(encoded, issues, meta)


def write_encoded_spark(encoded: SparkEncoded | SparkSource, path: str | os.PathLike[str]) -> int:
    """Write Spark encodings as a standard encoded Parquet file (what ``pplink encode`` writes,
    readable by ``pplink link``, :func:`pplink.io.read_encoded` and :func:`link_spark`).

    Partitions stream through the driver into :class:`pplink.io.EncodedWriter` (bounded
    memory, atomic rename). Returns the number of records written.

    Example (needs a Spark session, so not run as a doctest):
        ```python
        write_encoded_spark(encode_spark(spark, raw, "wmo.toml", secret=secret), "wmo.parquet")
        # -> 94624
        pplink.read_encoded("wmo.parquet").n_records
        # -> 94624
        ```
    """
    from pplink.io import EncodedWriter

    _require_pyspark()
    src = encoded.source if isinstance(encoded, SparkEncoded) else encoded
    meta = src.metadata
    cols = _encoded_columns(meta)
    attrs = [c for c in src.df.columns if c.startswith("attr_")]
    with EncodedWriter(path) as writer:
        wrote = False
        for table in _iter_arrow(src.df.select(cols + attrs)):
            ds = _table_to_dataset(table, meta, record_ids=np.asarray(table.column("record_id").to_pylist(), dtype=object))
            ds.attributes = pd.DataFrame({c[len("attr_"):]: table.column(c).to_pandas() for c in attrs},
                                         index=range(table.num_rows))
            writer.write(ds)
            wrote = True
        if not wrote:
            writer.write(_skeleton(meta))
    return writer.n_records
