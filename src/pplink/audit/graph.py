"""Similarity-graph matching attack on record-level encodings (CLKs).

After Vidanage, Christen, Ranbaduge & Schnell, "A graph matching attack on privacy-preserving
record linkage" (CIKM 2020): the pairwise similarities between encoded records form a graph
whose structure mirrors the similarity graph of the same people's plaintext, so matching the
nodes of the two graphs re-identifies records — without the key, without decoding a single bit,
and whatever the encoding, as long as it preserves similarities (which linkage needs).

The attack as implemented here:

1. **Two graphs.** The encoded side: the CLKs of the encoded file. The plaintext side: the
   reference encoded by the attacker with the public schema and a key of its own
   (:func:`~pplink.audit.reference.attacker_encoding`); its Dice similarities follow the same law
   as the target's, which *calibrates* the two similarity scales (Vidanage et al. fit a
   regression between q-gram and Bloom-filter similarities for this; an attacker who knows the
   schema does better by encoding). Fields that are missing in most encoded records are left
   out of the attacker's encoding. Each node keeps its ``k`` most similar nodes (Dice).
2. **Node features** (as in the paper): the node's Hamming weight, its sorted top-``k``
   neighbour similarities and their mean/spread, its degree at similarity thresholds, and the
   same statistics averaged over its neighbours (a 2-hop view). Each feature is replaced by its
   rank within its own graph, so the two graphs are compared on the same scale even when their
   sizes and overlap differ.
3. **Seeds.** Nodes whose nearest neighbour in feature space on the other side is mutual and
   clearly closer than the second nearest (ratio test) are seed matches.
4. **Propagation** (the step that made later graph attacks, e.g. Schäfer & Armknecht, ACSAC
   2024, much stronger than pure feature matching): every node is described by its similarities
   to the seed nodes of its own graph; a true pair has (up to noise) the same similarity vector
   on both sides. Vectors are standardised per seed and compared by correlation; each encoded
   record is matched to a reference record 1:1 over its best-correlated candidates, by a linear
   assignment (:func:`scipy.optimize.linear_sum_assignment`) when both sides are small enough
   for a dense cost matrix (``dense_limit`` cells) and greedily by score otherwise. The most
   confident matches become the next round's seeds.

Every encoded record ends up with a claimed reference record (1:1); the re-identification share
is the share of encoded records whose claim is right. A graph attack needs a large overlap
between the two populations (Heng, Armknecht, Chen & Schnell, PLOS ONE 2022); the audit should be
run with the overlap an attacker could realistically reach.

Example:
    >>> import numpy as np
    >>> a = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> assign_one_to_one(a).tolist()
    [0, 1]
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from pplink.audit.reference import Reference, attacker_encoding, available_fields
from pplink.audit.report import AttackResult, score_claims, true_reference_row
from pplink.audit.frequency import unbalance
from pplink.encode.harden import pack, unpack
from pplink.encoded import EncodedDataset
from pplink.linkage.similarity import dedup_all_pairs, dice_pairs
from pplink.schema import Schema

__all__ = ["GraphSettings", "graph_attack", "graph_attacks", "node_features", "assign_one_to_one"]


@dataclass(frozen=True)
class GraphSettings:
    """Settings of :func:`graph_attack` (the defaults were chosen on the example municipality).

    ``k``: neighbours kept per node; ``seed_ratio``: nearest/second-nearest feature distance
    ratio for a seed; ``max_seeds``: feature seeds kept; ``rounds``: propagation rounds;
    ``max_anchors``: seeds used in a propagation round; ``candidates``: reference candidates per
    encoded record in the assignment; ``dense_limit``: largest cost matrix (cells) solved by
    linear assignment, greedy above; ``min_presence``: a field is encoded by the attacker only
    when at least this share of the encoded records has it. ``known_pairs``: a stronger attacker
    who already knows this many (encoded record, person) pairs — a few people it knows to be in
    the file — and uses them as seeds (drawn from the truth, so only with a truth column; those
    records are then left out of the score).
    """

    k: int = 10
    seed_ratio: float = 0.7
    max_seeds: int = 300
    rounds: int = 3
    max_anchors: int = 600
    candidates: int = 10
    min_presence: float = 0.5
    dense_limit: int = 25_000_000
    known_pairs: int = 0


def _bits(filters: np.ndarray, n_bits: int) -> np.ndarray:
    return unpack(filters, n_bits).astype(np.float32)


def node_features(filters: np.ndarray, n_bits: int, k: int) -> np.ndarray:
    """Per node: Hamming weight, sorted top-``k`` similarities, their statistics, 2-hop averages.

    Example:
        >>> import numpy as np
        >>> from pplink.linkage.similarity import pack_bits
        >>> f = pack_bits(np.random.default_rng(0).random((30, 128)) < 0.3)
        >>> node_features(f, 128, 5).shape
        (30, 13)
    """
    n = len(filters)
    weight = unpack(filters, n_bits).sum(axis=1).astype(np.float64) / max(n_bits, 1)
    topk = np.zeros((n, k), dtype=np.float64)
    if n > 1:
        filters = np.ascontiguousarray(filters)
        # neighbours below the 99th percentile of random-pair similarity are noise: skip them
        rng = np.random.default_rng(0)
        ia0 = rng.integers(0, n, 4000)
        ib0 = rng.integers(0, n, 4000)
        keep0 = ia0 != ib0
        background = dice_pairs(filters, filters, ia0[keep0], ib0[keep0]) if keep0.any() else np.zeros(1)
        floor = float(min(max(np.quantile(background, 0.99), 1e-6), 0.99)) if n > 200 else 1e-6
        ia, ib, sc = dedup_all_pairs(filters, floor, top_k=min(k, n - 1))
        rows = np.concatenate([ia, ib])
        cols = np.concatenate([ib, ia])
        sims = np.concatenate([sc, sc])
        order = np.lexsort((-sims, rows))
        rows, cols, sims = rows[order], cols[order], sims[order]
        start = np.searchsorted(rows, np.arange(n))
        rank = np.arange(len(rows)) - start[rows]
        keep = rank < k
        topk[rows[keep], rank[keep]] = sims[keep]
        nbr = np.full((n, k), -1, dtype=np.int64)
        nbr[rows[keep], rank[keep]] = cols[keep]
    else:
        nbr = np.full((n, k), -1, dtype=np.int64)
    mean = topk.mean(axis=1)
    std = topk.std(axis=1)
    q = np.quantile(topk[:, 0], [0.5, 0.9]) if n else np.zeros(2)
    deg = np.stack([(topk >= t).sum(axis=1) for t in q], axis=1).astype(np.float64)
    valid = nbr >= 0
    safe = np.where(valid, nbr, 0)
    cnt = np.maximum(valid.sum(axis=1), 1)
    nb_top = np.where(valid, topk[safe, 0], 0.0).sum(axis=1) / cnt
    nb_weight = np.where(valid, weight[safe], 0.0).sum(axis=1) / cnt
    nb_mean = np.where(valid, mean[safe], 0.0).sum(axis=1) / cnt
    return np.column_stack([weight, topk, mean, std, deg, nb_top, nb_weight, nb_mean])


def _ranks(x: np.ndarray) -> np.ndarray:
    """Every column replaced by its empirical quantile (ties share their mean rank)."""
    out = np.empty_like(x, dtype=np.float64)
    n = len(x)
    for j in range(x.shape[1]):
        order = np.argsort(x[:, j], kind="stable")
        r = np.empty(n)
        r[order] = np.arange(n)
        # average rank over ties
        vals = x[order, j]
        bounds = np.flatnonzero(np.diff(vals)) + 1
        for s0, s1 in zip(np.r_[0, bounds], np.r_[bounds, n], strict=True):
            if s1 - s0 > 1:
                r[order[s0:s1]] = (s0 + s1 - 1) / 2.0
        out[:, j] = r / max(n - 1, 1)
    return out


def _feature_seeds(ft: np.ndarray, fr: np.ndarray, ratio: float, max_seeds: int) -> tuple[np.ndarray, np.ndarray]:
    """Mutual nearest neighbours in feature space that pass a distance-ratio test."""
    if len(ft) < 2 or len(fr) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    tr, tt = cKDTree(fr), cKDTree(ft)
    d_t, i_t = tr.query(ft, k=2)
    d_r, i_r = tt.query(fr, k=1)
    mutual = i_r[i_t[:, 0]] == np.arange(len(ft))
    r = d_t[:, 0] / np.maximum(d_t[:, 1], 1e-12)
    ok = np.flatnonzero(mutual & (r <= ratio))
    ok = ok[np.argsort(r[ok], kind="stable")][:max_seeds]
    return ok.astype(np.int64), i_t[ok, 0].astype(np.int64)


def _dice_to(bits: np.ndarray, pop: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    inter = bits @ bits[anchors].T
    den = pop[:, None] + pop[anchors][None, :]
    return np.where(den > 0, 2.0 * inter / np.maximum(den, 1e-9), 0.0).astype(np.float32)


def _standardise(v: np.ndarray) -> np.ndarray:
    v = v - v.mean(axis=0, keepdims=True)
    v = v / np.maximum(v.std(axis=0, keepdims=True), 1e-6)
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.maximum(norm, 1e-9)).astype(np.float32)


def assign_one_to_one(score: np.ndarray) -> np.ndarray:
    """Maximum-score 1:1 assignment of rows to columns (``-1`` where a row gets none)."""
    out = np.full(score.shape[0], -1, dtype=np.int64)
    if score.size == 0:
        return out
    r, c = linear_sum_assignment(-score)
    out[r] = c
    return out


def _candidates(vt: np.ndarray, vr: np.ndarray, c: int, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``c`` reference candidates per encoded node by correlation, with scores."""
    c = min(c, len(vr))
    rows, cols, scores = [], [], []
    for s0 in range(0, len(vt), chunk):
        sim = vt[s0 : s0 + chunk] @ vr.T
        if c < sim.shape[1]:
            idx = np.argpartition(sim, sim.shape[1] - c, axis=1)[:, sim.shape[1] - c :]
        else:
            idx = np.tile(np.arange(sim.shape[1]), (len(sim), 1))
        rows.append(np.repeat(np.arange(s0, s0 + len(sim)), idx.shape[1]))
        cols.append(idx.reshape(-1))
        scores.append(np.take_along_axis(sim, idx, axis=1).reshape(-1))
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(scores)


