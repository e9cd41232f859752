"""Synthetic burgerservicenummers (BSN) that pass the elfproef."""

from __future__ import annotations

import numpy as np

__all__ = ["elfproef", "generate_bsns"]

_WEIGHTS = np.array([9, 8, 7, 6, 5, 4, 3, 2, -1], dtype=np.int64)


def elfproef(bsn: str) -> bool:
    """True when ``bsn`` is 9 digits whose weighted sum (9..2, -1) is divisible by 11.

    Example:
        >>> elfproef("123456782"), elfproef("123456789")
        (True, False)
    """
    if len(bsn) != 9 or not bsn.isascii() or not bsn.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(bsn, _WEIGHTS.tolist(), strict=True))
    return total % 11 == 0 and bsn != "000000000"


def generate_bsns(rng: np.random.Generator, n: int, *, leading_zero_share: float = 0.02) -> np.ndarray:
    """``n`` distinct, elfproef-valid 9-digit BSN strings (object array).

    Most start with 1-6 like real ones; about ``leading_zero_share`` start with 0 (their
    8-digit form is what spreadsheets make of them).
    """
    out = np.empty(0, dtype=np.int64)
    seen: set[int] = set()
    while len(out) < n:
        need = int((n - len(out)) * 1.15) + 16
        zero = rng.random(need) < leading_zero_share
        first = np.where(zero, 0, rng.integers(1, 7, need))
        rest = rng.integers(0, 10_000_000, need)
        prefix = first * 10_000_000 + rest  # 8 digits
        digits = (prefix[:, None] // 10 ** np.arange(7, -1, -1)) % 10
        s = digits @ _WEIGHTS[:8]
        check = s % 11  # the last digit d must satisfy s - d = 0 (mod 11)
        ok = check <= 9
        cand = prefix[ok] * 10 + check[ok]
        cand = cand[cand >= 1_000_000]  # avoid degenerate all-zero-ish numbers
        fresh = []
        for v in cand.tolist():
            if v not in seen:
                seen.add(v)
                fresh.append(v)
        out = np.concatenate([out, np.array(fresh, dtype=np.int64)])
    out = out[:n]
    return np.array([f"{v:09d}" for v in out.tolist()], dtype=object)
