"""Entities across several sources, deduplication within one source, and households.

Records are numbered *globally*, source by source: with ``n_per_source = [3, 2]`` the
records of source 0 are global records 0-2 and those of source 1 are 3-4. Every result
here is an integer id per global record, numbered by the record's first member in that
order (entity 0 is the cluster holding global record 0, entity 1 the cluster holding
the first record not in entity 0, and so on), so reruns on the same input give the same
ids whatever the order of the edges.

* :func:`cluster_records`: greedy agglomeration of pairwise links between sources.
  Links are merged by descending score with a union–find structure that refuses a merge
  when the two clusters already hold a record of the same source, so an entity has at
  most one record per source (each source is assumed deduplicated). This is the
  multi-party analogue of the one-to-one greedy solver; with ``allow_same_source=True``
  the check is off and the result is single-linkage clustering (dedup mode).
* :func:`deduplicate`: connected components of the links at or above a threshold within
  one source, optionally refusing merges that would exceed a maximum cluster size.
* :func:`households_from_tokens`: records sharing an address token form a household.

Example:
    >>> import numpy as np
    >>> edges = [(0, 1, np.array([0, 1]), np.array([1, 0]), np.array([0.9, 0.8])),
    ...          (0, 2, np.array([0]), np.array([0]), np.array([0.95]))]
    >>> c = cluster_records([2, 2, 1], edges)
    >>> c.entity_id
    array([0, 1, 1, 0, 0])
    >>> c.to_frame(["brp", "wmo", "jeugd"], [["p1", "p2"], ["w1", "w2"], ["j1"]]).values.tolist()
    [['brp', 'p1', 0], ['brp', 'p2', 1], ['wmo', 'w1', 1], ['wmo', 'w2', 0], ['jeugd', 'j1', 0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import pandas as pd

from pplink.linkage.solve import _priority_order

__all__ = ["Clusters", "cluster_records", "deduplicate", "households_from_tokens"]


# --------------------------------------------------------------------------- kernels


@numba.njit(cache=True, inline="always")
def _find(parent, x):  # type: ignore[no-untyped-def]
    while parent[x] != x:
        parent[x] = parent[parent[x]]  # path halving
        x = parent[x]
    return x


@numba.njit(cache=True)
def _greedy_union(order, ga, gb, src, n, n_sources, check_source, max_size):  # type: ignore[no-untyped-def]
    """Union the edges in ``order``; returns each node's root.

    With ``check_source`` a merge is refused when the two clusters share a source (each
    root carries a bit mask of its sources); with ``max_size > 0`` a merge is refused when
    the merged cluster would be larger than that.
    """
    parent = np.arange(n)
    size = np.ones(n, np.int64)
    n_words = (n_sources + 63) // 64 if check_source else 0
    masks = np.zeros((n if check_source else 0, max(n_words, 1)), np.uint64)
    if check_source:
        for i in range(n):
            masks[i, src[i] // 64] = np.uint64(1) << np.uint64(src[i] % 64)
    for k in range(order.shape[0]):
        e = order[k]
        ra = _find(parent, ga[e])
        rb = _find(parent, gb[e])
        if ra == rb:
            continue
        if max_size > 0 and size[ra] + size[rb] > max_size:
            continue
        if check_source:
            clash = False
            for w in range(n_words):
                if masks[ra, w] & masks[rb, w]:
                    clash = True
                    break
            if clash:
                continue
        if size[ra] < size[rb]:
            ra, rb = rb, ra
        parent[rb] = ra
        size[ra] += size[rb]
        if check_source:
            for w in range(n_words):
                masks[ra, w] |= masks[rb, w]
    roots = np.empty(n, np.int64)
    for i in range(n):
        roots[i] = _find(parent, i)
    return roots


@numba.njit(cache=True)
def _number_by_first(labels, n_labels):  # type: ignore[no-untyped-def]
    """Renumber ``labels`` (values in ``0..n_labels-1``) 0, 1, ... in order of first occurrence."""
    new = np.full(n_labels, -1, np.int64)
    out = np.empty(labels.shape[0], np.int64)
    nxt = 0
    for i in range(labels.shape[0]):
        lab = labels[i]
        if new[lab] < 0:
            new[lab] = nxt
            nxt += 1
        out[i] = new[lab]
    return out


def _renumber(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size == 0:
        return labels.copy()
    return _number_by_first(labels, int(labels.max()) + 1)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Clusters:
    """Entity id per global record (records numbered source by source).

    Attributes:
        source_index: source of each global record (``0..n_sources-1``).
        record_index: row of each global record within its source.
        entity_id: entity of each global record, numbered by first member.

    Example:
        >>> import numpy as np
        >>> c = cluster_records([1, 1], [(0, 1, np.array([0]), np.array([0]), np.array([1.0]))])
        >>> c.n_entities, c.sizes().tolist()
        (1, [2])
    """

    source_index: np.ndarray
    record_index: np.ndarray
    entity_id: np.ndarray

    def __len__(self) -> int:
        return int(self.entity_id.shape[0])

    @property
    def n_entities(self) -> int:
        """Number of distinct entities."""
        return int(self.entity_id.max()) + 1 if self.entity_id.size else 0

    def sizes(self) -> np.ndarray:
        """Number of records in each entity, indexed by entity id."""
        return np.bincount(self.entity_id, minlength=self.n_entities)

    def for_source(self, source: int) -> np.ndarray:
        """Entity ids of the records of one source, in record order."""
        return self.entity_id[self.source_index == source]

    def to_frame(self, source_names: Sequence[str], record_ids: Sequence[Sequence[Any]]) -> pd.DataFrame:
        """Table ``source, record_id, entity_id`` with one row per record.

        ``source_names[s]`` names source ``s``; ``record_ids[s]`` lists its record ids in
        row order.
        """
        n_sources = int(self.source_index.max()) + 1 if self.source_index.size else 0
        if len(source_names) < n_sources or len(record_ids) < n_sources:
            raise ValueError(f"need names and record ids for {n_sources} sources")
        ids = []
        for s in range(n_sources):
            r = np.asarray(record_ids[s], dtype=object)
            expected = int(np.count_nonzero(self.source_index == s))
            if r.shape != (expected,):
                raise ValueError(f"source {s}: {r.shape[0]} record ids for {expected} records")
            ids.append(r)
        record_id = np.concatenate(ids) if ids else np.empty(0, dtype=object)
        names = np.asarray(list(source_names), dtype=object)
        return pd.DataFrame(
            {
                "source": names[self.source_index] if self.source_index.size else np.empty(0, dtype=object),
                "record_id": record_id,
                "entity_id": self.entity_id,
            }
        )


# --------------------------------------------------------------------------- clustering


def _edge_arrays(
    n_per_source: Sequence[int], edges: pd.DataFrame | Sequence[tuple[Any, ...]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Global endpoints and scores of all edges."""
    sizes = np.asarray(list(n_per_source), dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    if isinstance(edges, pd.DataFrame):
        missing = {"src_a", "idx_a", "src_b", "idx_b", "score"} - set(edges.columns)
        if missing:
            raise ValueError(f"edges frame lacks columns {sorted(missing)}")
        parts = [(edges["src_a"].to_numpy(), edges["src_b"].to_numpy(), edges["idx_a"].to_numpy(),
                  edges["idx_b"].to_numpy(), edges["score"].to_numpy())]
    else:
        parts = list(edges)
    gas, gbs, scores = [], [], []
    for part in parts:
        if len(part) != 5:
            raise ValueError("each edge group must be (src_a, src_b, ia, ib, score)")
        sa, sb, ia, ib, sc = part
        ia = np.asarray(ia)
        ib = np.asarray(ib)
        sc = np.asarray(sc, dtype=np.float64)
        n = ia.shape[0]
        if ia.shape != (n,) or ib.shape != (n,) or sc.shape != (n,):
            raise ValueError("ia, ib and score of an edge group must be 1-D arrays of one length")
        sa = np.broadcast_to(np.asarray(sa, dtype=np.int64), (n,))
        sb = np.broadcast_to(np.asarray(sb, dtype=np.int64), (n,))
        for s_arr, i_arr, side in ((sa, ia, "a"), (sb, ib, "b")):
            if n == 0:
                continue
            if s_arr.min() < 0 or s_arr.max() >= sizes.size:
                raise ValueError(f"src_{side} out of range 0..{sizes.size - 1}")
            if i_arr.min() < 0 or np.any(i_arr >= sizes[s_arr]):
                raise ValueError(f"idx_{side} out of range for its source")
        if n and np.isnan(sc).any():
            raise ValueError("edge scores contain NaN")
        gas.append(offsets[sa] + ia.astype(np.int64))
        gbs.append(offsets[sb] + ib.astype(np.int64))
        scores.append(sc)
    if not gas:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64)
    return np.concatenate(gas), np.concatenate(gbs), np.concatenate(scores)


