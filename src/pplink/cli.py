"""The ``pplink`` command line.

Secrets are read from ``--secret-file`` or the ``PPLINK_SECRET`` environment variable only;
there is deliberately no option that takes a secret value. Errors are printed as one clear
line (no traceback) and exit with status 2 for usage/input problems, 1 for other failures;
set ``PPLINK_DEBUG=1`` to see tracebacks of unexpected errors.

Example:
    >>> from click.testing import CliRunner
    >>> result = CliRunner().invoke(cli, ["--version"])
    >>> result.output.startswith("pplink")
    True
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from pplink import __version__
from pplink.errors import PplinkError

__all__ = ["cli", "main"]

_DEBUG_ENV = "PPLINK_DEBUG"


def _console(stderr: bool = True) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _reject_secret_value(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if value is not None:
        raise click.UsageError(
            "secrets are never accepted as command-line arguments (they would show in the process list "
            "and shell history); use --secret-file FILE or the PPLINK_SECRET environment variable"
        )


def _secret_options(func: Any) -> Any:
    func = click.option(
        "--secret-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="File with the project secret (from `pplink keygen`). Default: the PPLINK_SECRET environment variable.",
    )(func)
    func = click.option(
        "--secret", "--key", "secret_value", hidden=True, expose_value=False, callback=_reject_secret_value,
        is_eager=True,
    )(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pplink")
def cli() -> None:
    """Privacy-preserving record linkage for Dutch municipal data.

    Data holders run `keygen` (once per project) and `encode`; the linkage unit links the
    encoded files; analysts release protected aggregates.
    """


# ---------------------------------------------------------------------------------------
@cli.command()
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Secret file to create.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def keygen(output: Path, force: bool) -> None:
    """Create a new random project secret in OUTPUT (mode 0600).

    Share it with the other data holders over a secure channel; never with the linkage unit.
    """
    from pplink.keys import write_secret_file

    secret = write_secret_file(output, overwrite=force)
    click.echo(f"wrote a new secret to {output} (mode 0600)")
    click.echo("key fingerprint for project 'default': " + secret.fingerprint(project="default"))


# ---------------------------------------------------------------------------------------
@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--mapping", "mapping_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Source mapping TOML (columns -> logical fields).")
@click.option("--schema", "schema_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Schema TOML. Default: the built-in nl-person schema.")
@_secret_options
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Encoded Parquet file to write.")
@click.option("--rejects", "rejects_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Issues report CSV. Default: OUTPUT with suffix .rejects.csv.")
@click.option("--chunksize", default=200_000, show_default=True, type=click.IntRange(1000), help="Rows per chunk.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def encode(
    input_path: Path,
    mapping_path: Path,
    schema_path: Path | None,
    secret_file: Path | None,
    output: Path,
    rejects_path: Path | None,
    chunksize: int,
    quiet: bool,
) -> None:
    """Standardise and encode INPUT (CSV) into an encoded Parquet file.

    Every input row is either encoded or listed in the rejects report with its row number,
    field and reason; fields that could not be standardised are set to missing and reported.
    """
    from pplink.encode import encode_file
    from pplink.io import EncodedWriter, write_csv_atomic
    from pplink.keys import load_secret
    from pplink.mapping import load_mapping
    from pplink.schema import default_schema, load_schema

    mapping = load_mapping(mapping_path)
    schema = load_schema(schema_path) if schema_path else default_schema()
    secret = load_secret(secret_file)
    rejects_path = rejects_path or output.with_name(output.name.removesuffix(".parquet") + ".rejects.csv")
    progress = _progress(quiet, f"encoding {input_path.name}")
    with progress as bar, EncodedWriter(output) as writer:
        task = bar.add_task("encode", total=None)
        n_input, n_encoded, issues = encode_file(
            input_path,
            mapping=mapping,
            secret=secret,
            schema=schema,
            chunksize=chunksize,
            on_chunk=lambda enc, _i: writer.write(enc),
            progress=lambda rows: bar.update(task, advance=rows),
        )
    write_csv_atomic(issues, rejects_path)
    n_rejected = int((issues["action"] == "rejected").sum()) if len(issues) else 0
    n_fields = len(issues) - n_rejected
    click.echo(
        f"{input_path}: {n_input} rows read, {n_encoded} encoded, {n_rejected} rejected, "
        f"{n_fields} fields set to missing -> {output}"
    )
    click.echo(f"issues report: {rejects_path}")
    if n_input != n_encoded + n_rejected:  # pragma: no cover - an invariant, checked loudly
        raise PplinkError("internal error: rows lost between reading and encoding")


def _progress(quiet: bool, label: str) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(),
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        console=_console(),
        disable=quiet or not sys.stderr.isatty(),
        transient=True,
    )


# ---------------------------------------------------------------------------------------
@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def inspect(path: Path, as_json: bool) -> None:
    """Show an encoded file's metadata and bit statistics (never plaintext)."""
    from pplink.inspect import inspect_encoded

    report = inspect_encoded(path)
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    from rich.table import Table

    console = _console(stderr=False)
    meta = report["metadata"]
    console.print(f"[bold]{path}[/bold]: source {meta['source']!r}, {report['n_records']} records, pplink {meta['pplink_version']}")
    console.print(f"schema {meta['schema']['name']!r} fingerprint {meta['schema_fingerprint']}")
    console.print(f"key fingerprint {meta['key_fingerprint']}")
    console.print(f"hardening {json.dumps(meta['schema']['hardening'], sort_keys=True)}")
    table = Table("encoding", "bits", "present", "density mean", "density min", "density max")
    for name, s in report["filters"].items():
        table.add_row(name, str(s["bits"]), f"{s['present']:.1%}", f"{s['density_mean']:.3f}",
                      f"{s['density_min']:.3f}", f"{s['density_max']:.3f}")
    for name, s in report["tokens"].items():
        table.add_row(f"token {name}", "128", f"{s['present']:.1%}", "", "", "")
    console.print(table)
    if report["attributes"]:
        console.print("attributes: " + ", ".join(report["attributes"]))


