from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pplink
from pplink.errors import ConfigError
from pplink.mapping import Mapping, standardize_frame

BASE = {
    "version": 1,
    "source": {"name": "jeugd", "record_id": "dossier"},
    "fields": {
        "full_name": {"column": "naam", "parser": "full_name"},
        "birth_date": {"column": "geb", "parser": "date", "format": "dd-mm-yyyy"},
        "postcode": {"column": "pc", "parser": "postcode"},
        "house_number": {"column": "nr", "parser": "house_number"},
    },
    "attributes": {"service": "hulp"},
}


def frame(**cols):
    n = len(next(iter(cols.values()))) if cols else 1
    base = {"dossier": [str(i) for i in range(1, n + 1)], "naam": ["Jan de Vries"] * n, "geb": ["01-02-2010"] * n,
            "pc": ["7511 ab"] * n, "nr": ["12a"] * n, "hulp": ["jeugd-ggz"] * n}
    base.update(cols)
    return pd.DataFrame(base)


def test_fields_are_standardised_and_split():
    std = standardize_frame(frame(), Mapping.from_dict(BASE))
    row = std.fields.iloc[0].to_dict()
    assert row["first_name"] == "jan" and row["particle"] == "de" and row["surname"] == "vries"
    assert row["birth_date"] == "2010-02-01"
    assert row["postcode"] == "7511AB"
    assert row["house_number"] == "12" and row["house_number_addition"] == "A"
    assert std.attributes["service"].tolist() == ["jeugd-ggz"]
    assert std.issues.empty


def test_every_row_is_encoded_or_reported():
    df = frame(
        dossier=["1", "2", "2", "", "5", "6"],
        geb=["01-02-2010", "31-02-2010", "01-02-2010", "01-02-2010", "01-02-2010", "01-02-2010"],
        pc=["7511 ab", "7511 ab", "7511 ab", "7511 ab", "0123 AB", "7511 ab"],
        naam=["Jan de Vries"] * 5 + [""],
    )
    df.loc[5, ["geb", "pc", "nr"]] = None
    std = standardize_frame(df, Mapping.from_dict(BASE))
    issues = std.issues
    rejected = issues[issues.action == "rejected"]
    assert sorted(rejected.row.tolist()) == [3, 4, 6]  # duplicate id, empty id, nothing usable
    assert "duplicate record id (first seen in row 2)" in set(rejected.reason)
    fields_missing = issues[issues.action == "field_set_missing"]
    assert set(zip(fields_missing.row, fields_missing.field)) == {(2, "birth_date"), (5, "postcode")}
    assert len(std.record_ids) + len(rejected) == len(df)
    assert std.fields.loc[std.record_ids.tolist().index("2"), "birth_date"] is None
    # reasons never quote the raw value
    assert not any("31-02-2010" in r for r in issues.reason)


def test_strict_mode_rejects_the_row():
    spec = dict(BASE, source=dict(BASE["source"], strict=True))
    std = standardize_frame(frame(geb=["31-02-2010", "01-02-2010"]), Mapping.from_dict(spec))
    assert std.record_ids.tolist() == ["2"]
    assert std.issues.action.tolist() == ["rejected"]


def test_empty_particle_column_means_no_particle():
    spec = {
        "version": 1,
        "source": {"name": "wmo", "record_id": "id"},
        "fields": {
            "surname": {"column": "achternaam", "parser": "surname"},
            "particle": {"column": "tv", "parser": "particle"},
        },
    }
    df = pd.DataFrame({"id": ["1", "2"], "achternaam": ["Berg", "Jansen"], "tv": ["van den", None]})
    std = standardize_frame(df, Mapping.from_dict(spec))
    assert std.fields["particle"].tolist() == ["van den", ""]


def test_very_long_value_is_reported_not_crashing():
    std = standardize_frame(frame(naam=["Jan " + "a" * 10_000_000]), Mapping.from_dict(BASE))
    assert std.issues.reason.str.contains("longer than").any()


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"version": 2}, "version = 1"),
        ({"source": {"name": "x"}}, "record_id"),
        ({"fields": {"a": {"column": "c", "parser": "nope"}}}, "nope"),
        ({"fields": {"a": {"column": "c", "parser": "postcode", "pc4": True}}}, "pc4"),
        ({"fields": {"a": {"parser": "postcode"}}}, "needs 'column'"),
        ({"surprise": 1}, "surprise"),
        ({"source": {"name": "x", "record_id": "id", "encoding": "ebcdic"}}, "encoding"),
        (
            {"fields": {"full_name": {"column": "a", "parser": "full_name"}, "surname": {"column": "b", "parser": "surname"}}},
            "produced by more than one",
        ),
    ],
)
def test_invalid_mappings_are_explained(patch, message):
    with pytest.raises(ConfigError, match=message):
        Mapping.from_dict(dict(BASE, **patch))