def _match(rows: np.ndarray, cols: np.ndarray, scores: np.ndarray, n_t: int, n_r: int, dense_limit: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """1:1 matching on candidate pairs: linear assignment, or greedy when too large for it.

    Returns ``(match, margin)``: the matched reference node per encoded node and the score gap
    to the encoded node's best other candidate.
    """
    match = np.full(n_t, -1, dtype=np.int64)
    if len(rows) == 0:
        return match, np.zeros(n_t)
    floor = float(scores.min()) - 1.0
    if n_t * n_r <= dense_limit:
        dense = np.full((n_t, n_r), floor, dtype=np.float64)
        dense[rows, cols] = scores
        m = assign_one_to_one(dense)
        got = m >= 0
        ok = np.zeros(n_t, dtype=bool)
        ok[got] = dense[np.flatnonzero(got), m[got]] > floor
        match[ok] = m[ok]
    else:
        order = np.argsort(-scores, kind="stable")
        used_t = np.zeros(n_t, dtype=bool)
        used_r = np.zeros(n_r, dtype=bool)
        for i in order:
            t, r = rows[i], cols[i]
            if not used_t[t] and not used_r[r]:
                used_t[t] = used_r[r] = True
                match[t] = r
    # margin: matched score minus the best other candidate of the same encoded node
    matched_score = np.full(n_t, -np.inf)
    hit = match[rows] == cols
    matched_score[rows[hit]] = scores[hit]
    other = np.full(n_t, -np.inf)
    np.maximum.at(other, rows[~hit], scores[~hit])
    margin = np.where(match >= 0, matched_score - np.maximum(other, floor), 0.0)
    return match, margin


def graph_attack(
    target: EncodedDataset,
    reference: Reference,
    *,
    settings: GraphSettings | None = None,
    attacker: EncodedDataset | None = None,
    seed: int = 0,
) -> AttackResult:
    """Similarity-graph matching on the CLKs (Vidanage et al. 2020, with seed propagation).

    With ``settings.known_pairs`` the result is the ``graph+known`` attack (see
    :class:`GraphSettings`); :func:`graph_attacks` runs both sharing the graph features.
    """
    s = settings or GraphSettings()
    return graph_attacks(target, reference, settings=s, attacker=attacker, seed=seed,
                         known=(s.known_pairs,))[-1]


def graph_attacks(
    target: EncodedDataset,
    reference: Reference,
    *,
    settings: GraphSettings | None = None,
    attacker: EncodedDataset | None = None,
    seed: int = 0,
    known: tuple[int, ...] = (0,),
) -> list[AttackResult]:
    """The graph attack once per entry of ``known`` (number of known pairs; 0 = ``graph``)."""
    s0 = settings or GraphSettings()
    cache: dict[str, Any] = {}
    return [_graph_attack(target, reference, replace(s0, known_pairs=k), attacker, seed, cache) for k in known]


def _graph_attack(
    target: EncodedDataset,
    reference: Reference,
    s: GraphSettings,
    attacker: EncodedDataset | None,
    seed: int,
    cache: dict[str, Any],
) -> AttackResult:
    t0 = time.perf_counter()
    schema = Schema.from_dict(target.metadata.schema, source=f"metadata of {target.metadata.source!r}")
    notes: list[str] = []
    n_t = target.n_records
    claims = np.full(n_t, -1, dtype=np.int64)
    available = set(available_fields(schema, reference))
    used_fields = [f.name for f in schema.clk_fields
                   if f.name in available
                   and (f.name not in target.filter_present or n_t == 0
                        or target.filter_present[f.name].mean() >= s.min_presence)]
    settings_out: dict[str, Any] = {"k": s.k, "rounds": s.rounds, "max_anchors": s.max_anchors,
                                    "candidates": s.candidates, "fields": ",".join(used_fields)}
    if target.clk is None or n_t == 0 or reference.n == 0 or not used_fields:
        notes.append("nothing to attack: no CLK, no encoded records, or no reference records")
        return score_claims("graph", claims, target.record_ids, reference.truth, settings=settings_out,
                            notes=notes, seconds=time.perf_counter() - t0)
    if "attacker" in cache:
        attacker = cache["attacker"]
    elif (attacker is None or attacker.clk is None
          or set(attacker.metadata.schema.get("fields", {})) & {f.name for f in schema.clk_fields} != set(used_fields)):
        attacker = cache["attacker"] = attacker_encoding(reference, schema, seed=seed, fields=used_fields)
    n_bits = target.metadata.clk_bits
    if schema.hardening.enabled:
        n_bits = schema.hardening.output_bits(schema.clk_bits)
    tclk, rclk = np.ascontiguousarray(target.clk), np.ascontiguousarray(attacker.clk)
    h = schema.hardening
    if h.balance and not h.xor_fold and not h.diffusion:
        # balancing is undone without the key (see pplink.audit.frequency.unbalance): it restores
        # the Hamming weights, which the node features use
        tu, n_pairs_t = unbalance(unpack(tclk, n_bits))
        ru, _ = unbalance(unpack(rclk, n_bits))
        if n_pairs_t:
            notes.append(f"balancing undone ({n_pairs_t} complementary position pairs found)")
            tclk, rclk, n_bits = pack(tu), pack(ru), tu.shape[1]
            if ru.shape[1] != n_bits:  # the two sides may lose different constant positions
                width = max(n_bits, ru.shape[1])
                tclk = pack(np.pad(tu, ((0, 0), (0, width - tu.shape[1]))))
                rclk = pack(np.pad(ru, ((0, 0), (0, width - ru.shape[1]))))
                n_bits = width
    n_r = len(rclk)
    if "features" not in cache:
        cache["features"] = (_ranks(node_features(tclk, n_bits, s.k)), _ranks(node_features(rclk, n_bits, s.k)))
    ft, fr = cache["features"]
    st, sr = _feature_seeds(ft, fr, s.seed_ratio, s.max_seeds)
    settings_out["feature_seeds"] = int(len(st))
    known = np.zeros(n_t, dtype=bool)
    if s.known_pairs:
        true_row = true_reference_row(target.record_ids, reference.truth)
        pool = np.flatnonzero(true_row >= 0)
        if len(pool) == 0:
            notes.append("known_pairs needs a truth column: none were used")
        else:
            kt = np.random.default_rng([seed, 7]).choice(pool, size=min(s.known_pairs, len(pool)), replace=False)
            known[kt] = True
            drop = np.isin(st, kt) | np.isin(sr, true_row[kt])
            st = np.concatenate([kt, st[~drop]])
            sr = np.concatenate([true_row[kt], sr[~drop]])
            settings_out["known_pairs"] = int(len(kt))
    tb, rb = _bits(tclk, n_bits), _bits(rclk, n_bits)
    tp, rp = tb.sum(axis=1), rb.sum(axis=1)
    match = np.full(n_t, -1, dtype=np.int64)
    for _ in range(max(s.rounds, 1)):
        if len(st) < 2:
            break
        vt = _standardise(_dice_to(tb, tp, st))
        vr = _standardise(_dice_to(rb, rp, sr))
        rows, cols, scores = _candidates(vt, vr, s.candidates)
        match, margin = _match(rows, cols, scores, n_t, n_r, s.dense_limit)
        ok = np.flatnonzero(match >= 0)
        if len(ok) == 0:
            break
        # next anchors: the most confident matches
        ok = ok[np.argsort(-margin[ok], kind="stable")][: s.max_anchors]
        ok = ok[margin[ok] > 0]
        if len(ok) < 2:
            break
        new_st, new_sr = ok, match[ok]
        if len(new_st) == len(st) and np.array_equal(np.sort(new_st), np.sort(st)):
            break
        st, sr = new_st, new_sr
    claims = match
    settings_out["anchors_last_round"] = int(len(st))
    name = "graph"
    if known.any():
        # the records the attacker knew are not re-identifications: score the others only
        name = "graph+known"
        keep = ~known
        res = score_claims(name, claims[keep], target.record_ids[keep], reference.truth, settings=settings_out,
                           notes=notes, seconds=time.perf_counter() - t0)
        full = np.full(n_t, -1, dtype=np.int64)
        full[keep] = res.claims
        res.claims = full
        res.notes.append(f"{int(known.sum())} known pairs given to the attacker are excluded from the score")
        res.n_records = int(keep.sum())
        return res
    return score_claims(name, claims, target.record_ids, reference.truth, settings=settings_out,
                        notes=notes, seconds=time.perf_counter() - t0)
