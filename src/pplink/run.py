"""The municipal pipeline end to end, with the three roles kept apart in files.

``pplink run PIPELINE.toml`` (and :func:`run_pipeline`) executes, in order:

1. **Data holders** — each source is standardised and encoded with its own mapping and the
   project secret (``encoded/<source>.parquet`` plus ``encoded/<source>.rejects.csv``).
2. **Linkage unit** — reads only the encoded files (no secret) and links all sources into
   entities and households (``linkage/clusters.csv``, ``linkage/links.csv``,
   ``linkage/summary.json``).
3. **Analyst** — joins the clusters with the pseudonymous attributes that travelled with the
   encodings (``analysis/linked.parquet``) and releases only policy-protected tables
   (``release/<table>.csv`` with ``release/<table>.report.json``/``.md``).

Each step reads only the previous step's outputs, so the same run can be split across
organisations by copying those files. ``pplink demo`` writes an example municipality and a
pipeline file for it, then runs it.

Pipeline file (paths relative to the file)::

    version = 1
    name = "enschede-demo"
    output = "."                     # where encoded/, linkage/, analysis/, release/ go
    schema = "nl-person"             # built-in name or a path
    secret_file = "keys/project.key" # data holders only; or the PPLINK_SECRET variable

    [[sources]]
    name = "wmo"
    input = "sources/wmo.csv"
    mapping = "wmo"                  # shipped mapping name or a path

    [link]
    blocking = "auto"

    [engine]                         # optional: where the linkage unit's step runs
    name = "local"                   # "local" (this process) or "spark" (pplink[spark])
    # master = "local[4]"            # spark only; leave out under spark-submit or in a notebook
    # [engine.conf]                  # spark only: Spark settings
    # "spark.sql.shuffle.partitions" = "64"

    [analysis]
    domain_sources = ["wmo", "participatie", "jeugd"]   # records that are service use
    profile_sources = ["commercial"]                     # entity-level attributes

    [[release.tables]]
    name = "clients_per_wijk"
    kind = "table"                   # or "stacking"
    by = ["wijk_code", "domain"]
    measure = "count"
    unit = "person"
    policy = "neighbourhood"
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pplink._toml import read_toml
from pplink.errors import ConfigError, SecretError

__all__ = ["PipelineResult", "run_pipeline", "write_demo", "load_pipeline"]


@dataclass
class PipelineResult:
    """Paths of everything a run wrote, plus headline figures."""

    output: Path
    encoded: dict[str, Path] = field(default_factory=dict)
    rejects: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    clusters: Path | None = None
    links: Path | None = None
    linked: Path | None = None
    tables: dict[str, Path] = field(default_factory=dict)
    reports: dict[str, Path] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    report: Path | None = None


def load_pipeline(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a pipeline TOML file."""
    p = Path(path)
    data = read_toml(p, "pipeline file")
    if data.get("version") != 1:
        raise ConfigError(f"pipeline file {p}: 'version = 1' is required")
    sources = data.get("sources")
    if not isinstance(sources, list) or not sources:
        raise ConfigError(f"pipeline file {p}: at least one [[sources]] table is required")
    names = set()
    for i, src in enumerate(sources):
        for key in ("name", "input", "mapping"):
            if not isinstance(src.get(key), str) or not src.get(key):
                raise ConfigError(f"pipeline file {p}: [[sources]] #{i + 1} needs '{key}'")
        if src["name"] in names:
            raise ConfigError(f"pipeline file {p}: source name {src['name']!r} is used twice")
        names.add(src["name"])
    return data


