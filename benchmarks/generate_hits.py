"""Deterministic synthetic hit level data that knows its own right answer.

Visits are generated one by one, so the generator knows which search each purchase belongs to
and adds the revenue up as it writes: the expected report comes from construction, not from
either engine. Hits of all visits are interleaved in time order, as an analytics export is.
Rows that R2 must reject are mixed in at a small rate and counted.

    python -m benchmarks.generate_hits --size 1GB --seed 7 --output-dir bench_data
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Final, TextIO

from search_revenue.report.hit_rows import EXPECTED_COLUMNS
from search_revenue.report.money import format_revenue
from search_revenue.report.results import rank_keyword_revenue, render_table

VISIT_TIMEOUT_S: Final = 1800
START_TIME: Final = 1_254_033_280
CONCURRENT_VISITS: Final = 400
# Shaped like a shop's traffic: external searches land visits, few visits end in a purchase.
LANDING_SEARCH_SHARE: Final = 0.45
RESEARCH_SHARE: Final = 0.03
CHECKOUT_SHARE: Final = 0.06
STRAY_PURCHASE_SHARE: Final = 0.003
REJECTED_SHARE: Final = 0.0005
_SIZE = re.compile(r"(?i)^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB)?\s*$")
_UNITS: Final = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}

AGENTS: Final = [
    "Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.9.0.10) Gecko/2009042316 Firefox/3.0.10",
    '"Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10_4_11; en) AppleWebKit/525.27.1 (KHTML, like Gecko) '
    'Version/3.2.1 Safari/525.27.1"',
    "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0; SLCC1; .NET CLR 2.0.50727; Media Center PC 5.0)",
    '"Mozilla/5.0 (iPhone; U; CPU iPhone OS 3_0 like Mac OS X; en-us) AppleWebKit/528.18 Mobile/7A341 Safari/528.16"',
    "Opera/9.80 (Windows NT 6.1; U; en) Presto/2.2.15 Version/10.00",
]  # fmt: skip
PLACES: Final = [("Salem", "OR"), ("Rochester", "NY"), ("Duncan", "OK"), ("Salt Lake City", "UT"), ("Austin", "TX")]
PRODUCTS: Final = [("Ipod - Nano - 8GB", "190"), ("Zune - 32GB", "250"), ("Ipod - Touch - 32GB", "290"),
                   ("CD Player", "39.99"), ("Headphones", "19.95"), ("Case", "9.5"), ("Charger", "12.25")]  # fmt: skip
WORDS: Final = ["ipod", "zune", "nano", "touch", "cd", "player", "headphones", "case", "charger", "mp3", "32gb"]
# (referrer template, domain or None when R4 must not count it); {k} is the encoded keyword.
SEARCH_REFERRERS: Final = [
    ("http://www.google.com/search?hl=en&client=firefox-a&q={k}&aq=f&oq=&aqi=", "google.com"),
    ("https://www.google.co.uk/search?q={k}&ie=utf-8", "google.co.uk"),
    ("http://www.bing.com/search?q={k}&go=&form=QBLH&qs=n", "bing.com"),
    ("http://search.yahoo.com/search?p={k}&toggle=1&cop=mss&ei=UTF-8", "yahoo.com"),
    ("http://uk.search.yahoo.com/search?p={k}&fr=yfp-t-701", "yahoo.com"),
    ("https://duckduckgo.com/?q={k}&t=h_", "duckduckgo.com"),
    ("http://www.esshopzilla.com/search/?k={k}", None),
    ("http://www.google.com/search?aq={k}&oq={k}", None),
    ("http://lh3.googleusercontent.com/search?q={k}", None),
]
INTERNAL_PAGES: Final = ["http://www.esshopzilla.com", "http://www.esshopzilla.com/hotbuys/",
                         "http://www.esshopzilla.com/cart/", "https://www.esshopzilla.com/checkout/",
                         "http://www.esshopzilla.com/product/?pid=as32213"]  # fmt: skip
BROWSE_EVENTS: Final = ["", "", "", "2", "10", "11", "12", "100", "21", "2,10"]


def parse_size(text: str) -> int:
    """Read a size such as 5MB or 1GB as bytes."""
    match = _SIZE.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a size like 5MB or 1GB: {text!r}")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "B").upper()])


@dataclass
class Expected:
    """The right answer, added up while the rows are written."""

    by_keyword: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    rows_read: int = 0
    rejected: int = 0
    purchases: int = 0
    total_revenue: Decimal = Decimal(0)
    attributed_revenue: Decimal = Decimal(0)


@dataclass(order=True)
class _Visit:
    next_time: int
    seq: int
    visitor: tuple[str, str] = field(compare=False)
    hits_left: int = field(compare=False)
    credited: tuple[str, str] | None = field(compare=False, default=None)
    hits_done: int = field(compare=False, default=0)


class HitGenerator:
    """Writes visits as interleaved hits and keeps the expected report."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.expected = Expected()
        self._seq = 0
        self._idle: deque[tuple[int, tuple[str, str]]] = deque()  # (visit end, visitor)
        self._active: set[tuple[str, str]] = set()

    def write(self, out: TextIO, size_bytes: int) -> None:
        """Write a header and hits until the file reaches the size."""
        written = out.write("\t".join(EXPECTED_COLUMNS) + "\n")
        visits: list[_Visit] = [self._new_visit(START_TIME) for _ in range(CONCURRENT_VISITS)]
        heapq.heapify(visits)
        while written < size_bytes:
            visit = heapq.heappop(visits)
            written += out.write(self._hit_row(visit))
            visit.hits_left -= 1
            if visit.hits_left > 0:
                # At most 600 s apart: even two rejected hits in a row leave gaps within the timeout.
                visit.next_time += self.random.randint(5, 600)
                heapq.heappush(visits, visit)
            else:
                self._active.discard(visit.visitor)
                self._idle.append((visit.next_time, visit.visitor))
                heapq.heappush(visits, self._new_visit(visit.next_time + self.random.randint(0, 60)))

    def _new_visit(self, time: int) -> _Visit:
        rng = self.random
        # A returning visitor must be idle for more than the timeout, so its visits stay apart (R3).
        if self._idle and self._idle[0][0] < time - VISIT_TIMEOUT_S and rng.random() < 0.3:
            visitor = self._idle.popleft()[1]
        else:
            ip = f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            visitor = (ip, rng.choice(AGENTS))
        if visitor in self._active:  # an address and agent drawn twice: treat as a new visitor
            visitor = (visitor[0] + "0", visitor[1])
        self._active.add(visitor)
        self._seq += 1
        return _Visit(time, self._seq, visitor, hits_left=rng.randint(1, 12))

    def _hit_row(self, visit: _Visit) -> str:
        rng = self.random
        ip, agent = visit.visitor
        referrer = rng.choice(INTERNAL_PAGES)
        events = rng.choice(BROWSE_EVENTS)
        products = ""
        is_rejected = rng.random() < REJECTED_SHARE  # decided first: a rejected row counts for nothing (R2)
        is_landing = visit.hits_done == 0
        is_last = visit.hits_left == 1
        visit.hits_done += 1
        if is_rejected:
            pass
        elif rng.random() < (LANDING_SEARCH_SHARE if is_landing else RESEARCH_SHARE):
            referrer = self._search_referrer(visit)
        elif rng.random() < (CHECKOUT_SHARE if is_last else STRAY_PURCHASE_SHARE):
            events, products = self._purchase(visit)
        city, region = rng.choice(PLACES)
        stamp = datetime.fromtimestamp(visit.next_time, UTC).strftime("%Y-%m-%d %H:%M:%S")
        fields = [str(visit.next_time), stamp, agent, ip, events, city, region, "US", "Page",
                  rng.choice(INTERNAL_PAGES), products, referrer]  # fmt: skip
        if is_rejected:
            return self._rejected_row(fields)
        self.expected.rows_read += 1
        return "\t".join(fields) + "\n"

    def _search_referrer(self, visit: _Visit) -> str:
        rng = self.random
        words = rng.sample(WORDS, rng.randint(1, 2))
        shown = [word.upper() if rng.random() < 0.2 else word.capitalize() if rng.random() < 0.3 else word
                 for word in words]  # fmt: skip
        template, domain = rng.choice(SEARCH_REFERRERS)
        separator = rng.choice(["+", "%20"])
        if domain is not None:
            visit.credited = (domain, " ".join(words))
        return template.format(k=separator.join(shown))

    def _purchase(self, visit: _Visit) -> tuple[str, str]:
        rng = self.random
        chosen = rng.sample(PRODUCTS, rng.randint(1, 3))
        products = ",".join(f"Electronics;{name};1;{price};" for name, price in chosen)
        revenue = sum((Decimal(price) for _, price in chosen), Decimal(0))
        expected = self.expected
        expected.purchases += 1
        expected.total_revenue += revenue
        if visit.credited is not None:
            expected.attributed_revenue += revenue
            expected.by_keyword[visit.credited] = expected.by_keyword.get(visit.credited, Decimal(0)) + revenue
        return rng.choice(["1", "1,2", "2,1", " 1 "]), products

    def _rejected_row(self, fields: list[str]) -> str:
        self.expected.rows_read += 1
        self.expected.rejected += 1
        kind = self.random.randint(0, 2)
        if kind == 0:
            fields = fields[:-2]  # wrong field count
        elif kind == 1:
            fields[0] = "not-a-time"
        else:
            fields[4], fields[10] = "1", "Electronics;Ipod;1;1.2.3;"
        return "\t".join(fields) + "\n"


