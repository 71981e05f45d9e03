"""The per-row rules the Spark engine runs in the JVM, from the jar this package carries (R1-R5).

Every Spark built-in string function turns a line's bytes into Java text, and each one's fixed
cost per row dominated the first pass. The Java functions in `jvm/` read a line's raw bytes once:
no decoding, so invalid UTF-8 cannot change an answer, and where decoded text matters (the
visitor key) it is repaired exactly as Python's `bytes.decode("utf-8", errors="replace")` does,
the stream engine's reading (the reference). Each function mirrors a pure rule (`hit_rows`,
`purchases`, `referrers`) and tests/spark/test_spark_rules.py holds it to that rule.

The jar is package data, so the Glue job receives it inside the wheel: `ADD JAR` hands it to the
session (and Spark to its executors) at run time, with no job argument to keep in step. Imported
from a zip (a wheel on the Python path), the package copies the jar out to a file first.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from search_revenue.errors import SearchRevenueError
from search_revenue.report.hit_rows import MAX_HIT_TIME_DIGITS, HitColumns
from search_revenue.report.purchases import EVENT_SEPARATOR, FIELD_WHITESPACE, PURCHASE_EVENT

# Where the jar lies in this package (built there by `make jar`), and so in the wheel.
JAR_RESOURCE: Final = ("jvm", "hit-lines.jar")
HIT_LINES_JAR: Final = Path(__file__).parent.joinpath(*JAR_RESOURCE)
_PACKAGE: Final = __name__.rpartition(".")[0]
_JAVA_PACKAGE: Final = "searchrevenue"
HIT_LINE_TYPE: Final = T.StructType(
    [
        T.StructField("field_count", T.IntegerType()),
        T.StructField("hit_time", T.LongType()),
        T.StructField("is_purchase", T.BooleanType()),
        T.StructField("could_be_search", T.BooleanType()),
    ]
)


@dataclass(frozen=True, slots=True)
class HitLineFunctions:
    """The session's names of the JVM functions, configured for one file's columns and engines."""

    classify_name: str
    visitor_key_name: str

    def classify(self, line: Column) -> Column:
        """struct(field_count, hit_time, is_purchase, could_be_search) of a line (`HIT_LINE_TYPE`):
        the field count (R1/R2); the hit time, null unless `hit_rows.is_hit_time` holds (R2);
        `purchases.is_purchase` of the event list (R5); and a superset of the referrers that
        `referrers.parse_search_referrer` accepts (R4).
        """
        return F.call_function(self.classify_name, line.cast("binary"))

    def visitor_key(self, line: Column) -> Column:
        """The visitor (R3): `ip` TAB `user_agent` as the stream engine reads them, as bytes. The one
        derivation both passes use, so a visitor's hits always meet, whatever their bytes.
        """
        return F.call_function(self.visitor_key_name, line.cast("binary"))


def register_hit_line_functions(
    spark: SparkSession, columns: HitColumns, engines: Mapping[str, str]
) -> HitLineFunctions:
    """Register the JVM functions for one file's columns and engine labels in the session.

    Names carry the configuration, so runs with other columns, engines or rule constants never
    share a function.

    Raises:
        SearchRevenueError: the package's jar is missing (a source checkout needs `make jar`).
    """
    labels = sorted(engines)
    # The rules' own constants, so the Java form cannot drift from the Python one.
    rule_constants = (MAX_HIT_TIME_DIGITS, PURCHASE_EVENT, EVENT_SEPARATOR, FIELD_WHITESPACE)
    tag = zlib.crc32(repr((labels, rule_constants)).encode()) & 0xFFFFFFFF
    functions = HitLineFunctions(
        classify_name=f"search_revenue_classify_{columns.hit_time_gmt}_{columns.event_list}_{columns.referrer}_{tag:08x}",
        visitor_key_name=f"search_revenue_visitor_key_{columns.ip}_{columns.user_agent}",
    )
    gateway = spark.sparkContext._gateway
    assert gateway is not None  # a live session always has its gateway
    loader = _jar_class_loader(spark)
    java_labels = gateway.new_array(gateway.jvm.java.lang.String, len(labels))
    for index, label in enumerate(labels):
        java_labels[index] = label
    classify = _new_java_object(
        gateway,
        loader,
        "ClassifyHitLine",
        columns.hit_time_gmt,
        columns.event_list,
        columns.referrer,
        java_labels,
        *rule_constants,
    )
    visitor_key = _new_java_object(gateway, loader, "VisitorKey", columns.ip, columns.user_agent)
    registry = spark._jsparkSession.udf()
    registry.register(functions.classify_name, classify, _java_type(spark, HIT_LINE_TYPE))
    registry.register(functions.visitor_key_name, visitor_key, _java_type(spark, T.BinaryType()))
    return functions


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
