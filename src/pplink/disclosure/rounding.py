"""Rounding of counts to a base (3, 5, 10, ...): nearest (independent) and controlled.

* **nearest** (CBS neighbourhood-table style): every cell, totals included, is rounded on
  its own to the nearest multiple of the base (halves up). Totals are the rounded true
  totals, so they can differ from the sum of the published cells; an attacker knows each
  true value only to within the rounding interval ``[r - floor(b/2), r + ceil(b/2) - 1]``.
* **controlled** (Cox 1987): every cell is rounded to one of the two adjacent multiples
  (multiples stay as they are) such that every additive relation still holds for the
  rounded values, minimising the total absolute change; a small MILP. Published totals
  then equal the sum of their published parts. The attacker knows each true value within
  ``r +- (b - 1)``. Because the rounded margins are additive, the rounded value of a hidden
  cell could be recovered from them; therefore controlled rounding is applied only when no
  cell is hidden (the release falls back to nearest rounding otherwise).

Example:
    >>> import numpy as np
    >>> round_nearest(np.array([0, 1, 2, 3, 7, 12, 13]), 5).tolist()
    [0, 0, 0, 5, 5, 10, 15]
    >>> lo, hi = rounding_interval(np.array([5.0]), 5, "nearest")
    >>> float(lo[0]), float(hi[0])
    (3.0, 7.0)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

__all__ = ["round_nearest", "round_controlled", "rounding_interval"]


def round_nearest(values: np.ndarray, base: int) -> np.ndarray:
    """Round each value to the nearest multiple of ``base`` (halves up).

    Example:
        >>> round_nearest(np.array([2.5, 4, 15]), 10).tolist()
        [0, 0, 20]
    """
    v = np.asarray(values, dtype=float)
    return (base * np.floor(v / base + 0.5)).astype(np.int64)


def rounding_interval(rounded: np.ndarray, base: int, method: str) -> tuple[np.ndarray, np.ndarray]:
    """The interval (integers, >= 0) in which a true count lies, given its rounded value.

    Example:
        >>> lo, hi = rounding_interval(np.array([0.0, 10.0]), 10, "nearest")
        >>> lo.tolist(), hi.tolist()
        ([0.0, 5.0], [4.0, 14.0])
        >>> lo, hi = rounding_interval(np.array([5.0]), 5, "controlled")
        >>> float(lo[0]), float(hi[0])
        (1.0, 9.0)
    """
    r = np.asarray(rounded, dtype=float)
    if method == "controlled":
        lo, hi = r - (base - 1), r + (base - 1)
    else:
        lo, hi = r - base // 2, r + (base - base // 2) - 1
    return np.maximum(lo, 0.0), hi


def round_controlled(
    values: np.ndarray,
    base: int,
    A_eq: sp.csr_matrix,
    A_ub: sp.csr_matrix | None = None,
    *,
    time_limit_s: float = 20.0,
) -> np.ndarray | None:
    """Zero-restricted controlled rounding keeping ``A_eq r = 0`` (and ``A_ub r <= 0``).

    Returns None when no such rounding exists or none is found in time.

    Example:
        >>> import numpy as np, scipy.sparse as sp
        >>> A = sp.csr_matrix(np.array([[1.0, -1.0, -1.0]]))   # t = a + b
        >>> round_controlled(np.array([9, 3, 6]), 5, A).tolist()
        [10, 5, 5]
    """
    v = np.asarray(values, dtype=float)
    n = len(v)
    low = base * np.floor(v / base)
    rem = v - low
    free = rem > 0
    # r = low + base * z ; z = 0 where the value already is a multiple
    cost = np.where(free, base - 2 * rem, 0.0)
    ub = free.astype(float)
    cons = []
    if A_eq is not None and A_eq.shape[0]:
        rhs = -(A_eq @ low) / base
        cons.append(LinearConstraint(A_eq, lb=rhs, ub=rhs))
    if A_ub is not None and A_ub.shape[0]:
        rhs = -(A_ub @ low) / base
        cons.append(LinearConstraint(A_ub, lb=np.full(A_ub.shape[0], -np.inf), ub=rhs))
    res = milp(
        cost,
        integrality=np.ones(n),
        bounds=Bounds(np.zeros(n), ub),
        constraints=cons,
        options={"time_limit": time_limit_s, "disp": False},
    )
    if res.x is None or res.status not in (0, 1):
        return None
    z = np.round(res.x)
    r = low + base * z
    if A_eq is not None and A_eq.shape[0] and np.abs(A_eq @ r).max() > 1e-6:
        return None
    return r.astype(np.int64)
