"""Tests for pplink.linkage.similarity against a pure-numpy reference implementation."""

from __future__ import annotations

import platform
import re

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pplink.errors import IncompatibleEncodingsError, PplinkError
from pplink.linkage import similarity as sim
from pplink.linkage.similarity import (
    dedup_all_pairs,
    dice_all_pairs,
    dice_pairs,
    from_bytes,
    jaccard_all_pairs,
    jaccard_pairs,
    pack_bits,
    popcounts,
    unpack_bits,
)

# ------------------------------------------------------------------ reference (numpy)


def ref_bits(f: np.ndarray) -> np.ndarray:
    """Bits of uint64 filters, independent of the code under test."""
    n, words = f.shape
    shifts = np.arange(64, dtype=np.uint64)
    return ((f[:, :, None] >> shifts) & np.uint64(1)).reshape(n, words * 64).astype(bool)


def ref_scores(a: np.ndarray, b: np.ndarray, metric: str) -> np.ndarray:
    ba = ref_bits(a).astype(np.int64)
    bb = ref_bits(b).astype(np.int64)
    c = ba @ bb.T
    s = ba.sum(1)[:, None] + bb.sum(1)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        if metric == "dice":
            return np.where(s > 0, 2.0 * c / s, 0.0)
        return np.where(s - c > 0, c / (s - c), 0.0)


def ref_all_pairs(a, b, t, metric="dice", top_k=None):
    sc = ref_scores(a, b, metric)
    ia, ib = np.nonzero(sc >= t)  # row-major: sorted by (ia, ib)
    if top_k is not None:
        keep = []
        for i in np.unique(ia):
            rows = np.flatnonzero(ia == i)
            order = sorted(rows, key=lambda r: (-sc[ia[r], ib[r]], ib[r]))
            keep.extend(sorted(order[:top_k]))
        keep = np.array(keep, dtype=np.int64)
        ia, ib = ia[keep], ib[keep]
    return ia, ib, sc[ia, ib]


def ref_dedup(a, t, metric="dice", top_k=None):
    sc = ref_scores(a, a, metric)
    n = a.shape[0]
    if top_k is None:
        ia, ib = np.nonzero(np.triu(sc >= t, k=1))
        return ia, ib, sc[ia, ib]
    pairs = set()
    for i in range(n):
        cand = [j for j in range(n) if j != i and sc[i, j] >= t]
        cand.sort(key=lambda j: (-sc[i, j], j))
        for j in cand[:top_k]:
            pairs.add((min(i, j), max(i, j)))
    pairs = sorted(pairs)
    ia = np.array([p[0] for p in pairs], dtype=np.int64)
    ib = np.array([p[1] for p in pairs], dtype=np.int64)
    return ia, ib, sc[ia, ib] if len(pairs) else np.zeros(0)


def assert_same(got, want):
    gia, gib, gsc = got
    wia, wib, wsc = want
    assert gia.dtype == np.int64 and gib.dtype == np.int64 and gsc.dtype == np.float64
    assert np.array_equal(gia, wia), "pair sets differ (ia)"
    assert np.array_equal(gib, wib), "pair sets differ (ib)"
    np.testing.assert_allclose(gsc, wsc, rtol=0, atol=1e-12)


def random_filters(rng, n, words, density_lo=0.05, density_hi=0.6, zero_rows=0):
    dens = rng.uniform(density_lo, density_hi, (n, 1))
    bits = rng.random((n, words * 64)) < dens
    bits[:zero_rows] = False
    return pack_bits(bits)


