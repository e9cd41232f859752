"""End-to-end linking quality and invariants on encoded data (FEBRL4 and the synthetic municipality)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pplink
from pplink.datasets import generate_municipality, mapping_path
from pplink.errors import IncompatibleEncodingsError
from pplink.linkage.evaluate import cluster_metrics, pair_metrics
from pplink.linkage.pipeline import link, link_many

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def febrl(tmp_path_factory):
    from pplink.datasets import write_febrl4

    paths = write_febrl4(tmp_path_factory.mktemp("febrl"))
    secret = pplink.Secret.generate()
    kw = dict(mapping=ROOT / "examples/febrl/mapping.toml", schema=ROOT / "examples/febrl/schema.toml", secret=secret)
    a, b = pplink.encode(paths["a"], **kw), pplink.encode(paths["b"], **kw)
    truth = pd.read_csv(paths["truth"], dtype=str)
    return a.encoded, b.encoded, truth


def test_febrl4_quality_with_automatic_threshold(febrl):
    a, b, truth = febrl
    result = link(a, b)
    metrics = pair_metrics(result.links, truth)
    # issue target: F1 >= 0.995 without labels (cleartext Splink 0.999, recordlinkage ECM 0.9985)
    assert metrics["f1"] >= 0.995, metrics
    assert result.threshold is not None and 0 < result.match_threshold < 1
    assert abs(result.threshold.estimated_f1 - metrics["f1"]) < 0.02  # the model's estimate is honest


@pytest.mark.parametrize("solver", ["greedy", "optimal"])
def test_one_to_one_never_assigns_a_record_twice(febrl, solver):
    a, b, _ = febrl
    links = link(a, b, solver=solver, match_threshold=0.01).links
    assert links.a_id.is_unique and links.b_id.is_unique


def test_one_to_many_keeps_one_link_per_b(febrl):
    a, b, _ = febrl
    links = link(a, b, solver="one_to_many_b", match_threshold=0.01).links
    assert links.b_id.is_unique


@pytest.fixture(scope="module")
def municipality(tmp_path_factory):
    m = generate_municipality(n_persons=12_000, seed=11)
    paths = m.write(tmp_path_factory.mktemp("nl"))
    secret = pplink.Secret.generate()
    encoded = {s: pplink.encode(paths[s], mapping=mapping_path(s), secret=secret).encoded
               for s in ["wmo", "participatie", "jeugd", "commercial"]}
    return m, encoded


def _true_pairs(truth: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    t = truth.astype({"record_id": str})
    j = t[t.source == a].merge(t[t.source == b], on="person_id")
    return pd.DataFrame({"a_id": j.record_id_x, "b_id": j.record_id_y})


def test_municipal_sources_link_to_commercial_file(municipality):
    m, enc = municipality
    result = link_many([enc[s] for s in ["wmo", "participatie", "jeugd", "commercial"]])
    links = result.links
    for source in ["wmo", "participatie", "jeugd"]:
        mine = links[(links.source_a == source) & (links.source_b == "commercial")]
        metrics = pair_metrics(mine, _true_pairs(m.truth, source, "commercial"))
        # issue target F1 >= 0.98; Jeugd overlaps the (adult) commercial file on ~10 young
        # adults here, so one error moves its F1 by 0.05: it gets a looser, count-based bound
        # (benchmarks/bench_quality.py measures it on a large municipality)
        if source == "jeugd":
            assert metrics["fp"] + metrics["fn"] <= 4, (source, metrics)
        else:
            assert metrics["f1"] >= 0.98, (source, metrics)
    clusters = result.clusters
    # at most one record per source per entity
    assert not clusters.duplicated(["entity_id", "source"]).any()
    merged = clusters.merge(m.truth.astype({"record_id": str}), on=["source", "record_id"])
    assert len(merged) == len(clusters)
    assert cluster_metrics(merged.entity_id.to_numpy(), merged.person_id.to_numpy())["f1"] >= 0.98
    # households of the municipal clients (the purchased file's addresses are partly outdated,
    # so people known only there may sit at their old address)
    clients = merged[merged.source != "commercial"]
    hh = cluster_metrics(clients.household_id_x.to_numpy(), clients.household_id_y.to_numpy())
    assert hh["precision"] >= 0.95 and hh["recall"] >= 0.95, hh
    # one household per entity
    assert (clusters.groupby("entity_id").household_id.nunique() == 1).all()


def test_mismatched_keys_are_refused(municipality):
    _, enc = municipality
    other = pplink.encode_records([{"surname": "x"}], ids=["1"], secret=pplink.Secret.generate())
    with pytest.raises(IncompatibleEncodingsError, match="different secrets"):
        link(enc["wmo"], other)
    with pytest.raises(IncompatibleEncodingsError):
        link_many([enc["wmo"], other])


def test_dedup_finds_duplicates_within_a_source(municipality):
    _, enc = municipality
    wmo = enc["wmo"]
    dup = wmo.take(np.arange(50))
    dup.record_ids = np.array([f"dup-{r}" for r in dup.record_ids], dtype=object)
    doubled = pplink.EncodedDataset.concat([wmo, dup])
    result = link_many([doubled], deduplicate=True)
    c = result.clusters.set_index("record_id").entity_id
    same = [c[r] == c[f"dup-{r}"] for r in wmo.record_ids[:50]]
    assert np.mean(same) >= 0.98


def test_no_candidates_gives_empty_links(secret):
    a = pplink.encode_records([{"surname": "jansen", "first_name": "anna"}], ids=["a"], secret=secret)
    b = pplink.encode_records([{"surname": "xyzzy", "first_name": "qq"}], ids=["b"], secret=secret)
    result = link(a, b, token_blocking=False)
    assert result.links.empty and list(result.links.columns) == ["a_id", "b_id", "score", "probability", "match_weight"]


def test_hardened_encodings_still_link(febrl, tmp_path):
    # balancing is applied at encoding time; linking needs no change
    _, _, truth = febrl
    from pplink.datasets import write_febrl4

    paths = write_febrl4(tmp_path)
    schema = pplink.load_schema(ROOT / "examples/febrl/schema.toml")
    schema = dataclasses.replace(schema, hardening=pplink.schema.Hardening(balance=True))
    secret = pplink.Secret.generate()
    a = pplink.encode(paths["a"], mapping=ROOT / "examples/febrl/mapping.toml", schema=schema, secret=secret)
    b = pplink.encode(paths["b"], mapping=ROOT / "examples/febrl/mapping.toml", schema=schema, secret=secret)
    assert pair_metrics(link(a.encoded, b.encoded).links, truth)["f1"] >= 0.99


def test_labelled_sample_mode(febrl):
    a, b, truth = febrl
    rng = np.random.default_rng(0)
    sample = truth.sample(300, random_state=1)
    # reviewed sample: 300 true pairs plus 300 random (non-matching) pairs
    non = pd.DataFrame({"a_id": rng.choice(a.record_ids, 300), "b_id": rng.choice(b.record_ids, 300)})
    labels = pd.concat([sample.assign(match=True), non.assign(match=False)], ignore_index=True)
    result = link(a, b, labels=labels)
    assert result.stats["labelled_pairs"] == 600
    assert pair_metrics(result.links, truth)["f1"] >= 0.995
    with pytest.raises(pplink.ConfigError, match="not in the inputs"):
        link(a, b, labels=pd.DataFrame({"a_id": ["nope"] * 20, "b_id": ["x"] * 20, "match": [True] * 20}))


@pytest.mark.parametrize("overrides, name", [
    ({"match_threshold": "x"}, "match_threshold"),
    ({"levels": "x"}, "levels"),
    ({"levels": (0.5, float("nan"))}, "levels"),
    ({"candidate_top_k": 2.5}, "candidate_top_k"),
    ({"candidate_top_k": 0}, "candidate_top_k"),
    ({"token_blocking": "yes"}, "token_blocking"),
    ({"lsh_bands": True}, "lsh_bands"),
    ({"lsh_bits_per_band": 65}, "lsh_bits_per_band"),
    ({"seed": "1"}, "seed"),
    ({"features": "surname"}, "features"),
    ({"min_match_probability": 0}, "min_match_probability"),
])
def test_link_settings_refuse_wrong_types_naming_the_setting(overrides, name):
    from pplink.errors import ConfigError
    from pplink.linkage.pipeline import LinkSettings

    with pytest.raises(ConfigError, match=name):
        LinkSettings(**overrides)
