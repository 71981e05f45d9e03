"""R1-R8, clause by clause, on both engines through the same public entry point."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import pytest

from search_revenue.errors import (
    CorruptCompressionError,
    InputNotTextError,
    MissingColumnsError,
    RejectThresholdExceededError,
)
from search_revenue.report.hit_rows import EXPECTED_COLUMNS, REJECT_BAD_HIT_TIME, REJECT_FIELD_COUNT
from search_revenue.report.performance import Engine
from search_revenue.report.purchases import REJECT_BAD_REVENUE, REJECT_REVENUE_RANGE
from search_revenue.report.settings import RuleSettings
from tests.conftest import SAMPLE, RunEngine
from tests.hitfiles import BING_ZUNE, GOOGLE_IPOD, UA_SAFARI, Rows, hit, hit_text, purchase, search, write_hits

HEADER = "Search Engine Domain\tSearch Keyword\tRevenue\n"
WORKED_EXAMPLE = HEADER + "google.com\tipod\t480.00\nbing.com\tzune\t250.00\n"


def table_of(*rows: tuple[str, str, str]) -> str:
    return HEADER + "".join(f"{domain}\t{keyword}\t{revenue}\n" for domain, keyword, revenue in rows)


def test_sample_gives_the_worked_example(run_engine: RunEngine, engine: Engine) -> None:
    run = run_engine(SAMPLE, engine)
    assert run.table == WORKED_EXAMPLE
    assert run.rejects is None
    assert run.summary["rows_read"] == 21
    assert run.summary["purchases"] == 3
    assert run.summary["total_revenue"] == "730.00"


# --- R1 input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"line_end": "\r\n"}, id="crlf"),
        pytest.param({"bom": True}, id="bom"),
        pytest.param({"final_line_end": False}, id="no-final-newline"),
        pytest.param({"line_end": "\r\n", "bom": True, "final_line_end": False}, id="all-at-once"),
        pytest.param({"columns": (*reversed(EXPECTED_COLUMNS), "extra")}, id="columns-reordered-extra"),
    ],
)
def test_r1_file_shapes_give_the_same_answer(
    run_engine: RunEngine, engine: Engine, tmp_path: Path, options: dict[str, object]
) -> None:
    rows = [search(100, user_agent=UA_SAFARI, extra="x"), purchase(200, "12.50", user_agent=UA_SAFARI, extra="x")]
    run = run_engine(write_hits(tmp_path / "hits.tsv", rows, **options), engine)
    assert run.table == table_of(("google.com", "ipod", "12.50"))
    assert run.summary["rows_read"] == 2


def test_r1_quoted_user_agent_is_verbatim(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    # The quotes belong to the value: a quoted and an unquoted agent are two visitors.
    rows = [search(100, user_agent=UA_SAFARI), purchase(200, user_agent=UA_SAFARI.strip('"'))]
    run = run_engine(write_hits(tmp_path / "hits.tsv", rows), engine)
    assert run.table == HEADER
    assert run.summary["unattributed_purchases"] == 1


def test_r1_empty_lines_are_skipped(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    run = run_engine(write_hits(tmp_path / "hits.tsv", [search(100), "", purchase(200), ""]), engine)
    assert run.table == table_of(("google.com", "ipod", "100.00"))
    assert run.summary["rows_read"] == 2
    assert run.summary["rejected"] == 0


def test_r1_invalid_utf8_is_replaced_and_the_row_kept(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    text = hit_text([search(100, pagename="caf@"), purchase(200)])
    path = tmp_path / "hits.tsv"
    path.write_bytes(text.encode().replace(b"caf@", b"caf\xe9"))
    run = run_engine(path, engine)
    assert run.table == table_of(("google.com", "ipod", "100.00"))
    assert run.summary["rows_read"] == 2


@pytest.mark.parametrize(("suffix", "compress"), [(".gz", gzip.compress), (".bz2", bz2.compress)])
def test_r1_compressed_input(run_engine: RunEngine, engine: Engine, tmp_path: Path, suffix: str, compress) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / f"hits.tsv{suffix}"
    path.write_bytes(compress(SAMPLE.read_bytes()))
    assert run_engine(path, engine).table == WORKED_EXAMPLE


def test_r1_corrupt_compression_fails_clearly(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "hits.tsv.gz"
    path.write_bytes(gzip.compress(SAMPLE.read_bytes())[:-40])
    with pytest.raises(CorruptCompressionError, match=r"hits\.tsv\.gz"):
        run_engine(path, engine)
    assert not list(tmp_path.glob("out-*/*.tab"))


def test_r1_missing_columns_fail_naming_them(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    columns = [name for name in EXPECTED_COLUMNS if name not in ("ip", "referrer")]
    path = write_hits(tmp_path / "hits.tsv", [purchase(1)], columns=columns)
    with pytest.raises(MissingColumnsError, match="missing required columns: ip, referrer"):
        run_engine(path, engine)
    assert not list(tmp_path.glob("out-*/*.tab"))


def test_r1_binary_file_is_not_text(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "image.tsv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    with pytest.raises(InputNotTextError):
        run_engine(path, engine)


# --- R2 bad rows ------------------------------------------------------------------------------


def test_r2_each_kind_of_reject_is_kept_verbatim(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    short_row = "1000\tonly\tthree"
    rows: Rows = [
        search(100),
        short_row,
        hit(hit_time_gmt="-5"),
        hit(hit_time_gmt="12.5"),
        hit(hit_time_gmt="1234567890123456789"),
        purchase(150, "12a"),
        purchase(160, "1" * 19),
        hit(hit_time_gmt=170, product_list="junk;x;y;not-a-number"),  # not a purchase: revenue ignored
        purchase(200, "7"),
    ]
    settings = RuleSettings(max_reject_ratio=1.0)
    run = run_engine(write_hits(tmp_path / "hits.tsv", rows), engine, settings)
    assert run.table == table_of(("google.com", "ipod", "7.00"))
    rendered = hit_text(rows).split("\n")
    assert run.rejects == "".join(
        f"{line_no}\t{reason}\t{rendered[line_no - 1]}\n"
        for line_no, reason in [
            (3, REJECT_FIELD_COUNT),
            (4, REJECT_BAD_HIT_TIME),
            (5, REJECT_BAD_HIT_TIME),
            (6, REJECT_BAD_HIT_TIME),
            (7, REJECT_BAD_REVENUE),
            (8, REJECT_REVENUE_RANGE),
        ]
    )
    assert run.summary["rows_read"] == 9
    assert run.summary["rejected"] == 6


def test_r2_a_rejected_row_does_not_keep_a_visit_alive(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    rows: Rows = [search(0), hit(hit_time_gmt=1700, event_list="1", product_list="a;b;c;oops"), purchase(3400)]
    run = run_engine(write_hits(tmp_path / "hits.tsv", rows), engine, RuleSettings(max_reject_ratio=0.5))
    assert run.table == HEADER
    assert run.summary["unattributed_purchases"] == 1


def test_r2_too_many_rejects_fail_the_run(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    rows: Rows = [search(100), "broken row", purchase(200)]
    with pytest.raises(RejectThresholdExceededError, match=r"1 of 3 data rows rejected.*line 3"):
        run_engine(write_hits(tmp_path / "hits.tsv", rows), engine)
    assert not list(tmp_path.glob("out-*/*"))


# --- R3 visitors and visits -------------------------------------------------------------------


@pytest.mark.parametrize(("gap", "attributed"), [(1800, True), (1801, False)])
def test_r3_gap_of_exactly_the_timeout_continues(
    run_engine: RunEngine, engine: Engine, tmp_path: Path, gap: int, attributed: bool
) -> None:
    run = run_engine(write_hits(tmp_path / "hits.tsv", [search(1000), purchase(1000 + gap)]), engine)
    assert run.table == (table_of(("google.com", "ipod", "100.00")) if attributed else HEADER)


def test_r3_hits_in_between_keep_the_visit_alive(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    rows = [search(0), *(hit(hit_time_gmt=t) for t in range(1500, 7200, 1500)), purchase(7200)]
    run = run_engine(write_hits(tmp_path / "hits.tsv", rows), engine)
    assert run.table == table_of(("google.com", "ipod", "100.00"))


def test_r3_timeout_zero_never_ends_a_visit(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    path = write_hits(tmp_path / "hits.tsv", [search(0), purchase(10**9)])
    assert run_engine(path, engine, RuleSettings(visit_timeout_s=0)).table == table_of(("google.com", "ipod", "100.00"))


def test_r3_one_ip_two_user_agents_are_two_visitors(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    rows = [search(100, referrer=BING_ZUNE, user_agent="agent A"), search(110, user_agent="agent B"),
            purchase(200, "5", user_agent="agent A"), purchase(210, "7", user_agent="agent B")]  # fmt: skip
    run = run_engine(write_hits(tmp_path / "hits.tsv", rows), engine)
    assert run.table == table_of(("google.com", "ipod", "7.00"), ("bing.com", "zune", "5.00"))


def test_r3_purchase_first_in_file_but_later_in_time(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    run = run_engine(write_hits(tmp_path / "hits.tsv", [purchase(500), search(100)]), engine)
    assert run.table == table_of(("google.com", "ipod", "100.00"))


@pytest.mark.parametrize(("search_first", "attributed"), [(True, True), (False, False)])
def test_r3_equal_times_follow_file_position(
    run_engine: RunEngine, engine: Engine, tmp_path: Path, search_first: bool, attributed: bool
) -> None:
    rows = [search(100), purchase(100)] if search_first else [purchase(100), search(100)]
    run = run_engine(write_hits(tmp_path / "hits.tsv", rows), engine)
    assert run.table == (table_of(("google.com", "ipod", "100.00")) if attributed else HEADER)


def test_r3_out_of_order_hit_merges_two_closed_visits(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    # The 1500 s hit arrives last; it bridges the 3000 s gap, so search and purchase share a visit.
    rows = [search(0), purchase(3000), *(hit(hit_time_gmt=t, ip="10.9.9.9") for t in range(10_000, 20_000, 3000)),
            hit(hit_time_gmt=1500)]  # fmt: skip
    run = run_engine(write_hits(tmp_path / "hits.tsv", rows), engine)
    assert run.table == table_of(("google.com", "ipod", "100.00"))


# --- R4 external search hits ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("referrer", "domain", "keyword"),
    [
        pytest.param("http://www.google.co.uk/search?q=Zune+HD", "google.co.uk", "zune hd", id="google.co.uk"),
        pytest.param("http://uk.search.yahoo.com/search?p=cd%20player", "yahoo.com", "cd player", id="uk-yahoo"),
        pytest.param("https://images.google.com/images?q=ipod", "google.com", "ipod", id="images-google"),
        pytest.param("HTTP://WWW.Google.COM:8080/search?q=IPOD", "google.com", "ipod", id="case-and-port"),
        pytest.param("http://www.google.com/search?aq=f&oq=nano&q=Nano&q=other", "google.com", "nano", id="first-q"),
        pytest.param("http://www.google.com/search?q=caf%E9", "google.com", "caf\ufffd", id="invalid-utf8-escape"),
        pytest.param("http://www.google.com/search?q=caf%C3%A9", "google.com", "café", id="utf8-escape"),
        pytest.param("http://www.google.com/search?q=+%20ipod%09%0A+nano+", "google.com", "ipod nano", id="spaces"),
        pytest.param("http://www.baidu.com/s?wd=ipod", "baidu.com", "ipod", id="baidu-wd"),
        pytest.param("https://yandex.ru/search/?text=ipod", "yandex.ru", "ipod", id="yandex-text"),
    ],
)
def test_r4_engines_domains_and_keywords(
    run_engine: RunEngine, engine: Engine, tmp_path: Path, referrer: str, domain: str, keyword: str
) -> None:
    run = run_engine(write_hits(tmp_path / "hits.tsv", [search(100, referrer), purchase(200)]), engine)
    assert run.table == table_of((domain, keyword, "100.00"))


@pytest.mark.parametrize(
    "referrer",
    [
        pytest.param("http://www.esshopzilla.com/search/?k=Ipod", id="internal-search"),
        pytest.param("http://googleusercontent.com/search?q=ipod", id="googleusercontent"),
        pytest.param("http://www.google.com/search?aq=ipod&oq=ipod", id="aq-oq-not-q"),
        pytest.param("http://search.yahoo.com/search?q=ipod", id="yahoo-wants-p"),
        pytest.param("http://www.google.com/search?q=+%20+", id="blank-keyword"),
        pytest.param("ftp://www.google.com/search?q=ipod", id="not-http"),
        pytest.param("http://www.google.com/search", id="no-query"),
        pytest.param("http://[::1/search?q=ipod", id="bad-url"),
    ],
)
def test_r4_not_external_searches(run_engine: RunEngine, engine: Engine, tmp_path: Path, referrer: str) -> None:
    run = run_engine(write_hits(tmp_path / "hits.tsv", [search(100, referrer), purchase(200)]), engine)
    assert run.table == HEADER
    assert run.summary["unattributed_purchases"] == 1


def test_r4_keyword_case_is_folded(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    other = "10.0.0.2"
    rows = [search(100, "http://www.google.com/search?q=IPOD"), purchase(200, "1"),
            search(100, "http://www.google.com/search?q=Ipod", ip=other), purchase(200, "2", ip=other)]  # fmt: skip
    assert run_engine(write_hits(tmp_path / "hits.tsv", rows), engine).table == table_of(("google.com", "ipod", "3.00"))


# --- R5 purchases and R6 revenue --------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_list", "is_purchase"),
    [("10", False), ("11", False), ("100", False), ("21", False), ("2,10,21", False), ("2, 1 ", True), ("12,1", True)],
)
def test_r5_purchase_events(
    run_engine: RunEngine, engine: Engine, tmp_path: Path, event_list: str, is_purchase: bool
) -> None:
    rows = [search(100), hit(hit_time_gmt=200, event_list=event_list, product_list="E;Ipod;1;40;")]
    run = run_engine(write_hits(tmp_path / "hits.tsv", rows), engine)
    assert run.table == (table_of(("google.com", "ipod", "40.00")) if is_purchase else HEADER)
    assert run.summary["purchases"] == int(is_purchase)


@pytest.mark.parametrize(
    ("product_list", "revenue"),
    [
        ("E;Ipod;1;190;,E;Zune;1;0.1;,E;Case;2; 0.2 ;", "190.30"),
        ("E;Ipod;1;;,E;Zune;1", None),
        ("E;Ipod;1;-30;,E;Zune;1;50", "20.00"),
        ("E;Ipod;1;-30;", None),
    ],
    ids=["sum-exact", "empty-and-missing", "negative-item", "negative-total"],
)
def test_r6_revenue_of_a_purchase(
    run_engine: RunEngine, engine: Engine, tmp_path: Path, product_list: str, revenue: str | None
) -> None:
    rows = [search(100), hit(hit_time_gmt=200, event_list="1", product_list=product_list)]
    run = run_engine(write_hits(tmp_path / "hits.tsv", rows), engine)
    assert run.table == (table_of(("google.com", "ipod", revenue)) if revenue else HEADER)


# --- R7 attribution ---------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "credited"), [("last", ("bing.com", "zune")), ("first", ("google.com", "ipod"))])
def test_r7_last_and_first_touch(
    run_engine: RunEngine, engine: Engine, tmp_path: Path, model: str, credited: tuple[str, str]
) -> None:
    rows = [search(100, GOOGLE_IPOD), search(200, BING_ZUNE), purchase(300, "9")]
    settings = RuleSettings(attribution=model)  # type: ignore[arg-type]
    run = run_engine(write_hits(tmp_path / "hits.tsv", rows), engine, settings)
    assert run.table == table_of((*credited, "9.00"))


def test_r7_first_touch_is_per_visit(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    rows = [search(0, GOOGLE_IPOD), search(5000, BING_ZUNE), search(5100, GOOGLE_IPOD), purchase(5200, "4")]
    run = run_engine(write_hits(tmp_path / "hits.tsv", rows), engine, RuleSettings(attribution="first"))
    assert run.table == table_of(("bing.com", "zune", "4.00"))


def test_r7_unattributed_purchases_are_summarised(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    rows = [search(100), purchase(200, "10"), purchase(300, "5", ip="10.0.0.7")]
    run = run_engine(write_hits(tmp_path / "hits.tsv", rows), engine)
    assert run.summary["attributed_revenue"] == "10.00"
    assert run.summary["unattributed_purchases"] == 1
    assert run.summary["unattributed_revenue"] == "5.00"


# --- R8 output --------------------------------------------------------------------------------


def test_r8_rounds_half_up_only_when_printing(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    # Two purchases of 0.005 sum to 0.010 -> 0.01; rounding each first would print 0.02.
    # 0.125 prints as 0.13 (half-up), not 0.12 (half-even).
    rows = [search(100, GOOGLE_IPOD), purchase(200, "0.005"), purchase(300, "0.005"),
            search(100, BING_ZUNE, ip="10.0.0.2"), purchase(200, "0.125", ip="10.0.0.2")]  # fmt: skip
    run = run_engine(write_hits(tmp_path / "hits.tsv", rows), engine)
    assert run.table == table_of(("bing.com", "zune", "0.13"), ("google.com", "ipod", "0.01"))


def test_r8_sorted_by_revenue_then_domain_then_keyword(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    searches = [("http://www.google.com/search?q=b", "5"), ("http://www.bing.com/search?q=z", "5"),
                ("http://www.google.com/search?q=a", "5"), ("http://www.google.com/search?q=top", "9")]  # fmt: skip
    rows = []
    for n, (referrer, revenue) in enumerate(searches):
        rows += [search(100, referrer, ip=f"10.1.0.{n}"), purchase(200, revenue, ip=f"10.1.0.{n}")]
    run = run_engine(write_hits(tmp_path / "hits.tsv", rows), engine)
    assert run.table == table_of(
        ("google.com", "top", "9.00"),
        ("bing.com", "z", "5.00"),
        ("google.com", "a", "5.00"),
        ("google.com", "b", "5.00"),
    )


def test_r1_compression_suffix_in_any_case(run_engine: RunEngine, tmp_path: Path) -> None:
    # S3 starts a run for `hits.tsv.GZ` (issue 8, finding 14): the stream engine decompresses it, and
    # Spark, whose codec lookup is case-sensitive, refuses it by name instead of rejecting every row.
    path = tmp_path / "hits.tsv.GZ"
    path.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    assert run_engine(path, "stream").table == WORKED_EXAMPLE
    with pytest.raises(InputNotTextError, match=r"rename to hits\.tsv\.gz"):
        run_engine(path, "spark")
