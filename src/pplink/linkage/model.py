"""Fellegi–Sunter match model with EM estimation of the m- and u-probabilities.

Each candidate pair is described by a *comparison vector* ``gamma``: one small integer per
feature (first name, surname, birth date, ...), the *comparison level*. Levels run from
``0`` (strongest disagreement) to ``L_f - 1`` (strongest agreement) for feature ``f``; the
value ``-1`` means *missing* (one side has no value), and a missing feature contributes
nothing to the match weight and is left out of the estimation of that feature's
probabilities. ``gamma`` is an ``int8`` array of shape ``(n_pairs, n_features)``; build it
with :func:`levels_from_similarity` (from Dice similarities of field-level Bloom filters)
and :func:`levels_from_agreement` (from equality of exact tokens such as a BSN token).

The model (Fellegi & Sunter 1969) assumes that, among matches ``M`` and among non-matches
``U``, the features are independent (*conditional independence*). For level ``l`` of
feature ``f``::

    m_f[l] = P(gamma_f = l | M)        u_f[l] = P(gamma_f = l | U)

and a pair's *match weight* is ``W = sum_f log2(m_f[gamma_f] / u_f[gamma_f])`` over its
non-missing features. With the share of matches among the candidate pairs,
``lambda = P(M)``, the posterior match probability is::

    P(M | gamma) = 1 / (1 + (1 - lambda) / lambda * 2 ** -W)

Estimation
    :meth:`FellegiSunter.fit` estimates ``m``, ``u`` and ``lambda`` without labels by the
    EM algorithm for a two-class latent-class model (Winkler 1988, 1993): the E-step
    computes each pair's posterior match probability, the M-step re-estimates the
    probabilities as posterior-weighted level frequencies. EM works on the distinct
    comparison patterns with their counts, so an iteration costs O(patterns), not
    O(pairs) — a few hundred patterns even for millions of pairs. Additive (Laplace-style)
    smoothing keeps every probability strictly inside (0, 1), so no weight is infinite.

    The robust variant (as in Splink) estimates ``u`` from *random* pairs — which are
    almost all non-matches — with :meth:`FellegiSunter.estimate_u_random`, fixes it
    (``fit(..., fix_u=u)``), and lets EM estimate only ``m`` and ``lambda``. This avoids
    the classic EM failure where the latent classes drift towards "same household" versus
    "different household" rather than "same person" versus "different person".

    :meth:`FellegiSunter.fit_supervised` estimates the probabilities from a labelled
    sample (e.g. clerical review, or a source pair with a trusted shared identifier).

Limits
    Conditional independence rarely holds exactly (e.g. postcode and house number agree
    together); correlated features are counted twice, which makes weights too extreme and
    posterior probabilities over-confident. Merge strongly correlated fields into one
    feature with joint levels where possible. The posterior depends on ``lambda``, which
    depends on how many non-matches blocking let through.

Example:
    >>> import numpy as np
    >>> gamma = np.array([[1, 1], [0, 0], [1, -1], [0, 1]], dtype=np.int8)
    >>> model = FellegiSunter([2, 2], ["surname", "birth_date"])
    >>> model.fit_supervised(gamma, np.array([True, False, True, False])).m_[0].round(4)
    array([0., 1.])
    >>> w = model.match_weights(gamma)
    >>> bool(w[0] > w[2] > w[3] > w[1])
    True
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import expit

__all__ = [
    "FellegiSunter",
    "levels_from_agreement",
    "levels_from_similarity",
]

#: Smallest probability a supervised estimate may take (levels never observed in a class).
_FLOOR = 1e-6


# --------------------------------------------------------------------------- levels


def levels_from_similarity(
    sim: np.ndarray,
    thresholds: Sequence[float],
    missing: np.ndarray | None = None,
) -> np.ndarray:
    """Comparison levels from similarity scores cut at increasing ``thresholds``.

    With thresholds ``t_1 < ... < t_k`` the level is the number of thresholds the score
    reaches: ``0`` if ``sim < t_1``, ``1`` if ``t_1 <= sim < t_2``, ..., ``k`` if
    ``sim >= t_k`` (so ``k + 1`` levels). Pairs flagged in ``missing`` and ``NaN``
    similarities get level ``-1``.

    Example:
        >>> import numpy as np
        >>> sim = np.array([0.2, 0.7, 0.9, 0.96, 1.0, 0.5])
        >>> levels_from_similarity(sim, (0.7, 0.85, 0.95), missing=sim == 0.5)
        array([ 0,  1,  2,  3,  3, -1], dtype=int8)
    """
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise ValueError("thresholds must be a non-empty sequence of numbers")
    if t.size > 126:
        raise ValueError("at most 126 thresholds (levels are stored as int8)")
    if np.any(np.diff(t) <= 0) or not np.all(np.isfinite(t)):
        raise ValueError("thresholds must be finite and strictly increasing")
    s = np.asarray(sim, dtype=np.float64)
    out = np.searchsorted(t, s, side="right").astype(np.int8)
    out[np.isnan(s)] = -1
    if missing is not None:
        miss = np.asarray(missing, dtype=bool)
        if miss.shape != s.shape:
            raise ValueError(f"missing has shape {miss.shape}, sim has shape {s.shape}")
        out[miss] = -1
    return out


def levels_from_agreement(equal: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Two-level comparison: ``1`` agree, ``0`` disagree, ``-1`` missing.

    Example:
        >>> import numpy as np
        >>> levels_from_agreement(np.array([True, False, True]), np.array([False, False, True]))
        array([ 1,  0, -1], dtype=int8)
    """
    eq = np.asarray(equal, dtype=bool)
    miss = np.asarray(missing, dtype=bool)
    if eq.shape != miss.shape:
        raise ValueError(f"equal has shape {eq.shape}, missing has shape {miss.shape}")
    out = eq.astype(np.int8)
    out[miss] = -1
    return out


