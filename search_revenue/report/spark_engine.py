"""The PySpark engine: the same rules as the stream engine, for files of any size (R1-R8)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Final

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, Row, SparkSession, Window
from pyspark.sql import functions as F

from search_revenue.errors import AmountOverflowError, CorruptCompressionError, SearchRevenueError
from search_revenue.report.hit_rows import HitColumns, decode_line, parse_header
from search_revenue.report.money import ZERO, sum_amounts
from search_revenue.report.purchases import PRODUCT_SEPARATOR
from search_revenue.report.results import (
    EngineResult,
    RejectedRow,
    RejectSink,
    RunTotals,
    check_reject_ratio,
    rank_keyword_revenue,
)
from search_revenue.report.settings import Attribution, RuleSettings
from search_revenue.report.sources import compression_of
from search_revenue.report.spark_jvm_rules import HitLineFunctions, register_hit_line_functions
from search_revenue.report.spark_lines import (
    ROW_INDEX_MASK,
    field,
    is_data_line,
    is_header_line,
    read_hit_lines,
    single_input_uri,
    visitor_hash,
)
from search_revenue.report.spark_rules import (
    product_revenue_fields_column,
    purchase_amount_column,
    purchase_revenue_column,
    reject_reason_column,
    search_referral_column,
)
from search_revenue.report.spark_session import pinned_settings

log = logging.getLogger(__name__)

ATTRIBUTION_INPUTS: Final = ("visitor", "hit_time_gmt", "revenue", "search_referrer")


def classify_lines(lines: DataFrame, columns: HitColumns, functions: HitLineFunctions) -> DataFrame:
    """Read the fields the rules need from each data line and say why it is rejected (R1, R2, R5,
    R6); the input's columns pass through.

    One JVM function reads the line's bytes once for the tests every row needs (field count, hit
    time, purchase, search pre-test); the product list and the referrer are cut from the raw
    bytes only on the rows that need them. `revenue` is the row's sum for the second pass; the
    first pass sums the products itself (`summarise_scan`), so that no higher-order function runs
    there.
    """
    hit = F.col("hit")
    is_purchase = hit["is_purchase"]
    product_list = field(F.col("line"), columns.product_list)
    reason = reject_reason_column(
        hit["field_count"], hit["hit_time"].isNotNull(), is_purchase, product_list, columns.field_count
    )
    classified = lines.select("*", functions.classify(F.col("line")).alias("hit"))
    return classified.select(
        *lines.columns,
        reason.alias("reject_reason"),
        hit["hit_time"].alias("hit_time_gmt"),
        is_purchase.alias("is_purchase"),
        F.when(is_purchase, product_list).alias("product_list"),
        F.when(is_purchase, purchase_revenue_column(product_revenue_fields_column(product_list))).alias("revenue"),
        hit["could_be_search"].alias("could_be_search"),
        F.when(hit["could_be_search"], field(F.col("line"), columns.referrer)).alias("search_referrer"),
    )


def summarise_scan(lines: DataFrame, functions: HitLineFunctions) -> DataFrame:
    """One pass over the classified lines: line counts per partition, totals, rejected rows, and
    per visitor hash whether it has a purchase and a possible search.

    Rows that cannot affect attribution fall into one group per partition, so the aggregate stays
    the size of the visitors that matter plus the rejected rows. Rejected rows are their own
    groups (position, reason and bytes are grouping keys), so every aggregate buffer has a fixed
    width and Spark keeps a hash aggregate. A kept purchase becomes one row per product (R6) and
    its amounts are summed by the aggregate: the whole pass runs in generated code.
    """
    is_data = is_data_line()
    is_rejected = is_data & F.col("reject_reason").isNotNull()
    is_kept = is_data & F.col("reject_reason").isNull()
    is_purchase = is_kept & F.col("is_purchase")
    # The flag, not the referrer: testing the cut text for null would still cut it on every such row.
    is_search = is_kept & F.col("could_be_search")
    scanned = lines.select(
        "partition",
        "block_start",
        is_data.alias("is_data"),
        F.when(is_rejected, F.col("reject_reason")).alias("reject_reason"),
        F.when(is_rejected, F.col("pos")).alias("reject_pos"),
        F.when(is_rejected, F.col("line").cast("binary")).alias("rejected_line"),
        is_purchase.alias("is_purchase"),
        is_search.alias("is_search"),
        F.when(is_purchase | is_search, visitor_hash(functions.visitor_key(F.col("line")))).alias("visitor_hash"),
        F.when(is_purchase, F.split("product_list", PRODUCT_SEPARATOR)).alias("products"),
    )
    products = scanned.select("*", F.posexplode_outer("products").alias("product_no", "product"))
    is_line = F.coalesce(F.col("product_no") == 0, F.lit(True))  # a line's first (or only) row
    keys = ("partition", "visitor_hash", "reject_pos", "reject_reason", "rejected_line")
    return products.groupBy(*keys).agg(
        F.count(F.when(is_line, 1)).alias("lines"),
        F.min("block_start").alias("block_start"),
        F.count(F.when(is_line & F.col("is_data"), 1)).alias("rows_read"),
        F.count(F.when(is_line, F.col("reject_pos"))).alias("rejected"),
        F.count(F.when(is_line & F.col("is_purchase"), 1)).alias("purchases"),
        F.sum(purchase_amount_column(F.col("product"))).alias("revenue"),
        F.max("is_purchase").alias("has_purchase"),
        F.max("is_search").alias("has_search"),
    )


def qualified_visitors(scan: DataFrame) -> DataFrame:
    """Visitor hashes of the visitors with both a purchase and a possible search: the only ones
    that can credit (R7). Two visitors whose keys share a hash only keep each other in.
    """
    return (
        scan.where(F.col("visitor_hash").isNotNull())
        .groupBy("visitor_hash")
        .agg(F.max("has_purchase").alias("has_purchase"), F.max("has_search").alias("has_search"))
        .where(F.col("has_purchase") & F.col("has_search"))
        .select("visitor_hash")
    )


def collapse_plain_hits(hits: DataFrame, timeout_s: int) -> DataFrame:
    """Keep searches and purchases, and of the other hits only what decides visit boundaries (R3).

    A visitor's plain hits inside one timeout-wide time bucket are less than a timeout apart, so
    no visit can end between the first and the last of them: keeping those two leaves every
    boundary where it was. With timeout 0 no visit ever ends and plain hits are dropped. This
    shrinks a heavy visitor (a proxy with millions of hits) before its hits meet in one task.
    Input and output columns: visitor, hit_time_gmt, pos, revenue, search_referrer.
    """
    is_touch = F.col("revenue").isNotNull() | F.col("search_referrer").isNotNull()
    if timeout_s == 0:
        return hits.where(is_touch)
    bucket = F.when(~is_touch, F.floor(F.col("hit_time_gmt") / F.lit(timeout_s)))
    # A touch is its own group (its position is a key); plain hits group by visitor and bucket.
    grouped = hits.groupBy(
        "visitor",
        bucket.alias("bucket"),
        F.when(is_touch, F.col("pos")).alias("touch_pos"),
        "revenue",
        "search_referrer",
    ).agg(F.min("hit_time_gmt").alias("first_time"), F.max("hit_time_gmt").alias("last_time"))
    is_touch_group = F.col("touch_pos").isNotNull()
    times = F.when(is_touch_group, F.array("first_time")).otherwise(F.array("first_time", "last_time"))
    return grouped.select(
        "visitor",
        F.explode(times).alias("hit_time_gmt"),
        F.col("touch_pos").alias("pos"),
        "revenue",
        "search_referrer",
    )


def with_visit_no(hits: DataFrame, timeout_s: int) -> DataFrame:
    """Number each visitor's visits in R3 order: time, then file position (R3)."""
    by_visitor = Window.partitionBy("visitor").orderBy("hit_time_gmt", "pos")
    gap_s = F.col("hit_time_gmt") - F.lag("hit_time_gmt").over(by_visitor)
    # R3: timeout 0 never splits a visit, and a gap equal to the timeout continues it.
    opens_visit = gap_s.isNull() | (F.lit(timeout_s > 0) & (gap_s > timeout_s))
    up_to_here = by_visitor.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    return hits.withColumn("visit_no", F.sum(opens_visit.cast("int")).over(up_to_here))


