"""Source mappings: how one source's columns become standardised logical fields.

A mapping file (TOML, one per source) names the record-id column, the columns that feed the
logical fields with their parser and options, and the pseudonymous attributes that travel
with the encodings. A new source is added by writing a mapping, not code. Reference:
``docs/reference/mapping.md``.

Example:
    >>> m = Mapping.from_dict({
    ...     "version": 1,
    ...     "source": {"name": "wmo", "record_id": "id"},
    ...     "fields": {"postcode": {"column": "pc", "parser": "postcode"},
    ...                "surname": {"column": "naam", "parser": "surname"}},
    ... })
    >>> import pandas as pd
    >>> std = standardize_frame(pd.DataFrame({"id": ["1", "2"], "pc": ["1234 ab", "0123AB"], "naam": ["Smit", "Bos"]}), m)
    >>> std.fields["postcode"].tolist()
    ['1234AB', None]
    >>> std.issues[["row", "field", "action"]].values.tolist()
    [[2, 'postcode', 'field_set_missing']]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pplink._toml import read_toml
from pplink.errors import ConfigError, InputError, StandardizationError

__all__ = ["FieldMapping", "Mapping", "Standardized", "check_source", "load_mapping", "standardize_frame", "ISSUE_COLUMNS"]

MAPPING_VERSION = 1
MAX_VALUE_CHARS = 1000
# Fields where an empty cell means "there is none" (known empty), not "unknown".
_EMPTY_IS_NONE_FIELDS = frozenset({"particle", "house_number_addition"})
ISSUE_COLUMNS = ["source", "row", "record_id", "field", "column", "reason", "action"]


def get_parser(name: str) -> Any:
    from pplink.standardize.parsers import get_parser as _get

    return _get(name)


def validate_options(spec: Any, options: dict[str, Any]) -> dict[str, Any]:
    from pplink.standardize.parsers import validate_options as _validate

    return _validate(spec, options)


_ENCODINGS = ("utf-8", "utf-8-sig", "latin-1", "iso-8859-1", "cp1252", "utf-16")


@dataclass(frozen=True)
class FieldMapping:
    """One source column feeding one or more logical fields through a parser."""

    target: str
    column: str
    parser: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def outputs(self) -> tuple[str, ...]:
        spec = get_parser(self.parser)
        return tuple(spec.outputs(self.target, **self.options))


@dataclass(frozen=True)
class Mapping:
    """A parsed source mapping. Load with :func:`load_mapping`."""

    name: str
    record_id: str
    fields: tuple[FieldMapping, ...]
    attributes: dict[str, str] = field(default_factory=dict)
    delimiter: str = ","
    encoding: str = "utf-8"
    strict: bool = False

    @property
    def columns(self) -> list[str]:
        """Every input column the mapping reads."""
        cols = [self.record_id] + [f.column for f in self.fields] + list(self.attributes.values())
        return list(dict.fromkeys(cols))

    @property
    def logical_fields(self) -> tuple[str, ...]:
        out: list[str] = []
        for f in self.fields:
            out.extend(f.outputs)
        return tuple(dict.fromkeys(out))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, origin: str = "mapping") -> Mapping:
        """Validate and build a mapping from its TOML dictionary form."""
        if not isinstance(data, dict):
            raise ConfigError(f"{origin}: a mapping is a TOML table with version, [source] and [fields.NAME]")
        data = dict(data)
        version = data.pop("version", None)
        if version != MAPPING_VERSION or isinstance(version, bool):
            raise ConfigError(f"{origin}: 'version = {MAPPING_VERSION}' is required")
        src = data.pop("source", None)
        if not isinstance(src, dict):
            raise ConfigError(f"{origin}: a [source] table with 'name' and 'record_id' is required")
        src = dict(src)
        name, record_id = src.pop("name", None), src.pop("record_id", None)
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{origin}: [source] needs 'name' (a short source name)")
        if not isinstance(record_id, str) or not record_id:
            raise ConfigError(f"{origin}: [source] needs 'record_id' (the column with the record id)")
        delimiter = src.pop("delimiter", ",")
        encoding = src.pop("encoding", "utf-8")
        strict = src.pop("strict", False)
        if src:
            raise ConfigError(f"{origin}: unknown [source] key(s) {', '.join(sorted(src))}")
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise ConfigError(f"{origin}: delimiter must be one character")
        if delimiter in ('"', "\n", "\r", "\x00"):
            raise ConfigError(f"{origin}: delimiter {delimiter!r} cannot separate fields (it is the quote, a line "
                              "break or NUL); use ',', ';', '|' or '\\t'")
        if not isinstance(encoding, str) or encoding.lower() not in _ENCODINGS:
            raise ConfigError(f"{origin}: encoding must be one of {', '.join(_ENCODINGS)}")
        if not isinstance(strict, bool):
            raise ConfigError(f"{origin}: strict must be true or false")
        raw_fields = data.pop("fields", None)
        if not isinstance(raw_fields, dict) or not raw_fields:
            raise ConfigError(f"{origin}: at least one [fields.NAME] table is required")
        fields_: list[FieldMapping] = []
        for target, spec in raw_fields.items():
            if not target.strip():
                raise ConfigError(f"{origin}: a [fields.NAME] table needs a non-empty NAME (the logical field)")
            if not isinstance(spec, dict):
                raise ConfigError(f"{origin}: [fields.{target}] must be a table")
            spec = dict(spec)
            column, parser = spec.pop("column", None), spec.pop("parser", None)
            if not isinstance(column, str) or not column:
                raise ConfigError(f"{origin}: [fields.{target}] needs 'column'")
            if not isinstance(parser, str):
                raise ConfigError(f"{origin}: [fields.{target}] needs 'parser'")
            try:
                pspec = get_parser(parser)
                spec = validate_options(pspec, spec)
            except ConfigError as exc:
                raise ConfigError(f"{origin}: [fields.{target}]: {exc}") from None
            fields_.append(FieldMapping(target=target, column=column, parser=parser, options=spec))
        attributes = data.pop("attributes", {}) or {}
        if not isinstance(attributes, dict) or not all(isinstance(v, str) and v for v in attributes.values()):
            raise ConfigError(f"{origin}: [attributes] maps output names to input column names (strings)")
        if not all(k.strip() for k in attributes):
            raise ConfigError(f"{origin}: [attributes] names must not be empty")
        if data:
            raise ConfigError(f"{origin}: unknown top-level key(s) {', '.join(sorted(data))}")
        mapping = cls(
            name=name,
            record_id=record_id,
            fields=tuple(fields_),
            attributes=dict(attributes),
            delimiter=delimiter,
            encoding=str(encoding).lower(),
            strict=strict,
        )
        producers: dict[str, list[str]] = {}
        for f in mapping.fields:
            for out in f.outputs:
                producers.setdefault(out, []).append(f.target)
        for out, targets in producers.items():
            # A field may come both from its own column and split off another one (a particle
            # column plus surnames that sometimes carry the particle inline): allowed for two
            # producers when one is the field's own column, which wins where it has a value.
            if len(targets) > 1 and not (len(targets) == 2 and out in targets):
                raise ConfigError(
                    f"{origin}: logical field {out!r} is produced by more than one table "
                    f"({', '.join(f'[fields.{t}]' for t in targets)}); keep one, or one plus the field's own column"
                )
        identifying = {f.column for f in mapping.fields}
        if mapping.record_id in identifying:
            raise ConfigError(
                f"{origin}: record_id column {mapping.record_id!r} is also mapped as an identifying field; "
                "use a pseudonymous record id (a client or dossier number), never a BSN or name"
            )
        leaked = sorted(name for name, col in mapping.attributes.items() if col in identifying)
        if leaked:
            raise ConfigError(
                f"{origin}: attribute(s) {', '.join(leaked)} name identifying columns that are mapped as fields; "
                "attributes travel unencoded and must be pseudonymous"
            )
        return mapping


def load_mapping(path: str | Path) -> Mapping:
    """Load a mapping TOML file; errors name the file and the offending key.

    Example:
        >>> load_mapping("missing.toml")
        Traceback (most recent call last):
        ...
        pplink.errors.ConfigError: mapping file missing.toml does not exist
    """
    p = Path(path)
    data = read_toml(p, "mapping file")
    return Mapping.from_dict(data, origin=f"mapping file {p}")


def check_source(path: str | Path, mapping: Mapping) -> None:
    """Check a source CSV file before encoding: readable as the mapping declares it (see
    :func:`pplink.io.read_header`) and with every column the mapping reads. Errors name the file
    and raise :class:`~pplink.errors.InputError`. The header is never echoed: in a file without
    a header line it is the first record.

    Example:
        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "s.csv")
        >>> _ = open(p, "w").write("nr,achternaam\\n1,Smit\\n")
        >>> m = Mapping.from_dict({"version": 1, "source": {"name": "s", "record_id": "id"},
        ...                        "fields": {"surname": {"column": "achternaam", "parser": "surname"}}})
        >>> check_source(p, m)
        Traceback (most recent call last):
        ...
        pplink.errors.InputError: ...s.csv: lacks column(s) 'id' named in mapping 's'; the file has 2
        columns; check the names in the mapping
    """
    from pplink.io import read_header

    header = read_header(path, delimiter=mapping.delimiter, encoding=mapping.encoding)
    missing = [c for c in mapping.columns if c not in header]
    if missing:
        hint = (
            "none of the mapping's columns were found: does the file start with a header line, "
            "and are delimiter and encoding in the mapping right?"
            if len(missing) == len(mapping.columns)
            else f"the file has {len(header)} columns; check the names in the mapping"
        )
        raise InputError(
            f"{path}: lacks column(s) {', '.join(map(repr, missing))} named in mapping {mapping.name!r}; {hint}"
        )


def _refuse_bsn_like_ids(ids: np.ndarray, mapping: Mapping) -> None:
    """Record ids travel in clear text: refuse a column that mostly holds valid BSNs."""
    sample = [str(v) for v in ids[:1000]]
    if len(sample) < 20:
        return
    from pplink.standardize import is_valid_bsn

    share = sum(len(v) in (8, 9) and v.isdigit() and is_valid_bsn(v) for v in sample) / len(sample)
    if share > 0.5:
        raise ConfigError(
            f"source {mapping.name!r}: the record id column {mapping.record_id!r} looks like BSNs "
            f"({share:.0%} pass the elfproef); record ids are not encoded, so use a pseudonymous "
            "client or dossier number instead"
        )


@dataclass
class Standardized:
    """Result of :func:`standardize_frame`.

    ``fields`` has one column per logical field (str or ``None``), aligned with the *kept* rows;
    ``record_ids`` and ``attributes`` likewise; ``issues`` lists every rejected row and every
    field set to missing, with the 1-based data row number (header excluded).
    """

    fields: pd.DataFrame
    record_ids: np.ndarray
    attributes: pd.DataFrame
    issues: pd.DataFrame
    n_input: int

    @property
    def n_rejected(self) -> int:
        return int((self.issues["action"] == "rejected").sum()) if len(self.issues) else 0


def _clean(col: pd.Series) -> np.ndarray:
    """Strip cells; empty and NaN become None."""
    s = col.astype(object)
    missing = s.isna().to_numpy()
    stripped = s.where(~missing, "").astype(str).str.strip().to_numpy(dtype=object)
    stripped[missing | (stripped == "")] = None
    return stripped


def standardize_frame(
    df: pd.DataFrame,
    mapping: Mapping,
    *,
    first_row: int = 1,
    seen_ids: dict[str, int] | None = None,
) -> Standardized:
    """Apply ``mapping`` to a raw source frame (strings); never drops a row silently.

    A row is rejected (and reported) when its record id is empty or repeats an earlier one, when
    no identifying field could be standardised, or — with ``strict = true`` — when any field
    fails. Otherwise a failing field is set to missing and reported.
    ``first_row`` numbers the first row of ``df`` (for chunked reading); ``seen_ids`` carries
    record ids across chunks.
    """
    missing = [c for c in mapping.columns if c not in df.columns]
    if missing:
        # Never echo the header: in a file without a header line it is the first record.
        hint = (
            "none of the mapping's columns were found: does the file start with a header line, "
            "and are delimiter and encoding in the mapping right?"
            if len(missing) == len(mapping.columns)
            else f"the file has {len(df.columns)} columns; check the names in the mapping"
        )
        raise ConfigError(
            f"source {mapping.name!r} lacks column(s) {', '.join(map(repr, missing))} named in its mapping; {hint}"
        )
    n = len(df)
    rows = np.arange(first_row, first_row + n)
    ids = _clean(df[mapping.record_id])
    issues: list[tuple[Any, ...]] = []
    reject = np.zeros(n, dtype=bool)
    seen = seen_ids if seen_ids is not None else {}
    for i, rid in enumerate(ids):
        if rid is not None and len(rid) > MAX_VALUE_CHARS:
            reject[i] = True
            issues.append((rows[i], None, "record_id", mapping.record_id,
                           f"record id is longer than {MAX_VALUE_CHARS} characters", "rejected"))
        elif rid is None:
            reject[i] = True
            issues.append((rows[i], None, "record_id", mapping.record_id, "record id is empty", "rejected"))
        elif rid in seen:
            reject[i] = True
            issues.append(
                (rows[i], rid, "record_id", mapping.record_id, f"duplicate record id (first seen in row {seen[rid]})", "rejected")
            )
        else:
            seen[rid] = int(rows[i])

    out: dict[str, np.ndarray] = {}
    field_failed = np.zeros(n, dtype=bool)
    for fm in mapping.fields:
        spec = get_parser(fm.parser)
        outputs = fm.outputs
        raw = _clean(df[fm.column])
        codes, uniques = pd.factorize(pd.Series(raw, dtype=object), use_na_sentinel=True)
        results: list[dict[str, str | None] | str] = []
        for value in uniques:
            if len(value) > MAX_VALUE_CHARS:
                results.append(f"value is longer than {MAX_VALUE_CHARS} characters")
                continue
            try:
                results.append(spec.func(value, fm.target, **fm.options))
            except StandardizationError as exc:
                results.append(exc.reason)
        for name in outputs:
            empty_default = "" if name in _EMPTY_IS_NONE_FIELDS else None
            col = np.empty(n, dtype=object)
            per_unique = []
            for r in results:
                if isinstance(r, str):
                    per_unique.append(None)
                else:
                    v = r.get(name)
                    per_unique.append(empty_default if v is None else v)
            lookup = np.array(per_unique + [None], dtype=object)
            # empty cell: "known none" for particle/addition columns of their own, else missing
            lookup[-1] = empty_default if fm.target == name else None
            col[:] = lookup[codes]  # code -1 picks the trailing "empty cell" entry
            if name in out:
                own, derived = (col, out[name]) if fm.target == name else (out[name], col)
                use_derived = np.array([v is None or v == "" for v in own], dtype=bool) & np.array(
                    [bool(v) for v in derived], dtype=bool
                )
                col = np.where(use_derived, derived, own)
            out[name] = col
        failed_codes = np.array([isinstance(r, str) for r in results] + [False], dtype=bool)
        failed = failed_codes[codes]
        for i in np.flatnonzero(failed):
            reason = results[codes[i]]
            action = "rejected" if mapping.strict else "field_set_missing"
            issues.append((rows[i], ids[i], fm.target, fm.column, reason, action))
        if mapping.strict:
            field_failed |= failed

    fields_df = pd.DataFrame(out, index=range(n), dtype=object)
    identifying = [c for c in fields_df.columns if c not in _EMPTY_IS_NONE_FIELDS]
    if identifying:
        nothing = fields_df[identifying].isna().all(axis=1).to_numpy()
    else:
        nothing = np.ones(n, dtype=bool)
    for i in np.flatnonzero(nothing & ~reject & ~field_failed):
        issues.append((rows[i], ids[i], None, None, "no identifying field has a usable value", "rejected"))
    reject |= nothing | field_failed
    # rejected rows must not block their record id for later rows? They keep it: a later row
    # with the same id is still a duplicate of what the source says, so it is reported too.
    keep = ~reject
    attr_values: dict[str, np.ndarray] = {}
    for name, col in mapping.attributes.items():
        values = _clean(df[col])
        too_long = np.array([v is not None and len(v) > MAX_VALUE_CHARS for v in values], dtype=bool)
        for i in np.flatnonzero(too_long & keep):
            issues.append((rows[i], ids[i], name, col, f"attribute is longer than {MAX_VALUE_CHARS} characters",
                           "field_set_missing"))
        values[too_long] = None
        attr_values[name] = values[keep]
    attrs = pd.DataFrame(attr_values, index=range(int(keep.sum())))
    _refuse_bsn_like_ids(ids[keep], mapping)
    issues_df = pd.DataFrame(issues, columns=ISSUE_COLUMNS[1:])
    issues_df.insert(0, "source", mapping.name)
    issues_df = issues_df.sort_values(["row", "action"], kind="stable").reset_index(drop=True)
    return Standardized(
        fields=fields_df.loc[keep].reset_index(drop=True),
        record_ids=ids[keep],
        attributes=attrs,
        issues=issues_df,
        n_input=n,
    )
