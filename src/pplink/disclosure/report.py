"""The disclosure report: which rule protected which cell, information loss, audit, policy.

The report is meant for the privacy officer / output checker of the analyst zone. It
never contains the true value of a hidden cell; for hidden cells it gives the interval an
attacker can derive from the *published* numbers and the a priori bounds (a multiple of
the grand total, which is almost always published itself).
It does name the rule that made a cell unsafe, which says a little about the cell (e.g.
"frequency" = a small cell): publish the table, keep the report with the release file.

Example:
    >>> r = DisclosureReport(policy={"name": "x", "fingerprint": "ab"}, definition={"by": ["wijk"]})
    >>> r.to_dict()["format"]
    'pplink-disclosure-report/1'
    >>> "# Disclosure report" in r.to_markdown()
    True
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DisclosureReport", "REPORT_FORMAT"]

REPORT_FORMAT = "pplink-disclosure-report/1"


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        if math.isnan(obj) or math.isinf(obj):
            return None
        return round(obj, 6)
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item"):
        return _clean(obj.item())
    return obj


@dataclass
class DisclosureReport:
    """What was released and how it was protected.

    Example:
        >>> DisclosureReport(policy={"fingerprint": "f"}, definition={}).passed
        True
    """

    policy: dict[str, Any]
    definition: dict[str, Any]
    created: str = ""
    status_counts: dict[str, int] = field(default_factory=dict)
    rule_counts: dict[str, int] = field(default_factory=dict)
    information_loss: dict[str, Any] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=lambda: {"passed": True})
    suppression: dict[str, Any] = field(default_factory=dict)
    publication: dict[str, Any] = field(default_factory=dict)
    ledger: dict[str, Any] | None = None
    cells: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether the LP audit passed.

        Example:
            >>> DisclosureReport(policy={}, definition={}, audit={"passed": False}).passed
            False
        """
        return bool(self.audit.get("passed", False))

    @property
    def policy_fingerprint(self) -> str:
        """The SHA-256 fingerprint of the policy used.

        Example:
            >>> DisclosureReport(policy={"fingerprint": "ab"}, definition={}).policy_fingerprint
            'ab'
        """
        return str(self.policy.get("fingerprint", ""))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data.

        Example:
            >>> sorted(DisclosureReport(policy={}, definition={}).to_dict())[:3]
            ['audit', 'cells', 'created']
        """
        return _clean(
            {
                "format": REPORT_FORMAT,
                "created": self.created,
                "policy": self.policy,
                "definition": self.definition,
                "status_counts": self.status_counts,
                "rule_counts": self.rule_counts,
                "information_loss": self.information_loss,
                "audit": self.audit,
                "suppression": self.suppression,
                "publication": self.publication,
                "ledger": self.ledger,
                "cells": self.cells,
                "notes": self.notes,
            }
        )

    def to_json(self) -> str:
        """The report as indented JSON.

        Example:
            >>> '"format"' in DisclosureReport(policy={}, definition={}).to_json()
            True
        """
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, sort_keys=False)

    def to_markdown(self, max_cells: int = 200) -> str:
        """A readable summary (Markdown), listing up to ``max_cells`` hidden cells.

        Example:
            >>> md = DisclosureReport(policy={"name": "p", "fingerprint": "f"}, definition={"by": ["w"]}).to_markdown()
            >>> "Policy" in md
            True
        """
        p, d, il = self.policy, self.definition, self.information_loss
        lines = [
            "# Disclosure report",
            "",
            f"- Created: {self.created}",
            f"- Policy: **{p.get('name', '?')}** version {p.get('version', '?')}",
            f"- Policy fingerprint: `{p.get('fingerprint', '')}`",
            f"- Table: {d.get('measure', '?')} of {d.get('unit', '?')}s by {', '.join(d.get('by', []))}",
        ]
        if d.get("description"):
            lines.append(f"- Description: {d['description']}")
        lines += [
            f"- Audit: **{'passed' if self.passed else 'FAILED'}** ({self.audit.get('lp_solved', 0)} LPs)",
            "",
            "## Cells by status",
            "",
            "| status | cells |",
            "|---|---:|",
        ]
        lines += [f"| {k} | {v} |" for k, v in self.status_counts.items()]
        if self.rule_counts:
            lines += ["", "## Unsafe cells by rule", "", "| rule | cells |", "|---|---:|"]
            lines += [f"| {k} | {v} |" for k, v in self.rule_counts.items()]
        if il:
            lines += ["", "## Information loss", ""]
            lines += [f"- {k.replace('_', ' ')}: {_fmt(v)}" for k, v in il.items()]
        if self.suppression:
            s = self.suppression
            lines += [
                "",
                "## Secondary suppression",
                "",
                f"- Method: {s.get('method')} (optimal: {s.get('optimal')}), "
                f"{s.get('seconds')} s, {s.get('iterations', 0)} master iterations, {s.get('cuts', 0)} cuts",
            ]
            for note in s.get("notes", []):
                lines.append(f"- {note}")
        if self.publication:
            lines += ["", "## Publication", ""]
            lines += [f"- {k.replace('_', ' ')}: {_fmt(v)}" for k, v in self.publication.items()]
        if self.ledger:
            lg = self.ledger
            lines += [
                "",
                "## Ledger",
                "",
                f"- Release id: {lg.get('release_id')}",
                f"- Earlier releases compared: {lg.get('releases_compared', 0)}; "
                f"linked (same units): {lg.get('linked_releases', [])}",
                f"- Differencing conflicts: {len(lg.get('conflicts', []))} ({lg.get('action', '')})",
            ]
        hidden = [c for c in self.cells if c.get("status", "").endswith("suppressed")]
        if hidden:
            dims = list(hidden[0]["labels"].keys())
            lines += [
                "",
                f"## Hidden cells ({len(hidden)})",
                "",
                "Interval = what an attacker can derive from the published numbers.",
                "",
                "| " + " | ".join(dims) + " | status | rule | interval |",
                "|" + "---|" * (len(dims) + 3),
            ]
            for c in hidden[:max_cells]:
                lo, hi = c.get("interval", [None, None])
                lines.append(
                    "| "
                    + " | ".join(str(c["labels"][k]) for k in dims)
                    + f" | {c['status']} | {', '.join(c.get('rules', [])) or '-'} | [{_fmt(lo)}, {_fmt(hi)}] |"
                )
            if len(hidden) > max_cells:
                lines.append(f"| ... {len(hidden) - max_cells} more | |")
        if self.notes:
            lines += ["", "## Notes", ""]
            lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def write(self, json_path: str | os.PathLike[str], md_path: str | os.PathLike[str] | None = None) -> None:
        """Write the JSON (and optionally Markdown) report atomically.

        Example:
            >>> import tempfile, os
            >>> d = tempfile.mkdtemp()
            >>> DisclosureReport(policy={}, definition={}).write(os.path.join(d, "r.json"), os.path.join(d, "r.md"))
            >>> sorted(os.listdir(d))
            ['r.json', 'r.md']
        """
        from pplink.disclosure.cli_support import write_text_atomic

        write_text_atomic(Path(json_path), self.to_json() + "\n")
        if md_path is not None:
            write_text_atomic(Path(md_path), self.to_markdown())


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        return f"{v:,.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    if v is None:
        return "-"
    return str(v)
