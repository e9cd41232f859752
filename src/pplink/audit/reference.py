"""The attacker's side of an audit: a plaintext reference population and its own encoding.

The attacks of :mod:`pplink.audit` model a linkage unit (or anyone else who obtains an encoded
file) that does **not** have the project secret but does have

* the encoded file itself, including its metadata — and so the complete schema: fields, q,
  bit lengths, ``k`` and the hardening settings (Kerckhoffs' principle: the schema is no secret);
* a plaintext *reference population* of standardised logical fields (``first_name``,
  ``surname``, ``birth_date``, ``postcode``, ...) that overlaps the encoded population, such as
  a population-register extract, a voters' list or another organisation's client file.

Because the schema is public, the attacker can encode the reference **with a key of its own**
(:func:`attacker_encoding`). That encoding is statistically the same as the target's — the same
fields, token sets, bit lengths, salting and hardening, only other hash positions — which
calibrates every frequency and similarity comparison between the two sides without any
guesswork. It is the natural first step of the attacks by Christen et al. and Vidanage et al.,
and it is what makes them independent of the key.

Example:
    >>> import pandas as pd
    >>> ref = Reference.from_frame(pd.DataFrame({"surname": ["jansen", None], "first_name": ["anna", "piet"]}))
    >>> ref.n, ref.truth is None
    (2, True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pplink.encode.encoder import Encoder
from pplink.encoded import EncodedDataset
from pplink.errors import InputError
from pplink.keys import Secret
from pplink.schema import BloomField, Schema

__all__ = [
    "Reference",
    "SALT_COLUMN",
    "attack_schema",
    "attacker_encoding",
    "available_fields",
    "identify_persons",
    "source_field",
    "EMPTY_IS_A_VALUE",
]

#: Fields where an empty string is a value ("no particle"), not a missing value (as in
#: :mod:`pplink.mapping`).
EMPTY_IS_A_VALUE = frozenset({"particle", "house_number_addition"})
#: Column of :attr:`Reference.fields` that holds each person's salt (when the schema salts).
SALT_COLUMN = "__salt__"


def _clean_column(name: str, col: pd.Series) -> np.ndarray:
    s = col.astype(object)
    missing = s.isna().to_numpy()
    text = s.where(~missing, "").astype(str).str.strip().to_numpy(dtype=object)
    empty = text == ""
    if name in EMPTY_IS_A_VALUE:
        text[missing] = None
    else:
        text[missing | empty] = None
    return text


@dataclass
class Reference:
    """A plaintext reference population held by the attacker.

    ``fields``: one row per reference person, one column per standardised logical field
    (``str`` or ``None``). ``truth``: for scoring only (the attacker never sees it) — per
    reference row, the record id of the same person in the encoded file, or ``None`` when that
    person is not in it; ``truth`` itself is ``None`` when unknown, and then only the attacks'
    *claims* can be reported, not whether they are right.
    """

    fields: pd.DataFrame
    truth: np.ndarray | None = None

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, truth: Sequence[object] | np.ndarray | str | None = None) -> Reference:
        """Build a reference from a DataFrame of standardised fields.

        ``truth`` is an array aligned with the rows, or the name of a column of ``frame``
        holding the encoded record id of the same person (empty = not in the encoded file).
        Empty strings count as missing, except for ``particle`` and ``house_number_addition``.

        Example:
            >>> import pandas as pd
            >>> r = Reference.from_frame(pd.DataFrame({"surname": ["a", "b"], "rid": ["r1", ""]}), truth="rid")
            >>> r.truth.tolist(), list(r.fields.columns)
            (['r1', None], ['surname'])
        """
        frame = frame.reset_index(drop=True)
        truth_arr: np.ndarray | None
        if isinstance(truth, str):
            if truth not in frame.columns:
                raise InputError(f"the reference has no truth column {truth!r}")
            truth_arr = _clean_column("__truth__", frame[truth])
            frame = frame.drop(columns=[truth])
        elif truth is not None:
            truth_arr = np.asarray(truth, dtype=object)
            if len(truth_arr) != len(frame):
                raise InputError(
                    f"truth must have one entry per reference row ({len(truth_arr)} entries for {len(frame)} rows)"
                )
            truth_arr = _clean_column("__truth__", pd.Series(truth_arr, dtype=object))
        else:
            truth_arr = None
        fields = pd.DataFrame(
            {str(c): _clean_column(str(c), frame[c]) for c in frame.columns}, index=range(len(frame)), dtype=object
        )
        return cls(fields=fields, truth=truth_arr)

    @property
    def n(self) -> int:
        return int(len(self.fields))

    def attack_frame(self, schema: Schema) -> pd.DataFrame:
        """``fields`` plus the schema's derived fields (e.g. ``birth_year`` from ``birth_date``)
        and the per-person salt column :data:`SALT_COLUMN`: the values the attacks recover."""
        out = self.fields.copy()
        for f in schema.fields:
            src = source_field(f)
            if src != f.name and f.name not in out.columns and src in out.columns:
                out[f.name] = [f.derive_value(v) for v in out[src]]  # type: ignore[attr-defined]
        h = schema.hardening
        sf = h.salt_field
        if sf:
            col = out[sf] if sf in out.columns else pd.Series([None] * len(out), dtype=object)
            out[SALT_COLUMN] = [h.salt_value(v) for v in col]
        else:
            out[SALT_COLUMN] = ""
        return out


def source_field(f: BloomField) -> str:
    """The logical field a schema field reads (itself, or the field it is derived from)."""
    return str(getattr(f, "source_field", f.name))


def available_fields(schema: Schema, reference: Reference) -> list[str]:
    """Schema fields whose (source) values the reference has for at least one person."""
    cols = reference.fields
    return [f.name for f in schema.fields if source_field(f) in cols.columns and cols[source_field(f)].notna().any()]


def attack_schema(schema: Schema, fields: Sequence[str]) -> Schema:
    """``schema`` restricted to the Bloom-filter fields in ``fields``, without tokens.

    Every field has its own hashing and hardening keys (derived from its name), so dropping
    fields that the attacker has no values for does not change the bits of the others; it only
    avoids encoding columns that are missing throughout.
    """
    keep = tuple(f for f in schema.fields if f.name in set(fields))
    if not keep:
        raise ValueError("none of the schema's fields is available")
    return dataclasses.replace(schema, fields=keep, tokens=())


def attacker_encoding(
    reference: Reference, schema: Schema, *, seed: int = 0, fields: Sequence[str] | None = None
) -> EncodedDataset:
    """Encode the reference with the target's public schema under a key of the attacker's own.

    ``fields`` limits the encoded fields (default: every schema field with at least one value in
    the reference). The salt field is always read (if the reference has it).
    """
    present = available_fields(schema, reference)
    if fields is not None:
        present = [f for f in present if f in set(fields)]
    sub = attack_schema(schema, present)
    material = np.random.default_rng([seed, 0x5EED]).bytes(32)
    encoder = Encoder(sub, Secret(material))
    frame = reference.fields.copy()
    sf = schema.hardening.salt_field
    if sf and sf not in frame.columns:
        frame[sf] = None
    return encoder.encode_frame(frame, [str(i) for i in range(reference.n)], source="attacker-reference")


def identify_persons(
    decoded: dict[str, np.ndarray],
    reference: pd.DataFrame,
    *,
    margin: float = 2.0,
    min_info: float | None = None,
    max_candidates: int = 250,
) -> tuple[np.ndarray, np.ndarray]:
    """Turn recovered values into person claims.

    ``decoded[c]`` is an object array over the target records: the value recovered for column
    ``c`` of ``reference`` (a logical field, or :data:`SALT_COLUMN`), or ``None``. Every reference
    person agreeing with a recovered value scores that value's information,
    ``log(n_reference / number of reference persons with that value)``; a wrong value simply
    scores nothing for the true person (decoding errors happen, and an attacker tolerates
    them). A record is claimed as the best-scoring person when that score is at least
    ``min_info`` (default ``log(n_reference)``: the recovered values single out one person in
    the reference) and beats every other person by ``margin`` (natural log). Candidates are the
    persons sharing at least one recovered value held by at most ``max_candidates`` persons.

    Returns ``(claim, best_score)``: the claimed reference row (``-1``: none) and the best score.

    Example:
        >>> import numpy as np, pandas as pd
        >>> ref = pd.DataFrame({"surname": ["smit", "smit", "bakker", "visser"] * 5,
        ...                     "first_name": [f"n{i}" for i in range(20)]})
        >>> dec = {"surname": np.array(["smit", "visser", None], dtype=object),
        ...        "first_name": np.array(["n4", "n9", "n3"], dtype=object)}
        >>> claim, score = identify_persons(dec, ref)
        >>> claim.tolist()
        [4, -1, 3]
    """
    cols = [c for c in decoded if c in reference.columns]
    n = len(next(iter(decoded.values()))) if decoded else 0
    claim = np.full(n, -1, dtype=np.int64)
    best_score = np.zeros(n, dtype=np.float64)
    n_ref = len(reference)
    if n == 0 or not cols or n_ref == 0:
        return claim, best_score
    if min_info is None:
        min_info = float(np.log(max(n_ref, 2)))
    ref_vals = {c: reference[c].to_numpy(dtype=object) for c in cols}
    dec_vals = {c: np.asarray(decoded[c], dtype=object) for c in cols}
    info: dict[str, np.ndarray] = {}
    pairs: list[pd.DataFrame] = []
    common_info = np.zeros(n, dtype=np.float64)  # what a person outside the candidates can score at most
    for c in cols:
        counts = pd.Series(ref_vals[c], dtype=object).dropna().value_counts()
        cnt = counts.reindex(pd.Series(dec_vals[c], dtype=object)).to_numpy(dtype=np.float64)
        has = pd.Series(dec_vals[c], dtype=object).notna().to_numpy() & (np.nan_to_num(cnt) > 0)
        inf = np.where(has, np.log(n_ref / np.where(has, cnt, 1.0)), 0.0)
        info[c] = inf
        rare = has & (cnt <= max_candidates)
        common_info += np.where(has & ~rare, inf, 0.0)
        if rare.any():
            left = pd.DataFrame({"rec": np.flatnonzero(rare), "v": dec_vals[c][rare]})
            right = pd.DataFrame({"ref": np.arange(n_ref), "v": ref_vals[c]}).dropna()
            pairs.append(left.merge(right, on="v")[["rec", "ref"]])
    if not pairs:
        return claim, best_score
    cand = pd.concat(pairs, ignore_index=True).drop_duplicates()
    rec = cand["rec"].to_numpy()
    ref = cand["ref"].to_numpy()
    score = np.zeros(len(cand), dtype=np.float64)
    for c in cols:
        same = pd.Series(dec_vals[c][rec], dtype=object).to_numpy() == ref_vals[c][ref]
        score += np.where(same, info[c][rec], 0.0)
    order = np.lexsort((-score, rec))
    rec, ref, score = rec[order], ref[order], score[order]
    first = np.ones(len(rec), dtype=bool)
    first[1:] = rec[1:] != rec[:-1]
    second = np.zeros(len(rec), dtype=bool)
    second[1:] = first[:-1] & ~first[1:]
    top_rec = rec[first]
    runner = dict(zip(rec[second].tolist(), score[second].tolist(), strict=True))
    for r, rr, sc in zip(top_rec.tolist(), ref[first].tolist(), score[first].tolist(), strict=True):
        other = max(runner.get(r, 0.0), common_info[r])
        best_score[r] = sc
        if sc >= min_info and sc - other >= margin:
            claim[r] = rr
    return claim, best_score


def _joined(columns: list[np.ndarray]) -> pd.Series:
    """One string key per row: the columns' values joined by a unit separator."""
    key = pd.Series(columns[0], dtype=object).astype(str)
    for col in columns[1:]:
        key = key + "\x1f" + pd.Series(col, dtype=object).astype(str)
    return key.reset_index(drop=True)
