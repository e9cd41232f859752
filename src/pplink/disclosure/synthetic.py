"""Synthetic linked social-domain data for examples, tests and benchmarks (no real persons).

One row per person and service, with pseudonymous ``entity_id`` / ``household_id``, the
area (``buurt`` -> ``wijk`` -> ``stadsdeel``), the service and its domain (Jeugdwet, Wmo,
Participatiewet), an income class and an amount. Area sizes are skewed so that some
cells are small, as in real municipalities.

Example:
    >>> df = synthetic_clients(200, n_wijken=3, seed=0)
    >>> sorted(df.columns)[:4]
    ['amount', 'buurt', 'domain', 'entity_id']
    >>> df["entity_id"].nunique() <= 200
    True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["synthetic_clients", "SERVICES"]

SERVICES: dict[str, str] = {
    "jeugd-ggz": "jeugd",
    "dyslexiezorg": "jeugd",
    "ambulante-jeugdhulp": "jeugd",
    "huishoudelijke-hulp": "wmo",
    "woningaanpassing": "wmo",
    "vervoer": "wmo",
    "bijstand": "participatie",
    "re-integratie": "participatie",
}
_INCOME = ["laag", "midden-laag", "midden", "hoog"]


def synthetic_clients(
    n_persons: int = 1000,
    *,
    n_wijken: int = 6,
    buurten_per_wijk: int = 3,
    wijken_per_stadsdeel: int = 3,
    gemeente: str = "0153",
    seed: int = 0,
) -> pd.DataFrame:
    """Generate synthetic person-service rows.

    Example:
        >>> df = synthetic_clients(50, n_wijken=2, seed=3)
        >>> bool(df["wijk"].str.startswith("WK").all())
        True
    """
    rng = np.random.default_rng(seed)
    wijk_w = rng.pareto(1.5, n_wijken) + 0.3
    wijk_w /= wijk_w.sum()
    rows = []
    pid = 0
    hid = 0
    services = list(SERVICES)
    svc_w = np.array([3, 1, 2, 4, 1, 2, 5, 2], dtype=float)
    svc_w /= svc_w.sum()
    while pid < n_persons:
        size = int(min(rng.geometric(0.55), 6))
        w = int(rng.choice(n_wijken, p=wijk_w))
        b = int(rng.integers(buurten_per_wijk))
        wijk = f"WK{gemeente}{w + 1:02d}"
        buurt = f"BU{gemeente}{w + 1:02d}{b + 1:02d}"
        sd = f"SD{w // wijken_per_stadsdeel + 1:02d}"
        income = _INCOME[int(rng.choice(4, p=[0.45, 0.25, 0.2, 0.1]))]
        for _ in range(size):
            if pid >= n_persons:
                break
            k = int(min(rng.geometric(0.6), 3))
            chosen = rng.choice(len(services), size=k, replace=False, p=svc_w)
            for s in chosen:
                rows.append(
                    (
                        f"P{pid:07d}",
                        f"H{hid:07d}",
                        buurt,
                        wijk,
                        sd,
                        services[int(s)],
                        SERVICES[services[int(s)]],
                        income,
                        float(np.round(rng.lognormal(7.0, 0.8), 2)),
                    )
                )
            pid += 1
        hid += 1
    return pd.DataFrame(
        rows,
        columns=[
            "entity_id",
            "household_id",
            "buurt",
            "wijk",
            "stadsdeel",
            "service",
            "domain",
            "income_class",
            "amount",
        ],
    )
