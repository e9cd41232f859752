"""Example data for pplink: a synthetic Dutch municipality and the FEBRL4 benchmark.

* :func:`generate_municipality` — a reproducible synthetic municipality (population in
  households, Wmo / Participatiewet / Jeugdwet registers and a purchased commercial file,
  with realistic errors and the ground truth kept apart).
* :func:`load_febrl4` / :func:`write_febrl4` — the FEBRL4 benchmark shipped with recordlinkage.
* :func:`mapping_path` — the shipped source mappings (``wmo``, ``participatie``, ``jeugd``,
  ``commercial``, ``febrl``).

Example:
    >>> from pplink.datasets import generate_municipality, mapping_path
    >>> m = generate_municipality(1_000, seed=1)
    >>> m.sources["wmo"].columns[:3].tolist()
    ['client_id', 'bsn', 'voornamen']
    >>> mapping_path("jeugd").name
    'jeugd.toml'
"""

from __future__ import annotations

from pplink.datasets._bsn import elfproef
from pplink.datasets._noise import DEFAULT_ERRORS, ErrorProfile
from pplink.datasets._resources import mapping_path, shipped_mappings
from pplink.datasets.febrl import load_febrl4, write_febrl4
from pplink.datasets.synthetic import (
    DEFAULT_COVERAGE,
    INCOME_CLASSES,
    REFERENCE_DATE,
    SOURCE_NAMES,
    Municipality,
    generate_municipality,
    source_format,
)

__all__ = [
    "generate_municipality",
    "Municipality",
    "ErrorProfile",
    "DEFAULT_ERRORS",
    "DEFAULT_COVERAGE",
    "SOURCE_NAMES",
    "INCOME_CLASSES",
    "REFERENCE_DATE",
    "source_format",
    "load_febrl4",
    "write_febrl4",
    "mapping_path",
    "shipped_mappings",
    "elfproef",
]
