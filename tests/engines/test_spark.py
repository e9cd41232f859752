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
    got = spark_candidates.select("a_id", "b_id", "score", "probability", "match_weight", "accepted").toPandas()
    assert len(got) == len(embedded)
    merged = embedded.merge(got, on=KEY_COLUMNS, how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged["_merge"].value_counts()
    assert np.max(np.abs(merged.probability_x - merged.probability_y).to_numpy(), initial=0.0) <= 1e-9
    assert np.max(np.abs(merged.match_weight_x - merged.match_weight_y).to_numpy(), initial=0.0) <= 1e-9
    assert (merged.score_x == merged.score_y).all()
    assert (merged.accepted_x == merged.accepted_y).all()


# statistics both engines report with the same value (not times, not the model's estimates)
EQUAL_STATS = ("n_a", "n_b", "blocking", "n_candidates", "n_lsh_pairs", "lsh_bits_per_band", "n_links",
               "match_threshold")


def _same_stats(embedded: dict, spark_stats: dict) -> None:
    """The same statistics (the Spark engine adds only ``engine``), equal where they must be."""
    assert set(spark_stats) - {"engine"} == set(embedded)
    assert spark_stats["engine"] == "spark"
    for key in EQUAL_STATS:
        assert spark_stats.get(key) == embedded.get(key), key
    assert spark_stats["estimated_precision"] == pytest.approx(embedded["estimated_precision"], rel=1e-9)
    assert spark_stats["estimated_recall"] == pytest.approx(embedded["estimated_recall"], rel=1e-9)
    np.testing.assert_allclose(np.concatenate(spark_stats["u"]), np.concatenate(embedded["u"]), rtol=1e-12)


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


@pytest.mark.parametrize(("n_a", "n_b", "density"), [(1, 1, 0.5), (3, 2, 0.5), (900, 700, 0.4), (2000, 2000, 0.5),
                                                      (500, 500, 0.0)])
def test_automatic_bits_per_band_equals_embedded(n_a, n_b, density):
    """Spark's automatic lsh_bits_per_band (from the sampled rows only) is auto_bits_per_band's (no Spark needed)."""
    from pplink.linkage.blocking import auto_bits_from_sample, auto_bits_per_band, auto_bits_sample

    rng = np.random.default_rng(n_a + n_b)
    a = np.packbits(rng.random((n_a, 1024)) < density, axis=1).view(np.uint64)
    # b: a noisy copy of some of a's rows (shared bits raise the agreement) plus random rows
    b = np.concatenate([a[: n_b // 2] ^ np.packbits(rng.random((n_b // 2, 1024)) < 0.05, axis=1).view(np.uint64),
                        np.packbits(rng.random((n_b - n_b // 2, 1024)) < density, axis=1).view(np.uint64)])
    for x, y in [(a, b), (a, a)]:
        expected = auto_bits_per_band(x, y, bits=1024, seed=7)
        drawn = auto_bits_sample(len(x), len(y), seed=7)
        got = 8 if drawn is None else auto_bits_from_sample(x[drawn[0]], y[drawn[1]], bits=1024, n_a=len(x),
                                                              n_b=len(y))
        assert got == expected
        if drawn is not None and 0 < density:  # the rule: about max(n) unrelated pairs per band
            agree = 1 - np.unpackbits((x[drawn[0]] ^ y[drawn[1]]).view(np.uint8), axis=1).mean()
            assert got == min(64, max(8, int(np.ceil(np.log(max(len(x), len(y)) / (len(x) * len(y))) / np.log(agree)))))


def test_febrl_lsh_links_equal_embedded(spark, febrl):
    from pplink.engines.spark import link_spark

    embedded = link(febrl["a"], febrl["b"], blocking="lsh", u_sample=U_SAMPLE)
    result = link_spark(spark, febrl["a"], febrl["b"], blocking="lsh", u_sample=U_SAMPLE)
    try:
        assert result.stats["n_candidates"] == embedded.stats["n_candidates"] > 1000
        # LSH pairs before the Dice filter: more than pass it, fewer than all pairs
        assert result.stats["n_candidates"] < result.stats["n_lsh_pairs"] < 5000 * 5000 / 100
        _same_stats(embedded.stats, result.stats)
        assert result.match_threshold == embedded.match_threshold
        # the threshold was chosen from per-pattern probabilities with counts on Spark
        assert result.threshold is not None and embedded.threshold is not None
        assert result.threshold.n_links == embedded.threshold.n_links
        assert result.threshold.estimated_f1 == pytest.approx(embedded.threshold.estimated_f1, rel=1e-9)
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
            _same_stats(st, result.pairs[key])
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
        _same_stats(embedded.stats, result.stats)
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
        (key, st), = embedded.pairs.items()
        _same_stats(st, result.pairs[key])  # a self-join: every pair collides with itself too
        assert st["n_lsh_pairs"] > wmo.n_records
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


@pytest.fixture(scope="module")
def crowded(febrl, tmp_path_factory):
    """FEBRL records plus the LSH edge cases: a CLK held by 510 records of ``a`` (its buckets
    are over ``max_bucket`` in every band, on a's side), one held by 505 records of ``b`` (over
    on b's side), and four exact copies in ``b`` of an ``a`` record (equal scores: ``top_k``
    ties, broken by the lower b position)."""
    d = tmp_path_factory.mktemp("crowded")
    a, b = read_encoded(febrl["a"]).take(np.arange(1500)), read_encoded(febrl["b"]).take(np.arange(1500))

    def copies(ds, row: int, n: int, tag: str):
        extra = ds.take(np.full(n, row))
        extra.record_ids = np.array([f"{tag}-{i}" for i in range(n)], dtype=object)
        return extra

    a = pplink.EncodedDataset.concat([a, copies(a, 7, 510, "crowd-a")])
    b = pplink.EncodedDataset.concat([b, copies(b, 11, 505, "crowd-b")])
    ties = copies(a, 42, 4, "tie")
    ties.metadata = b.metadata
    b = pplink.EncodedDataset.concat([b, ties])
    paths = {"a": d / "a.parquet", "b": d / "b.parquet"}
    write_encoded(a, paths["a"])
    write_encoded(b, paths["b"])
    return paths


@pytest.mark.parametrize("overrides", [{"candidate_top_k": 2}, {"lsh_bits_per_band": 12, "candidate_top_k": None,
                                                                 "candidate_threshold": 0.75}])
def test_lsh_rule_equals_embedded_on_edge_cases(spark, crowded, overrides):
    """Spark's LSH gives lsh_dice_pairs' pairs and pair count: oversized buckets on either side
    skipped, each colliding pair counted once, Dice filter, top-k with ties by b position."""
    from pplink.engines.spark import _lsh_spark, _prepare, read_encoded_spark
    from pplink.linkage.blocking import auto_bits_per_band, lsh_dice_pairs
    from pplink.linkage.pipeline import LinkSettings

    s = LinkSettings(blocking="lsh", **overrides)
    a, b = read_encoded(crowded["a"]), read_encoded(crowded["b"])
    bits = a.metadata.clk_bits
    r = s.lsh_bits_per_band or auto_bits_per_band(a.clk, b.clk, bits=bits, seed=s.seed)
    expected = lsh_dice_pairs(a.clk, b.clk, s.candidate_threshold, bits=bits, top_k=s.candidate_top_k,
                              bands=s.lsh_bands, bits_per_band=r, seed=s.seed)
    A, B = (_prepare(spark, read_encoded_spark(spark, crowded[x])) for x in ("a", "b"))
    got = _lsh_spark(A, B, s, dedup=False)
    try:
        assert got.bits_per_band == r
        assert got.n_colliding == expected.n_colliding
        pairs = got.pairs.toPandas().sort_values(["ia", "ib"]).to_numpy()
        np.testing.assert_array_equal(pairs, np.column_stack([expected.ia, expected.ib]))
        crowd_a, crowd_b = np.r_[7, 1500:2010], np.r_[11, 1500:2005]
        assert not np.isin(pairs[:, 0], crowd_a).any() and not np.isin(pairs[:, 1], crowd_b).any()
        if s.candidate_top_k == 2:
            # record 42 of a has 4 exact copies in b (Dice 1, a tie): the two lowest positions stay
            kept = pairs[pairs[:, 0] == 42, 1]
            copies_in_b = np.flatnonzero((b.clk == a.clk[42]).all(axis=1))
            assert len(copies_in_b) == 4
            np.testing.assert_array_equal(np.sort(kept), copies_in_b[:2])
    finally:
        got.cached.unpersist()
        A.df.unpersist()
        B.df.unpersist()


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
