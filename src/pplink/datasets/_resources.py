"""Paths of the mapping files shipped with pplink."""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

from pplink.errors import ConfigError

__all__ = ["mapping_path", "shipped_mappings", "read_mapping_toml"]


def _mapping_dir() -> Path:
    return Path(str(files("pplink").joinpath("data", "mappings")))


def shipped_mappings() -> list[str]:
    """Names of the mappings shipped with pplink (``wmo``, ``participatie``, ..., ``febrl``)."""
    return sorted(p.stem for p in _mapping_dir().glob("*.toml"))


def mapping_path(name: str) -> Path:
    """Path of the shipped mapping file ``name`` (e.g. ``"wmo"`` or ``"febrl"``).

    Example:
        >>> mapping_path("wmo").name
        'wmo.toml'
    """
    stem = name[:-5] if name.endswith(".toml") else name
    path = _mapping_dir() / f"{stem}.toml"
    if not path.is_file():
        raise ConfigError(f"no shipped mapping {name!r}; available: {', '.join(shipped_mappings())}")
    return path


def read_mapping_toml(name: str) -> dict[str, Any]:
    """The raw TOML dictionary of a shipped mapping."""
    with mapping_path(name).open("rb") as fh:
        return tomllib.load(fh)
