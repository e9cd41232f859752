"""Benchmark: all-pairs Dice search on Bloom filters, pplink vs anonlink (same data, same run).

Measures ``pplink.linkage.similarity.dice_all_pairs`` with 1 and 2 threads and anonlink 0.15.3
(``find_candidate_pairs`` with ``dice_coefficient_accelerated``, its C++ popcount kernel,
single-threaded) on the same filters, and reports comparisons per second
(``n_a * n_b / wall time``, median of several rounds) and the ratios. Each round times every
tool once, interleaved, so that load from other processes affects all of them alike.

anonlink is unmaintained and needs old packages, so it runs in a separate virtual
environment (``benchmarks/.venv-anchors``, see benchmarks/README.md); this script writes
the filters to temporary ``.npy`` files and starts itself in that environment as a
long-lived worker (``--anchor-worker``) that it asks for one timed run per round. Without
the anchor environment only pplink's figures are reported.

Usage (from the repository root, in the project venv):
    python benchmarks/bench_link.py                     # 20k x 20k, 1024 bits, t = 0.8
    python benchmarks/bench_link.py --n 10000 --repeats 3 --json benchmarks/results/link.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_ANCHOR_PYTHON = HERE / ".venv-anchors" / "bin" / "python"


# ----------------------------------------------------------------------------- data


def make_data(variant: str, n: int, n_bits: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two sets of packed filters (uint64, little-endian bit order), n rows each.

    ``random``: independent random filters, each row with its own density in [0.3, 0.5]
    (no true matches at t = 0.8). ``noisy``: B is a shuffled copy of A in which every
    filter has 2-10% of its bits flipped, so each A row has one true match (Dice ~0.85-0.97).
    """
    rng = np.random.default_rng(seed)
    a_bits = rng.random((n, n_bits)) < rng.uniform(0.3, 0.5, (n, 1))
    if variant == "random":
        b_bits = rng.random((n, n_bits)) < rng.uniform(0.3, 0.5, (n, 1))
    elif variant == "noisy":
        flips = rng.random((n, n_bits)) < rng.uniform(0.02, 0.10, (n, 1))
        b_bits = (a_bits ^ flips)[rng.permutation(n)]
    else:
        raise ValueError(f"unknown variant {variant!r}")

    def pack(bits: np.ndarray) -> np.ndarray:
        raw = np.packbits(bits, axis=1, bitorder="little")
        return np.ascontiguousarray(raw).view("<u8").astype(np.uint64)

    return pack(a_bits), pack(b_bits)


# ------------------------------------------------------------------- anchor worker


def anchor_worker(path_a: str, path_b: str, threshold: float) -> None:
    """Runs inside the anchor venv as a long-lived worker, driven over stdin/stdout.

    Loads the filters once (the conversion to bitarrays is not timed), prints a JSON
    "ready" line, then answers ``run`` (one timed anonlink search, prints its seconds and
    pair count) and ``pairs PATH`` (saves the last result's pairs) until ``quit``.
    """
    import anonlink
    from anonlink.candidate_generation import find_candidate_pairs
    from anonlink.similarities import dice_coefficient_accelerated
    from bitarray import bitarray

    def to_bitarrays(path: str) -> list:
        packed = np.load(path)
        raw = packed.astype("<u8").view(np.uint8).reshape(packed.shape[0], -1)
        out = []
        for row in raw:
            ba = bitarray(endian="little")
            ba.frombytes(row.tobytes())
            out.append(ba)
        return out

    a, b = to_bitarrays(path_a), to_bitarrays(path_b)
    print(json.dumps({"ready": True, "version": anonlink.__version__}), flush=True)
    result = None
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] == "run":
            t0 = time.perf_counter()
            result = find_candidate_pairs([a, b], dice_coefficient_accelerated, threshold)
            secs = time.perf_counter() - t0
            print(json.dumps({"seconds": secs, "n_pairs": len(result[0])}), flush=True)
        elif cmd[0] == "pairs" and result is not None:
            _sims, _dsets, (rec0, rec1) = result
            np.save(cmd[1], np.stack([np.asarray(rec0, dtype=np.int64), np.asarray(rec1, dtype=np.int64)]))
            print(json.dumps({"saved": cmd[1]}), flush=True)


