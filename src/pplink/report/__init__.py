"""The HTML run report: one self-contained page per pipeline run, aggregates only.

:func:`write_report` reads a run's output directory (``encoded/``, ``linkage/``,
``release/``) and writes ``report.html`` with the inputs and rejects per source, the
linkage quality (match-weight histograms with the threshold, estimated precision and
recall, links per source pair, model parameters, entity and household sizes) and the
released tables with their per-cell status and disclosure audit. Charts are inline SVG;
there are no scripts and no external resources. The report never contains record ids,
identifying values or pseudonymous ids (see :mod:`pplink.report.data`).

Example:
    >>> from pathlib import Path
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp())
    >>> path = write_report(out)          # an empty directory still gives a (short) report
    >>> path.name, "<svg" in path.read_text() or "Overview" in path.read_text()
    ('report.html', True)
"""

from pplink.report.data import RunData, collect_run
from pplink.report.html import REPORT_NAME, render_report, write_report

__all__ = ["write_report", "render_report", "collect_run", "RunData", "REPORT_NAME"]
