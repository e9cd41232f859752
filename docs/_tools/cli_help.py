"""Fill the ``--help`` blocks of docs/reference/cli.md from the installed ``pplink`` command.

The page's prose is written by hand; every block between ``<!-- help: COMMAND -->`` and
``<!-- /help -->`` is generated (``COMMAND`` empty for ``pplink --help`` itself). Run from the
repository root:

    .venv/bin/python docs/_tools/cli_help.py            # rewrite the blocks
    .venv/bin/python docs/_tools/cli_help.py --check    # exit 1 if a block is out of date

A command of ``pplink`` without a help block on the page is reported, and fails the check.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from click.testing import CliRunner

from pplink.cli import cli

PAGE = Path(__file__).resolve().parents[1] / "reference" / "cli.md"
WIDTH = 88
_BLOCK = re.compile(r"(<!-- help: ?(?P<cmd>[\w-]*) -->\n)(?P<body>.*?)(<!-- /help -->)", re.DOTALL)


def help_text(command: str) -> str:
    args = ([command] if command else []) + ["--help"]
    result = CliRunner().invoke(cli, args, prog_name="pplink", terminal_width=WIDTH, max_content_width=WIDTH)
    if result.exit_code != 0:
        raise SystemExit(f"pplink {' '.join(args)} failed: {result.output}")
    return result.output.rstrip() + "\n"


def render(page: str) -> str:
    def block(match: re.Match[str]) -> str:
        return f"{match.group(1)}```text\n{help_text(match['cmd'])}```\n{match.group(4)}"

    return _BLOCK.sub(block, page)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if the page is out of date")
    args = parser.parse_args()
    page = PAGE.read_text(encoding="utf-8")
    new = render(page)
    documented = {m["cmd"] for m in _BLOCK.finditer(page)}
    missing = sorted(set(cli.commands) - documented)
    if missing:
        print(f"{PAGE}: no help block for command(s) {', '.join(missing)}", file=sys.stderr)
    if args.check:
        if new != page:
            print(f"{PAGE}: --help blocks are out of date; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 1 if missing else 0
    if new != page:
        PAGE.write_text(new, encoding="utf-8")
        print(f"updated {PAGE}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