def test_missing_columns_are_listed():
    with pytest.raises(ConfigError, match="lacks column"):
        standardize_frame(pd.DataFrame({"dossier": ["1"]}), Mapping.from_dict(BASE))


def test_encode_dataframe_end_to_end(secret):
    result = pplink.encode(frame(), mapping=Mapping.from_dict(BASE), secret=secret)
    assert result.encoded.n_records == 1 and result.n_rejected == 0
    assert result.encoded.token_present["address"].all()


def test_particle_column_and_inline_particle_merge():
    spec = {
        "version": 1,
        "source": {"name": "wmo", "record_id": "id"},
        "fields": {
            "particle": {"column": "tv", "parser": "particle"},
            "surname": {"column": "achternaam", "parser": "surname"},
        },
    }
    df = pd.DataFrame({"id": ["1", "2", "3"], "achternaam": ["Berg", "van Dijk", "Smit"], "tv": ["van den", None, None]})
    std = standardize_frame(df, Mapping.from_dict(spec))
    assert std.fields["particle"].tolist() == ["van den", "van", ""]
    assert std.fields["surname"].tolist() == ["berg", "dijk", "smit"]


def test_overlap_validation_does_not_depend_on_order():
    fields = {
        "particle": {"column": "tv", "parser": "particle"},
        "surname": {"column": "achternaam", "parser": "surname"},
        "full_name": {"column": "naam", "parser": "full_name"},
    }
    for order in (["surname", "particle", "full_name"], ["particle", "surname", "full_name"]):
        spec = dict(BASE, fields={k: fields[k] for k in order})
        with pytest.raises(ConfigError, match="more than one"):
            Mapping.from_dict(spec)


def test_identifying_columns_cannot_travel_in_clear():
    with pytest.raises(ConfigError, match="record_id column"):
        Mapping.from_dict(dict(BASE, source={"name": "x", "record_id": "naam"}))
    with pytest.raises(ConfigError, match="attribute"):
        Mapping.from_dict(dict(BASE, attributes={"service": "hulp", "who": "naam"}))


def test_bsn_like_record_ids_are_refused():
    from pplink.datasets._bsn import generate_bsns

    ids = generate_bsns(np.random.default_rng(1), 40)
    with pytest.raises(ConfigError, match="looks like BSNs"):
        standardize_frame(frame(dossier=list(ids), naam=["Jan de Vries"] * 40), Mapping.from_dict(BASE))


def test_missing_header_is_not_echoed():
    df = pd.DataFrame([["W0001", "123456782", "Jan", "01-02-2010", "7511AB", "1", "x"]],
                      columns=["W0001", "123456782", "Jan", "01-02-2010", "7511AB", "1", "x"])
    with pytest.raises(ConfigError) as info:
        standardize_frame(df, Mapping.from_dict(BASE))
    assert "123456782" not in str(info.value) and "Jan'" not in str(info.value)
    assert "header line" in str(info.value)


def test_header_only_with_merged_fields():
    spec = {
        "version": 1,
        "source": {"name": "wmo", "record_id": "id"},
        "fields": {
            "particle": {"column": "tv", "parser": "particle"},
            "surname": {"column": "achternaam", "parser": "surname"},
        },
    }
    std = standardize_frame(pd.DataFrame(columns=["id", "achternaam", "tv"]), Mapping.from_dict(spec))
    assert std.n_input == 0 and len(std.record_ids) == 0


def test_long_record_ids_and_attributes_are_reported():
    std = standardize_frame(frame(dossier=["x" * 2000, "2"], hulp=["a", "b" * 2000]), Mapping.from_dict(BASE))
    assert std.record_ids.tolist() == ["2"]
    assert set(std.issues.action) == {"rejected", "field_set_missing"}
    assert std.attributes["service"].tolist() == [None]
