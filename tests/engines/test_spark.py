"""The Spark engine gives the embedded engine's results on the same input.

Spark runs in local mode (``local[2]``, one session for all tests, see ``conftest.py``); the
tests are skipped only when PySpark or Java is missing. To keep them quick the ``u`` sample
is 20,000 random pairs in both engines (the default is 200,000; the engines draw the same
pairs either way).
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pplink
from pplink.datasets import generate_municipality, mapping_path
from pplink.errors import ConfigError, IncompatibleEncodingsError
from pplink.io import read_encoded, read_source, write_encoded
from pplink.linkage.pipeline import link, link_many

ROOT = Path(__file__).resolve().parents[2]
U_SAMPLE = 20_000
KEY_COLUMNS = ["a_id", "b_id"]


def _same_links(embedded: pd.DataFrame, spark_links: pd.DataFrame, keys: list[str] = KEY_COLUMNS) -> None:
    assert list(spark_links.columns) == list(embedded.columns)
    merged = embedded.merge(spark_links, on=keys, how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    assert np.max(np.abs(merged.probability_x - merged.probability_y).to_numpy(), initial=0.0) <= 1e-9
    assert np.max(np.abs(merged.match_weight_x - merged.match_weight_y).to_numpy(), initial=0.0) <= 1e-9
    assert (merged.score_x == merged.score_y).all()


def _same_candidates(embedded: pd.DataFrame, spark_candidates) -> None:
    got = spark_candidates.select("a_id", "b_id", "score", "probability", "accepted").toPandas()
    merged = embedded.merge(got, on=KEY_COLUMNS, how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged["_merge"].value_counts()
    assert np.max(np.abs(merged.probability_x - merged.probability_y).to_numpy(), initial=0.0) <= 1e-9
    assert (merged.accepted_x == merged.accepted_y).all()


# ------------------------------------------------------------------------------ data


@pytest.fixture(scope="module")
def febrl(tmp_path_factory):
    from pplink.datasets import write_febrl4

    d = tmp_path_factory.mktemp("febrl")
    paths = write_febrl4(d)
    secret = pplink.Secret.generate()
    kw = dict(mapping=ROOT / "examples/febrl/mapping.toml", schema=ROOT / "examples/febrl/schema.toml", secret=secret)
    out = {"truth": paths["truth"]}
    for side in ("a", "b"):
        out[side] = d / f"{side}.parquet"
        write_encoded(pplink.encode(paths[side], **kw).encoded, out[side])
    return out


@pytest.fixture(scope="module")
def municipality(tmp_path_factory):
    d = tmp_path_factory.mktemp("nl")
    m = generate_municipality(n_persons=8000, seed=11)
    paths = m.write(d)
    secret = pplink.Secret.generate()
    files = {}
    for s in ["wmo", "participatie", "jeugd"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # shipped mappings leave some schema fields empty
            enc = pplink.encode(paths[s], mapping=mapping_path(s), secret=secret).encoded
        files[s] = d / f"{s}.parquet"
        write_encoded(enc, files[s])
    return {"files": files, "paths": paths, "secret": secret, "dir": d}


# ------------------------------------------------------------------------------ tests


def test_importing_pplink_never_imports_pyspark():
    code = "import sys, pplink, pplink.engines, pplink.engines.spark; assert 'pyspark' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_febrl_lsh_links_equal_embedded(spark, febrl):
    from pplink.engines.spark import link_spark

    embedded = link(febrl["a"], febrl["b"], blocking="lsh", u_sample=U_SAMPLE)
    result = link_spark(spark, febrl["a"], febrl["b"], blocking="lsh", u_sample=U_SAMPLE)
    try:
        assert result.stats["n_candidates"] == embedded.stats["n_candidates"] > 1000
        # every statistic the embedded engine reports (but the LSH pair count before pruning)
        assert set(embedded.stats) - {"n_lsh_pairs"} <= set(result.stats)
        assert result.match_threshold == embedded.match_threshold
        assert len(embedded.links) > 1000
        _same_links(embedded.links, result.links)
        _same_candidates(embedded.named_candidates, result.candidates)
        assert result.model.lambda_ == pytest.approx(embedded.model.lambda_, rel=1e-9)
        for m_s, m_e in zip(result.model.m_, embedded.model.m_, strict=True):
            np.testing.assert_allclose(m_s, m_e, rtol=1e-9)
    finally:
        result.unpersist()


def test_labelled_sample_mode_equals_embedded(spark, febrl):
    from pplink.engines.spark import link_spark

    truth = pd.read_csv(febrl["truth"], dtype=str).sample(60, random_state=1)
    matches = truth[["a_id", "b_id"]].assign(match=True)
    others = pd.DataFrame({"a_id": matches.a_id.to_numpy(), "b_id": np.roll(matches.b_id.to_numpy(), 1), "match": False})
    labels = pd.concat([matches, others], ignore_index=True)
    embedded = link(febrl["a"], febrl["b"], blocking="lsh", u_sample=U_SAMPLE, labels=labels)
    result = link_spark(spark, febrl["a"], febrl["b"], blocking="lsh", u_sample=U_SAMPLE, labels=labels)
    try:
        assert result.stats["labelled_pairs"] == 120
        _same_links(embedded.links, result.links)
    finally:
        result.unpersist()
    with pytest.raises(ConfigError, match="not in the inputs"):
        link_spark(spark, febrl["a"], febrl["b"], blocking="lsh", labels=labels.assign(a_id="nobody"))


def test_municipality_tokens_link_many_equals_embedded(spark, municipality):
    from pplink.engines.spark import link_many_spark

    files = list(municipality["files"].values())
    embedded = link_many(files, blocking="tokens", u_sample=U_SAMPLE)
    result = link_many_spark(spark, files, blocking="tokens", u_sample=U_SAMPLE)
    try:
        for key, st in embedded.pairs.items():
            assert result.pairs[key]["n_candidates"] == st["n_candidates"]
            assert result.pairs[key]["match_threshold"] == st["match_threshold"]
        assert len(embedded.links) > 10
        _same_links(embedded.links, result.links, ["source_a", "source_b", "a_id", "b_id"])
        merged = embedded.clusters.merge(result.clusters, on=["source", "record_id"], validate="one_to_one")
        assert len(merged) == len(embedded.clusters) == len(result.clusters)
        assert (merged.entity_id_x == merged.entity_id_y).all()
        assert (merged.household_id_x == merged.household_id_y).all()
        n_cand = result.candidates.count()
        assert n_cand == len(embedded.candidates)
    finally:
        result.unpersist()


def test_municipality_lsh_link_equals_embedded(spark, municipality):
    from pplink.engines.spark import link_spark

    a, b = municipality["files"]["wmo"], municipality["files"]["participatie"]
    embedded = link(a, b, blocking="lsh", u_sample=U_SAMPLE, match_threshold=0.05)
    result = link_spark(spark, a, b, blocking="lsh", u_sample=U_SAMPLE, match_threshold=0.05)
    try:
        assert result.stats["n_candidates"] == embedded.stats["n_candidates"]
        assert len(embedded.links) > 10
        _same_links(embedded.links, result.links)
        _same_candidates(embedded.named_candidates, result.candidates)
    finally:
        result.unpersist()


def test_dedup_equals_embedded(spark, municipality, tmp_path):
    from pplink.engines.spark import link_many_spark

    wmo = read_encoded(municipality["files"]["wmo"])
    dup = wmo.take(np.arange(30))
    dup.record_ids = np.array([f"dup-{r}" for r in dup.record_ids], dtype=object)
    path = tmp_path / "doubled.parquet"
    write_encoded(pplink.EncodedDataset.concat([wmo, dup]), path)
    embedded = link_many([path], deduplicate=True, blocking="lsh", u_sample=U_SAMPLE)
    result = link_many_spark(spark, [path], deduplicate=True, blocking="lsh", u_sample=U_SAMPLE)
    try:
        merged = embedded.clusters.merge(result.clusters, on=["source", "record_id"], validate="one_to_one")
        assert (merged.entity_id_x == merged.entity_id_y).all()
        c = result.clusters.set_index("record_id").entity_id
        assert np.mean([c[r] == c[f"dup-{r}"] for r in wmo.record_ids[:30]]) >= 0.95
    finally:
        result.unpersist()


def test_mismatched_fingerprints_are_refused(spark, municipality, febrl, tmp_path):
    from pplink.engines.spark import link_many_spark, link_spark

    other = pplink.encode_records([{"surname": "jansen"}], ids=["x"], secret=pplink.Secret.generate())
    other_path = tmp_path / "other.parquet"
    write_encoded(other, other_path)
    wmo = municipality["files"]["wmo"]
    with pytest.raises(IncompatibleEncodingsError, match="different secrets"):
        link(wmo, other_path)
    with pytest.raises(IncompatibleEncodingsError, match="different secrets"):
        link_spark(spark, wmo, other_path)
    with pytest.raises(IncompatibleEncodingsError):
        link_many_spark(spark, [wmo, other_path])
    with pytest.raises(IncompatibleEncodingsError, match="different (schemas|projects)"):
        link_spark(spark, wmo, febrl["a"])


def test_all_pairs_blocking_is_refused_on_spark(spark, febrl):
    from pplink.engines.spark import link_spark

    with pytest.raises(ConfigError, match="all-pairs"):
        link_spark(spark, febrl["a"], febrl["b"], blocking="all-pairs")


def _same_rows(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Equal per record id, column by column (missing = None or NaN on both sides)."""
    assert sorted(got.columns) == sorted(expected.columns)
    merged = expected.merge(got, on="record_id", suffixes=("_e", "_s"), validate="one_to_one")
    assert len(merged) == len(expected) == len(got)
    for col in expected.columns.drop("record_id"):
        a, b = merged[f"{col}_e"].tolist(), merged[f"{col}_s"].tolist()
        assert all((x is None or x != x) and (y is None or y != y) or x == y for x, y in zip(a, b, strict=True)), col


