"""Frequency alignment and pattern-mining attacks on per-field Bloom filters.

Both attacks use that a per-field filter is a deterministic function of the value (and of the
salt, when the schema salts): the same surname gives the same filter in every record, whatever
the key, and balancing, XOR-folding and diffusion keep that property. Only salting changes it
(the filter then depends on the pair value + salt).

**Frequency alignment** (Christen, Schnell, Vatsalan & Ranbaduge, "Efficient cryptanalysis of
Bloom filters for privacy-preserving record linkage", PAKDD 2017, first step): sort the distinct
filters of a field by how often they occur, sort the reference's distinct values (with their
salt, via the attacker's own encoding) by how often they occur, and align rank *i* with rank *i*
where that rank is *distinguishable* on both sides — its frequency differs significantly from
the ranks just above and below (a Poisson test on the count difference) — and the two relative
frequencies are compatible. Aligned filters are decoded to the aligned value.

**Pattern mining** (Christen et al. PAKDD 2017, second step, and Christen, Vidanage, Ranbaduge
& Schnell, "Pattern-mining based cryptanalysis of Bloom filters for privacy-preserving record
linkage", PAKDD 2018): the aligned pairs are used to infer which bit positions each q-gram sets
— a position belongs to q-gram *g* when it is set in the filters of (almost) every value that
contains *g*, far more often than its base rate — and the inferred positions decode the *other*
filters: each distinct filter is scored against every candidate value of the reference by a
likelihood (naive Bayes over the bit positions), and assigned to the best value when it beats
the second best by a clear margin, one filter per value. Confidently decoded filters become new
aligned pairs and the inference is repeated (bootstrapping) for a few rounds. Balanced filters
are first un-balanced: the complement half pairs up positions that are exactly opposite in every
filter, which the attacker detects without the key. XOR-folding is modelled as a noisy channel
(a bit of *g* is cancelled when the partner half is also set); diffusion defeats the inference
because every output bit mixes several input bits — which the attack then shows by decoding
nothing beyond the aligned values.

Person re-identification: every value recovered for a record (and its salt, i.e. the birth year
under ``salt = "birth_date:year"``) is evidence; a record is claimed as the reference person who
agrees with the most informative recovered values, when that evidence singles one person out
(:func:`~pplink.audit.reference.identify_persons`).

Example:
    >>> align_by_frequency(np.array([50, 20, 19, 5]), np.array([48, 22, 18, 6]), 94, 94, z=2.0)
    [(0, 0), (3, 3)]
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from pplink.audit.reference import SALT_COLUMN, Reference, attacker_encoding, available_fields, identify_persons
from pplink.audit.report import AttackResult, score_claims, score_values, true_reference_row
from pplink.encode.harden import unpack
from pplink.encoded import EncodedDataset
from pplink.schema import BloomField, Schema

__all__ = ["align_by_frequency", "frequency_attack", "pattern_attack", "FieldDecoding", "unbalance"]

_CONFLICT = "\x00conflict"


def distinct_rows(filters: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of a packed filter array: ``(unique rows, inverse, counts)``."""
    if len(filters) == 0:
        return filters[:0], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    arr = np.ascontiguousarray(filters)
    keys = arr.view(np.dtype((np.void, arr.dtype.itemsize * arr.shape[1]))).reshape(-1)
    _, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    return arr[first], inverse.reshape(-1).astype(np.int64), counts.astype(np.int64)


def _distinguishable(counts: np.ndarray, z: float) -> np.ndarray:
    """Per rank of ``counts`` (sorted descending): differs significantly from both neighbours."""
    c = counts.astype(np.float64)
    n = len(c)
    ok = np.zeros(n, dtype=bool)
    if n == 0:
        return ok
    above = np.full(n, np.inf)
    above[1:] = (c[:-1] - c[1:]) / np.sqrt(np.maximum(c[:-1] + c[1:], 1.0))
    below = np.empty(n)
    below[:-1] = (c[:-1] - c[1:]) / np.sqrt(np.maximum(c[:-1] + c[1:], 1.0))
    below[-1] = c[-1] / np.sqrt(max(c[-1], 1.0))  # next rank would have count 0
    ok = (above > z) & (below > z)
    return ok


