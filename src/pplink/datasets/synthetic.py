"""A synthetic Dutch municipality: population, households and four raw sources.

:func:`generate_municipality` builds, from one seed, a population in households at addresses
with realistic postcodes and CBS area codes, and then the files a municipality really has
about them:

* ``wmo`` — Wet maatschappelijke ondersteuning clients (BRP-fed, cleanest, mostly elderly),
* ``participatie`` — Participatiewet dossiers (adults 18-66, semicolon-delimited export),
* ``jeugd`` — Jeugdwet dossiers (children, full name in one column, no BSN),
* ``commercial`` — a purchased profile file (no BSN, upper case, latin-1, outdated addresses).

Each source is a DataFrame of strings exactly as the raw file would look, with errors as in
real registers (typos, spelling variants, call names, swapped day/month, missing values,
outdated addresses, particles written differently). The ground truth (``truth``,
``population``, ``households``) is kept apart and must never be fed to the pipeline.

Example:
    >>> m = generate_municipality(2_000, seed=7)
    >>> sorted(m.sources)
    ['commercial', 'jeugd', 'participatie', 'wmo']
    >>> m.population["gemeente_code"].unique().tolist()
    ['GM0153']
    >>> len(m.truth) == sum(len(df) for df in m.sources.values())
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from pplink.datasets import names_nl as N
from pplink.datasets._bsn import generate_bsns
from pplink.datasets._geo import MunicipalityInfo, build_addresses, lookup_municipality, outside_addresses
from pplink.datasets._noise import (
    DEFAULT_ERRORS,
    ErrorProfile,
    ascii_fold,
    bsn_typo,
    date_typo,
    house_number_typo,
    nickname,
    phonetic_variant,
    swap_day_month,
    to_latin1,
    typo,
)
from pplink.datasets._resources import read_mapping_toml
from pplink.errors import ConfigError

__all__ = [
    "Municipality",
    "generate_municipality",
    "SOURCE_NAMES",
    "DEFAULT_COVERAGE",
    "REFERENCE_DATE",
    "INCOME_CLASSES",
    "ErrorProfile",
    "DEFAULT_ERRORS",
]

SOURCE_NAMES = ("wmo", "participatie", "jeugd", "commercial")
#: Coverage of each source: wmo = share of all residents; participatie = share of residents
#: aged 18-66; jeugd = share of children 0-17 (the count includes some 18-22 year olds);
#: commercial = share of adults (18+).
DEFAULT_COVERAGE = {"wmo": 0.06, "participatie": 0.05, "jeugd": 0.10, "commercial": 0.70}
#: "Today" in the synthetic world: ages, start years and moves are relative to it.
REFERENCE_DATE = date(2024, 1, 1)
INCOME_CLASSES = ("<P20", "P20-40", "P40-60", "P60-80", ">P80")
_INCOME_SHARES = np.array([0.26, 0.24, 0.20, 0.17, 0.13])  # Enschede is poorer than average
_HH_TYPES = np.array(["single", "single_elderly", "couple", "couple_elderly", "family", "single_parent"], dtype=object)
_HH_P = np.array([0.27, 0.12, 0.17, 0.10, 0.26, 0.08])
_WMO_SERVICES = np.array(["huishoudelijke hulp", "woningaanpassing", "vervoer", "dagbesteding", "begeleiding"], dtype=object)
_PW_SERVICES = np.array(["bijstand", "re-integratie", "inkomensondersteuning"], dtype=object)
_JEUGD_SERVICES = np.array(["jeugd-ggz", "dyslexiezorg", "pleegzorg", "ambulante hulp", "jeugdbescherming"], dtype=object)
_EDUCATION = np.array(["laag", "midden", "hoog"], dtype=object)
_CHANNELS = np.array(["online", "telefoon", "balie", "post"], dtype=object)
_FIRST_YEAR_OF_LAW = 2015  # Wmo 2015, Jeugdwet and Participatiewet took effect on 1 January 2015


@dataclass(repr=False)
class Municipality:
    """A generated municipality: raw sources plus the ground truth kept apart.

    Attributes:
        name, gemeente_code, seed: what was generated.
        sources: source name -> raw DataFrame (all cells ``str``; missing = ``""``).
        truth: ``source, record_id, person_id, household_id`` for every source record.
        population: the clean person register (ground truth; never give it to the pipeline).
        households: one row per household with its address and income class.
    """

    name: str
    gemeente_code: str
    seed: int
    sources: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    population: pd.DataFrame
    households: pd.DataFrame
    reference_date: date = REFERENCE_DATE
    meta: dict[str, object] = field(default_factory=dict)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self.sources.items())
        return (
            f"Municipality({self.name!r}, {self.gemeente_code}, seed={self.seed}, "
            f"persons={len(self.population)}, households={len(self.households)}, sources: {sizes})"
        )

    def write(self, directory: str | Path) -> dict[str, Path]:
        """Write every source as CSV in its own format, and the ground truth beside it.

        Delimiter and encoding of each source come from its shipped mapping
        (``participatie`` is semicolon-delimited, ``jeugd`` has a UTF-8 byte-order mark,
        ``commercial`` is latin-1). ``truth.csv``, ``population.csv`` and ``households.csv``
        are UTF-8 and are ground truth for evaluation only.
        Returns ``{"wmo": path, ..., "truth": path, "population": path, "households": path,
        "readme": path}``.
        """
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for name, df in self.sources.items():
            delimiter, encoding = source_format(name)
            path = out / f"{name}.csv"
            df.to_csv(path, sep=delimiter, encoding=encoding, index=False)
            paths[name] = path
        for name, df in (("truth", self.truth), ("population", self.population), ("households", self.households)):
            path = out / f"{name}.csv"
            df.to_csv(path, index=False, encoding="utf-8")
            paths[name] = path
        readme = out / "README_GROUND_TRUTH.txt"
        readme.write_text(
            f"Synthetic municipality {self.name} ({self.gemeente_code}), seed {self.seed}, generated by pplink.datasets.\n"
            "All persons are fictitious.\n\n"
            "Raw sources (inputs for the pipeline): " + ", ".join(f"{n}.csv" for n in self.sources) + "\n"
            "GROUND TRUTH (for evaluation only, never an input to the pipeline): truth.csv, population.csv, households.csv\n",
            encoding="utf-8",
        )
        paths["readme"] = readme
        return paths


def source_format(name: str) -> tuple[str, str]:
    """(delimiter, encoding) of a generated source, as its shipped mapping declares."""
    src = read_mapping_toml(name).get("source", {})
    return str(src.get("delimiter", ",")), str(src.get("encoding", "utf-8"))


# ============================================================================ population


def _weighted_choice(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category per row of ``probs`` (rows sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return (u[:, None] > cum).sum(axis=1)


def _households(rng: np.random.Generator, n_persons: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Household types, number of adults and number of children summing to ``n_persons``."""
    n_est = int(n_persons * 0.6) + 20
    while True:
        t = rng.choice(len(_HH_TYPES), size=n_est, p=_HH_P / _HH_P.sum())
        kids = np.zeros(n_est, dtype=np.int64)
        fam, sp = t == 4, t == 5
        kids[fam] = rng.choice([1, 2, 3, 4], size=int(fam.sum()), p=[0.35, 0.42, 0.17, 0.06])
        kids[sp] = rng.choice([1, 2, 3], size=int(sp.sum()), p=[0.55, 0.35, 0.10])
        adults = np.where(np.isin(t, [2, 3, 4]), 2, 1).astype(np.int64)
        cs = np.cumsum(adults + kids)
        if cs[-1] >= n_persons:
            break
        n_est *= 2
    n_hh = int(np.searchsorted(cs, n_persons)) + 1
    t, adults, kids = t[:n_hh].copy(), adults[:n_hh].copy(), kids[:n_hh].copy()
    excess = int(cs[n_hh - 1] - n_persons)
    if excess:
        i = n_hh - 1
        new_size = int(adults[i] + kids[i] - excess)
        adults[i] = min(adults[i], new_size)
        kids[i] = new_size - adults[i]
        if kids[i] == 0:
            t[i] = 2 if adults[i] == 2 else 0
        elif adults[i] == 1 and t[i] == 4:
            t[i] = 5
    return t, adults, kids


