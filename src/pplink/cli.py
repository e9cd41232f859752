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
@click.option("--project", default="default", show_default=True,
              help="Project name (the schema's `project`) to print the key fingerprint for.")
def keygen(output: Path, force: bool, project: str) -> None:
    """Create a new random project secret in OUTPUT (mode 0600).

    Share it with the other data holders over a secure channel; never with the linkage unit.
    The printed key fingerprint identifies the secret for one project name without revealing it.
    """
    from pplink.keys import write_secret_file
    from pplink.schema import check_project_name

    check_project_name(project)
    secret = write_secret_file(output, overwrite=force)
    click.echo(f"wrote a new secret to {output} (mode 0600)")
    click.echo(f"key fingerprint for project {project!r}: " + secret.fingerprint(project=project))


# ---------------------------------------------------------------------------------------
@cli.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--mapping", "mapping_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Source mapping TOML (columns -> logical fields).")
@click.option("--schema", "schema_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Schema TOML. Default: the built-in nl-person schema.")
@click.option("--project", help="Project name; overrides the schema's `project` (part of both fingerprints).")
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
    project: str | None,
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
    from pplink.mapping import check_source, load_mapping
    from pplink.schema import default_schema, load_schema

    rejects_path = rejects_path or output.with_name(output.name.removesuffix(".parquet") + ".rejects.csv")
    _check_outputs({"--output": output, "--rejects": rejects_path},
                   {"INPUT": input_path, "--mapping": mapping_path, "--schema": schema_path,
                    "--secret-file": secret_file})
    from pplink._toml import load_config

    mapping = load_config(load_mapping, mapping_path, "mapping file")
    schema = load_config(load_schema, schema_path, "schema file") if schema_path else default_schema()
    if project is not None:
        import dataclasses

        schema = dataclasses.replace(schema, project=project)  # validated: ConfigError if unusable
    secret = load_secret(secret_file)
    check_source(input_path, mapping)
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
        n_rejected = int((issues["action"] == "rejected").sum()) if len(issues) else 0
        if n_input != n_encoded + n_rejected:  # pragma: no cover - an invariant, checked loudly
            raise PplinkError("internal error: rows lost between reading and encoding")
        # the issues report first: the encoded file appears only once everything is written
        write_csv_atomic(issues, rejects_path)
    n_fields = len(issues) - n_rejected
    click.echo(
        f"{input_path}: {n_input} rows read, {n_encoded} encoded, {n_rejected} rejected, "
        f"{n_fields} fields set to missing -> {output}"
    )
    click.echo(f"issues report: {rejects_path}")


def _check_outputs(outputs: dict[str, Path | None], inputs: dict[str, Path | None]) -> None:
    """Refuse, before any work, outputs that would overwrite an input or each other, that are
    directories, or whose directory does not exist."""
    from pplink.errors import InputError

    seen: dict[Path, str] = {}
    resolved_inputs = {Path(os.path.abspath(p)): name for name, p in inputs.items() if p is not None}
    for name, out in outputs.items():
        if out is None:
            continue
        target = Path(os.path.abspath(out))
        if target in resolved_inputs:
            raise InputError(f"{name} {out} is also the {resolved_inputs[target]} file; choose another output path")
        if target in seen:
            raise InputError(f"{name} and {seen[target]} are both {out}; give each output its own path")
        seen[target] = name
        if out.is_dir():
            raise InputError(f"{name} {out} is a directory; give a file path")
        parent = out.parent if str(out.parent) else Path(".")
        if not parent.is_dir():
            raise InputError(f"{name}: output directory {parent} does not exist")


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
    console.print(f"project {meta['schema'].get('project', 'default')!r}")
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
    _check_outputs({"--output": output, "--summary": summary_path, "--candidates": candidates_path},
                   {f"input #{i + 1}": p for i, p in enumerate(inputs)})
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
                summary = {**_pair_summary(inputs, res), "engine": "spark"}
            # the main output last: it appears only when everything else is written
            if candidates_path is not None:
                write_via_driver(spark_candidates, candidates_path)
            _write_json(summary, summary_path)
            _write_table(table, output)
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
            summary = _pair_summary(inputs, res)
    # the main output last: it appears only when everything else is written
    if candidates_path is not None:
        _write_table(candidates, candidates_path)
    _write_json(summary, summary_path)
    _write_table(table, output)
    _echo_link_result(cluster, table, summary, output, summary_path)


