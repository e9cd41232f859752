"""Cell-key perturbation of counts (ABS TableBuilder / ONS census 2021 / Eurostat style).

* Record key of a unit: the first 32 bits of HMAC-SHA256(seed, pseudonymous unit id),
  read as a fraction of 2^32. The seed is a secret of the analyst zone.
* Cell key: the sum of the record keys of the cell's *distinct* units modulo 1 (computed
  exactly in integers modulo 2^32). The same set of units therefore always gets the same
  cell key, in whatever table or release it appears, so repeating a query or rebuilding
  a cell from another table gives the same noise (no averaging attack).
* Noise: the cell key is looked up in a *p-table*: for a cell value v, a distribution of
  integer noise on ``[max(-v, -D), D]`` with mean 0; for v >= D it is a discretised
  Gaussian shape ``exp(-lambda k^2)`` tuned to variance V; for small v the same shape with
  a tilt ``exp(mu k)`` that keeps the mean 0 while never making a count negative. Empty
  cells stay 0. The noise is the inverse cumulative distribution at the cell key.

Example:
    >>> import numpy as np, scipy.sparse as sp
    >>> pt = PTable(max_noise=2, variance=1.0)
    >>> abs(pt.mean(10)) < 1e-9, round(pt.variance(10), 6)
    (True, 1.0)
    >>> pt.noise(0, 0.73)
    0
    >>> rk = record_keys(np.array(["a", "b", "c"]), "seed")
    >>> m = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0]]))
    >>> k = cell_keys(m, rk)
    >>> bool(k[0] == k[1])
    True
"""

from __future__ import annotations

import hashlib
import hmac
import numpy as np
import scipy.sparse as sp
from scipy.optimize import brentq

__all__ = ["PTable", "record_keys", "cell_keys", "perturb_counts"]

_TWO32 = float(2**32)


def record_keys(unit_ids: np.ndarray, seed: str) -> np.ndarray:
    """32-bit record keys (uint64 array holding values < 2^32) per unit id.

    Example:
        >>> record_keys(np.array(["x"]), "s").dtype
        dtype('uint64')
    """
    key = hashlib.sha256(b"pplink-cellkey-v1\x00" + seed.encode("utf-8")).digest()
    out = np.empty(len(unit_ids), dtype=np.uint64)
    for i, u in enumerate(unit_ids):
        d = hmac.new(key, str(u).encode("utf-8"), hashlib.sha256).digest()
        out[i] = int.from_bytes(d[:4], "big")
    return out


def cell_keys(cell_units: sp.csr_matrix, rkeys: np.ndarray) -> np.ndarray:
    """Cell keys in [0, 1): sum of record keys of the cell's units, modulo 1.

    Example:
        >>> m = sp.csr_matrix(np.array([[1, 0], [0, 1], [0, 0]]))
        >>> cell_keys(m, np.array([2**31, 2**30], dtype=np.uint64)).tolist()
        [0.5, 0.25, 0.0]
    """
    m = sp.csr_matrix(cell_units)
    out = np.zeros(m.shape[0], dtype=np.uint64)
    mask = np.uint64(2**32 - 1)
    for r in range(m.shape[0]):
        cols = m.indices[m.indptr[r] : m.indptr[r + 1]]
        if len(cols):
            out[r] = np.uint64(rkeys[cols].sum(dtype=np.uint64)) & mask
    return out.astype(float) / _TWO32


class PTable:
    """Perturbation table: noise distribution per cell value.

    Example:
        >>> pt = PTable(2, 1.0)
        >>> sorted(pt.distribution(1)) == [-1, 0, 1, 2]
        True
    """

    def __init__(self, max_noise: int = 2, variance: float = 1.0) -> None:
        if max_noise < 1 or not (0 < variance < max_noise * (max_noise + 1) / 3):
            raise ValueError("need max_noise >= 1 and 0 < variance < D(D+1)/3")
        self.D = int(max_noise)
        self.V = float(variance)
        ks = np.arange(-self.D, self.D + 1, dtype=float)

        def var_of(lam: float) -> float:
            w = np.exp(-lam * ks**2)
            w /= w.sum()
            return float((w * ks**2).sum())

        self.lam = brentq(lambda lam: var_of(lam) - self.V, 1e-9, 50.0)
        self._cache: dict[int, dict[int, float]] = {}

    def distribution(self, value: int) -> dict[int, float]:
        """Noise -> probability for a cell of this (true) value.

        Example:
            >>> round(sum(PTable(2, 1.0).distribution(3).values()), 12)
            1.0
        """
        v = max(int(value), 0)
        key = min(v, self.D)  # all values >= D share one distribution
        if key not in self._cache:
            self._cache[key] = self._compute(key)
        return self._cache[key]

    def _compute(self, v: int) -> dict[int, float]:
        if v <= 0:
            return {0: 1.0}
        lo = -min(v, self.D)
        ks = np.arange(lo, self.D + 1, dtype=float)
        base = -self.lam * ks**2

        def mean_of(mu: float) -> float:
            z = base + mu * ks
            w = np.exp(z - z.max())
            w /= w.sum()
            return float((w * ks).sum())

        mu = 0.0 if lo == -self.D else brentq(mean_of, -50.0, 50.0)
        z = base + mu * ks
        w = np.exp(z - z.max())
        w /= w.sum()
        return {int(k): float(p) for k, p in zip(ks, w)}

    def mean(self, value: int) -> float:
        """Mean noise for a value (0 by construction).

        Example:
            >>> abs(PTable(2, 1.0).mean(1)) < 1e-9
            True
        """
        d = self.distribution(int(value))
        return sum(k * p for k, p in d.items())

    def variance(self, value: int) -> float:
        """Noise variance for a value.

        Example:
            >>> round(PTable(2, 1.0).variance(50), 6)
            1.0
        """
        d = self.distribution(int(value))
        m = self.mean(value)
        return sum((k - m) ** 2 * p for k, p in d.items())

    def noise(self, value: int, key: float) -> int:
        """Noise for a cell of ``value`` with cell key ``key`` (inverse CDF).

        Example:
            >>> pt = PTable(2, 1.0)
            >>> pt.noise(10, 0.0), pt.noise(10, 0.999999)
            (-2, 2)
        """
        d = self.distribution(int(value))
        acc = 0.0
        items = sorted(d.items())
        for k, p in items:
            acc += p
            if key < acc:
                return k
        return items[-1][0]


def perturb_counts(
    values: np.ndarray, cell_units: sp.csr_matrix, unit_ids: np.ndarray, seed: str, ptable: PTable
) -> np.ndarray:
    """Perturbed counts for all cells (never negative; empty cells stay 0).

    Example:
        >>> m = sp.csr_matrix(np.ones((1, 30), dtype=np.int64))
        >>> out = perturb_counts(np.array([30]), m, np.array([str(i) for i in range(30)]), "s", PTable(2, 1.0))
        >>> 28 <= int(out[0]) <= 32
        True
    """
    keys = cell_keys(cell_units, record_keys(unit_ids, seed))
    v = np.asarray(values).astype(np.int64)
    return np.array([int(x) + ptable.noise(int(x), float(k)) for x, k in zip(v, keys)], dtype=np.int64)
