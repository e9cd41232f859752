"""Release ledger (SQLite): what was published, and checks of new requests against it.

The ledger lives in the analyst zone only. Per release it stores the table definition, the
policy fingerprint, a population fingerprint, every cell with its status and published
value, and, compressed, the *unit sets* of all cells as keyed 64-bit hashes of the
pseudonymous person and household ids (keyed with a random salt kept in the ledger), plus
the table's linear structure and protection data for the joint audit.

Checks for a new request (before it is protected):

* **Differencing** (Denning et al. 1979, "the tracker"): for every new cell and every
  earlier cell of the same kind (same unit, same measure family) that share units, the
  symmetric difference of their unit sets is computed by one sparse matrix product.
  ``0 < |A xor B| < min_difference`` units (or, when one cell lies inside the other, a
  difference made of persons from fewer than ``min_households`` households) means that
  publishing the new cell next to the old one
  would reveal a handful of people by subtraction: the same table for a population that
  differs by a few records, overlapping geographies, a slightly changed filter. The
  policy then refuses the request (with the list of conflicts) or treats those cells as
  unsafe.
* **Linked tables**: new cells with exactly the same unit set as an earlier cell are the
  same number. The new table is protected and audited *jointly* with the earlier releases
  it shares cells with (their published values fixed, their hidden cells still needing
  their protection), so an earlier hidden cell cannot be recovered through the new table,
  nor a new one through the earlier tables.

Limitations: differences against *combinations* of three or more earlier cells (general
trackers) are only caught through linked cells and the joint LP audit, not in general;
nested cells (A strictly inside B) across releases add no inequality to the joint audit.

Example:
    >>> import os, tempfile
    >>> led = Ledger(os.path.join(tempfile.mkdtemp(), "ledger.sqlite"))
    >>> led.releases()
    []
    >>> led.close()
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import io
import json
import os
import secrets
import sqlite3
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from pplink.disclosure.audit import ProtectionProblem
from pplink.disclosure.policy import Policy
from pplink.disclosure.table import TableData
from pplink.errors import LedgerError, PplinkError

__all__ = ["Ledger", "LedgerContext", "Conflict", "LedgerError"]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS releases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    description TEXT NOT NULL,
    policy_fingerprint TEXT NOT NULL,
    family TEXT NOT NULL,
    definition TEXT NOT NULL,
    population_fingerprint TEXT NOT NULL,
    n_cells INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS cells (
    release_id INTEGER NOT NULL REFERENCES releases(id),
    cell INTEGER NOT NULL,
    labels TEXT NOT NULL,
    status TEXT NOT NULL,
    published REAL,
    PRIMARY KEY (release_id, cell)
);
CREATE TABLE IF NOT EXISTS links (
    release_id INTEGER NOT NULL,
    cell INTEGER NOT NULL,
    other_release INTEGER NOT NULL,
    other_cell INTEGER NOT NULL
);
"""
_FORMAT = "pplink-ledger/1"
_TABLES = frozenset({"meta", "releases", "cells", "links"})
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: The arrays stored per release (see :meth:`Ledger.record`).
_ARRAYS = frozenset({
    "n_cells", "persons_indptr", "persons_indices", "persons_hash", "person_household", "households_indptr",
    "households_indices", "households_hash", "eq_data", "eq_indices", "eq_indptr", "eq_rows", "ub_data",
    "ub_indices", "ub_indptr", "ub_rows", "value", "up_room", "down_room", "pub_up", "pub_down", "upl", "lpl",
    "primary", "hidden",
})
_RESTORE = (
    "restore it from a backup (never delete or replace it: without it earlier releases are no longer "
    "checked for differencing)"
)


