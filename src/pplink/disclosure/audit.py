"""The attacker's linear programme: intervals for hidden cells, and the LP audit.

Model (after Hundepool et al. 2012, ch. 4, and the tau-argus manual). The attacker knows

* the table's linear structure: every relation "parent = sum of children" (or, where
  units overlap, ``child <= parent <= sum of children``), over all dimensions and levels;
* every published cell, exactly, or as an interval when counts are rounded or perturbed
  (rounded to base b: the true value lies within the rounding interval; cell-key noise
  of at most D: within +-D);
* a priori bounds for every hidden cell: at least 0 and at most a multiple (policy:
  ``upper_bound_factor``, default 2) of the table's grand total;
* when a ledger is used, the cells of earlier releases linked to this one.

We work in *deviations* ``d = x - a`` from the true table ``a``: the structure becomes
``A_eq d = 0``, ``A_ub d <= s`` with ``s = -A_ub a >= 0``, and each cell has a room
``-down_c <= d_c <= up_c`` that depends on whether it is hidden. The interval an attacker
can derive for hidden cell i is ``[a_i - max(-d_i), a_i + max(d_i)]``; the release is safe
when for every unsafe (primary) cell ``max d_i >= upl_i`` and ``max -d_i >= lpl_i``.

The same linear programme gives, by LP duality, *Benders cuts* for the exact suppression
method: with row duals u (equations) and v >= 0 (inequalities) of ``max e^T d``, the
reduced costs ``g = e - A_eq^T u - A_ub^T v`` split into ``alpha = max(g, 0)`` and
``beta = max(-g, 0)``, and every suppression pattern y that protects the cell satisfies
``s.v + sum_c alpha_c room_up_c(y) + beta_c room_down_c(y) >= protection``, which is linear
in y (Fischetti & Salazar-Gonzalez 2001).

Example:
    >>> import numpy as np, scipy.sparse as sp
    >>> # one row: x0 = x1 + x2, values 10 = 7 + 3; hide x2 only -> recoverable
    >>> A = sp.csr_matrix(np.array([[1.0, -1.0, -1.0]]))
    >>> p = ProtectionProblem.simple(A, np.array([10.0, 7.0, 3.0]))
    >>> lo, hi = attack_intervals(p, np.array([False, False, True]))
    >>> float(lo[2]), float(hi[2])
    (3.0, 3.0)
    >>> lo, hi = attack_intervals(p, np.array([False, True, True]))
    >>> float(lo[2]), float(hi[2])
    (0.0, 10.0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from pplink.disclosure._lp import LPModel

__all__ = [
    "ProtectionProblem",
    "AttackLP",
    "AuditResult",
    "attack_intervals",
    "audit",
    "TOL",
]

TOL = 1e-6


@dataclass
class ProtectionProblem:
    """Everything the suppression methods and the audit need, per cell.

    * ``value``: true values ``a`` (the additive quantity: counts or sums).
    * ``up_room`` / ``down_room``: how far a *hidden* cell may move up / down (a priori).
    * ``pub_up`` / ``pub_down``: how far a *published* cell may move (0 when exact).
    * ``upl`` / ``lpl``: protection levels of unsafe cells (0 elsewhere).
    * ``primary``: unsafe cells (must be hidden); ``cost``: information-loss weights.
    * ``fixed_published`` / ``fixed_hidden``: cells whose status cannot change (e.g. cells
      of earlier releases in a ledger).

    Example:
        >>> import numpy as np, scipy.sparse as sp
        >>> p = ProtectionProblem.simple(sp.csr_matrix(np.array([[1.0, -1.0]])), np.array([4.0, 4.0]))
        >>> p.n
        2
    """

    A_eq: sp.csr_matrix
    A_ub: sp.csr_matrix
    value: np.ndarray
    up_room: np.ndarray
    down_room: np.ndarray
    pub_up: np.ndarray
    pub_down: np.ndarray
    upl: np.ndarray
    lpl: np.ndarray
    primary: np.ndarray
    cost: np.ndarray
    fixed_published: np.ndarray
    fixed_hidden: np.ndarray
    slack: np.ndarray = field(init=False)
    _eq_csc: sp.csc_matrix = field(init=False, repr=False)
    _ub_csc: sp.csc_matrix = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.value)
        self.A_eq = sp.csr_matrix(self.A_eq, dtype=float)
        self.A_ub = sp.csr_matrix(self.A_ub, dtype=float)
        if self.A_eq.shape[1] != n or self.A_ub.shape[1] != n:
            raise ValueError("constraint matrices must have one column per cell")
        self.slack = np.maximum(-(self.A_ub @ self.value), 0.0) if self.A_ub.shape[0] else np.zeros(0)
        self._eq_csc = self.A_eq.tocsc()
        self._ub_csc = self.A_ub.tocsc()

    @property
    def n(self) -> int:
        """Number of cells.

        Example:
            >>> import numpy as np, scipy.sparse as sp
            >>> ProtectionProblem.simple(sp.csr_matrix((0, 3)), np.zeros(3)).n
            3
        """
        return len(self.value)

    @staticmethod
    def simple(
        A_eq: sp.csr_matrix,
        value: np.ndarray,
        *,
        A_ub: sp.csr_matrix | None = None,
        primary: np.ndarray | None = None,
        protection: float | np.ndarray = 0.0,
        upper: float | None = None,
    ) -> ProtectionProblem:
        """A problem with exact publication, bounds [0, upper] (default: max value).

        Example:
            >>> import numpy as np, scipy.sparse as sp
            >>> p = ProtectionProblem.simple(sp.csr_matrix(np.array([[1.0, -1.0, -1.0]])),
            ...                              np.array([10.0, 7.0, 3.0]), primary=np.array([False, False, True]),
            ...                              protection=2.0)
            >>> p.upl.tolist(), p.lpl.tolist()
            ([0.0, 0.0, 2.0], [0.0, 0.0, 2.0])
        """
        value = np.asarray(value, dtype=float)
        n = len(value)
        top = float(upper if upper is not None else (value.max() if n else 0.0))
        prim = np.zeros(n, bool) if primary is None else np.asarray(primary, bool)
        prot = np.broadcast_to(np.asarray(protection, dtype=float), (n,))
        upl = np.where(prim, np.minimum(prot, np.maximum(top - value, 0.0)), 0.0)
        lpl = np.where(prim, np.minimum(prot, value), 0.0)
        return ProtectionProblem(
            A_eq=A_eq,
            A_ub=A_ub if A_ub is not None else sp.csr_matrix((0, n)),
            value=value,
            up_room=np.maximum(top - value, 0.0),
            down_room=value.copy(),
            pub_up=np.zeros(n),
            pub_down=np.zeros(n),
            upl=upl,
            lpl=lpl,
            primary=prim,
            cost=value + 1.0,
            fixed_published=np.zeros(n, bool),
            fixed_hidden=np.zeros(n, bool),
        )

    def rooms(self, hidden: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Up and down room of every cell for a given hidden mask.

        Example:
            >>> import numpy as np, scipy.sparse as sp
            >>> p = ProtectionProblem.simple(sp.csr_matrix((0, 2)), np.array([3.0, 5.0]))
            >>> [r.tolist() for r in p.rooms(np.array([True, False]))]
            [[2.0, 0.0], [3.0, 0.0]]
        """
        up = np.where(hidden, self.up_room, self.pub_up)
        down = np.where(hidden, self.down_room, self.pub_down)
        return up, down

    def protected(self, hi_dev: float, lo_dev: float, i: int) -> tuple[bool, bool]:
        """Whether the upward/downward reach of cell i meets its protection levels.

        Example:
            >>> import numpy as np, scipy.sparse as sp
            >>> p = ProtectionProblem.simple(sp.csr_matrix((0, 1)), np.array([3.0]), primary=np.array([True]),
            ...                              protection=2.0, upper=10.0)
            >>> p.protected(2.0, 1.0, 0)
            (True, False)
        """
        tol_u = TOL * max(1.0, abs(self.upl[i]))
        tol_l = TOL * max(1.0, abs(self.lpl[i]))
        return bool(hi_dev >= self.upl[i] - tol_u), bool(lo_dev >= self.lpl[i] - tol_l)


