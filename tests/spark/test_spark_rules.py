"""The column forms in `spark_rules` agree with the pure functions they mirror."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from search_revenue.report.hit_rows import is_hit_time
from search_revenue.report.purchases import BadRevenueError, is_purchase, purchase_revenue
from search_revenue.report.referrers import parse_search_referrer
from search_revenue.report.settings import DEFAULT_SEARCH_ENGINES
from search_revenue.report.spark_rules import (
    could_be_search_referrer_column,
    is_hit_time_column,
    is_purchase_column,
    product_revenue_fields_column,
    purchase_revenue_column,
    reject_reason_column,
    revenue_reject_reason_column,
    search_referral_column,
)
from tests.strategies import PRODUCT_SAMPLES

VALUES = T.StructType([T.StructField("value", T.StringType())])

HIT_TIMES = ["0", "123", "0001", "9" * 18, "9" * 19, "", "-1", "1.0", " 1", "1 ", "١", "12\n", "12\u2028"]
EVENT_LISTS = ["1", "2,1", " 1 ,2", "10", "11,21", "100", "", "1\x0b", "\u00a01"]
PRODUCT_LISTS = ["", "a;b;1;190;", "a;b;1;0.1;,a;b;1;0.2", "a;b;1;-3", "a;b", "a;b;1; 4 ;x", "a;b;1;\f5\r;"]
REFERRERS = [
    "http://www.google.com/search?q=Ipod", "http://goo\rgle.com/?q=x", "HTTP://WWW.GOOGLE.COM/?q=Y",
    "http://www.esshopzilla.com/search/?k=ipod", "http://search.yahoo.com/search?p=cd+player", "no url at all",
    "http://www.google.com/search", "http://googleusercontent.com/?q=a", "http://a.b/?x=google",
    "http://google.com?q=no-path", "  http://www.bing.com/search?q=x", "ht\rtp://go\rogle.com/?q=cr",
    "http://shop.example/?from=http://www.google.com/search?q=x",
]  # fmt: skip


def _column_of(spark: SparkSession, values: list[str], expression) -> list[Any]:  # type: ignore[no-untyped-def]
    frame = spark.createDataFrame([(value,) for value in values], VALUES)
    return [row[0] for row in frame.select(expression(F.col("value"))).collect()]


def test_is_hit_time_column_agrees(spark: SparkSession) -> None:
    assert _column_of(spark, HIT_TIMES, is_hit_time_column) == [is_hit_time(value) for value in HIT_TIMES]


def test_is_purchase_column_agrees(spark: SparkSession) -> None:
    assert _column_of(spark, EVENT_LISTS, is_purchase_column) == [is_purchase(value) for value in EVENT_LISTS]


def test_purchase_revenue_column_agrees(spark: SparkSession) -> None:
    revenue = _column_of(spark, PRODUCT_LISTS, lambda c: purchase_revenue_column(product_revenue_fields_column(c)))
    assert revenue == [purchase_revenue(value) for value in PRODUCT_LISTS]
    assert all(isinstance(amount, Decimal) for amount in revenue)


def test_search_referral_column_agrees(spark: SparkSession) -> None:
    parsed = _column_of(spark, REFERRERS, lambda c: search_referral_column(c, DEFAULT_SEARCH_ENGINES))
    expected = [parse_search_referrer(value, DEFAULT_SEARCH_ENGINES) for value in REFERRERS]
    assert [None if row is None else tuple(row) for row in parsed] == [
        None if e is None else tuple(e) for e in expected
    ]


def test_search_prefilter_keeps_every_search(spark: SparkSession) -> None:
    kept = _column_of(spark, REFERRERS, lambda c: could_be_search_referrer_column(c, DEFAULT_SEARCH_ENGINES))
    for referrer, is_kept in zip(REFERRERS, kept, strict=True):
        if parse_search_referrer(referrer, DEFAULT_SEARCH_ENGINES) is not None:
            assert is_kept, referrer
    assert not all(kept), "the pre-filter should drop something"


@pytest.mark.parametrize("amount", ["12a", "1" * 19])
def test_bad_amounts_are_bad_in_both_forms(amount: str) -> None:
    with pytest.raises(BadRevenueError):
        purchase_revenue(f"a;b;1;{amount}")


@pytest.mark.parametrize(
    "product_list",
    [
        pytest.param("a;b;1;" + "1" * 19 + ";,a;b;1;12a;", id="range-then-bad"),
        pytest.param("a;b;1;12a;,a;b;1;" + "1" * 19, id="bad-then-range"),
        pytest.param("a;b;1;4;,a;b;1;0." + "1" * 13, id="ok-then-range"),
        pytest.param("a;b;1;4", id="ok"),
    ],
)
def test_reject_reason_follows_the_first_unusable_product(spark: SparkSession, product_list: str) -> None:
    try:
        purchase_revenue(product_list)
        expected = None
    except BadRevenueError as err:
        expected = err.reason
    reason = _column_of(
        spark,
        [product_list],
        lambda c: reject_reason_column(F.lit(12), F.lit("100"), F.lit(True), c, expected=12),
    )
    assert reason == [expected]


def test_revenue_reject_reason_agrees_on_product_lists(spark: SparkSession) -> None:
    samples = [*PRODUCT_LISTS, *PRODUCT_SAMPLES, "a;b;1;\u00e9", "a;b;1; -4.5 ;x;y", "a;b;1;1.", "a;b;1;.5"]
    lists = [f"{first},{second}" for first in samples for second in samples] + samples

    def python_reason(product_list: str) -> str | None:
        try:
            purchase_revenue(product_list)
        except BadRevenueError as err:
            return err.reason
        return None

    assert _column_of(spark, lists, revenue_reject_reason_column) == [python_reason(value) for value in lists]
