"""R5 and R6 as pure functions, and the money helpers (R8)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from search_revenue.errors import AmountOverflowError
from search_revenue.report.money import add_amounts, format_revenue
from search_revenue.report.purchases import (
    REJECT_BAD_REVENUE,
    REJECT_REVENUE_RANGE,
    BadRevenueError,
    is_purchase,
    product_revenue_fields,
    purchase_revenue,
)


@pytest.mark.parametrize(
    ("event_list", "expected"),
    [
        pytest.param("1", True, id="alone"),
        pytest.param("2, 1 ", True, id="trimmed"),
        pytest.param("\t1\x0b", True, id="ascii-white-space"),
        pytest.param("10,21", False, id="look-alikes"),
        pytest.param("11,100", False, id="more-look-alikes"),
        pytest.param("", False, id="empty"),
        pytest.param("1.0", False, id="not-an-item"),
    ],
)
def test_is_purchase(event_list: str, expected: bool) -> None:
    assert is_purchase(event_list) is expected


def test_product_revenue_fields_reads_the_fourth_field() -> None:
    assert product_revenue_fields("A;x;1;12.5;,B;y;2; 3 ;e,C;z,") == ["12.5", "3", "", ""]


@pytest.mark.parametrize(
    ("product_list", "expected"),
    [
        ("Electronics;Ipod;1;190;", Decimal("190")),
        ("a;b;1;0.1;,a;b;1;0.2;", Decimal("0.3")),
        ("a;b;1;-5;,a;b;1;2", Decimal("-3")),
        ("", Decimal(0)),
        ("a;b;1;007.50", Decimal("7.5")),
        ("a;b;1;" + "9" * 18 + "." + "9" * 12, Decimal("9" * 18 + "." + "9" * 12)),
    ],
)
def test_purchase_revenue_is_exact(product_list: str, expected: Decimal) -> None:
    assert purchase_revenue(product_list) == expected


@pytest.mark.parametrize(
    ("amount", "reason"),
    [("12a", REJECT_BAD_REVENUE), ("1e5", REJECT_BAD_REVENUE), ("12.", REJECT_BAD_REVENUE),
     (".5", REJECT_BAD_REVENUE), ("+5", REJECT_BAD_REVENUE), ("١٢", REJECT_BAD_REVENUE),
     ("1" * 19, REJECT_REVENUE_RANGE), ("0." + "1" * 13, REJECT_REVENUE_RANGE)],
)  # fmt: skip
def test_purchase_revenue_rejects_bad_amounts(amount: str, reason: str) -> None:
    with pytest.raises(BadRevenueError) as caught:
        purchase_revenue(f"a;b;1;{amount};")
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("amount", "printed"),
    [("0.125", "0.13"), ("0.135", "0.14"), ("2.5", "2.50"), ("-0.125", "-0.13"), ("0.004999", "0.00"),
     ("123456789012345678.995", "123456789012345679.00")],
)  # fmt: skip
def test_format_revenue_rounds_half_up(amount: str, printed: str) -> None:
    assert format_revenue(Decimal(amount)) == printed


def test_add_amounts_never_rounds() -> None:
    # 27 integer digits and 12 decimals need 39 significant digits: more than Spark's 38.
    with pytest.raises(AmountOverflowError):
        add_amounts(Decimal(10) ** 26, Decimal("0.000000000001"))
    assert add_amounts(Decimal("0.1"), Decimal("0.2")) == Decimal("0.3")
