"""Primary disclosure rules: which cells are unsafe, why, and how much protection they need.

Rules (Hundepool et al. 2012, ch. 4; tau-argus manual):

* **frequency**: a non-empty cell with fewer than ``min_persons`` distinct persons or fewer
  than ``min_households`` distinct households (a household with two services counts once).
* **dominance (n, k)** (amounts): the n largest contributions exceed k % of the cell total.
  Protection needed: ``100/k * (x1 + ... + xn) - total``.
* **p %** (amounts): ``total - x1 - x2 < p/100 * x1``. Protection: ``p/100 * x1 - (total - x1 - x2)``.
* **group disclosure**: along a sensitive dimension, one category holds at least
  ``max_share`` of the units of its parent (e.g. nearly all clients of a wijk use one service).
* **overlap difference**: where categories overlap (a person in two services), a child cell
  and its parent that differ by fewer than the minimum number of units would reveal that
  small group by subtraction; the child is treated as unsafe.
* **zero** (only when ``zero_is_safe = false``): empty cells are unsafe too.

Protection levels: count cells need the attacker's interval to reach ``protection_level``
units above and below (below capped at the value: counts are >= 0); amount cells failing
only a frequency-type rule need ``frequency_range_pct`` % of their value both ways.

Example:
    >>> import pandas as pd
    >>> from pplink.disclosure.policy import load_policy
    >>> from pplink.disclosure.table import build_table
    >>> df = pd.DataFrame({"entity_id": [f"p{i}" for i in range(13)],
    ...                    "household_id": [f"h{i}" for i in range(13)],
    ...                    "wijk": ["A"] * 10 + ["B"] * 3})
    >>> t = build_table(df, ["wijk"], "count")
    >>> r = apply_primary_rules(t, load_policy("cbs-remote-access"))
    >>> r.primary.tolist(), r.reasons[2]
    ([False, False, True], ['frequency'])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pplink.disclosure.policy import Policy
from pplink.disclosure.table import TableData

__all__ = ["PrimaryResult", "apply_primary_rules"]


@dataclass
class PrimaryResult:
    """Unsafe cells with their reasons and protection levels (upper, lower).

    Example:
        >>> r = PrimaryResult.empty(2)
        >>> r.mark(1, "frequency", 10.0, 3.0)
        >>> r.primary.tolist(), r.upl.tolist(), r.lpl.tolist()
        ([False, True], [0.0, 10.0], [0.0, 3.0])
    """

    primary: np.ndarray
    upl: np.ndarray
    lpl: np.ndarray
    reasons: list[list[str]]

    @staticmethod
    def empty(n: int) -> PrimaryResult:
        """No unsafe cells yet.

        Example:
            >>> int(PrimaryResult.empty(3).primary.sum())
            0
        """
        return PrimaryResult(np.zeros(n, bool), np.zeros(n), np.zeros(n), [[] for _ in range(n)])

    def mark(self, cell: int, reason: str, upl: float, lpl: float) -> None:
        """Mark a cell unsafe (keeping the largest protection levels asked for).

        Example:
            >>> r = PrimaryResult.empty(1); r.mark(0, "a", 1, 1); r.mark(0, "b", 2, 0)
            >>> r.reasons[0], float(r.upl[0]), float(r.lpl[0])
            (['a', 'b'], 2.0, 1.0)
        """
        self.primary[cell] = True
        if reason not in self.reasons[cell]:
            self.reasons[cell].append(reason)
        self.upl[cell] = max(self.upl[cell], float(upl))
        self.lpl[cell] = max(self.lpl[cell], float(lpl))

    def counts(self) -> dict[str, int]:
        """Number of unsafe cells per rule.

        Example:
            >>> r = PrimaryResult.empty(2); r.mark(0, "frequency", 1, 1)
            >>> r.counts()
            {'frequency': 1}
        """
        out: dict[str, int] = {}
        for rs in self.reasons:
            for r in rs:
                out[r] = out.get(r, 0) + 1
        return out


def _soft_levels(table: TableData, policy: Policy, cell: int) -> tuple[float, float]:
    """Protection levels for frequency-type reasons (frequency, group, overlap, ledger)."""
    a = abs(float(table.base[cell]))
    if table.measure == "count":
        p = float(policy.count_protection_level)
        return p, min(p, a)
    pr = policy.magnitude.frequency_range_pct / 100.0 * a
    pr = max(pr, 1e-9)
    return pr, min(pr, a)


def apply_primary_rules(table: TableData, policy: Policy) -> PrimaryResult:
    """Apply the policy's primary rules to every cell (margins included).

    Example:
        >>> import pandas as pd
        >>> from pplink.disclosure.policy import load_policy
        >>> from pplink.disclosure.table import build_table
        >>> df = pd.DataFrame({"entity_id": [f"p{i}" for i in range(12)],
        ...                    "household_id": ["h1"] * 6 + ["h2"] * 6, "w": ["A"] * 12})
        >>> r = apply_primary_rules(build_table(df, ["w"], "count"), load_policy("cbs-remote-access"))
        >>> r.reasons[1]
        ['frequency']
    """
    n = table.n_cells
    res = PrimaryResult.empty(n)
    f = policy.frequency
    pers, hh = table.persons, table.households
    nonzero = table.units > 0
    small = nonzero & ((pers < f.min_persons) | (hh < f.min_households))
    for c in np.flatnonzero(small):
        upl, lpl = _soft_levels(table, policy, int(c))
        res.mark(int(c), "frequency", upl, lpl)
    if not f.zero_is_safe:
        for c in np.flatnonzero(~nonzero):
            upl, _ = _soft_levels(table, policy, int(c))
            res.mark(int(c), "zero", upl if table.measure == "count" else 0.0, 0.0)

    # magnitude rules
    if table.measure in ("sum", "mean"):
        m = policy.magnitude
        total = np.abs(table.base)
        for n_top, k in m.dominance:
            if table.top.shape[1] < n_top:
                raise ValueError("table was built with too few top contributions")
            top_sum = table.top[:, :n_top].sum(axis=1)
            unsafe = (total > 0) & (top_sum > k / 100.0 * total + 1e-9 * np.maximum(total, 1.0))
            for c in np.flatnonzero(unsafe):
                need = 100.0 / k * top_sum[c] - total[c]
                res.mark(int(c), f"dominance({n_top},{k:g})", need, min(need, total[c]))
        if m.p_percent > 0:
            x1 = table.top[:, 0]
            x2 = table.top[:, 1] if table.top.shape[1] > 1 else np.zeros(n)
            rest = total - x1 - x2
            unsafe = (total > 0) & (rest < m.p_percent / 100.0 * x1 - 1e-9 * np.maximum(total, 1.0))
            for c in np.flatnonzero(unsafe):
                need = m.p_percent / 100.0 * x1[c] - rest[c]
                res.mark(int(c), f"p%({m.p_percent:g})", need, min(need, total[c]))

    # group disclosure along sensitive dimensions
    g = policy.group_disclosure
    dim_names = [d.name for d in table.dims]
    for name in g.sensitive:
        if name not in dim_names:
            continue
        di = dim_names.index(name)
        for r in np.flatnonzero(table.rel_dim == di):
            p = int(table.rel_parent[r])
            kids = table.rel_children[r]
            if len(kids) < 2 or table.units[p] <= 0:
                continue
            for k in kids[table.units[kids] >= g.max_share * table.units[p]]:
                upl, lpl = _soft_levels(table, policy, int(k))
                res.mark(int(k), "group-disclosure", upl, lpl)

    # overlapping categories: small differences between a child and its parent
    if table.measure == "count":
        for r in np.flatnonzero(~table.rel_additive):
            p = int(table.rel_parent[r])
            if res.primary[p]:
                continue
            for k in table.rel_children[r]:
                k = int(k)
                dp = int(pers[p] - pers[k])
                dh = int(hh[p] - hh[k])
                if (0 < dp < f.min_persons) or (0 < dh < f.min_households):
                    upl, lpl = _soft_levels(table, policy, k)
                    res.mark(k, "overlap-difference", upl, lpl)
    return res
