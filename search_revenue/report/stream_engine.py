"""The single-pass engine: one machine, memory bounded by the visitors still active (R1-R8).

Work is shared among processes by visitor: every worker reads the whole file, takes the rows of
the visitors that hash to it (R3 needs all of a visitor's hits in one place), and the partial
results are added up exactly. Rejected rows are spooled to disk and replayed in line order.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import multiprocessing
import os
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Final

from search_revenue.report.hit_rows import (
    REJECT_BAD_HIT_TIME,
    REJECT_FIELD_COUNT,
    HitColumns,
    is_hit_time,
    parse_header,
    read_line_batches,
)
from search_revenue.report.money import ZERO, add_amounts, sum_amounts
from search_revenue.report.purchases import BadRevenueError, is_purchase, purchase_revenue
from search_revenue.report.referrers import SearchReferral, parse_search_referrer
from search_revenue.report.results import (
    EngineResult,
    RejectedRow,
    RejectSink,
    RunTotals,
    check_reject_ratio,
    rank_keyword_revenue,
)
from search_revenue.report.settings import RuleSettings
from search_revenue.report.sources import open_hit_file
from search_revenue.report.visit_state import AttributedRevenue, OutOfOrderError, VisitAttributor

log = logging.getLogger(__name__)

REFERRER_CACHE_SIZE: Final = 200_000
# Below this size one process is faster than starting more.
PARALLEL_MIN_BYTES: Final = 64 << 20


@dataclass(frozen=True, slots=True)
class _Share:
    """Which visitors a worker owns: those whose key hashes to `index` modulo `count`."""

    index: int
    count: int


@dataclass(slots=True)
class _PartialResult:
    attributed: AttributedRevenue
    rows_read: int
    rejected: int
    purchases: int
    total_revenue: Decimal
    first_reject: tuple[int, str] | None
    rejects_file: str


def default_workers(path: str) -> int:
    """One worker per available core for large files, else one."""
    try:
        large = os.path.getsize(path) >= PARALLEL_MIN_BYTES
    except OSError:
        return 1
    return len(os.sched_getaffinity(0)) if large else 1


def run_stream_engine(
    source: str, settings: RuleSettings, on_reject: RejectSink, *, workers: int | None = None
) -> EngineResult:
    """Compute the keyword revenue of a local file in one pass per worker (R1-R8).

    A file whose hits come in time order is read once, closing visits as soon as they end. If a
    hit arrives too far out of order to fit a visit already closed, that worker reads the file
    again with every visit kept open to the end, so the R3 order holds for any row order.

    Raises:
        InputError: the file as a whole cannot be read (R1).
        RejectThresholdExceededError: too many rows were rejected (R2).
    """
    with open_hit_file(source) as stream:  # header errors surface here, before any worker starts
        parse_header(next(read_line_batches(stream, 1 << 16), [""])[0], source)
    count = workers or default_workers(source)
    with tempfile.TemporaryDirectory(prefix="search-revenue-rejects-") as spool:
        shares = [(source, settings, _Share(index, count), spool) for index in range(count)]
        if count == 1:
            partials = [_scan_share(*shares[0])]
        else:
            # spawn, not fork: the caller may hold threads (a Spark gateway, a logger) that fork copies badly.
            with multiprocessing.get_context("spawn").Pool(count) as pool:
                partials = pool.starmap(_scan_share, shares)
        result = _combine(partials)
        first = min((p.first_reject for p in partials if p.first_reject), default=None)
        first_text = "" if first is None else f"line {first[0]}: {first[1]}"
        check_reject_ratio(
            source, result.totals.rejected, result.totals.rows_read, settings.max_reject_ratio, first_text
        )
        for row in heapq.merge(*(_read_rejects(p.rejects_file) for p in partials), key=lambda row: row.line_no):
            on_reject(row)
    return result


def _scan_share(source: str, settings: RuleSettings, share: _Share, spool: str) -> _PartialResult:
    try:
        return _scan(source, settings, share, spool, retain_visits=False)
    except OutOfOrderError as err:
        log.info("hits out of time order; reading again with visits retained", extra={"line_no": err.line_no})
        return _scan(source, settings, share, spool, retain_visits=True)


def _owner_of(fields: list[str], columns: HitColumns, line_no: int, share_count: int) -> int:
    # A stable hash (not Python's salted `hash`), so every worker process agrees on the owner.
    if len(fields) > max(columns.ip, columns.user_agent):
        key = fields[columns.ip] + "\t" + fields[columns.user_agent]
        return zlib.crc32(key.encode("utf-8", "surrogatepass")) % share_count
    return line_no % share_count


def _scan(source: str, settings: RuleSettings, share: _Share, spool: str, *, retain_visits: bool) -> _PartialResult:
    engines = settings.search_engines
    attributor = VisitAttributor(settings.visit_timeout_s, settings.attribution, retain_visits=retain_visits)
    referrals: dict[str, SearchReferral | None] = {}
    rows_read = rejected = purchases = 0
    total_revenue = ZERO
    first_reject: tuple[int, str] | None = None
    rejects_path = Path(spool) / f"rejects-{share.index}.tsv"
    with open_hit_file(source) as stream, open(rejects_path, "w", encoding="utf-8", newline="\n") as rejects:
        batches = read_line_batches(stream)
        first_batch = next(batches, [""])
        columns = parse_header(first_batch[0], source)
        field_count, i_time, i_ip, i_agent = columns.field_count, columns.hit_time_gmt, columns.ip, columns.user_agent
        i_events, i_products, i_referrer = columns.event_list, columns.product_list, columns.referrer
        owner_split = max(i_ip, i_agent) + 1
        shared = share.count > 1
        add_hit = attributor.add
        line_no = 1
        for batch in itertools.chain([first_batch[1:]], batches):
            for line in batch:
                line_no += 1
                if not line:
                    continue
                if shared and _owner_of(line.split("\t", owner_split), columns, line_no, share.count) != share.index:
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
                    first_reject = first_reject or (line_no, reason)
                    rejects.write(f"{line_no}\t{reason}\t{line}\n")
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
    return _PartialResult(
        attributed=attributor.finish(),
        rows_read=rows_read,
        rejected=rejected,
        purchases=purchases,
        total_revenue=total_revenue,
        first_reject=first_reject,
        rejects_file=str(rejects_path),
    )


def _combine(partials: list[_PartialResult]) -> EngineResult:
    by_keyword: dict[tuple[str, str], Decimal] = {}
    for partial in partials:
        for key, revenue in partial.attributed.by_keyword.items():
            by_keyword[key] = add_amounts(by_keyword.get(key, ZERO), revenue)
    totals = RunTotals.with_unattributed(
        rows_read=sum(p.rows_read for p in partials),
        rejected=sum(p.rejected for p in partials),
        purchases=sum(p.purchases for p in partials),
        total_revenue=sum_amounts(p.total_revenue for p in partials),
        attributed_purchases=sum(p.attributed.attributed_purchases for p in partials),
        attributed_revenue=sum_amounts(p.attributed.attributed_revenue for p in partials),
    )
    return EngineResult(rank_keyword_revenue(by_keyword), totals)


def _read_rejects(path: str) -> Iterator[RejectedRow]:
    with open(path, encoding="utf-8", newline="\n") as rejects:
        for entry in rejects:
            line_no, reason, text = entry[:-1].split("\t", 2)
            yield RejectedRow(int(line_no), reason, text)


_UNSEEN: Final = SearchReferral("", "")


def _parse_referrer(
    referrer: str, engines: Mapping[str, str], cache: dict[str, SearchReferral | None]
) -> SearchReferral | None:
    search = parse_search_referrer(referrer, engines)
    if len(cache) >= REFERRER_CACHE_SIZE:
        cache.clear()
    cache[referrer] = search
    return search