def align_by_frequency(
    target_counts: np.ndarray, reference_counts: np.ndarray, n_target: int, n_reference: int, *, z: float = 2.0,
    min_count: int = 2,
) -> list[tuple[int, int]]:
    """Align distinct encoded values with distinct plaintext values by frequency rank.

    ``target_counts``/``reference_counts`` are the occurrence counts of each distinct filter /
    value. Returns pairs ``(target index, reference index)`` for every rank that is
    distinguishable on both sides (its count differs from the neighbouring ranks by more than
    ``z`` standard deviations of a Poisson difference), occurs at least ``min_count`` times on
    both sides, and whose relative frequencies agree within ``z`` standard deviations.
    """
    t = np.asarray(target_counts, dtype=np.int64)
    r = np.asarray(reference_counts, dtype=np.int64)
    if len(t) == 0 or len(r) == 0 or n_target == 0 or n_reference == 0:
        return []
    ot = np.argsort(-t, kind="stable")
    orr = np.argsort(-r, kind="stable")
    ts, rs = t[ot], r[orr]
    m = min(len(ts), len(rs))
    ok_t = _distinguishable(ts, z)[:m]
    ok_r = _distinguishable(rs, z)[:m]
    ft, fr = ts[:m] / n_target, rs[:m] / n_reference
    sd = np.sqrt(np.maximum(ts[:m], 1) / n_target**2 + np.maximum(rs[:m], 1) / n_reference**2)
    compatible = np.abs(ft - fr) <= z * sd + 1e-12
    frequent = (ts[:m] >= min_count) & (rs[:m] >= min_count)
    keep = np.flatnonzero(ok_t & ok_r & compatible & frequent)
    return [(int(ot[i]), int(orr[i])) for i in keep]


@dataclass
class FieldDecoding:
    """Per field: the target's distinct filters and the values decoded for them."""

    field: str
    rows: np.ndarray  # target records with a filter for this field
    inverse: np.ndarray  # per such record: its distinct-filter index
    decoded_value: np.ndarray  # per distinct filter: reference row of the decoded value, -1 = none
    n_aligned: int = 0


@dataclass
class _FieldData:
    spec: BloomField
    t_rows: np.ndarray
    t_unique: np.ndarray
    t_inverse: np.ndarray
    t_counts: np.ndarray
    a_unique_rep: np.ndarray  # per attacker distinct filter: a reference row holding that (value, salt)
    a_counts: np.ndarray
    bits: int


def _field_data(target: EncodedDataset, attacker: EncodedDataset, schema: Schema, name: str) -> _FieldData | None:
    if name not in target.filters or name not in attacker.filters:
        return None
    t_rows = np.flatnonzero(target.filter_present[name])
    a_rows = np.flatnonzero(attacker.filter_present[name])
    if len(t_rows) == 0 or len(a_rows) == 0:
        return None
    tu, tinv, tcnt = distinct_rows(target.filters[name][t_rows])
    au, ainv, acnt = distinct_rows(attacker.filters[name][a_rows])
    rep = np.full(len(au), -1, dtype=np.int64)
    # first reference row of each attacker distinct filter
    order = np.argsort(ainv, kind="stable")
    firsts = np.ones(len(order), dtype=bool)
    firsts[1:] = ainv[order][1:] != ainv[order][:-1]
    rep[ainv[order][firsts]] = a_rows[order][firsts]
    spec = next(f for f in schema.fields if f.name == name)
    bits = target.metadata.field_bits.get(name, spec.bits)
    return _FieldData(spec, t_rows, tu, tinv, tcnt, rep, acnt, bits)


def _schema_of(target: EncodedDataset) -> Schema:
    return Schema.from_dict(target.metadata.schema, source=f"metadata of {target.metadata.source!r}")


def _fields_to_attack(
    target: EncodedDataset, reference: Reference, schema: Schema, fields: Sequence[str] | None
) -> list[str]:
    available = set(available_fields(schema, reference))
    names = [f for f in target.filters if f in available]
    if fields is not None:
        names = [f for f in names if f in set(fields)]
    return names


def _decoded_columns(
    decodings: list[FieldDecoding], reference_salted: pd.DataFrame, n: int, salted: bool
) -> dict[str, np.ndarray]:
    """Per logical field (and the salt column): the value recovered for every target record."""
    out: dict[str, np.ndarray] = {}
    salt = np.full(n, None, dtype=object)
    for d in decodings:
        col = np.full(n, None, dtype=object)
        rep = d.decoded_value[d.inverse]
        ok = rep >= 0
        rows = d.rows[ok]
        col[rows] = reference_salted[d.field].to_numpy(dtype=object)[rep[ok]]
        out[d.field] = col
        if salted:
            s = reference_salted[SALT_COLUMN].to_numpy(dtype=object)[rep[ok]]
            prev = salt[rows]
            clash = pd.Series(prev, dtype=object).notna().to_numpy() & (prev != s)
            salt[rows] = np.where(clash, _CONFLICT, s)
    if salted:
        out[SALT_COLUMN] = salt
    return out


