"""The embedded engine against the Spark engine (local mode) on the same two encoded files.

    .venv/bin/python benchmarks/bench_spark.py                       # 20,000 + 20,000 records
    .venv/bin/python benchmarks/bench_spark.py --sizes 20000,100000  # growth
    .venv/bin/python benchmarks/bench_spark.py --sizes 100000 --master 'local[2]' --partitions 8

Each size generates a synthetic municipality (``pplink.datasets.generate_municipality``, the
data of ``bench_scale.py``: a Wmo-like register and a commercial-like file of about ``size``
records each, seeded), encodes both with ``pplink.encode_file`` into ``EncodedWriter`` files
(not timed), and then links the *same two encoded files* twice, each in a process of its own:

1. embedded — :func:`pplink.link` (``blocking="lsh"``, all other settings default);
2. spark — :func:`pplink.engines.spark.link_spark` with the same settings, Spark in local
   mode (``--master``, default ``local[2]``) with ``--partitions`` shuffle partitions.

Reported per engine: wall time of the link (reading the files included; for Spark the
session start is reported separately and not included), peak memory, the number of
candidates and LSH pairs, precision / recall / F1 against the generated truth, and whether
the two engines' links are identical (same pairs; probabilities and match weights within
1e-9). Peak memory: ``ru_maxrss`` of the embedded process; for Spark, the Python driver's
``ru_maxrss`` and the peak resident memory of the whole local-mode process tree (driver
JVM, which in local mode also runs the executors, plus the Python workers), sampled every
0.2 s. Spark needs PySpark and a Java runtime (``pip install 'pplink[spark]'``).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SOURCES = ("wmo", "commercial")


def _peak_gib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 2**20


def _generate_and_encode(size: int, seed: int, workdir: str, queue: mp.Queue) -> None:
    """Test data and its encodings (not timed), in a process of its own."""
    import pplink
    from pplink.datasets import generate_municipality, mapping_path
    from pplink.encode import encode_file
    from pplink.io import EncodedWriter
    from pplink.mapping import load_mapping

    warnings.simplefilter("ignore")  # shipped mappings leave some schema fields empty
    m = generate_municipality(n_persons=int(size / 0.74), seed=seed, coverage={"wmo": 0.74, "commercial": 0.95})
    paths = m.write(Path(workdir))
    truth = m.truth.astype({"record_id": str})
    pairs = truth[truth.source == "wmo"].merge(truth[truth.source == "commercial"], on="person_id")
    pd.DataFrame({"a_id": pairs.record_id_x, "b_id": pairs.record_id_y}).to_parquet(Path(workdir) / "true_links.parquet")
    secret = pplink.Secret.generate()
    n = {}
    for s in SOURCES:
        with EncodedWriter(Path(workdir) / f"{s}.parquet") as writer:
            _, n[s], _ = encode_file(paths[s], mapping=load_mapping(mapping_path(s)), secret=secret,
                                     on_chunk=lambda enc, _i, w=writer: w.write(enc))
    queue.put({"n_a": n["wmo"], "n_b": n["commercial"]})


def _link_embedded(workdir: str, queue: mp.Queue) -> None:
    import pplink

    t0 = time.perf_counter()
    result = pplink.link(Path(workdir) / "wmo.parquet", Path(workdir) / "commercial.parquet", blocking="lsh")
    seconds = time.perf_counter() - t0
    result.links.to_parquet(Path(workdir) / "links-embedded.parquet", index=False)
    queue.put({"seconds": seconds, "peak_gib": _peak_gib(), "stats": _plain(result.stats)})


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants (Linux ``/proc``)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    page = os.sysconf("SC_PAGE_SIZE")
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            pass
        todo.extend(children.get(pid, []))
    return total


class _PeakSampler:
    """Samples the resident memory of this process tree in a background thread."""

    def __init__(self, interval: float = 0.2) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_rss(os.getpid()))
            self._stop.wait(interval)

    def __enter__(self) -> _PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _link_spark(workdir: str, master: str, partitions: int, driver_memory: str, queue: mp.Queue) -> None:
    from pplink.engines.spark import link_spark, spark_session

    with _PeakSampler() as sampler:
        t0 = time.perf_counter()
        spark = spark_session(master, {
            "spark.sql.shuffle.partitions": str(partitions),
            "spark.default.parallelism": str(partitions),
            "spark.driver.memory": driver_memory,
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
        }, app_name="pplink-bench")
        spark.sparkContext.setLogLevel("ERROR")
        spark.range(1).count()  # the session is up
        t_start = time.perf_counter() - t0
        t1 = time.perf_counter()
        result = link_spark(spark, str(Path(workdir) / "wmo.parquet"), str(Path(workdir) / "commercial.parquet"),
                            blocking="lsh")
        seconds = time.perf_counter() - t1
        result.links.to_parquet(Path(workdir) / "links-spark.parquet", index=False)
        result.unpersist()
        spark.stop()
    queue.put({"seconds": seconds, "start_s": t_start, "driver_peak_gib": _peak_gib(),
               "tree_peak_gib": sampler.peak / 2**30, "stats": _plain(result.stats)})


def _plain(stats: dict[str, Any]) -> dict[str, Any]:
    keep = ("n_a", "n_b", "n_candidates", "n_lsh_pairs", "n_links", "match_threshold", "seconds")
    return {k: v for k, v in stats.items() if k in keep}


def _in_process(target: Any, *args: Any) -> dict[str, Any]:
    """Run ``target(*args, queue)`` in a fresh process and return what it puts on the queue."""
    import queue as queue_module

    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    p = ctx.Process(target=target, args=(*args, queue))
    p.start()
    while True:
        try:
            out = queue.get(timeout=5)
            break
        except queue_module.Empty:
            if not p.is_alive():
                raise RuntimeError(f"{target.__name__} failed (exit code {p.exitcode}); see its traceback above") from None
    p.join()
    return out


def identical_links(embedded: pd.DataFrame, spark: pd.DataFrame, tol: float = 1e-9) -> bool:
    """The same pairs, with probabilities and match weights within ``tol`` and equal scores.

    Example:
        >>> x = pd.DataFrame({"a_id": ["1"], "b_id": ["2"], "score": [0.9], "probability": [0.99],
        ...                   "match_weight": [12.0]})
        >>> identical_links(x, x.copy()), identical_links(x, x.assign(b_id="3"))
        (True, False)
    """
    if len(embedded) != len(spark):
        return False
    merged = embedded.merge(spark, on=["a_id", "b_id"], how="inner")
    if len(merged) != len(embedded):
        return False
    return bool(
        np.all(np.abs(merged.probability_x - merged.probability_y) <= tol)
        and np.all(np.abs(merged.match_weight_x - merged.match_weight_y) <= tol)
        and np.all(merged.score_x == merged.score_y)
    )


def run(size: int, workdir: Path, seed: int, master: str, partitions: int, driver_memory: str) -> dict[str, Any]:
    from pplink.linkage import pair_metrics

    data = _in_process(_generate_and_encode, size, seed, str(workdir))
    emb = _in_process(_link_embedded, str(workdir))
    spk = _in_process(_link_spark, str(workdir), master, partitions, driver_memory)
    truth = pd.read_parquet(workdir / "true_links.parquet")
    links_e = pd.read_parquet(workdir / "links-embedded.parquet")
    links_s = pd.read_parquet(workdir / "links-spark.parquet")
    me, ms = pair_metrics(links_e, truth), pair_metrics(links_s, truth)
    return {
        "size": size, "n_a": data["n_a"], "n_b": data["n_b"],
        "embedded_s": emb["seconds"], "spark_s": spk["seconds"], "spark_start_s": spk["start_s"],
        "embedded_peak_gib": emb["peak_gib"], "spark_driver_peak_gib": spk["driver_peak_gib"],
        "spark_tree_peak_gib": spk["tree_peak_gib"],
        "embedded_candidates": emb["stats"]["n_candidates"], "spark_candidates": spk["stats"]["n_candidates"],
        "embedded_lsh_pairs": emb["stats"].get("n_lsh_pairs"), "spark_lsh_pairs": spk["stats"].get("n_lsh_pairs"),
        "embedded_links": len(links_e), "spark_links": len(links_s),
        "embedded_f1": me["f1"], "spark_f1": ms["f1"], "precision": ms["precision"], "recall": ms["recall"],
        "identical": identical_links(links_e, links_s),
        "spark_stage_s": spk["stats"]["seconds"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="20000", help="comma-separated record counts per source")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    ap.add_argument("--partitions", type=int, default=8, help="spark.sql.shuffle.partitions (default 8)")
    ap.add_argument("--driver-memory", default="6g", help="spark.driver.memory (local mode: driver and executors)")
    args = ap.parse_args()
    rows = []
    for size in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="pplink-spark-bench-") as tmp:
            print(f"size {size:,} ...", flush=True)
            row = run(size, Path(tmp), args.seed, args.master, args.partitions, args.driver_memory)
            rows.append(row)
            print({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    df = pd.DataFrame(rows)
    print(f"\n{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; Spark {args.master}, "
          f"{args.partitions} shuffle partitions; times in seconds (linking only: data generation, encoding "
          "and the Spark session start not counted); peak memory in GiB\n")
    cols = ["n_a", "n_b", "embedded_s", "spark_s", "spark_start_s", "embedded_peak_gib", "spark_driver_peak_gib",
            "spark_tree_peak_gib", "embedded_candidates", "spark_candidates", "embedded_lsh_pairs",
            "spark_lsh_pairs", "embedded_f1", "spark_f1", "identical"]
    print(df[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("\nSpark / embedded:")
    for _, r in df.iterrows():
        print(f"  {int(r['n_a']):>9,} records: time x{r['spark_s'] / r['embedded_s']:.1f}, "
              f"driver memory x{r['spark_driver_peak_gib'] / r['embedded_peak_gib']:.2f}, "
              f"all Spark processes x{r['spark_tree_peak_gib'] / r['embedded_peak_gib']:.2f}; "
              f"links identical: {'yes' if r['identical'] else 'NO'}")
    if len(df) > 1:
        base = df.iloc[0]
        print("\ngrowth relative to the smallest size (1.00 = linear):")
        for _, r in df.iloc[1:].iterrows():
            factor = r["n_a"] / base["n_a"]
            print(f"  {int(r['n_a']):>9,} records: x{factor:.1f} records; embedded x{r['embedded_s'] / base['embedded_s']:.1f} "
                  f"time, spark x{r['spark_s'] / base['spark_s']:.1f} time")
    return 0 if df["identical"].all() else 1


if __name__ == "__main__":
    sys.exit(main())