def _resolve(base: Path, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else base / path


def _mapping(base: Path, value: str) -> Any:
    from pplink.datasets import mapping_path
    from pplink.mapping import load_mapping

    candidate = _resolve(base, value)
    if candidate.suffix == ".toml" or candidate.exists():
        return load_mapping(candidate)
    return load_mapping(mapping_path(value))


def _schema(base: Path, value: str | None) -> Any:
    from pplink.schema import default_schema, load_schema

    if value is None:
        return default_schema()
    candidate = _resolve(base, value)
    if candidate.suffix == ".toml" or candidate.exists():
        return load_schema(candidate)
    return default_schema(value)


def _encode_sources(cfg: dict[str, Any], base: Path, out: Path, result: PipelineResult) -> list[Path]:
    from pplink.encode import encode_file
    from pplink.io import EncodedWriter, write_csv_atomic
    from pplink.keys import load_secret

    schema = _schema(base, cfg.get("schema"))
    secret_file = cfg.get("secret_file")
    try:
        secret = load_secret(_resolve(base, secret_file) if secret_file else None)
    except SecretError as exc:
        raise SecretError(f"{exc} (in a pipeline file: set secret_file = \"PATH\")") from None
    (out / "encoded").mkdir(parents=True, exist_ok=True)
    paths = []
    for src in cfg["sources"]:
        mapping = _mapping(base, src["mapping"])
        target = out / "encoded" / f"{src['name']}.parquet"
        rejects = out / "encoded" / f"{src['name']}.rejects.csv"
        with EncodedWriter(target) as writer, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            n_in, n_enc, issues = encode_file(
                _resolve(base, src["input"]), mapping=mapping, secret=secret, schema=schema,
                on_chunk=lambda enc, _i, w=writer: w.write(enc),
            )
        # e.g. "the schema encodes bsn, which this mapping does not produce": expected for a
        # commercial file, a typo elsewhere; reported, not hidden
        result.notes.extend(f"{src['name']}: {w.message}" for w in caught)
        write_csv_atomic(issues, rejects)
        result.encoded[src["name"]] = target
        result.rejects[src["name"]] = rejects
        n_rej = int((issues["action"] == "rejected").sum()) if len(issues) else 0
        result.counts[src["name"]] = {"rows": n_in, "encoded": n_enc, "rejected": n_rej,
                                      "fields_set_missing": int(len(issues) - n_rej)}
        paths.append(target)
    return paths


def _engine(cfg: dict[str, Any]) -> dict[str, Any]:
    """The checked ``[engine]`` table: ``name`` ("local" or "spark"), Spark ``master`` and ``conf``."""
    engine = cfg.get("engine", {})
    if not isinstance(engine, dict):
        raise ConfigError("[engine] must be a table, e.g. [engine] name = \"spark\"")
    unknown = set(engine) - {"name", "master", "conf"}
    if unknown:
        raise ConfigError(f"[engine] has unknown setting(s) {', '.join(sorted(unknown))}; use name, master, conf")
    name = engine.get("name", "local")
    if name not in ("local", "spark"):
        raise ConfigError(f"[engine] name must be \"local\" or \"spark\", not {name!r}")
    master, conf = engine.get("master"), engine.get("conf", {})
    if name == "local" and (master is not None or conf):
        raise ConfigError("[engine] master and conf apply only to name = \"spark\"")
    if master is not None and not isinstance(master, str):
        raise ConfigError("[engine] master must be a string such as \"local[4]\"")
    if not isinstance(conf, dict):
        raise ConfigError("[engine.conf] must be a table of Spark settings")
    return {"name": name, "master": master, "conf": {str(k): str(v) for k, v in conf.items()}}


def _link(cfg: dict[str, Any], encoded: list[Path], out: Path, result: PipelineResult) -> Any:
    from pplink.io import atomic_path, read_encoded, write_csv_atomic
    from pplink.linkage.pipeline import LinkSettings, link_many

    allowed = set(LinkSettings.__dataclass_fields__)
    link_cfg = dict(cfg.get("link", {}))
    unknown = set(link_cfg) - allowed
    if unknown:
        raise ConfigError(f"[link] has unknown setting(s) {', '.join(sorted(unknown))}")
    engine = _engine(cfg)
    settings = LinkSettings(**link_cfg)
    (out / "linkage").mkdir(parents=True, exist_ok=True)
    if engine["name"] == "spark":
        from pplink.engines.spark import link_many_spark, spark_session, write_via_driver

        spark = spark_session(engine["master"], engine["conf"])
        res = link_many_spark(spark, encoded, settings)  # the linkage unit sees encodings only
        write_via_driver(res.candidates, out / "linkage" / "candidates.parquet")
        res.unpersist()
        # the analysis step below joins the attributes on this machine
        data = [read_encoded(p) for p in encoded]
    else:
        data = [read_encoded(p) for p in encoded]  # the linkage unit sees encodings only
        res = link_many(data, settings)
        with atomic_path(out / "linkage" / "candidates.parquet") as tmp:
            res.candidates.to_parquet(tmp, index=False)
    result.clusters = out / "linkage" / "clusters.csv"
    result.links = out / "linkage" / "links.csv"
    write_csv_atomic(res.clusters, result.clusters)
    write_csv_atomic(res.links, result.links)
    summary = {
        "engine": engine["name"],
        "pairs": {f"{a}|{b}": st for (a, b), st in res.pairs.items()},
        "model": res.model.summary().to_dict("records"),
        "n_records": int(len(res.clusters)),
        "n_entities": int(res.clusters.entity_id.nunique()),
        "n_households": int(res.clusters.household_id.nunique()) if "household_id" in res.clusters else None,
    }
    with atomic_path(out / "linkage" / "summary.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    result.summary["linkage"] = summary
    return data, res


def build_linked_table(data: list[Any], clusters: pd.DataFrame, analysis: dict[str, Any]) -> pd.DataFrame:
    """One row per record of a domain source: entity, household, domain and attributes.

    Attributes of profile sources (e.g. income class from the commercial file) are attached to
    every record of the same entity, or — for people without a profile of their own, such as
    children — of the same household. Nothing identifying is involved: entity and household
    ids are pseudonyms made by the linkage.
    """
    frames = []
    for ds in data:
        attrs = ds.attributes.copy()
        attrs["source"] = ds.metadata.source
        attrs["record_id"] = ds.record_ids.astype(str)
        frames.append(attrs)
    records = pd.concat(frames, ignore_index=True).merge(
        clusters.astype({"record_id": str}), on=["source", "record_id"], how="left", validate="one_to_one")
    domain = analysis.get("domain_sources") or [d.metadata.source for d in data]
    profile = analysis.get("profile_sources", [])
    linked = records[records.source.isin(domain)].rename(columns={"source": "domain"})
    linked = linked.dropna(axis=1, how="all")  # attributes only other sources carry
    for src in profile:
        prof = records[records.source == src].drop(columns=["source", "record_id"], errors="ignore")
        prof = prof.dropna(axis=1, how="all")
        cols = [c for c in prof.columns if c not in ("entity_id", "household_id") and c not in linked.columns]
        if not cols:
            continue
        by_entity = prof.drop_duplicates("entity_id").set_index("entity_id")[cols]
        linked = linked.join(by_entity, on="entity_id")
        # people without a profile of their own (children, say) get their household's profile
        if "household_id" in prof.columns and "household_id" in linked.columns:
            by_household = prof.dropna(subset=["household_id"]).drop_duplicates("household_id").set_index("household_id")[cols]
            fallback = linked[["household_id"]].join(by_household, on="household_id")
            for c in cols:
                linked[c] = linked[c].fillna(fallback[c])
    for col in linked.columns:
        if linked[col].dtype == object:
            linked[col] = linked[col].fillna("onbekend") if col not in ("entity_id", "household_id") else linked[col]
    return linked.drop(columns=["record_id"]).reset_index(drop=True)


def _release(cfg: dict[str, Any], linked: pd.DataFrame, out: Path, result: PipelineResult) -> None:
    from pplink.errors import DisclosureError
    from pplink.io import atomic_path, write_csv_atomic
    from pplink.disclosure.api import release
    from pplink.disclosure.stacking import release_stacking

    tables = cfg.get("release", {}).get("tables", [])
    (out / "release").mkdir(parents=True, exist_ok=True)
    ledger = out / "release" / "ledger.sqlite"
    for spec in tables:
        name = spec["name"]
        policy = spec.get("policy", cfg.get("release", {}).get("policy", "cbs-remote-access"))
        try:
            if spec.get("kind", "table") == "stacking":
                res = release_stacking(linked, spec["area"], spec.get("service", "domain"), policy,
                                       unit=spec.get("unit", "household"), ledger=ledger,
                                       description=spec.get("description", name))
            else:
                res = release(linked, spec["by"], spec.get("measure", "count"), policy,
                              unit=spec.get("unit", "person"), hierarchies=spec.get("hierarchies"),
                              ledger=ledger, description=spec.get("description", name))
        except DisclosureError as exc:
            result.refused[name] = str(exc)
            continue
        table_path = out / "release" / f"{name}.csv"
        write_csv_atomic(res.public_table(), table_path)
        report_path = out / "release" / f"{name}.report.json"
        with atomic_path(report_path) as tmp:
            tmp.write_text(json.dumps(res.report.to_dict(), indent=2, default=str), encoding="utf-8")
        with atomic_path(out / "release" / f"{name}.report.md") as tmp:
            tmp.write_text(res.report.to_markdown(), encoding="utf-8")
        result.tables[name] = table_path
        result.reports[name] = report_path


def run_pipeline(path: str | os.PathLike[str], *, steps: tuple[str, ...] = ("encode", "link", "release")) -> PipelineResult:
    """Run a pipeline file (see the module docs); returns what was written where."""
    p = Path(path).resolve()
    cfg = load_pipeline(p)
    base = p.parent
    out = _resolve(base, cfg.get("output", "."))
    out.mkdir(parents=True, exist_ok=True)
    result = PipelineResult(output=out)
    encoded = (
        _encode_sources(cfg, base, out, result)
        if "encode" in steps
        else [out / "encoded" / f"{s['name']}.parquet" for s in cfg["sources"]]
    )
    if "link" not in steps:
        if "release" in steps:
            # the analyst's step on its own: release from the linked table of an earlier run
            linked_path = out / "analysis" / "linked.parquet"
            if not linked_path.exists():
                raise ConfigError(f"--steps release needs {linked_path} from an earlier run with the link step")
            result.linked = linked_path
            _release(cfg, pd.read_parquet(linked_path), out, result)
        return _report(out, result, cfg)
    data, res = _link(cfg, encoded, out, result)
    linked = build_linked_table(data, res.clusters, cfg.get("analysis", {}))
    (out / "analysis").mkdir(parents=True, exist_ok=True)
    result.linked = out / "analysis" / "linked.parquet"
    from pplink.io import atomic_path

    with atomic_path(result.linked) as tmp:
        linked.to_parquet(tmp, index=False)
    if "release" in steps:
        _release(cfg, linked, out, result)
    return _report(out, result, cfg)


def _report(out: Path, result: PipelineResult, cfg: dict[str, Any]) -> PipelineResult:
    """Write ``report.html`` (aggregates only) for whatever this run produced."""
    from pplink.report import write_report

    result.report = write_report(out, result, title=cfg.get("name"))
    return result


DEMO_PIPELINE = """\
# pplink demo pipeline: an example municipality (synthetic data, no real persons).
version = 1
name = "demo-municipality"
output = "."
schema = "nl-person"
secret_file = "keys/project.key"

[[sources]]
name = "wmo"
input = "sources/wmo.csv"
mapping = "wmo"

[[sources]]
name = "participatie"
input = "sources/participatie.csv"
mapping = "participatie"

[[sources]]
name = "jeugd"
input = "sources/jeugd.csv"
mapping = "jeugd"

[[sources]]
name = "commercial"
input = "sources/commercial.csv"
mapping = "commercial"

[link]
blocking = "auto"

[analysis]
domain_sources = ["wmo", "participatie", "jeugd"]
profile_sources = ["commercial"]

[[release.tables]]
name = "clients_per_wijk_per_domain"
description = "Clients (persons) per wijk and domain (Wmo, Jeugdwet, Participatiewet)"
by = ["wijk_code", "domain"]
measure = "count"
unit = "person"
policy = "neighbourhood"

[[release.tables]]
name = "domain_by_income_class"
description = "Clients (persons) per domain and income class"
by = ["domain", "income_class"]
measure = "count"
unit = "person"
policy = "cbs-remote-access"

[[release.tables]]
name = "stapeling_per_wijk"
kind = "stacking"
description = "Households by number of domains used (1, 2, 3+) per wijk"
area = "wijk_code"
service = "domain"
unit = "household"
policy = "neighbourhood"
"""


def write_demo(directory: str | os.PathLike[str], *, n_persons: int = 20_000, seed: int = 42) -> Path:
    """Write an example municipality's sources, a project secret and the demo pipeline file.

    The ground truth goes to ``ground-truth/`` (for evaluation only; the pipeline never reads it).
    Returns the pipeline file's path.
    """
    from pplink.datasets import generate_municipality
    from pplink.keys import write_secret_file

    out = Path(directory)
    (out / "sources").mkdir(parents=True, exist_ok=True)
    (out / "ground-truth").mkdir(parents=True, exist_ok=True)
    (out / "keys").mkdir(parents=True, exist_ok=True)
    m = generate_municipality(n_persons=n_persons, seed=seed)
    written = m.write(out / "sources")
    for key in ("truth", "population", "households", "readme"):
        if key in written:
            written[key].replace(out / "ground-truth" / written[key].name)
    key = out / "keys" / "project.key"
    if not key.exists():
        write_secret_file(key)
    pipeline = out / "pipeline.toml"
    pipeline.write_text(DEMO_PIPELINE, encoding="utf-8")
    return pipeline
