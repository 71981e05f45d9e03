"""The PySpark engine: the same rules as the stream engine, for files of any size (R1-R8)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from decimal import Decimal

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame, Row, SparkSession, Window
from pyspark.sql import functions as F

from search_revenue.errors import AmountOverflowError, CorruptCompressionError, SearchRevenueError
from search_revenue.report.hit_rows import decode_line, parse_header
from search_revenue.report.money import ZERO, sum_amounts
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
from search_revenue.report.spark_jvm_rules import (
    ROW_KIND_PURCHASE,
    ROW_KIND_SEARCH_VISITOR,
    ROW_KIND_SUMMARY,
    line_scans,
)
from search_revenue.report.spark_lines import (
    ROW_INDEX_MASK,
    is_header_line,
    read_hit_lines,
    read_text,
    single_input_uri,
)
from search_revenue.report.spark_rules import (
    product_revenue_fields_column,
    purchase_revenue_column,
    revenue_reject_reason_column,
    search_referral_column,
)
from search_revenue.report.spark_session import pinned_settings

log = logging.getLogger(__name__)


def with_revenue_rules(scan: DataFrame) -> DataFrame:
    """The first pass's rows with the revenue rules applied to its purchase hits (R2, R6): a
    purchase keeps a null `reject_reason` and gets its `revenue`, or is rejected. The rules run
    here, on purchase rows alone.
    """
    is_purchase = F.col("kind") == ROW_KIND_PURCHASE
    product_list = F.col("product_list").cast("string")
    reason = F.when(is_purchase, revenue_reject_reason_column(product_list)).otherwise(F.col("reject_reason"))
    return scan.select(
        "kind",
        "partition",
        "pos",
        "block_start",
        "lines",
        "rows_read",
        "visitor_hash",
        "visitor_hashes",
        reason.alias("reject_reason"),
        F.when(reason.isNotNull(), F.col("line")).alias("line"),
        F.when(is_purchase & reason.isNull(), _revenue_of(product_list)).alias("revenue"),
    )


def _revenue_of(product_list: Column) -> Column:
    # R6 on a product list whose amounts are all usable; a higher-order function, on purchases only.
    return purchase_revenue_column(product_revenue_fields_column(product_list))


def collapse_plain_hits(hits: DataFrame, timeout_s: int) -> DataFrame:
    """Keep searches and purchases, and of the other hits only what decides visit boundaries (R3).

    A visitor's plain hits inside one timeout-wide time bucket are less than a timeout apart, so
    no visit can end between the first and the last of them: keeping those two leaves every
    boundary where it was. With timeout 0 no visit ever ends and plain hits are dropped. This
    shrinks a heavy visitor (a proxy with millions of hits) before its hits meet in one task.
    Input and output columns: visitor, hit_time_gmt, pos, revenue, search.
    """
    is_touch = F.col("revenue").isNotNull() | F.col("search").isNotNull()
    if timeout_s == 0:
        return hits.where(is_touch)
    bucket = F.when(~is_touch, F.floor(F.col("hit_time_gmt") / F.lit(timeout_s)))
    # A touch is its own group (its position is a key); plain hits group by visitor and bucket.
    grouped = hits.groupBy(
        "visitor",
        bucket.alias("bucket"),
        F.when(is_touch, F.col("pos")).alias("touch_pos"),
        "revenue",
        "search",
    ).agg(F.min("hit_time_gmt").alias("first_time"), F.max("hit_time_gmt").alias("last_time"))
    is_touch_group = F.col("touch_pos").isNotNull()
    times = F.when(is_touch_group, F.array("first_time")).otherwise(F.array("first_time", "last_time"))
    return grouped.select(
        "visitor",
        F.explode(times).alias("hit_time_gmt"),
        F.col("touch_pos").alias("pos"),
        "revenue",
        "search",
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


def pass_partitions(spark: SparkSession) -> int:
    """How many partitions each pass's rows are read in once they are cached.

    Twice the tasks the session runs at once: every later job over those few rows then runs that
    many tasks, not one per split of the file (10 GB: 81). The pass itself, the job that fills the
    cache, still runs one task per split, so it uses every core the cluster has by then.
    """
    return 2 * spark.sparkContext.defaultParallelism


def _run(spark: SparkSession, uri: str, source: str, settings: RuleSettings, on_reject: RejectSink) -> EngineResult:
    header = read_hit_lines(spark, uri).where(is_header_line()).select(F.col("line").cast("binary").alias("line"))
    first = header.first()
    columns = parse_header(decode_line(b"" if first is None else bytes(first["line"])), source)
    scans = line_scans(spark, columns, settings.search_engines)
    text = read_text(spark, uri)
    partitions = pass_partitions(spark)
    cached_scan = scans.first_pass(text).transform(with_revenue_rules).persist()
    scan = cached_scan.coalesce(partitions)
    try:
        is_rejected = F.col("reject_reason").isNotNull()
        is_kept_purchase = (F.col("kind") == ROW_KIND_PURCHASE) & ~is_rejected
        is_summary = F.col("kind") == ROW_KIND_SUMMARY
        # Everything the run reports, in one job over the first pass's few rows; the job that
        # runs the pass and fills its cache, one task per split.
        totals_row = cached_scan.agg(
            F.collect_list(F.when(is_summary, F.struct("partition", "block_start", "lines"))).alias("partitions"),
            F.coalesce(F.sum("rows_read"), F.lit(0)).alias("rows_read"),
            F.count(F.when(is_rejected, 1)).alias("rejected"),
            F.min(F.when(is_rejected, F.struct("pos", "partition", "reject_reason"))).alias("first_reject"),
            F.count(F.when(is_kept_purchase, 1)).alias("purchases"),
            F.sum("revenue").alias("revenue"),
            F.count(F.when(is_kept_purchase & F.col("revenue").isNull(), 1)).alias("overflows"),
        ).first()
        assert totals_row is not None  # a global aggregate always has one row
        rows_read, rejected = int(totals_row["rows_read"]), int(totals_row["rejected"])
        purchase_count = int(totals_row["purchases"])
        if totals_row["overflows"]:
            raise AmountOverflowError("total revenue")
        total_revenue = _exact(totals_row["revenue"], "total revenue") if purchase_count else ZERO
        if rejected:
            line_no = _line_numbers(totals_row["partitions"])
            first_reject = totals_row["first_reject"]
            first_text = f"line {line_no(first_reject)}: {first_reject['reject_reason']}"
            check_reject_ratio(source, rejected, rows_read, settings.max_reject_ratio, first_text)
            _send_rejects(scan.where(is_rejected), line_no, on_reject)
        visitors = scan.where(is_kept_purchase | (F.col("kind") == ROW_KIND_SEARCH_VISITOR))
        cached_hits = scans.qualified_hits(text, visitors).persist()
        try:
            # Fill the cache first, one task per split: the two jobs that read it next start
            # together, and each would otherwise scan the file for it.
            cached_hits.count()
            keyword_rows = attributed_keywords(cached_hits.coalesce(partitions), settings).collect()
        finally:
            cached_hits.unpersist()
    finally:
        cached_scan.unpersist()
    by_keyword = {(row["domain"], row["keyword"]): _exact(row["revenue"], "keyword revenue") for row in keyword_rows}
    attributed_purchases = sum(int(row["purchases"]) for row in keyword_rows)
    attributed_revenue = sum_amounts(by_keyword.values())
    totals = RunTotals.with_unattributed(
        rows_read=rows_read,
        rejected=rejected,
        purchases=purchase_count,
        total_revenue=total_revenue,
        attributed_purchases=attributed_purchases,
        attributed_revenue=attributed_revenue,
    )
    return EngineResult(rank_keyword_revenue(by_keyword), totals)


def attributed_keywords(hits: DataFrame, settings: RuleSettings) -> DataFrame:
    """The second pass: revenue and purchases per (domain, keyword) of the qualified visitors'
    hits (`LineScans.qualified_hits`, persisted: read twice) (R2-R7).
    """
    # R2: a purchase whose revenue fields are rejected takes no part in any visit.
    product_list = F.col("product_list").cast("string")
    kept = hits.where(F.col("product_list").isNull() | revenue_reject_reason_column(product_list).isNull())
    revenue = F.when(F.col("product_list").isNotNull(), _revenue_of(product_list))
    # R4 runs once per distinct referrer, before the visitor's hits are brought together: the
    # Python rule would otherwise sit between two windows, and Spark shuffles again after it.
    searches = search_referrals(hits, settings.search_engines)
    inputs = kept.join(F.broadcast(searches), on="search_referrer", how="left").select(
        "visitor", "hit_time_gmt", "pos", revenue.alias("revenue"), "search"
    )
    # One shuffle by visitor serves the collapse, both windows and the attribution.
    # A fixed count: coalesced by size, this shuffle left three tasks for two cores here; at two
    # tasks per core each task's sort spilled to disk (10 GB here), at eight none did.
    partitions = 8 * hits.sparkSession.sparkContext.defaultParallelism
    visits = (
        inputs.repartition(partitions, "visitor")
        .transform(collapse_plain_hits, settings.visit_timeout_s)
        .transform(with_visit_no, settings.visit_timeout_s)
    )
    touches = visits.where(F.col("search").isNotNull() | F.col("revenue").isNotNull())
    return touches.select("visitor", "hit_time_gmt", "pos", "visit_no", "revenue", "search").transform(
        attribute_revenue, settings.attribution
    )


def search_referrals(hits: DataFrame, engines: Mapping[str, str]) -> DataFrame:
    """Each distinct referrer of a possible search hit among `hits` with its (domain, keyword),
    or null when it is no external search (R4): columns search_referrer, search.
    """
    referrers = hits.where(F.col("search_referrer").isNotNull()).select("search_referrer").distinct()
    search = search_referral_column(F.col("search_referrer"), engines)
    # No filter on the result: Spark would push it below the distinct and run R4 on every row.
    return referrers.select("search_referrer", search.alias("search"))


def _send_rejects(rejects: DataFrame, line_no: Callable[[Row], int], on_reject: RejectSink) -> None:
    # One task sorts them (they are at most the reject threshold's share of the rows): a global
    # sort would run two jobs over every partition of the first pass.
    for row in rejects.coalesce(1).sortWithinPartitions("pos").toLocalIterator():
        # R1: the row as the stream engine reads it: Python's replacement of invalid UTF-8.
        text = bytes(row["line"]).decode("utf-8", errors="replace")
        on_reject(RejectedRow(line_no(row), row["reject_reason"], text))


def _line_numbers(partitions: list[Row]) -> Callable[[Row], int]:
    """Map a row's (partition, pos) to its 1-based line number in the file (R2 rejects file)."""
    ordered = sorted(partitions, key=lambda row: row["partition"])
    starts = [row["block_start"] for row in ordered]
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