@dataclass
class Conflict:
    """A new cell that would be differenced against an earlier released cell.

    Example:
        >>> Conflict(3, 1, 7, "persons", ("W1",), ("W1",)).to_dict()["release_id"]
        1
    """

    cell: int
    release_id: int
    other_cell: int
    kind: str  # "persons" or "households"
    labels: tuple[str, ...]
    other_labels: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (no unit counts: only which cells and which kind of difference).

        Example:
            >>> sorted(Conflict(0, 1, 2, "persons", ("a",), ("b",)).to_dict())
            ['cell', 'kind', 'labels', 'other_cell', 'other_labels', 'release_id']
        """
        return {
            "cell": self.cell,
            "labels": list(self.labels),
            "release_id": self.release_id,
            "other_cell": self.other_cell,
            "other_labels": list(self.other_labels),
            "kind": self.kind,
        }

    def explain(self, min_difference: int, min_households: int) -> str:
        """One sentence for error messages.

        Example:
            >>> Conflict(0, 4, 2, "persons", ("W1", "wmo"), ("W1", "wmo")).explain(10, 10)[:30]
            'cell (W1, wmo) differs from ce'
        """
        what = (
            f"fewer than {min_difference} persons"
            if self.kind == "persons"
            else f"persons from fewer than {min_households} households"
        )
        return (
            f"cell ({', '.join(self.labels)}) differs from cell ({', '.join(self.other_labels)}) "
            f"of release {self.release_id} by {what}"
        )


@dataclass
class _Stored:
    release_id: int
    family: str
    definition: dict[str, Any]
    arrays: dict[str, np.ndarray]
    labels: list[tuple[str, ...]]

    def matrix(self, prefix: str) -> sp.csr_matrix:
        a = self.arrays
        n = int(a["n_cells"])
        hashes = a[f"{prefix}_hash"]
        return sp.csr_matrix(
            (
                np.ones(len(a[f"{prefix}_indices"]), dtype=np.int64),
                a[f"{prefix}_indices"],
                a[f"{prefix}_indptr"],
            ),
            shape=(n, len(hashes)),
        )

    def problem(self) -> ProtectionProblem:
        a = self.arrays
        n = int(a["n_cells"])

        def mat(name: str) -> sp.csr_matrix:
            return sp.csr_matrix(
                (a[f"{name}_data"], a[f"{name}_indices"], a[f"{name}_indptr"]),
                shape=(int(a[f"{name}_rows"]), n),
            )

        hidden = a["hidden"].astype(bool)
        return ProtectionProblem(
            A_eq=mat("eq"),
            A_ub=mat("ub"),
            value=a["value"],
            up_room=a["up_room"],
            down_room=a["down_room"],
            pub_up=a["pub_up"],
            pub_down=a["pub_down"],
            upl=a["upl"],
            lpl=a["lpl"],
            primary=a["primary"].astype(bool),
            cost=np.ones(n),
            fixed_published=~hidden,
            fixed_hidden=hidden,
        )


@dataclass
class LedgerContext:
    """Result of checking a new table against the ledger (see :meth:`Ledger.prepare`).

    Example:
        >>> LedgerContext(family="count/person", person_hash=np.zeros(0, np.int64)).conflicts
        []
    """

    family: str
    person_hash: np.ndarray
    household_hash: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    person_household: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    conflicts: list[Conflict] = field(default_factory=list)
    links: list[tuple[int, int, int]] = field(default_factory=list)  # (new cell, release, old cell)
    stored: dict[int, _Stored] = field(default_factory=dict)
    old_links: list[tuple[int, int, int, int]] = field(default_factory=list)
    releases_compared: int = 0

    def joint_problem(self, new: ProtectionProblem) -> tuple[ProtectionProblem, np.ndarray]:
        """The new problem joined with linked earlier releases; returns (problem, new-cell index).

        Earlier cells keep their status (published cells stay published, hidden cells
        hidden) and their unsafe cells keep their protection levels; identical cells are
        tied by equations ``x_new - x_old = 0``.

        Example:
            >>> import scipy.sparse as sp
            >>> ctx = LedgerContext(family="count/person", person_hash=np.zeros(0, np.int64))
            >>> p = ProtectionProblem.simple(sp.csr_matrix((0, 2)), np.array([1.0, 2.0]))
            >>> joint, idx = ctx.joint_problem(p)
            >>> joint is p, idx.tolist()
            (True, [0, 1])
        """
        if not self.stored:
            return new, np.arange(new.n)
        parts = [new]
        offset = {0: 0}
        pos = new.n
        order = sorted(self.stored)
        for rid in order:
            offset[rid] = pos
            p = self.stored[rid].problem()
            parts.append(p)
            pos += p.n
        total = pos
        eq_blocks = [sp.csr_matrix(p.A_eq) for p in parts]
        ub_blocks = [sp.csr_matrix(p.A_ub) for p in parts]
        A_eq = sp.block_diag(eq_blocks, format="csr") if eq_blocks else sp.csr_matrix((0, total))
        A_ub = sp.block_diag(ub_blocks, format="csr") if ub_blocks else sp.csr_matrix((0, total))
        ties = []
        for cell, rid, ocell in self.links:
            ties.append((offset[0] + cell, offset[rid] + ocell))
        for rid, cell, orid, ocell in self.old_links:
            if rid in offset and orid in offset and rid != 0 and orid != 0:
                ties.append((offset[rid] + cell, offset[orid] + ocell))
        if ties:
            r = np.repeat(np.arange(len(ties)), 2)
            c = np.array(ties, dtype=np.int64).ravel()
            v = np.tile([1.0, -1.0], len(ties))
            T = sp.csr_matrix((v, (r, c)), shape=(len(ties), total))
            A_eq = sp.vstack([A_eq, T], format="csr")
        cat = lambda name: np.concatenate([getattr(p, name) for p in parts])  # noqa: E731
        joint = ProtectionProblem(
            A_eq=A_eq,
            A_ub=A_ub,
            value=cat("value"),
            up_room=cat("up_room"),
            down_room=cat("down_room"),
            pub_up=cat("pub_up"),
            pub_down=cat("pub_down"),
            upl=cat("upl"),
            lpl=cat("lpl"),
            primary=cat("primary"),
            cost=np.concatenate([new.cost] + [np.full(p.n, 1.0) for p in parts[1:]]),
            fixed_published=cat("fixed_published"),
            fixed_hidden=cat("fixed_hidden"),
        )
        return joint, np.arange(new.n)

    def summary(self) -> dict[str, Any]:
        """For the report.

        Example:
            >>> LedgerContext(family="f", person_hash=np.zeros(0, np.int64)).summary()["conflicts"]
            []
        """
        return {
            "releases_compared": self.releases_compared,
            "linked_releases": sorted(self.stored),
            "linked_cells": len(self.links),
            "conflicts": [c.to_dict() for c in self.conflicts],
        }


def _family(table: TableData) -> str:
    if table.measure == "count":
        return f"count/{table.unit}"
    return f"amount:{table.amount_col}/{table.unit}"


def _pack(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _unpack(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


class Ledger:
    """A release ledger in one SQLite file (created when missing).

    An existing file that is not a pplink ledger (a text file, another database, an empty
    file) or that is damaged (truncated, lost its salt, unreadable releases) raises
    :class:`LedgerError` naming it: the ledger is never replaced or repaired silently.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "l.sqlite")
        >>> with Ledger(path) as led:
        ...     led.format
        'pplink-ledger/1'
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise LedgerError(f"a release ledger is a file path (found {type(path).__name__})")
        self.path = os.fspath(path)
        existed = _check_file(Path(self.path))
        try:
            self._db = sqlite3.connect(self.path)
        except sqlite3.Error as exc:
            raise LedgerError(f"release ledger {self.path} cannot be opened ({exc})") from None
        try:
            with self._guard("opened"):
                self._open(existed)
        except BaseException:
            self._db.close()
            raise

    def _open(self, existed: bool) -> None:
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        ours = _TABLES | {"sqlite_sequence"}
        if existed and tables and (tables - ours or not _TABLES <= tables):
            raise LedgerError(
                f"release ledger {self.path} is an SQLite database but not a pplink release ledger "
                f"(it has table(s) {', '.join(sorted(tables)) or 'none'}); give the path of the ledger, or a new "
                "file name to start a new ledger"
            )
        self._db.executescript(_SCHEMA)
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if "salt" not in meta:
            n = self._db.execute("SELECT COUNT(*) FROM releases").fetchone()[0]
            if n:
                raise LedgerError(
                    f"release ledger {self.path} is damaged: it holds {n} release(s) but lost its hashing salt, so "
                    f"new tables cannot be compared with them; {_RESTORE}"
                )
            with self._db:
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('salt', ?)", (secrets.token_hex(32),))
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (_FORMAT,))
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        fmt = meta.get("format")
        if fmt != _FORMAT:
            raise LedgerError(
                f"release ledger {self.path} has format {fmt!r}, this pplink reads {_FORMAT!r}; use the pplink "
                "version that wrote it"
            )
        try:
            salt = bytes.fromhex(str(meta["salt"]))
        except ValueError:
            salt = b""
        if len(salt) != 32:
            raise LedgerError(f"release ledger {self.path} is damaged: its hashing salt is unreadable; {_RESTORE}")
        self._salt = salt
        self.format = fmt

    @contextlib.contextmanager
    def _guard(self, doing: str, *, stored: bool = False) -> Iterator[None]:
        """SQLite errors (with ``stored``, also errors decoding stored data) become a
        :class:`LedgerError` naming the file."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise LedgerError(
                    f"release ledger {self.path} could not be {doing}: another process is using it ({text}); "
                    "wait for it to finish and try again"
                ) from None
            if "readonly" in text or "read-only" in text:
                raise LedgerError(
                    f"release ledger {self.path} could not be {doing}: it is read-only; make it writable"
                ) from None
            if "disk" in text and "full" in text:
                raise LedgerError(f"release ledger {self.path} could not be {doing}: the disk is full") from None
            raise LedgerError(
                f"release ledger {self.path} could not be {doing}: it is not a pplink release ledger or it is "
                f"damaged ({text}); {_RESTORE}"
            ) from None
        except sqlite3.DatabaseError as exc:
            raise LedgerError(
                f"release ledger {self.path} could not be {doing}: it is not a pplink release ledger or it is "
                f"damaged ({exc}); {_RESTORE}"
            ) from None
        except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError, TypeError, IndexError) as exc:
            if not stored or isinstance(exc, PplinkError):
                raise
            raise LedgerError(
                f"release ledger {self.path} could not be {doing}: a stored release is damaged "
                f"({type(exc).__name__}: {exc}); {_RESTORE}"
            ) from None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the database.

        Example:
            >>> import os, tempfile
            >>> Ledger(os.path.join(tempfile.mkdtemp(), "l.sqlite")).close()
        """
        self._db.close()

    # ------------------------------------------------------------------ hashing
    def hash_ids(self, ids: np.ndarray) -> np.ndarray:
        """Keyed 64-bit hashes (int64) of pseudonymous ids.

        Example:
            >>> import os, tempfile
            >>> with Ledger(os.path.join(tempfile.mkdtemp(), "l.sqlite")) as led:
            ...     h = led.hash_ids(np.array(["a", "b", "a"]))
            >>> bool(h[0] == h[2]), bool(h[0] != h[1])
            (True, True)
        """
        out = np.empty(len(ids), dtype=np.int64)
        for i, u in enumerate(ids):
            d = hashlib.blake2b(str(u).encode("utf-8"), key=self._salt, digest_size=8).digest()
            out[i] = int.from_bytes(d, "big", signed=True)
        return out

    # ---------------------------------------------------------------- inspection
    def releases(self) -> list[dict[str, Any]]:
        """All releases (id, created, description, fingerprints, definition).

        Example:
            >>> import os, tempfile
            >>> Ledger(os.path.join(tempfile.mkdtemp(), "l.sqlite")).releases()
            []
        """
        with self._guard("read", stored=True):
            rows = self._db.execute(
                "SELECT id, created, description, policy_fingerprint, family, definition, population_fingerprint, "
                "n_cells FROM releases ORDER BY id"
            ).fetchall()
            return [
                {
                    "id": r[0],
                    "created": r[1],
                    "description": r[2],
                    "policy_fingerprint": r[3],
                    "family": r[4],
                    "definition": json.loads(r[5]),
                    "population_fingerprint": r[6],
                    "n_cells": r[7],
                }
                for r in rows
            ]

    def cells(self, release_id: int) -> list[dict[str, Any]]:
        """Published cells of a release (labels, status, published value or None).

        Example:
            >>> import os, tempfile
            >>> Ledger(os.path.join(tempfile.mkdtemp(), "l.sqlite")).cells(1)
            []
        """
        with self._guard("read", stored=True):
            rows = self._db.execute(
                "SELECT cell, labels, status, published FROM cells WHERE release_id=? ORDER BY cell",
                (release_id,),
            ).fetchall()
            return [{"cell": r[0], "labels": json.loads(r[1]), "status": r[2], "published": r[3]} for r in rows]

    def _load(self, release_id: int) -> _Stored:
        with self._guard("read", stored=True):
            row = self._db.execute(
                "SELECT family, definition, data FROM releases WHERE id=?", (release_id,)
            ).fetchone()
            if row is None:
                raise LedgerError(
                    f"release ledger {self.path} is damaged: release {release_id} is referenced but missing; {_RESTORE}"
                )
            labels = [
                tuple(json.loads(r[0]))
                for r in self._db.execute(
                    "SELECT labels FROM cells WHERE release_id=? ORDER BY cell", (release_id,)
                )
            ]
            stored = _Stored(release_id, row[0], json.loads(row[1]), _unpack(row[2]), labels)
            missing = _ARRAYS - set(stored.arrays)
            if missing or len(labels) != int(stored.arrays["n_cells"]):
                raise LedgerError(
                    f"release ledger {self.path} is damaged: release {release_id} is incomplete; {_RESTORE}"
                )
            for prefix in ("persons", "households"):  # inconsistent arrays fail here, not deep in a check
                stored.matrix(prefix)
            return stored

    # --------------------------------------------------------------------- checks
    def prepare(self, table: TableData, policy: Policy, candidate: np.ndarray) -> LedgerContext:
        """Compare a new table with every earlier release of the same family.

        ``candidate``: cells that would be published if nothing else happened (non-unsafe
        cells); only those can raise a differencing conflict.

        Example:
            >>> import os, tempfile, pandas as pd
            >>> from pplink.disclosure.table import build_table
            >>> from pplink.disclosure.policy import load_policy
            >>> df = pd.DataFrame({"entity_id": list("abc"), "household_id": list("abc"), "w": list("xxy")})
            >>> t = build_table(df, ["w"], "count")
            >>> with Ledger(os.path.join(tempfile.mkdtemp(), "l.sqlite")) as led:
            ...     ctx = led.prepare(t, load_policy("cbs-remote-access"), np.ones(3, bool))
            >>> ctx.conflicts, ctx.releases_compared
            ([], 0)
        """
        with self._guard("read"):
            return self._prepare(table, policy, candidate)

    def _prepare(self, table: TableData, policy: Policy, candidate: np.ndarray) -> LedgerContext:
        fam = _family(table)
        p_hash = self.hash_ids(table.person_ids)
        h_hash = self.hash_ids(table.household_ids)
        cp = table.cell_persons.tocsr()
        ch = table.cell_households.tocsr()
        ctx = LedgerContext(family=fam, person_hash=p_hash, household_hash=h_hash)
        ctx.person_household = h_hash[table.info["person_household_code"]]
        person_table = table.unit == "person"
        new_units = cp if person_table else ch
        new_hash = p_hash if person_table else h_hash
        prefix = "persons" if person_table else "households"
        min_diff = policy.ledger_min_difference
        min_hh = policy.frequency.min_households
        ids = [r[0] for r in self._db.execute("SELECT id FROM releases WHERE family=? ORDER BY id", (fam,))]
        linked: set[int] = set()
        for rid in ids:
            old = self._load(rid)
            ctx.releases_compared += 1
            old_units = old.matrix(prefix)
            old_hash = old.arrays[f"{prefix}_hash"]
            a_new, a_old = _align(new_units, new_hash, old_units, old_hash)
            inter = (a_new @ a_old.T).tocoo()
            rows, cols = inter.row.astype(np.int64), inter.col.astype(np.int64)
            diff = np.diff(a_new.indptr)[rows] + np.diff(a_old.indptr)[cols] - 2 * inter.data
            # identical unit sets: the same number (amounts: also the same total)
            same = diff == 0
            if table.measure != "count":
                same &= np.isclose(table.base[rows], old.arrays["value"][cols])
            for r, c in zip(rows[same], cols[same]):
                ctx.links.append((int(r), rid, int(c)))
                linked.add(rid)
            kind = "persons" if person_table else "households"
            small = (diff > 0) & (diff < min_diff) & candidate[rows]
            for r, c in zip(rows[small], cols[small]):
                ctx.conflicts.append(
                    Conflict(int(r), rid, int(c), kind, table.labels(int(r)), old.labels[int(c)])
                )
            # person tables: when one cell lies inside the other, the count difference is
            # the size of the group in between; that group must also span at least
            # min_households households. |households(A xor B)| >= |H_A xor H_B|, so only
            # pairs whose household sets differ by fewer than min_households need the
            # exact check.
            if person_table and min_hh > 1:
                size_n = np.diff(a_new.indptr)[rows]
                size_o = np.diff(a_old.indptr)[cols]
                nested = inter.data == np.minimum(size_n, size_o)
                rest = (diff >= min_diff) & candidate[rows] & nested
                if rest.any():
                    hn, ho = _align(ch, h_hash, old.matrix("households"), old.arrays["households_hash"])
                    r_, c_ = rows[rest], cols[rest]
                    ih = np.asarray((hn @ ho.T).tocsr()[r_, c_]).ravel()
                    dh = np.diff(hn.indptr)[r_] + np.diff(ho.indptr)[c_] - 2 * ih
                    check = dh < min_hh
                    if check.any():
                        hh_of = dict(zip(new_hash.tolist(), ctx.person_household.tolist()))
                        hh_of.update(zip(old_hash.tolist(), old.arrays["person_household"].tolist()))
                        for r, c in zip(r_[check], c_[check]):
                            a = set(new_hash[cp.indices[cp.indptr[r] : cp.indptr[r + 1]]].tolist())
                            b = set(
                                old_hash[
                                    old_units.indices[old_units.indptr[c] : old_units.indptr[c + 1]]
                                ].tolist()
                            )
                            hh = {hh_of[u] for u in a ^ b}
                            if 0 < len(hh) < min_hh:
                                ctx.conflicts.append(
                                    Conflict(
                                        int(r),
                                        rid,
                                        int(c),
                                        "households",
                                        table.labels(int(r)),
                                        old.labels[int(c)],
                                    )
                                )
            if rid in linked:
                ctx.stored[rid] = old
        # a new cell identical to an earlier released cell adds no information: its
        # differences to other earlier cells were already public (or checked) then
        same_as_old = {c for c, _, _ in ctx.links}
        ctx.conflicts = [c for c in ctx.conflicts if c.cell not in same_as_old]
        # close the set of linked releases under earlier links
        frontier = set(linked)
        while frontier:
            q = ",".join("?" * len(frontier))
            rows = self._db.execute(
                f"SELECT release_id, cell, other_release, other_cell FROM links WHERE release_id IN ({q}) OR other_release IN ({q})",
                (*frontier, *frontier),
            ).fetchall()
            frontier = set()
            for rid, cell, orid, ocell in rows:
                ctx.old_links.append((rid, cell, orid, ocell))
                for x in (rid, orid):
                    if x not in ctx.stored:
                        ctx.stored[x] = self._load(x)
                        frontier.add(x)
        ctx.old_links = sorted(set(ctx.old_links))
        return ctx

    # --------------------------------------------------------------------- record
    def record(
        self,
        ctx: LedgerContext,
        table: TableData,
        problem: ProtectionProblem,
        hidden: np.ndarray,
        status: list[str],
        published: np.ndarray,
        *,
        policy: Policy,
        definition: dict[str, Any],
        description: str = "",
    ) -> int:
        """Store a protected release; returns its id. :func:`pplink.release` calls it when given a ledger.

        Example:
            >>> import os, tempfile
            >>> from pplink.disclosure.api import release
            >>> from pplink.disclosure.synthetic import synthetic_clients
            >>> path = os.path.join(tempfile.mkdtemp(), "ledger.sqlite")
            >>> _ = release(synthetic_clients(300, n_wijken=3, seed=2), ["wijk"], "count", "neighbourhood",
            ...             unit="household", ledger=path)
            >>> [r["id"] for r in Ledger(path).releases()]
            [1]
        """
        with self._guard("written"):
            new_units = table.cell_persons.tocsr()
            hh_units = table.cell_households.tocsr()
            unit_hash = ctx.person_hash if table.unit == "person" else ctx.household_hash
            pop = hashlib.sha256(np.sort(unit_hash).tobytes()).hexdigest()
            eq, ub = problem.A_eq.tocsr(), problem.A_ub.tocsr()
            arrays = {
                "n_cells": np.array(table.n_cells),
                "persons_indptr": new_units.indptr.astype(np.int64),
                "persons_indices": new_units.indices.astype(np.int64),
                "persons_hash": ctx.person_hash,
                "person_household": ctx.person_household,
                "households_indptr": hh_units.indptr.astype(np.int64),
                "households_indices": hh_units.indices.astype(np.int64),
                "households_hash": ctx.household_hash,
                "eq_data": eq.data,
                "eq_indices": eq.indices.astype(np.int64),
                "eq_indptr": eq.indptr.astype(np.int64),
                "eq_rows": np.array(eq.shape[0]),
                "ub_data": ub.data,
                "ub_indices": ub.indices.astype(np.int64),
                "ub_indptr": ub.indptr.astype(np.int64),
                "ub_rows": np.array(ub.shape[0]),
                "value": problem.value,
                "up_room": problem.up_room,
                "down_room": problem.down_room,
                "pub_up": problem.pub_up,
                "pub_down": problem.pub_down,
                "upl": problem.upl,
                "lpl": problem.lpl,
                "primary": problem.primary.astype(np.int8),
                "hidden": np.asarray(hidden).astype(np.int8),
            }
            assert set(arrays) == _ARRAYS
            created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
            with self._db:
                cur = self._db.execute(
                    "INSERT INTO releases (created, description, policy_fingerprint, family, definition, "
                    "population_fingerprint, n_cells, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        created,
                        description,
                        policy.fingerprint,
                        ctx.family,
                        json.dumps(definition, sort_keys=True),
                        pop,
                        table.n_cells,
                        _pack(arrays),
                    ),
                )
                rid = int(cur.lastrowid)
                self._db.executemany(
                    "INSERT INTO cells VALUES (?, ?, ?, ?, ?)",
                    [
                        (
                            rid,
                            c,
                            json.dumps(list(table.labels(c))),
                            status[c],
                            None if hidden[c] or not np.isfinite(published[c]) else float(published[c]),
                        )
                        for c in range(table.n_cells)
                    ],
                )
                self._db.executemany(
                    "INSERT INTO links VALUES (?, ?, ?, ?)", [(rid, c, orid, oc) for c, orid, oc in ctx.links]
                )
            return rid