def _pair_summary(inputs: tuple[Path, ...], res: Any) -> dict[str, Any]:
    """The summary JSON of a two-source link (either engine's result)."""
    return {
        "inputs": [str(p) for p in inputs],
        "stats": res.stats,
        "model": res.model.summary().to_dict("records"),
        "threshold_curve": res.threshold.curve.to_dict("records") if res.threshold else None,
        "estimated_precision": res.stats.get("estimated_precision"),
        "estimated_recall": res.stats.get("estimated_recall"),
    }


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


def _rows(positions: Any) -> str:
    """0-based positions as data row numbers (header excluded, as in the rejects reports)."""
    return ", ".join(f"row {int(i) + 1}" for i in positions)


def _id_table(path: Path, what: str, columns: list[str], df: Any = None) -> Any:
    """Read (or check the already read ``df`` of) a table of record ids — links, truth,
    candidates, clusters: the id columns become strings and none may be empty, so nothing is
    dropped or miscounted silently."""
    from pplink.errors import InputError
    from pplink.io import read_table

    if df is None:
        df = read_table(path, what=what, required=columns)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{what} {path} lacks column(s) {', '.join(missing)}")
    df = df.copy()
    for col in columns:
        values = df[col]
        empty = values.isna() | (values.astype(str).str.strip() == "")
        if empty.any():
            rows = _rows(empty.to_numpy().nonzero()[0][:5])
            raise InputError(f"{what} {path}: column {col} is empty on {rows}; every row needs a value")
        df[col] = values.astype(str)
    return df


def _refuse_duplicates(df: Any, path: Path, what: str, key: list[str]) -> None:
    from pplink.errors import InputError

    dup = df.duplicated(key, keep=False).to_numpy()
    if dup.any():
        first = int(dup.nonzero()[0][0])
        same = df[key].eq(df[key].iloc[first]).all(axis=1).to_numpy().nonzero()[0][:5]
        value = ", ".join(f"{k}={df[k].iloc[first]!r}" for k in key)
        raise InputError(
            f"{what} {path}: {value} appears more than once ({_rows(same)}); "
            f"each {'/'.join(key)} may appear only once — remove the repeats"
        )


