"""Collapsing plain hits before the visit window keeps every visit boundary (R3)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from search_revenue.report.spark_engine import collapse_plain_hits, with_visit_no
from search_revenue.report.spark_rules import REFERRAL_TYPE, ROW_REVENUE_TYPE

HITS = T.StructType([
    T.StructField("visitor", T.StringType()),
    T.StructField("hit_time_gmt", T.LongType()),
    T.StructField("pos", T.LongType()),
    T.StructField("revenue", ROW_REVENUE_TYPE),
    T.StructField("search", REFERRAL_TYPE),
])  # fmt: skip
SEARCH = ("google.com", "ipod")
HitRow = tuple[str, int, int, Decimal | None, tuple[str, str] | None]


def _hits(spark: SparkSession, rows: list[HitRow]) -> DataFrame:
    return spark.createDataFrame(rows, HITS)


def _touch_visits(hits: DataFrame, timeout_s: int) -> list[tuple[str, int, int]]:
    visits = with_visit_no(hits, timeout_s).where(F.col("revenue").isNotNull() | F.col("search").isNotNull())
    return sorted((row["visitor"], row["pos"], row["visit_no"]) for row in visits.collect())


def test_heavy_visitor_shrinks_to_two_plain_hits_per_bucket(spark: SparkSession) -> None:
    # A proxy address: 5,000 plain hits a second apart (three 1800 s buckets), one search, one purchase.
    plain: list[HitRow] = [("proxy", second, second + 10, None, None) for second in range(5000)]
    touches: list[HitRow] = [("proxy", 100, 1, None, SEARCH), ("proxy", 4900, 2, Decimal(9), None)]
    hits = _hits(spark, plain + touches)
    collapsed = collapse_plain_hits(hits, 1800)
    assert collapsed.count() == 2 * 3 + 2
    assert _touch_visits(collapsed, 1800) == _touch_visits(hits, 1800) == [("proxy", 1, 1), ("proxy", 2, 1)]


def test_timeout_zero_keeps_only_touches(spark: SparkSession) -> None:
    hits = _hits(spark, [("v", 1, 1, None, None), ("v", 5, 2, None, SEARCH), ("v", 10**9, 3, Decimal(1), None)])
    assert sorted(row["pos"] for row in collapse_plain_hits(hits, 0).collect()) == [2, 3]


hit_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b"]),
        st.integers(min_value=0, max_value=20_000),
        st.sampled_from(["plain", "plain", "plain", "search", "purchase"]),
    ),
    max_size=60,
)


@settings(max_examples=25, deadline=None)
@given(rows=hit_rows, timeout_s=st.sampled_from([0, 60, 1800]))
def test_collapse_keeps_the_visit_of_every_search_and_purchase(
    spark: SparkSession, rows: list[tuple[str, int, str]], timeout_s: int
) -> None:
    hits = _hits(
        spark,
        [
            (visitor, time, pos, Decimal(1) if kind == "purchase" else None, SEARCH if kind == "search" else None)
            for pos, (visitor, time, kind) in enumerate(rows)
        ],
    )
    assert _touch_visits(collapse_plain_hits(hits, timeout_s), timeout_s) == _touch_visits(hits, timeout_s)
