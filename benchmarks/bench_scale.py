"""One machine, two large sources: encode, block, compare, decide, write links — timed per stage.

    .venv/bin/python benchmarks/bench_scale.py                 # 1,000,000 + 1,000,000 records
    .venv/bin/python benchmarks/bench_scale.py --sizes 100000,300000,1000000   # growth

Each size generates a synthetic municipality whose Wmo-like register and commercial-like
file both hold about ``size`` records (realistic errors, seeded), writes them as CSV (not
timed: that is the data holders' export), and then times the pipeline:

1. encode — the two data holders standardise and encode their CSV *in parallel processes*
   (as two organisations would), streaming in chunks, writing Parquet;
2. link — the linkage unit reads both encoded files and links them with Hamming-LSH and
   token blocking (candidates, comparison vectors, model, decision), writing links.parquet.

Reported: wall time per stage, peak resident memory (max over all processes), candidates,
precision / recall / F1 against the ground truth. Targets from the issue (2 cores, 24 GiB):
end to end <= 120 s, peak RSS <= 4 GiB, F1 >= 0.99 at 1M x 1M. Reference figures on
comparable cleartext data here: Splink + DuckDB about 225 s and 7.7 GB, recordlinkage about
1,040 s and 13.4 GB (shared/README.md; those tools are not run by this script).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

import pplink
from pplink.datasets import generate_municipality, mapping_path


def _encode_worker(source: str, csv_path: str, key_path: str, out_path: str, queue: mp.Queue) -> None:
    """One data holder: its own process, its own copy of the secret (read from the key file)."""
    from pplink.encode import encode_file
    from pplink.io import EncodedWriter, write_csv_atomic
    from pplink.mapping import load_mapping

    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    secret = pplink.load_secret(key_path)
    with EncodedWriter(out_path) as writer:
        n_in, n_enc, issues = encode_file(csv_path, mapping=load_mapping(mapping_path(source)), secret=secret,
                                          on_chunk=lambda enc, _i: writer.write(enc))
    write_csv_atomic(issues, out_path + ".rejects.csv")
    queue.put((source, n_in, n_enc, time.perf_counter() - t0,
               resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20))


def run(size: int, workdir: Path, seed: int) -> dict[str, float]:
    # ~0.74 of residents in the register and ~0.95 of adults in the commercial file
    n_persons = int(size / 0.74)
    t0 = time.perf_counter()
    m = generate_municipality(n_persons=n_persons, seed=seed, coverage={"wmo": 0.74, "commercial": 0.95})
    paths = m.write(workdir)
    truth = m.truth.astype({"record_id": str})
    pairs = truth[truth.source == "wmo"].merge(truth[truth.source == "commercial"], on="person_id")
    true_links = pd.DataFrame({"a_id": pairs.record_id_x, "b_id": pairs.record_id_y})
    n_a, n_b = len(m.sources["wmo"]), len(m.sources["commercial"])
    del m
    t_gen = time.perf_counter() - t0
    key = workdir / "project.key"
    pplink.write_secret_file(key, overwrite=True)

    # 1. encode: two data holders in parallel
    t0 = time.perf_counter()
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    procs = [
        ctx.Process(target=_encode_worker, args=(s, str(paths[s]), str(key), str(workdir / f"{s}.parquet"), queue))
        for s in ("wmo", "commercial")
    ]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    t_encode = time.perf_counter() - t0
    rss_encode = max(r[4] for r in results)

    # 2. link: the linkage unit, encoded files only
    t0 = time.perf_counter()
    a = pplink.read_encoded(workdir / "wmo.parquet")
    b = pplink.read_encoded(workdir / "commercial.parquet")
    t_read = time.perf_counter() - t0
    result = pplink.link(a, b, blocking="lsh")
    result.links.to_parquet(workdir / "links.parquet", index=False)
    t_link = time.perf_counter() - t0
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    metrics = pplink.linkage.pair_metrics(result.links, true_links)
    sec = result.stats["seconds"]
    return {
        "size": size, "n_a": n_a, "n_b": n_b, "generate_s": t_gen, "encode_s": t_encode,
        "read_s": t_read, "candidates_s": sec["candidates"], "compare_s": sec["compare"], "fit_s": sec["fit"],
        "decide_s": sec["decide"], "link_s": t_link, "total_s": t_encode + t_link,
        "peak_rss_gib": max(rss_encode, rss_self), "n_candidates": result.stats["n_candidates"],
        "precision": metrics["precision"], "recall": metrics["recall"], "f1": metrics["f1"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000000", help="comma-separated record counts per source")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    rows = []
    for size in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="pplink-scale-") as tmp:
            print(f"size {size:,} ...", flush=True)
            row = run(size, Path(tmp), args.seed)
            rows.append(row)
            print({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    df = pd.DataFrame(rows)
    print(f"\n{os.cpu_count()} cores; times in seconds (data generation and CSV export not counted)\n")
    cols = ["n_a", "n_b", "encode_s", "candidates_s", "compare_s", "fit_s", "decide_s", "link_s", "total_s",
            "peak_rss_gib", "n_candidates", "precision", "recall", "f1"]
    print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if len(df) > 1:
        base = df.iloc[0]
        print("\ngrowth relative to the smallest size (1.0 = linear):")
        for _, r in df.iloc[1:].iterrows():
            factor = r["n_a"] / base["n_a"]
            print(f"  {int(r['n_a']):>9,}: records x{factor:.1f}, time x{r['total_s'] / base['total_s']:.1f} "
                  f"-> {r['total_s'] / base['total_s'] / factor:.2f} of linear")
    last = df.iloc[-1]
    print(f"\ntargets at the largest size: total {last.total_s:.0f} s (<= 120), peak RSS {last.peak_rss_gib:.2f} GiB "
          f"(<= 4), F1 {last.f1:.4f} (>= 0.99)")
    print("reference (cleartext, shared/README.md): Splink + DuckDB ~225 s / 7.7 GB; recordlinkage ~1,040 s / 13.4 GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
