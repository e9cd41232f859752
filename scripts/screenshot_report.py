#!/usr/bin/env python3
"""Render an HTML report in headless Chromium and save a PNG screenshot.

Usage::

    python scripts/screenshot_report.py REPORT.html OUT.png [--width 1280] [--height 4000]

Checks that the report renders in a real browser. Chromium runs with networking features
off and a throw-away profile; the report itself loads nothing from outside (it is one
self-contained file). Needs ``chromium`` (Debian: ``apt-get install chromium``) or set the
``CHROMIUM`` environment variable to the browser binary. Exit status 0 when a PNG was written.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> str | None:
    """The browser binary: ``$CHROMIUM``, else the first of the usual names on ``PATH``."""
    env = os.environ.get("CHROMIUM")
    if env:
        return env if Path(env).exists() or shutil.which(env) else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(report: Path, out: Path, *, width: int = 1280, height: int = 4000, timeout: float = 90.0,
               browser: str | None = None) -> Path:
    """Screenshot ``report`` (an HTML file) into ``out`` (PNG); raises on failure."""
    browser = browser or find_chromium()
    if browser is None:
        raise FileNotFoundError("no Chromium found; install it (apt-get install chromium) or set CHROMIUM")
    report = report.resolve()
    if not report.is_file():
        raise FileNotFoundError(f"{report} does not exist")
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    with tempfile.TemporaryDirectory(prefix="pplink-chromium-") as profile:
        cmd = [
            browser,
            "--headless",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={out}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        cmd.append(report.as_uri())
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if not out.exists() or out.stat().st_size == 0:
        raise RuntimeError(f"Chromium wrote no screenshot (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report", type=Path, help="the HTML file")
    ap.add_argument("out", type=Path, help="the PNG to write")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=4000)
    ap.add_argument("--timeout", type=float, default=90.0)
    args = ap.parse_args(argv)
    try:
        path = screenshot(args.report, args.out, width=args.width, height=args.height, timeout=args.timeout)
    except (FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
