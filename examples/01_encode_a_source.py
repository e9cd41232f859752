"""Data holder: standardise and encode one source (synthetic Wmo register).

Run: python examples/01_encode_a_source.py [OUTPUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pplink
from pplink.datasets import generate_municipality, mapping_path


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    sources = generate_municipality(n_persons=5_000, seed=1).write(out / "sources")
    key = out / "project.key"
    if not key.exists():
        pplink.write_secret_file(key)  # in a real project: once, shared with the other data holders
    secret = pplink.load_secret(key)

    result = pplink.encode(sources["wmo"], mapping=mapping_path("wmo"), secret=secret)
    pplink.write_encoded(result.encoded, out / "wmo.parquet")
    result.issues.to_csv(out / "wmo.rejects.csv", index=False)

    print(f"{result.n_input} rows: {result.encoded.n_records} encoded, {result.n_rejected} rejected")
    print(result.issues.groupby(["field", "reason"]).size().to_string() if len(result.issues) else "no issues")
    print(result.encoded.to_pandas().drop(columns=["clk"]).head(3).T)  # bytes, never plaintext


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
