"""Comparison features: how a pair of encoded records is turned into comparison levels.

Features are derived from the encoded file's schema (no configuration needed):

* a field with its own Bloom filter: Dice similarity cut into levels (``levels``);
  exact-tokenised fields (sex, house-number addition): agree / disagree;
* a token over fields without their own filter (the BSN): agree / disagree;
* **date + year**: when the schema derives a year field from a date field (``derive =
  "birth_date:year"``), the two are compared jointly: year equal or not x date Dice level.
  A parent and a child with similar day and month but decades apart then get the strong
  disagreement of the year, and a year-only birth date that agrees gets credit;
* **household**: when the schema has a household (address) token and a surname filter, the
  address and the surname are compared *jointly* — 3 address states (different, unknown,
  same) x 4 surname states (different, similar, exact, missing). Members of one household
  share the address and often the surname; scored as independent features, the two
  agreements would be counted twice and parents would be linked to their children. As one
  feature, the model learns how often non-matching pairs at one address share a surname.
  The postcode, house number and addition are then compared only for pairs at different
  addresses (for pairs at the same address they say nothing new).

A missing value on either side gives level ``-1`` (no evidence).

Example:
    >>> import pplink
    >>> ds = pplink.encode_records([{"surname": "berg", "postcode": "7511AB", "house_number": "1"}],
    ...                            ids=["1"], secret=pplink.Secret.generate())
    >>> [f.name for f in derive_features(ds)][:3]
    ['birth_date+birth_year', 'first_name', 'particle']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pplink.encoded import EncodedDataset
from pplink.errors import ConfigError
from pplink.linkage.model import levels_from_agreement, levels_from_similarity
from pplink.linkage.similarity import dice_pairs_fields

__all__ = ["Feature", "derive_features", "comparison_vectors", "HOUSEHOLD", "DEFAULT_LEVELS"]

HOUSEHOLD = "household"
DEFAULT_LEVELS: tuple[float, ...] = (0.5, 0.7, 0.85, 1.0)
_SURNAME_CUTS = (0.7, 1.0)  # different < 0.7 <= similar < 1.0 <= exact
_ADDRESS_FIELDS = ("postcode", "house_number", "house_number_addition")


@dataclass(frozen=True)
class Feature:
    """One comparison feature: ``kind`` is ``dice``, ``exact``, ``token``, ``date`` or ``household``."""

    name: str
    kind: str
    n_levels: int
    conditional: bool = False  # compared only for pairs at different addresses


def derive_features(
    ds: EncodedDataset, levels: Sequence[float] = DEFAULT_LEVELS, only: Sequence[str] | None = None
) -> list[Feature]:
    """The features for files encoded with ``ds``'s schema (see the module docs)."""
    schema = ds.metadata.schema
    household_token = ds.metadata.household_token
    joint = household_token is not None and "surname" in ds.filters
    # a year derived from a date field that has its own filter: compare the two jointly
    years = {
        name: spec["derive"].split(":", 1)[0]
        for name, spec in schema["fields"].items()
        if spec.get("derive", "").endswith(":year") and name in ds.filters
        and spec["derive"].split(":", 1)[0] in ds.filters
    }
    out: list[Feature] = []
    for year_field, date_field in years.items():
        out.append(Feature(f"{date_field}+{year_field}", "date", 2 * (len(levels) + 1)))
    skip = set(years) | set(years.values())
    for name in ds.filters:
        if (joint and name == "surname") or name in skip:
            continue
        conditional = joint and name in _ADDRESS_FIELDS
        if schema["fields"].get(name, {}).get("tokenizer") == "exact":
            out.append(Feature(name, "exact", 2, conditional))
        else:
            out.append(Feature(name, "dice", len(levels) + 1, conditional))
    if joint:
        out.append(Feature(HOUSEHOLD, "household", 12))
    # Tokens over fields that have their own filter would count the same evidence twice.
    filtered = set(ds.filters)
    for tname, tspec in schema.get("tokens", {}).items():
        if not set(tspec["fields"]) & filtered:
            out.append(Feature(f"token:{tname}", "token", 2))
    if only is not None:
        wanted = set(only)
        unknown = wanted - {f.name for f in out}
        if unknown:
            raise ConfigError(
                f"unknown feature(s) {', '.join(sorted(unknown))}; available: {', '.join(f.name for f in out)}"
            )
        out = [f for f in out if f.name in wanted]
    return out


