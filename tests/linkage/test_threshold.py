"""Label-free threshold choice from calibrated posterior probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pplink.linkage.threshold import ThresholdChoice, choose_threshold


def calibrated(n, seed):
    """Probabilities from a two-hump mixture, and labels drawn with exactly those probabilities."""
    rng = np.random.default_rng(seed)
    is_high = rng.random(n) < 0.05
    p = np.where(is_high, rng.beta(8, 1.5, n), rng.beta(0.3, 12, n))
    y = rng.random(n) < p
    return p, y


def true_f1(p, y, t):
    sel = p >= t
    tp = np.count_nonzero(sel & y)
    return 2 * tp / (sel.sum() + y.sum())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_chosen_threshold_is_near_the_true_optimum(seed):
    p, y = calibrated(200_000, seed)
    choice = choose_threshold(p)
    # best achievable true F1 over every threshold (every cut of the sorted probabilities)
    order = np.argsort(-p, kind="stable")
    tp = np.cumsum(y[order])
    best = float(np.max(2 * tp / (np.arange(1, p.size + 1) + y.sum())))
    assert true_f1(p, y, choice.threshold) >= best - 0.01
    # the estimates track the truth on calibrated data
    sel = p >= choice.threshold
    assert choice.estimated_precision == pytest.approx(np.count_nonzero(sel & y) / sel.sum(), abs=0.01)
    assert choice.estimated_recall == pytest.approx(np.count_nonzero(sel & y) / y.sum(), abs=0.01)
    # the known property of the F1-optimal threshold for calibrated scores
    assert choice.threshold == pytest.approx(choice.estimated_f1 / 2, abs=0.01)


def test_curve_is_monotone_and_consistent():
    p, _ = calibrated(50_000, 7)
    choice = choose_threshold(p, grid=100)
    c = choice.curve
    assert isinstance(c, pd.DataFrame)
    assert c.columns.tolist() == ["threshold", "est_precision", "est_recall", "est_f1", "n_links"]
    assert np.all(np.diff(c["threshold"]) > 0)
    assert np.all(np.diff(c["est_recall"]) <= 1e-12)
    assert np.all(np.diff(c["n_links"]) <= 0)
    assert c["n_links"].iloc[0] == p.size and c["est_recall"].iloc[0] == pytest.approx(1.0)
    assert len(c) in (101, 102) and choice.threshold in c["threshold"].to_numpy()
    assert c["est_f1"].max() <= choice.estimated_f1 + 1e-12
    row = c[c["threshold"] == choice.threshold].iloc[0]
    assert row["est_f1"] == pytest.approx(choice.estimated_f1)
    assert row["n_links"] == choice.n_links == np.count_nonzero(p >= choice.threshold)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=1, max_size=30))
def test_choice_is_the_exact_maximum_with_ties_to_the_higher_threshold(values):
    p = np.array(values, dtype=float) / 20
    choice = choose_threshold(p)
    total = p.sum()
    best_t, best_f1 = None, -1.0
    for t in sorted(set(p.tolist()), reverse=True):
        if t <= 0:
            continue
        sel = p >= t
        f1 = 2 * p[sel].sum() / (sel.sum() + total)
        if f1 > best_f1 + 1e-12:
            best_t, best_f1 = t, f1
    if best_t is None:  # all zero
        assert choice.estimated_f1 == 0.0
    else:
        assert choice.threshold == best_t
        assert choice.estimated_f1 == pytest.approx(best_f1)


def test_by_hand():
    # p = 0.9, 0.9, 0.1: sum 1.9; accepting the two 0.9s gives TP 1.8 of 2 links
    choice = choose_threshold(np.array([0.1, 0.9, 0.9]))
    assert isinstance(choice, ThresholdChoice)
    assert choice.threshold == 0.9 and choice.n_links == 2
    assert choice.estimated_precision == pytest.approx(0.9)
    assert choice.estimated_recall == pytest.approx(1.8 / 1.9)
    assert choice.estimated_f1 == pytest.approx(2 * 1.8 / (2 + 1.9))
    assert choice.estimated_matches == pytest.approx(1.9)
    # with 10 true matches known: at 0.9, P = 0.9 and R = 0.18, F1 = 0.3; also accepting
    # the 0.1 gives P = 1.9/3, R = 0.19, F1 = 0.2923 -- so the threshold stays at 0.9
    known = choose_threshold(np.array([0.1, 0.9, 0.9]), expected_matches=10)
    assert known.threshold == 0.9
    assert known.estimated_recall == pytest.approx(0.18)
    assert known.estimated_f1 == pytest.approx(2 * 0.9 * 0.18 / 1.08)
    # recall against an expected count smaller than sum(p) is capped at 1
    assert choose_threshold(np.array([0.9, 0.9]), expected_matches=1).estimated_recall == 1.0


def test_histogram():
    p = np.array([0.001, 0.01, 0.2, 0.5, 0.97, 0.999, 1.0, 0.0])
    choice = choose_threshold(p)
    h = choice.histogram(bins=10)
    assert h.columns.tolist() == ["bin_left", "bin_right", "count", "est_matches", "est_non_matches"]
    assert h["count"].sum() == p.size
    assert h["est_matches"].sum() == pytest.approx(p.sum())
    assert h["est_non_matches"].sum() == pytest.approx((1 - p).sum())
    assert h["count"].tolist() == [3, 0, 1, 0, 0, 1, 0, 0, 0, 3]
    w = choice.histogram(bins=5, scale="weight")
    # log-odds range of the interior probabilities; p = 0 and p = 1 land in the end bins
    assert w["bin_left"].iloc[0] == pytest.approx(np.log2(0.001 / 0.999))
    assert w["bin_right"].iloc[-1] == pytest.approx(np.log2(0.999 / 0.001))
    # bins of width 3.99 from -9.96: {0, 0.001, 0.01}, {0.2 (-2.0)}, {0.5}, {0.97 (5.0)}, {0.999, 1}
    assert w["count"].tolist() == [3, 1, 1, 1, 2]
    assert w["count"].sum() == p.size and w.attrs["threshold"] == pytest.approx(np.log2(0.5 / 0.5))
    with pytest.raises(ValueError):
        choice.histogram(scale="odds")


def test_invalid_inputs():
    for bad in ([], [0.5, 1.2], [np.nan], [-0.1]):
        with pytest.raises(ValueError):
            choose_threshold(np.array(bad, dtype=float))
    with pytest.raises(ValueError):
        choose_threshold(np.array([0.5]), expected_matches=0)
    zero = choose_threshold(np.zeros(4))
    assert zero.estimated_f1 == 0.0


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.sampled_from([0.0, 0.01, 0.2, 0.49, 0.5, 0.8, 0.97, 1.0]), min_size=1, max_size=8, unique=True),
       data=st.data())
def test_counts_equal_repeated_probabilities(values, data):
    counts = data.draw(st.lists(st.integers(0, 50), min_size=len(values), max_size=len(values)))
    if sum(counts) == 0:
        counts[0] = 1
    p = np.array(values)
    repeated = choose_threshold(np.repeat(p, counts))
    grouped = choose_threshold(p, counts=np.array(counts))
    assert grouped.threshold == repeated.threshold
    assert grouped.n_links == repeated.n_links
    assert grouped.estimated_f1 == pytest.approx(repeated.estimated_f1, rel=1e-9, abs=1e-12)
    assert grouped.estimated_matches == pytest.approx(repeated.estimated_matches, rel=1e-9, abs=1e-12)
    pd.testing.assert_frame_equal(grouped.curve, repeated.curve, rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(grouped.histogram(bins=5), repeated.histogram(bins=5), check_dtype=False)


def test_counts_must_match_probabilities():
    with pytest.raises(ValueError, match="one non-negative number per probability"):
        choose_threshold(np.array([0.5, 0.6]), counts=np.array([1]))
    with pytest.raises(ValueError, match="one non-negative number per probability"):
        choose_threshold(np.array([0.5]), counts=np.array([-1]))
