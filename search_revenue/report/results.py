"""What a run produces: ranked keyword revenue (R8), totals, rejected rows (R2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Final, Protocol

from search_revenue.errors import RejectThresholdExceededError
from search_revenue.report.money import ZERO, format_revenue, subtract_amounts

TABLE_HEADER: Final = ("Search Engine Domain", "Search Keyword", "Revenue")


@dataclass(frozen=True, slots=True)
class KeywordRevenue:
    """Revenue attributed to one search engine domain and keyword (R7)."""

    domain: str
    keyword: str
    revenue: Decimal


@dataclass(frozen=True, slots=True)
class RejectedRow:
    """A data row left out of every step, with its line number and reason (R2)."""

    line_no: int
    reason: str
    text: str


@dataclass(frozen=True, slots=True)
class RunTotals:
    """Counts and sums of one run, for the summary (R2, R7)."""

    rows_read: int
    rejected: int
    purchases: int
    total_revenue: Decimal
    attributed_purchases: int
    attributed_revenue: Decimal
    unattributed_purchases: int
    unattributed_revenue: Decimal

    @classmethod
    def with_unattributed(
        cls, *, rows_read: int, rejected: int, purchases: int, total_revenue: Decimal,
        attributed_purchases: int, attributed_revenue: Decimal,
    ) -> RunTotals:  # fmt: skip
        """Totals whose unattributed part is what attribution did not credit (R7)."""
        return cls(
            rows_read=rows_read,
            rejected=rejected,
            purchases=purchases,
            total_revenue=total_revenue,
            attributed_purchases=attributed_purchases,
            attributed_revenue=attributed_revenue,
            unattributed_purchases=purchases - attributed_purchases,
            unattributed_revenue=subtract_amounts(total_revenue, attributed_revenue),
        )


@dataclass(frozen=True, slots=True)
class EngineResult:
    """The ranked table and the totals an engine computed."""

    keyword_revenue: list[KeywordRevenue]
    totals: RunTotals


class RejectSink(Protocol):
    """Receives rejected rows in line order."""

    def __call__(self, row: RejectedRow, /) -> None: ...


def rank_keyword_revenue(revenue_by_keyword: Mapping[tuple[str, str], Decimal]) -> list[KeywordRevenue]:
    """Keep keywords with revenue above 0, by revenue descending, then domain, then keyword (R8)."""
    rows = [KeywordRevenue(domain, keyword, revenue) for (domain, keyword), revenue in revenue_by_keyword.items()]
    positive = [row for row in rows if row.revenue > ZERO]
    return sorted(positive, key=lambda row: (-row.revenue, row.domain, row.keyword))


def render_table(rows: Iterable[KeywordRevenue]) -> str:
    """Render the tab-delimited report with LF line ends (R8)."""
    lines = ["\t".join(TABLE_HEADER)]
    lines += [f"{row.domain}\t{row.keyword}\t{format_revenue(row.revenue)}" for row in rows]
    return "\n".join(lines) + "\n"


def render_reject(row: RejectedRow) -> str:
    """Render one rejects-file line: line number, reason, the row verbatim (R2)."""
    return f"{row.line_no}\t{row.reason}\t{row.text}\n"


def check_reject_ratio(source: str, rejected: int, rows_read: int, max_ratio: float, first: str) -> None:
    """Fail the run when rejected rows exceed the allowed share of data rows (R2)."""
    if rejected > Fraction(str(max_ratio)) * rows_read:
        raise RejectThresholdExceededError(source, rejected, rows_read, max_ratio, first)