def linked_pair(rng, n_a, n_b, words):
    """A and B where part of B are noisy copies or exact copies of A rows."""
    a = random_filters(rng, n_a, words, zero_rows=2)
    bits_a = ref_bits(a)
    k = min(n_a, n_b // 2)
    noisy = bits_a[:k] ^ (rng.random((k, words * 64)) < rng.uniform(0.0, 0.15, (k, 1)))
    noisy[: k // 4] = bits_a[: k // 4]  # exact duplicates: score 1.0
    rest = ref_bits(random_filters(rng, n_b - k, words, zero_rows=1))
    b_bits = np.concatenate([noisy, rest])
    b_bits = b_bits[rng.permutation(n_b)]
    return a, pack_bits(b_bits)


# ------------------------------------------------------------------------ bit helpers


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 6),
    m=st.integers(1, 200),
    seed=st.integers(0, 2**32 - 1),
)
def test_pack_unpack_round_trip(n, m, seed):
    bits = np.random.default_rng(seed).random((n, m)) < 0.5
    packed = pack_bits(bits)
    assert packed.dtype == np.uint64 and packed.flags.c_contiguous
    assert packed.shape == (n, (m + 63) // 64)
    assert np.array_equal(unpack_bits(packed, m), bits)
    assert np.array_equal(ref_bits(packed)[:, :m], bits)
    assert not ref_bits(packed)[:, m:].any()  # padding is zero
    # and uint64 -> bits -> uint64
    assert np.array_equal(pack_bits(unpack_bits(packed)), packed)


def test_bit_layout_is_little_endian():
    bits = np.zeros((1, 130), dtype=bool)
    bits[0, [0, 3, 63, 64, 129]] = True
    f = pack_bits(bits)
    assert f.tolist() == [[(1 << 0) | (1 << 3) | (1 << 63), 1, 2]]
    # same bytes as a fixed_size_binary column: bit i in byte i // 8, position i % 8
    raw = np.packbits(bits, axis=1, bitorder="little").tobytes()
    assert f.tobytes()[: len(raw)] == raw


def test_pack_bits_accepts_01_integers_and_rejects_others():
    assert pack_bits(np.array([[1, 0, 1]])).tolist() == [[5]]
    with pytest.raises(ValueError, match="boolean"):
        pack_bits(np.array([[2, 0]]))
    with pytest.raises(ValueError, match="2-dimensional"):
        pack_bits(np.ones(8, dtype=bool))


def test_from_bytes_matches_pack_bits():
    rng = np.random.default_rng(3)
    for n_bits in (64, 100, 1024, 1000):
        bits = rng.random((5, n_bits)) < 0.4
        raw = [bytes(r) for r in np.packbits(bits, axis=1, bitorder="little")]
        want = pack_bits(bits)
        assert np.array_equal(from_bytes(raw, n_bits), want)
        assert np.array_equal(from_bytes(np.array(raw, dtype=f"S{len(raw[0])}"), n_bits), want)
        assert np.array_equal(from_bytes([bytearray(r) for r in raw], n_bits), want)
    # trailing zero bytes survive the numpy 'S' dtype (which strips them on item access)
    z = np.array([b"\x01" + b"\x00" * 7], dtype="S8")
    assert from_bytes(z, 64).tolist() == [[1]]
    assert from_bytes([], 64).shape == (0, 1)


def test_from_bytes_reads_arrow_fixed_size_binary():
    pa = pytest.importorskip("pyarrow")
    rng = np.random.default_rng(5)
    bits = rng.random((6, 1024)) < 0.4
    raw = [bytes(r) for r in np.packbits(bits, axis=1, bitorder="little")]
    col = pa.array(raw, type=pa.binary(128))
    want = pack_bits(bits)
    assert np.array_equal(from_bytes(col, 1024), want)
    assert np.array_equal(from_bytes(col.slice(2, 3), 1024), want[2:5])  # non-zero offset
    assert np.array_equal(from_bytes(pa.chunked_array([col[:2], col[2:]]), 1024), want)
    with pytest.raises(ValueError, match="null"):
        from_bytes(pa.array([raw[0], None], type=pa.binary(128)), 1024)
    with pytest.raises(ValueError, match="expected 64"):
        from_bytes(col, 512)


def test_from_bytes_rejects_bad_input():
    with pytest.raises(ValueError, match="expected 8"):
        from_bytes([b"\x00" * 7], 64)
    with pytest.raises(ValueError, match="n_bits"):
        from_bytes([b"\x00\x10"], 12)  # bit 12 set but only 12 bits
    with pytest.raises(ValueError, match="expected bytes"):
        from_bytes(["abc"], 24)
    with pytest.raises(ValueError):
        from_bytes(np.array([b"ab"], dtype="S2"), 64)


def test_popcounts():
    rng = np.random.default_rng(4)
    for words in (1, 8, 16, 17):
        f = random_filters(rng, 50, words, zero_rows=3)
        got = popcounts(f)
        assert got.dtype == np.int32
        assert np.array_equal(got, ref_bits(f).sum(1))
    assert popcounts(np.zeros((0, 16), np.uint64)).shape == (0,)


# ---------------------------------------------------------------- candidate pairs mode


@pytest.mark.parametrize("words", [1, 8, 16, 17])
def test_pairs_match_reference(words):
    rng = np.random.default_rng(words)
    a = random_filters(rng, 40, words, zero_rows=2)
    b = random_filters(rng, 30, words, zero_rows=2)
    ia = rng.integers(0, 40, 500)
    ib = rng.integers(0, 30, 500)
    ia[:3] = 0  # zero row vs zero row, zero vs non-zero
    ib[:3] = [0, 1, 5]
    for fn, metric in ((dice_pairs, "dice"), (jaccard_pairs, "jaccard")):
        want = ref_scores(a, b, metric)[ia, ib]
        got = fn(a, b, ia, ib)
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert dice_pairs(a, b, ia[:1], ib[:1])[0] == 0.0  # two all-zero filters
    assert dice_pairs(a, b, [], []).shape == (0,)


def test_pairs_validate_indices():
    f = np.zeros((3, 2), np.uint64)
    with pytest.raises(ValueError, match="outside"):
        dice_pairs(f, f, [0, 3], [0, 0])
    with pytest.raises(ValueError, match="outside"):
        dice_pairs(f, f, [-1], [0])
    with pytest.raises(ValueError, match="same length"):
        dice_pairs(f, f, [0, 1], [0])


# ---------------------------------------------------------------------- all pairs


@pytest.fixture(params=["default", "tiny"])
def blocking(request, monkeypatch):
    """Run with the default blocking, and with tiny tiles / work items so that the small
    test inputs span many tiles and many parallel work items."""
    if request.param == "tiny":
        monkeypatch.setattr(sim, "_TILE_BYTES", 8)  # the kernel's minimum: 64 B rows
        monkeypatch.setattr(sim, "_CHUNK_ROWS", 7)
        monkeypatch.setattr(sim, "_CHUNKS_PER_CALL", 3)
    return request.param


@pytest.mark.parametrize("words", [1, 8, 16, 17])
@pytest.mark.parametrize("metric", ["dice", "jaccard"])
def test_all_pairs_equals_brute_force(words, metric, blocking):
    rng = np.random.default_rng(100 + words)
    a, b = linked_pair(rng, 230, 260, words)
    fn = dice_all_pairs if metric == "dice" else jaccard_all_pairs
    for t in (0.2, 0.5, 0.8, 0.9, 1.0):
        got = fn(a, b, t)
        want = ref_all_pairs(a, b, t, metric)
        assert_same(got, want)
    assert len(fn(a, b, 0.5)[0]) > 0  # the data set has matches


def test_all_pairs_many_results_overflow_path(blocking):
    # every pair qualifies: far more results than the per-block buffers hold
    rng = np.random.default_rng(7)
    a = random_filters(rng, 300, 2, 0.9, 1.0)
    b = random_filters(rng, 250, 2, 0.9, 1.0)
    got = dice_all_pairs(a, b, 0.05)
    assert len(got[0]) == 300 * 250
    assert_same(got, ref_all_pairs(a, b, 0.05))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n_a=st.integers(0, 25),
    n_b=st.integers(0, 25),
    words=st.sampled_from([1, 2, 3]),
    threshold=st.one_of(
        st.floats(0.01, 1.0),
        st.sampled_from([0.5, 2 / 3, 0.75, 0.8, 0.9, 1.0]),  # exactly attainable scores
    ),
    metric=st.sampled_from(["dice", "jaccard"]),
)
def test_pruning_never_drops_a_qualifying_pair(seed, n_a, n_b, words, threshold, metric):
    rng = np.random.default_rng(seed)
    # few set bits, so popcounts vary a lot relative to each other and ties are common
    a = random_filters(rng, n_a, words, 0.0, 0.2, zero_rows=min(n_a, 1))
    b = np.concatenate([a[: n_b // 3], random_filters(rng, n_b - n_b // 3, words, 0.0, 0.3)])
    fn = dice_all_pairs if metric == "dice" else jaccard_all_pairs
    assert_same(fn(a, b, threshold), ref_all_pairs(a, b, threshold, metric))


@pytest.mark.parametrize("words", [1, 16, 17])
def test_top_k_keeps_the_best_per_row(words, blocking):
    rng = np.random.default_rng(200 + words)
    a, b = linked_pair(rng, 150, 200, words)
    b = np.concatenate([b, b[:40]])  # duplicated B rows create ties
    for metric, fn in (("dice", dice_all_pairs), ("jaccard", jaccard_all_pairs)):
        for k in (1, 3, 1000):
            for t in (0.1, 0.6):
                got = fn(a, b, t, top_k=k)
                assert_same(got, ref_all_pairs(a, b, t, metric, top_k=k))
    ia, _, _ = dice_all_pairs(a, b, 0.1, top_k=2)
    assert np.bincount(ia).max() <= 2


def test_top_k_tie_found_in_a_later_tile(monkeypatch):
    # B rows 1..64 (popcount 10) and B row 0 (popcount 15) all score exactly 0.8 against
    # the A row; B row 0 sorts into the second tile, after the heap is already full, and
    # must still win the tie (lower index) although its count equals the pruning bound.
    monkeypatch.setattr(sim, "_TILE_BYTES", 8)  # 64 B rows per tile
    a_bits = np.zeros((1, 64), dtype=bool)
    a_bits[0, :10] = True
    b_bits = np.zeros((65, 64), dtype=bool)
    b_bits[0, :15] = True  # c = 10, s = 25: 20 / 25 = 0.8
    b_bits[1:, :8] = True  # c = 8, s = 20: 16 / 20 = 0.8
    b_bits[1:, 40:42] = True
    a, b = pack_bits(a_bits), pack_bits(b_bits)
    for k in (1, 3):
        ia, ib, sc = dice_all_pairs(a, b, 0.5, top_k=k)
        assert ib.tolist() == list(range(k)) and sc.tolist() == [0.8] * k


def test_deterministic_across_thread_counts():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs at least 2 numba threads")
    rng = np.random.default_rng(9)
    a, b = linked_pair(rng, 400, 300, 16)
    for kwargs in ({}, {"top_k": 2}):
        one = dice_all_pairs(a, b, 0.3, n_threads=1, **kwargs)
        two = dice_all_pairs(a, b, 0.3, n_threads=2, **kwargs)
        default = dice_all_pairs(a, b, 0.3, **kwargs)
        for x, y, z in zip(one, two, default):
            assert np.array_equal(x, y) and np.array_equal(x, z)
    d1 = dedup_all_pairs(a, 0.3, n_threads=1)
    d2 = dedup_all_pairs(a, 0.3, n_threads=2)
    assert all(np.array_equal(x, y) for x, y in zip(d1, d2))
    before = numba.get_num_threads()
    dice_all_pairs(a, b, 0.8, n_threads=1)
    assert numba.get_num_threads() == before  # restored


def test_zero_rows_never_match():
    f = np.zeros((4, 16), np.uint64)
    f[2, 0] = 1
    ia, ib, sc = dice_all_pairs(f, f, 1e-9)
    assert ia.tolist() == [2] and ib.tolist() == [2] and sc.tolist() == [1.0]
    assert len(jaccard_all_pairs(f[:2], f[:2], 1e-9)[0]) == 0
    assert len(dedup_all_pairs(f, 1e-9)[0]) == 0


@pytest.mark.parametrize(
    "shape_a, shape_b", [((0, 16), (5, 16)), ((5, 16), (0, 16)), ((0, 1), (0, 1)), ((3, 0), (2, 0))]
)
def test_empty_inputs(shape_a, shape_b):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**63, shape_a, dtype=np.uint64)
    b = rng.integers(0, 2**63, shape_b, dtype=np.uint64)
    for fn in (dice_all_pairs, jaccard_all_pairs):
        ia, ib, sc = fn(a, b, 0.5)
        assert ia.shape == ib.shape == sc.shape == (0,)
        assert ia.dtype == np.int64 and sc.dtype == np.float64
    empty = a if a.shape[0] == 0 or a.shape[1] == 0 else b
    ia, ib, sc = dedup_all_pairs(empty, 0.5)
    assert ia.shape == (0,) and sc.dtype == np.float64
    assert len(dedup_all_pairs(a[:1], 0.5)[0]) == 0  # a single record has no pairs


def test_precomputed_popcounts_give_same_result():
    rng = np.random.default_rng(11)
    a, b = linked_pair(rng, 100, 120, 16)
    plain = dice_all_pairs(a, b, 0.7)
    pre = dice_all_pairs(a, b, 0.7, popcounts_a=popcounts(a), popcounts_b=popcounts(b))
    assert all(np.array_equal(x, y) for x, y in zip(plain, pre))
    with pytest.raises(ValueError, match="popcounts_a"):
        dice_all_pairs(a, b, 0.7, popcounts_a=popcounts(a)[:-1])
    with pytest.raises(ValueError, match="outside"):
        dice_all_pairs(a, b, 0.7, popcounts_b=np.full(120, 5000))


# --------------------------------------------------------------------------- dedup


@pytest.mark.parametrize("words", [1, 8, 16, 17])
def test_dedup_equals_brute_force_upper_triangle(words, blocking):
    rng = np.random.default_rng(300 + words)
    a, b = linked_pair(rng, 120, 140, words)
    src = np.concatenate([a, b])  # contains near-duplicates and exact duplicates
    for metric in ("dice", "jaccard"):
        for t in (0.3, 0.8, 1.0):
            got = dedup_all_pairs(src, t, metric=metric)
            assert (got[0] < got[1]).all()
            assert_same(got, ref_dedup(src, t, metric))
    assert len(dedup_all_pairs(src, 0.8)[0]) > 0


@pytest.mark.parametrize("k", [1, 2])
def test_dedup_top_k(k, blocking):
    rng = np.random.default_rng(400 + k)
    a, b = linked_pair(rng, 80, 90, 16)
    src = np.concatenate([a, b, b[:10]])
    got = dedup_all_pairs(src, 0.3, top_k=k)
    assert (got[0] < got[1]).all()
    assert_same(got, ref_dedup(src, 0.3, top_k=k))


# ---------------------------------------------------------------------- validation


def test_input_validation_messages():
    f = np.zeros((3, 16), np.uint64)
    with pytest.raises(ValueError, match="uint64"):
        dice_all_pairs(f.astype(np.int64), f, 0.8)
    with pytest.raises(ValueError, match="uint64"):
        dice_all_pairs([[1]], f, 0.8)
    with pytest.raises(ValueError, match="2-dimensional"):
        dice_all_pairs(f[0], f, 0.8)
    with pytest.raises(IncompatibleEncodingsError, match="1024 bits"):
        dice_all_pairs(f, np.zeros((3, 8), np.uint64), 0.8)
    with pytest.raises(PplinkError):
        dice_pairs(f, np.zeros((3, 8), np.uint64), [0], [0])
    for bad in (0, 0.0, -0.1, 1.0001, float("nan"), "x", None):
        with pytest.raises(ValueError, match="threshold"):
            dice_all_pairs(f, f, bad)
        with pytest.raises(ValueError, match="threshold"):
            dedup_all_pairs(f, bad)
    for bad in (0, -1, 1.5, "2"):
        with pytest.raises(ValueError, match="top_k"):
            dice_all_pairs(f, f, 0.8, top_k=bad)
    with pytest.raises(ValueError, match="metric"):
        dedup_all_pairs(f, 0.8, metric="cosine")
    for bad in (0, -2, 10_000, 1.5):
        with pytest.raises(ValueError, match="n_threads"):
            dice_all_pairs(f, f, 0.8, n_threads=bad)
    with pytest.raises(ValueError, match="n_bits"):
        unpack_bits(f, 2000)


def test_non_contiguous_input_is_accepted():
    rng = np.random.default_rng(12)
    a, b = linked_pair(rng, 60, 70, 16)
    wide = np.concatenate([b, b], axis=1)[:, :16]  # not C-contiguous
    assert not wide.flags.c_contiguous
    assert_same(dice_all_pairs(a, wide, 0.6), ref_all_pairs(a, b, 0.6))


# ------------------------------------------------------------------- code generation


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86 assembly check")
def test_kernel_uses_hardware_popcount():
    import llvmlite.binding as llvm

    features = llvm.get_host_cpu_features()
    if not features.get("popcnt", False):
        pytest.skip("CPU without popcnt")
    # recompile without the on-disk cache, which disables assembly inspection
    fresh = numba.njit(sim._row_popcounts.py_func)
    fresh(np.zeros((1, 16), np.uint64))
    asm = "\n".join(fresh.inspect_asm().values())
    assert re.search(r"\b(v?popcnt[lq]?)\b", asm), "no popcnt instruction emitted"


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 40), widths=st.lists(st.integers(1, 4), min_size=1, max_size=5))
def test_dice_pairs_fields_equal_dice_pairs_per_field(seed, n, widths):
    from pplink.linkage.similarity import dice_pairs_fields

    rng = np.random.default_rng(seed)
    fields_a = [rng.integers(0, 2**63, size=(7, w), dtype=np.uint64) & rng.integers(0, 2**63, size=(7, w), dtype=np.uint64)
                for w in widths]
    fields_b = [f[rng.permutation(7)] ^ (rng.integers(0, 2**63, size=f.shape, dtype=np.uint64) & np.uint64(0xF00F))
                for f in fields_a]
    fields_b[0][0] = 0  # an empty filter
    ia, ib = rng.integers(0, 7, n), rng.integers(0, 7, n)
    spans = np.stack([np.r_[0, np.cumsum(widths)[:-1]], widths], axis=1)
    got = dice_pairs_fields(np.concatenate(fields_a, axis=1), np.concatenate(fields_b, axis=1), ia, ib, spans)
    assert got.shape == (n, len(widths))
    for f, (fa, fb) in enumerate(zip(fields_a, fields_b)):
        assert got[:, f].tolist() == dice_pairs(fa, fb, ia, ib).tolist()