def _draw_surnames(rng: np.random.Generator, origins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(origins)
    particle = np.empty(n, dtype=object)
    surname = np.empty(n, dtype=object)
    nl_names, nl_w = N.dutch_surname_table()
    groups = pd.Series(np.arange(n)).groupby(pd.Series(origins, dtype=object).to_numpy()).indices
    for o in N.ORIGINS:
        idx = groups.get(o)
        if idx is None or not len(idx):
            continue
        if o == "nl":
            names, w = nl_names, nl_w
        else:
            names = list(N.SURNAMES[o])
            w = N.zipf_weights(len(names), 0.7, 3.0)
        k = rng.choice(len(names), size=len(idx), p=w)
        particle[idx] = np.array([names[j][0] for j in k], dtype=object)
        surname[idx] = np.array([names[j][1] for j in k], dtype=object)
    return particle, surname


def _draw_first_names(
    rng: np.random.Generator, origin: np.ndarray, sex: np.ndarray, cohort: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Official given names ("Johannes Cornelis") and the first given name."""
    n = len(origin)
    first = np.empty(n, dtype=object)
    second = np.empty(n, dtype=object)
    third = np.empty(n, dtype=object)
    keys = list(N.FIRST_NAMES)
    code = {k: i for i, k in enumerate(keys)}
    key = pd.Series(list(zip(origin.tolist(), sex.tolist(), cohort.tolist(), strict=True))).map(code).to_numpy()
    groups = pd.Series(np.arange(n)).groupby(key).indices
    for g, idx in sorted(groups.items()):
        o, s, c = keys[int(g)]
        names = N.FIRST_NAMES[(o, s, c)]
        if not len(idx):
            continue
        arr = np.array(names, dtype=object)
        L = len(arr)
        w = N.zipf_weights(L, 0.6, 5.0)
        k1 = rng.choice(L, size=len(idx), p=w)
        k2 = (k1 + 1 + rng.choice(L - 1, size=len(idx), p=N.zipf_weights(L - 1, 0.5, 2.0))) % L
        k3 = (k1 + 1 + rng.integers(0, L - 1, len(idx))) % L
        first[idx], second[idx], third[idx] = arr[k1], arr[k2], arr[k3]
    n_names_p = {
        ("nl", "old"): [0.2, 0.45, 0.35],
        ("nl", "mid"): [0.35, 0.45, 0.20],
        ("nl", "young"): [0.5, 0.4, 0.1],
    }
    probs = np.tile([0.85, 0.15, 0.0], (n, 1))
    for (o, c), p in n_names_p.items():
        probs[(origin == o) & (cohort == c)] = p
    n_names = _weighted_choice(rng, probs) + 1
    voornamen = first.copy()
    two = n_names >= 2
    voornamen[two] = voornamen[two] + " " + second[two]
    three = n_names >= 3
    voornamen[three] = voornamen[three] + " " + third[three]
    return voornamen, first


def _calibrated_selection(rng: np.random.Generator, weights: np.ndarray, target: float, cap: float = 0.95) -> np.ndarray:
    """Select rows with probability min(c * weight, cap), c chosen so the expected count is ``target``."""
    w = np.asarray(weights, dtype=float)
    if target <= 0 or w.sum() <= 0:
        rng.random(len(w))  # keep the stream aligned
        return np.zeros(len(w), dtype=bool)
    target = min(target, cap * float((w > 0).sum()))
    lo, hi = 0.0, 1.0
    while np.minimum(hi * w, cap).sum() < target:
        hi *= 2
    for _ in range(60):
        mid = (lo + hi) / 2
        if np.minimum(mid * w, cap).sum() < target:
            lo = mid
        else:
            hi = mid
    return rng.random(len(w)) < np.minimum(hi * w, cap)


def _build_population(
    rng: np.random.Generator, n_persons: int, info: MunicipalityInfo, ref: date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    t, adults, kids = _households(rng, n_persons)
    n_hh = len(t)
    size = adults + kids
    start = np.cumsum(size) - size
    n = int(size.sum())

    # ---- ages per household
    young = rng.random(n_hh) < 0.45
    a_single = np.where(young, 18 + np.minimum(rng.gamma(2.0, 2.5, n_hh), 11.9), rng.uniform(28, 67, n_hh))
    a_selderly = np.minimum(67 + rng.gamma(2.0, 5.5, n_hh), 102.5)
    a_couple = np.where(rng.random(n_hh) < 0.35, 21 + np.minimum(rng.gamma(3.0, 2.0, n_hh), 14), rng.uniform(30, 67, n_hh))
    a_celderly = np.minimum(67 + rng.gamma(2.0, 4.5, n_hh), 100.5)
    couple_diff = rng.normal(-2.0, 3.5, n_hh)
    eldest = np.where(rng.random(n_hh) < 0.12, rng.uniform(18, 25, n_hh), rng.uniform(0, 18, n_hh))
    mother_at_first = np.clip(rng.normal(30.5, 4.5, n_hh), 18, 44)
    father_diff = rng.normal(2.5, 3.5, n_hh)
    single_parent_at_first = np.clip(rng.normal(29.0, 5.5, n_hh), 17, 46)

    # ---- persons
    hh_of = np.repeat(np.arange(n_hh), size)
    pos = np.arange(n) - start[hh_of]
    is_child = pos >= adults[hh_of]
    rank = np.where(is_child, pos - adults[hh_of], -1)
    gaps = np.where(rank >= 1, 1.0 + rng.gamma(1.6, 1.1, n), 0.0)
    twin_gap = (rank >= 1) & (rng.random(n) < 0.03)
    gaps[twin_gap] = 0.0
    total_gap = np.bincount(hh_of, weights=gaps, minlength=n_hh)
    youngest = eldest - total_gap
    eldest = eldest + np.where(youngest < 0, -youngest + rng.uniform(0.0, 1.0, n_hh), 0.0)
    cs_g = np.cumsum(gaps)
    first_child = start + adults
    first_child_idx = np.minimum(first_child, n - 1)
    child_age = eldest[hh_of] - (cs_g - cs_g[first_child_idx[hh_of]])

    mother = eldest + mother_at_first
    father = np.maximum(mother + father_diff, 18.5)
    head_age = np.select(
        [t == 0, t == 1, t == 2, t == 3, t == 4, t == 5],
        [a_single, a_selderly, a_couple, a_celderly, father, eldest + single_parent_at_first],
    )
    partner_age = np.select(
        [t == 2, t == 3, t == 4],
        [np.maximum(a_couple + couple_diff, 18.2), np.clip(a_celderly + couple_diff, 55, 100), mother],
        default=np.nan,
    )
    age = np.where(is_child, child_age, np.where(pos == 0, head_age[hh_of], partner_age[hh_of]))
    age = np.clip(age, 0.0, 104.0)
    days = np.floor(age * 365.2425).astype(np.int64)
    birth = np.datetime64(ref.isoformat(), "D") - days
    is_twin = np.zeros(n, dtype=bool)
    tw = np.flatnonzero(twin_gap)
    is_twin[tw] = True
    is_twin[tw - 1] = True
    # twins share the exact birth date (age floats are identical, but be explicit)
    for j in tw.tolist():
        birth[j] = birth[j - 1]

    # ---- sex
    u_same = rng.random(n_hh) < 0.02
    head_m = np.select(
        [t == 0, t == 1, t == 4, t == 5],
        [rng.random(n_hh) < 0.5, rng.random(n_hh) < 0.35, ~(u_same & (rng.random(n_hh) < 0.5)), rng.random(n_hh) < 0.15],
        default=rng.random(n_hh) < 0.5,
    )
    partner_m = np.where(u_same, head_m, ~head_m)
    child_m = rng.random(n) < 0.512
    male = np.where(is_child, child_m, np.where(pos == 0, head_m[hh_of], partner_m[hh_of]))
    sex = np.where(male, "M", "V").astype(object)
    sex[rng.random(n) < 0.0003] = "O"

    # ---- origin
    origins = np.array(N.ORIGINS, dtype=object)
    shares = np.array([N.ORIGIN_SHARES[o] for o in N.ORIGINS])
    shares = shares / shares.sum()
    hh_origin = origins[rng.choice(len(origins), size=n_hh, p=shares)]
    same = rng.random(n_hh) < np.where(hh_origin == "nl", 0.92, 0.8)
    partner_origin = np.where(same, hh_origin, origins[rng.choice(len(origins), size=n_hh, p=shares)])
    origin = np.where(pos == 1, partner_origin[hh_of], hh_origin[hh_of])
    origin = np.where(is_child, hh_origin[hh_of], origin).astype(object)

    # ---- surnames: drawn for everyone, then children take a parent's
    particle, surname = _draw_surnames(rng, origin)
    dbl = (origin == "nl") & ~is_child & (rng.random(n) < 0.012)
    if dbl.any():
        p2, s2 = _draw_surnames(rng, np.full(int(dbl.sum()), "nl", dtype=object))
        second = np.where(p2 == "", s2, p2 + " " + s2)
        surname[dbl] = surname[dbl] + "-" + second
    # siblings share one surname: the father's (or, by choice, the mother's); children of a
    # single parent have the parent's surname or the absent parent's (drawn for the eldest)
    u_name = rng.random(n_hh)[hh_of]
    ht = t[hh_of]
    src = np.arange(n)
    fam_child = is_child & (ht == 4)
    src = np.where(fam_child, np.where(u_name < 0.9, start[hh_of], start[hh_of] + 1), src)
    sp_child = is_child & (ht == 5)
    src = np.where(sp_child, np.where(u_name < 0.7, start[hh_of], first_child_idx[hh_of]), src)
    particle, surname = particle[src], surname[src]

    # ---- first names by origin, sex and birth cohort
    birth_year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    cohort = np.where(birth_year < 1960, "old", np.where(birth_year < 1990, "mid", "young")).astype(object)
    name_origin = origin.copy()
    name_origin[(origin != "nl") & (birth_year >= 2000) & (rng.random(n) < 0.25)] = "nl"
    name_sex = sex.copy()
    o_sex = name_sex == "O"
    name_sex[o_sex] = np.where(rng.random(int(o_sex.sum())) < 0.5, "M", "V")
    voornamen, roepnaam = _draw_first_names(rng, name_origin, name_sex, cohort)
    for j in tw.tolist():  # twins never share a first name
        tries = 0
        while roepnaam[j] == roepnaam[j - 1] and tries < 20:
            names = N.FIRST_NAMES[(name_origin[j], name_sex[j], cohort[j])]
            new = names[int(rng.integers(0, len(names)))]
            rest = voornamen[j].split(" ", 1)
            voornamen[j] = new + (" " + rest[1] if len(rest) > 1 else "")
            roepnaam[j] = new
            tries += 1

    # ---- addresses
    pool = build_addresses(rng, info, int(n_hh * 1.08) + 20)
    take = rng.permutation(len(pool))[:n_hh]
    home = pool.iloc[take].reset_index(drop=True)

    # young singles who left their parents' home carry the family's surname and old address
    family_hh = np.flatnonzero(((t == 4) | (t == 5)) & (kids > 0))
    leaver = (t == 0) & (head_age < 27) & (rng.random(n_hh) < 0.4)
    leaver_idx = np.flatnonzero(leaver)
    left_from = np.full(n_hh, -1, dtype=np.int64)
    if len(family_hh) and len(leaver_idx):
        for o in N.ORIGINS:
            li = leaver_idx[hh_origin[leaver_idx] == o]
            if not len(li):
                continue
            fo = family_hh[hh_origin[family_hh] == o]
            if not len(fo):
                fo = family_hh
            left_from[li] = fo[rng.integers(0, len(fo), len(li))]
        li = np.flatnonzero(left_from >= 0)
        head_person = start[li]
        parent_person = start[left_from[li]]
        particle[head_person] = particle[parent_person]
        surname[head_person] = surname[parent_person]
    moved = (left_from >= 0) | ((left_from < 0) & (rng.random(n_hh) < 0.09))
    move_year = np.where(moved, rng.integers(ref.year - 6, ref.year, n_hh), 0)
    old_inside = rng.random(n_hh) < 0.8
    old_pool_idx = rng.integers(0, len(pool), n_hh)
    old_pool_idx = np.where(old_pool_idx == take, (old_pool_idx + 1) % len(pool), old_pool_idx)
    outside = outside_addresses(rng, info, n_hh)
    old = pool.iloc[old_pool_idx].reset_index(drop=True)
    use_out = moved & ~old_inside & (left_from < 0)
    for col in old.columns:
        old[col] = np.where(use_out, outside[col].to_numpy(), old[col].to_numpy())
    has_left = left_from >= 0
    for col in old.columns:
        v = old[col].to_numpy().copy()
        v[has_left] = home[col].to_numpy()[left_from[has_left]]
        old[col] = v
    old_gemeente = np.where(use_out, "", info.gemeente_code).astype(object)

    # ---- income class (household) and education (adults)
    type_eff = np.array([-0.6, -0.5, 0.5, 0.1, 0.4, -0.9])[t]
    origin_eff_map = {"nl": 0.15, "de": 0.1, "ww": 0.2, "ib": -0.1, "pl": -0.3, "tr": -0.4, "ma": -0.5, "sr": -0.4, "ar": -1.0, "er": -1.2}
    origin_eff = np.array([origin_eff_map[o] for o in hh_origin])
    score = type_eff + origin_eff + rng.normal(0, 1, n_hh)
    cuts = np.quantile(score, np.cumsum(_INCOME_SHARES)[:-1])
    income_k = np.searchsorted(cuts, score)
    income = np.array(INCOME_CLASSES, dtype=object)[income_k]
    edu_p = np.array([[0.5, 0.35, 0.15], [0.35, 0.45, 0.2], [0.25, 0.45, 0.3], [0.15, 0.4, 0.45], [0.08, 0.3, 0.62]])
    edu = _EDUCATION[_weighted_choice(rng, edu_p[income_k[hh_of]])]
    age_years = _age_at(birth, ref)
    edu = np.where(age_years >= 18, edu, "").astype(object)

    bsn = generate_bsns(rng, n)

    # ---- frames
    no_old = ~moved
    old_hn = pd.array(np.where(no_old, 0, old["huisnummer"].to_numpy()), dtype="Int64")
    old_hn[no_old] = pd.NA
    households = pd.DataFrame(
        {
            "household_id": np.arange(1, n_hh + 1, dtype=np.int64),
            "household_type": _HH_TYPES[t],
            "size": size,
            "n_adults": adults,
            "n_children": kids,
            "origin": hh_origin,
            "income_class": income,
            "gemeente_code": info.gemeente_code,
            "wijk_code": home["wijk_code"].to_numpy(),
            "buurt_code": home["buurt_code"].to_numpy(),
            "postcode": home["postcode"].to_numpy(),
            "huisnummer": home["huisnummer"].to_numpy(),
            "toevoeging": home["toevoeging"].to_numpy(),
            "moved": moved,
            "move_year": pd.array(np.where(moved, move_year, 0), dtype="Int64"),
            "old_gemeente_code": np.where(moved, old_gemeente, "").astype(object),
            "old_wijk_code": np.where(moved, old["wijk_code"].to_numpy(), "").astype(object),
            "old_buurt_code": np.where(moved, old["buurt_code"].to_numpy(), "").astype(object),
            "old_postcode": np.where(moved, old["postcode"].to_numpy(), "").astype(object),
            "old_huisnummer": old_hn,
            "old_toevoeging": np.where(moved, old["toevoeging"].to_numpy(), "").astype(object),
        }
    )
    households.loc[~moved, "move_year"] = pd.NA
    role = np.where(is_child, "child", np.where(pos == 0, "head", "partner")).astype(object)
    population = pd.DataFrame(
        {
            "person_id": np.arange(1, n + 1, dtype=np.int64),
            "household_id": hh_of + 1,
            "role": role,
            "bsn": bsn,
            "voornamen": voornamen,
            "roepnaam": roepnaam,
            "voorvoegsel": particle,
            "geslachtsnaam": surname,
            "geslacht": sex,
            "geboortedatum": np.datetime_as_string(birth, unit="D").astype(object),
            "leeftijd": age_years,
            "origin": origin,
            "is_twin": is_twin,
            "income_class": income[hh_of],
            "education_level": edu,
        }
    )
    for col in (
        "gemeente_code", "wijk_code", "buurt_code", "postcode", "huisnummer", "toevoeging", "moved", "move_year",
        "old_gemeente_code", "old_wijk_code", "old_buurt_code", "old_postcode", "old_huisnummer", "old_toevoeging",
    ):
        population[col] = households[col].to_numpy()[hh_of]
    population["move_year"] = population["move_year"].astype("Int64")
    population["old_huisnummer"] = population["old_huisnummer"].astype("Int64")
    population["household_type"] = households["household_type"].to_numpy()[hh_of]
    return population, households


def _age_at(birth: np.ndarray, ref: date) -> np.ndarray:
    """Age in whole years on ``ref``."""
    b = pd.DatetimeIndex(birth)
    month, day = b.month.to_numpy(), b.day.to_numpy()
    before = (month > ref.month) | ((month == ref.month) & (day > ref.day))
    return (ref.year - b.year.to_numpy() - before).astype(np.int64)


# ============================================================================ selection


def _select_sources(
    rng: np.random.Generator, pop: pd.DataFrame, coverage: Mapping[str, float]
) -> dict[str, np.ndarray]:
    """Person indices in each source; use is correlated with low income (stapeling)."""
    age = pop["leeftijd"].to_numpy()
    hh = pop["household_id"].to_numpy() - 1
    n_hh = int(hh.max()) + 1 if len(hh) else 0
    inc = pop["income_class"].map({c: i for i, c in enumerate(INCOME_CLASSES)}).to_numpy()
    single_parent = pop["household_type"].to_numpy() == "single_parent"

    # Participatiewet: adults 18-66, strongly skewed to the lowest incomes
    w_pw = np.array([6.0, 1.5, 0.3, 0.1, 0.03])[inc] * ((age >= 18) & (age <= 66))
    w_pw = w_pw * np.where(single_parent, 2.0, 1.0) * np.where(age <= 21, 0.5, 1.0)
    n_pw_base = int(((age >= 18) & (age <= 66)).sum())
    in_pw = _calibrated_selection(rng, w_pw, coverage["participatie"] * n_pw_base)
    hh_pw = np.bincount(hh[in_pw], minlength=n_hh)[hh] > 0

    # Wmo: mostly the elderly, more with low income and in households with bijstand
    w_wmo = np.select(
        [age < 18, age < 40, age < 55, age < 65, age < 75, age < 85],
        [0.0, 0.012, 0.02, 0.035, 0.07, 0.2],
        default=0.45,
    )
    w_wmo = w_wmo * np.array([1.6, 1.2, 0.9, 0.7, 0.5])[inc] * np.where(hh_pw, 1.8, 1.0)
    in_wmo = _calibrated_selection(rng, w_wmo, coverage["wmo"] * len(pop))

    # Jeugdwet: children (some continue to 22), stapeling with bijstand and Wmo at home
    hh_wmo = np.bincount(hh[in_wmo], minlength=n_hh)[hh] > 0
    w_j = np.select([age <= 17, age <= 22], [1.0, 0.25], default=0.0)
    w_j = w_j * np.array([2.2, 1.3, 0.9, 0.7, 0.6])[inc] * np.where(hh_pw, 2.5, 1.0)
    w_j = w_j * np.where(hh_wmo, 1.5, 1.0) * np.where(single_parent, 1.5, 1.0)
    in_j = _calibrated_selection(rng, w_j, coverage["jeugd"] * int((age <= 17).sum()))

    # Commercial: a large share of adults
    origin = pop["origin"].to_numpy()
    w_c = (age >= 18) * np.where(age >= 85, 0.6, 1.0) * np.where(np.isin(origin, ["ar", "er"]), 0.6, 1.0)
    in_c = _calibrated_selection(rng, w_c.astype(float), coverage["commercial"] * int((age >= 18).sum()))
    return {
        "wmo": np.flatnonzero(in_wmo),
        "participatie": np.flatnonzero(in_pw),
        "jeugd": np.flatnonzero(in_j),
        "commercial": np.flatnonzero(in_c),
    }


# ============================================================================ records + errors


@dataclass
class _Records:
    """Per-record values for one source after error injection (before formatting)."""

    person: np.ndarray
    given: np.ndarray  # str or "" (missing)
    initials_from: np.ndarray  # official given names (for VOORLETTERS)
    particle: np.ndarray
    surname: np.ndarray
    y: np.ndarray
    m: np.ndarray
    d: np.ndarray
    date_precision: np.ndarray  # 3 full, 2 year-month, 1 year, 0 missing
    sex: np.ndarray
    bsn: np.ndarray
    postcode: np.ndarray
    huisnummer: np.ndarray  # int, 0 = missing
    toevoeging: np.ndarray
    wijk_code: np.ndarray
    buurt_code: np.ndarray
    particle_variant: np.ndarray  # -1 = none, else variant 0..3
    outdated: np.ndarray


def _apply_each(mask: np.ndarray, values: np.ndarray, func) -> None:
    for i in np.flatnonzero(mask).tolist():
        values[i] = func(values[i])


def _make_records(
    rng: np.random.Generator, pop: pd.DataFrame, idx: np.ndarray, p: ErrorProfile, *, all_given_names: bool
) -> _Records:
    n = len(idx)
    col = {c: pop[c].to_numpy()[idx] for c in pop.columns}
    voornamen = col["voornamen"].astype(object).copy()
    first = col["roepnaam"].astype(object).copy()
    particle = col["voorvoegsel"].astype(object).copy()
    surname = col["geslachtsnaam"].astype(object).copy()
    birth = pd.DatetimeIndex(pd.to_datetime(col["geboortedatum"].astype(str), format="%Y-%m-%d"))
    y, m, d = birth.year.to_numpy().copy(), birth.month.to_numpy().copy(), birth.day.to_numpy().copy()
    sex = col["geslacht"].astype(object).copy()
    bsn = col["bsn"].astype(object).copy()
    pc = col["postcode"].astype(object).copy()
    hn = col["huisnummer"].astype(np.int64).copy()
    add = col["toevoeging"].astype(object).copy()
    wk = col["wijk_code"].astype(object).copy()
    bu = col["buurt_code"].astype(object).copy()

    # moved: the source may still have the old address
    outdated = col["moved"].astype(bool) & (rng.random(n) < p.outdated_address)
    if outdated.any():
        pc[outdated] = col["old_postcode"][outdated]
        hn[outdated] = col["old_huisnummer"][outdated].astype(np.int64)
        add[outdated] = col["old_toevoeging"][outdated]
        wk[outdated] = col["old_wijk_code"][outdated]
        bu[outdated] = col["old_buurt_code"][outdated]

    # call names: the whole given-name field becomes the call name
    nick = rng.random(n) < p.nickname
    for i in np.flatnonzero(nick).tolist():
        new = nickname(first[i], rng)
        if new != first[i]:
            first[i] = new
            voornamen[i] = new
    given = voornamen if all_given_names else first
    given = given.copy()
    _apply_each(rng.random(n) < p.phonetic, given, lambda s: phonetic_variant(s, rng))
    _apply_each(rng.random(n) < p.typo, given, lambda s: typo(s, rng))
    _apply_each(rng.random(n) < p.phonetic, surname, lambda s: phonetic_variant(s, rng))
    _apply_each(rng.random(n) < p.typo, surname, lambda s: typo(s, rng))

    for i in np.flatnonzero(rng.random(n) < p.date_swap).tolist():
        y[i], m[i], d[i] = swap_day_month(int(y[i]), int(m[i]), int(d[i]))
    for i in np.flatnonzero(rng.random(n) < p.date_typo).tolist():
        y[i], m[i], d[i] = date_typo(int(y[i]), int(m[i]), int(d[i]), rng)
    precision = np.full(n, 3, dtype=np.int64)
    partial = rng.random(n) < p.partial_date
    precision[partial] = np.where(rng.random(int(partial.sum())) < 0.6, 1, 2)

    for i in np.flatnonzero(rng.random(n) < p.house_number_typo).tolist():
        hn[i], add[i] = house_number_typo(int(hn[i]), str(add[i]), rng)

    _apply_each(rng.random(n) < p.bsn_typo, bsn, lambda s: bsn_typo(s, rng))
    bsn[rng.random(n) < p.bsn_missing] = ""

    miss = rng.random((n, 6)) < p.missing
    given[miss[:, 0]] = ""
    surname[miss[:, 1]] = ""
    particle[miss[:, 1]] = ""
    precision[miss[:, 2]] = 0
    sex[miss[:, 3]] = ""
    pc[miss[:, 4]] = ""
    hn[miss[:, 5]] = 0
    add[miss[:, 5]] = ""

    has_particle = particle != ""
    pv = np.where(has_particle & (rng.random(n) < p.particle_variant), rng.integers(0, 4, n), -1)
    return _Records(
        person=idx,
        given=given,
        initials_from=col["voornamen"].astype(object),
        particle=particle,
        surname=surname,
        y=y,
        m=m,
        d=d,
        date_precision=precision,
        sex=sex,
        bsn=bsn,
        postcode=pc,
        huisnummer=hn,
        toevoeging=add,
        wijk_code=wk,
        buurt_code=bu,
        particle_variant=pv,
        outdated=outdated,
    )


# ---- formatting helpers

_ABBREV = {
    "van der": ("v.d.", "vd", "v/d"),
    "van den": ("v.d.", "vd", "v/d"),
    "van de": ("v.d.", "vd"),
    "van": ("v.",),
    "van 't": ("v. 't", "van t"),
    "'t": ("t",),
    "in 't": ("in t",),
}


def _title_words(s: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in s.split(" "))


def _cap_first(s: str) -> str:
    return s[:1].upper() + s[1:]


def _abbrev(particle: str, k: int) -> str:
    options = _ABBREV.get(particle)
    if not options:
        return _cap_first(particle)
    return options[k % len(options)]


def _dates(r: _Records, fmt: str) -> np.ndarray:
    out = np.empty(len(r.y), dtype=object)
    for i, (yy, mm, dd, pr) in enumerate(zip(r.y.tolist(), r.m.tolist(), r.d.tolist(), r.date_precision.tolist(), strict=True)):
        if pr == 0:
            out[i] = ""
        elif fmt == "iso":
            out[i] = f"{yy:04d}-{mm:02d}-{dd:02d}" if pr == 3 else (f"{yy:04d}-{mm:02d}" if pr == 2 else f"{yy:04d}")
        elif fmt == "compact":
            out[i] = f"{yy:04d}{mm:02d}{dd:02d}"
        else:  # dd-mm-yyyy
            out[i] = f"{dd:02d}-{mm:02d}-{yy:04d}"
    return out


def _house_number(r: _Records, style: str) -> np.ndarray:
    out = np.empty(len(r.huisnummer), dtype=object)
    for i, (num, add) in enumerate(zip(r.huisnummer.tolist(), r.toevoeging.tolist(), strict=True)):
        if num == 0:
            out[i] = ""
            continue
        if not add:
            out[i] = str(num)
        elif add.isalpha() and len(add) == 1:
            out[i] = f"{num}{add.lower()}" if style == "participatie" else f"{num}{add.upper()}"
        elif add.isdigit():
            out[i] = f"{num}-{add}"
        elif style == "participatie":
            out[i] = f"{num} {add.lower()}"
        elif style == "jeugd":
            out[i] = f"{num}{add}" if add == "bis" else f"{num}-{add}"
        else:
            out[i] = f"{num} {add.upper()}"
    return out


def _record_ids(rng: np.random.Generator, n: int, first: int) -> np.ndarray:
    """Increasing ids with small random gaps (closed or withdrawn files)."""
    steps = rng.geometric(0.7, n)
    return first + np.cumsum(steps)


def _service_by_age(rng: np.random.Generator, age: np.ndarray, table: list[tuple[int, list[float]]], labels: np.ndarray) -> np.ndarray:
    probs = np.zeros((len(age), len(labels)))
    for max_age, p in reversed(table):
        probs[age <= max_age] = p
    return labels[_weighted_choice(rng, probs)]


def _start_years(rng: np.random.Generator, birth_year: np.ndarray, min_age: int, ref: date) -> np.ndarray:
    lo = np.maximum(_FIRST_YEAR_OF_LAW, birth_year + min_age)
    hi = ref.year - 1
    lo = np.minimum(lo, hi)
    return lo + np.floor(rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64)


def _true_birth_year(pop: pd.DataFrame, r: _Records) -> np.ndarray:
    return pop["geboortedatum"].str[:4].astype(np.int64).to_numpy()[r.person]


def _order_by(rng: np.random.Generator, key: np.ndarray) -> np.ndarray:
    return np.lexsort((rng.random(len(key)), key))


def _wmo(rng: np.random.Generator, r: _Records, pop: pd.DataFrame, ref: date) -> tuple[pd.DataFrame, np.ndarray]:
    n = len(r.person)
    age = pop["leeftijd"].to_numpy()[r.person]
    service = _service_by_age(
        rng, age,
        [(64, [0.15, 0.10, 0.10, 0.20, 0.45]), (79, [0.40, 0.20, 0.20, 0.10, 0.10]), (200, [0.45, 0.15, 0.25, 0.10, 0.05])],
        _WMO_SERVICES,
    )
    start = _start_years(rng, _true_birth_year(pop, r), 18, ref)
    vv, gn = r.particle.copy(), r.surname.copy()
    for i in np.flatnonzero(r.particle_variant >= 0).tolist():
        k = int(r.particle_variant[i])
        if k in (0, 1):  # inline in the surname column
            gn[i], vv[i] = f"{r.particle[i]} {r.surname[i]}".strip(), ""
        elif k == 2:
            vv[i] = _cap_first(r.particle[i])
        else:
            vv[i] = _title_words(r.particle[i])
    df = pd.DataFrame(
        {
            "client_id": "",
            "bsn": r.bsn,
            "voornamen": r.given,
            "voorvoegsel": vv,
            "geslachtsnaam": gn,
            "geboortedatum": _dates(r, "iso"),
            "geslacht": r.sex,
            "postcode": r.postcode,
            "huisnummer": np.where(r.huisnummer > 0, r.huisnummer.astype(str), "").astype(object),
            "toevoeging": r.toevoeging,
            "voorziening": service,
            "startjaar": start.astype(str).astype(object),
            "wijk_code": r.wijk_code,
            "buurt_code": r.buurt_code,
        }
    )
    order = _order_by(rng, start)
    df = df.iloc[order].reset_index(drop=True)
    df["client_id"] = [f"C{v:07d}" for v in _record_ids(rng, n, 1_000_000).tolist()]
    return df, r.person[order]


def _participatie(rng: np.random.Generator, r: _Records, pop: pd.DataFrame, ref: date) -> tuple[pd.DataFrame, np.ndarray]:
    n = len(r.person)
    service = _PW_SERVICES[_weighted_choice(rng, np.tile([0.6, 0.25, 0.15], (n, 1)))]
    start = _start_years(rng, _true_birth_year(pop, r), 18, ref)
    tv, an = r.particle.copy(), r.surname.copy()
    for i in np.flatnonzero(r.particle_variant >= 0).tolist():
        k = int(r.particle_variant[i])
        if k == 0:
            an[i], tv[i] = f"{r.particle[i]} {r.surname[i]}", ""
        elif k == 1:
            tv[i] = _title_words(r.particle[i])
        elif k == 2:
            tv[i] = _abbrev(r.particle[i], i)
        else:
            an[i], tv[i] = f"{_cap_first(r.particle[i])} {r.surname[i]}", ""
    # spreadsheets drop the leading zero of a BSN: the 8-digit form
    bsn = np.array([b[1:] if b.startswith("0") else b for b in r.bsn.tolist()], dtype=object)
    sex = np.array([{"M": "man", "V": "vrouw", "O": "onbekend"}.get(s, "") for s in r.sex.tolist()], dtype=object)
    postcode = np.array([f"{p[:4]} {p[4:]}" if p else "" for p in r.postcode.tolist()], dtype=object)
    df = pd.DataFrame(
        {
            "dossier": "",
            "BSN": bsn,
            "Voornaam": r.given,
            "Tussenvoegsel": tv,
            "Achternaam": an,
            "Geb.datum": _dates(r, "compact"),
            "Geslacht": sex,
            "Postcode": postcode,
            "Huisnr": _house_number(r, "participatie"),
            "regeling": service,
            "startjaar": start.astype(str).astype(object),
            "wijk": r.wijk_code,
            "buurt": r.buurt_code,
        }
    )
    order = _order_by(rng, start)
    df = df.iloc[order].reset_index(drop=True)
    df["dossier"] = [f"PW{v:06d}" for v in _record_ids(rng, n, 100_000).tolist()]
    return df, r.person[order]


def _jeugd(rng: np.random.Generator, r: _Records, pop: pd.DataFrame, ref: date) -> tuple[pd.DataFrame, np.ndarray]:
    n = len(r.person)
    age = pop["leeftijd"].to_numpy()[r.person]
    service = _service_by_age(
        rng, age,
        [
            (5, [0.15, 0.0, 0.15, 0.50, 0.20]),
            (12, [0.30, 0.25, 0.08, 0.27, 0.10]),
            (17, [0.45, 0.05, 0.08, 0.27, 0.15]),
            (200, [0.50, 0.0, 0.20, 0.25, 0.05]),
        ],
        _JEUGD_SERVICES,
    )
    start = _start_years(rng, _true_birth_year(pop, r), 0, ref)
    naam = np.empty(n, dtype=object)
    for i in range(n):
        given = r.given[i] or (r.initials_from[i][:1] + "." if r.initials_from[i] else "")
        part = r.particle[i]
        k = int(r.particle_variant[i])
        if part and k >= 0:
            part = _abbrev(part, k) if k in (0, 1) else (_title_words(part) if k == 2 else _cap_first(part))
        naam[i] = " ".join(x for x in (given, part, r.surname[i]) if x)
    postcode = np.array([f"{p[:4]} {p[4:].lower()}" if p else "" for p in r.postcode.tolist()], dtype=object)
    df = pd.DataFrame(
        {
            "dossiernummer": "",
            "naam": naam,
            "geboortedatum": _dates(r, "dmy"),
            "postcode": postcode,
            "huisnummer": _house_number(r, "jeugd"),
            "jeugdhulp": service,
            "wijk_code": r.wijk_code,
            "buurt_code": r.buurt_code,
        }
    )
    order = _order_by(rng, start)
    df = df.iloc[order].reset_index(drop=True)
    df["dossiernummer"] = [f"J{v:07d}" for v in _record_ids(rng, n, 2_000_000).tolist()]
    return df, r.person[order]


@lru_cache(maxsize=65536)
def _initials(given_names: str) -> str:
    """"Jan-Willem Pieter" -> "J.W.P." """
    return "".join(w[:1] + "." for w in given_names.replace("-", " ").split())


def _commercial(rng: np.random.Generator, r: _Records, pop: pd.DataFrame, ref: date) -> tuple[pd.DataFrame, np.ndarray]:
    n = len(r.person)
    fold = rng.random(n) < 0.35  # many commercial systems strip diacritics
    reverse = rng.random(n) < 0.12  # "BERG, VAN DEN"
    naam = np.empty(n, dtype=object)
    voornaam = np.empty(n, dtype=object)
    voorletters = np.empty(n, dtype=object)

    cache: dict[tuple[str, bool], str] = {}

    def up(s: str, i: int) -> str:
        key = (s, bool(fold[i]))
        out = cache.get(key)
        if out is None:
            u = s.upper()
            out = cache[key] = to_latin1(ascii_fold(u) if key[1] else u)
        return out

    for i in range(n):
        part, sur = r.particle[i], r.surname[i]
        k = int(r.particle_variant[i])
        if part and k >= 0:
            if k in (0, 1):
                part = _abbrev(part, k)
            elif k == 2:
                part = ""  # particle dropped
            else:
                sur, part = part.replace(" ", "").replace("'", "") + sur.lower(), ""  # glued: VANDENBERG
        if not sur:
            naam[i] = ""
        elif part and reverse[i]:
            naam[i] = up(f"{sur}, {part}", i)
        else:
            naam[i] = up(f"{part} {sur}".strip(), i)
        voornaam[i] = up(r.given[i], i)
        voorletters[i] = up(_initials(r.initials_from[i]), i)
    postcode = np.where(rng.random(n) < 0.08, [f"{p[:4]} {p[4:]}" if p else "" for p in r.postcode.tolist()], r.postcode).astype(object)

    inc = pop["income_class"].to_numpy()[r.person]
    inc_k = pd.Series(inc).map({c: i for i, c in enumerate(INCOME_CLASSES)}).to_numpy()
    noise = np.where(rng.random(n) < 0.2, rng.choice([-1, 1], n), 0)
    income = np.array(INCOME_CLASSES, dtype=object)[np.clip(inc_k + noise, 0, 4)]
    edu = pop["education_level"].to_numpy()[r.person].astype(object)
    age = pop["leeftijd"].to_numpy()[r.person]
    ch_p = np.tile([0.20, 0.35, 0.20, 0.25], (n, 1))
    ch_p[age < 65] = [0.50, 0.25, 0.15, 0.10]
    ch_p[age < 40] = [0.70, 0.15, 0.10, 0.05]
    channel = _CHANNELS[_weighted_choice(rng, ch_p)]
    df = pd.DataFrame(
        {
            "id": [str(v) for v in (rng.choice(9_000_000, n, replace=False) + 1_000_000).tolist()],
            "NAAM": naam,
            "VOORLETTERS": voorletters,
            "VOORNAAM": voornaam,
            "GEBDAT": _dates(r, "iso"),
            "POSTCODE": postcode,
            "HUISNR": _house_number(r, "commercial"),
            "income_class": income,
            "education_level": edu,
            "preferred_channel": channel,
        }
    )
    # purchased files come sorted by address
    order = np.lexsort((r.huisnummer, df["POSTCODE"].str.replace(" ", "").to_numpy()))
    return df.iloc[order].reset_index(drop=True), r.person[order]


_FORMATTERS = {"wmo": _wmo, "participatie": _participatie, "jeugd": _jeugd, "commercial": _commercial}
_ALL_GIVEN = {"wmo": True, "participatie": False, "jeugd": False, "commercial": False}


# ============================================================================ entry point


def _resolve_profiles(
    error_scale: float, errors: Mapping[str, ErrorProfile | Mapping[str, float]] | None
) -> dict[str, ErrorProfile]:
    if error_scale < 0:
        raise ConfigError("error_scale must be >= 0")
    out: dict[str, ErrorProfile] = {}
    for name in SOURCE_NAMES:
        base = DEFAULT_ERRORS[name]
        override = (errors or {}).get(name)
        if isinstance(override, ErrorProfile):
            base = override
        elif override is not None:
            try:
                base = ErrorProfile(**{**base.__dict__, **dict(override)})
            except TypeError as exc:
                raise ConfigError(f"errors[{name!r}]: {exc}") from None
            except ValueError as exc:
                raise ConfigError(f"errors[{name!r}]: {exc}") from None
        out[name] = base.scaled(error_scale)
    unknown = set(errors or {}) - set(SOURCE_NAMES)
    if unknown:
        raise ConfigError(f"errors for unknown source(s) {sorted(unknown)}; sources: {', '.join(SOURCE_NAMES)}")
    return out


def generate_municipality(
    n_persons: int = 20_000,
    seed: int = 42,
    municipality: str = "Enschede",
    *,
    error_scale: float = 1.0,
    errors: Mapping[str, ErrorProfile | Mapping[str, float]] | None = None,
    coverage: Mapping[str, float] | None = None,
    reference_date: date = REFERENCE_DATE,
) -> Municipality:
    """Generate a reproducible synthetic municipality.

    Args:
        n_persons: number of residents (exactly).
        seed: the same seed gives identical DataFrames.
        municipality: a municipality the generator knows (Enschede, Hengelo, Almelo, Utrecht,
            Amsterdam): sets the CBS code and the postcode range.
        error_scale: multiplies every error rate (0 = sources without errors; formats still
            differ per source, e.g. "BERG, VAN DEN" and diacritics stripped in the commercial file).
        errors: per-source overrides: an :class:`ErrorProfile` or a dict of rates, e.g.
            ``{"commercial": {"typo": 0.05}}``; see :data:`DEFAULT_ERRORS`.
        coverage: per-source coverage overrides; see :data:`DEFAULT_COVERAGE`.
        reference_date: "today" in the synthetic world.

    The population does not depend on ``error_scale``, ``errors`` or ``coverage``: the
    stages draw from independent random streams derived from ``seed``.
    """
    if not isinstance(n_persons, (int, np.integer)) or n_persons < 1:
        raise ConfigError("n_persons must be a positive integer")
    info = lookup_municipality(municipality)
    profiles = _resolve_profiles(error_scale, errors)
    cov = dict(DEFAULT_COVERAGE)
    for k, v in (coverage or {}).items():
        if k not in cov:
            raise ConfigError(f"coverage for unknown source {k!r}; sources: {', '.join(SOURCE_NAMES)}")
        if not 0.0 <= float(v) <= 1.0:
            raise ConfigError(f"coverage[{k!r}] must be in [0, 1]")
        cov[k] = float(v)

    ss = np.random.SeedSequence(seed)
    pop_ss, sel_ss, src_ss = ss.spawn(3)
    population, households = _build_population(np.random.default_rng(pop_ss), int(n_persons), info, reference_date)
    selected = _select_sources(np.random.default_rng(sel_ss), population, cov)

    sources: dict[str, pd.DataFrame] = {}
    truth_parts = []
    hh_ids = population["household_id"].to_numpy()
    person_ids = population["person_id"].to_numpy()
    for name, child in zip(SOURCE_NAMES, src_ss.spawn(len(SOURCE_NAMES)), strict=True):
        # errors and formatting (services, start years, record ids) draw from separate streams,
        # so a person keeps the same record id whatever the error settings
        err_ss, fmt_ss = child.spawn(2)
        rec = _make_records(
            np.random.default_rng(err_ss), population, selected[name], profiles[name], all_given_names=_ALL_GIVEN[name]
        )
        df, persons = _FORMATTERS[name](np.random.default_rng(fmt_ss), rec, population, reference_date)
        df = df.astype(object)
        sources[name] = df
        rid_col = df.columns[0]
        truth_parts.append(
            pd.DataFrame(
                {
                    "source": name,
                    "record_id": df[rid_col].to_numpy(),
                    "person_id": person_ids[persons],
                    "household_id": hh_ids[persons],
                }
            )
        )
    truth = pd.concat(truth_parts, ignore_index=True)
    for name in SOURCE_NAMES:
        population[f"in_{name}"] = population["person_id"].isin(truth.loc[truth["source"] == name, "person_id"])
    return Municipality(
        name=info.name,
        gemeente_code=info.gemeente_code,
        seed=int(seed),
        sources=sources,
        truth=truth,
        population=population,
        households=households,
        reference_date=reference_date,
        meta={"error_profiles": profiles, "coverage": cov},
    )
