"""Helpers for the release tests: an attacker written independently of pplink's LP code.

The attacker sees only what a reader of the published table sees (labels, values,
statuses) plus the table's public structure (the hierarchy), and solves its own linear
programmes with ``scipy.optimize.linprog``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

TOTAL = "Totaal"


def _parents(labels: Sequence[str], parent_of: Mapping[str, str] | None) -> dict[str, str | None]:
    parent_of = dict(parent_of or {})
    out: dict[str, str | None] = {}
    for lab in labels:
        if lab == TOTAL:
            out[lab] = None
        else:
            out[lab] = parent_of.get(lab, TOTAL)
    return out


def attack_tables(
    tables: Sequence[pd.DataFrame],
    dims: Sequence[Sequence[str]],
    hierarchies: Sequence[Mapping[str, Mapping[str, str]]],
    *,
    upper: float,
    ties: Sequence[tuple[int, tuple[str, ...], int, tuple[str, ...]]] = (),
    interval: Callable[[float], tuple[float, float]] | None = None,
    additive: bool = True,
    overlapping_dims: Sequence[str] = (),
) -> list[dict[tuple[str, ...], tuple[float, float]]]:
    """Intervals [min, max] the attacker derives for every hidden cell of every table.

    ``ties``: (table a, labels a, table b, labels b) cells known to be the same number
    (e.g. the wijk totals of two tables on the same population). ``interval``: for
    rounded/perturbed tables, the interval of a true value given a published value.
    ``additive=False`` uses max(children) <= parent <= sum(children) instead of equations;
    ``overlapping_dims`` does so only for relations along those dimensions (a unit may be
    in several of their categories).
    """
    var_index: dict[tuple[int, tuple[str, ...]], int] = {}
    bounds: list[tuple[float, float]] = []
    for t, (tab, dd) in enumerate(zip(tables, dims)):
        for _, row in tab.iterrows():
            key = (t, tuple(str(row[d]) for d in dd))
            v = row["value"]
            if pd.isna(v):
                bounds.append((0.0, upper))
            elif interval is not None:
                bounds.append(interval(float(v)))
            else:
                bounds.append((float(v), float(v)))
            var_index[key] = len(bounds) - 1
    n = len(bounds)
    eq_rows: list[np.ndarray] = []
    ub_rows: list[np.ndarray] = []
    for t, (tab, dd, hier) in enumerate(zip(tables, dims, hierarchies)):
        labels = {d: sorted(set(tab[d].astype(str))) for d in dd}
        for di, d in enumerate(dd):
            par = _parents(labels[d], hier.get(d))
            kids: dict[str, list[str]] = {}
            for lab, p in par.items():
                if p is not None:
                    kids.setdefault(p, []).append(lab)
            others = [labels[e] for e in dd if e != d]
            for p, ks in kids.items():
                for rest in itertools.product(*others):

                    def key(lab: str, rest=rest, di=di, t=t) -> tuple[int, tuple[str, ...]]:
                        full = list(rest)
                        full.insert(di, lab)
                        return (t, tuple(full))

                    if key(p) not in var_index:
                        continue
                    if additive and d not in overlapping_dims:
                        row = np.zeros(n)
                        row[var_index[key(p)]] = 1.0
                        for k in ks:
                            row[var_index[key(k)]] -= 1.0
                        eq_rows.append(row)
                    else:
                        row = np.zeros(n)
                        row[var_index[key(p)]] = 1.0
                        for k in ks:
                            row[var_index[key(k)]] -= 1.0
                        ub_rows.append(row)
                        for k in ks:
                            r2 = np.zeros(n)
                            r2[var_index[key(k)]] = 1.0
                            r2[var_index[key(p)]] = -1.0
                            ub_rows.append(r2)
    for ta, la, tb, lb in ties:
        row = np.zeros(n)
        row[var_index[(ta, tuple(la))]] = 1.0
        row[var_index[(tb, tuple(lb))]] = -1.0
        eq_rows.append(row)
    A_eq = np.array(eq_rows) if eq_rows else None
    A_ub = np.array(ub_rows) if ub_rows else None
    out: list[dict[tuple[str, ...], tuple[float, float]]] = [dict() for _ in tables]
    for (t, labels_), j in var_index.items():
        if not pd.isna(tables[t].loc[_row_of(tables[t], dims[t], labels_), "value"]):
            continue
        res = []
        for sign in (1.0, -1.0):
            c = np.zeros(n)
            c[j] = sign
            r = linprog(
                c,
                A_eq=A_eq,
                b_eq=np.zeros(len(eq_rows)) if eq_rows else None,
                A_ub=A_ub,
                b_ub=np.zeros(len(ub_rows)) if ub_rows else None,
                bounds=bounds,
                method="highs",
            )
            assert r.status == 0, r.message
            res.append(sign * r.fun)
        out[t][labels_] = (res[0], res[1])
    return out


def _row_of(tab: pd.DataFrame, dd: Sequence[str], labels: tuple[str, ...]) -> int:
    mask = np.ones(len(tab), dtype=bool)
    for d, lab in zip(dd, labels):
        mask &= tab[d].astype(str).to_numpy() == lab
    idx = np.flatnonzero(mask)
    assert len(idx) == 1
    return int(tab.index[idx[0]])


def true_counts(
    data: pd.DataFrame,
    dims: Sequence[str],
    hier: Mapping[str, Mapping[str, str]],
    unit_col: str = "entity_id",
) -> dict[tuple[str, ...], int]:
    """Distinct units per cell of the full table (margins included), computed naively."""
    expanded = data.copy()
    levels = {}
    for d in dims:
        par = dict(hier.get(d, {}))

        def chain(v: str, par=par) -> list[str]:
            out = [v]
            while out[-1] in par:
                out.append(par[out[-1]])
            return out + [TOTAL]

        levels[d] = {v: chain(str(v)) for v in set(data[d].astype(str))}
    counts: dict[tuple[str, ...], set] = {}
    for _, row in expanded.iterrows():
        for combo in itertools.product(*[levels[d][str(row[d])] for d in dims]):
            counts.setdefault(combo, set()).add(row[unit_col])
    return {k: len(v) for k, v in counts.items()}


@pytest.fixture()
def attacker():
    return attack_tables


@pytest.fixture()
def truth():
    return true_counts