def _finish(
    attack: str,
    target: EncodedDataset,
    reference: Reference,
    schema: Schema,
    decodings: list[FieldDecoding],
    settings: dict[str, Any],
    notes: list[str],
    t0: float,
) -> AttackResult:
    ref_salted = reference.attack_frame(schema)
    salted = bool(schema.hardening.salt_field)
    decoded = _decoded_columns(decodings, ref_salted, target.n_records, salted)
    claims, _ = identify_persons(decoded, ref_salted)
    true_row = true_reference_row(target.record_ids, reference.truth)
    values = {}
    for d in decodings:
        present = np.zeros(target.n_records, dtype=bool)
        present[d.rows] = True
        values[d.field] = score_values(decoded[d.field], present, true_row,
                                       ref_salted[d.field].to_numpy(dtype=object)
                                       if reference.truth is not None else None)
        values[d.field]["distinct_filters"] = int(len(d.decoded_value))
        values[d.field]["distinct_decoded"] = int((d.decoded_value >= 0).sum())
    return score_claims(attack, claims, target.record_ids, reference.truth, settings=settings, values=values,
                        notes=notes, seconds=time.perf_counter() - t0)


def _align_field(fd: _FieldData, n_ref_present: int, z: float, min_count: int) -> np.ndarray:
    decoded = np.full(len(fd.t_unique), -1, dtype=np.int64)
    pairs = align_by_frequency(fd.t_counts, fd.a_counts, int(fd.t_counts.sum()), n_ref_present, z=z,
                               min_count=min_count)
    for ti, ai in pairs:
        decoded[ti] = fd.a_unique_rep[ai]
    return decoded


def frequency_attack(
    target: EncodedDataset,
    reference: Reference,
    *,
    fields: Sequence[str] | None = None,
    z: float = 2.0,
    min_count: int = 2,
    attacker: EncodedDataset | None = None,
    seed: int = 0,
) -> AttackResult:
    """Frequency alignment of per-field filters with the reference's values (Christen et al. 2017).

    ``fields``: the per-field filters to attack (default: every field the encoded file and the
    reference both have). ``z``: how many standard deviations apart neighbouring frequency ranks
    must be to be aligned. ``attacker``: a precomputed :func:`attacker_encoding` of the reference.
    """
    t0 = time.perf_counter()
    schema = _schema_of(target)
    names = _fields_to_attack(target, reference, schema, fields)
    notes: list[str] = []
    if attacker is None and names and reference.n:
        attacker = attacker_encoding(reference, schema, seed=seed, fields=names)
    decodings = []
    for name in names:
        fd = None if attacker is None else _field_data(target, attacker, schema, name)
        if fd is None:
            continue
        dec = _align_field(fd, int(attacker.filter_present[name].sum()), z, min_count)  # type: ignore[union-attr]
        decodings.append(FieldDecoding(name, fd.t_rows, fd.t_inverse, dec, int((dec >= 0).sum())))
    if not names:
        notes.append("no per-field filters shared by the encoded file and the reference")
    settings = {"fields": ",".join(d.field for d in decodings), "z": z, "min_count": min_count,
                "salt": schema.hardening.salt or "none"}
    return _finish("frequency", target, reference, schema, decodings, settings, notes, t0)


# ----------------------------------------------------------------------------- pattern mining


