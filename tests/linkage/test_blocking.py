"""Blocking: LSH bands and token joins against brute-force references."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pplink.linkage.blocking import lsh_dice_pairs, lsh_pairs, token_pairs
from pplink.linkage.similarity import dice_pairs


def _bits(filters: np.ndarray, bits: int) -> np.ndarray:
    return np.unpackbits(filters.view(np.uint8), axis=1, bitorder="little")[:, :bits]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_a=st.integers(0, 30), n_b=st.integers(0, 30), r=st.integers(1, 12))
def test_lsh_pairs_equal_brute_force_band_collisions(seed, n_a, n_b, r):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**63, size=(n_a, 2), dtype=np.uint64)
    b = np.concatenate([a[: n_a // 2] ^ np.uint64(1), rng.integers(0, 2**63, size=(n_b, 2), dtype=np.uint64)])
    ia, ib = lsh_pairs(a, b, bits=128, bands=5, bits_per_band=r, seed=seed, max_bucket=10**6)
    # reference: the same band positions, compared bit by bit
    pos_rng = np.random.default_rng(seed)
    positions = [pos_rng.choice(128, size=r, replace=False) for _ in range(5)]
    ba, bb = _bits(a, 128), _bits(b, 128)
    expected = {(i, j) for i in range(len(a)) for j in range(len(b))
                if any((ba[i, p] == bb[j, p]).all() for p in positions)}
    assert set(zip(ia.tolist(), ib.tolist())) == expected
    assert list(zip(ia, ib)) == sorted(zip(ia, ib))


def _reference_pairs(a, b, r, seed, max_bucket, bands=5):
    """Band collisions bit by bit, skipping buckets larger than max_bucket on either side."""
    pos_rng = np.random.default_rng(seed)
    positions = [pos_rng.choice(128, size=r, replace=False) for _ in range(bands)]
    ba, bb = _bits(a, 128), _bits(b, 128)
    found = set()
    for p in positions:
        ka = [ba[i, p].tobytes() for i in range(len(a))]
        kb = [bb[j, p].tobytes() for j in range(len(b))]
        for i in range(len(a)):
            if ka.count(ka[i]) > max_bucket or kb.count(ka[i]) > max_bucket:
                continue
            found.update((i, j) for j in range(len(b)) if kb[j] == ka[i])
    return found


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n_a=st.integers(0, 25), n_b=st.integers(0, 25), r=st.sampled_from([1, 2, 3, 4, 36]),
       max_bucket=st.integers(1, 6), threshold=st.sampled_from([0.0, 0.5, 0.7, 0.9]),
       top_k=st.sampled_from([None, 1, 2, 5]))
def test_lsh_dice_pairs_equal_filtered_brute_force(seed, n_a, n_b, r, max_bucket, threshold, top_k):
    rng = np.random.default_rng(seed)
    # few distinct filters with flipped bits: large buckets, many ties, pairs colliding in several bands
    base = rng.integers(0, 2**63, size=(4, 2), dtype=np.uint64)
    noise = lambda n: rng.integers(0, 2**63, size=(n, 2), dtype=np.uint64) & rng.integers(0, 2**63, size=(n, 2), dtype=np.uint64)  # noqa: E731
    a = base[rng.integers(0, 4, n_a)] ^ (noise(n_a) & np.uint64(0xF0F0))
    b = base[rng.integers(0, 4, n_b)] ^ (noise(n_b) & np.uint64(0x0FF0))
    res = lsh_dice_pairs(a, b, threshold, bits=128, top_k=top_k, bands=5, bits_per_band=r, seed=seed,
                         max_bucket=max_bucket)
    ia, ib = lsh_pairs(a, b, bits=128, bands=5, bits_per_band=r, seed=seed, max_bucket=max_bucket)
    assert set(zip(ia.tolist(), ib.tolist())) == _reference_pairs(a, b, r, seed, max_bucket)
    assert res.n_colliding == len(ia)
    score = dice_pairs(a, b, ia, ib)
    expected = []
    for i in sorted(set(ia.tolist())):
        mine = sorted(((-score[k], int(ib[k])) for k in np.flatnonzero(ia == i) if score[k] >= threshold))
        expected += [(i, j, -s) for s, j in mine[:top_k]]
    expected.sort()
    assert list(zip(res.ia.tolist(), res.ib.tolist())) == [(i, j) for i, j, _ in expected]
    assert np.allclose(res.score, [s for _, _, s in expected])
    assert res.ia.dtype == np.int64 and res.ib.dtype == np.int64


def test_token_pairs_skip_oversized_groups():
    tok = np.zeros((5, 16), dtype=np.uint8)
    tok[4, 0] = 1
    present = np.array([True, True, True, True, False])
    ia, ib = token_pairs(tok, present, tok, present, max_group=2)
    assert len(ia) == 0  # the shared token is held by 4 records on each side
    ia, ib = token_pairs(tok, present, tok, present, max_group=10)
    assert len(ia) == 16


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n_a=st.integers(0, 30), n_b=st.integers(0, 30), max_group=st.integers(1, 5))
def test_token_pairs_equal_brute_force(seed, n_a, n_b, max_group):
    from pplink.linkage.blocking import token_join

    rng = np.random.default_rng(seed)
    values = rng.integers(0, 256, size=(4, 16), dtype=np.uint8)
    values[1, :8] = values[0, :8]  # same first word, different second word
    ta, tb = values[rng.integers(0, 4, n_a)], values[rng.integers(0, 4, n_b)]
    pa, pb = rng.random(n_a) < 0.8, rng.random(n_b) < 0.8
    ia, ib = token_pairs(ta, pa, tb, pb, max_group=max_group)
    key = lambda t: t.tobytes()  # noqa: E731
    size_a = {key(v): sum(1 for i in range(n_a) if pa[i] and key(ta[i]) == key(v)) for v in values}
    size_b = {key(v): sum(1 for j in range(n_b) if pb[j] and key(tb[j]) == key(v)) for v in values}
    expected = {(i, j) for i in range(n_a) for j in range(n_b)
                if pa[i] and pb[j] and key(ta[i]) == key(tb[j])
                and size_a[key(ta[i])] <= max_group and size_b[key(ta[i])] <= max_group}
    assert sorted(zip(ia.tolist(), ib.tolist())) == sorted(expected)
    assert len(ia) == len(expected)  # no duplicates
    every = sum(1 for i in range(n_a) for j in range(n_b) if pa[i] and pb[j] and key(ta[i]) == key(tb[j]))
    assert token_join(ta, pa, tb, pb).n_equal == every
