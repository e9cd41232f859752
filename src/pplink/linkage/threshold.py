"""Choosing a match threshold without labels, from the model's own posterior probabilities.

If the model is *calibrated* — among pairs it gives probability ``p``, a share ``p`` are
true matches — then the expected number of true matches among the pairs accepted at
threshold ``t`` is the sum of their probabilities. That gives, with no labels at all::

    TP(t)        = sum of p over pairs with p >= t
    precision(t) = TP(t) / #{p >= t}
    recall(t)    = TP(t) / sum of all p          (or / expected_matches when given)
    F1(t)        = 2 TP(t) / (#{p >= t} + sum of all p)

:func:`choose_threshold` picks the ``t`` with the highest estimated F1. The search is
exact: every distinct probability is a candidate threshold (an F1-optimal set of links is
always "all pairs above some probability"), so the result does not depend on a grid; the
grid only sets the resolution of the reported curve. A known property of this optimum
(Lipton, Elkan & Narayanaswamy 2014) is that ``t`` is half the F1 it achieves.

Assumption and limits
    Everything rests on calibration. A Fellegi–Sunter model fitted by EM is calibrated
    only as far as its assumptions hold: correlated features (conditional independence
    violated) make probabilities too extreme, and then the estimated precision and
    recall are both too optimistic and the threshold is placed too low. ``sum(p)``
    counts only the matches *among the candidate pairs*: matches lost in blocking are
    invisible, so "recall" here is recall relative to blocking — pass
    ``expected_matches`` (e.g. ``min(n_a, n_b)`` for two complete registers of the same
    population) to measure recall against the true number of matches instead. The
    estimates describe pairs *before* a one-to-one constraint; applying one afterwards
    removes mostly false links and raises precision. Check the chosen threshold on a
    clerically reviewed sample whenever one can be made.

Example:
    >>> import numpy as np
    >>> p = np.array([0.99, 0.98, 0.95, 0.9, 0.6, 0.3, 0.05, 0.01, 0.01])
    >>> choice = choose_threshold(p)
    >>> choice.threshold, round(choice.estimated_precision, 3), round(choice.estimated_recall, 3)
    (0.6, 0.884, 0.923)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["ThresholdChoice", "choose_threshold"]


@dataclass(frozen=True)
class ThresholdChoice:
    """The chosen threshold, its estimated quality, and the curve it was chosen from.

    Attributes:
        threshold: accept pairs with ``probability >= threshold``.
        estimated_precision, estimated_recall, estimated_f1: model-based estimates at
            ``threshold`` (see the module docs for the assumptions).
        n_links: number of pairs accepted at ``threshold``.
        estimated_matches: ``sum(p)`` over all pairs, the model's estimate of the number
            of matches among them.
        curve: one row per grid threshold with columns ``threshold``, ``est_precision``,
            ``est_recall``, ``est_f1``, ``n_links``, sorted by threshold.
    """

    threshold: float
    estimated_precision: float
    estimated_recall: float
    estimated_f1: float
    n_links: int
    estimated_matches: float
    curve: pd.DataFrame
    _probabilities: np.ndarray = field(repr=False, compare=False)
    _counts: np.ndarray | None = field(default=None, repr=False, compare=False)

    def histogram(self, bins: int = 50, *, scale: str = "probability") -> pd.DataFrame:
        """Histogram of the pairs for plotting, split into estimated matches and non-matches.

        ``scale="probability"`` bins ``p`` on ``[0, 1]``; ``scale="weight"`` bins the
        posterior log-odds ``log2(p / (1 - p))`` (the match weight plus the prior weight),
        where the two classes usually show as two humps. Columns: ``bin_left``,
        ``bin_right``, ``count``, ``est_matches`` (sum of ``p`` in the bin) and
        ``est_non_matches`` (sum of ``1 - p``). The chosen threshold on the same scale is
        in ``.attrs["threshold"]``.

        Example:
            >>> import numpy as np
            >>> choice = choose_threshold(np.array([0.01, 0.02, 0.97, 0.99]))
            >>> h = choice.histogram(bins=4)
            >>> h["count"].tolist(), h["est_matches"].round(2).tolist()
            ([2, 0, 0, 2], [0.03, 0.0, 0.0, 1.96])
        """
        if bins < 1:
            raise ValueError("bins must be at least 1")
        p = self._probabilities
        if scale == "probability":
            x = p
            edges = np.linspace(0.0, 1.0, bins + 1)
            t = self.threshold
        elif scale == "weight":
            eps = 1e-300
            x = np.log2(np.maximum(p, eps)) - np.log2(np.maximum(1.0 - p, eps))
            # probabilities of exactly 0 or 1 go to the outermost bins of the others' range
            inner = x[(p > 0.0) & (p < 1.0)]
            lo, hi = (float(inner.min()), float(inner.max())) if inner.size else (-1.0, 1.0)
            if lo == hi:
                lo, hi = lo - 0.5, hi + 0.5
            x = np.clip(x, lo, hi)
            edges = np.linspace(lo, hi, bins + 1)
            t = logit2(self.threshold)
        else:
            raise ValueError("scale must be 'probability' or 'weight'")
        w = np.ones(p.size) if self._counts is None else self._counts
        counts, _ = np.histogram(x, bins=edges, weights=w)
        est_m, _ = np.histogram(x, bins=edges, weights=p * w)
        out = pd.DataFrame(
            {
                "bin_left": edges[:-1],
                "bin_right": edges[1:],
                "count": np.rint(counts).astype(np.int64),
                "est_matches": est_m,
                "est_non_matches": counts - est_m,
            }
        )
        out.attrs["threshold"] = t
        return out


def logit2(p: float) -> float:
    """``log2(p / (1 - p))``, the posterior log-odds in bits (infinite at 0 and 1).

    Example:
        >>> logit2(0.5), round(logit2(0.8), 9), logit2(1.0)
        (0.0, 2.0, inf)
    """
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return math.log2(p) - math.log2(1.0 - p)


def _f1(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    denom = precision + recall
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(denom > 0, 2.0 * precision * recall / np.where(denom > 0, denom, 1.0), 0.0)
    return f


def choose_threshold(
    probabilities: np.ndarray,
    *,
    counts: np.ndarray | None = None,
    expected_matches: float | None = None,
    grid: int = 200,
) -> ThresholdChoice:
    """Threshold on posterior match probabilities that maximises the estimated F1.

    Args:
        probabilities: posterior match probability per candidate pair (e.g.
            :meth:`pplink.linkage.model.FellegiSunter.probability`).
        counts: how many pairs share each probability (e.g. one probability per distinct
            comparison pattern and the pattern's count); default one pair each. The result
            is the same as for the probabilities repeated ``counts`` times.
        expected_matches: the number of true matches, if known from elsewhere; used as the
            recall denominator instead of ``sum(p)`` (estimated recall is capped at 1).
        grid: the curve is reported at ``grid + 1`` evenly spaced thresholds in
            ``[0, 1]`` plus the chosen one. The choice itself is exact over all distinct
            probabilities.

    Ties in estimated F1 go to the higher threshold (fewer links for the same F1). The
    returned threshold is one of the input probabilities (the lowest accepted one), so
    ``probabilities >= choice.threshold`` selects exactly the links it was scored on.

    Example:
        >>> import numpy as np
        >>> choice = choose_threshold(np.array([0.9, 0.9, 0.1]))
        >>> choice.threshold, round(choice.estimated_f1, 4), choice.n_links
        (0.9, 0.9231, 2)
        >>> choose_threshold(np.array([0.9, 0.9, 0.1]), expected_matches=4).estimated_recall
        0.45
        >>> choose_threshold(np.array([0.9, 0.1]), counts=np.array([2, 1])).n_links
        2
    """
    p = np.asarray(probabilities, dtype=np.float64).ravel()
    if p.size == 0:
        raise ValueError("no probabilities to choose a threshold from")
    if not np.all(np.isfinite(p)) or p.min() < 0.0 or p.max() > 1.0:
        raise ValueError("probabilities must be finite and lie in [0, 1]")
    if grid < 1:
        raise ValueError("grid must be at least 1")
    if counts is None:
        w = np.ones(p.size)
    else:
        w = np.asarray(counts, dtype=np.float64).ravel()
        if w.shape != p.shape or not np.all(np.isfinite(w)) or (w < 0).any():
            raise ValueError("counts must be one non-negative number per probability")
        keep = w > 0
        p, w = p[keep], w[keep]
        if p.size == 0:
            raise ValueError("no probabilities to choose a threshold from (all counts are 0)")
    total = float(np.dot(p, w))
    if expected_matches is not None:
        if not expected_matches > 0:
            raise ValueError("expected_matches must be positive")
        denom = float(expected_matches)
    else:
        denom = total

    # exact search: sort descending; candidate cut after the last pair of each tie group
    order = np.argsort(-p, kind="stable")
    desc, wd = p[order], w[order]
    tp = np.cumsum(desc * wd)
    k = np.cumsum(wd)
    last_of_group = np.ones(desc.size, dtype=bool)
    last_of_group[:-1] = desc[1:] != desc[:-1]
    cand = np.flatnonzero(last_of_group & (desc > 0.0))
    if cand.size == 0:  # every probability is 0: accept nothing useful; take the top value
        best = desc.size - 1
        precision, recall, f1 = 0.0, 0.0, 0.0
    else:
        prec_c = tp[cand] / k[cand]
        rec_c = np.minimum(tp[cand] / denom, 1.0) if denom > 0 else np.zeros(cand.size)
        f1_c = _f1(prec_c, rec_c)
        # candidates run from the highest threshold down, so the first (near-)maximum is
        # the highest threshold among ties; the tolerance absorbs rounding differences
        # between mathematically equal F1 values
        f1_max = float(f1_c.max())
        j = int(np.flatnonzero(f1_c >= f1_max - 1e-12 * max(f1_max, 1e-300))[0])
        best = int(cand[j])
        precision, recall, f1 = float(prec_c[j]), float(rec_c[j]), float(f1_c[j])
    threshold = float(desc[best])

    # the curve on an even grid plus the chosen threshold
    ts = np.unique(np.concatenate([np.linspace(0.0, 1.0, grid + 1), [threshold]]))
    asc, wa = desc[::-1], wd[::-1]
    csum_asc = np.concatenate([[0.0], np.cumsum(asc * wa)])
    cnt_asc = np.concatenate([[0.0], np.cumsum(wa)])
    lo = np.searchsorted(asc, ts, side="left")  # first index with p >= t
    n_links = np.rint(cnt_asc[-1] - cnt_asc[lo]).astype(np.int64)
    tp_t = csum_asc[-1] - csum_asc[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        prec_t = np.where(n_links > 0, tp_t / np.maximum(n_links, 1), 0.0)
    rec_t = np.minimum(tp_t / denom, 1.0) if denom > 0 else np.zeros(ts.size)
    curve = pd.DataFrame(
        {
            "threshold": ts,
            "est_precision": prec_t,
            "est_recall": rec_t,
            "est_f1": _f1(prec_t, rec_t),
            "n_links": n_links,
        }
    )
    return ThresholdChoice(
        threshold=threshold,
        estimated_precision=precision,
        estimated_recall=recall,
        estimated_f1=f1,
        n_links=int(round(float(w[p >= threshold].sum()))),
        estimated_matches=total,
        curve=curve,
        _probabilities=p,
        _counts=w,
    )
