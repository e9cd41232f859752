"""Encoding throughput: pplink vs clkhash on the same records, in the same run.

    .venv/bin/python benchmarks/bench_encode.py [--n 100000] [--repeats 3]

pplink runs in the project's environment; clkhash (unmaintained since 2023, pins
cryptography < 41) runs in the anchors' virtual environment (see benchmarks/README.md):

    python3 -m venv benchmarks/.venv-anchors
    benchmarks/.venv-anchors/bin/pip install -r benchmarks/requirements-anchors.txt

Both encode the same normalised fields into a 1024-bit CLK with the same q-grams and bits per
token; clkhash uses its default process pool (all cores). Reported: median records/s over
``--repeats`` runs and the ratio pplink / clkhash. Other modes are reported for context: the full
default schema (CLK + per-field filters + three HMAC token types) and the whole data-holder
path from a raw CSV (standardisation + encoding + Parquet).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import pplink
from pplink.schema import BloomField

HERE = Path(__file__).resolve().parent
CLK_FIELDS = ["first_name", "particle", "surname", "birth_date", "sex", "postcode", "house_number"]


def records(n: int, seed: int) -> pd.DataFrame:
    """Standardised person fields of ``n`` synthetic people (no real data)."""
    from pplink.datasets import generate_municipality

    pop = generate_municipality(n_persons=n, seed=seed).population
    std = pd.DataFrame(
        {
            "first_name": pop["voornamen"].str.lower(),
            "particle": pop["voorvoegsel"].fillna("").str.lower(),
            "surname": pop["geslachtsnaam"].str.lower(),
            "birth_date": pop["geboortedatum"].astype(str),
            "sex": pop["geslacht"].astype(str),
            "postcode": pop["postcode"].astype(str),
            "house_number": pop["huisnummer"].astype(str),
            "house_number_addition": pop["toevoeging"].fillna("").astype(str),
            "bsn": pop["bsn"].astype(str),
        }
    )
    return std.head(n).reset_index(drop=True)


def clk_only_schema() -> pplink.Schema:
    base = pplink.default_schema()
    fields = tuple(dataclasses.replace(f, bits=0) for f in base.fields if f.name in CLK_FIELDS)
    return dataclasses.replace(base, name="bench-clk-only", fields=fields, tokens=())


def time_it(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def run_clkhash(df: pd.DataFrame, schema: pplink.Schema, hash_type: str, repeats: int, workdir: Path) -> list[float] | None:
    python = HERE / ".venv-anchors" / "bin" / "python"
    if not python.exists():
        print(f"clkhash environment not found at {python}; create it as the module docstring says.")
        return None
    data = workdir / "fields.csv"
    df[CLK_FIELDS].to_csv(data, index=False)
    spec = {
        "bits": schema.clk_bits,
        "hash": hash_type,
        "repeats": repeats,
        "max_workers": None,
        "fields": [
            {"name": f.name, "k": f.clk_k, "q": f.q if f.tokenizer == "qgram" else 1, "positional": f.positional}
            for f in schema.clk_fields
        ],
    }
    spec_path = workdir / "spec.json"
    spec_path.write_text(json.dumps(spec))
    res = subprocess.run([str(python), str(HERE / "anchors" / "clkhash_encode.py"), str(data), str(spec_path)],
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        print("clkhash run failed:\n" + res.stderr[-2000:])
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])["seconds"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    print(f"generating {args.n:,} synthetic records ...", flush=True)
    df = records(args.n, args.seed)
    n = len(df)
    ids = np.arange(n).astype(str)
    secret = pplink.Secret.generate()
    clk_schema = clk_only_schema()
    full_schema = pplink.default_schema()
    # warm-up: JIT compilation is a one-off cost per machine (cached on disk)
    pplink.encode_records(df.head(1000), ids=ids[:1000], schema=full_schema, secret=secret)

    rows: list[tuple[str, float]] = []
    t_clk = time_it(lambda: pplink.encode_records(df, ids=ids, schema=clk_schema, secret=secret), args.repeats)
    rows.append(("pplink CLK only (same fields as clkhash)", statistics.median(t_clk)))
    t_full = time_it(lambda: pplink.encode_records(df, ids=ids, schema=full_schema, secret=secret), args.repeats)
    n_filters = sum(1 for f in full_schema.fields if f.bits)
    hardening = f", diffusion t={full_schema.hardening.diffusion}" if full_schema.hardening.diffusion else ""
    rows.append((f"pplink default schema (CLK + {n_filters} field filters + {len(full_schema.tokens)} HMAC tokens"
                 f"{hardening})", statistics.median(t_full)))

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        # whole data-holder path: raw-ish CSV -> standardise -> encode -> Parquet
        raw = df.rename(columns={"first_name": "voornaam", "surname": "achternaam", "particle": "tv"})
        raw_path = workdir / "raw.csv"
        raw.assign(id=ids).to_csv(raw_path, index=False)
        mapping = pplink.Mapping.from_dict({
            "version": 1, "source": {"name": "bench", "record_id": "id"},
            "fields": {
                "first_name": {"column": "voornaam", "parser": "name"},
                "particle": {"column": "tv", "parser": "particle"},
                "surname": {"column": "achternaam", "parser": "surname"},
                "birth_date": {"column": "birth_date", "parser": "date"},
                "sex": {"column": "sex", "parser": "sex"},
                "postcode": {"column": "postcode", "parser": "postcode"},
                "house_number": {"column": "house_number", "parser": "house_number"},
                "bsn": {"column": "bsn", "parser": "bsn"},
            },
        })

        def full_path() -> None:
            res = pplink.encode(raw_path, mapping=mapping, secret=secret)
            pplink.write_encoded(res.encoded, workdir / "out.parquet")

        t_path = time_it(full_path, args.repeats)
        rows.append(("pplink raw CSV -> standardise -> encode -> Parquet", statistics.median(t_path)))

        anchors = {}
        for hash_type in ("blakeHash", "doubleHash"):
            secs = run_clkhash(df, clk_schema, hash_type, args.repeats, workdir)
            if secs:
                anchors[hash_type] = statistics.median(secs)
                rows.append((f"clkhash 0.18.3 generate_clks ({hash_type}, process pool)", anchors[hash_type]))

    print(f"\n{n:,} records, 1024-bit CLK, {os.cpu_count()} cores, median of {args.repeats} runs\n")
    print(f"{'method':<70} {'seconds':>8} {'records/s':>11}")
    for name, secs in rows:
        print(f"{name:<70} {secs:8.2f} {n / secs:11,.0f}")
    if anchors:
        print()
        for hash_type, secs in anchors.items():
            print(f"ratio pplink CLK-only / clkhash {hash_type}: {secs / statistics.median(t_clk):.1f}x")
            print(f"ratio pplink default schema / clkhash {hash_type}: {secs / statistics.median(t_full):.1f}x")


if __name__ == "__main__":
    sys.exit(main())
