"""One-to-one and one-to-many link selection: invariants, optimality, determinism."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pplink.linkage import solve
from pplink.linkage.solve import one_to_many, one_to_one_greedy, one_to_one_optimal

# ------------------------------------------------------------------ references


def reference_greedy(ia, ib, score):
    keep = np.zeros(len(ia), dtype=bool)
    used_a, used_b = set(), set()
    for e in sorted(range(len(ia)), key=lambda e: (-score[e], ia[e], ib[e])):
        if ia[e] not in used_a and ib[e] not in used_b:
            used_a.add(ia[e])
            used_b.add(ib[e])
            keep[e] = True
    return keep


def brute_force_best_total(ia, ib, score):
    """Maximum total score over all matchings (the empty matching included)."""
    best = 0.0
    n = len(ia)
    for r in range(1, n + 1):
        for subset in itertools.combinations(range(n), r):
            a = [ia[e] for e in subset]
            b = [ib[e] for e in subset]
            if len(set(a)) == r and len(set(b)) == r:
                best = max(best, sum(score[e] for e in subset))
    return best


def is_matching(ia, ib, keep):
    a, b = ia[keep], ib[keep]
    return len(np.unique(a)) == a.size and len(np.unique(b)) == b.size


@st.composite
def candidates(draw, max_records=6, max_edges=10, positive=True):
    n_a = draw(st.integers(1, max_records))
    n_b = draw(st.integers(1, max_records))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(0, n_a - 1), st.integers(0, n_b - 1)), min_size=0, max_size=max_edges, unique=True
        )
    )
    # few distinct values, so ties are common
    lo = 1 if positive else -3
    scores = draw(st.lists(st.integers(lo, 8), min_size=len(pairs), max_size=len(pairs)))
    ia = np.array([p[0] for p in pairs], dtype=np.int64)
    ib = np.array([p[1] for p in pairs], dtype=np.int64)
    return ia, ib, np.array(scores, dtype=np.float64) / 8.0


# ------------------------------------------------------------------ greedy


@settings(max_examples=150, deadline=None)
@given(candidates(positive=False))
def test_greedy_equals_reference_and_is_one_to_one(c):
    ia, ib, score = c
    keep = one_to_one_greedy(ia, ib, score)
    assert keep.dtype == bool and keep.shape == ia.shape
    assert is_matching(ia, ib, keep)
    assert np.array_equal(keep, reference_greedy(ia, ib, score))
    # maximal: every dropped candidate touches a kept record
    used_a, used_b = set(ia[keep]), set(ib[keep])
    assert all(ia[e] in used_a or ib[e] in used_b for e in np.flatnonzero(~keep))


def test_greedy_large_random_input_matches_reference_sorted_and_unsorted():
    rng = np.random.default_rng(3)
    n = 60_000
    ia = rng.integers(0, 5_000, n)
    ib = rng.integers(0, 5_000, n)
    score = np.round(rng.random(n), 2)  # many ties
    ref = reference_greedy(ia.tolist(), ib.tolist(), score.tolist())
    assert np.array_equal(one_to_one_greedy(ia, ib, score), ref)
    order = np.lexsort((ib, ia))  # the sorted fast path
    assert np.array_equal(one_to_one_greedy(ia[order], ib[order], score[order]), ref[order])


def test_radix_lexsort_equals_numpy_lexsort():
    rng = np.random.default_rng(5)
    n = 50_000
    ia = rng.integers(0, 2**40, n)
    ib = rng.integers(0, 300, n)
    score = np.round(rng.normal(size=n), 1)
    score[:100] = -0.0
    score[100:200] = 0.0
    expected = np.lexsort((ib, ia, -score))
    got = solve._lexsort([*solve._pair_keys(ia, ib), solve._desc_float_key(score)])
    assert np.array_equal(got, expected)
    # huge indices take the two-key path
    ia2 = ia.copy()
    ia2[0] = 2**50
    assert len(solve._pair_keys(ia2, ib)) == 2
    assert np.array_equal(
        solve._lexsort([*solve._pair_keys(ia2, ib), solve._desc_float_key(score)]), np.lexsort((ib, ia2, -score))
    )


# ------------------------------------------------------------------ optimal


def test_crossed_two_by_two_optimal_beats_greedy():
    # a0-b0 is the single best link, but a0-b1 + a1-b0 is better together
    ia = np.array([0, 0, 1, 1])
    ib = np.array([0, 1, 0, 1])
    score = np.array([0.9, 0.8, 0.8, 0.1])
    g = one_to_one_greedy(ia, ib, score)
    o = one_to_one_optimal(ia, ib, score)
    assert g.tolist() == [True, False, False, True] and score[g].sum() == pytest.approx(1.0)
    assert o.tolist() == [False, True, True, False] and score[o].sum() == pytest.approx(1.6)


@settings(max_examples=150, deadline=None)
@given(candidates())
def test_optimal_is_maximum_weight_matching(c):
    ia, ib, score = c
    keep = one_to_one_optimal(ia, ib, score)
    assert keep.shape == ia.shape and is_matching(ia, ib, keep)
    total = score[keep].sum()
    assert total == pytest.approx(brute_force_best_total(ia, ib, score))
    assert total >= score[one_to_one_greedy(ia, ib, score)].sum() - 1e-12


@settings(max_examples=60, deadline=None)
@given(candidates())
def test_optimal_scipy_path_agrees(c):
    ia, ib, score = c
    old = solve.SMALL_COMPONENT_NODES
    solve.SMALL_COMPONENT_NODES = 0  # every non-star component through scipy
    try:
        keep = one_to_one_optimal(ia, ib, score)
    finally:
        solve.SMALL_COMPONENT_NODES = old
    assert is_matching(ia, ib, keep)
    assert score[keep].sum() == pytest.approx(brute_force_best_total(ia, ib, score))


@settings(max_examples=60, deadline=None)
@given(candidates(positive=False))
def test_optimal_never_keeps_non_positive_links(c):
    ia, ib, score = c
    keep = one_to_one_optimal(ia, ib, score)
    assert np.all(score[keep] > 0)
    assert score[keep].sum() == pytest.approx(brute_force_best_total(ia, ib, score))


def test_optimal_on_many_components_matches_greedy_where_no_conflict():
    rng = np.random.default_rng(11)
    m = 20_000
    perm = rng.permutation(m)
    noise_a = rng.integers(0, m, 3_000)
    noise_b = rng.integers(0, m, 3_000)
    ia = np.concatenate([np.arange(m), noise_a])
    ib = np.concatenate([perm, noise_b])
    score = np.concatenate([0.9 + 0.1 * rng.random(m), 0.5 + 0.3 * rng.random(3_000)])
    keep = one_to_one_optimal(ia, ib, score)
    assert is_matching(ia, ib, keep)
    # the true links dominate every noise link, so the optimum keeps exactly them
    assert keep[:m].all() and keep.sum() == m
    assert score[keep].sum() >= score[one_to_one_greedy(ia, ib, score)].sum() - 1e-9


def test_component_limit_falls_back_to_greedy_with_warning():
    ia = np.array([0, 0, 1, 1, 2])
    ib = np.array([0, 1, 0, 1, 1])
    score = np.array([0.9, 0.8, 0.8, 0.1, 0.5])
    with pytest.warns(RuntimeWarning, match="solved greedily"):
        keep = one_to_one_optimal(ia, ib, score, max_component_nodes=3)
    assert np.array_equal(keep, one_to_one_greedy(ia, ib, score))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one_to_one_optimal(ia, ib, score)


def test_duplicate_pairs_keep_the_higher_score():
    ia = np.array([0, 0, 0, 1, 1])
    ib = np.array([0, 0, 1, 0, 1])
    score = np.array([0.2, 0.9, 0.85, 0.85, 0.3])
    keep = one_to_one_optimal(ia, ib, score)
    assert keep.tolist() == [False, False, True, True, False]
    keep = one_to_one_greedy(ia, ib, score)
    assert keep.tolist() == [False, True, False, False, True]


# ------------------------------------------------------------------ one-to-many


@settings(max_examples=100, deadline=None)
@given(candidates(positive=False), st.sampled_from(["a", "b"]))
def test_one_to_many_each_record_of_side_once_and_best(c, side):
    ia, ib, score = c
    keep = one_to_many(ia, ib, score, side=side)
    group, other = (ib, ia) if side == "b" else (ia, ib)
    kept_groups = group[keep]
    assert len(np.unique(kept_groups)) == kept_groups.size
    assert set(kept_groups.tolist()) == set(group.tolist())  # every record of the side keeps one
    for e in np.flatnonzero(keep):
        rivals = np.flatnonzero(group == group[e])
        best = min(rivals, key=lambda r: (-score[r], other[r]))
        assert best == e


# ------------------------------------------------------------------ determinism and input checks


@settings(max_examples=80, deadline=None)
@given(candidates(), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_input_order(c, rnd):
    ia, ib, score = c
    perm = np.array(rnd.sample(range(len(ia)), len(ia)), dtype=np.int64)
    for fn in (one_to_one_greedy, one_to_one_optimal, one_to_many):
        base = {(a, b) for a, b in zip(ia[fn(ia, ib, score)], ib[fn(ia, ib, score)])}
        k = fn(ia[perm], ib[perm], score[perm])
        assert {(a, b) for a, b in zip(ia[perm][k], ib[perm][k])} == base


def test_empty_and_invalid_inputs():
    e = np.array([], dtype=np.int64)
    for fn in (one_to_one_greedy, one_to_one_optimal, one_to_many):
        assert fn(e, e, np.array([])).shape == (0,)
    with pytest.raises(ValueError, match="NaN"):
        one_to_one_greedy(np.array([0]), np.array([0]), np.array([np.nan]))
    with pytest.raises(ValueError, match="one length"):
        one_to_one_optimal(np.array([0, 1]), np.array([0]), np.array([1.0]))
    with pytest.raises(ValueError, match="non-negative"):
        one_to_many(np.array([-1]), np.array([0]), np.array([1.0]))
    with pytest.raises(ValueError, match="side"):
        one_to_many(np.array([0]), np.array([0]), np.array([1.0]), side="c")
    with pytest.raises(ValueError, match="unknown method"):
        solve.solve(np.array([0]), np.array([0]), np.array([1.0]), method="best")


def test_solve_dispatch():
    ia, ib, score = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([0.9, 0.8, 0.8, 0.1])
    assert np.array_equal(solve.solve(ia, ib, score, method="greedy"), one_to_one_greedy(ia, ib, score))
    assert np.array_equal(solve.solve(ia, ib, score, method="optimal"), one_to_one_optimal(ia, ib, score))
    assert np.array_equal(solve.solve(ia, ib, score, method="one_to_many_a"), one_to_many(ia, ib, score, side="a"))
    assert np.array_equal(solve.solve(ia, ib, score, method="one_to_many_b"), one_to_many(ia, ib, score, side="b"))
    assert solve.solve(ia, ib, score, method="none").all()
