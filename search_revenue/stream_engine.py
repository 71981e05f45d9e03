"""The single-pass engine: one machine, memory bounded by the visitors still active (R1-R8)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Final

from search_revenue.hit_rows import (
    REJECT_BAD_HIT_TIME,
    REJECT_FIELD_COUNT,
    is_hit_time,
    parse_header,
    read_line_batches,
)
from search_revenue.money import ZERO, add_amounts
from search_revenue.purchases import BadRevenueError, is_purchase, purchase_revenue
from search_revenue.referrers import SearchReferral, parse_search_referrer
from search_revenue.report import EngineResult, RejectedRow, RejectSink, RunTotals, check_reject_ratio
from search_revenue.settings import RuleSettings
from search_revenue.sources import open_hit_file
from search_revenue.visit_state import OutOfOrderError, VisitAttributor

log = logging.getLogger(__name__)

REFERRER_CACHE_SIZE: Final = 200_000


def run_stream_engine(source: str, settings: RuleSettings, on_reject: RejectSink) -> EngineResult:
    """Compute the keyword revenue of a local file in one pass (R1-R8).

    A file whose hits come in time order is read once, closing visits as soon as they end. If a
    hit arrives too far out of order to fit a visit already closed, the file is read again with
    every visit kept open to the end, so the R3 order holds for any row order.

    Raises:
        InputError: the file as a whole cannot be read (R1).
        RejectThresholdExceededError: too many rows were rejected (R2).
    """
    try:
        return _scan(source, settings, on_reject, retain_visits=False, rejects_sent_through=0)
    except OutOfOrderError as err:
        log.info("hits out of time order; reading again with visits retained", extra={"line_no": err.line_no})
        return _scan(source, settings, on_reject, retain_visits=True, rejects_sent_through=err.line_no)


def _scan(
    source: str, settings: RuleSettings, on_reject: RejectSink, *, retain_visits: bool, rejects_sent_through: int
) -> EngineResult:
    engines = settings.search_engines
    attributor = VisitAttributor(settings.visit_timeout_s, settings.attribution, retain_visits=retain_visits)
    referrals: dict[str, SearchReferral | None] = {}
    rows_read = rejected = purchases = 0
    total_revenue = ZERO
    first_reject = ""
    with open_hit_file(source) as stream:
        batches = read_line_batches(stream)
        first_batch = next(batches, [""])
        columns = parse_header(first_batch[0], source)
        field_count, i_time, i_ip, i_agent = columns.field_count, columns.hit_time_gmt, columns.ip, columns.user_agent
        i_events, i_products, i_referrer = columns.event_list, columns.product_list, columns.referrer
        add_hit = attributor.add
        line_no = 1
        for batch in itertools.chain([first_batch[1:]], batches):
            for line in batch:
                line_no += 1
                if not line:
                    continue
                rows_read += 1
                fields = line.split("\t")
                reason = None
                revenue: Decimal | None = None
                if len(fields) != field_count:
                    reason = REJECT_FIELD_COUNT
                elif not is_hit_time(fields[i_time]):
                    reason = REJECT_BAD_HIT_TIME
                elif is_purchase(fields[i_events]):
                    try:
                        revenue = purchase_revenue(fields[i_products])
                    except BadRevenueError as err:
                        reason = err.reason
                if reason is not None:
                    rejected += 1
                    first_reject = first_reject or f"line {line_no}: {reason}"
                    if line_no > rejects_sent_through:
                        on_reject(RejectedRow(line_no, reason, line))
                    continue
                if revenue is not None:
                    purchases += 1
                    total_revenue = add_amounts(total_revenue, revenue)
                referrer = fields[i_referrer]
                search = referrals.get(referrer, _UNSEEN)
                if search is _UNSEEN:
                    search = _parse_referrer(referrer, engines, referrals)
                add_hit(fields[i_ip] + "\t" + fields[i_agent], int(fields[i_time]), line_no, search, revenue)
            attributor.forget_ended_visitors()
    check_reject_ratio(source, rejected, rows_read, settings.max_reject_ratio, first_reject)
    attributed = attributor.finish()
    totals = RunTotals(
        rows_read=rows_read,
        rejected=rejected,
        purchases=purchases,
        total_revenue=total_revenue,
        attributed_purchases=attributed.attributed_purchases,
        attributed_revenue=attributed.attributed_revenue,
        unattributed_purchases=attributed.unattributed_purchases,
        unattributed_revenue=attributed.unattributed_revenue,
    )
    return EngineResult(attributed.ranked(), totals)


_UNSEEN: Final = SearchReferral("", "")


def _parse_referrer(
    referrer: str, engines: Mapping[str, str], cache: dict[str, SearchReferral | None]
) -> SearchReferral | None:
    search = parse_search_referrer(referrer, engines)
    if len(cache) >= REFERRER_CACHE_SIZE:
        cache.clear()
    cache[referrer] = search
    return search
