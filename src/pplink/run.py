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
import sqlite3
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from pplink._toml import load_config, read_toml
from pplink.errors import ConfigError, InputError, SecretError

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


_TOP_KEYS = frozenset({"version", "name", "output", "schema", "secret_file", "sources", "link", "engine", "analysis",
                       "release"})
_SOURCE_KEYS = frozenset({"name", "input", "mapping"})
_TABLE_KEYS = frozenset({"name", "kind", "description", "policy", "unit", "by", "measure", "hierarchies", "area",
                         "service"})


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _safe_name(value: str) -> bool:
    """A name that becomes a file name: no path separators, no leading dot, no control characters."""
    return bool(value) and not value.startswith(".") and not any(c in value for c in "/\\:") and value.isprintable()


def _check_link_settings(where: str, link_cfg: dict[str, Any]) -> None:
    """Type-check ``[link]`` against the fields of :class:`~pplink.linkage.pipeline.LinkSettings`."""
    import dataclasses

    from pplink.linkage.pipeline import LinkSettings

    fields = {f.name: f for f in dataclasses.fields(LinkSettings)}
    unknown = sorted(set(link_cfg) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: [link] has unknown setting(s) {', '.join(unknown)}; "
                          f"known: {', '.join(sorted(fields))}")
    defaults = LinkSettings()
    for key, value in link_cfg.items():
        default = getattr(defaults, key)
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int) or key == "candidate_top_k":
            ok = (isinstance(value, int) and not isinstance(value, bool)) or (value is None and default is None)
        elif isinstance(default, float) or key == "match_threshold":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif isinstance(default, tuple):
            ok = isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        elif key == "features":
            ok = _is_str_list(value)
        else:
            ok = isinstance(value, str)
        if not ok:
            expected = {bool: "true or false", int: "a whole number", float: "a number", tuple: "a list of numbers",
                        str: "a string"}.get(type(default), "a list of strings")
            raise ConfigError(f"{where}: [link] {key} must be {expected}, not {value!r}")
    try:
        LinkSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in link_cfg.items()})
    except ConfigError as exc:
        raise ConfigError(f"{where}: [link]: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: [link] is not valid ({exc})") from None


def _check_release(where: str, release: Any) -> None:
    if not isinstance(release, dict):
        raise ConfigError(f"{where}: [release] must be a table")
    unknown = sorted(set(release) - {"policy", "tables"})
    if unknown:
        raise ConfigError(f"{where}: [release] has unknown key(s) {', '.join(unknown)}; use policy and [[release.tables]]")
    if "policy" in release and not isinstance(release["policy"], str):
        raise ConfigError(f"{where}: [release] policy must be a preset name or a policy file path (a string)")
    tables = release.get("tables", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"{where}: release tables must be [[release.tables]] tables")
    names: set[str] = set()
    for i, spec in enumerate(tables):
        label = f"{where}: [[release.tables]] #{i + 1}"
        unknown = sorted(set(spec) - _TABLE_KEYS)
        if unknown:
            raise ConfigError(f"{label} has unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_TABLE_KEYS))}")
        name = spec.get("name")
        if not isinstance(name, str) or not _safe_name(name):
            raise ConfigError(f"{label} needs 'name', a file name without path separators (release/<name>.csv)")
        if name in names:
            raise ConfigError(f"{label}: table name {name!r} is used twice")
        names.add(name)
        kind = spec.get("kind", "table")
        if kind not in ("table", "stacking"):
            raise ConfigError(f"{label} ({name}): kind must be \"table\" or \"stacking\", not {kind!r}")
        for key in ("description", "policy", "measure", "area", "service"):
            if key in spec and not isinstance(spec[key], str):
                raise ConfigError(f"{label} ({name}): {key} must be a string")
        if spec.get("unit", "person") not in ("person", "household"):
            raise ConfigError(f"{label} ({name}): unit must be \"person\" or \"household\"")
        if kind == "table":
            if not _is_str_list(spec.get("by")):
                raise ConfigError(f"{label} ({name}): 'by' must be a non-empty list of column names")
            if not spec["by"]:
                raise ConfigError(f"{label} ({name}): 'by' must name at least one column")
            if "hierarchies" in spec and not isinstance(spec["hierarchies"], dict):
                raise ConfigError(f"{label} ({name}): hierarchies must be a table, e.g. {{ buurt_code = [\"wijk_code\"] }}")
        elif not isinstance(spec.get("area"), str) or not spec["area"]:
            raise ConfigError(f"{label} ({name}): a stacking table needs 'area' (a column name)")


