"""Evaluation metrics, checked against hand-computed values and brute-force pair counting."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pplink.linkage.evaluate import blocking_metrics, cluster_metrics, evaluate_links, pair_metrics


def test_pair_metrics_by_hand():
    predicted = pd.DataFrame({"a_id": ["a1", "a2", "a3", "a4", "a4"], "b_id": ["b1", "b2", "b3", "b5", "b5"]})
    truth = pd.DataFrame({"a_id": ["a1", "a2", "a4", "a6"], "b_id": ["b1", "b2", "b4", "b6"]})
    m = pair_metrics(predicted, truth)
    # distinct predicted pairs: 4 (a4-b5 twice); correct: a1-b1, a2-b2 -> tp 2, fp 2, fn 2
    assert (m["tp"], m["fp"], m["fn"]) == (2, 2, 2)
    assert m["precision"] == pytest.approx(2 / 4)
    assert m["recall"] == pytest.approx(2 / 4)
    assert m["f1"] == pytest.approx(0.5)


def test_pair_metrics_input_forms_and_id_types():
    truth = ([1, 2, 3], [10, 20, 30])
    # integers against their string forms are the same ids
    m = pair_metrics((["1", "2", "9"], ["10", "99", "90"]), truth)
    assert (m["tp"], m["fp"], m["fn"]) == (1, 2, 2)
    assert m["precision"] == pytest.approx(1 / 3) and m["f1"] == pytest.approx(1 / 3)
    # custom column names, or a frame of exactly two columns
    pred = pd.DataFrame({"left": [1, 2], "right": [10, 20], "score": [0.9, 0.8]})
    assert pair_metrics(pred, truth, a_col="left", b_col="right")["tp"] == 2
    assert pair_metrics(pd.DataFrame({"x": [3], "y": [30]}), truth)["tp"] == 1
    with pytest.raises(ValueError, match="two columns"):
        pair_metrics(pd.DataFrame({"x": [3], "y": [30], "z": [1]}), truth)
    # nothing predicted: precision and F1 are 0 by convention
    m = pair_metrics(([], []), truth)
    assert (m["precision"], m["recall"], m["f1"], m["fn"]) == (0.0, 0.0, 0.0, 3)


def test_symmetric_pairs_for_deduplication():
    truth = (["r1", "r3"], ["r2", "r4"])
    predicted = (["r2", "r4", "r1"], ["r1", "r3", "r2"])  # r1-r2 twice, in both directions
    m = pair_metrics(predicted, truth, symmetric=True)
    assert (m["tp"], m["fp"], m["fn"]) == (2, 0, 0)
    m = pair_metrics(predicted, truth)
    assert (m["tp"], m["fp"], m["fn"]) == (1, 2, 1)


def test_blocking_metrics_by_hand():
    truth = ([0, 1, 2, 3], [0, 1, 2, 3])
    candidates = ([0, 0, 1, 2, 2, 0], [0, 1, 1, 5, 2, 0])  # last one a duplicate
    m = blocking_metrics(candidates, truth, 10, 20)
    # 5 distinct candidates out of 200 pairs; 3 of 4 true pairs found
    assert m["n_candidates"] == 5 and m["n_all_pairs"] == 200
    assert m["pair_completeness"] == pytest.approx(0.75)
    assert m["reduction_ratio"] == pytest.approx(1 - 5 / 200)
    assert m["n_true_found"] == 3 and m["n_true_pairs"] == 4
    dedup = blocking_metrics(([1, 2], [0, 3]), ([0], [1]), 5, symmetric=True)
    assert dedup["n_all_pairs"] == 10 and dedup["pair_completeness"] == 1.0
    assert dedup["reduction_ratio"] == pytest.approx(0.8)
    with pytest.raises(ValueError, match="n_b"):
        blocking_metrics(candidates, truth, 10)


def test_cluster_metrics_by_hand():
    predicted = ["e1", "e1", "e1", "e2", "e3", "e3"]
    truth = [1, 1, 2, 2, 3, 3]
    m = cluster_metrics(predicted, truth)
    # predicted pairs: 3 (in e1) + 1 (in e3) = 4; true pairs: 1 + 1 + 1 = 3
    # shared: (0,1) and (4,5) -> 2
    assert (m["tp_pairs"], m["predicted_pairs"], m["true_pairs"]) == (2, 4, 3)
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert (m["n_records"], m["n_clusters"], m["n_true_clusters"]) == (6, 3, 3)
    assert m["exact_cluster_share"] == pytest.approx(1 / 3)  # only entity 3 reproduced exactly
    # ARI by hand: 15 pairs, expected index 4*3/15 = 0.8, max index 3.5 -> (2-0.8)/(3.5-0.8)
    assert m["adjusted_rand_index"] == pytest.approx(1.2 / 2.7)
    perfect = cluster_metrics([5, 5, 7], ["a", "a", "b"])
    assert perfect["f1"] == 1.0 and perfect["adjusted_rand_index"] == 1.0 and perfect["exact_cluster_share"] == 1.0
    with pytest.raises(ValueError, match="missing"):
        cluster_metrics([1, None], [1, 2])
    with pytest.raises(ValueError):
        cluster_metrics([1, 2, 3], [1, 2])


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 14).flatmap(lambda n: st.tuples(st.lists(st.integers(0, 4), min_size=n, max_size=n),
                                                       st.lists(st.integers(0, 4), min_size=n, max_size=n))))
def test_cluster_metrics_equal_brute_force_pair_counting(labels):
    pred, true = labels
    n = len(pred)
    pp = tt = tp = 0
    for i, j in itertools.combinations(range(n), 2):
        same_pred, same_true = pred[i] == pred[j], true[i] == true[j]
        pp += same_pred
        tt += same_true
        tp += same_pred and same_true
    m = cluster_metrics(np.array(pred), np.array(true))
    assert (m["tp_pairs"], m["predicted_pairs"], m["true_pairs"]) == (tp, pp, tt)
    assert m["precision"] == pytest.approx(tp / pp if pp else 0.0)
    assert m["recall"] == pytest.approx(tp / tt if tt else 0.0)
    assert m["n_clusters"] == len(set(pred)) and m["n_true_clusters"] == len(set(true))
    exact = sum(
        1 for t in set(true) if {i for i in range(n) if true[i] == t} in
        [{i for i in range(n) if pred[i] == p} for p in set(pred)]
    )
    assert m["exact_cluster_share"] == pytest.approx(exact / len(set(true)))
    assert -1.0 <= m["adjusted_rand_index"] <= 1.0 + 1e-12


def test_cluster_metrics_large_input_uses_counts():
    rng = np.random.default_rng(0)
    true = rng.integers(0, 300_000, 1_000_000)
    pred = true.copy()
    pred[:1000] = -np.arange(1, 1001)  # split 1000 records off as singletons
    m = cluster_metrics(pred, true)
    assert m["precision"] == 1.0 and 0.99 < m["recall"] < 1.0


def test_evaluate_links_by_hand():
    links = pd.DataFrame({"a_id": ["1", "2", "2", "4"], "b_id": ["x", "y", "z", "z"], "score": [0.9, 0.8, 0.7, 0.6]})
    truth = pd.DataFrame({"a_id": ["1", "2", "3"], "b_id": ["x", "y", "w"]})
    r = evaluate_links(links, truth)
    assert (r["tp"], r["fp"], r["fn"]) == (2, 2, 1)
    assert r["precision"] == pytest.approx(0.5) and r["recall"] == pytest.approx(2 / 3)
    assert (r["n_links"], r["n_true_links"]) == (4, 3)
    assert r["a_linked_more_than_once"] == 1 and r["b_linked_more_than_once"] == 1
    renamed = evaluate_links(
        links.rename(columns={"a_id": "brp", "b_id": "wmo"}), truth.rename(columns={"a_id": "brp", "b_id": "wmo"}),
        a_col="brp", b_col="wmo",
    )
    assert renamed == r
