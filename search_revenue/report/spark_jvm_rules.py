"""The per-row rules the Spark engine runs in the JVM, from the jar this package carries (R1-R5).

Spark's per-row machinery (built-in string functions, projections, aggregations) dominated both
passes. Each pass is now one Java function per partition over the file's lines (read in byte
ranges by the Java code itself, or from Spark's text source for a compressed file), handing
Spark only the few rows the engine needs. The Java code in `jvm/` reads a line's raw bytes once:
no decoding, so invalid UTF-8 cannot change an answer, and where decoded text matters (the
visitor key) it is repaired exactly as Python's `bytes.decode("utf-8", errors="replace")` does,
the stream engine's reading (the reference). Each test mirrors a pure rule (`hit_rows`,
`purchases`, `referrers`) and tests/spark/test_spark_rules.py holds it to that rule.

The jar is package data, so the Glue job receives it inside the wheel: `ADD JAR` hands it to the
session (and Spark to its executors) at run time, with no job argument to keep in step. Imported
from a zip (a wheel on the Python path), the package copies the jar out to a file first.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from search_revenue.errors import SearchRevenueError
from search_revenue.report.hit_rows import MAX_HIT_TIME_DIGITS, REJECT_BAD_HIT_TIME, REJECT_FIELD_COUNT, HitColumns
from search_revenue.report.purchases import EVENT_SEPARATOR, FIELD_WHITESPACE, PURCHASE_EVENT
from search_revenue.report.spark_lines import ROW_INDEX_BITS

# Where the jar lies in this package (built there by `make jar`), and so in the wheel.
JAR_RESOURCE: Final = ("jvm", "hit-lines.jar")
HIT_LINES_JAR: Final = Path(__file__).parent.joinpath(*JAR_RESOURCE)
_PACKAGE: Final = __name__.rpartition(".")[0]
_JAVA_PACKAGE: Final = "searchrevenue"
ROW_KIND_SUMMARY: Final = 0
ROW_KIND_REJECTED: Final = 1
ROW_KIND_PURCHASE: Final = 2
ROW_KIND_SEARCH_VISITOR: Final = 3
# FirstPassScan's rows (see its Javadoc for which kind fills which column).
FIRST_PASS_TYPE: Final = T.StructType(
    [
        T.StructField("kind", T.IntegerType(), nullable=False),
        T.StructField("partition", T.IntegerType(), nullable=False),
        T.StructField("pos", T.LongType()),
        T.StructField("block_start", T.LongType()),
        T.StructField("lines", T.LongType()),
        T.StructField("rows_read", T.LongType()),
        T.StructField("visitor_hash", T.LongType()),
        T.StructField("reject_reason", T.StringType()),
        T.StructField("line", T.BinaryType()),
        T.StructField("product_list", T.BinaryType()),
        T.StructField("visitor_hashes", T.BinaryType()),
    ]
)
# QualifiedHitsScan's rows: one per kept hit of a qualified visitor.
QUALIFIED_HIT_TYPE: Final = T.StructType(
    [
        T.StructField("visitor", T.BinaryType(), nullable=False),
        T.StructField("hit_time_gmt", T.LongType(), nullable=False),
        T.StructField("pos", T.LongType(), nullable=False),
        T.StructField("product_list", T.BinaryType()),
        T.StructField("search_referrer", T.BinaryType()),
    ]
)


@dataclass(frozen=True, slots=True)
class LineScans:
    """The two passes over a file's lines in the JVM, configured for one file's columns and engines.

    Each reads the lines of the one file `text` (`spark_lines.read_text`) names in its tasks:
    an uncompressed file in byte ranges of Spark's split size through the Hadoop file system,
    a compressed one through Spark's text source. It hands over only the rows the engine needs:
    no per-line row enters Spark's row machinery.
    """

    spark: SparkSession
    first_pass_scan: Any
    qualified_hits_scan: Any

    def first_pass(self, text: DataFrame) -> DataFrame:
        """Per partition: a summary (block start, lines, data rows), the rows rejected for their
        field count or hit time (R2), the other purchase hits (R5) with their visitor hash and
        product list, and one row of the distinct hashes of the visitors with a possible search
        hit (R4 superset), packed. Rows of `FIRST_PASS_TYPE`, told apart by `kind` (`ROW_KIND_*`).
        """
        frame = self.first_pass_scan.run(text._jdf, _java_type(self.spark, FIRST_PASS_TYPE))
        return DataFrame(frame, self.spark)

    def qualified_hits(self, text: DataFrame, visitors: DataFrame) -> DataFrame:
        """Every hit kept by the field count and hit time rules (R2) of the qualified visitors, with
        its exact visitor key (R3), hit time, position, and product list on purchase hits (R5) and
        referrer on possible search hits (R4 superset), as bytes. Rows of `QUALIFIED_HIT_TYPE`.

        Qualified are the visitors with a kept purchase and a possible search hit (R7: no other
        can credit). `visitors` holds the first pass's rows of both, in two columns: a buyer's
        `visitor_hash` (its hash), or a row of searchers' `visitor_hashes` (packed). Two
        visitors whose keys share a hash only keep each other in.
        """
        columns = visitors.select("visitor_hash", "visitor_hashes")
        frame = self.qualified_hits_scan.run(text._jdf, columns._jdf, _java_type(self.spark, QUALIFIED_HIT_TYPE))
        return DataFrame(frame, self.spark)


def line_scans(spark: SparkSession, columns: HitColumns, engines: Mapping[str, str]) -> LineScans:
    """Build both passes for one file's columns and engine labels.

    Raises:
        SearchRevenueError: the package's jar is missing (a source checkout needs `make jar`).
    """
    gateway = spark.sparkContext._gateway
    assert gateway is not None  # a live session always has its gateway
    loader = _jar_class_loader(spark)
    labels = sorted(engines)
    java_labels = gateway.new_array(gateway.jvm.java.lang.String, len(labels))
    for index, label in enumerate(labels):
        java_labels[index] = label
    # The rules' own constants, so the Java form cannot drift from the Python one.
    rules = _new_java_object(
        gateway,
        loader,
        "ClassifyHitLine",
        java_labels,
        MAX_HIT_TIME_DIGITS,
        PURCHASE_EVENT,
        EVENT_SEPARATOR,
        FIELD_WHITESPACE,
    )
    indexes = _new_java_object(
        gateway,
        loader,
        "HitColumnIndexes",
        columns.field_count,
        columns.hit_time_gmt,
        columns.ip,
        columns.user_agent,
        columns.event_list,
        columns.product_list,
        columns.referrer,
    )
    return LineScans(
        spark=spark,
        first_pass_scan=_new_java_object(
            gateway, loader, "FirstPassScan", ROW_INDEX_BITS, rules, indexes, REJECT_FIELD_COUNT, REJECT_BAD_HIT_TIME
        ),
        qualified_hits_scan=_new_java_object(gateway, loader, "QualifiedHitsScan", ROW_INDEX_BITS, rules, indexes),
    )


def _jar_class_loader(spark: SparkSession) -> Any:
    """Hand the jar to the session (ADD JAR: the driver's class loader and every executor) and
    return the loader that sees it. Loading from it, not through py4j's lookup (the calling JVM
    thread's loader), finds the classes from any Python thread.
    """
    jar = hit_lines_jar_file()
    if "'" in str(jar):
        raise SearchRevenueError(f"cannot hand {jar} to Spark: its path holds a quote")
    spark.sql(f"ADD JAR '{jar}'")
    return spark._jsparkSession.sharedState().jarClassLoader()


def hit_lines_jar_file() -> Path:
    """The package's jar as a file Spark can read: where it lies when the package is installed as
    files; when it is imported from a zip, a copy in the temp folder named by its content.

    Raises:
        SearchRevenueError: the package holds no jar (a source checkout needs `make jar`).
    """
    resource = resources.files(_PACKAGE)
    for part in JAR_RESOURCE:
        resource = resource / part
    if not resource.is_file():
        raise SearchRevenueError(f"{resource} is missing: a source checkout builds it with `make jar`")
    if isinstance(resource, Path):
        return resource
    content = resource.read_bytes()
    copy = Path(tempfile.gettempdir()) / f"search-revenue-{hashlib.sha256(content).hexdigest()[:16]}.jar"
    if not copy.is_file():
        # Another process may copy at the same time: each writes its own file, then renames.
        partial = copy.with_name(f"{copy.name}.{os.getpid()}.partial")
        partial.write_bytes(content)
        partial.replace(copy)
    return copy


def _new_java_object(gateway: Any, loader: Any, class_name: str, *arguments: Any) -> Any:
    java_class = loader.loadClass(f"{_JAVA_PACKAGE}.{class_name}")
    java_arguments = gateway.new_array(gateway.jvm.java.lang.Object, len(arguments))
    for index, argument in enumerate(arguments):
        java_arguments[index] = argument
    (constructor,) = java_class.getConstructors()
    return constructor.newInstance(java_arguments)


def _java_type(spark: SparkSession, data_type: T.DataType) -> Any:
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    return jvm.org.apache.spark.sql.types.DataType.fromJson(data_type.json())
