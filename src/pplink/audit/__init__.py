"""Privacy audit: attack your own encodings the way an attacker without the key would.

Bloom-filter encodings leak even under keyed hashing, because the attacks below never need the
key: they use the frequencies, bit patterns and similarities of the encodings, plus a plaintext
*reference population* an attacker might hold (a population-register extract, a public name
list, another organisation's overlapping file). :func:`audit` runs them against an encoded file
and reports, per attack, the share of encoded records it re-identifies:

* ``frequency`` — frequency alignment of per-field filters with the reference's values
  (Christen et al., PAKDD 2017), see :func:`pplink.audit.frequency.frequency_attack`;
* ``pattern`` — q-gram/bit-position pattern mining and decoding of per-field filters (Christen
  et al., PAKDD 2017 and 2018), see :func:`pplink.audit.frequency.pattern_attack`;
* ``graph`` — similarity-graph matching of the CLKs (Vidanage et al., CIKM 2020) with seed
  propagation, see :func:`pplink.audit.graph.graph_attack`; with ``known_pairs`` also
  ``graph+known``, an attacker who already knows a few people in the file.

The threat model, the scoring and measured results are in docs/privacy-audit.md.

Example:
    >>> import pandas as pd, pplink
    >>> people = pd.DataFrame({"first_name": ["anna", "piet", "jan"] * 4,
    ...                        "surname": [f"name{i}" for i in range(12)]})
    >>> enc = pplink.encode_records(people, ids=[f"r{i}" for i in range(12)], secret=pplink.Secret.generate())
    >>> report = audit(enc, people, truth=[f"r{i}" for i in range(12)], attacks=["frequency"])
    >>> report.results[0].attack, report.overlap
    ('frequency', 1.0)
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from pplink.audit.frequency import frequency_attack, pattern_attack
from pplink.audit.graph import GraphSettings, graph_attack, graph_attacks
from pplink.audit.reference import Reference, attacker_encoding, available_fields
from pplink.audit.report import AttackResult, AuditReport
from pplink.encoded import EncodedDataset
from pplink.errors import ConfigError
from pplink.schema import Schema

__all__ = [
    "ATTACKS",
    "AttackResult",
    "AuditReport",
    "GraphSettings",
    "Reference",
    "attacker_encoding",
    "audit",
    "frequency_attack",
    "graph_attack",
    "pattern_attack",
]

#: The attacks :func:`audit` runs by default.
ATTACKS = ("frequency", "pattern", "graph")


def audit(
    encoded: EncodedDataset | str | os.PathLike[str],
    reference: Reference | pd.DataFrame,
    *,
    truth: Sequence[object] | np.ndarray | str | None = None,
    attacks: Sequence[str] = ATTACKS,
    known_pairs: int = 0,
    graph_settings: GraphSettings | None = None,
    seed: int = 0,
) -> AuditReport:
    """Run the attacks against an encoded file with a plaintext reference population.

    ``reference``: a :class:`Reference` or a DataFrame of standardised logical fields
    (``first_name``, ``surname``, ``birth_date``, ...; see docs/reference/standardization.md);
    columns the schema does not use are ignored and fields it lacks are simply not attacked.
    ``truth``: for a DataFrame, the encoded record id of the same person per reference row
    (or the name of a column holding it; empty = not in the encoded file); without it, the
    report can only count the attacks' claims. ``attacks``: a subset of :data:`ATTACKS`.
    ``known_pairs``: also run the graph attack seeded with this many known true pairs
    (reported as ``graph+known``). ``seed``: the attacker's own key and random choices.
    """
    from pplink.io import read_encoded

    enc = encoded if isinstance(encoded, EncodedDataset) else read_encoded(encoded)
    ref = reference if isinstance(reference, Reference) else Reference.from_frame(reference, truth=truth)
    unknown = [a for a in attacks if a not in ATTACKS]
    if unknown:
        raise ConfigError(f"unknown attack(s) {', '.join(unknown)}; choose from {', '.join(ATTACKS)}")
    schema = Schema.from_dict(enc.metadata.schema, source=f"metadata of {enc.metadata.source!r}")
    attacker = None
    if ref.n and enc.n_records and available_fields(schema, ref):
        attacker = attacker_encoding(ref, schema, seed=seed)
    results: list[AttackResult] = []
    if "frequency" in attacks:
        results.append(frequency_attack(enc, ref, attacker=attacker, seed=seed))
    if "pattern" in attacks:
        results.append(pattern_attack(enc, ref, attacker=attacker, seed=seed))
    if "graph" in attacks:
        gs = graph_settings or GraphSettings()
        results.extend(graph_attacks(enc, ref, settings=gs, seed=seed, known=(0, known_pairs) if known_pairs else (0,)))
    overlap = None
    if ref.truth is not None and enc.n_records:
        ids = {str(t) for t in ref.truth if t is not None}
        overlap = float(np.mean([str(r) in ids for r in enc.record_ids]))
    return AuditReport(
        source=enc.metadata.source,
        n_records=enc.n_records,
        n_reference=ref.n,
        overlap=overlap,
        schema=schema.name,
        hardening=dict(enc.metadata.schema.get("hardening", {})),
        results=results,
    )
