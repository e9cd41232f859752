"""Results of the audit attacks: what each attack claims, how it is scored, and the report.

Scoring (see docs/privacy-audit.md):

* A **claim** is an attack's statement "encoded record *i* is reference person *r*". A record
  counts as **re-identified** when the claim is right, i.e. the reference's truth column says
  that person *r* is encoded record *i*. The re-identification share of an attack is
  ``correct claims / encoded records`` (all records attacked, also those whose person is not in
  the reference). ``precision`` is ``correct / claims``: how far an attacker could trust them.
* Value attacks (frequency, pattern mining) also report, per field, the share of encoded
  records whose value was recovered correctly: a value is not yet a person, but e.g. a surname
  recovered for half the records is a leak in itself.
* Without a truth column only the number of claims can be reported; whether they are right is
  then unknown (``None``).

Example:
    >>> import numpy as np
    >>> r = score_claims("demo", np.array([0, 1, -1]), np.array(["a", "b", "c"], dtype=object),
    ...                  np.array(["a", "x"], dtype=object))
    >>> r.n_claims, r.n_correct, round(r.reidentified, 3), r.precision
    (2, 1, 0.333, 0.5)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["AttackResult", "AuditReport", "score_claims", "score_values"]


@dataclass
class AttackResult:
    """What one attack achieved against one encoded file.

    ``claims[i]`` is the reference row claimed for encoded record ``i`` (``-1``: none).
    ``n_correct``/``reidentified``/``precision`` are ``None`` when no truth is known.
    ``values`` holds per-field value recovery (value attacks only).
    """

    attack: str
    n_records: int
    claims: np.ndarray
    n_correct: int | None
    settings: dict[str, Any] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def n_claims(self) -> int:
        return int((self.claims >= 0).sum())

    @property
    def reidentified(self) -> float | None:
        """Share of encoded records correctly re-identified (``None`` without truth)."""
        if self.n_correct is None:
            return None
        return self.n_correct / self.n_records if self.n_records else 0.0

    @property
    def precision(self) -> float | None:
        if self.n_correct is None:
            return None
        return self.n_correct / self.n_claims if self.n_claims else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "attack": self.attack,
            "n_records": self.n_records,
            "n_claims": self.n_claims,
            "n_correct": self.n_correct,
            "reidentified": self.reidentified,
            "precision": self.precision,
            "settings": self.settings,
            "values": self.values,
            "notes": list(self.notes),
            "seconds": round(self.seconds, 3),
        }


def score_claims(
    attack: str,
    claims: np.ndarray,
    target_ids: np.ndarray,
    truth: np.ndarray | None,
    **kwargs: Any,
) -> AttackResult:
    """Score claims against the truth (reference row -> encoded record id, or ``None``)."""
    claims = np.asarray(claims, dtype=np.int64)
    n_correct: int | None = None
    if truth is not None:
        ok = claims >= 0
        claimed_truth = np.asarray(truth, dtype=object)[claims[ok]] if ok.any() else np.zeros(0, dtype=object)
        ids = np.asarray(target_ids, dtype=object)[ok]
        n_correct = int(sum(1 for a, b in zip(claimed_truth, ids, strict=True) if a is not None and str(a) == str(b)))
    return AttackResult(attack=attack, n_records=int(len(claims)), claims=claims, n_correct=n_correct, **kwargs)


def true_reference_row(target_ids: np.ndarray, truth: np.ndarray | None) -> np.ndarray:
    """Per encoded record: the reference row of the same person (``-1``: not in the reference)."""
    n = len(target_ids)
    out = np.full(n, -1, dtype=np.int64)
    if truth is None or n == 0:
        return out
    pos = {str(t): i for i, t in enumerate(truth) if t is not None}
    for i, rid in enumerate(target_ids):
        out[i] = pos.get(str(rid), -1)
    return out


def score_values(
    decoded: np.ndarray, present: np.ndarray, true_row: np.ndarray, reference_values: np.ndarray | None
) -> dict[str, Any]:
    """Value recovery of one field: records with a filter, with a recovered value, and correct."""
    has_value = pd.Series(decoded, dtype=object).notna().to_numpy() & present
    out: dict[str, Any] = {"n_present": int(present.sum()), "n_recovered": int(has_value.sum())}
    if reference_values is None or not (true_row >= 0).any():
        out.update(n_correct=None, share_correct=None)
        return out
    known = has_value & (true_row >= 0)
    truth_vals = np.asarray(reference_values, dtype=object)[true_row[known]]
    correct = int(sum(1 for a, b in zip(np.asarray(decoded, dtype=object)[known], truth_vals, strict=True)
                      if b is not None and a == b))
    out.update(n_correct=correct, share_correct=correct / out["n_present"] if out["n_present"] else 0.0)
    return out


@dataclass
class AuditReport:
    """All attacks run against one encoded file, with the threat-model facts they assumed."""

    source: str
    n_records: int
    n_reference: int
    overlap: float | None
    schema: str
    hardening: dict[str, Any]
    results: list[AttackResult]

    @property
    def max_reidentified(self) -> float | None:
        shares = [r.reidentified for r in self.results if r.reidentified is not None]
        return max(shares) if shares else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "n_records": self.n_records,
            "n_reference": self.n_reference,
            "overlap": self.overlap,
            "schema": self.schema,
            "hardening": self.hardening,
            "max_reidentified": self.max_reidentified,
            "attacks": [r.to_dict() for r in self.results],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=_json_default)

    def to_frame(self) -> pd.DataFrame:
        """One row per attack: claims, correct, re-identified share, precision, seconds."""
        return pd.DataFrame([
            {"attack": r.attack, "records": r.n_records, "claims": r.n_claims, "correct": r.n_correct,
             "reidentified": r.reidentified, "precision": r.precision, "seconds": round(r.seconds, 2)}
            for r in self.results
        ])

    def format(self) -> str:
        """A plain-text summary (what ``pplink audit`` prints)."""
        lines = [
            f"audit of {self.source!r}: {self.n_records} encoded records, schema {self.schema!r}, "
            f"hardening {json.dumps(self.hardening, sort_keys=True)}",
            f"reference: {self.n_reference} plaintext records"
            + (f", {self.overlap:.0%} of the encoded records' persons among them" if self.overlap is not None else
               " (no truth column: claims cannot be checked)"),
        ]
        for r in self.results:
            if r.reidentified is None:
                head = f"  {r.attack:<10} {r.n_claims} claims (unverified: no truth)"
            else:
                head = (f"  {r.attack:<10} re-identified {r.reidentified:7.2%} of records "
                        f"({r.n_correct} correct of {r.n_claims} claims, precision {r.precision:.1%})")
            lines.append(head + f"  [{r.seconds:.1f}s]")
            if r.settings:
                lines.append("             settings: " + ", ".join(f"{k}={v}" for k, v in r.settings.items()))
            for name, v in r.values.items():
                if v.get("share_correct") is not None:
                    lines.append(f"             {name:<22} value recovered for {v['share_correct']:6.1%} "
                                 f"({v['n_correct']} of {v['n_present']})")
                else:
                    lines.append(f"             {name:<22} value claimed for {v['n_recovered']} of {v['n_present']}")
            for note in r.notes:
                lines.append(f"             note: {note}")
        return "\n".join(lines)


def _json_default(x: Any) -> Any:
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)
