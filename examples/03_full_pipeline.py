"""The whole pipeline from one file: encode every source, link, release protected tables.

Run: python examples/03_full_pipeline.py [OUTPUT_DIR]
Equivalent to `pplink demo --output OUTPUT_DIR`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

from pplink.run import run_pipeline, write_demo


def main(out: Path) -> None:
    pipeline = write_demo(out, n_persons=6_000, seed=3)  # sources, a secret and pipeline.toml
    print(pipeline.read_text(encoding="utf-8"))
    result = run_pipeline(pipeline)
    for name, path in result.tables.items():
        print(f"\n== {name}")
        print(pd.read_csv(path).head(12).to_string(index=False))
    for name, why in result.refused.items():
        print(f"\n== {name} was refused: {why}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