def attribute_revenue(hits: DataFrame, model: Attribution) -> DataFrame:
    """Credit each purchase to the last (or first) search of its visit at or before it (R7)."""
    by_visitor = Window.partitionBy("visitor").orderBy("hit_time_gmt", "pos")
    up_to_here = by_visitor.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    before_here = by_visitor.rowsBetween(Window.unboundedPreceding, -1)
    is_search = F.col("search").isNotNull()
    if model == "last":
        is_candidate = is_search
    else:
        previous_search_visit = F.last(F.when(is_search, F.col("visit_no")), ignorenulls=True).over(before_here)
        is_candidate = is_search & ~previous_search_visit.eqNullSafe(F.col("visit_no"))
    candidate = F.when(is_candidate, F.struct(F.col("visit_no"), F.col("search")))
    credited = F.last(candidate, ignorenulls=True).over(up_to_here)
    purchases = hits.select("visit_no", "revenue", credited.alias("credited")).where(F.col("revenue").isNotNull())
    attributed = purchases.where(F.col("credited.visit_no") == F.col("visit_no"))
    return attributed.groupBy(
        F.col("credited.search.domain").alias("domain"), F.col("credited.search.keyword").alias("keyword")
    ).agg(F.sum("revenue").alias("revenue"), F.count(F.lit(1)).alias("purchases"))


