"""A small re-solvable LP model on HiGHS (the solver behind scipy.optimize).

The audit and the suppression methods solve thousands of LPs that differ only in the
objective or in a few bounds. Building each from scratch with ``scipy.optimize.linprog``
costs ~10 ms apiece; keeping one HiGHS model and changing costs/bounds lets the dual
simplex restart from the previous basis (well under a millisecond each).

We use, in order: the HiGHS binding that scipy ships (``scipy.optimize._highspy._core``,
a private module), else the ``highspy`` package when installed, else a fallback that
calls ``linprog`` on every solve (same results, slower).

Model: ``min c.x  s.t.  row_lo <= A x <= row_hi,  lb <= x <= ub``. Row duals ``y`` follow
HiGHS' convention: reduced costs = ``c - A^T y`` (``y`` is d objective / d row bound).

Example:
    >>> import numpy as np, scipy.sparse as sp
    >>> m = LPModel(sp.csr_matrix(np.array([[1.0, -1.0, -1.0]])), np.zeros(1), np.zeros(1),
    ...             np.array([-10.0, -7.0, -3.0]), np.array([0.0, 3.0, 7.0]))
    >>> m.set_objective({2: -1.0})
    >>> ok, obj, x, y = m.solve()
    >>> ok, obj
    (True, -7.0)
"""

from __future__ import annotations

from typing import Any
from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

__all__ = ["LPModel", "BACKEND"]

_core: Any = None
_Highs: Any = None
BACKEND = "linprog"
try:  # the binding bundled with scipy (private module; checked at import)
    from scipy.optimize._highspy import _core as _sc  # type: ignore[attr-defined]

    _sc.HighsLp, _sc.MatrixFormat.kColwise, _sc.HighsModelStatus.kOptimal  # noqa: B018
    _core, _Highs, BACKEND = _sc, _sc._Highs, "scipy-highs"
except Exception:  # noqa: BLE001  # pragma: no cover - depends on the scipy version
    try:
        import highspy as _hp  # type: ignore[import-not-found]

        _core, _Highs, BACKEND = _hp, _hp.Highs, "highspy"
    except Exception:  # noqa: BLE001
        pass


