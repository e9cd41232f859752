"""A local-mode Spark session for the Spark engine tests (skipped without PySpark or Java)."""

from __future__ import annotations

import os
import shutil

import pytest


def _java_available() -> bool:
    home = os.environ.get("JAVA_HOME")
    return shutil.which("java") is not None or bool(home and os.path.exists(os.path.join(home, "bin", "java")))


@pytest.fixture(scope="session")
def spark():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.skip("the Spark engine needs PySpark: pip install 'pplink[spark]'")
    if not _java_available():
        pytest.skip("the Spark engine needs a Java runtime (e.g. apt-get install default-jre-headless)")
    from pplink.engines.spark import spark_session

    session = spark_session(
        "local[2]",
        {
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.sql.session.timeZone": "UTC",
        },
        app_name="pplink-tests",
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
