"""Blocking: LSH bands and token joins against brute-force references."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pplink.linkage.blocking import lsh_pairs, token_pairs


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


def test_token_pairs_skip_oversized_groups():
    tok = np.zeros((5, 16), dtype=np.uint8)
    tok[4, 0] = 1
    present = np.array([True, True, True, True, False])
    ia, ib = token_pairs(tok, present, tok, present, max_group=2)
    assert len(ia) == 0  # the shared token is held by 4 records on each side
    ia, ib = token_pairs(tok, present, tok, present, max_group=10)
    assert len(ia) == 16
