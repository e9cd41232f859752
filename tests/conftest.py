"""Shared fixtures: secrets and small helpers. Test data is synthetic; no real personal data."""

from __future__ import annotations

import numpy as np
import pytest

import pplink


@pytest.fixture(scope="session")
def secret() -> pplink.Secret:
    return pplink.Secret.from_text("pplink-secret-v1:" + "q8Zr3kVw1pXe9LmN0aB7cD5fG2hJ4sT6uY8iO1eW3rA")


@pytest.fixture(scope="session")
def other_secret() -> pplink.Secret:
    return pplink.Secret.generate()


@pytest.fixture()
def secret_file(tmp_path, secret):
    path = tmp_path / "project.key"
    pplink.write_secret_file(path, secret)
    return path


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Reference Sørensen-Dice of two packed uint64 filters (pure numpy)."""
    ba = np.unpackbits(np.ascontiguousarray(a).view(np.uint8))
    bb = np.unpackbits(np.ascontiguousarray(b).view(np.uint8))
    total = int(ba.sum() + bb.sum())
    return 0.0 if total == 0 else 2.0 * int((ba & bb).sum()) / total