# --------------------------------------------------------------------------- patterns


def _unique_patterns(gamma: np.ndarray, n_levels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``gamma`` and how often each occurs (see :func:`unique_patterns`)."""
    patterns, counts, _ = unique_patterns(gamma, n_levels)
    return patterns, counts


def unique_patterns(gamma: np.ndarray, n_levels: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of ``gamma``, how often each occurs, and the row of each input pair.

    Comparison vectors take few distinct values (a few thousand patterns for millions of
    pairs), so everything that depends only on the pattern — EM, probabilities, weights —
    is computed once per pattern. Rows are packed into one int64 key (mixed radix
    ``L_f + 1``, ``-1`` shifted to 0) so that a 1-D sort suffices; very wide vectors fall
    back to a row-wise ``np.unique``.

    Example:
        >>> import numpy as np
        >>> pats, counts, inverse = unique_patterns(np.array([[1, 0], [0, -1], [1, 0]], dtype=np.int8), [2, 2])
        >>> pats.tolist(), counts.tolist(), inverse.tolist()
        ([[0, -1], [1, 0]], [1, 2], [1, 0, 1])
    """
    n, n_feat = gamma.shape
    radices = [int(L) + 1 for L in n_levels]
    if n == 0:
        return np.empty((0, n_feat), np.int8), np.empty(0, np.int64), np.empty(0, np.int64)
    if math.prod(radices) < 2**62:
        key = np.zeros(n, dtype=np.int64)
        for f in range(n_feat):
            key *= radices[f]
            key += gamma[:, f].astype(np.int64) + 1
        ukey, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        patterns = np.empty((ukey.size, n_feat), dtype=np.int8)
        rest = ukey.copy()
        for f in range(n_feat - 1, -1, -1):
            patterns[:, f] = (rest % radices[f]) - 1
            rest //= radices[f]
        return patterns, counts.astype(np.int64), inverse.reshape(-1).astype(np.int64)
    patterns, inverse, counts = np.unique(gamma, axis=0, return_inverse=True, return_counts=True)
    return patterns.astype(np.int8), counts.astype(np.int64), inverse.reshape(-1).astype(np.int64)


def _log_class_probs(patterns: np.ndarray, probs: Sequence[np.ndarray]) -> np.ndarray:
    """``sum_f log probs_f[gamma_f]`` over the non-missing features of each pattern."""
    out = np.zeros(patterns.shape[0], dtype=np.float64)
    for f, p in enumerate(probs):
        g = patterns[:, f]
        ok = g >= 0
        out[ok] += np.log(p)[g[ok]]
    return out


def _weighted_level_counts(patterns: np.ndarray, weights: np.ndarray, n_levels: Sequence[int]) -> list[np.ndarray]:
    """Per feature, the total weight of the patterns at each level (missing left out)."""
    out = []
    for f, L in enumerate(n_levels):
        g = patterns[:, f]
        ok = g >= 0
        out.append(np.bincount(g[ok].astype(np.int64), weights=weights[ok], minlength=L).astype(np.float64))
    return out


def _normalise(counts: np.ndarray, alpha: float) -> np.ndarray:
    c = counts + alpha
    total = c.sum()
    if total <= 0:  # no information at all: uniform
        return np.full(c.shape, 1.0 / c.size)
    return c / total


def _floor_normalise(counts: np.ndarray) -> np.ndarray:
    """Relative frequencies; empty levels get a tiny floor so no probability is 0 or 1."""
    total = counts.sum()
    if total <= 0:
        return np.full(counts.shape, 1.0 / counts.size)
    p = counts / total
    if np.any(p < _FLOOR):
        p = np.maximum(p, _FLOOR)
        p = p / p.sum()
    return p


class _EM:
    """EM for the two-class model on distinct patterns, with SQUAREM acceleration.

    The parameters are packed into one vector ``theta = [lambda, m_0, m_1, ..., u_0, ...]``
    (the u part is absent when u is fixed). One EM step is the map ``F(theta)``; the
    M-step uses additive smoothing ``alpha`` (a Dirichlet prior), so EM increases the
    penalised log-likelihood ``objective`` monotonically.

    Plain EM converges linearly and slowly when one class is rare; SQUAREM (Varadhan &
    Roland 2008, scheme S3) extrapolates from two EM steps,
    ``theta' = theta0 - 2 a r + a^2 v`` with ``r = F(theta0) - theta0``,
    ``v = F(F(theta0)) - 2 F(theta0) + theta0`` and ``a = -|r| / |v|`` (at most -1),
    then takes one EM step from ``theta'``. The extrapolation keeps every distribution
    summing to one; it is rejected (falling back to the plain second EM step) when it
    leaves the parameter space or lowers the objective.
    """

    def __init__(
        self,
        patterns: np.ndarray,
        counts: np.ndarray,
        n_levels: Sequence[int],
        alpha: float,
        u_fixed: list[np.ndarray] | None,
    ) -> None:
        self.patterns = patterns
        self.counts = counts
        self.n_total = float(counts.sum())
        self.n_levels = list(n_levels)
        self.alpha = alpha
        self.u_fixed = u_fixed
        self.offsets = np.concatenate([[0], np.cumsum(self.n_levels)]).astype(np.int64)

    def pack(self, lam: float, m: Sequence[np.ndarray], u: Sequence[np.ndarray]) -> np.ndarray:
        parts = [np.array([lam]), *m]
        if self.u_fixed is None:
            parts.extend(u)
        return np.concatenate(parts)

    def unpack(self, theta: np.ndarray) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
        k = self.offsets[-1]
        o = self.offsets
        m = [theta[1 + o[f] : 1 + o[f + 1]].copy() for f in range(len(self.n_levels))]
        if self.u_fixed is None:
            u = [theta[1 + k + o[f] : 1 + k + o[f + 1]].copy() for f in range(len(self.n_levels))]
        else:
            u = self.u_fixed
        return float(theta[0]), m, u

    @staticmethod
    def valid(theta: np.ndarray) -> bool:
        return bool(np.all(np.isfinite(theta)) and np.all(theta > 0) and np.all(theta < 1))

    def _e_step(self, theta: np.ndarray) -> tuple[np.ndarray, float]:
        """Posterior match weights per pattern, and the objective at ``theta``."""
        lam, m, u = self.unpack(theta)
        log_m = _log_class_probs(self.patterns, m) + math.log(lam)
        log_u = _log_class_probs(self.patterns, u) + math.log1p(-lam)
        log_joint = np.logaddexp(log_m, log_u)
        objective = float(np.dot(self.counts, log_joint))
        if self.alpha > 0:
            free = theta[1:]
            objective += self.alpha * float(np.sum(np.log(free)))
        return self.counts * np.exp(log_m - log_joint), objective

    def step(self, theta: np.ndarray) -> tuple[np.ndarray, float]:
        """One EM step ``F(theta)``, and the objective at ``theta``."""
        wm, objective = self._e_step(theta)
        lam = float(np.clip(wm.sum() / self.n_total, 1e-12, 1.0 - 1e-12))
        m = [_normalise(c, self.alpha) for c in _weighted_level_counts(self.patterns, wm, self.n_levels)]
        if self.u_fixed is None:
            wu = self.counts - wm
            u = [_normalise(c, self.alpha) for c in _weighted_level_counts(self.patterns, wu, self.n_levels)]
        else:
            u = self.u_fixed
        return self.pack(lam, m, u), objective

    def squarem_cycle(self, theta0: np.ndarray) -> np.ndarray:
        theta1, _ = self.step(theta0)
        theta2, _ = self.step(theta1)
        r = theta1 - theta0
        v = theta2 - theta1 - r
        norm_v = float(np.linalg.norm(v))
        if norm_v == 0.0:
            return theta2
        a = min(-float(np.linalg.norm(r)) / norm_v, -1.0)
        theta_x = theta0 - 2.0 * a * r + a * a * v
        if not self.valid(theta_x):
            return theta2
        theta_new, _ = self.step(theta_x)
        if not self.valid(theta_new):
            return theta2
        _, obj_new = self._e_step(theta_new)
        _, obj_2 = self._e_step(theta2)
        return theta_new if obj_new >= obj_2 else theta2


# --------------------------------------------------------------------------- model


class FellegiSunter:
    """Fellegi–Sunter model over ``len(n_levels)`` features with ``n_levels[f]`` levels each.

    Args:
        n_levels: number of comparison levels per feature (each at least 2).
        feature_names: names used in :meth:`summary` (default ``f0, f1, ...``).
        smoothing: additive pseudo-count per level used by :meth:`fit` (EM) and
            :meth:`estimate_u_random`, which keeps every probability strictly inside
            (0, 1). ``1.0`` is negligible for thousands of pairs per class.

    Attributes (after fitting):
        m_, u_: lists of per-feature arrays of probabilities over the levels.
        lambda_: share of matches among the pairs the model was fitted on.
        n_iter_: accelerated EM iterations done (each is three EM steps, see :meth:`fit`;
            0 for a supervised fit).
        converged_: whether the largest parameter change fell below ``tol``.
        log_likelihood_: log-likelihood of the fitted mixture on the fitting data
            (natural log).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> match = rng.random(20000) < 0.05
        >>> agree = np.where(match[:, None], rng.random((20000, 3)) < 0.95, rng.random((20000, 3)) < 0.1)
        >>> model = FellegiSunter([2, 2, 2]).fit(agree.astype(np.int8))
        >>> round(model.lambda_, 2), all(abs(m[1] - 0.95) < 0.02 for m in model.m_)
        (0.05, True)
    """

    def __init__(
        self,
        n_levels: Sequence[int],
        feature_names: Sequence[str] | None = None,
        *,
        smoothing: float = 1.0,
    ) -> None:
        levels = [int(L) for L in n_levels]
        if not levels:
            raise ValueError("a model needs at least one feature")
        if any(L < 2 or L > 127 for L in levels):
            raise ValueError(f"every feature needs between 2 and 127 levels, got {levels}")
        if feature_names is None:
            names = [f"f{i}" for i in range(len(levels))]
        else:
            names = [str(x) for x in feature_names]
            if len(names) != len(levels):
                raise ValueError(f"{len(names)} feature names for {len(levels)} features")
        if not smoothing >= 0:
            raise ValueError("smoothing must be >= 0")
        self.n_levels: list[int] = levels
        self.feature_names: list[str] = names
        self.smoothing = float(smoothing)
        self.m_: list[np.ndarray] | None = None
        self.u_: list[np.ndarray] | None = None
        self.lambda_: float | None = None
        self.n_iter_: int = 0
        self.converged_: bool = False
        self.log_likelihood_: float = float("nan")

    def __repr__(self) -> str:
        state = "unfitted" if self.m_ is None else f"lambda={self.lambda_:.4g}"
        return f"FellegiSunter(features={self.feature_names}, levels={self.n_levels}, {state})"

    # ----------------------------------------------------------------- checks

    @property
    def n_features(self) -> int:
        """Number of features (columns of ``gamma``)."""
        return len(self.n_levels)

    def _check_gamma(self, gamma: np.ndarray) -> np.ndarray:
        g = np.asarray(gamma)
        if g.ndim == 1 and self.n_features == 1:
            g = g[:, None]
        if g.ndim != 2 or g.shape[1] != self.n_features:
            raise ValueError(f"gamma must have shape (n_pairs, {self.n_features}), got {g.shape}")
        if not np.issubdtype(g.dtype, np.integer):
            raise TypeError(f"gamma must hold integer levels, got dtype {g.dtype}")
        if g.size:
            lo = g.min(axis=0)
            hi = g.max(axis=0)
            for f, L in enumerate(self.n_levels):
                if lo[f] < -1 or hi[f] >= L:
                    raise ValueError(
                        f"feature {self.feature_names[f]!r}: levels must lie in -1..{L - 1}, "
                        f"found {int(lo[f])}..{int(hi[f])}"
                    )
        return g.astype(np.int8, copy=False)

    def _check_probs(self, probs: Sequence[np.ndarray], what: str) -> list[np.ndarray]:
        if len(probs) != self.n_features:
            raise ValueError(f"{what}: {len(probs)} arrays for {self.n_features} features")
        out = []
        for f, (p, L) in enumerate(zip(probs, self.n_levels, strict=True)):
            a = np.asarray(p, dtype=np.float64)
            if a.shape != (L,):
                raise ValueError(f"{what}[{f}] must have {L} entries, got shape {a.shape}")
            if np.any(a < 0) or not np.all(np.isfinite(a)) or not abs(a.sum() - 1.0) < 1e-6:
                raise ValueError(f"{what}[{f}] must be probabilities summing to 1")
            a = np.clip(a, _FLOOR, None)
            out.append(a / a.sum())
        return out

    def _require_fitted(self) -> tuple[list[np.ndarray], list[np.ndarray], float]:
        if self.m_ is None or self.u_ is None or self.lambda_ is None:
            raise RuntimeError("the model is not fitted: call fit() or fit_supervised() first")
        return self.m_, self.u_, self.lambda_

    # ----------------------------------------------------------------- estimation

    def estimate_u_random(self, gamma_random: np.ndarray) -> list[np.ndarray]:
        """u-probabilities from comparison vectors of *random* pairs (nearly all non-matches).

        Sample random record pairs (not candidate pairs: blocking selects similar ones),
        compare them like candidates and pass their levels here. The share of matches
        among random pairs is about ``1 / n_records``, so their level frequencies are
        the u-probabilities up to a negligible bias. The result can be passed as
        ``fit(gamma, fix_u=...)``. Does not change the model.

        With ``N`` random pairs no level can be estimated below about ``1 / N``: the
        ``smoothing`` pseudo-count puts a rare top level (say exact agreement on name and
        birth date, ``u`` around 1e-7) at about ``smoothing / N``, which understates its
        weight — conservative, but sample enough pairs (or lower ``smoothing``) when such
        levels matter. With ``smoothing=0`` an unseen level gets the floor 1e-6.

        Example:
            >>> import numpy as np
            >>> model = FellegiSunter([2], smoothing=0.0)
            >>> model.estimate_u_random(np.array([[0], [0], [0], [1], [-1]], dtype=np.int8))
            [array([0.75, 0.25])]
        """
        g = self._check_gamma(gamma_random)
        patterns, counts = _unique_patterns(g, self.n_levels)
        level_counts = _weighted_level_counts(patterns, counts.astype(np.float64), self.n_levels)
        if self.smoothing > 0:
            return [_normalise(c, self.smoothing) for c in level_counts]
        return [_floor_normalise(c) for c in level_counts]

    def fit(
        self,
        gamma: np.ndarray,
        *,
        prior: float | None = None,
        max_iter: int = 100,
        tol: float = 1e-6,
        fix_u: Sequence[np.ndarray] | None = None,
        expected_matches: float | None = None,
    ) -> FellegiSunter:
        """Estimate ``m``, ``u`` (unless fixed) and ``lambda`` by EM, without labels.

        Args:
            gamma: ``(n_pairs, n_features)`` comparison levels of the candidate pairs.
            prior: starting value for ``lambda`` (the share of matches among the pairs);
                EM then re-estimates it.
            max_iter: maximum number of accelerated EM iterations.
            tol: stop when no probability (``m``, ``u``, ``lambda``) changes by more than
                this in one iteration.
            fix_u: u-probabilities to keep fixed (e.g. from :meth:`estimate_u_random`);
                EM then estimates only ``m`` and ``lambda``.
            expected_matches: if ``prior`` is not given, start ``lambda`` at
                ``expected_matches / n_pairs`` (for two deduplicated sources of ``n_a``
                and ``n_b`` records, ``min(n_a, n_b)`` is a natural guess).

        Without ``prior`` and ``expected_matches``, ``lambda`` starts at the share of pairs
        that agree at the top level on every non-missing feature (clipped to
        ``[1e-4, 0.5]``). ``m`` starts favouring high levels and ``u`` low levels (the
        ratio between the top and bottom level is 9 for ``m`` and 1/9 for ``u``), which
        labels the latent class with more agreement as the match class.

        EM is accelerated with SQUAREM (Varadhan & Roland 2008): each iteration takes two EM
        steps, extrapolates along them and takes a third step from the extrapolated point
        (kept only if it stays valid and does not lower the penalised likelihood), which
        typically needs 10-30 iterations where plain EM needs hundreds. If EM
        nevertheless ends with the classes swapped (``m`` agreeing less than ``u``), the
        classes are swapped back with a warning — only possible without ``fix_u``.

        Example:
            >>> import numpy as np
            >>> rng = np.random.default_rng(7)
            >>> match = rng.random(50000) < 0.02
            >>> p_agree = np.where(match[:, None], [0.9, 0.95, 0.8], [0.05, 0.01, 0.2])
            >>> gamma = (rng.random((50000, 3)) < p_agree).astype(np.int8)
            >>> model = FellegiSunter([2, 2, 2]).fit(gamma)
            >>> model.converged_, round(model.lambda_, 3), [round(float(u[1]), 2) for u in model.u_]
            (True, 0.02, [0.05, 0.01, 0.2])
            >>> u = model.estimate_u_random((rng.random((20000, 3)) < [0.05, 0.01, 0.2]).astype(np.int8))
            >>> fixed = FellegiSunter([2, 2, 2]).fit(gamma, fix_u=u)
            >>> round(fixed.lambda_, 3), [round(float(m[1]), 2) for m in fixed.m_]
            (0.02, [0.89, 0.96, 0.79])
        """
        g = self._check_gamma(gamma)
        if g.shape[0] == 0:
            raise ValueError("cannot fit a model on zero pairs")
        if max_iter < 1:
            raise ValueError("max_iter must be at least 1")
        patterns, counts = _unique_patterns(g, self.n_levels)
        counts_f = counts.astype(np.float64)
        n_total = counts_f.sum()
        alpha = self.smoothing

        # ---- initial values
        m = []
        u = []
        for L in self.n_levels:
            ratio = 9.0 ** (1.0 / (L - 1))
            up = ratio ** np.arange(L, dtype=np.float64)
            m.append(up / up.sum())
            down = up[::-1]
            u.append(down / down.sum())
        u_fixed = fix_u is not None
        if u_fixed:
            u = self._check_probs(fix_u, "fix_u")  # type: ignore[arg-type]
        if prior is not None:
            lam = float(prior)
            if not 0.0 < lam < 1.0:
                raise ValueError("prior must lie strictly between 0 and 1")
        elif expected_matches is not None:
            if not expected_matches > 0:
                raise ValueError("expected_matches must be positive")
            lam = float(np.clip(expected_matches / n_total, 1e-6, 0.5))
        else:
            top = np.array(self.n_levels, dtype=np.int64) - 1
            all_top = np.all((patterns == top[None, :]) | (patterns < 0), axis=1) & np.any(patterns >= 0, axis=1)
            lam = float(np.clip(counts_f[all_top].sum() / n_total, 1e-4, 0.5))

        # ---- EM iterations on the distinct patterns, accelerated by SQUAREM
        em = _EM(patterns, counts_f, self.n_levels, alpha, u if u_fixed else None)
        theta = em.pack(lam, m, u)
        converged = False
        it = 0
        for it in range(1, max_iter + 1):
            new_theta = em.squarem_cycle(theta)
            delta = float(np.max(np.abs(new_theta - theta)))
            theta = new_theta
            if delta < tol:
                converged = True
                break
        lam, m, u = em.unpack(theta)

        if not u_fixed and self._mean_agreement(m) < self._mean_agreement(u):
            warnings.warn(
                "EM ended with the latent classes swapped (the 'match' class agreed less than the "
                "'non-match' class); swapping them back. Consider fixing u from random pairs.",
                RuntimeWarning,
                stacklevel=2,
            )
            m, u, lam = u, m, 1.0 - lam
        if not converged:
            warnings.warn(
                f"EM did not converge in {max_iter} iterations (tol={tol})", RuntimeWarning, stacklevel=2
            )

        self.m_, self.u_, self.lambda_ = m, u, lam
        self.n_iter_, self.converged_ = it, converged
        self.log_likelihood_ = self._log_likelihood(patterns, counts_f)
        return self

    def fit_supervised(self, gamma: np.ndarray, labels: np.ndarray) -> FellegiSunter:
        """Estimate the model from labelled pairs (``labels[i]`` true for a match).

        ``m`` is the level frequency among the matches, ``u`` among the non-matches
        (missing values left out), ``lambda`` the share of matches. Frequencies are
        exact; only a level never seen in a class gets a tiny floor (1e-6, then
        renormalised) so that no weight is infinite.

        Example:
            >>> import numpy as np
            >>> gamma = np.array([[2], [2], [1], [0], [0], [1]], dtype=np.int8)
            >>> model = FellegiSunter([3]).fit_supervised(gamma, [True, True, True, False, False, False])
            >>> model.m_[0].round(4), model.u_[0].round(4), model.lambda_
            (array([0.    , 0.3333, 0.6667]), array([0.6667, 0.3333, 0.    ]), 0.5)
        """
        g = self._check_gamma(gamma)
        y = np.asarray(labels, dtype=bool)
        if y.shape != (g.shape[0],):
            raise ValueError(f"labels must have shape ({g.shape[0]},), got {y.shape}")
        n_match = int(y.sum())
        if n_match == 0 or n_match == y.size:
            raise ValueError("a supervised fit needs both matches and non-matches among the labels")
        m = []
        u = []
        for f, L in enumerate(self.n_levels):
            col = g[:, f].astype(np.int64)
            ok = col >= 0
            m.append(_floor_normalise(np.bincount(col[ok & y], minlength=L).astype(np.float64)))
            u.append(_floor_normalise(np.bincount(col[ok & ~y], minlength=L).astype(np.float64)))
        self.m_, self.u_, self.lambda_ = m, u, n_match / y.size
        self.n_iter_, self.converged_ = 0, True
        patterns, counts = _unique_patterns(g, self.n_levels)
        self.log_likelihood_ = self._log_likelihood(patterns, counts.astype(np.float64))
        return self

    def _mean_agreement(self, probs: Sequence[np.ndarray]) -> float:
        """Average over features of the expected level scaled to [0, 1]."""
        return float(np.mean([np.dot(p, np.arange(L)) / (L - 1) for p, L in zip(probs, self.n_levels, strict=True)]))

    def _log_likelihood(self, patterns: np.ndarray, counts: np.ndarray) -> float:
        m, u, lam = self._require_fitted()
        log_m = _log_class_probs(patterns, m) + math.log(lam)
        log_u = _log_class_probs(patterns, u) + math.log1p(-lam)
        return float(np.dot(counts, np.logaddexp(log_m, log_u)))

    # ----------------------------------------------------------------- scoring

    def level_weights(self) -> list[np.ndarray]:
        """Per feature, the weight ``log2(m / u)`` of each level.

        Example:
            >>> import numpy as np
            >>> model = FellegiSunter([2])
            >>> model.m_, model.u_, model.lambda_ = [np.array([0.1, 0.9])], [np.array([0.9, 0.1])], 0.5
            >>> model.level_weights()[0].round(3)
            array([-3.17,  3.17])
        """
        m, u, _ = self._require_fitted()
        return [np.log2(a) - np.log2(b) for a, b in zip(m, u, strict=True)]

    def match_weights(self, gamma: np.ndarray) -> np.ndarray:
        """Match weight ``sum_f log2(m_f / u_f)`` per pair, over its non-missing features.

        Example:
            >>> import numpy as np
            >>> model = FellegiSunter([2, 2])
            >>> model.m_ = [np.array([0.2, 0.8]), np.array([0.5, 0.5])]
            >>> model.u_ = [np.array([0.8, 0.2]), np.array([0.5, 0.5])]
            >>> model.lambda_ = 0.5
            >>> model.match_weights(np.array([[1, 0], [0, -1], [-1, -1]], dtype=np.int8))
            array([ 2., -2.,  0.])
        """
        g = self._check_gamma(gamma)
        out = np.zeros(g.shape[0], dtype=np.float64)
        for f, w in enumerate(self.level_weights()):
            col = g[:, f]
            ok = col >= 0
            out += np.where(ok, w[np.where(ok, col, 0)], 0.0)
        return out

    @property
    def prior_weight(self) -> float:
        """``log2(lambda / (1 - lambda))``: the prior odds of a match, in bits."""
        _, _, lam = self._require_fitted()
        return math.log2(lam) - math.log2(1.0 - lam)

    def probability(self, gamma: np.ndarray) -> np.ndarray:
        """Posterior match probability ``P(M | gamma)`` per pair, using ``lambda_``.

        Equals ``1 / (1 + 2 ** -(prior_weight + match_weight))``, computed stably.

        Example:
            >>> import numpy as np
            >>> model = FellegiSunter([2])
            >>> model.m_, model.u_, model.lambda_ = [np.array([0.1, 0.9])], [np.array([0.9, 0.1])], 0.1
            >>> model.probability(np.array([[1], [0], [-1]], dtype=np.int8)).round(4)
            array([0.5   , 0.0122, 0.1   ])
        """
        w = self.match_weights(gamma)
        return expit((w + self.prior_weight) * math.log(2.0))

    def summary(self) -> pd.DataFrame:
        """Table of the fitted parameters: one row per feature and level.

        Columns: ``feature``, ``level``, ``m``, ``u``, ``weight`` (``log2(m/u)``); the
        estimated share of matches is in ``.attrs["lambda"]``.

        Example:
            >>> import numpy as np
            >>> model = FellegiSunter([2], ["bsn"])
            >>> model.m_, model.u_, model.lambda_ = [np.array([0.02, 0.98])], [np.array([0.99, 0.01])], 0.01
            >>> model.summary().round(3)
              feature  level     m     u  weight
            0     bsn      0  0.02  0.99  -5.629
            1     bsn      1  0.98  0.01   6.615
        """
        m, u, lam = self._require_fitted()
        weights = self.level_weights()
        rows = []
        for f, name in enumerate(self.feature_names):
            for level in range(self.n_levels[f]):
                rows.append((name, level, float(m[f][level]), float(u[f][level]), float(weights[f][level])))
        df = pd.DataFrame(rows, columns=["feature", "level", "m", "u", "weight"])
        df.attrs["lambda"] = lam
        return df
