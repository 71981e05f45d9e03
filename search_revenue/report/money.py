"""Exact money arithmetic (R6) and printing with half-up rounding (R8)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, InvalidOperation, Overflow
from typing import Final

from search_revenue.errors import AmountOverflowError

# Spark's widest decimal is 38 digits; sums are carried at that precision and an inexact result
# is an error, never a silent rounding (Python's default context rounds at 28 digits).
MONEY_CONTEXT: Final = Context(prec=38, rounding=ROUND_HALF_UP, traps=[Inexact, InvalidOperation, Overflow])
CENT: Final = Decimal("0.01")
ZERO: Final = Decimal(0)


def add_amounts(left: Decimal, right: Decimal) -> Decimal:
    """Add two amounts exactly (R6)."""
    try:
        return MONEY_CONTEXT.add(left, right)
    except (Inexact, Overflow) as err:
        raise AmountOverflowError(f"{left} + {right}") from err


def sum_amounts(amounts: Iterable[Decimal]) -> Decimal:
    """Add any number of amounts exactly (R6)."""
    total = ZERO
    for amount in amounts:
        total = add_amounts(total, amount)
    return total


def subtract_amounts(left: Decimal, right: Decimal) -> Decimal:
    """Subtract one amount from another exactly (R6)."""
    return add_amounts(left, -right)


def format_revenue(amount: Decimal) -> str:
    """Print an amount with exactly two decimals, rounding half-up (R8)."""
    return str(amount.quantize(CENT, rounding=ROUND_HALF_UP, context=Context(prec=60)))
