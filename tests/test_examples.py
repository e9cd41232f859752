"""The scripts in examples/ run and produce what they promise."""

from __future__ import annotations

import runpy
import warnings
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("0*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path, capsys):
    module = runpy.run_path(str(script))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module["main"](tmp_path / "out")
    out = capsys.readouterr().out
    assert out.strip()
    if script.name.startswith("02"):
        assert "'f1': 0.9" in out
    if script.name.startswith("04"):
        assert "duplicate record id" in out and "encoded 3 of 4 rows" in out


def test_there_are_four_examples():
    assert [p.name[:2] for p in EXAMPLES] == ["01", "02", "03", "04"]
