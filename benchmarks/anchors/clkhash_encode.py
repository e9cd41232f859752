"""Time clkhash's generate_clks on a CSV of normalised fields (runs in the anchors venv).

Usage: python clkhash_encode.py DATA.csv SPEC.json
SPEC: {"fields": [{"name": ..., "k": ..., "q": ..., "positional": bool}], "bits": 1024,
       "hash": "blakeHash" | "doubleHash", "repeats": 3, "max_workers": null}
Prints one JSON line: {"seconds": [...], "n": N, "popcount_mean": ...}.
"""

from __future__ import annotations

import csv
import json
import sys
import time

from clkhash import clk
from clkhash.schema import from_json_dict


def main() -> None:
    data_path, spec_path = sys.argv[1], sys.argv[2]
    spec = json.load(open(spec_path))
    with open(data_path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [row for row in reader]
    features = []
    for col in header:
        f = next(x for x in spec["fields"] if x["name"] == col)
        features.append(
            {
                "identifier": col,
                "format": {"type": "string", "encoding": "utf-8"},
                "hashing": {
                    "comparison": {"type": "ngram", "n": f["q"], "positional": f["positional"]},
                    "strategy": {"bitsPerToken": f["k"]},
                    "hash": {"type": spec["hash"]},
                },
            }
        )
    schema = from_json_dict(
        {
            "version": 3,
            "clkConfig": {
                "l": spec["bits"],
                "kdf": {"type": "HKDF", "hash": "SHA256", "keySize": 64,
                        "salt": "SCbL2zHNnmsckfzchsNkZY9XoHk96P/G5nUBrM7ybymlEFsMV6PAeDZCNp3rfNUPCtLDMOGQHG4pCQpfhiHCyA==",
                        "info": "c2NoZW1hX2V4YW1wbGU="},
            },
            "features": features,
        }
    )
    seconds = []
    out = None
    for _ in range(spec.get("repeats", 3)):
        t0 = time.perf_counter()
        out = clk.generate_clks(rows, schema, "benchmark secret", validate=False, max_workers=spec.get("max_workers"))
        seconds.append(time.perf_counter() - t0)
    pop = sum(b.count() for b in out) / max(len(out), 1)
    print(json.dumps({"seconds": seconds, "n": len(rows), "popcount_mean": pop}))


if __name__ == "__main__":
    main()
