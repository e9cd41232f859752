"""Secondary (complementary) suppression: exact MILP with LP-duality cuts, and a fast heuristic.

Both methods work on a :class:`~pplink.disclosure.audit.ProtectionProblem` and return a
*hidden* mask that the LP audit accepts: for every unsafe cell the attacker's interval
reaches at least ``upl`` above and ``lpl`` below the true value.

**Exact** (:func:`suppress_exact`). Binary ``y_c`` = "hide cell c"; minimise
``sum_c w_c y_c`` subject to ``y_c = 1`` for unsafe cells and, for every unsafe cell and
direction, the classic protection-level requirement: a feasible attacker table must exist
that moves the cell by its protection level using only the room of hidden cells. Writing
that requirement for every unsafe cell at once needs an auxiliary attacker table per cell
and direction (Fischetti & Salazar-Gonzalez 2001); instead we generate its constraints
lazily: solve the master MILP (``scipy.optimize.milp``/HiGHS) over y with the cuts found so
far, audit the solution by LP, and add for each violated (cell, direction) the LP-duality
(Benders) cut from the audit LP (see :mod:`pplink.disclosure.audit`). Cuts are scaled to
right-hand side 1 and their coefficients clipped at 1 (valid for binary y). When the
master is solved to optimality and the audit passes, the pattern is optimal for the given
costs. Initial cuts: an unsafe cell alone in an exactly published equation needs a
partner in it.

**Heuristic** (:func:`suppress_heuristic`). For every unsafe cell (largest first) and each
direction, audit the current pattern by LP; when the reach is too small, solve one LP:
minimise ``sum w_c y_c`` over continuous ``y_c in [0, 1]`` (0 cost for hidden cells) and
one attacker deviation ``d`` that moves the cell by its protection level, with each
candidate cell's movement limited to ``y_c`` times its room (room capped at the protection
level, which makes ``y_c`` close to "fraction of the cell used"). Every cell with
``y_c > 0`` is hidden: the deviation then stays feasible, so the cell is protected, and
hiding more cells later never lowers the protection. This is the network-flow idea of
Cox / Kelly-Golden-Assad generalised to any linear table structure.

**Naive baselines** (:func:`suppress_naive`, for the benchmark only): hide the smallest
other cell of each relation of an unsafe cell without audit, or hide whole relations.

Example:
    >>> import numpy as np, scipy.sparse as sp
    >>> from pplink.disclosure.audit import ProtectionProblem, audit
    >>> # 2x2 table with margins: cells [t, r1, r2, c1, c2, x11, x12, x21, x22]
    >>> A, v = two_by_two_example()
    >>> p = ProtectionProblem.simple(A, v, primary=v == 2, protection=2.0)
    >>> hidden = suppress_heuristic(p).hidden
    >>> int(hidden.sum()), audit(p, hidden).passed
    (4, True)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from pplink.disclosure._lp import LPModel, _core, _Highs
from pplink.disclosure.audit import TOL, AttackLP, ProtectionProblem

__all__ = [
    "SuppressionResult",
    "suppress_heuristic",
    "suppress_exact",
    "suppress_naive",
    "two_by_two_example",
]


@dataclass
class SuppressionResult:
    """A hidden mask plus how it was found.

    Example:
        >>> r = SuppressionResult(np.array([True]), "heuristic")
        >>> r.method
        'heuristic'
    """

    hidden: np.ndarray
    method: str
    optimal: bool = False
    lower_bound: float | None = None
    iterations: int = 0
    n_lp: int = 0
    n_cuts: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def cost(self, problem: ProtectionProblem) -> float:
        """Information loss: total weight of hidden cells.

        Example:
            >>> import numpy as np, scipy.sparse as sp
            >>> p = ProtectionProblem.simple(sp.csr_matrix((0, 2)), np.array([1.0, 5.0]))
            >>> SuppressionResult(np.array([True, False]), "x").cost(p)
            2.0
        """
        return float(problem.cost[self.hidden].sum())

    def to_dict(self, problem: ProtectionProblem | None = None) -> dict[str, Any]:
        """Summary for reports.

        Example:
            >>> SuppressionResult(np.array([True]), "exact", optimal=True).to_dict()["optimal"]
            True
        """
        out = {
            "method": self.method,
            "optimal": self.optimal,
            "lower_bound": self.lower_bound,
            "iterations": self.iterations,
            "lp_solved": self.n_lp,
            "cuts": self.n_cuts,
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
        }
        if problem is not None:
            out["cost"] = self.cost(problem)
        return out


def two_by_two_example() -> tuple[sp.csr_matrix, np.ndarray]:
    """A 2x2 count table with margins as (A_eq, values), for examples and tests.

    Cells: ``[T, R1, R2, C1, C2, x11, x12, x21, x22]`` with values
    ``[40, 12, 28, 22, 18, 2, 10, 20, 8]``.

    Example:
        >>> A, v = two_by_two_example()
        >>> A.shape, float(abs(A @ v).sum())
        ((6, 9), 0.0)
    """
    rows = [
        [0, 1, 2],  # T = R1 + R2
        [0, 3, 4],  # T = C1 + C2
        [1, 5, 6],  # R1 = x11 + x12
        [2, 7, 8],  # R2 = x21 + x22
        [3, 5, 7],  # C1 = x11 + x21
        [4, 6, 8],  # C2 = x12 + x22
    ]
    A = np.zeros((6, 9))
    for r, (p, a, b) in enumerate(rows):
        A[r, p], A[r, a], A[r, b] = 1.0, -1.0, -1.0
    v = np.array([40, 12, 28, 22, 18, 2, 10, 20, 8], dtype=float)
    return sp.csr_matrix(A), v


def _check(problem: ProtectionProblem, lp: AttackLP, i: int, direction: int) -> tuple[bool, float, Any]:
    reach, duals = lp.reach(i, direction)
    need = _need(problem, i, direction)
    ok = reach >= need - TOL * max(1.0, abs(need))
    return ok, reach, duals


def _need(problem: ProtectionProblem, i: int, direction: int) -> float:
    return float(problem.upl[i] if direction > 0 else problem.lpl[i])


# --------------------------------------------------------------------------- heuristic
class _CoverModel:
    """Persistent LP: cheapest (relaxed) set of extra hidden cells that lets one cell move.

    Variables ``[d (n), y (n)]``; rows: the table structure on d, and for every cell
    ``d_c - R_up_c y_c <= pub_up_c`` and ``-d_c - R_down_c y_c <= pub_down_c`` with rooms
    capped at ``cap``. Rows of hidden cells are relaxed (their d has its full room as
    column bounds); fixed-published cells have y = 0.
    """

    def __init__(self, problem: ProtectionProblem, hidden: np.ndarray, cap: float) -> None:
        p = problem
        n = p.n
        self.p = p
        self.n = n
        big_up = np.minimum(p.up_room, np.maximum(cap, p.pub_up))
        big_down = np.minimum(p.down_room, np.maximum(cap, p.pub_down))
        ru = np.maximum(big_up - p.pub_up, 0.0)
        rd = np.maximum(big_down - p.pub_down, 0.0)
        eye = sp.identity(n, format="csr")
        m_eq, m_ub = p.A_eq.shape[0], p.A_ub.shape[0]
        blocks = []
        if m_eq:
            blocks.append(sp.hstack([p.A_eq, sp.csr_matrix((m_eq, n))]))
        if m_ub:
            blocks.append(sp.hstack([p.A_ub, sp.csr_matrix((m_ub, n))]))
        blocks.append(sp.hstack([eye, -sp.diags(ru)]))
        blocks.append(sp.hstack([-eye, -sp.diags(rd)]))
        A = sp.vstack(blocks, format="csr")
        self.link_up = m_eq + m_ub + np.arange(n)
        self.link_down = m_eq + m_ub + n + np.arange(n)
        row_lo = np.concatenate([np.zeros(m_eq), np.full(m_ub + 2 * n, -np.inf)])
        row_hi = np.concatenate([np.zeros(m_eq), p.slack, p.pub_up, p.pub_down])
        lb = np.concatenate([np.full(n, -np.inf), np.zeros(n)])
        ub = np.concatenate([np.full(n, np.inf), np.where(p.fixed_published, 0.0, 1.0)])
        self.model = LPModel(A, row_lo, row_hi, lb, ub)
        self.hidden = np.zeros(n, dtype=bool)
        self._costs = np.concatenate([np.zeros(n), np.where(p.fixed_published, 0.0, p.cost)])
        self.model.set_costs(self._costs)
        self.set_hidden(hidden)

    def set_hidden(self, hidden: np.ndarray) -> None:
        new = np.flatnonzero(np.asarray(hidden, bool) & ~self.hidden)
        if not len(new):
            return
        p = self.p
        self.hidden[new] = True
        self.model.set_col_bounds(new, -p.down_room[new], p.up_room[new])
        self.model.set_col_bounds(self.n + new, np.zeros(len(new)), np.zeros(len(new)))
        self.model.set_row_bounds(self.link_up[new], np.full(len(new), -np.inf), np.full(len(new), np.inf))
        self.model.set_row_bounds(self.link_down[new], np.full(len(new), -np.inf), np.full(len(new), np.inf))

    def solve(self, i: int, direction: int, need: float) -> tuple[np.ndarray, np.ndarray] | None:
        p = self.p
        lo, hi = -p.down_room[i], p.up_room[i]
        if direction > 0:
            if need > hi + TOL:
                return None
            self.model.set_col_bounds(np.array([i]), np.array([need]), np.array([hi]))
        else:
            if -need < lo - TOL:
                return None
            self.model.set_col_bounds(np.array([i]), np.array([lo]), np.array([-need]))
        ok, _obj, x, _y = self.model.solve()
        self.model.set_col_bounds(np.array([i]), np.array([lo]), np.array([hi]))
        if not ok:
            return None
        y = x[self.n :]
        cand = ~self.hidden
        return np.flatnonzero(cand & (y > 1e-7)), np.flatnonzero(cand & (y > 1e-12))


def suppress_heuristic(
    problem: ProtectionProblem,
    hidden: np.ndarray | None = None,
    *,
    time_limit_s: float | None = None,
) -> SuppressionResult:
    """Fast secondary suppression: audit each unsafe cell, cover it by one LP when needed.

    ``hidden``: start pattern (default: unsafe and fixed-hidden cells).

    Example:
        >>> import numpy as np
        >>> from pplink.disclosure.audit import ProtectionProblem, audit
        >>> A, v = two_by_two_example()
        >>> p = ProtectionProblem.simple(A, v, primary=v == 2, protection=2.0)
        >>> r = suppress_heuristic(p)
        >>> sorted(np.flatnonzero(r.hidden).tolist())
        [5, 6, 7, 8]
    """
    del time_limit_s
    t0 = time.perf_counter()
    base = problem.primary | problem.fixed_hidden
    h = base.copy() if hidden is None else (np.asarray(hidden, bool) | base)
    order = np.flatnonzero(problem.primary)
    order = order[np.argsort(-problem.value[order], kind="stable")]
    result = SuppressionResult(h, "heuristic")
    needs = np.concatenate([problem.upl[order], problem.lpl[order]]) if len(order) else np.zeros(1)
    cap = float(max(needs.max(), 1e-9))
    att = AttackLP(problem, h)
    cover: _CoverModel | None = None
    n_cover = 0
    for _round in range(3):
        changed = False
        for i in order:
            i = int(i)
            for direction in (+1, -1):
                need = _need(problem, i, direction)
                if need <= 0:
                    continue
                att.set_hidden(h)
                ok, _, _ = _check(problem, att, i, direction)
                if ok:
                    continue
                if cover is None:
                    cover = _CoverModel(problem, h, cap)
                cover.set_hidden(h)
                got = cover.solve(i, direction, need)
                n_cover += 1
                added = False
                candidates = [got[0], got[1]] if got is not None else []
                for extra in candidates:
                    trial = h.copy()
                    trial[extra] = True
                    att.set_hidden(trial)
                    if _check(problem, att, i, direction)[0]:
                        h = trial
                        added = changed = True
                        break
                if not added:
                    # uncapped rooms (the cap only shapes costs), then everything allowed
                    wide = _CoverModel(problem, h, np.inf)
                    got = wide.solve(i, direction, need)
                    n_cover += 1
                    trial = h.copy()
                    if got is not None:
                        trial[got[1]] = True
                    att.set_hidden(trial)
                    if not _check(problem, att, i, direction)[0]:
                        trial = h | ~problem.fixed_published
                        att.set_hidden(trial)
                        if not _check(problem, att, i, direction)[0]:
                            raise _Unprotectable(i, direction)
                        result.notes.append(f"cell {i}: hid every free cell to protect it")
                    h = trial
                    changed = True
        if not changed:
            break
    result.hidden = h
    result.n_lp = att.n_solves + n_cover
    result.seconds = time.perf_counter() - t0
    return result


class _Unprotectable(Exception):
    def __init__(self, cell: int, direction: int) -> None:
        self.cell = cell
        self.direction = direction
        super().__init__(f"cell {cell} cannot be protected ({'upward' if direction > 0 else 'downward'})")


# ------------------------------------------------------------------------------- exact
def _initial_cuts(problem: ProtectionProblem) -> list[tuple[np.ndarray, np.ndarray]]:
    cuts = []
    A = problem.A_eq.tocsr()
    exact = (problem.pub_up <= 0) & (problem.pub_down <= 0)
    for r in range(A.shape[0]):
        cols = A.indices[A.indptr[r] : A.indptr[r + 1]]
        if not exact[cols].all():
            continue
        for i in cols[problem.primary[cols]]:
            if max(problem.upl[i], problem.lpl[i]) <= 0:
                continue
            others = cols[(cols != i) & ~problem.fixed_published[cols]]
            if len(others):
                cuts.append((others, np.ones(len(others))))
    return cuts


def _solve_master(
    cost: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    C: sp.csr_matrix,
    incumbent: np.ndarray | None,
    time_limit: float,
) -> tuple[np.ndarray | None, bool, float | None]:
    """Solve min cost.y, C y >= 1, y binary; returns (y, optimal, lower bound)."""
    n = len(cost)
    if _core is not None:
        h = _Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("time_limit", float(max(time_limit, 0.5)))
        h.setOptionValue("mip_rel_gap", 1e-6)
        inf = float(_core.kHighsInf)
        lp = _core.HighsLp()
        A = C.tocsc()
        lp.num_col_, lp.num_row_ = n, C.shape[0]
        lp.col_cost_ = np.asarray(cost, float)
        lp.col_lower_ = np.asarray(lb, float)
        lp.col_upper_ = np.asarray(ub, float)
        lp.row_lower_ = np.ones(C.shape[0])
        lp.row_upper_ = np.full(C.shape[0], inf)
        lp.a_matrix_.format_ = _core.MatrixFormat.kColwise
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data.astype(float)
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, C.shape[0]
        lp.integrality_ = [_core.HighsVarType.kInteger] * n
        h.passModel(lp)
        if incumbent is not None:
            sol = _core.HighsSolution()
            sol.col_value = incumbent.astype(float)
            sol.value_valid = True
            h.setSolution(sol)
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        if info.primal_solution_status == 0:  # no feasible solution
            return None, False, None
        x = np.asarray(h.getSolution().col_value, dtype=float)
        optimal = status == _core.HighsModelStatus.kOptimal
        return x > 0.5, optimal, float(info.mip_dual_bound)
    res = milp(
        cost,
        integrality=np.ones(n),
        bounds=Bounds(lb, ub),
        constraints=LinearConstraint(C, lb=np.ones(C.shape[0]), ub=np.full(C.shape[0], np.inf)),
        options={"time_limit": max(time_limit, 0.5), "disp": False, "mip_rel_gap": 1e-6},
    )
    if res.x is None:
        return None, False, None
    return res.x > 0.5, res.status == 0, getattr(res, "mip_dual_bound", None)


def suppress_exact(
    problem: ProtectionProblem,
    *,
    time_limit_s: float = 60.0,
    max_iterations: int = 500,
    warm_start: bool = True,
) -> SuppressionResult:
    """Minimum-cost suppression pattern by MILP with lazily generated LP-duality cuts.

    The heuristic's pattern (valid for every cut) is passed to the master as incumbent
    when ``warm_start``. When the time runs out the best audited pattern is returned and
    the result is marked not optimal.

    Example:
        >>> import numpy as np
        >>> from pplink.disclosure.audit import ProtectionProblem, audit
        >>> A, v = two_by_two_example()
        >>> p = ProtectionProblem.simple(A, v, primary=v == 2, protection=2.0)
        >>> r = suppress_exact(p)
        >>> r.optimal, sorted(np.flatnonzero(r.hidden).tolist()), audit(p, r.hidden).passed
        (True, [5, 6, 7, 8], True)
    """
    t0 = time.perf_counter()
    n = problem.n
    fixed1 = problem.primary | problem.fixed_hidden
    lb = fixed1.astype(float)
    ub = np.maximum((~problem.fixed_published).astype(float), lb)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    n_rows = 0
    seen: set[bytes] = set()

    def add(idx: np.ndarray, cv: np.ndarray) -> bool:
        nonlocal n_rows
        key = np.round(np.concatenate([idx, cv]), 9).tobytes()
        if key in seen:
            return False
        seen.add(key)
        rows.append(np.full(len(idx), n_rows))
        cols.append(idx)
        vals.append(cv)
        n_rows += 1
        return True

    for idx, coef in _initial_cuts(problem):
        add(idx, coef)
    result = SuppressionResult(fixed1.copy(), "exact")
    best: np.ndarray | None = None
    if warm_start and problem.primary.any():
        heur = suppress_heuristic(problem)
        best = heur.hidden.copy()
        result.n_lp += heur.n_lp
    primaries = np.flatnonzero(problem.primary)
    current = fixed1.copy()
    lp = AttackLP(problem, current)
    last_optimal = True
    while True:
        lp.set_hidden(current)
        violations = 0
        nogood = False
        for i in primaries:
            i = int(i)
            for direction in (+1, -1):
                need = _need(problem, i, direction)
                if need <= 0:
                    continue
                ok, reach, duals = _check(problem, lp, i, direction)
                if ok:
                    continue
                violations += 1
                coef, const, at = lp.cut(i, direction, duals)
                rhs = need - const
                usable = rhs > TOL and abs(at - reach) <= 1e-5 * max(1.0, abs(reach))
                if usable:
                    scaled = np.minimum(coef / rhs, 1.0)
                    scaled[problem.fixed_published] = 0.0
                    idx = np.flatnonzero(scaled > 1e-12)
                    cv = scaled[idx]
                    usable = bool(len(idx)) and float(cv @ current[idx]) < 1.0 - 1e-9 and add(idx, cv)
                if not usable and not nogood:
                    # the (valid, by monotonicity) no-good cut: hide at least one more cell
                    idx = np.flatnonzero(~current & ~problem.fixed_published)
                    if not len(idx):
                        raise _Unprotectable(i, direction)
                    add(idx, np.ones(len(idx)))
                    nogood = True
        if violations == 0:
            cost_cur = float(problem.cost[current].sum())
            if best is None or cost_cur <= float(problem.cost[best].sum()) + 1e-9:
                best = current
            result.optimal = last_optimal and best is current
            break
        elapsed = time.perf_counter() - t0
        if elapsed > time_limit_s or result.iterations >= max_iterations:
            result.notes.append("time or iteration limit reached: kept the best audited pattern")
            result.optimal = False
            break
        C = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_rows, n)
        )
        y, last_optimal, bound = _solve_master(problem.cost, lb, ub, C, best, time_limit_s - elapsed)
        result.iterations += 1
        if bound is not None and last_optimal:
            result.lower_bound = bound
        if y is None:
            result.notes.append("master MILP found no solution in time")
            result.optimal = False
            break
        current = y | fixed1
    if best is None:
        rep = suppress_heuristic(problem, current)
        best = rep.hidden
        result.n_lp += rep.n_lp
        result.notes.append("finished with the heuristic")
    result.hidden = best
    result.n_cuts = n_rows
    result.n_lp += lp.n_solves
    result.seconds = time.perf_counter() - t0
    return result


# ------------------------------------------------------------------------------ naive
def suppress_naive(problem: ProtectionProblem, mode: str = "smallest") -> SuppressionResult:
    """Baselines without audit. ``"smallest"``: in each relation (equation) of an unsafe cell
    that has no other hidden cell, hide the smallest other cell (one pass). ``"relations"``:
    hide every cell of every relation of an unsafe cell.

    Example:
        >>> import numpy as np
        >>> from pplink.disclosure.audit import ProtectionProblem
        >>> A, v = two_by_two_example()
        >>> p = ProtectionProblem.simple(A, v, primary=v == 2, protection=2.0)
        >>> int(suppress_naive(p, "relations").hidden.sum())
        5
    """
    t0 = time.perf_counter()
    h = (problem.primary | problem.fixed_hidden).copy()
    E, U = problem.A_eq.tocsr(), problem.A_ub.tocsr()
    rel_rows = [E.indices[E.indptr[r] : E.indptr[r + 1]] for r in range(E.shape[0])]
    ub_rows = [U.indices[U.indptr[r] : U.indptr[r + 1]] for r in range(U.shape[0])]
    rel_rows += [r for r in ub_rows if len(r) > 2]
    by_cell: dict[int, list[np.ndarray]] = {}
    for cols_ in rel_rows:
        for c in cols_:
            by_cell.setdefault(int(c), []).append(cols_)
    for i in np.flatnonzero(problem.primary):
        for cols_ in by_cell.get(int(i), []):
            if mode == "relations":
                h[cols_[~problem.fixed_published[cols_]]] = True
                continue
            others = cols_[(cols_ != i)]
            if (h[others]).any():
                continue
            cand = others[~problem.fixed_published[others]]
            if len(cand):
                h[cand[np.argmin(problem.value[cand])]] = True
    return SuppressionResult(h, f"naive-{mode}", seconds=time.perf_counter() - t0)
