"""R5 and R6: purchase hits and their revenue, as exact decimals."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

from search_revenue.report.money import ZERO, add_amounts

PURCHASE_EVENT: Final = "1"
EVENT_SEPARATOR: Final = ","
PRODUCT_SEPARATOR: Final = ","
PRODUCT_FIELD_SEPARATOR: Final = ";"
REVENUE_FIELD_INDEX: Final = 3  # R6: the fourth `;` field of a product is its total revenue
# R5/R6 trim items and fields of ASCII white space (a tab cannot occur inside a field).
FIELD_WHITESPACE: Final = " \t\n\r\f\v"

# R2: a plain decimal number: digits, an optional fraction, an optional leading minus.
PLAIN_DECIMAL: Final = r"-?[0-9]+(?:\.[0-9]+)?"
# Amounts are carried exactly as DECIMAL(30, 12): 18 integer and 12 fraction digits. A plain
# decimal beyond that is rejected rather than rounded, so no engine changes a number silently.
AMOUNT_INTEGER_DIGITS: Final = 18
AMOUNT_FRACTION_DIGITS: Final = 12
SUPPORTED_AMOUNT: Final = rf"-?[0-9]{{1,{AMOUNT_INTEGER_DIGITS}}}(?:\.[0-9]{{1,{AMOUNT_FRACTION_DIGITS}}})?"

_PLAIN_DECIMAL = re.compile(PLAIN_DECIMAL)
_SUPPORTED_AMOUNT = re.compile(SUPPORTED_AMOUNT)


class BadRevenueError(ValueError):
    """A purchase hit's revenue field is not a usable decimal (R2)."""

    def __init__(self, reason: str, value: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {value!r}")


def is_purchase(event_list: str) -> bool:
    """Tell whether a hit's event list holds the purchase event (R5)."""
    if PURCHASE_EVENT not in event_list:  # cheap exact pre-check: most hits carry no "1" at all
        return False
    items = event_list.split(EVENT_SEPARATOR)
    return PURCHASE_EVENT in items or PURCHASE_EVENT in [item.strip(FIELD_WHITESPACE) for item in items]


def product_revenue_fields(product_list: str) -> list[str]:
    """Return each product's trimmed total-revenue field, empty when missing (R6)."""
    fields = []
    for product in product_list.split(PRODUCT_SEPARATOR):
        attributes = product.split(PRODUCT_FIELD_SEPARATOR)
        amount = attributes[REVENUE_FIELD_INDEX] if len(attributes) > REVENUE_FIELD_INDEX else ""
        fields.append(amount.strip(FIELD_WHITESPACE))
    return fields


def purchase_revenue(product_list: str) -> Decimal:
    """Sum a purchase hit's product revenues exactly (R6).

    Raises:
        BadRevenueError: a non-empty field is not a plain decimal, or is outside DECIMAL(30, 12) (R2).
    """
    total = ZERO
    for amount in product_revenue_fields(product_list):
        if not amount:
            continue
        if _PLAIN_DECIMAL.fullmatch(amount) is None:
            raise BadRevenueError(REJECT_BAD_REVENUE, amount)
        if _SUPPORTED_AMOUNT.fullmatch(amount) is None:
            raise BadRevenueError(REJECT_REVENUE_RANGE, amount)
        total = add_amounts(total, Decimal(amount))
    return total


REJECT_BAD_REVENUE: Final = "purchase revenue is not a plain decimal number"
REJECT_REVENUE_RANGE: Final = "purchase revenue exceeds 18 integer or 12 fraction digits"
