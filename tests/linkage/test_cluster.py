"""Multi-source clustering, deduplication and households."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pplink.linkage.cluster import Clusters, cluster_records, deduplicate, households_from_tokens

# ------------------------------------------------------------------ references


class UnionFind:
    def __init__(self, n):
        self.parent = list(range(n))

    def find(self, x):
        while self.parent[x] != x:
            x = self.parent[x]
        return x

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def canonical(labels):
    """Relabel 0, 1, ... by first occurrence."""
    seen = {}
    return np.array([seen.setdefault(x, len(seen)) for x in labels], dtype=np.int64)


def reference_cluster(sizes, edges, allow_same_source=False, max_size=None):
    """Greedy agglomeration with explicit member sets (slow and obvious)."""
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    src = np.repeat(np.arange(len(sizes)), sizes)
    n = int(offsets[-1])
    cluster = {i: {i} for i in range(n)}
    where = list(range(n))
    flat = []
    for sa, sb, ia, ib, sc in edges:
        for a, b, s in zip(ia, ib, sc):
            ga, gb = int(offsets[sa] + a), int(offsets[sb] + b)
            flat.append((float(s), min(ga, gb), max(ga, gb)))
    for s, a, b in sorted(flat, key=lambda t: (-t[0], t[1], t[2])):
        ca, cb = where[a], where[b]
        if ca == cb:
            continue
        merged = cluster[ca] | cluster[cb]
        if max_size is not None and len(merged) > max_size:
            continue
        if not allow_same_source and {src[i] for i in cluster[ca]} & {src[i] for i in cluster[cb]}:
            continue
        cluster[ca] = merged
        for i in cluster.pop(cb):
            where[i] = ca
    return canonical(where)


@st.composite
def multi_source_edges(draw):
    n_sources = draw(st.integers(1, 4))
    sizes = draw(st.lists(st.integers(0, 5), min_size=n_sources, max_size=n_sources))
    groups = []
    for sa in range(n_sources):
        for sb in range(sa, n_sources):
            if sizes[sa] == 0 or sizes[sb] == 0 or not draw(st.booleans()):
                continue
            k = draw(st.integers(0, 6))
            ia = draw(st.lists(st.integers(0, sizes[sa] - 1), min_size=k, max_size=k))
            ib = draw(st.lists(st.integers(0, sizes[sb] - 1), min_size=k, max_size=k))
            sc = draw(st.lists(st.integers(1, 5), min_size=k, max_size=k))
            groups.append((sa, sb, np.array(ia, np.int64), np.array(ib, np.int64), np.array(sc, float) / 5))
    return sizes, groups


# ------------------------------------------------------------------ cluster_records


@settings(max_examples=200, deadline=None)
@given(multi_source_edges())
def test_clusters_have_at_most_one_record_per_source(case):
    sizes, groups = case
    c = cluster_records(sizes, groups)
    assert isinstance(c, Clusters) and len(c) == sum(sizes)
    pairs = pd.DataFrame({"e": c.entity_id, "s": c.source_index})
    assert not pairs.duplicated().any()
    assert np.array_equal(c.entity_id, reference_cluster(sizes, groups))
    # ids numbered by first member
    assert np.array_equal(c.entity_id, canonical(c.entity_id))


@settings(max_examples=100, deadline=None)
@given(multi_source_edges(), st.randoms(use_true_random=False))
def test_clusters_are_deterministic_under_edge_order(case, rnd):
    sizes, groups = case
    base = cluster_records(sizes, groups).entity_id
    shuffled = []
    for sa, sb, ia, ib, sc in reversed(groups):
        p = np.array(rnd.sample(range(len(ia)), len(ia)), dtype=np.int64)
        shuffled.append((sb, sa, ib[p], ia[p], sc[p]))  # also swap the sides
    assert np.array_equal(cluster_records(sizes, shuffled).entity_id, base)


@settings(max_examples=100, deadline=None)
@given(multi_source_edges())
def test_allow_same_source_is_connected_components(case):
    sizes, groups = case
    n = sum(sizes)
    c = cluster_records(sizes, groups, allow_same_source=True)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    ga = [offsets[g[0]] + g[2] for g in groups] or [np.empty(0, np.int64)]
    gb = [offsets[g[1]] + g[3] for g in groups] or [np.empty(0, np.int64)]
    ga, gb = np.concatenate(ga).astype(int), np.concatenate(gb).astype(int)
    graph = coo_matrix((np.ones(ga.size), (ga, gb)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    assert np.array_equal(c.entity_id, canonical(labels))
    assert np.array_equal(
        cluster_records(sizes, groups, allow_same_source=True, max_cluster_size=2).entity_id,
        reference_cluster(sizes, groups, allow_same_source=True, max_size=2),
    )


def test_stronger_chain_wins_and_frame_input():
    # BRP p0 links to WMO w0 (0.9) and WMO w1 (0.7); w1 also links to Jeugd j0 (0.95)
    frame = pd.DataFrame(
        {
            "src_a": [0, 0, 1],
            "idx_a": [0, 0, 1],
            "src_b": [1, 1, 2],
            "idx_b": [0, 1, 0],
            "score": [0.9, 0.7, 0.95],
        }
    )
    c = cluster_records([1, 2, 1], frame)
    # w1-j0 merged first, p0-w0 next; p0-w1 refused (entity already holds a WMO record)
    assert c.entity_id.tolist() == [0, 0, 1, 1]
    assert c.n_entities == 2 and c.sizes().tolist() == [2, 2]
    assert c.for_source(1).tolist() == [0, 1]
    df = c.to_frame(["brp", "wmo", "jeugd"], [["P0"], ["W0", "W1"], ["J0"]])
    assert df.columns.tolist() == ["source", "record_id", "entity_id"]
    assert df.values.tolist() == [["brp", "P0", 0], ["wmo", "W0", 0], ["wmo", "W1", 1], ["jeugd", "J0", 1]]
    groups = [(0, 1, [0, 0], [0, 1], [0.9, 0.7]), (1, 2, [1], [0], [0.95])]
    assert np.array_equal(cluster_records([1, 2, 1], groups).entity_id, c.entity_id)


def test_same_source_links_are_refused_unless_allowed():
    groups = [(0, 0, np.array([0]), np.array([1]), np.array([0.99]))]
    assert cluster_records([2], groups).entity_id.tolist() == [0, 1]
    assert cluster_records([2], groups, allow_same_source=True).entity_id.tolist() == [0, 0]


def test_many_sources_beyond_one_mask_word():
    # 70 sources, record 0 of each chained to the next: one entity of 70 records
    sizes = [1] * 70
    groups = [(s, s + 1, np.array([0]), np.array([0]), np.array([0.9])) for s in range(69)]
    groups.append((0, 69, np.array([0]), np.array([0]), np.array([0.95])))
    assert cluster_records(sizes, groups).n_entities == 1


def test_cluster_input_errors():
    with pytest.raises(ValueError, match="idx_b out of range"):
        cluster_records([2, 2], [(0, 1, np.array([0]), np.array([2]), np.array([1.0]))])
    with pytest.raises(ValueError, match="src_a out of range"):
        cluster_records([2, 2], [(2, 1, np.array([0]), np.array([0]), np.array([1.0]))])
    with pytest.raises(ValueError, match="lacks columns"):
        cluster_records([2], pd.DataFrame({"src_a": [0]}))
    with pytest.raises(ValueError, match="ids for 2 records"):
        cluster_records([2], []).to_frame(["a"], [["x"]])
    assert cluster_records([3, 0], []).entity_id.tolist() == [0, 1, 2]


# ------------------------------------------------------------------ deduplicate


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 12).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.integers(0, 10)), max_size=20),
        )
    ),
    st.integers(0, 10),
)
def test_deduplicate_equals_brute_force_union_find(case, threshold):
    n, links = case
    ia = np.array([x[0] for x in links], dtype=np.int64)
    ib = np.array([x[1] for x in links], dtype=np.int64)
    score = np.array([x[2] for x in links], dtype=float)
    uf = UnionFind(n)
    for a, b, s in links:
        if s >= threshold:
            uf.union(a, b)
    expected = canonical([uf.find(i) for i in range(n)])
    got = deduplicate(n, ia, ib, score, threshold)
    assert np.array_equal(got, expected)
    capped = deduplicate(n, ia, ib, score, threshold, max_cluster_size=3)
    assert np.bincount(capped).max() <= 3
    sel = score >= threshold
    assert np.array_equal(
        capped, reference_cluster([n], [(0, 0, ia[sel], ib[sel], score[sel])], allow_same_source=True, max_size=3)
    )


def test_deduplicate_errors():
    with pytest.raises(ValueError, match="0..2"):
        deduplicate(3, np.array([0]), np.array([3]), np.array([1.0]), 0.5)
    assert deduplicate(0, np.array([], int), np.array([], int), np.array([]), 0.5).shape == (0,)


# ------------------------------------------------------------------ households


def tokens(values):
    out = np.zeros((len(values), 16), dtype=np.uint8)
    for i, v in enumerate(values):
        out[i, :8] = np.frombuffer(int(v).to_bytes(8, "little"), dtype=np.uint8)
    return out


def test_households_share_tokens_and_singletons_without():
    tok = tokens([5, 9, 5, 0, 9, 0])
    present = np.array([True, True, True, False, True, False])
    assert households_from_tokens(tok, present).tolist() == [0, 1, 0, 2, 1, 3]
    # without a mask every row counts, so the two zero tokens form one household
    assert households_from_tokens(tok).tolist() == [0, 1, 0, 2, 1, 2]


def test_households_follow_the_entity_first_token():
    # entity 7: records 0 (address A), 3 (address B), 4 (no token) -> record 4 joins A
    # entity 8: records 1 and 5 without tokens -> their own household
    tok = tokens([1, 0, 2, 3, 0, 0])
    present = np.array([True, False, True, True, False, False])
    ent = np.array([7, 8, 9, 7, 7, 8])
    assert households_from_tokens(tok, present, entity_id=ent).tolist() == [0, 1, 2, 3, 0, 1]


def test_households_from_bytes_objects():
    items = [b"a" * 16, None, b"b" * 16, b"a" * 16]
    assert households_from_tokens(items).tolist() == [0, 1, 2, 0]
    with pytest.raises(ValueError, match="same length"):
        households_from_tokens([b"a", b"bb"])
    with pytest.raises(ValueError, match="present"):
        households_from_tokens(tokens([1, 2]), np.array([True]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.booleans(), st.integers(0, 4)), min_size=1, max_size=15))
def test_households_rule_property(rows):
    tok = tokens([r[0] for r in rows])
    present = np.array([r[1] for r in rows])
    ent = np.array([r[2] for r in rows])
    h = households_from_tokens(tok, present, entity_id=ent)
    assert np.array_equal(h, canonical(h))
    for i in range(len(rows)):
        for j in range(len(rows)):
            if present[i] and present[j]:
                assert (h[i] == h[j]) == (rows[i][0] == rows[j][0])
        if not present[i]:
            same_entity = [k for k in range(len(rows)) if ent[k] == ent[i] and present[k]]
            if same_entity:
                assert h[i] == h[same_entity[0]]
            else:
                # shares only with token-less records of the same entity
                mates = {k for k in range(len(rows)) if h[k] == h[i]}
                assert mates == {k for k in range(len(rows)) if ent[k] == ent[i] and not present[k]}