def dataset_paths(output_dir: Path, size_bytes: int, seed: int) -> tuple[Path, Path, Path]:
    """Name the data file, its expected table and its expected summary."""
    stem = output_dir / f"hits_{size_bytes}b_seed{seed}"
    return stem.with_suffix(".tsv"), Path(f"{stem}_expected.tab"), Path(f"{stem}_expected.json")


def generate(output_dir: Path, size_bytes: int, seed: int) -> tuple[Path, Path, Path]:
    """Write (or reuse) a data set and its expected answer; return the three paths."""
    data, table, summary = dataset_paths(output_dir, size_bytes, seed)
    if data.exists() and table.exists() and summary.exists():
        return data, table, summary
    output_dir.mkdir(parents=True, exist_ok=True)
    generator = HitGenerator(seed)
    partial = data.with_suffix(".partial")
    with open(partial, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as out:
        generator.write(out, size_bytes)
    expected = generator.expected
    table.write_text(render_table(rank_keyword_revenue(expected.by_keyword)), encoding="utf-8")
    unattributed = expected.total_revenue - expected.attributed_revenue
    summary.write_text(json.dumps({
        "rows_read": expected.rows_read, "rejected": expected.rejected, "purchases": expected.purchases,
        "total_revenue": format_revenue(expected.total_revenue),
        "attributed_revenue": format_revenue(expected.attributed_revenue),
        "unattributed_revenue": format_revenue(unattributed),
    }, indent=2) + "\n")  # fmt: skip
    partial.replace(data)
    return data, table, summary


def main() -> None:
    """Command line: generate a data set of a given size."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=parse_size, default=parse_size("1GB"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output-dir", type=Path, default=Path("bench_data"))
    args = parser.parse_args()
    for path in generate(args.output_dir, args.size, args.seed):
        print(path)


if __name__ == "__main__":
    main()
