"""Hit lines in Spark as raw bytes: one literal input file, line ends and fields (R1).

Spark's text source hands each line over as its raw bytes. Everything here works on those bytes
(`substring_index`, `endswith`, `octet_length`, `==` never decode), because Java and Python
replace invalid UTF-8 differently; the per-row rules that read a line's text are in
`spark_jvm_rules`.
"""

from __future__ import annotations

import os
from typing import Final

from py4j.protocol import Py4JJavaError
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from search_revenue.errors import InputNotFoundError, InputNotTextError
from search_revenue.report.sources import canonical_file_name

# monotonically_increasing_id() puts the partition index above this many bits of row index.
ROW_INDEX_BITS: Final = 33
ROW_INDEX_MASK: Final = (1 << ROW_INDEX_BITS) - 1
LINE_END: Final = "\n"
CARRIAGE_RETURN: Final = "\r"
# Spark's own switch (DataSource.GLOB_PATHS_KEY) for reading a path as written, not as a pattern.
NO_GLOBBING: Final = ("__globPaths__", "false")


def single_input_uri(spark: SparkSession, path: str, source: str) -> str:
    """Return the URI of the one file a path names, taken literally (R1).

    Raises:
        InputNotFoundError: nothing exists under that exact name.
        InputNotTextError: the name is a folder or an S3 prefix, not one object.
    """
    uri = path if "://" in path else "file://" + os.path.abspath(path)
    jvm = spark.sparkContext._jvm
    assert jvm is not None  # a live session always has its gateway
    hadoop_path = jvm.org.apache.hadoop.fs.Path(uri)
    try:
        file_system = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        status = file_system.getFileStatus(hadoop_path)
    except Py4JJavaError as err:
        if "FileNotFoundException" in str(err):
            raise InputNotFoundError(source) from err
        raise
    if not status.isFile():
        raise InputNotTextError(source, "a folder or prefix, not one file")
    name = uri.rsplit("/", 1)[-1]
    if canonical_file_name(name) != name:
        # Hadoop would read the compressed bytes as text: refuse rather than reject every row.
        raise InputNotTextError(
            source, f"Spark tells compression by a lower-case suffix: rename to {canonical_file_name(name)}"
        )
    return uri


def read_text(spark: SparkSession, uri: str) -> DataFrame:
    """Spark's text source over one file: one `value` row per line, its raw bytes with any CR
    before the LF still on; only LF ends a line (R1).
    """
    return spark.read.option("lineSep", LINE_END).option(*NO_GLOBBING).text(uri)


def read_hit_lines(spark: SparkSession, uri: str) -> DataFrame:
    """Read every line of one file with its position and partition (R1).

    `line` holds the line's raw bytes without its LF or CRLF end (a CR is dropped as a byte, so a
    truncated character before it stays whole).
    """
    raw = read_text(spark, uri)
    value = F.col("value")
    without_cr = F.when(
        value.endswith(CARRIAGE_RETURN),
        F.expr("substr(cast(value AS BINARY), 1, octet_length(value) - 1)").cast("string"),
    ).otherwise(value)
    return raw.select(
        F.monotonically_increasing_id().alias("pos"),
        F.spark_partition_id().alias("partition"),
        F.input_file_block_start().alias("block_start"),
        without_cr.alias("line"),
    )


def is_header_line() -> Column:
    """The first line of the file, whichever partition holds it, is the header (R1)."""
    return (F.col("block_start") == 0) & (F.col("pos").bitwiseAND(ROW_INDEX_MASK) == 0)
