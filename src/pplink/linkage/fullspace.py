"""EM for Fellegi–Sunter over the full comparison space, with blocking as a filter.

Blocking keeps only candidate pairs, which are enriched for similar non-matches (household
members share an address and often a surname). Fitting a two-class mixture on the candidates
alone then tends to find "same household" instead of "same person". The full space of
``n_a * n_b`` pairs does not have that problem: there, almost every pair is a non-match and the
level distribution of non-matches, ``u``, is estimated reliably from *random* pairs.

This module fits the model on the full space without enumerating it: every non-candidate pair
is taken to be a non-match (blocking is designed to keep all matches), so the E-step only
visits candidates, and the match share of block ``b`` is ``lambda_b = sum(posteriors) / N_b``
with ``N_b`` the size of its full comparison space. With several blocks (source pairs) the
``m`` probabilities are shared — they describe how records of one person differ, which is a
property of the data, not of the source pair — while every block keeps its own ``u`` and
``lambda``. Sharing ``m`` lets a source pair with few true matches (Jeugd against a file of
adults) borrow strength from the others. Splink estimates ``u`` from random pairs in the same
spirit; the shared-``m`` full-space EM is our own formulation of Fellegi & Sunter (1969) and
Winkler's EM (1988).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> n_full = 2_000_000                      # all pairs; 300 of them are matches
    >>> nonmatch = (rng.random((n_full, 4)) < 0.02).astype(np.int8)
    >>> match = (rng.random((300, 4)) < 0.9).astype(np.int8)
    >>> everything = np.concatenate([match, nonmatch])
    >>> candidates = everything[everything.sum(axis=1) >= 2]   # blocking: agree on 2+ features
    >>> u = [np.array([0.98, 0.02])] * 4                       # from random pairs
    >>> fit = fit_fullspace([Block(candidates, u, n_full)], [2, 2, 2, 2])
    >>> round(fit.lambdas[0] * n_full, -1), [round(float(m[1]), 1) for m in fit.m]
    (300.0, [0.9, 0.9, 0.9, 0.9])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pplink.linkage.model import unique_patterns

__all__ = ["Block", "FullSpaceFit", "fit_fullspace", "block_log_likelihoods"]

_FLOOR = 1e-9


@dataclass(frozen=True)
class Block:
    """One source pair: candidate comparison vectors, its ``u`` and full-space size.

    ``gamma`` holds one row per candidate pair, or — with ``counts`` — one row per distinct
    pattern and ``counts`` how many candidate pairs show it (what a distributed engine
    aggregates, so the driver never holds per-pair vectors).
    """

    gamma: np.ndarray  # (n_candidates or n_patterns, n_features) int8, -1 = missing
    u: Sequence[np.ndarray]
    n_pairs: float  # n_a * n_b (or n * (n - 1) / 2 for deduplication)
    counts: np.ndarray | None = None  # per row of gamma; None = one pair per row

    @property
    def n_candidates(self) -> float:
        """Number of candidate pairs the block stands for."""
        return float(len(self.gamma)) if self.counts is None else float(np.sum(self.counts))


@dataclass(frozen=True)
class FullSpaceFit:
    m: list[np.ndarray]
    lambdas: list[float]
    n_iter: int
    converged: bool


def _patterns(block: Block, n_levels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    gamma = np.asarray(block.gamma, dtype=np.int8)
    if block.counts is not None:
        counts = np.asarray(block.counts, dtype=np.float64)
        if counts.shape != (len(gamma),):
            raise ValueError("Block.counts needs one count per row of gamma")
        return gamma, counts
    pats, counts, _ = unique_patterns(gamma, n_levels)
    return pats, counts.astype(np.float64)


def _log_probs(pats: np.ndarray, probs: Sequence[np.ndarray]) -> np.ndarray:
    out = np.zeros(len(pats))
    for f, p in enumerate(probs):
        col = pats[:, f]
        ok = col >= 0
        out += np.where(ok, np.log(p[np.where(ok, col, 0)]), 0.0)
    return out


def block_log_likelihoods(gamma: np.ndarray, m: Sequence[np.ndarray], u: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Natural-log ``P(gamma | match)`` and ``P(gamma | non-match)`` per pair."""
    return _log_probs(gamma, m), _log_probs(gamma, u)


def _posterior(lm: np.ndarray, lu: np.ndarray, lam: float) -> np.ndarray:
    z = (np.log(lam) + lm) - (np.log1p(-lam) + lu)
    return 1.0 / (1.0 + np.exp(-np.clip(z, -700, 700)))


def fit_fullspace(
    blocks: Sequence[Block],
    n_levels: Sequence[int],
    *,
    m_init: Sequence[np.ndarray] | None = None,
    fix_m: bool = False,
    lambda_init: Sequence[float] | None = None,
    max_iter: int = 1000,
    tol: float = 1e-7,
    smoothing: float = 0.5,
) -> FullSpaceFit:
    """Estimate shared ``m`` and per-block ``lambda`` by EM (``u`` fixed per block).

    ``m_init`` defaults to probabilities rising with the level (ratio 9 between top and
    bottom), ``lambda_init`` to ``min(candidates, sqrt(N)) / N``. With ``fix_m`` only the
    ``lambda`` of every block is estimated (reuse of a model fitted elsewhere).
    """
    compressed = [_patterns(b, n_levels) for b in blocks]
    if m_init is None:
        m = [np.linspace(1.0, 9.0, L) / np.linspace(1.0, 9.0, L).sum() for L in n_levels]
    else:
        m = [np.clip(np.asarray(x, dtype=np.float64), _FLOOR, None) for x in m_init]
        m = [x / x.sum() for x in m]
    lam = (
        [float(x) for x in lambda_init]
        if lambda_init is not None
        else [max(min(b.n_candidates, np.sqrt(b.n_pairs)), 1.0) / b.n_pairs for b in blocks]
    )
    log_u = [_log_probs(p, b.u) for (p, _), b in zip(compressed, blocks, strict=True)]
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        counts = [np.zeros(L) for L in n_levels]
        new_lam = []
        for (pats, cnt), lu, b, lam_b in zip(compressed, log_u, blocks, lam, strict=True):
            if len(pats) == 0:
                new_lam.append(lam_b)
                continue
            post = _posterior(_log_probs(pats, m), lu, lam_b) * cnt
            new_lam.append(float(np.clip(post.sum() / b.n_pairs, 1e-15, 1 - 1e-12)))
            for f, L in enumerate(n_levels):
                col = pats[:, f]
                ok = col >= 0
                counts[f] += np.bincount(col[ok], weights=post[ok], minlength=L)
        if fix_m:
            new_m = m
        else:
            new_m = [(c + smoothing) / (c + smoothing).sum() for c in counts]
        delta = max(
            max(abs(a - b_) / max(b_, 1e-300) for a, b_ in zip(new_lam, lam, strict=True)),
            max(float(np.abs(a - b_).max()) for a, b_ in zip(new_m, m, strict=True)),
        )
        m, lam = new_m, new_lam
        if delta < tol:
            converged = True
            break
    return FullSpaceFit(m=[np.clip(x, _FLOOR, None) / np.clip(x, _FLOOR, None).sum() for x in m],
                        lambdas=lam, n_iter=it, converged=converged)
