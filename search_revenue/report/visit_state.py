"""R3 and R7 for the stream engine: per-visitor visits, and attribution when a visit closes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, NamedTuple

from search_revenue.report.money import ZERO, add_amounts
from search_revenue.report.referrers import SearchReferral
from search_revenue.report.settings import Attribution

# How far behind the newest hit a visitor's visit must have ended before it is closed and the
# visitor forgotten. Hits a little out of order (up to this many seconds) never force a re-read.
EVICTION_LAG_S: Final = 3600
_NEVER: Final = -(1 << 63)


class OutOfOrderError(Exception):
    """A hit belongs before a visit this pass already closed; the pass must retain visits."""

    def __init__(self, line_no: int) -> None:
        self.line_no = line_no
        super().__init__(f"line {line_no}: hit precedes a closed visit")


class Touch(NamedTuple):
    """A hit that matters to attribution: a search, a purchase, or both (R4, R5)."""

    time: int
    pos: int
    search: SearchReferral | None
    revenue: Decimal | None


class _Visit:
    __slots__ = ("end", "start", "touches")

    def __init__(self, start: int, end: int, touches: list[Touch] | None) -> None:
        self.start = start
        self.end = end
        self.touches = touches


class _Visitor:
    __slots__ = ("closed_until", "visits")

    def __init__(self, visit: _Visit, closed_until: int) -> None:
        self.visits = [visit]
        self.closed_until = closed_until


@dataclass(slots=True)
class AttributedRevenue:
    """Revenue per (domain, keyword) and the attributed totals (R7)."""

    by_keyword: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    attributed_purchases: int = 0
    attributed_revenue: Decimal = ZERO


def attribute_visit(touches: Iterable[Touch], model: Attribution, into: AttributedRevenue) -> None:
    """Credit each purchase of one visit to its last (or first) search at or before it (R7)."""
    credited: SearchReferral | None = None
    for touch in sorted(touches):
        if touch.search is not None and (model == "last" or credited is None):
            credited = touch.search
        if touch.revenue is None or credited is None:
            continue  # a purchase with no search in its visit stays unattributed (R7)
        into.attributed_purchases += 1
        into.attributed_revenue = add_amounts(into.attributed_revenue, touch.revenue)
        key = (credited.domain, credited.keyword)
        into.by_keyword[key] = add_amounts(into.by_keyword.get(key, ZERO), touch.revenue)


class VisitAttributor:
    """Group each visitor's hits into visits (R3) and attribute each visit once it ends (R7)."""

    def __init__(self, timeout_s: int, model: Attribution, *, retain_visits: bool) -> None:
        # R3: timeout 0 means a visit never ends, which is a reach larger than any time gap.
        self._reach = timeout_s if timeout_s > 0 else 1 << 64
        self._model = model
        self._retain = retain_visits or timeout_s == 0
        self._visitors: dict[str, _Visitor] = {}
        self._result = AttributedRevenue()
        self._newest = _NEVER
        self._forgotten_reach = _NEVER

    def add(self, visitor: str, time: int, pos: int, search: SearchReferral | None, revenue: Decimal | None) -> None:
        """Place one valid hit of a visitor (R3); `pos` orders hits of equal time."""
        if time > self._newest:
            self._newest = time
        touch = None if search is None and revenue is None else Touch(time, pos, search, revenue)
        state = self._visitors.get(visitor)
        if state is None:
            if time <= self._forgotten_reach:
                raise OutOfOrderError(pos)
            self._visitors[visitor] = _Visitor(
                _Visit(time, time, None if touch is None else [touch]), self._forgotten_reach
            )
            return
        last = state.visits[-1]
        if time < last.end:
            self._insert(state, time, touch, pos)
        elif time - last.end <= self._reach:  # the usual case: the visit goes on
            last.end = time
            if touch is not None:
                if last.touches is None:
                    last.touches = [touch]
                else:
                    last.touches.append(touch)
        else:
            if not self._retain:
                self._close(state)
            state.visits.append(_Visit(time, time, None if touch is None else [touch]))

    def finish(self) -> AttributedRevenue:
        """Attribute every visit still open and return the result (R7)."""
        for state in self._visitors.values():
            self._close(state)
        self._visitors.clear()
        return self._result

    def _close(self, state: _Visitor) -> None:
        for visit in state.visits:
            if visit.touches is not None:
                attribute_visit(visit.touches, self._model, self._result)
        state.closed_until = max(state.closed_until, state.visits[-1].end)
        state.visits = []

    def _insert(self, state: _Visitor, time: int, touch: Touch | None, pos: int) -> None:
        reach = self._reach
        if state.closed_until != _NEVER and time <= state.closed_until + reach:
            raise OutOfOrderError(pos)
        joined = [visit for visit in state.visits if visit.start - reach <= time <= visit.end + reach]
        kept = [visit for visit in state.visits if visit not in joined]
        merged = _Visit(time, time, None if touch is None else [touch])
        for visit in joined:
            merged.start = min(merged.start, visit.start)
            merged.end = max(merged.end, visit.end)
            if visit.touches is not None:
                merged.touches = (merged.touches or []) + visit.touches
        state.visits = sorted([*kept, merged], key=lambda visit: visit.start)

    def forget_ended_visitors(self) -> None:
        """Close and forget visitors idle long enough that no in-order hit can reach them (R3)."""
        if self._retain:
            return
        horizon = self._newest - self._reach - EVICTION_LAG_S
        ended = [key for key, state in self._visitors.items() if state.visits[-1].end < horizon]
        for key in ended:
            state = self._visitors.pop(key)
            self._close(state)
            self._forgotten_reach = max(self._forgotten_reach, state.closed_until + self._reach)
