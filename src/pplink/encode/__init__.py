"""Encoding: standardised records -> keyed tokens and hardened Bloom filters (data-holder zone).

The functions here need the project secret; nothing downstream does.

Example:
    >>> import pandas as pd, pplink
    >>> mapping = pplink.Mapping.from_dict({"version": 1,
    ...     "source": {"name": "demo", "record_id": "id"},
    ...     "fields": {"full_name": {"column": "naam", "parser": "full_name"},
    ...                "birth_date": {"column": "geb", "parser": "date", "format": "dd-mm-yyyy"}}})
    >>> raw = pd.DataFrame({"id": ["1", "2"], "naam": ["Jan van den Berg", "Piet"], "geb": ["17-05-1980", "31-02-1980"]})
    >>> result = pplink.encode(raw, mapping=mapping, secret=pplink.Secret.generate())
    >>> result.encoded.n_records, len(result.issues)
    (2, 1)
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Mapping as AbcMapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pplink.encode.encoder import Encoder
from pplink.encoded import EncodedDataset
from pplink.errors import ConfigError, InputError, SecretError
from pplink.keys import Secret
from pplink.mapping import ISSUE_COLUMNS, Mapping, standardize_frame
from pplink.schema import Schema, default_schema

__all__ = ["Encoder", "EncodeResult", "UnusedFieldWarning", "check_mapping_against_schema", "encode", "encode_records", "encode_file"]


@dataclass
class EncodeResult:
    """What :func:`encode` returns: the encodings and the issues report.

    ``issues`` has one row per rejected row (``action == "rejected"``) and per field that was set to
    missing (``action == "field_set_missing"``), with the 1-based data row number and the reason.
    Every input row is either in ``encoded`` or rejected in ``issues``.
    """

    encoded: EncodedDataset
    issues: pd.DataFrame
    n_input: int

    @property
    def rejects(self) -> pd.DataFrame:
        return self.issues[self.issues["action"] == "rejected"].reset_index(drop=True)

    @property
    def n_rejected(self) -> int:
        return int((self.issues["action"] == "rejected").sum())

    def to_pandas(self) -> pd.DataFrame:
        """The encodings as a DataFrame (see :meth:`EncodedDataset.to_pandas`)."""
        return self.encoded.to_pandas()


def encode_records(
    records: pd.DataFrame | Iterable[AbcMapping[str, str | None]],
    *,
    ids: Sequence[str],
    schema: Schema | None = None,
    secret: Secret,
    source: str = "records",
) -> EncodedDataset:
    """Encode records whose logical fields are already standardised.

    Example:
        >>> import pplink
        >>> ds = encode_records([{"bsn": "123456782"}, {"surname": "jansen"}], ids=["a", "b"],
        ...                     secret=pplink.Secret.generate())
        >>> ds.token_present["bsn"].tolist()
        [True, False]
    """
    _check_secret_and_schema(secret, schema)
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise InputError(f"ids must be a list of record ids, one per record (found {type(ids).__name__})")
    ids = list(ids)
    if isinstance(records, pd.DataFrame):
        frame = records
    else:
        if isinstance(records, (str, bytes, AbcMapping)) or not isinstance(records, Iterable):
            raise InputError(
                f"records must be a DataFrame or a list of {{field: value}} mappings (found {type(records).__name__})"
            )
        records = list(records)
        bad = next((i for i, r in enumerate(records) if not isinstance(r, AbcMapping)), None)
        if bad is not None:
            raise InputError(
                f"record {bad} is not a {{field: value}} mapping (found {type(records[bad]).__name__})"
            )
        frame = pd.DataFrame(records, dtype=object)
    if len(ids) != len(frame):
        raise InputError(f"{len(ids)} ids were given for {len(frame)} records; give exactly one id per record")
    index = pd.Index([str(i) for i in ids])
    if not index.is_unique:
        dup = index[index.duplicated()].unique()[:3]
        where = "; ".join(f"{v!r} at positions {', '.join(str(i) for i in np.flatnonzero(index == v)[:5])}" for v in dup)
        raise InputError(f"record ids must be unique; repeated: {where}")
    encoder = Encoder(schema or default_schema(), secret)
    return encoder.encode_frame(frame.reset_index(drop=True), ids, source=source)


def _check_secret_and_schema(secret: object, schema: object) -> None:
    """Arguments of the wrong type give a clear :class:`~pplink.errors.PplinkError`, not an AttributeError later."""
    if not isinstance(secret, Secret):
        raise SecretError(
            f"secret must be a pplink.Secret (found {type(secret).__name__}); load it with pplink.load_secret(path) "
            "or create one with pplink.Secret.generate()"
        )
    if schema is not None and not isinstance(schema, Schema):
        raise ConfigError(
            f"schema must be a pplink Schema or None (found {type(schema).__name__}); load one with "
            "pplink.load_schema(path)"
        )


def _chunks(source: pd.DataFrame | str | os.PathLike[str], mapping: Mapping, chunksize: int) -> Iterable[pd.DataFrame]:
    if isinstance(source, pd.DataFrame):
        for start in range(0, max(len(source), 1), chunksize):
            yield source.iloc[start : start + chunksize].reset_index(drop=True)
        return
    from pplink.io import iter_source

    yield from iter_source(source, delimiter=mapping.delimiter, encoding=mapping.encoding, chunksize=chunksize)


class UnusedFieldWarning(UserWarning):
    """A mapping produces a field the schema ignores, or the schema reads a field the mapping never fills."""


def check_mapping_against_schema(mapping: Mapping, schema: Schema) -> None:
    """Catch typos between a mapping and a schema before any row is encoded.

    Fields the mapping produces but the schema ignores, and fields the schema reads that the
    mapping never fills, give an :class:`UnusedFieldWarning`; a salt field the mapping does not
    produce is an error (salting would silently be off).
    """
    produced = set(mapping.logical_fields)
    used = set(schema.input_fields)
    salt = schema.hardening.salt_field
    if salt and salt not in produced:
        raise ConfigError(
            f"the schema salts with field {salt!r}, which mapping {mapping.name!r} does not produce; "
            "map a column to it or change hardening.salt"
        )
    ignored = sorted(produced - used)
    if ignored:
        warnings.warn(
            f"mapping {mapping.name!r} produces field(s) {', '.join(ignored)} that schema {schema.name!r} does not "
            "encode (a typo in a field name?)",
            UnusedFieldWarning,
            stacklevel=3,
        )
    unfilled = sorted(used - produced)
    if unfilled:
        warnings.warn(
            f"schema {schema.name!r} encodes field(s) {', '.join(unfilled)} that mapping {mapping.name!r} does not "
            "produce: they will be missing in every record",
            UnusedFieldWarning,
            stacklevel=3,
        )


def encode_file(
    source: pd.DataFrame | str | os.PathLike[str],
    *,
    mapping: Mapping,
    secret: Secret,
    schema: Schema | None = None,
    chunksize: int = 200_000,
    on_chunk: Callable[[EncodedDataset, pd.DataFrame], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int, pd.DataFrame]:
    """Stream a source through standardisation and encoding, chunk by chunk.

    Each encoded chunk is handed to ``on_chunk(encoded, issues)``; returns
    ``(n_input, n_encoded, issues)``. Memory is bounded by ``chunksize``.
    """
    if not isinstance(mapping, Mapping):
        raise ConfigError(
            f"mapping must be a pplink Mapping (found {type(mapping).__name__}); load one with pplink.load_mapping(path)"
        )
    _check_secret_and_schema(secret, schema)
    if isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
        raise ConfigError(f"chunksize must be a whole number >= 1 (found {chunksize!r})")
    if not isinstance(source, (pd.DataFrame, str, os.PathLike)):
        raise InputError(
            f"source must be a CSV file path or a DataFrame of strings (found {type(source).__name__})"
        )
    if not isinstance(source, pd.DataFrame):
        from pplink.mapping import check_source

        # before anything is encoded: readable as the mapping declares, with every column it reads
        check_source(source, mapping)
    schema = schema or default_schema()
    check_mapping_against_schema(mapping, schema)
    encoder = Encoder(schema, secret)
    seen: dict[str, int] = {}
    row = 1
    n_input = n_encoded = 0
    issue_parts: list[pd.DataFrame] = []
    for chunk in _chunks(source, mapping, chunksize):
        std = standardize_frame(chunk, mapping, first_row=row, seen_ids=seen)
        order = encoder.row_order(std.record_ids)
        encoded = encoder.encode_frame(
            std.fields.iloc[order].reset_index(drop=True),
            std.record_ids[order],
            attributes=std.attributes.iloc[order].reset_index(drop=True),
            source=mapping.name,
        )
        if on_chunk is not None:
            on_chunk(encoded, std.issues)
        issue_parts.append(std.issues)
        row += len(chunk)
        n_input += len(chunk)
        n_encoded += encoded.n_records
        if progress is not None:
            progress(len(chunk))
    issues = (
        pd.concat(issue_parts, ignore_index=True) if issue_parts else pd.DataFrame(columns=ISSUE_COLUMNS)
    )
    return n_input, n_encoded, issues


def encode(
    source: pd.DataFrame | str | os.PathLike[str],
    *,
    mapping: Mapping | str | os.PathLike[str],
    secret: Secret,
    schema: Schema | str | os.PathLike[str] | None = None,
    chunksize: int = 200_000,
) -> EncodeResult:
    """Standardise and encode a source (a raw DataFrame of strings, or a CSV path) in memory.

    ``mapping`` and ``schema`` may be objects or paths to TOML files; the default schema is
    ``nl-person``. For files larger than memory use ``pplink encode`` / :func:`encode_file`.
    """
    from pplink.mapping import load_mapping
    from pplink.schema import load_schema

    if not isinstance(mapping, Mapping):
        if not isinstance(mapping, (str, os.PathLike)):
            raise ConfigError(
                f"mapping must be a pplink Mapping or the path of a mapping TOML file (found {type(mapping).__name__})"
            )
        mapping = load_mapping(mapping)
    if schema is not None and not isinstance(schema, Schema):
        if not isinstance(schema, (str, os.PathLike)):
            raise ConfigError(
                f"schema must be a pplink Schema, the path of a schema TOML file or None (found {type(schema).__name__})"
            )
        schema = load_schema(schema)
    parts: list[EncodedDataset] = []
    n_input, _, issues = encode_file(
        source, mapping=mapping, secret=secret, schema=schema, chunksize=chunksize,
        on_chunk=lambda enc, _issues: parts.append(enc),
    )
    encoded = EncodedDataset.concat(parts) if parts else None
    assert encoded is not None
    return EncodeResult(encoded=encoded, issues=issues, n_input=n_input)

