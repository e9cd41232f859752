"""Quality of links, blocking and clusters against a known truth (synthetic data, FEBRL).

All functions return plain dictionaries of numbers, ready for a report or a JSON file.
A ratio whose denominator is zero (e.g. precision with no predicted links) is ``0.0``.

Pairs are compared by record id. A set of pairs can be given as a DataFrame (columns
``a_col`` and ``b_col``, or exactly two columns) or as a pair of arrays ``(a_ids, b_ids)``.
Ids are compared as integers when both sides hold integers and as strings otherwise, so
``7`` and ``"7"`` are the same record. Duplicate pairs count once. For links within one
source (deduplication) pass ``symmetric=True`` so that ``(x, y)`` and ``(y, x)`` are the
same pair.

Example:
    >>> predicted = (["a1", "a2", "a3"], ["b1", "b2", "b9"])
    >>> truth = (["a1", "a2", "a4"], ["b1", "b2", "b4"])
    >>> m = pair_metrics(predicted, truth)
    >>> m["tp"], m["fp"], m["fn"], round(m["f1"], 4)
    (2, 1, 1, 0.6667)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np
import pandas as pd

__all__ = ["blocking_metrics", "cluster_metrics", "evaluate_links", "pair_metrics"]

PairsLike = Union[pd.DataFrame, Sequence[Any]]


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2.0 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


def _as_frame(pairs: PairsLike, a_col: str, b_col: str, what: str) -> pd.DataFrame:
    if isinstance(pairs, pd.DataFrame):
        if a_col in pairs.columns and b_col in pairs.columns:
            a, b = pairs[a_col].to_numpy(), pairs[b_col].to_numpy()
        elif pairs.shape[1] == 2:
            a, b = pairs.iloc[:, 0].to_numpy(), pairs.iloc[:, 1].to_numpy()
        else:
            raise ValueError(f"{what}: no columns {a_col!r} and {b_col!r}, and not exactly two columns")
    else:
        if len(pairs) != 2:
            raise ValueError(f"{what}: give a DataFrame or a pair of arrays (a_ids, b_ids)")
        a, b = np.asarray(pairs[0]), np.asarray(pairs[1])
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"{what}: the two id arrays must be 1-D and of one length")
    return pd.DataFrame({"a": a, "b": b})


def _is_int(s: pd.Series) -> bool:
    return pd.api.types.is_integer_dtype(s.dtype)


def _align(frames: list[pd.DataFrame], symmetric: bool) -> list[pd.DataFrame]:
    """Same id type on all sides, canonical order when symmetric, no duplicate pairs."""
    all_int = all(_is_int(f["a"]) and _is_int(f["b"]) for f in frames)
    out = []
    for f in frames:
        if all_int:
            a, b = f["a"].astype(np.int64), f["b"].astype(np.int64)
        else:
            a, b = f["a"].astype(str), f["b"].astype(str)
        if symmetric:
            swap = (a > b).to_numpy()
            a, b = a.where(~swap, b), b.where(~swap, a)
        out.append(pd.DataFrame({"a": a.to_numpy(), "b": b.to_numpy()}).drop_duplicates(ignore_index=True))
    return out


def _overlap(x: pd.DataFrame, y: pd.DataFrame) -> int:
    return int(x.merge(y, on=["a", "b"], how="inner").shape[0])


def pair_metrics(
    predicted: PairsLike,
    truth: PairsLike,
    *,
    a_col: str = "a_id",
    b_col: str = "b_id",
    symmetric: bool = False,
) -> dict[str, float]:
    """Precision, recall and F1 of predicted record pairs against the true pairs.

    Returns ``precision``, ``recall``, ``f1``, ``tp``, ``fp``, ``fn`` (counts as ints).

    Example:
        >>> import pandas as pd
        >>> pred = pd.DataFrame({"a_id": ["1", "2", "2"], "b_id": ["x", "y", "z"]})
        >>> true = pd.DataFrame({"a_id": ["1", "2"], "b_id": ["x", "z"]})
        >>> pair_metrics(pred, true)
        {'precision': 0.6666666666666666, 'recall': 1.0, 'f1': 0.8, 'tp': 2, 'fp': 1, 'fn': 0}
    """
    p, t = _align([_as_frame(predicted, a_col, b_col, "predicted"), _as_frame(truth, a_col, b_col, "truth")], symmetric)
    tp = _overlap(p, t)
    fp = len(p) - tp
    fn = len(t) - tp
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, tp + fn)
    return {"precision": precision, "recall": recall, "f1": _f1(precision, recall), "tp": tp, "fp": fp, "fn": fn}


def blocking_metrics(
    candidate_pairs: PairsLike,
    truth: PairsLike,
    n_a: int,
    n_b: int | None = None,
    *,
    a_col: str = "a_id",
    b_col: str = "b_id",
    symmetric: bool = False,
) -> dict[str, float]:
    """Pair completeness and reduction ratio of a candidate set.

    * ``pair_completeness``: share of the true pairs among the candidates (the recall
      ceiling of everything after blocking);
    * ``reduction_ratio``: ``1 - n_candidates / (n_a * n_b)`` — the share of all pairs
      that blocking spared from comparison. With ``symmetric=True`` (one source against
      itself) the number of all pairs is ``n_a (n_a - 1) / 2`` and ``n_b`` is not used.

    Also returns ``n_candidates``, ``n_true_pairs``, ``n_true_found`` and ``n_all_pairs``.

    Example:
        >>> cands = ([0, 0, 1, 2], [0, 1, 1, 5])
        >>> m = blocking_metrics(cands, ([0, 1, 2, 3], [0, 1, 2, 3]), 10, 10)
        >>> m["pair_completeness"], m["reduction_ratio"], m["n_candidates"]
        (0.5, 0.96, 4)
    """
    c, t = _align(
        [_as_frame(candidate_pairs, a_col, b_col, "candidate_pairs"), _as_frame(truth, a_col, b_col, "truth")],
        symmetric,
    )
    if symmetric:
        n_all = n_a * (n_a - 1) // 2
    else:
        if n_b is None:
            raise ValueError("n_b is required unless symmetric=True")
        n_all = n_a * n_b
    found = _overlap(c, t)
    return {
        "pair_completeness": _ratio(found, len(t)),
        "reduction_ratio": 1.0 - _ratio(len(c), n_all) if n_all else 0.0,
        "n_candidates": len(c),
        "n_true_pairs": len(t),
        "n_true_found": found,
        "n_all_pairs": n_all,
    }


def _pairs_within(sizes: np.ndarray) -> int:
    s = sizes.astype(np.int64)
    return int((s * (s - 1) // 2).sum())


def _codes(labels: Sequence[Any]) -> np.ndarray:
    values = labels if isinstance(labels, (np.ndarray, pd.Series, pd.Index)) else pd.Series(list(labels), dtype=object)
    codes, _ = pd.factorize(values)
    return np.asarray(codes, dtype=np.int64)


def cluster_metrics(predicted: Sequence[Any], truth: Sequence[Any]) -> dict[str, float]:
    """Pairwise quality of a clustering against true entity labels, one label per record.

    Two records "linked" if they share a cluster; pairwise precision is the share of
    predicted same-cluster pairs that are truly same-entity, recall the converse. All
    counts come from the contingency table (predicted cluster x true entity), never from
    explicit pairs, so millions of records are fine.

    Returns ``precision``, ``recall``, ``f1``, ``tp_pairs``, ``predicted_pairs``,
    ``true_pairs``, ``n_records``, ``n_clusters``, ``n_true_clusters``,
    ``exact_cluster_share`` (share of true entities reproduced exactly as one cluster)
    and ``adjusted_rand_index``. Labels can be any hashable values; missing labels
    (``None``/``NaN``) are an error.

    Example:
        >>> m = cluster_metrics([0, 0, 0, 1, 2], ["x", "x", "y", "y", "z"])
        >>> m["tp_pairs"], m["predicted_pairs"], m["true_pairs"], m["precision"], m["recall"]
        (1, 3, 2, 0.3333333333333333, 0.5)
    """
    pred_codes = _codes(predicted)
    true_codes = _codes(truth)
    if pred_codes.shape != true_codes.shape:
        raise ValueError(f"{pred_codes.shape[0]} predicted labels for {true_codes.shape[0]} true labels")
    if (pred_codes < 0).any() or (true_codes < 0).any():
        raise ValueError("labels must not be missing (None/NaN)")
    n = int(pred_codes.shape[0])
    n_pred = int(pred_codes.max()) + 1 if n else 0
    n_true = int(true_codes.max()) + 1 if n else 0
    pred_sizes = np.bincount(pred_codes, minlength=n_pred)
    true_sizes = np.bincount(true_codes, minlength=n_true)
    cell = pred_codes.astype(np.int64) * max(n_true, 1) + true_codes.astype(np.int64)
    cells, cell_counts = np.unique(cell, return_counts=True)
    tp = _pairs_within(cell_counts)
    pp = _pairs_within(pred_sizes)
    tt = _pairs_within(true_sizes)
    precision = _ratio(tp, pp)
    recall = _ratio(tp, tt)
    # a true entity is reproduced exactly when one cell holds all of its records and all of its cluster's
    cell_pred = cells // max(n_true, 1)
    cell_true = cells % max(n_true, 1)
    exact = (cell_counts == true_sizes[cell_true]) & (cell_counts == pred_sizes[cell_pred])
    total_pairs = n * (n - 1) // 2
    if total_pairs:
        expected = pp * tt / total_pairs
        max_index = 0.5 * (pp + tt)
        ari = (tp - expected) / (max_index - expected) if max_index != expected else 1.0
    else:
        ari = 1.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": _f1(precision, recall),
        "tp_pairs": tp,
        "predicted_pairs": pp,
        "true_pairs": tt,
        "n_records": n,
        "n_clusters": n_pred,
        "n_true_clusters": n_true,
        "exact_cluster_share": _ratio(int(exact.sum()), n_true),
        "adjusted_rand_index": float(ari),
    }


def evaluate_links(
    links_df: pd.DataFrame,
    truth_df: pd.DataFrame,
    *,
    a_col: str = "a_id",
    b_col: str = "b_id",
) -> dict[str, float]:
    """Pair metrics of a links table plus checks of its one-to-one structure.

    Returns everything :func:`pair_metrics` does, plus ``n_links``, ``n_true_links``,
    ``a_linked_more_than_once`` and ``b_linked_more_than_once`` (number of records with
    more than one link — non-zero means the links are not one-to-one).

    Example:
        >>> import pandas as pd
        >>> links = pd.DataFrame({"a_id": ["1", "2", "2"], "b_id": ["x", "y", "z"], "score": [0.9, 0.8, 0.7]})
        >>> truth = pd.DataFrame({"a_id": ["1", "2", "3"], "b_id": ["x", "y", "w"]})
        >>> r = evaluate_links(links, truth)
        >>> r["tp"], r["fp"], r["fn"], r["a_linked_more_than_once"], r["b_linked_more_than_once"]
        (2, 1, 1, 1, 0)
    """
    metrics = pair_metrics(links_df, truth_df, a_col=a_col, b_col=b_col)
    (links,) = _align([_as_frame(links_df, a_col, b_col, "links_df")], False)
    (truth,) = _align([_as_frame(truth_df, a_col, b_col, "truth_df")], False)
    metrics.update(
        {
            "n_links": len(links),
            "n_true_links": len(truth),
            "a_linked_more_than_once": int((links["a"].value_counts() > 1).sum()),
            "b_linked_more_than_once": int((links["b"].value_counts() > 1).sum()),
        }
    )
    return metrics