class LPModel:
    """min c.x s.t. row_lo <= A x <= row_hi, lb <= x <= ub; costs and bounds can change.

    Example:
        >>> import numpy as np, scipy.sparse as sp
        >>> m = LPModel(sp.csr_matrix((0, 2)), np.zeros(0), np.zeros(0), np.zeros(2), np.ones(2))
        >>> m.set_objective({0: -1.0, 1: -2.0}); m.solve()[1]
        -3.0
    """

    def __init__(
        self,
        A: sp.spmatrix,
        row_lo: np.ndarray,
        row_hi: np.ndarray,
        lb: np.ndarray,
        ub: np.ndarray,
        *,
        force_fallback: bool = False,
    ) -> None:
        self.n = int(A.shape[1])
        self.m = int(A.shape[0])
        self.A = sp.csc_matrix(A, dtype=float)
        self.row_lo = np.asarray(row_lo, dtype=float).copy()
        self.row_hi = np.asarray(row_hi, dtype=float).copy()
        self.lb = np.asarray(lb, dtype=float).copy()
        self.ub = np.asarray(ub, dtype=float).copy()
        self.c = np.zeros(self.n)
        self._nz: dict[int, float] = {}
        self.n_solves = 0
        self._fast = _Highs is not None and not force_fallback and self.n > 0
        if self._fast:
            h = _Highs()
            h.setOptionValue("output_flag", False)
            inf = float(_core.kHighsInf)
            lp = _core.HighsLp()
            lp.num_col_ = self.n
            lp.num_row_ = self.m
            lp.col_cost_ = self.c
            lp.col_lower_ = np.where(np.isfinite(self.lb), self.lb, -inf)
            lp.col_upper_ = np.where(np.isfinite(self.ub), self.ub, inf)
            lp.row_lower_ = np.where(np.isfinite(self.row_lo), self.row_lo, -inf)
            lp.row_upper_ = np.where(np.isfinite(self.row_hi), self.row_hi, inf)
            lp.a_matrix_.format_ = _core.MatrixFormat.kColwise
            lp.a_matrix_.start_ = self.A.indptr.astype(np.int32)
            lp.a_matrix_.index_ = self.A.indices.astype(np.int32)
            lp.a_matrix_.value_ = self.A.data
            lp.a_matrix_.num_col_ = self.n
            lp.a_matrix_.num_row_ = self.m
            h.passModel(lp)
            self._h = h
            self._inf = inf

    # ------------------------------------------------------------------ changes
    def set_objective(self, coefs: Mapping[int, float]) -> None:
        """Replace the objective by a sparse one ``{column: cost}``.

        Example:
            >>> import numpy as np, scipy.sparse as sp
            >>> m = LPModel(sp.csr_matrix((0, 1)), np.zeros(0), np.zeros(0), np.zeros(1), np.ones(1))
            >>> m.set_objective({0: 1.0}); m.solve()[1]
            0.0
        """
        idx = sorted(set(self._nz) | set(coefs))
        vals = [float(coefs.get(i, 0.0)) for i in idx]
        for i, v in zip(idx, vals):
            self.c[i] = v
        self._nz = {int(i): float(v) for i, v in coefs.items() if v != 0.0}
        if self._fast and idx:
            self._h.changeColsCost(len(idx), np.asarray(idx, dtype=np.int32), np.asarray(vals, dtype=float))

    def set_costs(self, c: np.ndarray) -> None:
        """Replace the whole cost vector.

        Example:
            >>> import numpy as np, scipy.sparse as sp
            >>> m = LPModel(sp.csr_matrix((0, 2)), np.zeros(0), np.zeros(0), np.zeros(2), np.ones(2))
            >>> m.set_costs(np.array([-1.0, 0.0])); m.solve()[1]
            -1.0
        """
        self.c = np.asarray(c, dtype=float).copy()
        self._nz = {int(i): float(self.c[i]) for i in np.flatnonzero(self.c)}
        if self._fast:
            self._h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), self.c)

    def set_col_bounds(self, idx: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> None:
        """Change the bounds of some columns.

        Example:
            >>> import numpy as np, scipy.sparse as sp
            >>> m = LPModel(sp.csr_matrix((0, 1)), np.zeros(0), np.zeros(0), np.zeros(1), np.ones(1))
            >>> m.set_objective({0: -1.0}); m.set_col_bounds(np.array([0]), np.array([0.0]), np.array([5.0]))
            >>> m.solve()[1]
            -5.0
        """
        idx = np.asarray(idx, dtype=np.int64)
        if not len(idx):
            return
        lb = np.broadcast_to(np.asarray(lb, dtype=float), idx.shape)
        ub = np.broadcast_to(np.asarray(ub, dtype=float), idx.shape)
        self.lb[idx] = lb
        self.ub[idx] = ub
        if self._fast:
            self._h.changeColsBounds(
                len(idx),
                idx.astype(np.int32),
                np.where(np.isfinite(lb), lb, -self._inf),
                np.where(np.isfinite(ub), ub, self._inf),
            )

    def set_row_bounds(self, idx: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        """Change the bounds of some rows.

        Example:
            >>> import numpy as np, scipy.sparse as sp
            >>> m = LPModel(sp.csr_matrix(np.array([[1.0]])), np.zeros(1), np.zeros(1), np.zeros(1), np.ones(1))
            >>> m.set_objective({0: -1.0}); m.set_row_bounds(np.array([0]), np.array([0.0]), np.array([0.5]))
            >>> m.solve()[1]
            -0.5
        """
        idx = np.asarray(idx, dtype=np.int64)
        lo = np.broadcast_to(np.asarray(lo, dtype=float), idx.shape)
        hi = np.broadcast_to(np.asarray(hi, dtype=float), idx.shape)
        self.row_lo[idx] = lo
        self.row_hi[idx] = hi
        if self._fast:
            for r, a, b in zip(idx, lo, hi):
                self._h.changeRowBounds(
                    int(r),
                    float(a) if np.isfinite(a) else -self._inf,
                    float(b) if np.isfinite(b) else self._inf,
                )

    # ------------------------------------------------------------------- solve
    def solve(self) -> tuple[bool, float, np.ndarray, np.ndarray]:
        """Solve; returns (optimal, objective, x, row duals).

        Example:
            >>> import numpy as np, scipy.sparse as sp
            >>> m = LPModel(sp.csr_matrix(np.array([[1.0, 1.0]])), np.array([1.0]), np.array([1.0]),
            ...             np.zeros(2), np.ones(2), force_fallback=True)
            >>> m.set_objective({0: 1.0}); ok, obj, x, y = m.solve(); ok, obj, x.tolist()
            (True, 0.0, [0.0, 1.0])
        """
        self.n_solves += 1
        if self.n == 0:
            return True, 0.0, np.zeros(0), np.zeros(self.m)
        if self._fast:
            self._h.run()
            if self.n_solves == 1:
                # later solves only change costs/bounds: restart from the basis, no presolve
                self._h.setOptionValue("presolve", "off")
            status = self._h.getModelStatus()
            if status != _core.HighsModelStatus.kOptimal:
                # retry once from scratch (a stale basis can confuse the solver)
                self._h.clearSolver()
                self._h.run()
                status = self._h.getModelStatus()
                if status != _core.HighsModelStatus.kOptimal:
                    return False, float("nan"), np.full(self.n, np.nan), np.zeros(self.m)
            sol = self._h.getSolution()
            obj = float(self._h.getInfo().objective_function_value)
            return True, obj, np.asarray(sol.col_value, dtype=float), np.asarray(sol.row_dual, dtype=float)
        return self._solve_linprog()

    def _solve_linprog(self) -> tuple[bool, float, np.ndarray, np.ndarray]:
        A = self.A.tocsr()
        eq = np.isfinite(self.row_lo) & np.isfinite(self.row_hi) & (self.row_lo == self.row_hi)
        up = ~eq & np.isfinite(self.row_hi)
        lo = ~eq & np.isfinite(self.row_lo)
        blocks, rhs, sign, rows = [], [], [], []
        if up.any():
            blocks.append(A[np.flatnonzero(up)])
            rhs.append(self.row_hi[up])
            sign.append(np.ones(int(up.sum())))
            rows.append(np.flatnonzero(up))
        if lo.any():
            blocks.append(-A[np.flatnonzero(lo)])
            rhs.append(-self.row_lo[lo])
            sign.append(-np.ones(int(lo.sum())))
            rows.append(np.flatnonzero(lo))
        A_ub = sp.vstack(blocks, format="csr") if blocks else None
        res = linprog(
            self.c,
            A_ub=A_ub,
            b_ub=np.concatenate(rhs) if rhs else None,
            A_eq=A[np.flatnonzero(eq)] if eq.any() else None,
            b_eq=self.row_lo[eq] if eq.any() else None,
            bounds=np.column_stack([self.lb, self.ub]),
            method="highs",
        )
        if res.status != 0:
            return False, float("nan"), np.full(self.n, np.nan), np.zeros(self.m)
        y = np.zeros(self.m)
        if eq.any():
            y[eq] = res.eqlin.marginals
        if A_ub is not None:
            marg = np.asarray(res.ineqlin.marginals)
            for r_idx, s, mg in zip(np.concatenate(rows), np.concatenate(sign), marg):
                y[r_idx] += s * mg
        return True, float(res.fun), np.asarray(res.x, dtype=float), y