# ---------------------------------------------------------------------------------------
def _write_table(df: Any, path: Path) -> None:
    from pplink.io import atomic_path, write_csv_atomic

    if path.suffix.lower() == ".parquet":
        with atomic_path(path) as tmp:
            df.to_parquet(tmp, index=False)
    else:
        write_csv_atomic(df, path)


def _write_json(data: Any, path: Path) -> None:
    from pplink.io import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str), encoding="utf-8")


@cli.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Links (two inputs) or clusters (--cluster) as .csv or .parquet.")
@click.option("--cluster", is_flag=True, help="Link all inputs into entities: source, record_id, entity_id, household_id.")
@click.option("--dedup", is_flag=True, help="With --cluster: also find duplicates within each source.")
@click.option("--solver", type=click.Choice(["greedy", "optimal", "one_to_many_a", "one_to_many_b", "none"]),
              default="greedy", show_default=True, help="How links are made one-to-one (per source pair, also with --cluster).")
@click.option("--threshold", type=click.FloatRange(0, 1), help="Fixed match-probability threshold (default: automatic).")
@click.option("--blocking", type=click.Choice(["auto", "all-pairs", "lsh", "tokens"]), default="auto", show_default=True)
@click.option("--summary", "summary_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Model and threshold summary JSON. Default: OUTPUT with suffix .summary.json.")
@click.option("--candidates", "candidates_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write every scored candidate pair (for pair completeness and review).")
@click.option("--engine", type=click.Choice(["local", "spark"]), default="local", show_default=True,
              help="local: in this process. spark: on Apache Spark (pip install 'pplink[spark]' and Java); "
                   "--blocking lsh or tokens there, auto means lsh.")
@click.option("--spark-master", metavar="URL",
              help="With --engine spark: the Spark master (default: local mode on all cores).")
