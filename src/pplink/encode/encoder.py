"""Turn standardised records into an :class:`~pplink.encoded.EncodedDataset`.

The :class:`Encoder` lives in the data-holder zone: it holds keys derived from the secret
(one per field, filter and token type) and never exposes them.

Example:
    >>> import pplink
    >>> enc = Encoder(pplink.default_schema(), pplink.Secret.generate())
    >>> ds = enc.encode_frame(__import__("pandas").DataFrame({"surname": ["jansen", None]}), ["a", "b"])
    >>> ds.filter_present["surname"].tolist()
    [True, False]
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cached_property

import numpy as np
import pandas as pd

from pplink import __version__
from pplink.encode.bloom import TokenHasher, encode_field, words_for
from pplink.encode.harden import _diffuse, balance, diffusion_taps, xor_fold
from pplink.encode.tokens import hmac_token_array
from pplink.encoded import EncodedDataset, EncodingMetadata
from pplink.keys import Secret
from pplink.schema import BloomField, Schema

__all__ = ["Encoder"]


class Encoder:
    """Encodes records under one schema and one secret.

    Keys are derived once per purpose (HKDF): ``bloom/clk/<field>``, ``bloom/field/<field>``,
    ``token/<name>``, ``harden/...``; hashing results are cached across calls, so encoding a
    large file chunk by chunk costs the same as encoding it at once.
    """

    def __init__(self, schema: Schema, secret: Secret) -> None:
        self.schema = schema
        project = schema.project
        derive = secret.derive
        self._key_fingerprint = secret.fingerprint(project=project)
        self._clk_hashers = {
            f.name: TokenHasher(derive(f"bloom/clk/{f.name}", project=project), k=f.clk_k, bits=schema.clk_bits)
            for f in schema.clk_fields
        }
        self._field_hashers = {
            f.name: TokenHasher(derive(f"bloom/field/{f.name}", project=project), k=f.k, bits=f.bits)
            for f in schema.filter_fields
        }
        self._token_keys = {t.name: derive(f"token/{t.name}", project=project) for t in schema.tokens}
        self._harden_keys = {
            target: derive(f"harden/{target}", project=project)
            for target in ["clk"] + [f"field/{f.name}" for f in schema.filter_fields]
        }
        self._taps: dict[str, np.ndarray] = {}
        self._order_key = derive("row-order", project=project)

    def __repr__(self) -> str:
        return f"Encoder(schema={self.schema.name!r}, key=<redacted>)"

    def __reduce__(self) -> object:
        raise TypeError("Encoder objects hold derived keys and cannot be pickled; build one per process")

    def row_order(self, record_ids: Sequence[str] | np.ndarray) -> np.ndarray:
        """A keyed, deterministic permutation of the rows (sorted by a keyed hash of the record id).

        Encoded files are written in this order, so a source export sorted by name or birth
        date does not leak that order, while reruns stay byte-identical. The hash is BLAKE2b
        in keyed mode (a PRF, faster than HMAC for short messages).
        """
        key = self._order_key
        digests = [hashlib.blake2b(str(r).encode("utf-8", "surrogatepass"), key=key, digest_size=8).digest()
                   for r in record_ids]
        # compare as big-endian integers; 'S8' would drop trailing zero bytes
        return np.argsort(np.frombuffer(b"".join(digests), dtype=">u8"), kind="stable")

    @cached_property
    def _field_bits(self) -> dict[str, int]:
        h = self.schema.hardening
        return {f.name: h.output_bits(f.bits) for f in self.schema.filter_fields}

    def metadata(self, source: str) -> EncodingMetadata:
        """Metadata written with every encoded file of this encoder."""
        hh = self.schema.household_token
        return EncodingMetadata(
            source=source,
            schema=self.schema.to_dict(),
            schema_fingerprint=self.schema.fingerprint,
            key_fingerprint=self._key_fingerprint,
            clk_bits=self.schema.hardening.output_bits(self.schema.clk_bits) if self.schema.clk_fields else 0,
            field_bits=dict(self._field_bits),
            tokens=tuple(t.name for t in self.schema.tokens),
            household_token=hh.name if hh else None,
            pplink_version=__version__,
        )

    # -- hardening ---------------------------------------------------------------------
    def _harden(self, filters: np.ndarray, bits: int, target: str) -> np.ndarray:
        h = self.schema.hardening
        key = self._harden_keys[target]
        if h.balance:
            filters = balance(filters, key, bits)
            bits *= 2
        if h.xor_fold:
            filters = xor_fold(filters)
            bits //= 2
        if h.diffusion:
            out_bits = h.diffusion_bits or bits
            taps = self._taps.get(target)
            if taps is None:
                taps = self._taps[target] = diffusion_taps(key, bits, out_bits, h.diffusion)
            filters = _diffuse(np.ascontiguousarray(filters), taps, words_for(out_bits))
        return filters

    # -- encoding ----------------------------------------------------------------------
    def encode_frame(
        self,
        fields: pd.DataFrame,
        record_ids: Sequence[str] | np.ndarray,
        *,
        attributes: pd.DataFrame | None = None,
        source: str = "source",
    ) -> EncodedDataset:
        """Encode standardised logical fields (str or ``None`` per cell) row by row.

        Columns the schema needs but ``fields`` lacks count as missing for every row.
        """
        n = len(fields)
        if len(record_ids) != n:
            raise ValueError("record_ids and fields must have the same length")
        schema = self.schema
        h = schema.hardening

        cache: dict[str, np.ndarray] = {}

        def column(name: str) -> np.ndarray:
            if name not in cache:
                if name not in fields.columns:
                    cache[name] = np.full(n, None, dtype=object)
                else:
                    col = fields[name].astype(object).to_numpy()
                    cache[name] = np.where(pd.isna(col), None, col)
            return cache[name]

        def values(f: BloomField) -> np.ndarray:
            if not f.derive:
                return column(f.name)
            key = f"{f.name}<-{f.derive}"
            if key not in cache:
                cache[key] = np.array([f.derive_value(v) for v in column(f.source_field)], dtype=object)
            return cache[key]

        salts = None
        if h.salt_field:
            salt_col = column(h.salt_field)
            salts = np.array([h.salt_value(v) for v in salt_col], dtype=object)

        clk = None
        if schema.clk_fields:
            clk = np.zeros((n, words_for(schema.clk_bits)), dtype=np.uint64)
            for f in schema.clk_fields:
                encode_field(clk, values(f), f, self._clk_hashers[f.name], salts)
            clk = self._harden(clk, schema.clk_bits, "clk")

        filters: dict[str, np.ndarray] = {}
        present: dict[str, np.ndarray] = {}
        for f in schema.filter_fields:
            arr = np.zeros((n, words_for(f.bits)), dtype=np.uint64)
            present[f.name] = encode_field(arr, values(f), f, self._field_hashers[f.name], salts)
            arr = self._harden(arr, f.bits, f"field/{f.name}")
            arr[~present[f.name]] = 0  # a missing value stays all-zero even after hardening
            filters[f.name] = arr

        tokens: dict[str, np.ndarray] = {}
        token_present: dict[str, np.ndarray] = {}
        for t in schema.tokens:
            cols = [pd.Series(column(c), dtype=object) for c in t.all_fields]
            tokens[t.name], token_present[t.name] = hmac_token_array(
                self._token_keys[t.name], cols, required=len(t.fields)
            )

        attrs = attributes.reset_index(drop=True) if attributes is not None else pd.DataFrame(index=range(n))
        return EncodedDataset(
            record_ids=np.asarray(record_ids, dtype=object),
            clk=clk,
            filters=filters,
            filter_present=present,
            tokens=tokens,
            token_present=token_present,
            metadata=self.metadata(source),
            attributes=attrs,
        )

