"""Execution engines for the linkage pipeline.

* ``local`` (the default): the embedded, in-process engine in :mod:`pplink.linkage.pipeline`
  (:func:`~pplink.linkage.pipeline.link`, :func:`~pplink.linkage.pipeline.link_many`).
* ``spark``: the same encode -> block -> compare -> decide pipeline on Apache Spark,
  :mod:`pplink.engines.spark` (needs the ``spark`` extra: ``pip install 'pplink[spark]'`` and
  a Java runtime). PySpark is imported only when a Spark function is called, so
  ``import pplink`` and ``import pplink.engines.spark`` never need it.

Both engines give the same links on the same encoded files with the same settings (the
Spark engine runs ``blocking="lsh"`` and ``"tokens"``; see ``docs/howto/spark.md``).

Example:
    >>> from pplink.engines import ENGINES
    >>> ENGINES
    ('local', 'spark')
"""

from __future__ import annotations

ENGINES = ("local", "spark")

__all__ = ["ENGINES"]