def unbalance(bits: np.ndarray) -> tuple[np.ndarray, int]:
    """Undo balancing without the key: keep one position of every complementary pair.

    A balanced filter holds every original bit twice, once as is and once complemented, at
    secret positions. Two positions that are opposite in *every* filter are such a pair; the one
    set less often is (almost surely, for sparse filters) the original bit. Constant positions
    carry no information and are dropped. Returns ``(bits, number of pairs found)``.

    Example:
        >>> import numpy as np
        >>> b = np.array([[1, 0, 0, 1, 1, 0], [0, 1, 1, 0, 0, 1], [1, 0, 1, 0, 0, 1]], dtype=np.uint8)
        >>> out, pairs = unbalance(b)
        >>> pairs, out.shape
        (3, (3, 3))
    """
    n, m = bits.shape
    if n == 0:
        return bits, 0
    col = np.ascontiguousarray(bits.T)
    packed = np.packbits(col, axis=1)
    comp = np.packbits(1 - col, axis=1)
    index: dict[bytes, list[int]] = {}
    for j in range(m):
        index.setdefault(packed[j].tobytes(), []).append(j)
    mean = bits.mean(axis=0)
    used = np.zeros(m, dtype=bool)
    pair_list: list[tuple[int, int]] = []
    for j in range(m):
        if used[j] or mean[j] in (0.0, 1.0):
            continue
        partners = [p for p in index.get(comp[j].tobytes(), []) if not used[p]]
        if not partners:
            continue
        p = partners[0]
        used[j] = used[p] = True
        pair_list.append((j, p) if mean[j] <= mean[p] else (p, j))
    pairs = len(pair_list)
    if not pairs:
        return bits[:, []], 0
    # orientation: the sparser position of a pair is taken as the original (q-grams set
    # positions, so an original is set in fewer than half of the filters unless a very common
    # q-gram sets it; such positions end up complemented, consistently for every filter)
    keep = sorted(a for a, _ in pair_list)
    return bits[:, keep], pairs