def cluster_records(
    n_per_source: Sequence[int],
    edges: pd.DataFrame | Sequence[tuple[Any, ...]],
    *,
    allow_same_source: bool = False,
    max_cluster_size: int | None = None,
) -> Clusters:
    """Group records of several sources into entities from scored pairwise links.

    Args:
        n_per_source: number of records in each source.
        edges: the links, either a DataFrame with columns ``src_a, idx_a, src_b, idx_b,
            score`` or a list of ``(src_a, src_b, ia, ib, score)`` groups where ``ia``,
            ``ib``, ``score`` are arrays and ``src_a``, ``src_b`` source numbers (scalars
            or arrays). Pass only links you accept (after thresholding).
        allow_same_source: merge clusters even if both hold a record of the same source
            (dedup mode; then this is single-linkage clustering).
        max_cluster_size: refuse merges that would make a cluster larger than this.

    Links are merged by descending score (ties by their global endpoints, smaller one
    first, ascending — so neither the order of the links nor of their sides matters); a merge
    is refused if the clusters share a source. So when a record of source A links to two
    records of source B (directly or through a third source), the stronger chain wins
    and the weaker link is dropped. Links between two records of the same source are
    therefore never merged unless ``allow_same_source``.

    Example:
        >>> import pandas as pd
        >>> edges = pd.DataFrame({"src_a": [0, 0, 1], "idx_a": [0, 0, 0], "src_b": [1, 2, 2],
        ...                       "idx_b": [0, 0, 1], "score": [0.9, 0.8, 0.85]})
        >>> cluster_records([1, 1, 2], edges).entity_id
        array([0, 0, 1, 0])
    """
    sizes = [int(x) for x in n_per_source]
    if any(x < 0 for x in sizes):
        raise ValueError("n_per_source must be non-negative")
    n = sum(sizes)
    src = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    rec = np.concatenate([np.arange(x, dtype=np.int64) for x in sizes]) if sizes else np.empty(0, np.int64)
    ga, gb, score = _edge_arrays(sizes, edges)
    if max_cluster_size is not None and max_cluster_size < 1:
        raise ValueError("max_cluster_size must be at least 1")
    if ga.size:
        # an edge is unordered: ties are broken by (smaller, larger) global endpoint
        ga, gb = np.minimum(ga, gb), np.maximum(ga, gb)
        order = _priority_order(ga, gb, score)
        roots = _greedy_union(
            order, ga, gb, src, n, max(len(sizes), 1), not allow_same_source, max_cluster_size or 0
        )
    else:
        roots = np.arange(n, dtype=np.int64)
    return Clusters(source_index=src, record_index=rec, entity_id=_renumber(roots))