def _raw_wmo(municipality) -> pd.DataFrame:
    mapping = pplink.load_mapping(mapping_path("wmo"))
    raw = read_source(municipality["paths"]["wmo"], delimiter=mapping.delimiter, encoding=mapping.encoding)
    raw = raw.astype(object).where(raw.notna(), None)
    # problems the data holder's reader must report identically in both engines
    rid = mapping.record_id
    raw.loc[3, rid] = None                       # empty record id
    raw.loc[250, rid] = raw.loc[10, rid]         # duplicate id, far from the first copy
    raw.loc[20, rid] = raw.loc[21, rid]          # duplicate id, next to it (first seen later)
    date_col = next(f.column for f in mapping.fields if f.target == "birth_date")
    raw.loc[5, date_col] = "31-02-1980"          # impossible date: field set missing
    return raw


def test_encode_spark_equals_embedded_encoding(spark, municipality, tmp_path):
    from pplink.engines.spark import encode_spark, link_spark, write_encoded_spark

    secret = municipality["secret"]
    raw = _raw_wmo(municipality)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = pplink.encode(raw, mapping=mapping_path("wmo"), secret=secret)
        frame = spark.createDataFrame(raw, ", ".join(f"`{c}` string" for c in raw.columns))
        got = encode_spark(spark, frame, mapping_path("wmo"), None, secret, num_partitions=3)
    # the same records, byte for byte
    exp = expected.encoded.to_pandas()
    out = got.encoded.toPandas()
    assert list(out.columns) == list(exp.columns)  # the embedded writer's columns, in its order
    _same_rows(out, exp)
    assert got.metadata == expected.encoded.metadata
    # the same issues, with the same row numbers and reasons
    cols = ["row", "record_id", "field", "column", "reason", "action"]
    exp_issues = expected.issues[cols].sort_values(cols[:2], kind="stable").reset_index(drop=True)
    got_issues = got.issues.toPandas()[cols].sort_values(cols[:2], kind="stable").reset_index(drop=True)
    assert len(exp_issues) >= 4
    pd.testing.assert_frame_equal(got_issues.astype(object).where(got_issues.notna(), None),
                                  exp_issues.astype(object).where(exp_issues.notna(), None), check_dtype=False)
    # the written file is a standard encoded file that links like the embedded one
    path = tmp_path / "wmo-spark.parquet"
    assert write_encoded_spark(got, path) == expected.encoded.n_records
    back = read_encoded(path)
    assert back.metadata == expected.encoded.metadata
    _same_rows(back.to_pandas(), exp)
    partner = municipality["files"]["participatie"]
    links_file = link_spark(spark, path, partner, blocking="tokens", u_sample=U_SAMPLE)
    links_memory = link(back, partner, blocking="tokens", u_sample=U_SAMPLE)
    try:
        _same_links(links_memory.links, links_file.links)
    finally:
        links_file.unpersist()
