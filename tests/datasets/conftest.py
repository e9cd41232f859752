from __future__ import annotations

import pytest

from pplink.datasets import generate_municipality


@pytest.fixture(scope="session")
def muni():
    """A small municipality with default error rates (shared; do not mutate)."""
    return generate_municipality(6_000, seed=5)


@pytest.fixture(scope="session")
def clean_muni():
    """The same municipality without injected errors."""
    return generate_municipality(6_000, seed=5, error_scale=0.0)