def _link_summary_sizes(path: Path) -> tuple[int, int]:
    from pplink.errors import InputError

    if not path.is_file():
        raise click.BadParameter(f"{path} not found; pass --summary (written by `pplink link`)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        stats = data["stats"]
        n_a, n_b = stats["n_a"], stats["n_b"]
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (n_a, n_b)):
            raise TypeError
    except (OSError, UnicodeDecodeError, ValueError):
        raise InputError(f"summary {path} is not valid JSON; pass the summary written by `pplink link`") from None
    except (KeyError, TypeError):
        raise InputError(
            f"summary {path} has no input sizes (stats.n_a and stats.n_b as whole numbers); pass the summary "
            "written by `pplink link` for these links (not one of `pplink link --cluster`)"
        ) from None
    return n_a, n_b


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
    from pplink.errors import InputError
    from pplink.io import read_table
    from pplink.linkage.evaluate import cluster_metrics, evaluate_links

    links = read_table(links_path, what="links file")
    if {"source", "record_id", "entity_id"} <= set(links.columns):
        key = ["source", "record_id"]
        links = _id_table(links_path, "clusters file", key + ["entity_id"], links)
        truth = read_table(truth_path, what="truth file")
        label = "entity_id" if "entity_id" in truth.columns or "person_id" not in truth.columns else "person_id"
        if not set(key + [label]) <= set(truth.columns):
            raise InputError(
                f"truth file {truth_path}: cluster truth needs columns source, record_id and entity_id (or person_id)")
        truth = _id_table(truth_path, "truth file", key + [label], truth).rename(columns={label: "entity_id"})
        _refuse_duplicates(links, links_path, "clusters file", key)
        _refuse_duplicates(truth, truth_path, "truth file", key)
        merged = links[key + ["entity_id"]].merge(truth[key + ["entity_id"]], on=key, suffixes=("", "_true"))
        if len(merged) < len(links):
            click.echo(
                f"note: {len(links) - len(merged)} of {len(links)} records in {links_path} are not in the truth "
                "and were left out of the metrics", err=True)
        metrics = cluster_metrics(merged["entity_id"].to_numpy(), merged["entity_id_true"].to_numpy())
    else:
        truth = read_table(truth_path, what="truth file")
        for frame, name, path in ((links, "links", links_path), (truth, "truth", truth_path)):
            if not {"a_id", "b_id"} <= set(frame.columns):
                raise InputError(
                    f"{name} file {path} needs columns a_id and b_id (or, for clusters, source, record_id and "
                    "entity_id)")
        links = _id_table(links_path, "links file", ["a_id", "b_id"], links)
        truth = _id_table(truth_path, "truth file", ["a_id", "b_id"], truth)
        _refuse_duplicates(links, links_path, "links file", ["a_id", "b_id"])
        _refuse_duplicates(truth, truth_path, "truth file", ["a_id", "b_id"])
        metrics = evaluate_links(links, truth)
        if candidates_path is not None:
            from pplink.linkage.evaluate import blocking_metrics

            summary_path = summary_path or links_path.with_name(links_path.stem + ".summary.json")
            n_a, n_b = _link_summary_sizes(summary_path)
            cands = _id_table(candidates_path, "candidates file", ["a_id", "b_id"])
            _refuse_duplicates(cands, candidates_path, "candidates file", ["a_id", "b_id"])
            if n_a * n_b < len(cands):
                raise InputError(
                    f"candidates file {candidates_path} has {len(cands)} pairs but the summary {summary_path} says "
                    f"the inputs had {n_a} x {n_b} records; pass the summary of the same link run")
            metrics.update(blocking_metrics(cands[["a_id", "b_id"]], truth, n_a, n_b))
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
    if not wanted:
        raise click.BadParameter("name at least one attack: frequency, pattern, graph", param_hint="--attacks")
    if not reference_path.exists():
        raise click.BadParameter(f"{reference_path} does not exist", param_hint="--reference")
    encoded = read_encoded(encoded_path)
    if mapping_path is not None:
        from pplink.io import read_source
        from pplink.mapping import check_source, load_mapping, standardize_frame

        from pplink._toml import load_config

        mapping = load_config(load_mapping, mapping_path, "mapping file")
        check_source(reference_path, mapping)
        raw = read_source(reference_path, delimiter=mapping.delimiter, encoding=mapping.encoding)
        std = standardize_frame(raw, mapping)
        fields = std.fields
        if std.n_rejected:
            click.echo(f"note: {std.n_rejected} of {std.n_input} reference rows were rejected by the mapping "
                       "(empty or repeated record id, or no usable field) and are not used", err=True)
        if truth_column is not None:
            if truth_column not in raw.columns:
                raise click.BadParameter(f"the reference has no column {truth_column!r}", param_hint="--truth")
            by_id = pd.Series(raw[truth_column].to_numpy(), index=raw[mapping.record_id].astype(str).str.strip())
            truth = by_id[~by_id.index.duplicated()].reindex(pd.Index(std.record_ids).astype(str)).to_numpy()
        else:
            truth = std.record_ids
            if not set(map(str, truth)) & set(map(str, encoded.record_ids)):
                truth = None  # the reference's ids are not the encoded file's: claims only
        _refuse_repeated_truth(reference_path, truth)
        reference = Reference.from_frame(fields, truth=truth)
    else:
        from pplink.io import read_table

        frame = read_table(reference_path, what="reference file")
        column = truth_column or ("record_id" if "record_id" in frame.columns else None)
        if truth_column is not None and truth_column not in frame.columns:
            raise click.BadParameter(f"the reference has no column {truth_column!r}", param_hint="--truth")
        if column is not None:
            _refuse_repeated_truth(reference_path, frame[column].to_numpy())
        _refuse_long_values(reference_path, frame)
        reference = Reference.from_frame(frame, truth=column)
    _check_reference(reference_path, reference, encoded)
    report = run_audit(encoded, reference, attacks=wanted, known_pairs=known_pairs, seed=seed)
    if as_json:
        click.echo(report.to_json())
    else:
        click.echo(report.format())


