"""The rules of `hit_rows`, `purchases` and `referrers` as Spark column expressions.

Each function here mirrors one pure function, is built from the same constants, and is checked
against it by tests/spark/test_spark_rules.py, so the two forms cannot drift apart silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from search_revenue.report.purchases import (
    AMOUNT_FRACTION_DIGITS,
    AMOUNT_INTEGER_DIGITS,
    FIELD_WHITESPACE,
    PLAIN_DECIMAL,
    PRODUCT_FIELD_SEPARATOR,
    PRODUCT_SEPARATOR,
    REJECT_BAD_REVENUE,
    REJECT_REVENUE_RANGE,
    REVENUE_FIELD_INDEX,
    SUPPORTED_AMOUNT,
)
from search_revenue.report.referrers import parse_search_referrer

AMOUNT_TYPE = T.DecimalType(AMOUNT_INTEGER_DIGITS + AMOUNT_FRACTION_DIGITS, AMOUNT_FRACTION_DIGITS)
# A row's sum: 37 digits, so that adding one DECIMAL(30, 12) amount stays within 38 digits and
# Spark never trims the scale to make room.
ROW_REVENUE_TYPE = T.DecimalType(37, AMOUNT_FRACTION_DIGITS)
REFERRAL_TYPE = T.StructType([T.StructField("domain", T.StringType()), T.StructField("keyword", T.StringType())])


def _whole_match(pattern: str) -> str:
    # Java's `$` also matches before a trailing line terminator; `\\z` is the very end, as in
    # Python's `re.fullmatch`.
    return f"^(?:{pattern})\\z"


def _trimmed(value: Column) -> Column:
    return F.btrim(value, F.lit(FIELD_WHITESPACE))


def product_revenue_fields_column(product_list: Column) -> Column:
    """Column form of `purchases.product_revenue_fields` (R6): an array of trimmed strings."""
    products = F.split(product_list, PRODUCT_SEPARATOR)

    def revenue_field(product: Column) -> Column:
        amount = F.get(F.split(product, PRODUCT_FIELD_SEPARATOR), REVENUE_FIELD_INDEX)
        return F.coalesce(_trimmed(amount), F.lit(""))

    return F.transform(products, revenue_field)


def purchase_revenue_column(amounts: Column) -> Column:
    """Column form of `purchases.purchase_revenue` for amounts already validated (R6)."""
    zero = F.lit(0).cast(ROW_REVENUE_TYPE)

    def add_amount(total: Column, text: Column) -> Column:
        amount = F.when(text == "", F.lit(0)).otherwise(text).cast(AMOUNT_TYPE)
        return (total + amount).cast(ROW_REVENUE_TYPE)

    return F.aggregate(amounts, zero, add_amount)


def _product_pattern(amount: str) -> str:
    # One product of a product list whose revenue field (the fourth `;` field), trimmed, matches
    # `amount`; a product without a fourth field has an empty one.
    blank = f"[{re.escape(FIELD_WHITESPACE)}]*"
    other = f"[^{re.escape(PRODUCT_SEPARATOR + PRODUCT_FIELD_SEPARATOR)}]*"
    field_sep = re.escape(PRODUCT_FIELD_SEPARATOR)
    rest = f"(?:{field_sep}[^{re.escape(PRODUCT_SEPARATOR)}]*)?"
    assert REVENUE_FIELD_INDEX == 3, "the pattern spells out three fields before the revenue"
    revenue = f"{field_sep}{blank}(?:{amount}){blank}{rest}"
    return f"{other}(?:{field_sep}{other}(?:{field_sep}{other}(?:{revenue})?)?)?"


def revenue_reject_reason_column(product_list: Column) -> Column:
    """Column form of the R2 check in `purchases.purchase_revenue`: null when every amount is
    usable, else the reason of the first product whose amount is not.

    Regular expressions over the whole list instead of an array of amounts: higher-order
    functions have no generated code and would turn it off for the whole first pass.
    """
    separator = re.escape(PRODUCT_SEPARATOR)
    usable = _product_pattern(f"(?:{SUPPORTED_AMOUNT})?")
    all_usable = f"^{usable}(?:{separator}{usable})*\\z"
    # Possessive: skip exactly the usable products before the first unusable one.
    first_unusable_is_plain = f"^(?:{usable}{separator})*+{_product_pattern(PLAIN_DECIMAL)}(?:{separator}|\\z)"
    return F.when(
        ~product_list.rlike(all_usable),
        F.when(product_list.rlike(first_unusable_is_plain), REJECT_REVENUE_RANGE).otherwise(REJECT_BAD_REVENUE),
    )


def search_referral_column(referrer: Column, engines: Mapping[str, str]) -> Column:
    """Apply `referrers.parse_search_referrer` to a column (R4): a struct(domain, keyword) or null.

    A Python UDF, on purpose: R4 needs the public suffix list and Python's form decoding, which no
    Spark built-in offers, and one implementation keeps both engines byte-identical. It takes the
    referrer's bytes and decodes them as the stream engine does (Java replaces invalid UTF-8
    differently). The caller applies it only to the rows left after shrinking, never to every row.
    """
    table = dict(engines)

    def parse(value: bytes | None) -> tuple[str, str] | None:
        return None if value is None else parse_search_referrer(bytes(value).decode("utf-8", "replace"), table)

    return F.udf(parse, REFERRAL_TYPE)(referrer.cast("binary"))