class AttackLP:
    """The attacker's LP over all cells for a suppression pattern, kept warm between solves.

    Rows: the table's equations (= 0) and inequalities (<= slack) in deviations; column
    bounds: each cell's room for the current pattern. :meth:`reach` gives ``max d_i``
    (direction +1) or ``max -d_i`` (direction -1); :meth:`set_hidden` changes the pattern
    (only the bounds of changed cells); :meth:`cut` the matching Benders cut.

    Example:
        >>> import numpy as np, scipy.sparse as sp
        >>> A = sp.csr_matrix(np.array([[1.0, -1.0, -1.0]]))
        >>> p = ProtectionProblem.simple(A, np.array([10.0, 7.0, 3.0]))
        >>> lp = AttackLP(p, np.array([False, True, True]))
        >>> lp.reach(2, +1)[0], lp.reach(2, -1)[0]
        (7.0, 3.0)
        >>> lp.set_hidden(np.array([False, False, True])); lp.reach(2, +1)[0]
        0.0
    """

    def __init__(self, problem: ProtectionProblem, hidden: np.ndarray) -> None:
        self.p = problem
        self.hidden = np.asarray(hidden, dtype=bool).copy()
        self.m_eq = problem.A_eq.shape[0]
        self.m_ub = problem.A_ub.shape[0]
        self._eq_csc = problem.A_eq.tocsc()
        self._ub_csc = problem.A_ub.tocsc()
        self._solves_done = 0
        self.model: LPModel | None = None
        self._build()

    def _build(self) -> None:
        """(Re)build the LP over the cells that can move and the rows that touch them."""
        if self.model is not None:
            self._solves_done += self.model.n_solves
        p = self.p
        up, down = p.rooms(self.hidden)
        var = np.flatnonzero((up > 0) | (down > 0) | self.hidden)
        self.var = var
        self.pos = np.full(p.n, -1, dtype=np.int64)
        self.pos[var] = np.arange(len(var))
        eq = self._eq_csc[:, var].tocsr()
        ub = self._ub_csc[:, var].tocsr()
        self.eq_rows = np.flatnonzero(np.diff(eq.indptr) > 0)
        self.ub_rows = np.flatnonzero(np.diff(ub.indptr) > 0)
        A = sp.vstack([eq[self.eq_rows], ub[self.ub_rows]], format="csr")
        row_lo = np.concatenate([np.zeros(len(self.eq_rows)), np.full(len(self.ub_rows), -np.inf)])
        row_hi = np.concatenate([np.zeros(len(self.eq_rows)), p.slack[self.ub_rows]])
        self.model = LPModel(A, row_lo, row_hi, -down[var], up[var])
        self._dirty = False

    @property
    def n_solves(self) -> int:
        """Number of LPs solved so far.

        Example:
            >>> import numpy as np, scipy.sparse as sp
            >>> AttackLP(ProtectionProblem.simple(sp.csr_matrix((0, 1)), np.ones(1)), np.ones(1, bool)).n_solves
            0
        """
        return self._solves_done + (self.model.n_solves if self.model is not None else 0)

    def set_hidden(self, hidden: np.ndarray) -> None:
        """Switch to another suppression pattern (the LP is rebuilt on the next solve).

        Example:
            >>> import numpy as np, scipy.sparse as sp
            >>> lp = AttackLP(ProtectionProblem.simple(sp.csr_matrix((0, 1)), np.ones(1)), np.zeros(1, bool))
            >>> lp.set_hidden(np.ones(1, bool)); bool(lp.hidden[0])
            True
        """
        hidden = np.asarray(hidden, dtype=bool)
        if not np.array_equal(hidden, self.hidden):
            self.hidden = hidden.copy()
            self._dirty = True

    def reach(self, i: int, direction: int) -> tuple[float, np.ndarray | None]:
        """``max direction * d_i`` and the row duals of that LP (over all rows).

        Example:
            >>> import numpy as np, scipy.sparse as sp
            >>> p = ProtectionProblem.simple(sp.csr_matrix(np.array([[1.0, -1.0]])), np.array([4.0, 4.0]))
            >>> abs(AttackLP(p, np.array([True, True])).reach(0, +1)[0])
            0.0
        """
        if self._dirty:
            self._build()
        assert self.model is not None
        j = int(self.pos[int(i)])
        if j < 0:
            return 0.0, None
        self.model.set_objective({j: -float(direction)})
        ok, obj, _x, y = self.model.solve()
        if not ok:  # pragma: no cover - the zero deviation is always feasible and bounds are finite
            raise RuntimeError("attack LP could not be solved")
        full = np.zeros(self.m_eq + self.m_ub)
        k = len(self.eq_rows)
        full[self.eq_rows] = y[:k]
        full[self.m_eq + self.ub_rows] = y[k:]
        return float(-obj) + 0.0, full

    def cut(self, i: int, direction: int, duals: np.ndarray | None) -> tuple[np.ndarray, float, float]:
        """Benders cut from the row duals of :meth:`reach`.

        Returns (coef, constant, value_at_current_pattern): a pattern y protects cell i in
        this direction only if ``coef @ y + constant >= protection``.

        Example:
            >>> import numpy as np, scipy.sparse as sp
            >>> A = sp.csr_matrix(np.array([[1.0, -1.0, -1.0]]))
            >>> p = ProtectionProblem.simple(A, np.array([10.0, 7.0, 3.0]))
            >>> lp = AttackLP(p, np.array([False, False, True]))
            >>> val, y = lp.reach(2, +1)
            >>> coef, const, at = lp.cut(2, +1, y)
            >>> bool(coef[0] > 0 or coef[1] > 0), at
            (True, 0.0)
        """
        p = self.p
        g = np.zeros(p.n)
        g[i] = float(direction)
        const = 0.0
        if duals is not None and len(duals):
            u = -duals[: self.m_eq]
            v = np.maximum(-duals[self.m_eq :], 0.0)
            if self.m_eq:
                g -= p.A_eq.T @ u
            if self.m_ub:
                g -= p.A_ub.T @ v
                const += float(p.slack @ v)
        alpha = np.maximum(g, 0.0)
        beta = np.maximum(-g, 0.0)
        const += float(alpha @ p.pub_up + beta @ p.pub_down)
        coef = alpha * np.maximum(p.up_room - p.pub_up, 0.0) + beta * np.maximum(
            p.down_room - p.pub_down, 0.0
        )
        at = float(coef @ self.hidden.astype(float) + const)
        return coef, const, at


