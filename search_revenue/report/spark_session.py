"""A local SparkSession configured as the job expects: UTC, loopback only, quiet."""

from __future__ import annotations

import os
import sys
from typing import Final

from pyspark.sql import SparkSession

LOCAL_MASTER: Final = "local[2]"
LOCAL_DRIVER_MEMORY: Final = "1500m"


def local_spark_session(master: str = LOCAL_MASTER, *, shuffle_partitions: int = 16) -> SparkSession:
    """Start (or reuse) a local SparkSession bound to 127.0.0.1."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Python workers must import this package and its pinned dependencies: use our interpreter.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master(master)
        .appName("search-keyword-performance")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", LOCAL_DRIVER_MEMORY)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.driver.extraJavaOptions", "-Dlog4j2.level=WARN")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session