def run_spark_engine(
    spark: SparkSession, path: str, settings: RuleSettings, on_reject: RejectSink, *, source: str | None = None
) -> EngineResult:
    """Compute the keyword revenue of one file with Spark (R1-R8).

    Raises:
        InputError: the file as a whole cannot be read, or the path is not one file (R1).
        RejectThresholdExceededError: too many rows were rejected (R2).
    """
    name = source or path
    with pinned_settings(spark):
        uri = single_input_uri(spark, path, name)
        try:
            return _run(spark, uri, name, settings, on_reject)
        except (Py4JJavaError, PySparkException) as err:
            if compression_of(path) is not None and _looks_like_codec_failure(str(err)):
                raise CorruptCompressionError(name, _first_line(str(err))) from err
            raise


def _run(spark: SparkSession, uri: str, source: str, settings: RuleSettings, on_reject: RejectSink) -> EngineResult:
    lines = read_hit_lines(spark, uri)
    header = lines.where(is_header_line()).select(F.col("line").cast("binary").alias("line")).first()
    columns = parse_header(decode_line(b"" if header is None else bytes(header["line"])), source)
    functions = register_hit_line_functions(spark, columns, settings.search_engines)
    scan = summarise_scan(classify_lines(lines, columns, functions), functions).persist()
    try:
        totals_row = scan.agg(
            *(F.coalesce(F.sum(name), F.lit(0)).alias(name) for name in ("rows_read", "rejected", "purchases")),
            F.sum("revenue").alias("revenue"),
            F.count(F.when((F.col("purchases") > 0) & F.col("revenue").isNull(), 1)).alias("overflows"),
        ).first()
        assert totals_row is not None  # a global aggregate always has one row
        rows_read, rejected, purchases = totals_row["rows_read"], totals_row["rejected"], totals_row["purchases"]
        if totals_row["overflows"]:
            raise AmountOverflowError("total revenue")
        total_revenue = _exact(totals_row["revenue"], "total revenue") if purchases else ZERO
        if rejected:
            _send_rejects(scan, source, rejected, rows_read, settings.max_reject_ratio, on_reject)
        keyword_rows = attributed_keywords(lines, columns, functions, qualified_visitors(scan), settings).collect()
    finally:
        scan.unpersist()
    by_keyword = {(row["domain"], row["keyword"]): _exact(row["revenue"], "keyword revenue") for row in keyword_rows}
    attributed_purchases = sum(int(row["purchases"]) for row in keyword_rows)
    attributed_revenue = sum_amounts(by_keyword.values())
    totals = RunTotals.with_unattributed(
        rows_read=rows_read,
        rejected=rejected,
        purchases=purchases,
        total_revenue=total_revenue,
        attributed_purchases=attributed_purchases,
        attributed_revenue=attributed_revenue,
    )
    return EngineResult(rank_keyword_revenue(by_keyword), totals)