class Anchor:
    """Client side of :func:`anchor_worker` (a subprocess in the anchor venv)."""

    def __init__(self, anchor_python: Path, a: np.ndarray, b: np.ndarray, threshold: float) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="pplink-bench-")
        pa, pb = (os.path.join(self.tmp.name, x) for x in ("a.npy", "b.npy"))
        np.save(pa, a)
        np.save(pb, b)
        cmd = [str(anchor_python), str(Path(__file__).resolve()), "--anchor-worker", pa, pb, str(threshold)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.version = self._ask(None)["version"]

    def _ask(self, command: str | None) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if command is not None:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"anchor worker failed:\n{err.strip()[-2000:]}")
        return json.loads(line)

    def run(self) -> tuple[float, int]:
        r = self._ask("run")
        return r["seconds"], r["n_pairs"]

    def pairs(self) -> np.ndarray:
        path = os.path.join(self.tmp.name, "pairs.npy")
        self._ask(f"pairs {path}")
        return np.load(path)

    def close(self) -> None:
        try:
            if self.proc.stdin:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
        self.tmp.cleanup()


def start_anchor(anchor_python: Path, a: np.ndarray, b: np.ndarray, threshold: float):
    """Start the anonlink worker; returns (Anchor, None) or (None, reason)."""
    if not anchor_python.exists():
        return None, (
            f"anchor environment not found ({anchor_python}); create it with:\n"
            "    python3 -m venv benchmarks/.venv-anchors\n"
            "    benchmarks/.venv-anchors/bin/pip install -r benchmarks/requirements-anchors.txt\n"
            "(reporting pplink's own figures only)"
        )
    try:
        return Anchor(anchor_python, a, b, threshold), None
    except (OSError, RuntimeError, KeyError, ValueError) as exc:
        return None, f"anchor environment unusable: {exc}"


# ------------------------------------------------------------------------ pplink