def address_state(a: EncodedDataset, b: EncodedDataset, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
    """Per pair: 0 = different address, 1 = unknown (a token missing), 2 = same address."""
    t = a.metadata.household_token
    assert t is not None
    known = a.token_present[t][ia] & b.token_present[t][ib]
    same = known & (a.tokens[t][ia] == b.tokens[t][ib]).all(axis=1)
    return np.where(same, 2, np.where(known, 0, 1)).astype(np.int8)


_CHUNK = 1 << 20  # pairs per chunk: bounds the per-field similarity buffers


def comparison_vectors(
    a: EncodedDataset,
    b: EncodedDataset,
    ia: np.ndarray,
    ib: np.ndarray,
    features: Sequence[Feature],
    levels: Sequence[float] = DEFAULT_LEVELS,
) -> np.ndarray:
    """``(n_pairs, n_features)`` int8 comparison levels (-1 = missing) for the given pairs.

    Pairs are processed in chunks; the Dice similarities of all per-field filters a chunk
    needs are computed in one pass over the records (fields side by side in memory).
    """
    ia = np.asarray(ia, dtype=np.int64)
    ib = np.asarray(ib, dtype=np.int64)
    gamma = np.empty((len(ia), len(features)), dtype=np.int8)
    names = _filter_fields(features)
    block_a, spans = a.filter_block(names) if names else (None, {})
    block_b = b.filter_block(names)[0] if names else None
    for start in range(0, len(ia), _CHUNK):
        ca, cb = ia[start : start + _CHUNK], ib[start : start + _CHUNK]
        sims = (
            dice_pairs_fields(block_a, block_b, ca, cb, [spans[n] for n in names])
            if names else np.zeros((len(ca), 0))
        )
        gamma[start : start + len(ca)] = _chunk_vectors(a, b, ca, cb, features, levels, dict(zip(names, sims.T)))
    return gamma


def _filter_fields(features: Sequence[Feature]) -> tuple[str, ...]:
    """The per-field filters the features compare, in first-use order."""
    names: list[str] = []
    for f in features:
        if f.kind == "token":
            continue
        if f.kind == "date":
            names += f.name.split("+", 1)
        elif f.kind == "household":
            names.append("surname")
        else:
            names.append(f.name)
    return tuple(dict.fromkeys(names))


def _chunk_vectors(a: EncodedDataset, b: EncodedDataset, ia: np.ndarray, ib: np.ndarray,
                   features: Sequence[Feature], levels: Sequence[float], sims: dict[str, np.ndarray]) -> np.ndarray:
    gamma = np.empty((len(ia), len(features)), dtype=np.int8)
    addr = address_state(a, b, ia, ib) if any(f.kind == "household" or f.conditional for f in features) else None

    def dice(name: str) -> tuple[np.ndarray, np.ndarray]:
        missing = ~(a.filter_present[name][ia] & b.filter_present[name][ib])
        return sims[name], missing

    for j, f in enumerate(features):
        if f.kind == "token":
            t = f.name.split(":", 1)[1]
            missing = ~(a.token_present[t][ia] & b.token_present[t][ib])
            equal = (a.tokens[t][ia] == b.tokens[t][ib]).all(axis=1)
            gamma[:, j] = levels_from_agreement(equal, missing)
        elif f.kind == "date":
            date_field, year_field = f.name.split("+", 1)
            sim, missing = dice(date_field)
            year_sim, year_missing = dice(year_field)
            date_level = levels_from_similarity(sim, levels).astype(np.int16)
            level = (year_sim >= 1.0).astype(np.int16) * (len(levels) + 1) + date_level
            gamma[:, j] = np.where(missing | year_missing, -1, level)
        elif f.kind == "household":
            assert addr is not None
            sim, missing = dice("surname")
            surname = np.where(missing, 3, levels_from_similarity(sim, _SURNAME_CUTS))
            level = addr.astype(np.int16) * 4 + surname
            gamma[:, j] = np.where((addr == 1) & missing, -1, level)
        else:
            sim, missing = dice(f.name)
            if f.conditional:
                assert addr is not None
                missing = missing | (addr == 2)
            if f.kind == "exact":
                gamma[:, j] = levels_from_agreement(sim >= 1.0, missing)
            else:
                gamma[:, j] = levels_from_similarity(sim, levels, missing)
    return gamma
