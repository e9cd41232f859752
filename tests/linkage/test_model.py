"""Fellegi–Sunter model: comparison levels, EM recovery, supervised fit, scoring."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pplink.linkage import model as model_module
from pplink.linkage.model import FellegiSunter, levels_from_agreement, levels_from_similarity

# Known parameters of the simulation: 4 features with 2, 3, 4 and 3 levels.
M_TRUE = [
    np.array([0.05, 0.95]),
    np.array([0.03, 0.07, 0.90]),
    np.array([0.02, 0.03, 0.15, 0.80]),
    np.array([0.10, 0.20, 0.70]),
]
U_TRUE = [
    np.array([0.90, 0.10]),
    np.array([0.85, 0.10, 0.05]),
    np.array([0.70, 0.20, 0.08, 0.02]),
    np.array([0.60, 0.30, 0.10]),
]
LEVELS = [2, 3, 4, 3]
MISSING_RATE = [0.0, 0.05, 0.10, 0.20]


def simulate(n, prior, seed, m=M_TRUE, u=U_TRUE, missing=MISSING_RATE):
    rng = np.random.default_rng(seed)
    match = rng.random(n) < prior
    gamma = np.empty((n, len(m)), dtype=np.int8)
    for f in range(len(m)):
        gamma[match, f] = rng.choice(len(m[f]), size=int(match.sum()), p=m[f])
        gamma[~match, f] = rng.choice(len(u[f]), size=int((~match).sum()), p=u[f])
        gamma[rng.random(n) < missing[f], f] = -1
    return gamma, match


def empirical(gamma, rows, f, n_levels):
    col = gamma[rows, f]
    col = col[col >= 0].astype(np.int64)
    return np.bincount(col, minlength=n_levels) / col.size


@pytest.fixture(scope="module")
def simulated():
    return simulate(200_000, 0.01, seed=2024)


# ------------------------------------------------------------------ levels


def test_levels_from_similarity_boundaries():
    sim = np.array([0.0, 0.6999, 0.7, 0.8499, 0.85, 0.9499, 0.95, 1.0, np.nan])
    assert levels_from_similarity(sim, (0.7, 0.85, 0.95)).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, -1]
    missing = np.zeros(sim.size, dtype=bool)
    missing[[0, 7]] = True
    out = levels_from_similarity(sim, [0.7, 0.85, 0.95], missing)
    assert out.dtype == np.int8 and out.tolist() == [-1, 0, 1, 1, 2, 2, 3, -1, -1]
    for bad in ([], [0.9, 0.8], [0.5, 0.5], [0.5, np.inf]):
        with pytest.raises(ValueError):
            levels_from_similarity(sim, bad)
    with pytest.raises(ValueError, match="shape"):
        levels_from_similarity(sim, [0.5], missing[:3])


def test_levels_from_agreement():
    out = levels_from_agreement(np.array([True, False, True, False]), np.array([False, False, True, True]))
    assert out.dtype == np.int8 and out.tolist() == [1, 0, -1, -1]
    with pytest.raises(ValueError):
        levels_from_agreement(np.array([True]), np.array([True, False]))


# ------------------------------------------------------------------ EM


def test_em_recovers_known_parameters(simulated):
    gamma, match = simulated
    model = FellegiSunter(LEVELS).fit(gamma)
    assert model.converged_ and model.n_iter_ < 100
    assert abs(model.lambda_ - 0.01) / 0.01 < 0.2
    assert abs(model.lambda_ - match.mean()) / match.mean() < 0.05
    for f, L in enumerate(LEVELS):
        assert model.m_[f].shape == (L,) and model.u_[f].shape == (L,)
        assert np.abs(model.m_[f] - M_TRUE[f]).max() < 0.02, f
        assert np.abs(model.u_[f] - U_TRUE[f]).max() < 0.02, f
        # against the realised frequencies (no sampling noise): m is harder (2,000 matches)
        assert np.abs(model.m_[f] - empirical(gamma, match, f, L)).max() < 0.02
        assert np.abs(model.u_[f] - empirical(gamma, ~match, f, L)).max() < 0.001
        assert np.all(model.m_[f] > 0) and np.all(model.m_[f] < 1)
        assert model.m_[f].sum() == pytest.approx(1.0) and model.u_[f].sum() == pytest.approx(1.0)


def test_em_does_not_depend_on_row_order_or_duplication(simulated):
    gamma, _ = simulated
    a = FellegiSunter(LEVELS).fit(gamma[:50_000])
    b = FellegiSunter(LEVELS).fit(gamma[:50_000][::-1])
    assert a.lambda_ == pytest.approx(b.lambda_, rel=1e-9)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-9)


def test_em_with_fixed_u_from_random_pairs(simulated):
    gamma, match = simulated
    # random pairs: essentially all non-matches
    random_pairs, _ = simulate(100_000, 0.0, seed=99)
    model = FellegiSunter(LEVELS)
    u = model.estimate_u_random(random_pairs)
    for f, L in enumerate(LEVELS):
        assert np.abs(u[f] - U_TRUE[f]).max() < 0.01
    model.fit(gamma, fix_u=u)
    for f in range(len(LEVELS)):
        np.testing.assert_allclose(model.u_[f], u[f])  # untouched
        assert np.abs(model.m_[f] - M_TRUE[f]).max() < 0.02
    assert abs(model.lambda_ - 0.01) / 0.01 < 0.2
    with pytest.raises(ValueError, match="fix_u"):
        FellegiSunter(LEVELS).fit(gamma, fix_u=u[:2])
    with pytest.raises(ValueError, match="summing to 1"):
        FellegiSunter(LEVELS).fit(gamma, fix_u=[x * 2 for x in u])


def test_em_start_values_and_iteration_limit(simulated):
    gamma, _ = simulated
    a = FellegiSunter(LEVELS).fit(gamma, prior=0.2)
    b = FellegiSunter(LEVELS).fit(gamma, expected_matches=500)
    assert a.lambda_ == pytest.approx(b.lambda_, rel=1e-3)
    with pytest.warns(RuntimeWarning, match="did not converge"):
        c = FellegiSunter(LEVELS).fit(gamma, max_iter=1)
    assert not c.converged_ and c.n_iter_ == 1
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="prior"):
            FellegiSunter(LEVELS).fit(gamma, prior=bad)


def test_accelerated_em_reaches_the_plain_em_optimum(simulated):
    gamma, _ = simulated
    patterns, counts = model_module._unique_patterns(gamma, LEVELS)
    em = model_module._EM(patterns, counts.astype(float), LEVELS, 1.0, None)
    fast = FellegiSunter(LEVELS).fit(gamma, tol=1e-9)
    m0 = [np.full(L, 1 / L) + np.linspace(-0.1, 0.1, L) for L in LEVELS]
    theta = em.pack(0.05, m0, [np.full(L, 1 / L) for L in LEVELS])
    for _ in range(3000):  # plain EM, many steps
        theta, _ = em.step(theta)
    lam, m, _ = em.unpack(theta)
    assert lam == pytest.approx(fast.lambda_, rel=1e-4)
    for f in range(len(LEVELS)):
        np.testing.assert_allclose(m[f], fast.m_[f], atol=1e-4)


def test_unique_patterns_roundtrip_and_wide_fallback():
    rng = np.random.default_rng(0)
    g = rng.integers(-1, 3, size=(5000, 4)).astype(np.int8)
    patterns, counts = model_module._unique_patterns(g, [3, 3, 3, 3])
    ref_p, ref_c = np.unique(g, axis=0, return_counts=True)
    assert np.array_equal(patterns, ref_p) and np.array_equal(counts, ref_c)
    wide = rng.integers(-1, 5, size=(2000, 30)).astype(np.int8)  # 6**30 > 2**62: row-wise path
    patterns, counts = model_module._unique_patterns(wide, [5] * 30)
    ref_p, ref_c = np.unique(wide, axis=0, return_counts=True)
    assert np.array_equal(patterns, ref_p) and np.array_equal(counts, ref_c)


def test_log_likelihood_matches_a_direct_sum(simulated):
    gamma, _ = simulated
    g = gamma[:3000]
    model = FellegiSunter(LEVELS).fit(g)
    total = 0.0
    for row in g:
        pm, pu = model.lambda_, 1 - model.lambda_
        for f, level in enumerate(row):
            if level >= 0:
                pm *= model.m_[f][level]
                pu *= model.u_[f][level]
        total += math.log(pm + pu)
    assert model.log_likelihood_ == pytest.approx(total, rel=1e-9)


# ------------------------------------------------------------------ supervised


def test_supervised_fit_is_exactly_the_empirical_frequencies(simulated):
    gamma, match = simulated
    model = FellegiSunter(LEVELS, ["first_name", "surname", "birth_date", "postcode"]).fit_supervised(gamma, match)
    assert model.lambda_ == match.mean()
    for f, L in enumerate(LEVELS):
        np.testing.assert_allclose(model.m_[f], empirical(gamma, match, f, L), rtol=0, atol=1e-15)
        np.testing.assert_allclose(model.u_[f], empirical(gamma, ~match, f, L), rtol=0, atol=1e-15)
    assert model.n_iter_ == 0 and model.converged_


def test_supervised_unseen_level_gets_floor_not_zero():
    gamma = np.array([[1], [1], [0], [0]], dtype=np.int8)
    model = FellegiSunter([3]).fit_supervised(gamma, np.array([True, True, False, False]))
    assert np.all(model.m_[0] > 0) and np.all(model.u_[0] > 0)
    assert np.isfinite(model.match_weights(np.array([[0], [1], [2]], dtype=np.int8))).all()
    with pytest.raises(ValueError, match="both matches and non-matches"):
        model.fit_supervised(gamma, np.ones(4, dtype=bool))
    with pytest.raises(ValueError, match="labels"):
        model.fit_supervised(gamma, np.ones(3, dtype=bool))


# ------------------------------------------------------------------ scoring


def test_probability_increases_with_every_level(simulated):
    gamma, _ = simulated
    model = FellegiSunter(LEVELS).fit(gamma)
    for w in model.level_weights():
        assert np.all(np.diff(w) > 0)
    # every pattern: raising any one feature by one level raises the probability
    grids = np.array(np.meshgrid(*[np.arange(-1, L) for L in LEVELS], indexing="ij")).reshape(len(LEVELS), -1).T
    grids = grids.astype(np.int8)
    p = model.probability(grids)
    for f, L in enumerate(LEVELS):
        for level in range(L - 1):
            lo = grids[grids[:, f] == level]
            hi = lo.copy()
            hi[:, f] = level + 1
            assert np.all(model.probability(hi) > model.probability(lo))
    assert np.all((p > 0) & (p < 1))


def test_match_weights_and_probability_by_hand():
    model = FellegiSunter([2, 3], ["bsn", "name"])
    model.m_ = [np.array([0.1, 0.9]), np.array([0.1, 0.2, 0.7])]
    model.u_ = [np.array([0.9, 0.1]), np.array([0.7, 0.2, 0.1])]
    model.lambda_ = 0.2
    g = np.array([[1, 2], [0, 0], [1, -1], [-1, -1]], dtype=np.int8)
    w = model.match_weights(g)
    expected = [math.log2(9) + math.log2(7), math.log2(1 / 9) + math.log2(1 / 7), math.log2(9), 0.0]
    np.testing.assert_allclose(w, expected)
    odds = 0.2 / 0.8 * 2.0 ** np.array(expected)
    np.testing.assert_allclose(model.probability(g), odds / (1 + odds))
    assert model.prior_weight == pytest.approx(math.log2(0.25))
    table = model.summary()
    assert isinstance(table, pd.DataFrame)
    assert table.columns.tolist() == ["feature", "level", "m", "u", "weight"]
    assert table["feature"].tolist() == ["bsn", "bsn", "name", "name", "name"]
    assert table["weight"].iloc[4] == pytest.approx(math.log2(7))
    assert table.attrs["lambda"] == 0.2


def test_extreme_weights_give_finite_probabilities():
    model = FellegiSunter([2] * 40)
    model.m_ = [np.array([1e-6, 1 - 1e-6])] * 40
    model.u_ = [np.array([1 - 1e-6, 1e-6])] * 40
    model.lambda_ = 1e-6
    p = model.probability(np.array([[1] * 40, [0] * 40], dtype=np.int8))
    assert p[0] == pytest.approx(1.0) and p[1] == pytest.approx(0.0) and np.isfinite(p).all()


def test_input_validation():
    model = FellegiSunter([2, 3])
    with pytest.raises(RuntimeError, match="not fitted"):
        model.match_weights(np.zeros((1, 2), dtype=np.int8))
    with pytest.raises(ValueError, match="shape"):
        model.fit(np.zeros((5, 3), dtype=np.int8))
    with pytest.raises(ValueError, match="-1..1"):
        model.fit(np.array([[2, 0]], dtype=np.int8))
    with pytest.raises(ValueError, match="-1..2"):
        model.fit(np.array([[0, -2]], dtype=np.int8))
    with pytest.raises(TypeError):
        model.fit(np.zeros((2, 2), dtype=float))
    with pytest.raises(ValueError, match="zero pairs"):
        model.fit(np.zeros((0, 2), dtype=np.int8))
    with pytest.raises(ValueError, match="levels"):
        FellegiSunter([1, 3])
    with pytest.raises(ValueError, match="names"):
        FellegiSunter([2, 3], ["a"])


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_em_always_returns_valid_probabilities(seed):
    """Whatever the data (even with no structure at all), parameters stay proper and finite."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    gamma = rng.integers(-1, 3, size=(n, 3)).astype(np.int8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model = FellegiSunter([3, 3, 3]).fit(gamma, max_iter=30)
    assert 0 < model.lambda_ < 1 and math.isfinite(model.log_likelihood_)
    for p in (*model.m_, *model.u_):
        assert np.all((p > 0) & (p < 1)) and p.sum() == pytest.approx(1.0)
    probs = model.probability(gamma)
    assert np.all((probs >= 0) & (probs <= 1))