def kernel_asm_report(n_words: int = 16) -> str:
    """Which popcount instructions the compiled all-pairs block kernel contains.

    The block kernel (``_chunk``, with the tile kernel inlined into it) is recompiled
    without the on-disk cache, which disables assembly inspection, and run once on a
    tiny input so numba compiles it for the same argument types as the real search.
    """
    import numba

    from pplink.linkage import similarity as sim

    fresh = numba.njit(sim._chunk.py_func)
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2**63, (4, n_words), dtype=np.uint64)
    p = sim._row_popcounts(a)
    order = np.argsort(p, kind="stable")
    a_sorted, p_sorted = np.ascontiguousarray(a[order]), np.ascontiguousarray(p[order])
    cmin = sim._threshold_table(0, 0.5, 128 * n_words)
    wlo, whi = sim._windows(p_sorted, p_sorted, cmin)
    out_i, out_j, out_s = np.zeros(64, np.int64), np.zeros(64, np.int64), np.zeros(64)
    fresh(a_sorted, p_sorted, order.astype(np.int64), np.ascontiguousarray(a_sorted.T), p_sorted,
          order.astype(np.int64), wlo, whi, cmin, sim._suffix_min(cmin), 0, 0, 0, 4, 256, 0,
          out_i, out_j, out_s, 0, 64)
    asm = "\n".join(fresh.inspect_asm().values())
    counts = {ins: len(re.findall(rf"\b{ins}\b", asm)) for ins in ("vpopcntq", "popcntq", "popcntl")}
    regs = [r for r in ("zmm", "ymm", "xmm") if re.search(rf"%{r}\d", asm)]
    gathers = len(re.findall(r"\bvpgather", asm))
    found = ", ".join(f"{k} x{v}" for k, v in counts.items() if v) or "no popcount instruction"
    return f"{found}; vector registers: {'/'.join(regs) or 'none'}; gathers: {gathers}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20_000, help="records per side (default 20000)")
    p.add_argument("--bits", type=int, default=1024, help="filter length in bits (multiple of 64)")
    p.add_argument("--threshold", type=float, default=0.8)
    p.add_argument("--repeats", type=int, default=5, help="timed runs per tool (median is reported)")
    p.add_argument("--variants", default="random,noisy", help="comma list of: random, noisy")
    p.add_argument("--threads", default="1,2", help="pplink thread counts to measure")
    p.add_argument("--seed", type=int, default=20240)
    p.add_argument("--anchor-python", type=Path, default=DEFAULT_ANCHOR_PYTHON)
    p.add_argument("--no-anchor", action="store_true", help="skip anonlink")
    p.add_argument("--json", type=Path, help="also write the results as JSON here")
    p.add_argument("--anchor-worker", nargs=3, metavar=("A", "B", "T"),
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.anchor_worker:
        pa, pb, t = args.anchor_worker
        anchor_worker(pa, pb, float(t))
        return 0
    if args.bits % 64:
        p.error("--bits must be a multiple of 64")

    import numba

    from pplink.linkage.similarity import dice_all_pairs

    threads = [int(x) for x in args.threads.split(",") if int(x) <= numba.config.NUMBA_NUM_THREADS]
    n = args.n
    comps = float(n) * n
    print(f"pplink all-pairs Dice benchmark: {n} x {n}, {args.bits}-bit filters, threshold {args.threshold}")
    print(f"host: {platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"numba {numba.__version__} ({numba.config.NUMBA_NUM_THREADS} threads), numpy {np.__version__}")
    print(f"{args.repeats} rounds; each round times every tool once (interleaved, so background "
          "load hits all of them); median reported, best in brackets\n")

    report: dict = {"n": n, "bits": args.bits, "threshold": args.threshold, "repeats": args.repeats,
                    "variants": {}}

    def mps(secs: float) -> float:  # million comparisons per second
        return comps / secs / 1e6

    for variant in args.variants.split(","):
        a, b = make_data(variant, n, args.bits, args.seed)
        dice_all_pairs(a[:64], b[:64], args.threshold)  # JIT compile / load from cache
        anchor, why = (None, "anonlink skipped (--no-anchor)") if args.no_anchor else \
            start_anchor(args.anchor_python, a, b, args.threshold)
        times: dict[str, list[float]] = {f"pplink-{t}": [] for t in threads}
        if anchor is not None:
            times["anonlink"] = []
        anchor_pairs = None
        try:
            for _ in range(args.repeats):
                for t in threads:
                    t0 = time.perf_counter()
                    ia, ib, _sc = dice_all_pairs(a, b, args.threshold, n_threads=t)
                    times[f"pplink-{t}"].append(time.perf_counter() - t0)
                if anchor is not None:
                    secs, anchor_pairs = anchor.run()
                    times["anonlink"].append(secs)
            theirs_arr = anchor.pairs() if anchor is not None else None
        finally:
            if anchor is not None:
                anchor.close()

        row: dict = {"pplink_pairs": int(len(ia))}
        print(f"[{variant}] candidate pairs found by pplink: {len(ia)}")
        for key, ts in times.items():
            med = statistics.median(ts)
            row[key] = {"median_s": med, "times": ts, "mcomp_per_s": mps(med)}
            label = f"pplink   {key.split('-')[1]} thread(s)" if key.startswith("pplink") else \
                f"anonlink {anchor.version if anchor else ''} 1 thread"
            print(f"  {label:<28} {mps(med):8.1f} M comparisons/s (median {med:.3f} s, best {mps(min(ts)):.1f})")
        if anchor is None:
            print("  " + str(why).replace("\n", "\n  "))
        else:
            anc = row["anonlink"]["mcomp_per_s"]
            row["anonlink"]["version"] = anchor.version
            row["anonlink"]["pairs"] = anchor_pairs
            same_count = anchor_pairs == len(ia)
            theirs = {(int(x), int(y)) for x, y in zip(theirs_arr[0], theirs_arr[1])}
            ours = {(int(x), int(y)) for x, y in zip(ia, ib)}
            row["same_pair_count"] = same_count
            row["same_pair_set"] = theirs == ours
            print(f"  sanity: pair count pplink {len(ia)} vs anonlink {anchor_pairs} -> "
                  f"{'same' if same_count else 'DIFFERENT'}; "
                  f"pair sets {'identical' if theirs == ours else 'DIFFER'}")
            for t in threads:
                ratio = row[f"pplink-{t}"]["mcomp_per_s"] / anc
                row[f"pplink-{t}"]["ratio_vs_anonlink"] = ratio
                print(f"  ratio pplink {t} thread(s) / anonlink 1 thread: {ratio:5.2f}x (median vs median)")
        report["variants"][variant] = row
        print()
    asm = kernel_asm_report()
    report["kernel_asm"] = asm
    print(f"compiled block kernel: {asm}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str))
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