def _token_matrix(values: list[tuple[str, str]], spec: BloomField) -> tuple[sparse.csr_matrix, int]:
    """Sparse incidence matrix value x (token, salt)."""
    vocab: dict[tuple[str, str], int] = {}
    indptr = [0]
    indices: list[int] = []
    for value, salt in values:
        toks = {(t, salt) for t in spec.tokens_for(value)}
        for tok in toks:
            indices.append(vocab.setdefault(tok, len(vocab)))
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float32)
    mat = sparse.csr_matrix((data, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
                            shape=(len(values), max(len(vocab), 1)))
    return mat, len(vocab)


@dataclass
class _MiningSettings:
    k: int
    max_itemsets: int = 40
    min_share: float = 0.02
    purity: float = 0.9
    candidates: float = 3.0
    refine: int = 4
    max_depth: int = 0
    min_rows: float = 200.0


def _biclique(
    x: np.ndarray, wts: np.ndarray, p: int, q: int, s: _MiningSettings, allowed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Grow the all-ones block (rows x positions) of one q-gram from two correlated positions."""
    cols = [p, q]
    idx = np.flatnonzero((x[:, p] > 0) & (x[:, q] > 0))
    # add the position set most consistently on the current rows, up to k positions: the
    # positions of the q-gram are set on all its filters, so they win while other filters
    # (having the chosen positions by chance) thin out
    while len(cols) < s.k and len(idx):
        tot = float(wts[idx].sum())
        dens = np.dot(wts[idx], x[idx])
        dens[cols] = -1.0
        dens[~allowed] = -1.0
        c = int(np.argmax(dens))
        if dens[c] < 0.5 * tot:
            break
        cols.append(c)
        idx = idx[x[idx, c] > 0]
    pos = np.array(sorted(cols))
    for _ in range(s.refine):
        # filters with all but at most one of the positions (a position added by mistake, or a
        # q-gram with fewer distinct positions than k, then does not cut the q-gram's filters)
        n_set = x[:, pos].sum(axis=1)
        loose = np.flatnonzero(n_set >= len(pos) - 1)
        tot = float(wts[loose].sum())
        if tot <= 0:
            break
        dens = np.dot(wts[loose], x[loose]) / tot
        new_pos = np.flatnonzero((dens >= s.purity) & allowed)
        if len(new_pos) < 2 or np.array_equal(new_pos, pos):
            break
        pos = new_pos
    idx = np.flatnonzero(np.all(x[:, pos] > 0, axis=1))
    rows = np.zeros(len(x), dtype=bool)
    rows[idx] = True
    return pos, rows


def _find_itemsets(x: np.ndarray, wts: np.ndarray, s: _MiningSettings) -> list[tuple[np.ndarray, np.ndarray]]:
    """Blocks of about ``k`` positions that are all set together in a share of the filters."""
    n = float(wts.sum())
    mu = (wts @ x) / n
    co = (x.T * wts) @ x / n
    var = np.maximum(mu * (1 - mu), 1e-9)
    phi = (co - np.outer(mu, mu)) / np.sqrt(np.outer(var, var))
    np.fill_diagonal(phi, -1.0)
    const = (mu <= 0) | (mu >= 1)
    phi[const, :] = -1.0
    phi[:, const] = -1.0
    found: list[tuple[np.ndarray, np.ndarray]] = []
    lo = max(3, int(0.5 * s.k))
    allowed = ~const
    for _ in range(s.max_itemsets * 4):
        if len(found) >= s.max_itemsets:
            break
        flat = int(np.argmax(phi))
        p, q = divmod(flat, phi.shape[1])
        if phi[p, q] <= 0.1:
            break
        pos, rows = _biclique(x, wts, p, q, s, allowed)
        # whatever the outcome, do not start from pairs inside this block again
        block = np.union1d(pos, [p, q])
        phi[np.ix_(block, block)] = -1.0
        share = float(wts[rows].sum()) / n
        if not (lo <= len(pos) <= s.k + 2 and share >= s.min_share):
            continue
        if share > 0.5:
            # a q-gram in most values: its positions are set in most filters and would join
            # every other block, so they are explained away (a position belongs to another
            # q-gram too only by chance, k/m of the time)
            allowed[pos] = False
            phi[pos, :] = -1.0
            phi[:, pos] = -1.0
        # the same q-gram found again (other positions of it, or a subset of its filters):
        # keep the larger block
        dup = False
        w_rows = float(wts[rows].sum())
        for i, (pos2, rows2) in enumerate(found):
            inter = len(np.intersect1d(pos, pos2))
            w2 = float(wts[rows2].sum())
            contained = float(wts[rows & rows2].sum()) >= 0.9 * min(w_rows, w2)
            if inter >= 0.7 * min(len(pos), len(pos2)) or (contained and inter >= 3):
                dup = True
                if rows.sum() > rows2.sum():
                    found[i] = (pos, rows)
                break
        if not dup:
            found.append((pos, rows))
    return _merge_itemsets(found, wts)


def _merge_itemsets(found: list[tuple[np.ndarray, np.ndarray]], wts: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Blocks over (nearly) the same filters are one q-gram found in parts: merge them."""
    merged: list[tuple[np.ndarray, np.ndarray]] = []
    for pos, rows in sorted(found, key=lambda pr: -float(wts[pr[1]].sum())):
        for i, (pos2, rows2) in enumerate(merged):
            inter = float(wts[rows & rows2].sum())
            union = float(wts[rows | rows2].sum())
            if union > 0 and inter / union >= 0.9:
                merged[i] = (np.union1d(pos, pos2), rows & rows2)
                break
        else:
            merged.append((pos, rows))
    return merged


def _match_itemsets(
    rows_sets: list[np.ndarray], wts: np.ndarray, tok: sparse.csr_matrix, ref_counts: np.ndarray, n_cand: int,
    max_cost: float = 3.0,
) -> list[tuple[int, int, float]]:
    """Assign itemsets to q-grams by frequency and by co-occurrence with the already assigned ones.

    The share of filters two itemsets share must equal the share of reference values containing
    both of their q-grams. Itemsets are fixed one at a time, most unambiguous first (largest gap
    between the best and the second-best q-gram), each against the itemsets fixed before it; an
    itemset whose best q-gram still disagrees by more than ``max_cost`` (mean squared z-score) is
    left unassigned (e.g. a block mixing two q-grams). Returns ``(itemset, token, cost)``.
    """
    nb = len(rows_sets)
    if nb == 0:
        return []
    n_t = float(wts.sum())
    r = np.asarray(rows_sets, dtype=np.float32)  # itemsets x rows
    f_b = (r @ wts) / n_t
    c_b = (r * wts) @ r.T / n_t
    n_r = float(ref_counts.sum())
    freq = np.asarray(tok.T @ ref_counts).reshape(-1) / n_r
    cand = np.argsort(-freq)[: max(n_cand, nb)]
    tc = tok[:, cand].tocsc().astype(np.float64)
    c_g = np.asarray((tc.T @ sparse.diags(ref_counts.astype(np.float64)) @ tc).todense()) / n_r
    f_g = freq[cand]

    def z2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        var = np.maximum(a, 1e-4) * (1 - np.minimum(a, 0.99)) / n_t + np.maximum(b, 1e-4) * (1 - np.minimum(b, 0.99)) / n_r
        return (a - b) ** 2 / var

    freq_cost = z2(f_b[:, None], f_g[None, :])  # blocks x cand
    fixed: dict[int, int] = {}  # block -> cand index
    rejected: set[int] = set()
    out: list[tuple[int, int, float]] = []
    while len(fixed) + len(rejected) < nb:
        used = set(fixed.values())
        free = np.array([j for j in range(len(cand)) if j not in used])
        if len(free) == 0:
            break
        anchors = list(fixed.items())
        best_b, best_j, best_gap, best_cost = -1, -1, -np.inf, np.inf
        for b in range(nb):
            if b in fixed or b in rejected:
                continue
            cost = freq_cost[b, free].copy()
            for b2, j2 in anchors:
                cost += z2(np.full(len(free), c_b[b, b2]), c_g[free, j2])
            cost /= 1 + len(anchors)
            order = np.argsort(cost)
            gap = float(cost[order[1]] - cost[order[0]]) if len(order) > 1 else np.inf
            if cost[order[0]] > max_cost:
                gap = -1.0  # decided below: reject once nothing better is left
            if gap > best_gap:
                best_b, best_j, best_gap, best_cost = b, int(free[order[0]]), gap, float(cost[order[0]])
        if best_b < 0:
            break
        if best_cost > max_cost:
            rejected.add(best_b)
            continue
        fixed[best_b] = best_j
        out.append((best_b, int(cand[best_j]), best_cost))
    return out


def mine_qgram_positions(
    bits: np.ndarray, counts: np.ndarray, tok: sparse.csr_matrix, ref_counts: np.ndarray, settings: _MiningSettings
) -> dict[int, np.ndarray]:
    """Bit positions of frequent q-grams without any aligned value (Christen et al. PAKDD 2018).

    All positions one q-gram sets are set together in every filter whose value contains it,
    so each frequent q-gram shows up in the encoded filters as an all-ones block of about ``k``
    positions over a share of the filters equal to the q-gram's frequency (a maximal frequent
    itemset). Blocks are grown from the most correlated pair of positions and refined by
    alternating "positions set on all its filters" / "filters with all its positions". Each
    block is then assigned to the reference q-gram whose frequency, and whose co-occurrence with
    the q-grams of the other blocks, it matches (:func:`_match_itemsets`). With
    ``settings.max_depth > 0`` the filters and the reference values are then split, as in the
    paper, by an identified q-gram ("contains it" / "does not") and each part is mined again;
    on the example data that found more wrong blocks than right ones (the parts are small, and
    positional q-grams exclude each other), so it is off by default: the bootstrapped decoding
    of :func:`pattern_attack` learns the rarer q-grams more reliably. Returns
    ``{token: positions}``.
    """
    if len(bits) < 2 or tok.shape[1] == 0:
        return {}
    x_all = bits.astype(np.float32)
    w_all = counts.astype(np.float32)
    tokc = tok.tocsc()
    found: dict[int, list[np.ndarray]] = {}
    s = settings

    def node(trows: np.ndarray, vrows: np.ndarray, known: set[int], depth: int) -> None:
        if len(trows) < 2 or float(w_all[trows].sum()) < s.min_rows or len(vrows) == 0:
            return
        x, wts = x_all[trows], w_all[trows]
        sub_tok = tok[vrows].tocsc()
        if known:
            sub_tok[:, sorted(known)] = 0  # presence already fixed on this path
            sub_tok.eliminate_zeros()
        itemsets = _find_itemsets(x, wts, s)
        if not itemsets:
            return
        matches = _match_itemsets([rows for _, rows in itemsets], wts, sub_tok.tocsr(), ref_counts[vrows],
                                  int(s.candidates * len(itemsets)))
        if not matches:
            return
        for b, g, _cost in matches:
            found.setdefault(g, []).append(itemsets[b][0])
        if depth >= s.max_depth:
            return
        # split on the identified q-gram closest to half of the filters
        shares = [(abs(float(wts[itemsets[b][1]].sum()) / float(wts.sum()) - 0.5), b, g) for b, g, _ in matches]
        _, b, g = min(shares)
        has = itemsets[b][1]
        contains = np.asarray(tokc[vrows, g].todense()).reshape(-1) > 0
        node(trows[has], vrows[contains], known | {g}, depth + 1)
        node(trows[~has], vrows[~contains], known | {g}, depth + 1)

    node(np.arange(len(bits)), np.arange(tok.shape[0]), set(), 0)
    out: dict[int, np.ndarray] = {}
    for g, sets in found.items():
        # positions found in most of the parts where the q-gram was identified
        allpos, n_seen = np.unique(np.concatenate(sets), return_counts=True)
        out[g] = allpos[n_seen * 2 > len(sets)] if len(sets) > 1 else sets[0]
    return out


def _learn_positions(
    tok: sparse.csr_matrix, bits: np.ndarray, seeds_t: np.ndarray, seeds_v: np.ndarray, base: np.ndarray,
    prior: float, err: float,
) -> np.ndarray:
    """Posterior probability that q-gram ``g`` sets position ``p``, from the aligned pairs."""
    n_tok = tok.shape[1]
    m = bits.shape[1]
    if len(seeds_t) == 0:
        return np.full((n_tok, m), prior, dtype=np.float32), np.zeros(n_tok)
    vs = tok[seeds_v]  # seeds x tokens
    ng = np.asarray(vs.sum(axis=0)).reshape(-1)
    s = np.asarray((vs.T @ sparse.csr_matrix(bits[seeds_t].astype(np.float32))).todense())  # tokens x m
    miss = ng[:, None] - s
    pi = np.clip(base, 0.01, 0.99)[None, :]
    l1 = s * np.log(1 - err) + miss * np.log(err)
    l0 = s * np.log(pi) + miss * np.log(1 - pi)
    logit = np.log(prior / (1 - prior)) + l1 - l0
    w = 1.0 / (1.0 + np.exp(-np.clip(logit, -50, 50)))
    w[ng == 0] = prior
    return w.astype(np.float32), ng


def _decode_scores(
    tok: sparse.csr_matrix, w: np.ndarray, bits: np.ndarray, err: float, background: float, chunk: int = 2048
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct filter: best value, its log-likelihood margin over the runner-up."""
    log_off = tok @ np.log1p(-(1 - err) * w)  # values x m: log P(bit = 0 | value)
    log_off = np.asarray(log_off, dtype=np.float64) + np.log1p(-background)
    log_off = np.minimum(log_off, -1e-9)
    log_on = np.log(-np.expm1(log_off))
    a = (log_on - log_off).astype(np.float32)  # values x m
    b = log_off.sum(axis=1).astype(np.float32)
    n = bits.shape[0]
    best = np.full(n, -1, dtype=np.int64)
    margin = np.zeros(n, dtype=np.float64)
    top = np.zeros(n, dtype=np.float64)
    if a.shape[0] == 0:
        return best, margin, top
    x = bits.astype(np.float32)
    for s0 in range(0, n, chunk):
        sc = x[s0 : s0 + chunk] @ a.T + b[None, :]
        if sc.shape[1] == 1:
            best[s0 : s0 + chunk] = 0
            margin[s0 : s0 + chunk] = np.inf
            top[s0 : s0 + chunk] = sc[:, 0]
            continue
        part = np.argpartition(-sc, 1, axis=1)[:, :2]
        v1 = np.take_along_axis(sc, part, axis=1)
        first = np.where(v1[:, 0] >= v1[:, 1], 0, 1)
        idx = np.take_along_axis(part, first[:, None], axis=1)[:, 0]
        hi = v1.max(axis=1)
        lo = v1.min(axis=1)
        best[s0 : s0 + chunk] = idx
        margin[s0 : s0 + chunk] = hi - lo
        top[s0 : s0 + chunk] = hi
    return best, margin, top


def _one_per_value(best: np.ndarray, margin: np.ndarray, accept: np.ndarray) -> np.ndarray:
    """Keep, for every value, only the filter decoded to it with the largest margin."""
    keep = accept.copy()
    idx = np.flatnonzero(accept)
    if len(idx) == 0:
        return keep
    order = idx[np.lexsort((-margin[idx], best[idx]))]
    dup = np.zeros(len(order), dtype=bool)
    dup[1:] = best[order][1:] == best[order][:-1]
    keep[order[dup]] = False
    return keep


def pattern_attack(
    target: EncodedDataset,
    reference: Reference,
    *,
    fields: Sequence[str] | None = None,
    z: float = 2.0,
    min_count: int = 2,
    rounds: int = 10,
    accept_margin: float = 3.0,
    mine: bool = True,
    attacker: EncodedDataset | None = None,
    seed: int = 0,
) -> AttackResult:
    """Frequency alignment + bit-pattern inference + decoding (Christen et al. 2017, 2018).

    ``accept_margin``: log-likelihood margin (natural log) by which the best value must beat the
    second best for a filter to be decoded (decoded filters are the next round's aligned pairs);
    ``rounds``: at most this many bootstrapping rounds; ``mine``: also mine q-gram positions
    without aligned values (:func:`mine_qgram_positions`).
    """
    t0 = time.perf_counter()
    schema = _schema_of(target)
    h = schema.hardening
    names = _fields_to_attack(target, reference, schema, fields)
    notes: list[str] = []
    if attacker is None and names and reference.n:
        attacker = attacker_encoding(reference, schema, seed=seed, fields=names)
    ref_salted = reference.attack_frame(schema)
    if h.diffusion:
        err = 0.45
    elif h.xor_fold:
        err = 0.35
    else:
        err = 0.03
    decodings = []
    n_mined = 0
    for name in names:
        fd = None if attacker is None else _field_data(target, attacker, schema, name)
        if fd is None:
            continue
        n_ref_present = int(attacker.filter_present[name].sum())  # type: ignore[union-attr]
        aligned = _align_field(fd, n_ref_present, z, min_count)
        bits = unpack(fd.t_unique, fd.bits)
        if h.balance and not h.xor_fold and not h.diffusion:
            bits, n_pairs = unbalance(bits)
            if n_pairs:
                notes.append(f"{name}: balancing undone ({n_pairs} complementary position pairs found)")
        # candidate values: the attacker's distinct (value, salt) pairs
        reps = fd.a_unique_rep
        vals = [(str(ref_salted[name].iat[r]), str(ref_salted[SALT_COLUMN].iat[r])) for r in reps]
        tok, _ = _token_matrix(vals, fd.spec)
        rep_to_v = {int(r): i for i, r in enumerate(reps)}
        m = bits.shape[1]
        base = bits.mean(axis=0) if len(bits) else np.zeros(m)
        prior = float(np.clip(fd.spec.k / max(m, 1), 1e-3, 0.5))
        background = 0.005 if not (h.xor_fold or h.diffusion) else 0.05
        decoded_v = np.full(len(fd.t_unique), -1, dtype=np.int64)  # value index per distinct filter
        for ti in np.flatnonzero(aligned >= 0):
            decoded_v[ti] = rep_to_v[int(aligned[ti])]
        seeds = decoded_v.copy()
        mined: dict[int, np.ndarray] = {}
        if mine and len(bits):
            mined = mine_qgram_positions(bits, fd.t_counts, tok, fd.a_counts.astype(np.float64),
                                         _MiningSettings(k=fd.spec.k))
            n_mined += len(mined)
        for rnd in range(max(rounds, 1)):
            st = np.flatnonzero(seeds >= 0)
            if len(st) == 0 and not mined:
                break  # no q-gram position is known: the filters cannot be read at all
            w, ng = _learn_positions(tok, bits, st, seeds[st], base, prior, err)
            for g, pos in mined.items():
                if ng[g] < 3:
                    w[g] = 0.01
                    w[g, pos] = 0.99
            best, margin, _top = _decode_scores(tok, w, bits, err, background)
            # the first rounds rest on few inferred q-grams: demand more evidence there
            need = accept_margin * (2.0 if rnd < 2 else 1.0)
            accept = _one_per_value(best, margin, (best >= 0) & (margin >= need))
            new = np.where(accept, best, -1)
            # frequency-aligned filters keep their value: they are the attack's anchors, and
            # their values are taken by no other filter
            new[np.isin(new, decoded_v[aligned >= 0])] = -1
            new[aligned >= 0] = decoded_v[aligned >= 0]
            if np.array_equal(new, seeds) and rnd >= 2:
                break
            seeds = new
        decoded_v = seeds
        dec_rows = np.where(decoded_v >= 0, reps[np.maximum(decoded_v, 0)], -1)
        decodings.append(FieldDecoding(name, fd.t_rows, fd.t_inverse, dec_rows, int((aligned >= 0).sum())))
    if not names:
        notes.append("no per-field filters shared by the encoded file and the reference")
    settings = {"fields": ",".join(d.field for d in decodings), "z": z, "rounds": rounds,
                "accept_margin": accept_margin, "channel_error": err,
                "mined_qgrams": n_mined,
                "salt": h.salt or "none"}
    return _finish("pattern", target, reference, schema, decodings, settings, notes, t0)