def _check_file(p: Path) -> bool:
    """Refuse what cannot be a ledger before SQLite opens (or creates) it; True when the file exists."""
    if p.is_dir():
        raise LedgerError(f"release ledger {p} is a directory; give the path of the ledger file, e.g. {p / 'ledger.sqlite'}")
    if not p.exists():
        parent = p.parent if str(p.parent) else Path(".")
        if not parent.is_dir():
            raise LedgerError(f"release ledger {p}: directory {parent} does not exist; create it first")
        return False
    try:
        with open(p, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise LedgerError(f"release ledger {p} cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise LedgerError(
            f"release ledger {p} is an empty file, not a ledger; if it was never used, delete it and pplink starts a "
            f"new ledger there; otherwise {_RESTORE}"
        )
    if not head.startswith(_SQLITE_MAGIC):
        raise LedgerError(
            f"release ledger {p} is not a pplink release ledger (not an SQLite database); check the path, or "
            f"{_RESTORE}"
        )
    if len(head) < 100:
        raise LedgerError(f"release ledger {p} is truncated (only {len(head)} bytes); {_RESTORE}")
    page = int.from_bytes(head[16:18], "big")
    page = 65536 if page == 1 else page
    pages = int.from_bytes(head[28:32], "big")
    valid = head[24:28] == head[92:96]  # the header's page count is valid when these agree
    # a crash leaves a journal that SQLite replays on opening: then the size may legitimately differ
    recovering = any(Path(f"{p}{suffix}").exists() for suffix in ("-journal", "-wal"))
    if valid and not recovering and pages and page and p.stat().st_size < page * pages:
        raise LedgerError(
            f"release ledger {p} is truncated ({p.stat().st_size} bytes; its header says {page * pages}); "
            f"{_RESTORE}"
        )
    return True


def _align(
    a: sp.csr_matrix, ha: np.ndarray, b: sp.csr_matrix, hb: np.ndarray
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Re-index two cell x unit matrices onto one common unit axis (by hash)."""
    allh, inv = np.unique(np.concatenate([ha, hb]), return_inverse=True)
    ia, ib = inv[: len(ha)], inv[len(ha) :]
    a2 = sp.csr_matrix(
        (np.ones(a.nnz, dtype=np.int64), ia[a.indices], a.indptr), shape=(a.shape[0], len(allh))
    )
    b2 = sp.csr_matrix(
        (np.ones(b.nnz, dtype=np.int64), ib[b.indices], b.indptr), shape=(b.shape[0], len(allh))
    )
    return a2, b2
