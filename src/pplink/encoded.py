"""The encoded dataset: what travels from a data holder to the linkage unit.

An :class:`EncodedDataset` holds record ids, packed Bloom filters, HMAC tokens, pseudonymous
attributes and the :class:`EncodingMetadata` (schema and key fingerprints). It contains no
plaintext identifiers and no key material; everything in the linkage zone works on it.

Example:
    >>> import pplink
    >>> enc = pplink.encode_records(
    ...     [{"surname": "berg", "birth_date": "1980-05-17"}], ids=["r1"],
    ...     schema=pplink.default_schema(), secret=pplink.Secret.generate())
    >>> enc.n_records, enc.clk.shape
    (1, (1, 16))
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pplink.errors import IncompatibleEncodingsError
from pplink.keys import fingerprints_equal

__all__ = ["FORMAT_VERSION", "EncodingMetadata", "EncodedDataset", "check_compatible"]

FORMAT_VERSION = 1


@dataclass(frozen=True)
class EncodingMetadata:
    """Facts about how a file was encoded; safe to share (no keys, no plaintext)."""

    source: str
    schema: dict[str, Any]
    schema_fingerprint: str
    key_fingerprint: str
    clk_bits: int
    field_bits: dict[str, int]
    tokens: tuple[str, ...]
    household_token: str | None
    pplink_version: str
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tokens"] = list(self.tokens)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EncodingMetadata:
        d = dict(d)
        d["tokens"] = tuple(d.get("tokens", ()))
        return cls(**d)


@dataclass
class EncodedDataset:
    """Encodings of one source. Arrays are aligned with ``record_ids``.

    ``filters[f]`` is a packed ``(n, words)`` uint64 array and ``filter_present[f]`` says which
    records had a value for field ``f`` (a missing value is not the same as an empty one).
    ``tokens[t]`` is ``(n, 16)`` uint8 with ``token_present[t]``.
    """

    record_ids: np.ndarray
    clk: np.ndarray | None
    filters: dict[str, np.ndarray]
    filter_present: dict[str, np.ndarray]
    tokens: dict[str, np.ndarray]
    token_present: dict[str, np.ndarray]
    metadata: EncodingMetadata
    attributes: pd.DataFrame = field(default_factory=pd.DataFrame)
    _blocks: dict[tuple[str, ...], tuple[np.ndarray, dict[str, tuple[int, int]]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def n_records(self) -> int:
        return int(len(self.record_ids))

    def filter_block(self, names: tuple[str, ...]) -> tuple[np.ndarray, dict[str, tuple[int, int]]]:
        """The per-field filters ``names`` side by side in one ``(n, words)`` uint64 array.

        Returns the array and, per field, its ``(first word, number of words)``. Comparing a
        candidate pair on all fields then reads one stretch of memory per record instead of
        one per field. Built on first use and kept (the arrays are not modified afterwards).

        Example:
            >>> import pplink
            >>> ds = pplink.encode_records([{"surname": "berg", "first_name": "jan"}], ids=["1"],
            ...                            secret=pplink.Secret.generate())
            >>> block, where = ds.filter_block(("surname", "first_name"))
            >>> first, width = where["surname"]
            >>> bool((block[:, first : first + width] == ds.filters["surname"]).all())
            True
        """
        names = tuple(names)
        if names not in self._blocks:
            where: dict[str, tuple[int, int]] = {}
            start = 0
            for name in names:
                where[name] = (start, self.filters[name].shape[1])
                start += self.filters[name].shape[1]
            block = np.empty((self.n_records, start), dtype=np.uint64)
            for name in names:
                first, width = where[name]
                block[:, first : first + width] = self.filters[name]
            self._blocks[names] = (block, where)
        return self._blocks[names]

    def to_pandas(self) -> pd.DataFrame:
        """One row per record: ``record_id``, ``clk``, ``bf_<field>``, ``tok_<token>`` (bytes or
        ``None`` when missing) and the attributes.

        Example:
            >>> import pplink
            >>> enc = pplink.encode_records([{"bsn": "123456782"}], ids=["a"],
            ...     schema=pplink.default_schema(), secret=pplink.Secret.generate())
            >>> df = enc.to_pandas()
            >>> df.loc[0, "record_id"], len(df.loc[0, "tok_bsn"]), df.loc[0, "tok_address"] is None
            ('a', 16, True)
        """
        data: dict[str, Any] = {"record_id": self.record_ids}
        if self.clk is not None:
            data["clk"] = [row.tobytes() for row in self.clk]
        for name, arr in self.filters.items():
            present = self.filter_present[name]
            data[f"bf_{name}"] = [row.tobytes() if ok else None for row, ok in zip(arr, present, strict=True)]
        for name, arr in self.tokens.items():
            present = self.token_present[name]
            data[f"tok_{name}"] = [row.tobytes() if ok else None for row, ok in zip(arr, present, strict=True)]
        df = pd.DataFrame(data)
        for col in self.attributes.columns:
            df[f"attr_{col}"] = self.attributes[col].to_numpy()
        return df

    def take(self, index: np.ndarray) -> EncodedDataset:
        """The subset of records at positions ``index``."""
        return EncodedDataset(
            record_ids=self.record_ids[index],
            clk=None if self.clk is None else self.clk[index],
            filters={k: v[index] for k, v in self.filters.items()},
            filter_present={k: v[index] for k, v in self.filter_present.items()},
            tokens={k: v[index] for k, v in self.tokens.items()},
            token_present={k: v[index] for k, v in self.token_present.items()},
            metadata=self.metadata,
            attributes=self.attributes.iloc[index].reset_index(drop=True),
        )

    @staticmethod
    def concat(parts: list[EncodedDataset]) -> EncodedDataset:
        """Concatenate chunks encoded with the same schema and key."""
        if not parts:
            raise ValueError("nothing to concatenate")
        first = parts[0]
        for p in parts[1:]:
            check_compatible(first, p)

        def cat(get: Any) -> Any:
            return np.concatenate([get(p) for p in parts])

        return EncodedDataset(
            record_ids=cat(lambda p: p.record_ids),
            clk=None if first.clk is None else cat(lambda p: p.clk),
            filters={k: cat(lambda p, k=k: p.filters[k]) for k in first.filters},
            filter_present={k: cat(lambda p, k=k: p.filter_present[k]) for k in first.filter_present},
            tokens={k: cat(lambda p, k=k: p.tokens[k]) for k in first.tokens},
            token_present={k: cat(lambda p, k=k: p.token_present[k]) for k in first.token_present},
            metadata=first.metadata,
            attributes=pd.concat([p.attributes for p in parts], ignore_index=True),
        )


def check_compatible(a: EncodedDataset | EncodingMetadata, b: EncodedDataset | EncodingMetadata) -> None:
    """Raise :class:`IncompatibleEncodingsError` unless both were made with the same schema and key.

    Fingerprints are compared in constant time.

    Example:
        >>> import pplink
        >>> s = pplink.default_schema()
        >>> a = pplink.encode_records([{"surname": "x"}], ids=["1"], schema=s, secret=pplink.Secret.generate())
        >>> b = pplink.encode_records([{"surname": "x"}], ids=["1"], schema=s, secret=pplink.Secret.generate())
        >>> check_compatible(a, b)
        Traceback (most recent call last):
        ...
        pplink.errors.IncompatibleEncodingsError: ...
    """
    ma = a.metadata if isinstance(a, EncodedDataset) else a
    mb = b.metadata if isinstance(b, EncodedDataset) else b
    if ma.format_version != mb.format_version:
        raise IncompatibleEncodingsError(
            f"sources {ma.source!r} and {mb.source!r} use encoded-file format versions "
            f"{ma.format_version} and {mb.format_version}; re-encode both with the same pplink version"
        )
    project_a, project_b = ma.schema.get("project", "default"), mb.schema.get("project", "default")
    if project_a != project_b:  # project names are public metadata; no constant-time compare needed
        raise IncompatibleEncodingsError(
            f"sources {ma.source!r} and {mb.source!r} were encoded for different projects "
            f"({project_a!r} and {project_b!r}); files of different projects can never be linked: "
            "all data holders must encode with the project's schema and secret"
        )
    if not fingerprints_equal(ma.schema_fingerprint, mb.schema_fingerprint):
        raise IncompatibleEncodingsError(
            f"sources {ma.source!r} and {mb.source!r} were encoded with different schemas "
            f"(fingerprints {ma.schema_fingerprint[:12]}... and {mb.schema_fingerprint[:12]}...); "
            "all data holders must encode with the same schema file"
        )
    if not fingerprints_equal(ma.key_fingerprint, mb.key_fingerprint):
        raise IncompatibleEncodingsError(
            f"sources {ma.source!r} and {mb.source!r} were encoded with different secrets "
            f"(key fingerprints {ma.key_fingerprint[:12]}... and {mb.key_fingerprint[:12]}...); "
            "all data holders must use the same project secret"
        )