def deduplicate(
    n: int,
    ia: np.ndarray,
    ib: np.ndarray,
    score: np.ndarray,
    threshold: float,
    *,
    max_cluster_size: int | None = None,
) -> np.ndarray:
    """Entity ids for the ``n`` records of one source from within-source links.

    Records joined by a chain of links with ``score >= threshold`` share an entity
    (connected components). With ``max_cluster_size``, links are merged by descending
    score (ties as in :func:`cluster_records`) and a merge that would create a larger
    cluster is refused — a guard against "chaining", where a few weak links glue many
    people into one giant cluster.

    Example:
        >>> import numpy as np
        >>> deduplicate(5, np.array([0, 1, 3]), np.array([1, 2, 4]), np.array([0.9, 0.95, 0.5]), 0.8)
        array([0, 0, 0, 1, 2])
        >>> deduplicate(5, np.array([0, 1, 3]), np.array([1, 2, 4]), np.array([0.9, 0.95, 0.5]), 0.8,
        ...             max_cluster_size=2)
        array([0, 1, 1, 2, 3])
    """
    if n < 0:
        raise ValueError("n must be non-negative")
    a = np.asarray(ia).astype(np.int64, copy=False)
    b = np.asarray(ib).astype(np.int64, copy=False)
    s = np.asarray(score, dtype=np.float64)
    if a.shape != b.shape or a.shape != s.shape or a.ndim != 1:
        raise ValueError("ia, ib and score must be 1-D arrays of one length")
    if a.size and (min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= n):
        raise ValueError(f"record indices must lie in 0..{n - 1}")
    if max_cluster_size is not None and max_cluster_size < 1:
        raise ValueError("max_cluster_size must be at least 1")
    sel = s >= threshold
    a, b, s = np.minimum(a[sel], b[sel]), np.maximum(a[sel], b[sel]), s[sel]
    if max_cluster_size is None:
        order = np.arange(a.size, dtype=np.int64)
    else:
        order = _priority_order(a, b, s)
    roots = _greedy_union(order, a, b, np.zeros(n, np.int64), n, 1, False, max_cluster_size or 0)
    return _renumber(roots)


