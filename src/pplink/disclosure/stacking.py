"""Stacking ("stapeling"): households (or persons) by number of distinct services.

The central social-domain question is how many households receive 1, 2 or 3+ services
(e.g. Jeugdwet, Wmo and Participatiewet at once). :func:`stacking_table` turns
per-person-service rows into one row per person carrying the class of its household (or
of the person), and :func:`release_stacking` releases "area x number of services" under
the same policy as any other table (both the person and household minimums apply).

Example:
    >>> import pandas as pd
    >>> df = pd.DataFrame({"entity_id": ["a", "a", "b", "c"], "household_id": ["h", "h", "h", "g"],
    ...                    "wijk": ["W1", "W1", "W1", "W2"], "service": ["wmo", "jeugd", "bijstand", "wmo"]})
    >>> st = stacking_table(df, "wijk", "service")
    >>> st.sort_values("entity_id")[["entity_id", "wijk", "n_services"]].values.tolist()
    [['a', 'W1', '3+'], ['b', 'W1', '3+'], ['c', 'W2', '1']]
"""

from __future__ import annotations

import os
from typing import Any
from collections.abc import Mapping, Sequence

import pandas as pd

from pplink.errors import ConfigError, InputError

__all__ = ["stacking_table", "release_stacking"]


def _labels(classes: Sequence[int]) -> list[str]:
    return [str(c) for c in classes[:-1]] + [f"{classes[-1]}+"]


def stacking_table(
    data: pd.DataFrame,
    area_col: str,
    service_col: str,
    *,
    person_col: str = "entity_id",
    household_col: str = "household_id",
    unit: str = "household",
    classes: Sequence[int] = (1, 2, 3),
    service_map: Mapping[str, str] | None = None,
    label_col: str = "n_services",
) -> pd.DataFrame:
    """One row per person: person id, household id, area and the stacking class.

    ``unit="household"``: the class is the number of distinct services used by anyone in
    the household and the area is the household's most frequent area (ties: the smallest
    code). ``unit="person"``: per person. ``service_map`` first maps detailed services to
    groups (e.g. to the three laws) so that "3+" means three different groups.
    ``classes``: increasing class bounds; the last one is open ("3+").

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"entity_id": ["a", "a"], "household_id": ["h", "h"], "wijk": ["W", "W"],
        ...                    "service": ["jeugd-ggz", "dyslexiezorg"]})
        >>> stacking_table(df, "wijk", "service", service_map={"jeugd-ggz": "jeugd", "dyslexiezorg": "jeugd"})["n_services"].tolist()
        ['1']
    """
    if unit not in ("household", "person"):
        raise ConfigError('unit must be "household" or "person"')
    classes = list(classes)
    if not classes or classes[0] < 1 or any(b <= a for a, b in zip(classes, classes[1:])):
        raise ConfigError("classes must be increasing whole numbers >= 1, e.g. (1, 2, 3)")
    cols = [area_col, service_col, person_col] + ([household_col] if unit == "household" else [])
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise InputError(f"input is missing column(s) {missing}")
    df = data[
        [c for c in dict.fromkeys(cols + ([household_col] if household_col in data.columns else []))]
    ].copy()
    if service_map is not None:
        unknown = set(df[service_col].astype(str)) - set(service_map)
        if unknown:
            raise ConfigError(f"service_map has no group for service(s) {sorted(unknown)[:5]}")
        df[service_col] = df[service_col].astype(str).map(service_map)
    if household_col in df.columns:
        df[household_col] = df[household_col].where(
            df[household_col].notna(), "pplink-own-household:" + df[person_col].astype(str)
        )
    else:
        df[household_col] = "pplink-own-household:" + df[person_col].astype(str)
    key = household_col if unit == "household" else person_col
    n_serv = df.groupby(key)[service_col].nunique()
    area = (
        df.groupby([key, area_col])
        .size()
        .reset_index(name="n")
        .sort_values([key, "n", area_col], ascending=[True, False, True])
        .drop_duplicates(key)
        .set_index(key)[area_col]
    )
    labels = _labels(classes)

    def cls(k: int) -> str:
        for bound, lab in zip(classes[:-1], labels[:-1]):
            if k <= bound:
                return lab
        return labels[-1]

    persons = df[[person_col, household_col]].drop_duplicates(person_col)
    out = persons.copy()
    out[area_col] = out[key].map(area).to_numpy()
    out[label_col] = out[key].map(n_serv).map(cls).to_numpy()
    out.loc[out[household_col].astype(str).str.startswith("pplink-own-household:"), household_col] = None
    return out.reset_index(drop=True)


def release_stacking(
    data: pd.DataFrame,
    area_col: str,
    service_col: str,
    policy: Any = "cbs-remote-access",
    *,
    unit: str = "household",
    person_col: str = "entity_id",
    household_col: str = "household_id",
    classes: Sequence[int] = (1, 2, 3),
    service_map: Mapping[str, str] | None = None,
    hierarchies: Mapping[str, Any] | None = None,
    ledger: Any = None,
    description: str = "",
    method: str | None = None,
) -> Any:
    """Release "area x number of distinct services" (households or persons) under ``policy``.

    ``hierarchies`` may give the area's hierarchy as a child -> parent mapping (a list of
    coarser columns is not available here because the stacking table keeps one area).

    Example:
        >>> from pplink.disclosure.synthetic import synthetic_clients, SERVICES
        >>> df = synthetic_clients(600, n_wijken=3, seed=4)
        >>> res = release_stacking(df, "wijk", "service", "cbs-remote-access", service_map=SERVICES)
        >>> sorted(set(res.table["n_services"]))
        ['1', '2', '3+', 'Totaal']
    """
    from pplink.disclosure.api import release

    st = stacking_table(
        data,
        area_col,
        service_col,
        person_col=person_col,
        household_col=household_col,
        unit=unit,
        classes=classes,
        service_map=service_map,
    )
    if hierarchies and any(not isinstance(v, Mapping) for v in hierarchies.values()):
        raise ConfigError("release_stacking takes hierarchies as child -> parent mappings")
    labels = _labels(list(classes))
    return release(
        st,
        [area_col, "n_services"],
        "count",
        policy,
        unit=unit,
        person_col=person_col,
        household_col=household_col,
        hierarchies=hierarchies,
        ledger=ledger,
        categories={"n_services": labels},
        description=description or f"stacking: {unit}s by number of distinct {service_col} per {area_col}",
        method=method,
    )


_ = os
