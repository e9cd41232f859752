"""Synthetic geography: postcodes, addresses and CBS area codes (gemeente / wijk / buurt)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pplink.errors import ConfigError

__all__ = ["MunicipalityInfo", "MUNICIPALITIES", "lookup_municipality", "build_addresses", "outside_addresses", "POSTCODE_LETTERS"]


@dataclass(frozen=True)
class MunicipalityInfo:
    """A municipality the generator knows: CBS code and its PC4 range."""

    name: str
    code: str  # 4 digits, as in GM0153
    pc4_first: int
    pc4_last: int
    n_wijken: int

    @property
    def gemeente_code(self) -> str:
        return f"GM{self.code}"


MUNICIPALITIES = {
    "enschede": MunicipalityInfo("Enschede", "0153", 7511, 7548, 10),
    "hengelo": MunicipalityInfo("Hengelo", "0164", 7550, 7559, 8),
    "almelo": MunicipalityInfo("Almelo", "0141", 7601, 7609, 6),
    "utrecht": MunicipalityInfo("Utrecht", "0344", 3511, 3585, 10),
    "amsterdam": MunicipalityInfo("Amsterdam", "0363", 1011, 1109, 12),
}

# Letters used in real postcodes (F, I, O, Q, U and Y are avoided); SA, SD and SS never occur.
POSTCODE_LETTERS = "ABCDEGHJKLMNPRSTVWXZ"
_PAIRS = np.array(
    [a + b for a in POSTCODE_LETTERS for b in POSTCODE_LETTERS if a + b not in ("SA", "SD", "SS")],
    dtype=object,
)


def lookup_municipality(name: str) -> MunicipalityInfo:
    try:
        return MUNICIPALITIES[name.strip().lower()]
    except KeyError:
        known = ", ".join(m.name for m in MUNICIPALITIES.values())
        raise ConfigError(f"unknown municipality {name!r}; the generator knows: {known}") from None


def build_addresses(rng: np.random.Generator, info: MunicipalityInfo, n_addresses: int) -> pd.DataFrame:
    """An address register of ``n_addresses`` addresses with postcode, number, addition, areas.

    Every 6-character postcode belongs to one buurt; buurten are contiguous runs of
    postcodes inside a wijk; wijken are contiguous runs of PC4 areas.
    Columns: ``postcode`` ("7511AB"), ``huisnummer`` (int), ``toevoeging`` ("", "A", "2",
    "bis", "hs", ...), ``wijk_code``, ``buurt_code``.
    """
    pc4s = np.arange(info.pc4_first, info.pc4_last + 1)
    n_pc4 = len(pc4s)
    mean_size = max(16.0, n_addresses / (n_pc4 * 0.75 * len(_PAIRS)))
    n_pc6 = max(n_pc4, int(np.ceil(n_addresses / mean_size)))
    w = rng.gamma(4.0, 1.0, n_pc4)
    per_pc4 = rng.multinomial(n_pc6 - n_pc4, w / w.sum()) + 1
    per_pc4 = np.minimum(per_pc4, len(_PAIRS))
    n_pc6 = int(per_pc4.sum())
    # postcode strings: each PC4 uses a sorted random subset of the letter pairs
    pc6_pc4 = np.repeat(np.arange(n_pc4), per_pc4)
    letter_idx = np.concatenate(
        [np.sort(rng.choice(len(_PAIRS), size=int(k), replace=False)) for k in per_pc4.tolist()]
    )
    pc6 = np.array([f"{pc4s[a]}{_PAIRS[b]}" for a, b in zip(pc6_pc4.tolist(), letter_idx.tolist(), strict=True)], dtype=object)

    # wijken: contiguous PC4 runs; buurten: contiguous postcode runs within a wijk
    n_wijken = min(info.n_wijken, n_pc4)
    wijk_of_pc4 = (np.arange(n_pc4) * n_wijken) // n_pc4 + 1
    wijk_of_pc6 = wijk_of_pc4[pc6_pc4]
    buurt_of_pc6 = np.zeros(n_pc6, dtype=np.int64)
    for wk in range(1, n_wijken + 1):
        idx = np.flatnonzero(wijk_of_pc6 == wk)
        n_b = int(min(len(idx), rng.integers(4, 9)))
        shares = rng.dirichlet(np.full(n_b, 4.0))
        cuts = np.floor(np.cumsum(shares)[:-1] * len(idx)).astype(int)
        b = np.searchsorted(cuts, np.arange(len(idx)), side="right") + 1
        buurt_of_pc6[idx] = b
    wijk_codes = np.array([f"WK{info.code}{k:02d}" for k in range(n_wijken + 1)], dtype=object)
    wk_code = wijk_codes[wijk_of_pc6]
    bu_code = np.array([f"BU{info.code}{a:02d}{b:02d}" for a, b in zip(wijk_of_pc6.tolist(), buurt_of_pc6.tolist(), strict=True)], dtype=object)

    # addresses per postcode
    weights = rng.gamma(2.0, 1.0, n_pc6)
    sizes = 3 + rng.multinomial(max(0, n_addresses - 3 * n_pc6), weights / weights.sum())
    is_flat = rng.random(n_pc6) < 0.15
    starts = rng.integers(1, 120, n_pc6)
    steps = np.where(rng.random(n_pc6) < 0.8, 2, 1)
    flat_style = rng.integers(0, 3, n_pc6)
    flat_units = rng.integers(2, 9, n_pc6)
    u_add = rng.random(int(sizes.sum()))
    u_kind = rng.random(int(sizes.sum()))
    numbers: list[int] = []
    additions: list[str] = []
    owner: list[int] = []
    pos = 0
    letters = "ABCDEFGH"
    for i in range(n_pc6):
        m = int(sizes[i])
        if is_flat[i]:
            units = int(flat_units[i])
            style = int(flat_style[i])
            num = int(starts[i])
            for j in range(m):
                b, u = divmod(j, units)
                numbers.append(num + 2 * b)
                if style == 0:
                    additions.append(letters[u])
                elif style == 1:
                    additions.append(str(u + 1))
                else:
                    additions.append("hs" if u == 0 else str(u))
        else:
            num = int(starts[i])
            step = int(steps[i])
            prev_add = True
            for j in range(m):
                k = pos + j
                if j > 0 and not prev_add and u_add[k] < 0.06:
                    numbers.append(numbers[-1])
                    additions.append("bis" if u_kind[k] < 0.12 else "A")
                    prev_add = True
                else:
                    numbers.append(num)
                    additions.append("")
                    num += step
                    prev_add = False
        owner.extend([i] * m)
        pos += m
    own = np.array(owner, dtype=np.int64)
    df = pd.DataFrame(
        {
            "postcode": pc6[own],
            "huisnummer": np.array(numbers, dtype=np.int64),
            "toevoeging": np.array(additions, dtype=object),
            "wijk_code": wk_code[own],
            "buurt_code": bu_code[own],
        }
    )
    return df


def outside_addresses(rng: np.random.Generator, info: MunicipalityInfo, n: int) -> pd.DataFrame:
    """``n`` addresses elsewhere in the Netherlands (for people who moved in)."""
    pc4 = rng.integers(1000, 10000, n)
    inside = (pc4 >= info.pc4_first) & (pc4 <= info.pc4_last)
    pc4 = np.where(inside, pc4 - 1000 if info.pc4_first >= 2000 else pc4 + 1000, pc4)
    pairs = _PAIRS[rng.integers(0, len(_PAIRS), n)]
    postcode = np.array([f"{a}{b}" for a, b in zip(pc4.tolist(), pairs.tolist(), strict=True)], dtype=object)
    numbers = rng.integers(1, 200, n)
    additions = np.where(rng.random(n) < 0.05, "A", "").astype(object)
    return pd.DataFrame(
        {
            "postcode": postcode,
            "huisnummer": numbers.astype(np.int64),
            "toevoeging": additions,
            "wijk_code": np.full(n, "", dtype=object),
            "buurt_code": np.full(n, "", dtype=object),
        }
    )
