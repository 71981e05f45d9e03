"""The column forms in `spark_rules` and the JVM passes of `spark_jvm_rules` agree with the pure
functions they mirror."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from search_revenue.errors import SearchRevenueError
from search_revenue.report.hit_rows import (
    FIELD_SEPARATOR,
    REJECT_BAD_HIT_TIME,
    REJECT_FIELD_COUNT,
    HitColumns,
    is_hit_time,
)
from search_revenue.report.purchases import BadRevenueError, is_purchase, purchase_revenue
from search_revenue.report.referrers import parse_search_referrer
from search_revenue.report.settings import DEFAULT_SEARCH_ENGINES
from search_revenue.report.spark_jvm_rules import (
    HIT_LINES_JAR,
    ROW_KIND_PURCHASE,
    ROW_KIND_REJECTED,
    ROW_KIND_SEARCH_VISITOR,
    line_scans,
)
from search_revenue.report.spark_lines import read_text
from search_revenue.report.spark_rules import (
    product_revenue_fields_column,
    purchase_revenue_column,
    revenue_reject_reason_column,
    search_referral_column,
)
from tests.conftest import ROOT
from tests.strategies import PRODUCT_SAMPLES, TRICKY_BYTES

VALUES = T.StructType([T.StructField("value", T.StringType())])

# No LF: in a file it ends the line (the field count test has lines cut short).
HIT_TIMES = ["0", "123", "0001", "9" * 18, "9" * 19, "", "-1", "1.0", " 1", "1 ", "١", "12\r", "12\u2028", "12\x0b"]
EVENT_LISTS = ["1", "2,1", " 1 ,2", "10", "11,21", "100", "", "1\x0b", "\u00a01"]
PRODUCT_LISTS = ["", "a;b;1;190;", "a;b;1;0.1;,a;b;1;0.2", "a;b;1;-3", "a;b", "a;b;1; 4 ;x", "a;b;1;\f5\r;"]
REFERRERS = [
    "http://www.google.com/search?q=Ipod", "http://goo\rgle.com/?q=x", "HTTP://WWW.GOOGLE.COM/?q=Y",
    "http://www.esshopzilla.com/search/?k=ipod", "http://search.yahoo.com/search?p=cd+player", "no url at all",
    "http://www.google.com/search", "http://googleusercontent.com/?q=a", "http://a.b/?x=google",
    "http://google.com?q=no-path", "  http://www.bing.com/search?q=x", "ht\rtp://go\rogle.com/?q=cr",
    "http://shop.example/?from=http://www.google.com/search?q=x",
]  # fmt: skip


# Lines of six fields in the JVM scans' tests. Each test line's visitor is qualified by one more
# line of the same visitor that is a purchase and a search, so the second pass hands back every
# kept test line with what the Java rules read from it.
LINE_COLUMNS = HitColumns(field_count=6, hit_time_gmt=0, user_agent=1, ip=2, event_list=3, product_list=4, referrer=5)
QUALIFYING_EVENTS = "1"
QUALIFYING_REFERRER = "http://www.google.com/search?q=x"


@dataclass(frozen=True)
class ScannedLine:
    """What the two JVM passes made of one test line."""

    reject_reason: str | None  # R2 by field count or hit time (first pass)
    kept: bool  # handed back by the second pass
    hit_time: int | None = None
    is_purchase: bool = False
    could_be_search: bool = False
    visitor: bytes | None = None


def _column_of(spark: SparkSession, values: list[str], expression) -> list[Any]:  # type: ignore[no-untyped-def]
    frame = spark.createDataFrame([(value,) for value in values], VALUES)
    return [row[0] for row in frame.select(expression(F.col("value"))).collect()]


def _line(hit_time: str = "1", user_agent: str = "ua", ip: str = "ip", events: str = "", referrer: str = "") -> bytes:
    return FIELD_SEPARATOR.join([hit_time, user_agent, ip, events, "", referrer]).encode()


def _qualifier(line: bytes) -> bytes:
    # A purchase and search hit of the line's visitor (user agent and ip as bytes).
    fields = line.split(b"\t")
    return b"\t".join([b"1", fields[1], fields[2], QUALIFYING_EVENTS.encode(), b"", QUALIFYING_REFERRER.encode()])


def _scanned(spark: SparkSession, tmp_path: Path, lines: list[bytes]) -> list[ScannedLine]:
    """Run both JVM passes over a file of a header, the lines, and a qualifying line for each."""
    qualifiers = [_qualifier(line) for line in lines if line.count(b"\t") == LINE_COLUMNS.field_count - 1]
    path = tmp_path / "lines.tsv"
    path.write_bytes(b"\n".join([b"header", *lines, *qualifiers]) + b"\n")
    scans = line_scans(spark, LINE_COLUMNS, DEFAULT_SEARCH_ENGINES)
    text = read_text(spark, path.as_uri())
    first = scans.first_pass(text)
    rejected = {row["pos"]: row["reject_reason"] for row in first.where(F.col("kind") == ROW_KIND_REJECTED).collect()}
    visitors = first.where(F.col("kind").isin(ROW_KIND_PURCHASE, ROW_KIND_SEARCH_VISITOR))
    hits = {row["pos"]: row for row in scans.qualified_hits(text, visitors).collect()}
    scanned = []
    for number in range(1, len(lines) + 1):
        pos = number  # one partition: a line's position is its index in the file
        hit = hits.get(pos)
        if hit is None:
            scanned.append(ScannedLine(reject_reason=rejected.get(pos), kept=False))
            continue
        scanned.append(
            ScannedLine(
                reject_reason=rejected.get(pos),
                kept=True,
                hit_time=hit["hit_time_gmt"],
                is_purchase=hit["product_list"] is not None,
                could_be_search=hit["search_referrer"] is not None,
                visitor=bytes(hit["visitor"]),
            )
        )
    return scanned


def test_each_second_pass_keeps_its_own_visitors(spark: SparkSession, tmp_path: Path) -> None:
    # Two second passes built from one LineScans, the first run after the second is built: each
    # keeps the visitors its own first pass qualified.
    scans = line_scans(spark, LINE_COLUMNS, DEFAULT_SEARCH_ENGINES)
    passes = []
    for agent in ("agent-a", "agent-b"):
        line = _line(hit_time="5", user_agent=agent)
        path = tmp_path / f"{agent}.tsv"
        path.write_bytes(b"\n".join([b"header", line, _qualifier(line)]) + b"\n")
        text = read_text(spark, path.as_uri())
        first = scans.first_pass(text)
        visitors = first.where(F.col("kind").isin(ROW_KIND_PURCHASE, ROW_KIND_SEARCH_VISITOR))
        passes.append(scans.qualified_hits(text, visitors))
    assert [sorted(row["hit_time_gmt"] for row in hits.collect()) for hits in passes] == [[1, 5], [1, 5]]


def test_jvm_hit_time_agrees(spark: SparkSession, tmp_path: Path) -> None:
    rows = _scanned(spark, tmp_path, [_line(hit_time=value) for value in HIT_TIMES])
    assert [row.kept for row in rows] == [is_hit_time(value) for value in HIT_TIMES]
    assert [row.hit_time for row in rows] == [int(value) if is_hit_time(value) else None for value in HIT_TIMES]
    assert [row.reject_reason for row in rows] == [
        None if is_hit_time(value) else REJECT_BAD_HIT_TIME for value in HIT_TIMES
    ]


def test_jvm_purchase_agrees(spark: SparkSession, tmp_path: Path) -> None:
    rows = _scanned(spark, tmp_path, [_line(events=value) for value in EVENT_LISTS])
    assert [row.is_purchase for row in rows] == [is_purchase(value) for value in EVENT_LISTS]


def test_jvm_rules_take_their_constants_from_the_python_rules(
    spark: SparkSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were a constant written again in Java, changing it in Python would change nothing there.
    monkeypatch.setattr("search_revenue.report.spark_jvm_rules.PURCHASE_EVENT", "9")
    monkeypatch.setattr("search_revenue.report.spark_jvm_rules.EVENT_SEPARATOR", ";")
    monkeypatch.setattr("search_revenue.report.spark_jvm_rules.MAX_HIT_TIME_DIGITS", 2)
    monkeypatch.setattr("tests.spark.test_spark_rules.QUALIFYING_EVENTS", "9")
    rows = _scanned(spark, tmp_path, [_line(hit_time="12", events="1; 9 "), _line(hit_time="123", events="1,9")])
    assert [(row.hit_time, row.is_purchase) for row in rows] == [(12, True), (None, False)]


def test_jvm_field_count_counts_tabs_of_any_bytes(spark: SparkSession, tmp_path: Path) -> None:
    lines = [b"a", b"\t", b"1\t\xff\xfe\t\xed\xa0\x80\t", _line(), _line() + b"\textra", b"1" + b"\t" * 5]
    # Tabs are found eight bytes at a time: a tab at every offset of a word, beside bytes one bit
    # from a tab (0x08, 0x0b, 0x19, 0x89), which must not count.
    lines += [b"1" + b"\x89" * offset + b"\t" + b"\x08\x0b\x19\x89" * 3 for offset in range(9)]
    lines += [b"1\t\x89\x08\x19\t" + b"\x89" * 7 + b"\t\x0b\t\x19\t\x89", b"1\t\x08\x08\t\x08\t\x08\t\x08\t\x08"]
    rows = _scanned(spark, tmp_path, lines)
    expected = [None if line.count(b"\t") + 1 == LINE_COLUMNS.field_count else REJECT_FIELD_COUNT for line in lines]
    assert [row.reject_reason for row in rows] == expected
    # A line of another field count is never a purchase or a search: it takes no part at all (R2).
    assert [row.kept for row in rows] == [reason is None for reason in expected]


def _python_visitor(line: bytes) -> bytes:
    # The stream engine's visitor: the line decoded with Python's replacement, then ip TAB user_agent.
    fields = line.decode("utf-8", errors="replace").split(FIELD_SEPARATOR)
    return (fields[LINE_COLUMNS.ip] + FIELD_SEPARATOR + fields[LINE_COLUMNS.user_agent]).encode()


FIELD_BYTES = st.sampled_from(TRICKY_BYTES) | st.binary(max_size=10).map(
    lambda value: value.replace(b"\t", b"").replace(b"\n", b"")
)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(FIELD_BYTES, FIELD_BYTES), min_size=1, max_size=40))
def test_jvm_visitor_key_is_pythons_reading_of_any_bytes(
    spark: SparkSession, tmp_path_factory: pytest.TempPathFactory, agents_and_ips: list[tuple[bytes, bytes]]
) -> None:
    lines = [b"\t".join([b"1", agent, ip, b"", b"", b""]) for agent, ip in agents_and_ips]
    rows = _scanned(spark, tmp_path_factory.mktemp("visitors"), lines)
    assert [row.visitor for row in rows] == [_python_visitor(line) for line in lines]


@pytest.mark.parametrize(
    "field",
    [
        pytest.param(b"\xed\xa0\x80", id="encoded-surrogate"),  # one U+FFFD in Java 17, three in Python
        pytest.param(b"caf\xc3", id="truncated-character"),
        pytest.param(b"\xf0\x9f\x98", id="truncated-emoji"),
        pytest.param(b"\xe9t\xe9", id="latin-1"),
        pytest.param(b"\xf4\x90\x80\x80", id="beyond-unicode"),
        pytest.param(b"\xc0\xaf", id="overlong"),
        pytest.param(b"ok\xe2\x82\xac", id="valid"),
        # ASCII is passed over eight bytes at a time: bad bytes right after and inside such runs.
        pytest.param(b"abcdefgh\xe9", id="after-eight-ascii"),
        pytest.param(b"abcdefg\xc3abcdefgh\xed\xa0\x80abcdefg", id="across-words"),
    ],
)
def test_jvm_visitor_key_replaces_as_python_does(spark: SparkSession, tmp_path: Path, field: bytes) -> None:
    line = b"\t".join([b"1", field, field, b"", b"", b""])
    (row,) = _scanned(spark, tmp_path, [line])
    assert row.visitor == _python_visitor(line)


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


def test_search_prefilter_keeps_every_search(spark: SparkSession, tmp_path: Path) -> None:
    # The Kelvin sign lower-cases to an ASCII "k": Python reads this host as ask.com.
    kelvin_ask = "http://www.as\u212a.com/web?q=x"
    assert parse_search_referrer(kelvin_ask, DEFAULT_SEARCH_ENGINES) is not None
    referrers = [*REFERRERS, kelvin_ask]
    rows = _scanned(spark, tmp_path, [_line(referrer=referrer) for referrer in referrers])
    kept = [row.could_be_search for row in rows]
    for referrer, is_kept in zip(referrers, kept, strict=True):
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
    assert _column_of(spark, [product_list], revenue_reject_reason_column) == [expected]


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


def test_a_missing_jar_is_a_clear_error(spark: SparkSession, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("search_revenue.report.spark_jvm_rules.JAR_RESOURCE", ("jvm", "absent.jar"))
    with pytest.raises(SearchRevenueError, match="make jar"):
        line_scans(spark, LINE_COLUMNS, DEFAULT_SEARCH_ENGINES)


def test_the_jar_is_copied_out_when_the_package_is_imported_from_a_zip(tmp_path: Path) -> None:
    # A wheel put on the Python path is imported from the zip: Spark still needs the jar as a file.
    archive = tmp_path / "search_revenue.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in (ROOT / "search_revenue").rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                bundle.write(path, path.relative_to(ROOT))
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from search_revenue.report import spark_jvm_rules as rules\n"
        "assert rules.__file__.startswith(sys.argv[1]), rules.__file__\n"
        "print(rules.hit_lines_jar_file())\n"
    )
    temp = tmp_path / "temp"
    temp.mkdir()
    command = [sys.executable, "-c", probe, str(archive)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ, "TMPDIR": str(temp)})
    copy = Path(done.stdout.strip())
    assert copy.parent == temp
    assert copy.read_bytes() == HIT_LINES_JAR.read_bytes()
