"""LP audit and secondary suppression (exact MILP, heuristic, naive baselines)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from pplink.disclosure._lp import LPModel
from pplink.disclosure.audit import AttackLP, ProtectionProblem, attack_intervals, audit
from pplink.disclosure.suppress import (
    suppress_exact,
    suppress_heuristic,
    suppress_naive,
    two_by_two_example,
)


def table_problem(inner: np.ndarray, prot: float, min_freq: int = 10) -> ProtectionProblem:
    """A 2-D count table with row, column and grand totals; cells in C order of nodes."""
    r, c = inner.shape
    full = np.zeros((r + 1, c + 1))
    full[1:, 1:] = inner
    full[0, 1:] = inner.sum(0)
    full[1:, 0] = inner.sum(1)
    full[0, 0] = inner.sum()
    idx = np.arange((r + 1) * (c + 1)).reshape(r + 1, c + 1)
    rows = []
    for i in range(r + 1):
        row = np.zeros(idx.size)
        row[idx[i, 0]] = 1
        row[idx[i, 1:]] = -1
        rows.append(row)
    for j in range(c + 1):
        row = np.zeros(idx.size)
        row[idx[0, j]] = 1
        row[idx[1:, j]] = -1
        rows.append(row)
    v = full.ravel()
    primary = (v > 0) & (v < min_freq)
    return ProtectionProblem.simple(sp.csr_matrix(np.array(rows)), v, primary=primary, protection=prot)


def brute_interval(inner: np.ndarray, hidden_full: np.ndarray, cell: int, upper: int):
    """Integer enumeration of all tables consistent with the published cells (tiny tables)."""
    r, c = inner.shape
    full_shape = (r + 1, c + 1)
    hidden_inner = [
        (i, j) for i in range(r) for j in range(c) if hidden_full.reshape(full_shape)[i + 1, j + 1]
    ]
    truth = np.zeros(full_shape)
    truth[1:, 1:] = inner
    truth[0, 1:] = inner.sum(0)
    truth[1:, 0] = inner.sum(1)
    truth[0, 0] = inner.sum()
    pub = ~hidden_full.reshape(full_shape)
    vals = []
    for combo in itertools.product(range(upper + 1), repeat=len(hidden_inner)):
        t = truth.copy()
        for (i, j), x in zip(hidden_inner, combo):
            t[i + 1, j + 1] = x
        t[0, 1:] = t[1:, 1:].sum(0)
        t[1:, 0] = t[1:, 1:].sum(1)
        t[0, 0] = t[1:, 1:].sum()
        if np.all(t[pub] == truth[pub]):
            vals.append(t.ravel()[cell])
    return min(vals), max(vals)


def test_attack_interval_matches_integer_enumeration():
    inner = np.array([[3, 6, 9], [5, 4, 7]])
    p = table_problem(inner, 3)
    hidden = np.zeros(p.n, bool)
    # hide a 2x2 rectangle of inner cells: (1,1),(1,2),(2,1),(2,2) in node coordinates
    for i, j in [(1, 1), (1, 2), (2, 1), (2, 2)]:
        hidden[i * 4 + j] = True
    lo, hi = attack_intervals(p, hidden)
    for cell in np.flatnonzero(hidden):
        blo, bhi = brute_interval(inner, hidden, int(cell), 11)
        assert (lo[cell], hi[cell]) == pytest.approx((blo, bhi))


def test_audit_detects_recoverable_cell():
    A, v = two_by_two_example()
    p = ProtectionProblem.simple(A, v, primary=v == 2, protection=2.0)
    only_primary = v == 2
    res = audit(p, only_primary)
    assert not res.passed and res.lower[5] == res.upper[5] == 2.0
    assert audit(p, np.isin(np.arange(9), [5, 6, 7, 8])).passed


def test_published_primary_fails_audit():
    A, v = two_by_two_example()
    p = ProtectionProblem.simple(A, v, primary=v == 2, protection=2.0)
    res = audit(p, np.zeros(9, bool))
    assert not res.passed and res.failures[0]["reason"] == "unsafe cell is published"


def test_rounding_intervals_widen_attack():
    A, v = two_by_two_example()
    p = ProtectionProblem.simple(A, v, primary=v == 2, protection=2.0)
    p.pub_up[:] = 2.0
    p.pub_down[:] = np.minimum(2.0, v)
    # with +-2 on every published cell, hiding the primary alone already protects it
    assert audit(p, v == 2).passed


def test_cut_is_valid_and_tight():
    A, v = two_by_two_example()
    p = ProtectionProblem.simple(A, v, primary=v == 2, protection=2.0)
    h = v == 2
    lp = AttackLP(p, h)
    reach, duals = lp.reach(5, +1)
    coef, const, at = lp.cut(5, +1, duals)
    assert at == pytest.approx(reach)
    # every pattern that protects cell 5 upward satisfies the cut
    for bits in itertools.product([0, 1], repeat=8):
        hid = np.array([False] + [bool(b) for b in bits])
        hid[5] = True
        lp2 = AttackLP(p, hid)
        if lp2.reach(5, +1)[0] >= 2.0 - 1e-9:
            assert coef @ hid + const >= 2.0 - 1e-6


def test_exact_is_optimal_against_brute_force():
    inner = np.array([[3, 12, 20], [15, 4, 11], [30, 25, 2]])
    p = table_problem(inner, 5)
    res = suppress_exact(p)
    assert res.optimal and audit(p, res.hidden).passed
    # brute force over inner-cell patterns containing the primaries (margins stay published)
    free = [k for k in range(p.n) if not p.primary[k] and (k // 4) > 0 and (k % 4) > 0]
    best = np.inf
    for bits in itertools.product([0, 1], repeat=len(free)):
        h = p.primary.copy()
        h[[f for f, b in zip(free, bits) if b]] = True
        c = p.cost[h].sum()
        if c < best and audit(p, h, all_hidden=False).passed:
            best = c
    assert res.cost(p) <= best + 1e-9


def test_heuristic_protects_and_exact_not_worse():
    rng = np.random.default_rng(3)
    inner = rng.integers(0, 40, size=(5, 4))
    inner[inner % 7 == 0] = 3
    p = table_problem(inner, 10)
    h = suppress_heuristic(p)
    e = suppress_exact(p)
    assert audit(p, h.hidden).passed and audit(p, e.hidden).passed
    assert e.cost(p) <= h.cost(p) + 1e-9
    assert not (p.primary & ~h.hidden).any()


def test_naive_smallest_fails_on_singletons():
    # two primaries in one row protect each other in the row, but their columns need more
    inner = np.array([[3, 4, 30], [20, 25, 30], [20, 25, 30]])
    p = table_problem(inner, 10)
    naive = suppress_naive(p, "smallest")
    assert not audit(p, naive.hidden).passed
    wide = suppress_naive(p, "relations")
    assert wide.hidden.sum() > naive.hidden.sum()


def test_fixed_cells_are_respected():
    A, v = two_by_two_example()
    p = ProtectionProblem.simple(A, v, primary=v == 2, protection=2.0)
    p.fixed_published[6] = True  # x12 may not be hidden
    r = suppress_heuristic(p)
    assert not r.hidden[6] and audit(p, r.hidden).passed
    e = suppress_exact(p)
    assert not e.hidden[6] and audit(p, e.hidden).passed


def test_lp_model_fallback_agrees_with_fast_backend():
    rng = np.random.default_rng(0)
    A = sp.random(6, 10, density=0.4, random_state=1, format="csr")
    lb, ub = -rng.random(10), rng.random(10)
    results = []
    for fb in (False, True):
        m = LPModel(A, np.zeros(6), np.zeros(6), lb, ub, force_fallback=fb)
        m.set_objective({3: -1.0})
        ok, obj, x, y = m.solve()
        assert ok
        results.append((obj, y))
    assert results[0][0] == pytest.approx(results[1][0])
    # both give duals with the same objective sensitivity: c - A^T y is a valid reduced cost
    for _obj, y in results:
        c = np.zeros(10)
        c[3] = -1.0
        red = c - A.T @ y
        assert np.isfinite(red).all()
