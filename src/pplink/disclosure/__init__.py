"""Disclosure control for released aggregates (the analyst zone).

``release`` is the only way numbers leave the analyst zone. It takes linked records
(entity and household ids) with pseudonymous attributes — never encodings — and returns a
protected table plus a disclosure report:

* primary rules: minimum frequency in distinct persons *and* households, (n,k)-dominance
  and p% for amounts, group disclosure, small differences between overlapping categories;
* secondary suppression (exact MILP with LP-duality cuts, or a fast LP heuristic) so no
  hidden cell can be recomputed from totals, hierarchies or linked earlier releases;
* an LP audit of every hidden cell;
* optional rounding (nearest / controlled) or cell-key perturbation;
* a SQLite release ledger that refuses (or protects) differencing against earlier releases.

Example:
    >>> from pplink.disclosure import release
    >>> from pplink.disclosure.synthetic import synthetic_clients
    >>> res = release(synthetic_clients(500, n_wijken=4, seed=0), ["wijk", "domain"], "count", "cbs-remote-access")
    >>> res.report.passed
    True
"""

from __future__ import annotations

from pplink.disclosure.api import PUBLIC_STATUSES, STATUSES, ReleaseResult, release
from pplink.disclosure.audit import AuditResult, ProtectionProblem, attack_intervals, audit
from pplink.disclosure.cli_support import run_release_cli
from pplink.disclosure.ledger import Ledger
from pplink.disclosure.policy import Policy, list_presets, load_policy, policy_from_dict
from pplink.disclosure.report import DisclosureReport
from pplink.disclosure.stacking import release_stacking, stacking_table
from pplink.disclosure.suppress import suppress_exact, suppress_heuristic, suppress_naive

__all__ = [
    "release",
    "ReleaseResult",
    "DisclosureReport",
    "STATUSES",
    "PUBLIC_STATUSES",
    "Policy",
    "load_policy",
    "list_presets",
    "policy_from_dict",
    "Ledger",
    "stacking_table",
    "release_stacking",
    "run_release_cli",
    "ProtectionProblem",
    "AuditResult",
    "audit",
    "attack_intervals",
    "suppress_exact",
    "suppress_heuristic",
    "suppress_naive",
]
