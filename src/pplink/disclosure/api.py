"""``release``: the only way numbers leave the analyst zone.

Steps: build the table with all margins (distinct units per cell) -> primary rules ->
ledger checks against earlier releases -> publication model (exact, rounded or
cell-key perturbed) -> secondary suppression (exact MILP or heuristic), jointly with linked
earlier releases -> LP audit (fails the release if any unsafe cell can be narrowed below
its protection level) -> output table + disclosure report -> ledger record.

Example:
    >>> import pandas as pd
    >>> from pplink.disclosure.synthetic import synthetic_clients
    >>> df = synthetic_clients(400, n_wijken=4, seed=1)
    >>> res = release(df, ["wijk", "service"], "count", "cbs-remote-access")
    >>> res.report.passed, set(res.table["status"]) <= set(STATUSES)
    (True, True)
    >>> bool(res.table.loc[res.table["status"].str.endswith("suppressed"), "value"].isna().all())
    True
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from typing import Any
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pplink.errors import DisclosureError, InputError
from pplink.disclosure.audit import ProtectionProblem, audit
from pplink.disclosure.cellkey import PTable, perturb_counts
from pplink.disclosure.ledger import Ledger, LedgerContext
from pplink.disclosure.policy import Policy, load_policy
from pplink.disclosure.report import DisclosureReport
from pplink.disclosure.rounding import round_controlled, round_nearest, rounding_interval
from pplink.disclosure.rules import PrimaryResult, apply_primary_rules
from pplink.disclosure.suppress import SuppressionResult, _Unprotectable, suppress_exact, suppress_heuristic
from pplink.disclosure.table import TableData, build_table, parse_measure

__all__ = ["release", "ReleaseResult", "STATUSES", "PUBLIC_STATUSES"]

STATUSES = ("safe", "rounded", "perturbed", "primary-suppressed", "secondary-suppressed")
PUBLIC_STATUSES = ("safe", "rounded", "perturbed", "suppressed")


@dataclass
class ReleaseResult:
    """The protected table and its disclosure report.

    ``table`` has one row per cell (margins included): one label column and one
    ``<dim>_level`` column per dimension, ``value`` (empty for hidden cells), ``status``
    (:data:`STATUSES`) and ``rule`` (why a cell was unsafe); ``table.attrs`` holds the
    policy fingerprint. :meth:`public_table` is the version to publish: primary and
    secondary suppression both read ``suppressed``, the rule column is dropped (readers
    cannot tell small cells from complements) and a ``policy_fingerprint`` column is added.

    Example:
        >>> import pandas as pd
        >>> r = ReleaseResult(pd.DataFrame({"w": ["T"], "w_level": ["total"], "value": [1],
        ...                                 "status": ["primary-suppressed"], "rule": ["frequency"]}),
        ...                   DisclosureReport(policy={}, definition={}))
        >>> r.public_table()["status"].tolist()
        ['suppressed']
        >>> "policy_fingerprint" in r.public_table().columns
        True
    """

    table: pd.DataFrame
    report: DisclosureReport

    def public_table(self) -> pd.DataFrame:
        """The publishable table (merged suppression status, no rule column).

        Example:
            >>> import pandas as pd
            >>> r = ReleaseResult(pd.DataFrame({"value": [3], "status": ["safe"], "rule": [""]}),
            ...                   DisclosureReport(policy={}, definition={}))
            >>> list(r.public_table().columns)
            ['value', 'status', 'policy_fingerprint']
        """
        out = self.table.drop(columns=["rule"], errors="ignore").copy()
        out["status"] = out["status"].replace(
            {"primary-suppressed": "suppressed", "secondary-suppressed": "suppressed"}
        )
        out["policy_fingerprint"] = self.report.policy_fingerprint
        return out


_ENCODING_HINTS = ("clk",)
_ENCODING_PREFIXES = ("bf_", "tok_")


def _guard_zone(data: pd.DataFrame) -> None:
    bad = [c for c in data.columns if str(c) in _ENCODING_HINTS or str(c).startswith(_ENCODING_PREFIXES)]
    if bad:
        raise InputError(
            "release works on links and pseudonymous attributes only, never on encodings; "
            f"drop the encoding column(s) {bad[:5]} first"
        )


@dataclass
class _Publication:
    method: str  # exact | rounding | cell-key
    values: np.ndarray  # what would be published (before hiding)
    up: np.ndarray
    down: np.ndarray
    info: dict[str, Any]


def _publication(table: TableData, policy: Policy, rounding_method: str, notes: list[str]) -> _Publication:
    a = table.base
    n = len(a)
    zeros = np.zeros(n)
    if table.measure != "count":
        if policy.rounding.base or policy.cell_key.enabled:
            notes.append(
                "rounding / cell-key perturbation apply to counts only; amounts are published exactly (protected by suppression)"
            )
        return _Publication("exact", table.value.copy(), zeros, zeros.copy(), {"method": "exact"})
    if policy.rounding.base:
        b = policy.rounding.base
        r = None
        if rounding_method == "controlled":
            r = round_controlled(a, b, table.A_eq, table.A_ub)
            if r is None:
                notes.append("controlled rounding found no solution; used nearest rounding")
                rounding_method = "nearest"
        if r is None:
            r = round_nearest(a, b)
        lo, hi = rounding_interval(r, b, rounding_method)
        r = r.astype(float)
        info = {
            "method": "rounding",
            "base": b,
            "rounding": rounding_method,
            "mean_abs_change": float(np.abs(r - a).mean()) if n else 0.0,
            "max_abs_change": float(np.abs(r - a).max()) if n else 0.0,
        }
        return _Publication("rounding", r, hi - a, a - lo, info)
    if policy.cell_key.enabled:
        ck = policy.cell_key
        seed = ck.resolved_seed()
        if not seed:
            raise DisclosureError(
                "cell-key perturbation needs a secret seed: set [cell_key] seed, or seed_env and that environment variable"
            )
        pt = PTable(ck.max_noise, ck.variance)
        v = perturb_counts(a, table.cell_units, table.unit_ids, seed, pt).astype(float)
        lo = np.maximum(v - ck.max_noise, 0.0)
        hi = v + ck.max_noise
        info = {
            "method": "cell-key",
            "max_noise": ck.max_noise,
            "variance": ck.variance,
            "mean_abs_change": float(np.abs(v - a).mean()) if n else 0.0,
        }
        return _Publication("cell-key", v, hi - a, a - lo, info)
    return _Publication("exact", table.value.copy(), zeros, zeros.copy(), {"method": "exact"})


def _problem(table: TableData, prim: PrimaryResult, policy: Policy, pub: _Publication) -> ProtectionProblem:
    a = table.base.astype(float)
    factor = policy.secondary.upper_bound_factor
    if table.measure != "count" and table.info.get("negative_amounts"):
        top = float(table.info["amount_abs_total"]) * factor
        lo_ap, hi_ap = -top, top
    else:
        lo_ap, hi_ap = 0.0, (float(a.max()) if len(a) else 0.0) * factor
    up_room = np.maximum(hi_ap - a, 0.0)
    down_room = np.maximum(a - lo_ap, 0.0)
    if policy.secondary.cost == "value":
        cost = np.abs(a) + 1.0
    elif policy.secondary.cost == "cells":
        cost = np.ones(len(a))
    else:
        cost = 1.0 + np.log1p(np.abs(a))
    return ProtectionProblem(
        A_eq=table.A_eq,
        A_ub=table.A_ub,
        value=a,
        up_room=up_room,
        down_room=down_room,
        pub_up=np.minimum(np.maximum(pub.up, 0.0), up_room),
        pub_down=np.minimum(np.maximum(pub.down, 0.0), down_room),
        upl=np.minimum(prim.upl, up_room),
        lpl=np.minimum(prim.lpl, down_room),
        primary=prim.primary.copy(),
        cost=cost,
        fixed_published=np.zeros(len(a), bool),
        fixed_hidden=np.zeros(len(a), bool),
    )


def _secondary(problem: ProtectionProblem, policy: Policy, method: str | None) -> SuppressionResult:
    m = method or policy.secondary.method
    base = problem.primary | problem.fixed_hidden
    if not problem.primary.any():
        return SuppressionResult(base.copy(), "none-needed", optimal=True)
    if m == "none":
        return SuppressionResult(base.copy(), "none")
    if m == "auto":
        m = "exact" if problem.n <= policy.secondary.exact_max_cells else "heuristic"
    if m == "exact":
        return suppress_exact(problem, time_limit_s=policy.secondary.time_limit_s)
    if m == "heuristic":
        return suppress_heuristic(problem)
    raise DisclosureError(f"unknown secondary suppression method {m!r}")


def _definition(
    table: TableData,
    by: Sequence[str],
    measure: str,
    unit: str,
    person_col: str,
    household_col: str | None,
    description: str,
) -> dict[str, Any]:
    dims = []
    for d in table.dims:
        levels: dict[str, int] = {}
        for lv in d.levels:
            levels[lv] = levels.get(lv, 0) + 1
        dims.append({"name": d.name, "levels": levels})
    return {
        "by": list(by),
        "measure": measure,
        "unit": unit,
        "person_col": person_col,
        "household_col": household_col,
        "dimensions": dims,
        "n_cells": table.n_cells,
        "description": description,
    }


def release(
    data: pd.DataFrame,
    by: Sequence[str],
    measure: str = "count",
    policy: str | os.PathLike[str] | Policy | Mapping[str, Any] = "cbs-remote-access",
    *,
    unit: str = "person",
    person_col: str = "entity_id",
    household_col: str | None = "household_id",
    hierarchies: Mapping[str, Any] | None = None,
    ledger: Ledger | str | os.PathLike[str] | None = None,
    categories: Mapping[str, Sequence[str]] | None = None,
    description: str = "",
    method: str | None = None,
) -> ReleaseResult:
    """Aggregate, protect, audit and (optionally) record a table.

    ``data``: one row per person and service (or any unit-level rows) with the linked
    ``person_col`` / ``household_col`` and pseudonymous attributes. ``measure``:
    ``"count"`` (distinct units), ``"sum:<col>"`` or ``"mean:<col>"``. ``unit``: count
    ``"person"`` or ``"household"``. ``hierarchies``: per dimension a child -> parent
    mapping or a list of coarser columns (``{"buurt": ["wijk"]}``). ``ledger``: a
    :class:`~pplink.disclosure.ledger.Ledger` or a path (checks differencing against earlier
    releases, protects linked tables jointly, records this release). ``method`` overrides
    the policy's secondary-suppression method.

    Raises :class:`~pplink.errors.DisclosureError` when the request cannot be released
    under the policy (a refused differencing conflict, an unprotectable cell, a failed
    audit) and :class:`~pplink.errors.ConfigError` / :class:`~pplink.errors.InputError`
    for bad arguments or data.

    Example:
        >>> from pplink.disclosure.synthetic import synthetic_clients
        >>> df = synthetic_clients(300, n_wijken=3, seed=2)
        >>> res = release(df, ["wijk"], "count", "neighbourhood", unit="household")
        >>> res.report.policy_fingerprint == load_policy("neighbourhood").fingerprint
        True
        >>> sorted(set(res.table["status"]))
        ['rounded']
    """
    pol = load_policy(policy)
    if not isinstance(data, pd.DataFrame):
        raise InputError("data must be a pandas DataFrame")
    _guard_zone(data)
    if len(data) == 0:
        raise InputError("data has no rows: nothing to release")
    by = list(by)
    kind, amount_col = parse_measure(measure)
    if kind != "count" and amount_col in data.columns:
        amt = pd.to_numeric(data[amount_col], errors="coerce")
        if (amt < 0).any() and not pol.magnitude.allow_negative:
            raise DisclosureError(
                f"column {amount_col!r} has negative amounts; the magnitude rules assume amounts >= 0 "
                "(set [magnitude] allow_negative = true to accept them)"
            )
    top_k = max([2] + [n for n, _ in pol.magnitude.dominance])
    table = build_table(
        data,
        by,
        measure,
        unit=unit,
        person_col=person_col,
        household_col=household_col,
        hierarchies=hierarchies,
        total_label=pol.output.total_label,
        contributor=pol.magnitude.contributor,
        top_k=top_k,
        categories=categories,
    )
    n = table.n_cells
    notes: list[str] = []
    prim = apply_primary_rules(table, pol)

    # ---- ledger: differencing and linked tables
    led: Ledger | None = None
    own_ledger = False
    if ledger is not None:
        led = ledger if isinstance(ledger, Ledger) else Ledger(ledger)
        own_ledger = not isinstance(ledger, Ledger)
    try:
        ctx: LedgerContext | None = None
        action = ""
        if led is not None:
            ctx = led.prepare(table, pol, ~prim.primary)
            if ctx.conflicts:
                if pol.ledger.on_conflict == "refuse":
                    lines = [
                        c.explain(pol.ledger_min_difference, pol.frequency.min_households)
                        for c in ctx.conflicts[:10]
                    ]
                    more = len(ctx.conflicts) - len(lines)
                    raise DisclosureError(
                        "request refused: together with earlier releases it would isolate fewer than "
                        f"{pol.ledger_min_difference} units by differencing:\n  - "
                        + "\n  - ".join(lines)
                        + (f"\n  ... and {more} more" if more > 0 else "")
                        + "\nChange the population or filter substantially, coarsen the table, or use a policy "
                        'with [ledger] on_conflict = "suppress".'
                    )
                action = "suppressed"
                for c in ctx.conflicts:
                    a = float(table.base[c.cell])
                    if table.measure == "count":
                        p = float(pol.count_protection_level)
                        prim.mark(c.cell, "differencing", p, min(p, a))
                    else:
                        p = pol.magnitude.frequency_range_pct / 100.0 * abs(a)
                        prim.mark(c.cell, "differencing", p, min(p, abs(a)))

        # ---- publication model and secondary suppression
        rounding_method = pol.rounding.method
        if rounding_method == "controlled" and prim.primary.any():
            notes.append(
                "controlled rounding is not combined with hidden cells (additive rounded margins would "
                "reveal their rounded values); used nearest rounding"
            )
            rounding_method = "nearest"
        while True:
            pub = _publication(table, pol, rounding_method, notes)
            problem = _problem(table, prim, pol, pub)
            joint, _ = ctx.joint_problem(problem) if ctx is not None else (problem, None)
            try:
                sup = _secondary(joint, pol, method)
            except _Unprotectable as exc:
                where = (
                    f"cell ({', '.join(table.labels(exc.cell))})"
                    if exc.cell < n
                    else f"cell #{exc.cell - n} of an earlier release"
                )
                extra = " and the earlier releases" if ctx is not None and ctx.stored else ""
                raise DisclosureError(
                    f"{where} cannot be protected under this policy{extra}; "
                    "coarsen the table or lower the protection level"
                ) from None
            hidden_joint = sup.hidden
            hidden = hidden_joint[:n]
            if pub.info.get("rounding") == "controlled" and hidden.any():
                notes.append(
                    "controlled rounding was dropped because cells had to be hidden; used nearest rounding"
                )
                rounding_method = "nearest"
                continue
            break

        # ---- audit: all hidden cells of the new table and the unsafe cells of linked releases
        check_cells = np.flatnonzero(
            hidden_joint & (np.arange(joint.n) < n) | (joint.primary & (np.arange(joint.n) >= n))
        )
        aud = audit(joint, hidden_joint, cells=check_cells)
        if not aud.passed:
            msgs = []
            for f in aud.failures[:10]:
                c = f["cell"]
                where = f"({', '.join(table.labels(c))})" if c < n else f"earlier release cell #{c - n}"
                msgs.append(f"{where}: {f['reason']}")
            hint = (
                " Rounding or perturbation alone does not protect these cells: use secondary suppression."
                if sup.method == "none"
                else ""
            )
            raise DisclosureError("audit failed: " + "; ".join(msgs) + "." + hint)

        # ---- output table
        status = []
        pub_status = {"exact": "safe", "rounding": "rounded", "cell-key": "perturbed"}[pub.method]
        for c in range(n):
            if hidden[c]:
                status.append("primary-suppressed" if prim.primary[c] else "secondary-suppressed")
            else:
                status.append(pub_status)
        if table.measure == "count":
            values = pd.array(np.where(hidden, 0, np.round(pub.values)).astype(np.int64), dtype="Int64")
            values[hidden] = pd.NA
        else:
            values = np.where(hidden, np.nan, pub.values)
        cols: dict[str, Any] = {}
        idx = np.unravel_index(np.arange(n), table.shape) if n else [np.zeros(0, int)] * len(table.dims)
        for d, ix in zip(table.dims, idx):
            cols[d.name] = [d.labels[int(i)] for i in ix]
        for d, ix in zip(table.dims, idx):
            cols[f"{d.name}_level"] = [d.levels[int(i)] for i in ix]
        cols["value"] = values
        cols["status"] = status
        cols["rule"] = [";".join(prim.reasons[c]) if prim.primary[c] else "" for c in range(n)]
        out = pd.DataFrame(cols)
        out.attrs["policy_fingerprint"] = pol.fingerprint

        # ---- report
        leaf = table.is_leaf_cell()
        n_hidden = int(hidden.sum())
        base_abs = np.abs(table.base)
        info_loss = {
            "cells": n,
            "hidden_cells": n_hidden,
            "primary_cells": int((hidden & prim.primary).sum()),
            "secondary_cells": int((hidden & ~prim.primary).sum()),
            "hidden_cells_share": n_hidden / n if n else 0.0,
            "inner_cells": int(leaf.sum()),
            "hidden_inner_cells": int((hidden & leaf).sum()),
            "hidden_inner_value": float(base_abs[hidden & leaf].sum()),
            "hidden_inner_value_share": float(base_abs[hidden & leaf].sum() / base_abs[leaf].sum())
            if base_abs[leaf].sum() > 0
            else 0.0,
            "suppression_cost": float(problem.cost[hidden].sum()),
        }
        cells = []
        for c in np.flatnonzero(hidden):
            cells.append(
                {
                    "cell": int(c),
                    "labels": dict(zip([d.name for d in table.dims], table.labels(int(c)))),
                    "status": status[c],
                    "rules": list(prim.reasons[c]) if prim.primary[c] else [],
                    "interval": [float(aud.lower[c]), float(aud.upper[c])],
                }
            )
        counts: dict[str, int] = {}
        for s in status:
            counts[s] = counts.get(s, 0) + 1
        definition = _definition(table, by, measure, unit, person_col, household_col, description)
        suppression = sup.to_dict(joint)
        if kind == "mean":
            notes.append(
                "means are protected through the table of sums (intervals in the report are for sums)"
            )
        if kind == "count" and not table.rel_additive.all():
            notes.append(
                f"{int((~table.rel_additive).sum())} relations are not additive (units in several categories); "
                "the audit uses max(children) <= parent <= sum(children) for them"
            )
        report = DisclosureReport(
            policy=pol.summary(),
            definition=definition,
            created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            status_counts=counts,
            rule_counts=prim.counts(),
            information_loss=info_loss,
            audit={
                **aud.to_dict(),
                "attacker_model": "linear structure + non-negativity + upper bound "
                f"({pol.secondary.upper_bound_factor:g} x grand total) + published values/intervals"
                + (" + linked earlier releases" if ctx is not None and ctx.stored else ""),
            },
            suppression=suppression,
            publication=pub.info,
            cells=cells,
            notes=notes,
        )
        if led is not None and ctx is not None:
            rid = led.record(
                ctx,
                table,
                problem,
                hidden,
                status,
                np.where(hidden, np.nan, pub.values),
                policy=pol,
                definition=definition,
                description=description,
            )
            report.ledger = {**ctx.summary(), "release_id": rid, "action": action or "none"}
        return ReleaseResult(out, report)
    finally:
        if own_ledger and led is not None:
            led.close()
