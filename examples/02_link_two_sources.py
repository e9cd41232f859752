"""Linkage unit: link two encoded files (no secret involved) and inspect the model.

Run: python examples/02_link_two_sources.py [OUTPUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

import pplink
from pplink.datasets import generate_municipality, mapping_path


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    # The data holders' part, compressed: two sources encoded with one project secret.
    municipality = generate_municipality(n_persons=8_000, seed=2)
    sources = municipality.write(out / "sources")
    secret = pplink.Secret.generate()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the commercial file has no BSN: expected
        for name in ("wmo", "commercial"):
            enc = pplink.encode(sources[name], mapping=mapping_path(name), secret=secret).encoded
            pplink.write_encoded(enc, out / f"{name}.parquet")

    # The linkage unit's part: encoded files only.
    result = pplink.link(out / "wmo.parquet", out / "commercial.parquet")
    print(f"{len(result.links)} links at match probability >= {result.match_threshold:.3f}")
    if result.threshold is not None:
        print(f"estimated precision {result.threshold.estimated_precision:.4f}, "
              f"recall {result.threshold.estimated_recall:.4f}")
    print(result.model.summary().round(4).to_string())
    result.links.to_csv(out / "links.csv", index=False)

    # Only in a demo: compare with the ground truth.
    truth = municipality.truth.astype({"record_id": str})
    pairs = truth[truth.source == "wmo"].merge(truth[truth.source == "commercial"], on="person_id")
    true_links = pairs.rename(columns={"record_id_x": "a_id", "record_id_y": "b_id"})[["a_id", "b_id"]]
    print(pplink.linkage.pair_metrics(result.links, true_links))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
