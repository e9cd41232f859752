"""Logic behind ``pplink release`` (the lead wires it into click), with atomic outputs.

Example:
    >>> import os, tempfile
    >>> from pplink.disclosure.synthetic import synthetic_clients
    >>> d = tempfile.mkdtemp()
    >>> synthetic_clients(300, n_wijken=3, seed=5).to_csv(os.path.join(d, "linked.csv"), index=False)
    >>> res = run_release_cli(os.path.join(d, "linked.csv"), ["wijk"], "count", "neighbourhood",
    ...                       os.path.join(d, "table.csv"))
    >>> sorted(os.listdir(d))
    ['linked.csv', 'table.csv', 'table.report.json', 'table.report.md']
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import tomllib
from pathlib import Path
from typing import Any
from collections.abc import Mapping, Sequence

import pandas as pd

from pplink.errors import ConfigError, InputError

__all__ = [
    "run_release_cli",
    "read_linked",
    "parse_hierarchy_options",
    "write_text_atomic",
    "write_csv_atomic",
    "summarize",
]


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to a temporary file next to ``path`` and rename it into place.

    Example:
        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "a.txt"); write_text_atomic(p, "x"); open(p).read()
        'x'
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"output directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_csv_atomic(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a DataFrame as CSV (no index, empty for missing values) atomically.

    Example:
        >>> import os, tempfile, pandas as pd
        >>> p = os.path.join(tempfile.mkdtemp(), "t.csv")
        >>> write_csv_atomic(pd.DataFrame({"a": [1, None], "b": ["x", "y"]}), p); open(p).read()
        'a,b\\n1.0,x\\n,y\\n'
    """
    write_text_atomic(path, df.to_csv(index=False, lineterminator="\n"))


def read_linked(path: str | os.PathLike[str], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read linked data from CSV (all text; empty = missing) or Parquet.

    The CSV is checked strictly (see :func:`pplink.io.read_table`): its delimiter is taken from
    the header line, and bad quoting, wrong field counts, NUL bytes or text that is not UTF-8
    raise :class:`~pplink.errors.InputError` naming the file and line.

    Example:
        >>> import os, tempfile, pandas as pd
        >>> p = os.path.join(tempfile.mkdtemp(), "x.csv")
        >>> pd.DataFrame({"entity_id": ["1"], "household_id": [""]}).to_csv(p, index=False)
        >>> read_linked(p)["household_id"].isna().tolist()
        [True]
    """
    from pplink.io import read_table

    df = read_table(path, what="linked data file", required=list(columns) if columns else ())
    return df[list(columns)] if columns else df


def parse_hierarchy_options(
    options: Sequence[str] | None = None, file: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Hierarchies from ``dim=col1,col2`` options and/or a TOML/JSON file.

    A file maps a dimension to a list of coarser columns or to a table child -> parent.

    Example:
        >>> parse_hierarchy_options(["buurt=wijk,stadsdeel"])
        {'buurt': ['wijk', 'stadsdeel']}
    """
    out: dict[str, Any] = {}
    if file is not None:
        fp = Path(file)
        try:
            text = fp.read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read hierarchy file {fp}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"hierarchy file {fp} is not UTF-8 text") from None
        try:
            data = json.loads(text) if fp.suffix.lower() == ".json" else tomllib.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"hierarchy file {fp} is not valid: {exc}") from None
        if not isinstance(data, Mapping):
            raise ConfigError(f"hierarchy file {fp}: it must map dimension names to hierarchies")
        out.update(data)
    for opt in options or []:
        dim, sep, cols = opt.partition("=")
        if not sep or not dim or not cols:
            raise ConfigError(f"hierarchy option {opt!r} must look like dim=coarser1,coarser2")
        out[dim.strip()] = [c.strip() for c in cols.split(",") if c.strip()]
    return out


def _load_policy(load_policy: Any, policy: Any, overrides: Any) -> Any:
    """``load_policy`` with errors that name a policy file, and no bare decoding errors."""
    is_file = isinstance(policy, (str, os.PathLike)) and (
        str(policy).endswith(".toml") or Path(policy).exists())
    try:
        return load_policy(policy, overrides=overrides)
    except UnicodeDecodeError:
        raise ConfigError(f"policy file {policy} is not UTF-8 text") from None
    except ConfigError as exc:
        if is_file and str(policy) not in str(exc):
            raise ConfigError(f"policy file {policy}: {exc}") from None
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"policy {policy} has a setting of the wrong type or shape ({type(exc).__name__}: {exc})"
        ) from None