@click.option("--spark-conf", "spark_conf", multiple=True, metavar="KEY=VALUE",
              help="With --engine spark: a Spark setting (repeatable), e.g. spark.sql.shuffle.partitions=64.")
@click.option("--quiet", is_flag=True, help="No progress display.")
def link(inputs: tuple[Path, ...], output: Path, cluster: bool, dedup: bool, solver: str, threshold: float | None,
         blocking: str, summary_path: Path | None, candidates_path: Path | None, engine: str,
         spark_master: str | None, spark_conf: tuple[str, ...], quiet: bool) -> None:
    """Link encoded files (linkage unit: no secret needed or accepted).

    Two inputs: links with columns a_id, b_id, score, probability, match_weight.
    With --cluster: entities across all inputs (at most one record per source per entity).
    Files encoded with different schemas or secrets are refused.
    """
    from pplink.linkage.pipeline import LinkSettings, link as link_pair, link_many
    from pplink.io import read_encoded

    if engine == "local" and (spark_master or spark_conf):
        raise click.UsageError("--spark-master and --spark-conf need --engine spark")
    if engine == "spark" and blocking == "all-pairs":
        raise click.UsageError("--blocking all-pairs runs only with --engine local; use lsh or tokens on Spark")
    conf = {}
    for item in spark_conf:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"--spark-conf takes KEY=VALUE, got {item!r}")
        conf[key.strip()] = value.strip()
    settings = LinkSettings(solver=solver, match_threshold=threshold, blocking=blocking)
    summary_path = summary_path or output.with_name(output.stem + ".summary.json")
    if cluster or len(inputs) != 2:
        if not cluster:
            raise click.UsageError("give exactly two inputs, or use --cluster for more")
    if engine == "spark":
        # the same results, computed on Spark; candidates stay a Spark DataFrame until written
        from pplink.engines.spark import link_many_spark, link_spark, spark_session, write_via_driver

        with _spinner(quiet, "linking on Spark"):
            spark = spark_session(spark_master, {"spark.ui.showConsoleProgress": "false", **conf})
            spark.sparkContext.setLogLevel("ERROR")
            if cluster:
                result = link_many_spark(spark, list(inputs), settings, deduplicate=dedup)
                table, spark_candidates = result.clusters, result.candidates
                summary = {
                    "inputs": [str(p) for p in inputs],
                    "engine": "spark",
                    "pairs": {f"{a}|{b}": st for (a, b), st in result.pairs.items()},
                    "model": result.model.summary().to_dict("records"),
                    "n_entities": int(table.entity_id.nunique()),
                }
            else:
                res = link_spark(spark, inputs[0], inputs[1], settings)
                table, spark_candidates = res.links, res.candidates.drop("ia", "ib")
                summary = {
                    "inputs": [str(p) for p in inputs],
                    "engine": "spark",
                    "stats": res.stats,
                    "model": res.model.summary().to_dict("records"),
                    "threshold_curve": res.threshold.curve.to_dict("records") if res.threshold else None,
                    "estimated_precision": res.stats.get("estimated_precision"),
                    "estimated_recall": res.stats.get("estimated_recall"),
                }
            _write_table(table, output)
            _write_json(summary, summary_path)
            if candidates_path is not None:
                write_via_driver(spark_candidates, candidates_path)
        _echo_link_result(cluster, table, summary, output, summary_path)
        return
    with _spinner(quiet, "linking"):
        data = [read_encoded(p) for p in inputs]
        if cluster:
            result = link_many(data, settings, deduplicate=dedup)
            table = result.clusters
            candidates = result.candidates
            summary = {
                "inputs": [str(p) for p in inputs],
                "pairs": {f"{a}|{b}": st for (a, b), st in result.pairs.items()},
                "model": result.model.summary().to_dict("records"),
                "n_entities": int(table.entity_id.nunique()),
            }
        else:
            res = link_pair(data[0], data[1], settings)
            table = res.links
            candidates = res.named_candidates
            summary = {
                "inputs": [str(p) for p in inputs],
                "stats": res.stats,
                "model": res.model.summary().to_dict("records"),
                "threshold_curve": res.threshold.curve.to_dict("records") if res.threshold else None,
                "estimated_precision": res.stats.get("estimated_precision"),
                "estimated_recall": res.stats.get("estimated_recall"),
            }
    _write_table(table, output)
    _write_json(summary, summary_path)
    if candidates_path is not None:
        _write_table(candidates, candidates_path)
    _echo_link_result(cluster, table, summary, output, summary_path)