def _token_groups(tokens: np.ndarray) -> np.ndarray:
    """Group number per row of a 2-D byte array (equal rows share a number)."""
    t = np.ascontiguousarray(tokens, dtype=np.uint8)
    if t.shape[0] == 0:
        return np.empty(0, np.int64)
    width = t.shape[1]
    pad = (-width) % 8
    if pad:
        t = np.ascontiguousarray(np.pad(t, ((0, 0), (0, pad))))
    words = t.view(np.uint64)
    _, inverse = np.unique(words, axis=0, return_inverse=True)
    return inverse.reshape(-1).astype(np.int64)


def households_from_tokens(
    tokens: np.ndarray,
    present: np.ndarray | None = None,
    *,
    entity_id: np.ndarray | None = None,
) -> np.ndarray:
    """Household id per record from keyed address tokens.

    Args:
        tokens: ``(n, 16)`` ``uint8`` array, one address token per record (e.g. the
            HMAC token of postcode + house number + addition); any width works.
            A sequence of ``bytes`` objects (``None`` for no token) is accepted too.
        present: which records have a token (default: all, or the non-``None`` ones).
        entity_id: optional entity id per record (e.g. from :func:`cluster_records`).

    The rule:

    1. Records with a token share a household exactly when their tokens are equal.
    2. Without ``entity_id``, each record without a token is its own household.
    3. With ``entity_id``, a record without a token joins the household of the *first*
       record (lowest index, so sources listed first take precedence — put the population
       register first) of its entity that has a token; if no record of the entity has a
       token, the entity's token-less records form a household of their own.
       Records that have a token are never moved: an entity registered at two addresses
       (e.g. moved between registrations) keeps a record in each household.

    Household ids are numbered by first member, like entity ids.

    Example:
        >>> import numpy as np
        >>> tok = np.zeros((5, 16), dtype=np.uint8); tok[0, 0] = tok[1, 0] = 7; tok[2, 0] = 9
        >>> present = np.array([True, True, True, False, False])
        >>> households_from_tokens(tok, present)
        array([0, 0, 1, 2, 3])
        >>> households_from_tokens(tok, present, entity_id=np.array([0, 1, 2, 2, 3]))
        array([0, 0, 1, 1, 2])
    """
    if isinstance(tokens, np.ndarray) and tokens.ndim == 2:
        tok = tokens
        default_present = np.ones(tok.shape[0], dtype=bool)
    else:
        items = list(tokens)
        default_present = np.array([x is not None for x in items], dtype=bool)
        widths = {len(x) for x in items if x is not None}
        if len(widths) > 1:
            raise ValueError("all tokens must have the same length")
        width = widths.pop() if widths else 1
        tok = np.zeros((len(items), width), dtype=np.uint8)
        for i, x in enumerate(items):
            if x is not None:
                tok[i] = np.frombuffer(bytes(x), dtype=np.uint8)
    n = tok.shape[0]
    has = default_present if present is None else np.asarray(present, dtype=bool)
    if has.shape != (n,):
        raise ValueError(f"present must have shape ({n},), got {has.shape}")

    group = np.full(n, -1, dtype=np.int64)
    idx = np.flatnonzero(has)
    n_groups = 0
    if idx.size:
        group[idx] = _token_groups(tok[idx])
        n_groups = int(group[idx].max()) + 1
    missing = np.flatnonzero(~has)
    if entity_id is None:
        group[missing] = n_groups + np.arange(missing.size)
    else:
        ent = np.asarray(entity_id)
        if ent.shape != (n,):
            raise ValueError(f"entity_id must have shape ({n},), got {ent.shape}")
        _, ent = np.unique(ent, return_inverse=True)
        ent = ent.reshape(-1).astype(np.int64)
        n_ent = int(ent.max()) + 1 if n else 0
        ent_group = np.full(n_ent, -1, dtype=np.int64)
        if idx.size:
            # first record (lowest index) with a token in each entity
            ents_with, first = np.unique(ent[idx], return_index=True)
            ent_group[ents_with] = group[idx[first]]
        joined = ent_group[ent[missing]]
        own = joined < 0
        joined[own] = n_groups + ent[missing][own]
        group[missing] = joined
    return _renumber(group)