def summarize(result: Any) -> str:
    """A few lines for the terminal.

    Example:
        >>> from pplink.disclosure.report import DisclosureReport
        >>> class R: report = DisclosureReport(policy={"name": "p", "fingerprint": "abc"}, definition={})
        >>> summarize(R()).splitlines()[0]
        'policy p (abc)'
    """
    r = result.report
    il = r.information_loss
    return "\n".join(
        [
            f"policy {r.policy.get('name')} ({str(r.policy.get('fingerprint', ''))[:12]})",
            f"cells: {il.get('cells', 0)}, hidden: {il.get('hidden_cells', 0)} "
            f"({il.get('primary_cells', 0)} unsafe, {il.get('secondary_cells', 0)} complementary)",
            f"audit: {'passed' if r.passed else 'FAILED'}",
        ]
    )


def run_release_cli(
    linked_path: str | os.PathLike[str],
    by: Sequence[str],
    measure: str,
    policy: Any,
    output: str | os.PathLike[str],
    *,
    unit: str = "person",
    person_col: str = "entity_id",
    household_col: str | None = "household_id",
    hierarchy: Sequence[str] | None = None,
    hierarchy_file: str | os.PathLike[str] | None = None,
    ledger: str | os.PathLike[str] | None = None,
    description: str = "",
    method: str | None = None,
    detail: bool = False,
    policy_overrides: Mapping[str, Any] | None = None,
) -> Any:
    """Read linked data, release one table, write ``table.csv`` and its reports atomically.

    ``output``: the CSV path (reports go next to it as ``<stem>.report.json`` and
    ``<stem>.report.md``) or an existing directory (then ``table.csv`` inside it). The CSV
    is the publishable table (:meth:`ReleaseResult.public_table`) unless ``detail`` is
    true (then it keeps primary/secondary status and the rule: for internal review only).
    Nothing is written when the release is refused. Returns the ``ReleaseResult``.

    Example:
        >>> import os, tempfile, pandas as pd
        >>> from pplink.disclosure.synthetic import synthetic_clients
        >>> d = tempfile.mkdtemp()
        >>> synthetic_clients(300, n_wijken=3, seed=6).to_parquet(os.path.join(d, "l.parquet"))
        >>> r = run_release_cli(os.path.join(d, "l.parquet"), ["wijk", "domain"], "count", "cbs-remote-access", d)
        >>> os.path.exists(os.path.join(d, "table.report.md")), r.report.passed
        (True, True)
    """
    from pplink.disclosure.api import release
    from pplink.disclosure.policy import load_policy

    pol = _load_policy(load_policy, policy, policy_overrides)
    out = Path(output)
    if out.is_dir() or str(output).endswith(os.sep):
        csv_path = out / "table.csv"
    else:
        csv_path = out
    stem = csv_path.name[:-4] if csv_path.name.lower().endswith(".csv") else csv_path.name
    json_path = csv_path.with_name(stem + ".report.json")
    md_path = csv_path.with_name(stem + ".report.md")
    if not csv_path.parent.is_dir():
        raise InputError(f"output directory {csv_path.parent} does not exist")
    inputs = {"linked data": linked_path, "hierarchy": hierarchy_file, "ledger": ledger}
    if isinstance(policy, (str, os.PathLike)) and Path(policy).exists():
        inputs["policy"] = policy
    for target in (csv_path, json_path, md_path):
        for what, src in inputs.items():
            if src is not None and os.path.abspath(target) == os.path.abspath(src):
                raise InputError(f"output {target} is also the {what} file; choose another output path")
    data = read_linked(linked_path)
    hier = parse_hierarchy_options(hierarchy, hierarchy_file)
    try:
        result = release(
            data,
            list(by),
            measure,
            pol,
            unit=unit,
            person_col=person_col,
            household_col=household_col,
            hierarchies=hier or None,
            ledger=ledger,
            description=description,
            method=method,
        )
    except InputError as exc:  # about the data: name the file it came from
        raise InputError(f"{linked_path}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise InputError(
            f"release ledger {ledger}: not a pplink release ledger or damaged ({exc}); restore it from a backup "
            "(never delete it: it stops differencing with earlier releases)"
        ) from None
    table = result.table if detail else result.public_table()
    write_csv_atomic(table, csv_path)
    result.report.write(json_path, md_path)
    return result