@dataclass
class AuditResult:
    """Outcome of the LP audit.

    ``lower``/``upper``: the attacker's interval per cell (published exact cells: the value;
    NaN where not computed); ``failures``: unsafe cells whose interval is too narrow.

    Example:
        >>> AuditResult(True, np.zeros(1), np.zeros(1), [], 0).passed
        True
    """

    passed: bool
    lower: np.ndarray
    upper: np.ndarray
    failures: list[dict[str, Any]]
    n_lp: int

    def to_dict(self) -> dict[str, Any]:
        """Summary for the report (intervals are listed per cell elsewhere).

        Example:
            >>> AuditResult(True, np.zeros(1), np.zeros(1), [], 3).to_dict()["lp_solved"]
            3
        """
        return {"passed": self.passed, "failures": self.failures, "lp_solved": self.n_lp}


def attack_intervals(
    problem: ProtectionProblem, hidden: np.ndarray, cells: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Attacker intervals [lower, upper] (in value units) for ``cells`` (default: hidden cells).

    Other cells get NaN. Two LPs per cell.

    Example:
        >>> import numpy as np, scipy.sparse as sp
        >>> A = sp.csr_matrix(np.array([[1.0, -1.0, -1.0]]))
        >>> p = ProtectionProblem.simple(A, np.array([10.0, 7.0, 3.0]))
        >>> lo, hi = attack_intervals(p, np.array([True, True, True]))
        >>> hi.tolist()
        [10.0, 10.0, 10.0]
    """
    hidden = np.asarray(hidden, bool)
    lp = AttackLP(problem, hidden)
    cells = np.flatnonzero(hidden) if cells is None else np.asarray(cells, dtype=np.int64)
    lo = np.full(problem.n, np.nan)
    hi = np.full(problem.n, np.nan)
    for i in cells:
        up, _ = lp.reach(int(i), +1)
        down, _ = lp.reach(int(i), -1)
        hi[i] = problem.value[i] + up
        lo[i] = problem.value[i] - down
    return lo, hi


def audit(
    problem: ProtectionProblem,
    hidden: np.ndarray,
    *,
    all_hidden: bool = True,
    cells: np.ndarray | None = None,
) -> AuditResult:
    """Audit a suppression pattern: intervals for hidden cells; fail on narrow unsafe cells.

    ``all_hidden=False`` computes intervals for unsafe cells only (faster). ``cells``
    restricts the audit to those cells.

    Example:
        >>> import numpy as np, scipy.sparse as sp
        >>> A = sp.csr_matrix(np.array([[1.0, -1.0, -1.0]]))
        >>> p = ProtectionProblem.simple(A, np.array([10.0, 7.0, 3.0]),
        ...                              primary=np.array([False, False, True]), protection=2.0)
        >>> audit(p, np.array([False, False, True])).passed
        False
        >>> audit(p, np.array([False, True, True])).passed
        True
    """
    hidden = np.asarray(hidden, bool)
    missing = problem.primary & ~hidden
    lp = AttackLP(problem, hidden)
    if cells is None:
        cells = np.flatnonzero(hidden if all_hidden else (hidden & problem.primary))
    lo = np.full(problem.n, np.nan)
    hi = np.full(problem.n, np.nan)
    pub = ~hidden
    lo[pub] = problem.value[pub] - problem.pub_down[pub]
    hi[pub] = problem.value[pub] + problem.pub_up[pub]
    failures: list[dict[str, Any]] = []
    for i in np.flatnonzero(missing):
        failures.append({"cell": int(i), "reason": "unsafe cell is published"})
    for i in np.asarray(cells, dtype=np.int64):
        i = int(i)
        up, _ = lp.reach(i, +1)
        down, _ = lp.reach(i, -1)
        hi[i] = problem.value[i] + up
        lo[i] = problem.value[i] - down
        if problem.primary[i]:
            ok_up, ok_down = problem.protected(up, down, i)
            if not (ok_up and ok_down):
                failures.append(
                    {
                        "cell": i,
                        "reason": "interval too narrow",
                        "upper_ok": ok_up,
                        "lower_ok": ok_down,
                    }
                )
    return AuditResult(not failures, lo, hi, failures, lp.n_solves)
