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
