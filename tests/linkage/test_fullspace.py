"""Full-space EM: pattern counts stand for repeated comparison vectors."""

from __future__ import annotations

import numpy as np
import pytest

from pplink.linkage.fullspace import Block, fit_fullspace
from pplink.linkage.model import unique_patterns


def _blocks(seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    gammas = []
    for n_match, n_non in ((300, 3000), (40, 5000)):
        match = (rng.random((n_match, 3)) < 0.9).astype(np.int8)
        non = (rng.random((n_non, 3)) < 0.3).astype(np.int8)
        g = np.concatenate([match, non])
        g[rng.random(g.shape) < 0.05] = -1  # some missing values
        gammas.append(g)
    u = [np.array([0.9, 0.1])] * 3
    return gammas, [u, u]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pattern_counts_give_the_same_fit_as_pairs(seed):
    gammas, us = _blocks(seed)
    per_pair = fit_fullspace([Block(g, u, 1e6) for g, u in zip(gammas, us)], [2, 2, 2])
    grouped_blocks = []
    for g, u in zip(gammas, us):
        pats, counts, inverse = unique_patterns(g, [2, 2, 2])
        assert (pats[inverse] == g).all()
        grouped_blocks.append(Block(pats, u, 1e6, counts=counts))
    grouped = fit_fullspace(grouped_blocks, [2, 2, 2])
    assert grouped.n_iter == per_pair.n_iter
    for x, y in zip(grouped.m, per_pair.m):
        np.testing.assert_allclose(x, y, rtol=1e-9)
    np.testing.assert_allclose(grouped.lambdas, per_pair.lambdas, rtol=1e-9)
    assert grouped_blocks[0].n_candidates == len(gammas[0])


def test_counts_must_match_rows():
    with pytest.raises(ValueError, match="one count per row"):
        fit_fullspace([Block(np.zeros((2, 1), np.int8), [np.array([0.5, 0.5])], 10.0, counts=np.ones(3))], [2])