def _refuse_repeated_truth(path: Path, truth: Any) -> None:
    """Two reference persons who claim the same encoded record make the audit's scores wrong."""
    from pplink.errors import InputError

    if truth is None:
        return
    import pandas as pd

    values = pd.Series(truth, dtype=object)
    values = values[values.notna() & (values.astype(str).str.strip() != "")].astype(str).str.strip()
    dup = values[values.duplicated(keep=False)]
    if len(dup):
        first = dup.iloc[0]
        where = _rows(dup.index[dup == first][:5])
        raise InputError(
            f"reference file {path}: truth id {first!r} is given to more than one reference person ({where}); "
            "each encoded record id may appear at most once in the truth column"
        )


def _refuse_long_values(path: Path, frame: Any) -> None:
    """Standardised values are short; a huge cell is a broken file (and would make the attacks crawl)."""
    from pplink.errors import InputError
    from pplink.mapping import MAX_VALUE_CHARS

    for col in frame.columns:
        lengths = frame[col].astype(str).str.len().where(frame[col].notna(), 0).to_numpy()
        if lengths.max(initial=0) > MAX_VALUE_CHARS:
            row = int(lengths.argmax()) + 1
            raise InputError(
                f"reference file {path}: row {row}, column {col!r} has a value longer than {MAX_VALUE_CHARS} "
                "characters; the reference must hold standardised values (or pass --mapping for a raw file)"
            )


def _check_reference(path: Path, reference: Any, encoded: Any) -> None:
    """Refuse a reference the attacks cannot use at all (instead of a report that measures nothing)."""
    from pplink.audit.reference import available_fields
    from pplink.errors import InputError
    from pplink.schema import Schema

    if reference.n == 0:
        raise InputError(f"reference file {path} has no rows (only a header?); the audit needs a reference population")
    schema = Schema.from_dict(encoded.metadata.schema, source=f"metadata of {encoded.metadata.source!r}")
    if not available_fields(schema, reference):
        wanted = sorted({str(getattr(f, "source_field", f.name)) for f in schema.fields})
        raise InputError(
            f"reference file {path} has no values for any field the encoded file uses ({', '.join(wanted)}); "
            "its columns must be standardised logical fields with these names, or pass --mapping for a raw file"
        )


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
    from pplink.errors import InputError
    from pplink.report import write_report

    _check_run_directory(directory)
    if output is not None:
        _check_outputs({"--output": output}, {})
    try:
        path = write_report(directory, path=output)
    except PplinkError:
        raise
    except ValueError as exc:  # a damaged file the checks above did not catch
        raise InputError(f"{directory}: a file of the run cannot be read ({type(exc).__name__}: {exc})") from None
    click.echo(str(path))


def _check_run_directory(directory: Path) -> None:
    """Check the CSV files a run report reads (rejects, links, clusters, released tables) as
    strictly as any input, so a damaged one is named instead of half-read."""
    from pplink.io import read_table

    for sub in ("encoded", "linkage", "release"):
        folder = directory / sub
        if folder.is_dir():
            for csv_path in sorted(folder.glob("*.csv")):
                read_table(csv_path, what="run file", delimiter=",")


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
def _show_warning(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    """Warnings as one line each ("warning: ..."), without source file and code line."""
    click.echo(f"warning: {message}", err=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pplink`` console script; returns the exit status."""
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _show_warning
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    try:
        cli.main(args=argv, prog_name="pplink", standalone_mode=False)
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C into Abort; outputs are written atomically, so nothing half-written remains
        interrupted = isinstance(exc.__cause__, KeyboardInterrupt)
        click.echo("interrupted; no partial output was left behind" if interrupted else "aborted", err=True)
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
    except OSError as exc:
        # the environment, not pplink: a full disk, a file without permission, a vanished directory
        if os.environ.get(_DEBUG_ENV):
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"error: {where}{exc.strerror or exc} ({type(exc).__name__}); no partial output was left behind",
                   err=True)
        return 1
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
