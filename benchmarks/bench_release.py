"""Benchmark: secondary suppression of a 100 wijk x 20 category table with hierarchies.

Table: 100 wijken grouped in 10 stadsdelen (-> gemeente total), 20 categories grouped in
4 groups (-> total), so 111 x 25 = 2,775 cells with all margins. Synthetic persons and
households (each person in one cell, households of 1-3 persons), about 143,000 persons.
Policy: the ``cbs-remote-access`` preset (>= 10 persons and households per cell,
protection level 10).

For each method the script prints the time, the number of hidden cells (unsafe +
complementary), the information loss (sum of the hidden inner cells' counts and the
suppression cost) and whether the LP audit passes:

* ``exact``     MILP with LP-duality cuts, warm-started with the heuristic (time limit);
* ``heuristic`` one LP per unsafe cell and direction (network-flow style), with audit;
* ``naive-smallest``  hide the smallest other cell of each relation, no audit;
* ``naive-relations`` hide every cell of every relation of an unsafe cell.

Run:  python benchmarks/bench_release.py [--seed 0] [--time-limit 120] [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from pplink.disclosure._lp import BACKEND
from pplink.disclosure.api import _problem, _publication
from pplink.disclosure.audit import audit
from pplink.disclosure.policy import load_policy
from pplink.disclosure.rules import apply_primary_rules
from pplink.disclosure.suppress import suppress_exact, suppress_heuristic, suppress_naive
from pplink.disclosure.table import build_table


def make_data(seed: int, n_wijken: int = 100, n_cats: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    means = rng.gamma(3.0, 25.0, size=(n_wijken, 1)) * rng.dirichlet(np.full(n_cats, 2.0), size=n_wijken) * 20
    counts = rng.poisson(means)
    ent, hh, wijk, sd, cat, grp = [], [], [], [], [], []
    pid = 0
    hid = 0
    for w in range(n_wijken):
        for c in range(n_cats):
            n = int(counts[w, c])
            sizes = []
            while sum(sizes) < n:
                sizes.append(int(rng.integers(1, 4)))
            k = 0
            for s in sizes:
                for _ in range(s):
                    if k >= n:
                        break
                    ent.append(pid)
                    hh.append(hid)
                    wijk.append(f"WK0153{w:03d}")
                    sd.append(f"SD{w // (n_wijken // 10):02d}")
                    cat.append(f"C{c:02d}")
                    grp.append(f"G{c // (n_cats // 4)}")
                    pid += 1
                    k += 1
                hid += 1
    return pd.DataFrame(
        {"entity_id": ent, "household_id": hh, "wijk": wijk, "stadsdeel": sd, "categorie": cat, "groep": grp}
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--quick", action="store_true", help="skip the exact method")
    args = ap.parse_args()

    t0 = time.perf_counter()
    df = make_data(args.seed)
    pol = load_policy("cbs-remote-access")
    table = build_table(
        df, ["wijk", "categorie"], "count", hierarchies={"wijk": ["stadsdeel"], "categorie": ["groep"]}
    )
    prim = apply_primary_rules(table, pol)
    pub = _publication(table, pol, "nearest", [])
    problem = _problem(table, prim, pol, pub)
    t_build = time.perf_counter() - t0
    leaf = table.is_leaf_cell()
    print(f"LP backend: {BACKEND}")
    print(
        f"table {table.shape[0]} x {table.shape[1]} nodes = {table.n_cells} cells "
        f"({int(leaf.sum())} inner), {table.info['n_persons']} persons, {table.info['n_households']} households; "
        f"built with primary rules in {t_build:.2f} s"
    )
    print(f"unsafe (primary) cells: {int(prim.primary.sum())}  {prim.counts()}")
    print()
    header = f"{'method':<17}{'seconds':>9}{'hidden':>8}{'primary':>9}{'second.':>9}{'hidden inner units':>20}{'cost':>10}{'audit':>8}{'fails':>7}{'audit s':>9}"
    print(header)
    print("-" * len(header))

    def report(name: str, hidden: np.ndarray, seconds: float, note: str = "") -> None:
        ta = time.perf_counter()
        a = audit(problem, hidden, all_hidden=False)
        t_a = time.perf_counter() - ta
        n_fail = len(a.failures)
        units = float(problem.value[hidden & leaf].sum())
        print(
            f"{name:<17}{seconds:>9.2f}{int(hidden.sum()):>8}{int((hidden & problem.primary).sum()):>9}"
            f"{int((hidden & ~problem.primary).sum()):>9}{units:>20.0f}{problem.cost[hidden].sum():>10.0f}"
            f"{'pass' if a.passed else 'FAIL':>8}{n_fail:>7}{t_a:>9.2f}  {note}"
        )

    t = time.perf_counter()
    h = suppress_heuristic(problem)
    report("heuristic", h.hidden, time.perf_counter() - t, f"{h.n_lp} LPs")
    if not args.quick:
        t = time.perf_counter()
        e = suppress_exact(problem, time_limit_s=args.time_limit)
        note = f"optimal={e.optimal} iterations={e.iterations} cuts={e.n_cuts}"
        if e.lower_bound is not None:
            note += f" lower bound={e.lower_bound:.0f}"
        report("exact", e.hidden, time.perf_counter() - t, note)
    for mode in ("smallest", "relations"):
        t = time.perf_counter()
        nv = suppress_naive(problem, mode)
        report(f"naive-{mode}", nv.hidden, time.perf_counter() - t)


if __name__ == "__main__":
    main()
