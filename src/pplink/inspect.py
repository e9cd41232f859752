"""Summaries of encoded files that are safe to show: metadata and bit statistics only.

Example:
    >>> import os, tempfile, pplink
    >>> ds = pplink.encode_records([{"surname": "smit"}], ids=["1"], secret=pplink.Secret.generate())
    >>> p = os.path.join(tempfile.mkdtemp(), "x.parquet"); pplink.write_encoded(ds, p)
    >>> r = inspect_encoded(p)
    >>> r["n_records"], r["filters"]["surname"]["present"]
    (1, 1.0)
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from pplink.io import read_encoded

__all__ = ["inspect_encoded", "bit_density"]


def bit_density(filters: np.ndarray, bits: int) -> np.ndarray:
    """Share of set bits per row of a packed filter array.

    Example:
        >>> import numpy as np
        >>> bit_density(np.array([[0xFF]], dtype=np.uint64), 64).tolist()
        [0.125]
    """
    counts = np.unpackbits(np.ascontiguousarray(filters).view(np.uint8), axis=1).sum(axis=1)
    return counts / float(bits)


def inspect_encoded(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Metadata, per-filter presence and bit density, per-token presence of an encoded file."""
    ds = read_encoded(path)
    n = ds.n_records
    filters: dict[str, dict[str, Any]] = {}

    def stats(arr: np.ndarray, present: np.ndarray, bits: int) -> dict[str, Any]:
        d = bit_density(arr[present], bits) if present.any() else np.zeros(1)
        return {
            "bits": bits,
            "present": float(present.mean()) if n else 0.0,
            "density_mean": float(d.mean()),
            "density_min": float(d.min()),
            "density_max": float(d.max()),
        }

    if ds.clk is not None:
        filters["clk"] = stats(ds.clk, np.ones(n, dtype=bool), ds.metadata.clk_bits)
    for name, arr in ds.filters.items():
        filters[name] = stats(arr, ds.filter_present[name], ds.metadata.field_bits[name])
    tokens = {name: {"present": float(p.mean()) if n else 0.0} for name, p in ds.token_present.items()}
    return {
        "n_records": n,
        "metadata": ds.metadata.to_dict(),
        "filters": filters,
        "tokens": tokens,
        "attributes": list(ds.attributes.columns),
    }