def _echo_link_result(cluster: bool, table: Any, summary: dict[str, Any], output: Path, summary_path: Path) -> None:
    if cluster:
        click.echo(f"{len(table)} records in {table.entity_id.nunique()} entities -> {output}")
    else:
        st = summary["stats"]
        click.echo(
            f"{st['n_a']} x {st['n_b']} records, {st['n_candidates']} candidate pairs ({st['blocking']}), "
            f"{len(table)} links at match probability >= {st['match_threshold']:.3f} -> {output}"
        )
    click.echo(f"summary: {summary_path}")


def _spinner(quiet: bool, label: str) -> Any:
    import contextlib

    if quiet or not sys.stderr.isatty():
        return contextlib.nullcontext()
    return _console().status(label)


@cli.command()
@click.argument("links_path", metavar="LINKS", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--truth", "truth_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV with the true pairs (a_id,b_id), or for clusters: source,record_id,entity_id.")
@click.option("--candidates", "candidates_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Candidate pairs from `pplink link --candidates`: adds pair completeness and reduction ratio.")
@click.option("--summary", "summary_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The link summary JSON (for the input sizes). Default: LINKS with suffix .summary.json.")
@click.option("--json", "as_json", is_flag=True)
def evaluate(links_path: Path, truth_path: Path, candidates_path: Path | None, summary_path: Path | None,
             as_json: bool) -> None:
    """Precision, recall and F1 of links (or clusters) against the truth.

    With --candidates also pair completeness (share of true pairs among the candidates) and
    reduction ratio (share of all pairs never compared in detail).
    """
    import pandas as pd

    from pplink.linkage.evaluate import cluster_metrics, evaluate_links

    def read(p: Path) -> Any:
        if not p.exists():
            raise click.BadParameter(f"{p} does not exist")
        return pd.read_parquet(p) if p.suffix.lower() == ".parquet" else pd.read_csv(p, dtype=str)

    links, truth = read(links_path), read(truth_path)
    if {"source", "record_id", "entity_id"} <= set(links.columns):
        if "entity_id" not in truth.columns and "person_id" in truth.columns:
            truth = truth.rename(columns={"person_id": "entity_id"})
        if not {"source", "record_id", "entity_id"} <= set(truth.columns):
            raise click.BadParameter("cluster truth needs columns source, record_id and entity_id (or person_id)")
        merged = links.astype({"record_id": str}).merge(
            truth.astype({"record_id": str}), on=["source", "record_id"], suffixes=("", "_true"))
        metrics = cluster_metrics(merged["entity_id"].to_numpy(), merged["entity_id_true"].to_numpy())
    else:
        for frame, name in ((links, "links"), (truth, "truth")):
            if not {"a_id", "b_id"} <= set(frame.columns):
                raise click.BadParameter(f"{name} file needs columns a_id and b_id")
        metrics = evaluate_links(links.astype({"a_id": str, "b_id": str}), truth.astype({"a_id": str, "b_id": str}))
        if candidates_path is not None:
            from pplink.linkage.evaluate import blocking_metrics

            summary_path = summary_path or links_path.with_name(links_path.stem + ".summary.json")
            if not summary_path.exists():
                raise click.BadParameter(f"{summary_path} not found; pass --summary (written by `pplink link`)")
            stats = json.loads(summary_path.read_text(encoding="utf-8"))["stats"]
            cands = read(candidates_path).astype({"a_id": str, "b_id": str})
            metrics.update(blocking_metrics(cands[["a_id", "b_id"]], truth.astype({"a_id": str, "b_id": str}),
                                            int(stats["n_a"]), int(stats["n_b"])))
    if as_json:
        click.echo(json.dumps(metrics, indent=2, default=float))
    else:
        for k, v in metrics.items():
            click.echo(f"{k:>28}: {v:.4f}" if isinstance(v, float) else f"{k:>28}: {v}")


# ---------------------------------------------------------------------------------------
@cli.command()
@click.argument("linked", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--by", required=True, help="Comma-separated dimensions, e.g. wijk_code,domain.")
@click.option("--measure", default="count", show_default=True, help="count, sum:COLUMN or mean:COLUMN.")
@click.option("--policy", default="cbs-remote-access", show_default=True,
              help="Preset (cbs-remote-access, neighbourhood, strict) or a policy TOML file.")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="Table CSV to write (reports go next to it), or an existing directory.")
@click.option("--unit", type=click.Choice(["person", "household"]), default="person", show_default=True)
@click.option("--person-col", default="entity_id", show_default=True)
@click.option("--household-col", default="household_id", show_default=True)
@click.option("--hierarchy", multiple=True, help="DIM=COARSER1,COARSER2 (repeatable), e.g. buurt_code=wijk_code.")
@click.option("--hierarchy-file", type=click.Path(dir_okay=False, path_type=Path), help="TOML/JSON hierarchies.")
@click.option("--ledger", type=click.Path(dir_okay=False, path_type=Path),
              help="Release ledger (SQLite): refuses or protects differencing with earlier releases.")
@click.option("--method", type=click.Choice(["auto", "exact", "heuristic", "none"]), help="Secondary suppression method.")
@click.option("--description", default="", help="What the table shows (goes into the report and ledger).")
@click.option("--detail", is_flag=True, help="Keep primary/secondary status and rules (internal review only).")
def release(linked: Path, by: str, measure: str, policy: str, output: Path, unit: str, person_col: str,
            household_col: str, hierarchy: tuple[str, ...], hierarchy_file: Path | None, ledger: Path | None,
            method: str | None, description: str, detail: bool) -> None:
    """Release a protected aggregate table from LINKED data (analyst: no encodings, no secret).

    Every cell meets the policy's minimum persons and households; hidden cells are protected
    against recomputation from totals (checked by an LP audit); with --ledger, requests that
    would isolate units by differencing with earlier releases are refused or protected.
    """
    from pplink.disclosure.cli_support import run_release_cli, summarize

    result = run_release_cli(
        linked, [b.strip() for b in by.split(",") if b.strip()], measure, policy, output,
        unit=unit, person_col=person_col, household_col=household_col or None, hierarchy=list(hierarchy),
        hierarchy_file=hierarchy_file, ledger=ledger, description=description, method=method, detail=detail,
    )
    click.echo(summarize(result))


# ---------------------------------------------------------------------------------------
@cli.command()
@click.argument("encoded_path", metavar="ENCODED", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--reference", "reference_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Plaintext reference population (CSV): standardised logical fields (first_name, surname, "
                   "birth_date, ...), or a raw source file with --mapping.")
@click.option("--mapping", "mapping_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Mapping that standardises a raw reference file (e.g. your own source's mapping: then the "
                   "mapping's record ids are the truth).")
@click.option("--truth", "truth_column",
              help="Reference column with the encoded record id of the same person (empty = not in the file). "
                   "Default: 'record_id' if present; with --mapping, the mapping's record id column.")
@click.option("--attacks", default="frequency,pattern,graph", show_default=True,
              help="Comma-separated attacks to run: frequency, pattern, graph.")
@click.option("--known-pairs", default=0, show_default=True, type=click.IntRange(0),
              help="Also run the graph attack of an attacker who knows this many people in the file (needs truth).")
@click.option("--seed", default=0, show_default=True, type=int, help="The simulated attacker's key and random choices.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def audit(encoded_path: Path, reference_path: Path, mapping_path: Path | None, truth_column: str | None,
          attacks: str, known_pairs: int, seed: int, as_json: bool) -> None:
    """Attack ENCODED like an attacker without the key, and report the share of records re-identified.

    Runs frequency alignment and pattern mining on the per-field filters (Christen et al.) and
    similarity-graph matching on the CLKs (Vidanage et al.) with a plaintext reference population
    the attacker might hold. Scoring needs a truth column; without one only claims are counted.
    See docs/privacy-audit.md.
    """
    import pandas as pd

    from pplink.audit import audit as run_audit
    from pplink.audit.reference import Reference
    from pplink.io import read_encoded

    wanted = [a.strip() for a in attacks.split(",") if a.strip()]
    bad = sorted(set(wanted) - {"frequency", "pattern", "graph"})
    if bad:
        raise click.BadParameter(f"unknown attack(s) {', '.join(bad)}", param_hint="--attacks")
    if not reference_path.exists():
        raise click.BadParameter(f"{reference_path} does not exist", param_hint="--reference")
    encoded = read_encoded(encoded_path)
    if mapping_path is not None:
        from pplink.io import read_source
        from pplink.mapping import load_mapping, standardize_frame

        mapping = load_mapping(mapping_path)
        raw = read_source(reference_path, delimiter=mapping.delimiter, encoding=mapping.encoding)
        std = standardize_frame(raw, mapping)
        fields = std.fields
        if truth_column is not None:
            if truth_column not in raw.columns:
                raise click.BadParameter(f"the reference has no column {truth_column!r}", param_hint="--truth")
            by_id = pd.Series(raw[truth_column].to_numpy(), index=raw[mapping.record_id].astype(str).str.strip())
            truth = by_id[~by_id.index.duplicated()].reindex(pd.Index(std.record_ids).astype(str)).to_numpy()
        else:
            truth = std.record_ids
            if not set(map(str, truth)) & set(map(str, encoded.record_ids)):
                truth = None  # the reference's ids are not the encoded file's: claims only
        reference = Reference.from_frame(fields, truth=truth)
    else:
        frame = pd.read_csv(reference_path, dtype=str, keep_default_na=False)
        column = truth_column or ("record_id" if "record_id" in frame.columns else None)
        if truth_column is not None and truth_column not in frame.columns:
            raise click.BadParameter(f"the reference has no column {truth_column!r}", param_hint="--truth")
        reference = Reference.from_frame(frame, truth=column)
    report = run_audit(encoded, reference, attacks=wanted, known_pairs=known_pairs, seed=seed)
    if as_json:
        click.echo(report.to_json())
    else:
        click.echo(report.format())


# ---------------------------------------------------------------------------------------
def _print_run(result: Any) -> None:
    if result.counts:
        click.echo("data holders (plaintext + secret -> encodings):")
    for note in getattr(result, "notes", []):
        click.echo(f"  note: {note}")
    for name, c in result.counts.items():
        click.echo(f"  {name:<14} {c['rows']:>7} rows, {c['encoded']:>7} encoded, {c['rejected']:>4} rejected, "
                   f"{c['fields_set_missing']:>4} fields set to missing -> {result.encoded[name]}")
    if result.clusters is not None:
        s = result.summary["linkage"]
        click.echo("linkage unit (encodings only -> entities and households):")
        click.echo(f"  {s['n_records']} records -> {s['n_entities']} entities, {s['n_households']} households "
                   f"-> {result.clusters}")
        for pair, st in s["pairs"].items():
            click.echo(f"  {pair:<26} {st['n_links']:>6} links at p >= {st['match_threshold']:.2f} "
                       f"({st['n_candidates']} candidates)")
    if result.tables or result.refused:
        click.echo("analyst (links + pseudonymous attributes -> protected tables):")
        for name, path in result.tables.items():
            click.echo(f"  {name:<30} -> {path}")
        for name, why in result.refused.items():
            click.echo(f"  {name:<30} REFUSED: {why}")
    if getattr(result, "report", None) is not None:
        click.echo(f"run report (aggregates only): {result.report}")


@cli.command()
@click.argument("pipeline", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--steps", default="encode,link,release", show_default=True,
              help="Comma-separated steps to run (encode, link, release).")
def run(pipeline: Path, steps: str) -> None:
    """Run a pipeline file: encode every source, link them, release protected tables."""
    from pplink.run import run_pipeline

    wanted = tuple(x.strip() for x in steps.split(",") if x.strip())
    bad = set(wanted) - {"encode", "link", "release"}
    if bad:
        raise click.BadParameter(f"unknown step(s) {', '.join(sorted(bad))}", param_hint="--steps")
    with _spinner(False, "running pipeline"):
        result = run_pipeline(pipeline, steps=wanted)
    _print_run(result)


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write. Default: DIRECTORY/report.html.")
def report(directory: Path, output: Path | None) -> None:
    """Write the HTML run report of a finished run's output DIRECTORY (aggregates only).

    Reads encoded/, linkage/ and release/ (each optional) and writes one self-contained page:
    inputs and rejects per source, linkage quality, released tables with their audits.
    """
    from pplink.report import write_report

    click.echo(str(write_report(directory, path=output)))


@cli.command()
@click.option("-o", "--output", default="demo-output", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the example municipality and all results.")
@click.option("--persons", default=20_000, show_default=True, type=click.IntRange(500, 2_000_000),
              help="Size of the synthetic population.")
@click.option("--seed", default=42, show_default=True, type=int)
def demo(output: Path, persons: int, seed: int) -> None:
    """Generate an example municipality and run the shipped pipeline on it (synthetic data only)."""
    from pplink.run import run_pipeline, write_demo

    with _spinner(False, "generating the example municipality"):
        pipeline = write_demo(output, n_persons=persons, seed=seed)
    click.echo(f"example municipality ({persons} synthetic persons) and pipeline: {pipeline}")
    with _spinner(False, "running pipeline"):
        result = run_pipeline(pipeline)
    _print_run(result)
    quality = _demo_quality(output, result)
    if quality:
        click.echo("quality against the ground truth (demo only; real projects have no truth):")
        for k, v in quality.items():
            click.echo(f"  {k}: {v:.4f}")


def _demo_quality(output: Path, result: Any) -> dict[str, float]:
    import pandas as pd

    from pplink.linkage.evaluate import cluster_metrics

    truth_path = output / "ground-truth" / "truth.csv"
    if result.clusters is None or not truth_path.exists():
        return {}
    truth = pd.read_csv(truth_path, dtype=str)
    clusters = pd.read_csv(result.clusters, dtype=str)
    merged = clusters.merge(truth, on=["source", "record_id"], suffixes=("", "_true"))
    ent = cluster_metrics(merged["entity_id"].to_numpy(), merged["person_id"].to_numpy())
    out = {"entity precision": ent["precision"], "entity recall": ent["recall"], "entity F1": ent["f1"]}
    if "household_id" in merged and "household_id_true" in merged:
        hh = cluster_metrics(merged["household_id"].to_numpy(), merged["household_id_true"].to_numpy())
        out["household F1"] = hh["f1"]
    return out


# ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pplink`` console script; returns the exit status."""
    warnings.simplefilter("default")
    try:
        cli.main(args=argv, prog_name="pplink", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except PplinkError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("interrupted; no partial output was left behind", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - last line of defence: no tracebacks for users
        if os.environ.get(_DEBUG_ENV):
            raise
        click.echo(
            f"internal error ({type(exc).__name__}); please report it. Set {_DEBUG_ENV}=1 for details.",
            err=True,
        )
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