def load_pipeline(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a pipeline TOML file: every key and type, before anything runs."""
    p = Path(path)
    data = read_toml(p, "pipeline file")
    where = f"pipeline file {p}"
    version = data.get("version")
    if version != 1 or isinstance(version, bool):
        raise ConfigError(f"{where}: 'version = 1' is required")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown top-level key(s) {', '.join(unknown)}; known: {', '.join(sorted(_TOP_KEYS))}")
    for key in ("name", "output", "schema", "secret_file"):
        if key in data and (not isinstance(data[key], str) or (key != "name" and not data[key])):
            raise ConfigError(f"{where}: '{key}' must be a {'string' if key == 'name' else 'non-empty string (a path)'}")
    sources = data.get("sources")
    if not isinstance(sources, list) or not sources:
        raise ConfigError(f"{where}: at least one [[sources]] table is required")
    names = set()
    for i, src in enumerate(sources):
        if not isinstance(src, dict):
            raise ConfigError(f"{where}: [[sources]] #{i + 1} must be a table with name, input and mapping")
        for key in ("name", "input", "mapping"):
            if not isinstance(src.get(key), str) or not src.get(key):
                raise ConfigError(f"{where}: [[sources]] #{i + 1} needs '{key}'")
        extra = sorted(set(src) - _SOURCE_KEYS)
        if extra:
            raise ConfigError(f"{where}: [[sources]] #{i + 1} has unknown key(s) {', '.join(extra)}; use name, input, mapping")
        if not _safe_name(src["name"]):
            raise ConfigError(
                f"{where}: [[sources]] #{i + 1}: name {src['name']!r} becomes a file name (encoded/<name>.parquet); "
                "use letters, digits, '-' or '_' without path separators"
            )
        if src["name"] in names:
            raise ConfigError(f"{where}: source name {src['name']!r} is used twice")
        names.add(src["name"])
    link_cfg = data.get("link", {})
    if not isinstance(link_cfg, dict):
        raise ConfigError(f"{where}: [link] must be a table of LinkSettings fields")
    _check_link_settings(where, link_cfg)
    try:
        _engine(data)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    analysis = data.get("analysis", {})
    if not isinstance(analysis, dict):
        raise ConfigError(f"{where}: [analysis] must be a table")
    extra = sorted(set(analysis) - {"domain_sources", "profile_sources"})
    if extra:
        raise ConfigError(f"{where}: [analysis] has unknown key(s) {', '.join(extra)}; use domain_sources, profile_sources")
    for key in ("domain_sources", "profile_sources"):
        if key in analysis and not _is_str_list(analysis[key]):
            raise ConfigError(f"{where}: [analysis] {key} must be a list of source names")
    _check_release(where, data.get("release", {}))
    return data


def _resolve(base: Path, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else base / path


def _mapping(base: Path, value: str) -> Any:
    from pplink.datasets import mapping_path
    from pplink.mapping import load_mapping

    candidate = _resolve(base, value)
    if candidate.suffix == ".toml" or candidate.exists():
        return load_config(load_mapping, candidate, "mapping file")
    return load_mapping(mapping_path(value))


def _schema(base: Path, value: str | None) -> Any:
    from pplink.schema import default_schema, load_schema

    if value is None:
        return default_schema()
    candidate = _resolve(base, value)
    if candidate.suffix == ".toml" or candidate.exists():
        return load_config(load_schema, candidate, "schema file")
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
    # every mapping and input is checked before the first file is written
    from pplink.mapping import check_source

    mappings = {src["name"]: _mapping(base, src["mapping"]) for src in cfg["sources"]}
    for src in cfg["sources"]:
        check_source(_resolve(base, src["input"]), mappings[src["name"]])
    (out / "encoded").mkdir(parents=True, exist_ok=True)
    paths = []
    for src in cfg["sources"]:
        mapping = mappings[src["name"]]
        target = out / "encoded" / f"{src['name']}.parquet"
        rejects = out / "encoded" / f"{src['name']}.rejects.csv"
        with EncodedWriter(target) as writer, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            n_in, n_enc, issues = encode_file(
                _resolve(base, src["input"]), mapping=mapping, secret=secret, schema=schema,
                on_chunk=lambda enc, _i, w=writer: w.write(enc),
            )
            # the issues report first: the encoded file appears only once both are complete
            write_csv_atomic(issues, rejects)
        # e.g. "the schema encodes bsn, which this mapping does not produce": expected for a
        # commercial file, a typo elsewhere; reported, not hidden
        result.notes.extend(f"{src['name']}: {w.message}" for w in caught)
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
    settings = LinkSettings(**{k: tuple(v) if isinstance(v, list) else v for k, v in link_cfg.items()})
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
        except sqlite3.DatabaseError as exc:
            raise InputError(
                f"release ledger {ledger}: not a pplink release ledger or damaged ({exc}); restore it from a backup "
                "(never delete it: it stops differencing with earlier releases)"
            ) from None
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
    if out.exists() and not out.is_dir():
        raise ConfigError(f"pipeline file {p}: output {out} is a file; it must be a directory (created if needed)")
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
            from pplink.io import read_table

            _release(cfg, read_table(linked_path, what="analyst's table"), out, result)
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