def attributed_keywords(
    lines: DataFrame, columns: HitColumns, functions: HitLineFunctions, qualified: DataFrame, settings: RuleSettings
) -> DataFrame:
    """The second pass: revenue and purchases per (domain, keyword) of the qualified visitors (R3-R7)."""
    # R3: a visit needs every hit of its visitor, so shrink by whole visitors only: one with no
    # purchase or no possible search hit can credit nothing, and all its hits are dropped together.
    # Only the lines that survive are parsed in full.
    data = lines.where(is_data_line()).select("pos", "line", functions.visitor_key(F.col("line")).alias("visitor"))
    hashed = data.withColumn("visitor_hash", visitor_hash(F.col("visitor")))
    survivors = hashed.join(F.broadcast(qualified), on="visitor_hash", how="left_semi")
    classified = classify_lines(survivors, columns, functions)
    # R2: a rejected row takes no part in any visit. Nulling its visitor and its touches makes it
    # inert; a filter here would be pushed below the join by the optimizer and parse every line.
    is_kept = F.col("reject_reason").isNull()
    inert_if_rejected = [F.when(is_kept, F.col(name)).alias(name) for name in ATTRIBUTION_INPUTS]
    hits = classified.select("pos", *inert_if_rejected)
    visits = hits.transform(collapse_plain_hits, settings.visit_timeout_s).transform(
        with_visit_no, settings.visit_timeout_s
    )
    # Only searches and purchases matter once visits are numbered: the Python rule of R4 runs on
    # those rows alone, after the window, never on every hit.
    touches = visits.where(F.col("search_referrer").isNotNull() | F.col("revenue").isNotNull()).select(
        "visitor",
        "hit_time_gmt",
        "pos",
        "visit_no",
        "revenue",
        search_referral_column(F.col("search_referrer"), settings.search_engines).alias("search"),
    )
    return touches.transform(attribute_revenue, settings.attribution)


def _send_rejects(
    scan: DataFrame, source: str, rejected: int, rows_read: int, max_ratio: float, on_reject: RejectSink
) -> None:
    partitions = scan.groupBy("partition").agg(F.sum("lines").alias("lines"), F.min("block_start").alias("start"))
    line_no = _line_numbers(partitions.collect())
    rejects = scan.where(F.col("reject_pos").isNotNull()).select(
        "partition", F.col("reject_pos").alias("pos"), "reject_reason", "rejected_line"
    )
    ordered = rejects.orderBy("pos")
    first = ordered.first()
    first_text = "" if first is None else f"line {line_no(first)}: {first['reject_reason']}"
    check_reject_ratio(source, rejected, rows_read, max_ratio, first_text)
    for row in ordered.toLocalIterator():
        # R1: the row as the stream engine reads it: Python's replacement of invalid UTF-8.
        text = bytes(row["rejected_line"]).decode("utf-8", errors="replace")
        on_reject(RejectedRow(line_no(row), row["reject_reason"], text))


def _line_numbers(partitions: list[Row]) -> Callable[[Row], int]:
    """Map a row's (partition, pos) to its 1-based line number in the file (R2 rejects file)."""
    ordered = sorted(partitions, key=lambda row: row["partition"])
    starts = [row["start"] for row in ordered]
    if starts != sorted(starts):
        raise SearchRevenueError("Spark partitions are not in file order; line numbers would be wrong")
    offsets: dict[int, int] = {}
    seen = 0
    for row in ordered:
        offsets[row["partition"]] = seen
        seen += row["lines"]
    return lambda row: offsets[row["partition"]] + (row["pos"] & ROW_INDEX_MASK) + 1


def _exact(amount: Decimal | None, what: str) -> Decimal:
    # Spark returns NULL, not an error, when a decimal sum overflows 38 digits.
    if amount is None:
        raise AmountOverflowError(what)
    return amount


def _looks_like_codec_failure(message: str) -> bool:
    markers = ("EOFException", "ZipException", "not in GZIP format", "Unexpected end of input", "bzip2", "CRC")
    return any(marker in message for marker in markers)


def _first_line(message: str) -> str:
    return next((line.strip() for line in message.splitlines() if line.strip()), message)
