"""Inputs as a new user has them: bytes that are not UTF-8, odd file names, cluster layouts, settings.

Each test runs both engines (or the Spark engine on a session set up as a cluster might be) and
holds the Spark engine to the stream engine's answer, the reference (R1-R3).
"""

from __future__ import annotations

import bz2
import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from search_revenue.errors import CorruptCompressionError, InputNotFoundError, InputNotTextError
from search_revenue.report.hit_rows import REJECT_BAD_HIT_TIME, REJECT_FIELD_COUNT
from search_revenue.report.performance import Engine
from search_revenue.report.purchases import REJECT_BAD_REVENUE
from search_revenue.report.settings import RuleSettings
from tests.conftest import SAMPLE, EngineRun, RunEngine
from tests.hitfiles import GOOGLE_IPOD, ByteRows, Rows, hit, purchase, search, write_hit_bytes, write_hits

HEADER = "Search Engine Domain\tSearch Keyword\tRevenue\n"
ALL_REJECTS_ALLOWED = RuleSettings(max_reject_ratio=1.0)


def _encoded(row: dict[str, str], **raw: bytes) -> dict[str, bytes]:
    return {name: raw.get(name, value.encode()) for name, value in row.items()}


def _comparable(run: EngineRun) -> tuple[str, str | None, dict[str, object]]:
    return run.table, run.rejects, {k: v for k, v in run.summary.items() if k not in ("seconds", "engine")}


# --- bytes that are not UTF-8 (R1) --------------------------------------------------------------


@pytest.mark.parametrize("field", ["ip", "user_agent"])
def test_visitor_with_invalid_utf8_is_credited(
    run_engine: RunEngine, engine: Engine, tmp_path: Path, field: str
) -> None:
    # A Latin-1 user agent (or address) is one visitor on every hit: its search credits its purchase.
    latin1 = {"ip": b"10.0.0.\xe9", "user_agent": b"Mozilla/4.0 (compatible; Windows; fr-FR; \xe9t\xe9)"}[field]
    rows = [_encoded(search(100), **{field: latin1}), _encoded(purchase(200), **{field: latin1})]
    run = run_engine(write_hit_bytes(tmp_path / "hits.tsv", rows), engine)
    assert run.table == HEADER + "google.com\tipod\t100.00\n"
    assert run.summary["attributed_purchases"] == 1


def test_visitor_identity_follows_python_replacement(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    # Python reads the encoded surrogate ED A0 80 as three U+FFFD (Java 17: one), so these two
    # user agents are one visitor; `\xe9` and `\xff` are one U+FFFD each, so these are another.
    three_replacements = "Mozilla \ufffd\ufffd\ufffd".encode()
    rows = [
        _encoded(search(100), user_agent=b"Mozilla \xed\xa0\x80"),
        _encoded(purchase(200, "3"), user_agent=three_replacements),
        _encoded(search(100, "http://www.bing.com/search?q=zune"), ip=b"10.0.0.\xe9"),
        _encoded(purchase(200, "5"), ip=b"10.0.0.\xff"),
    ]
    path = write_hit_bytes(tmp_path / "hits.tsv", rows)
    run = run_engine(path, engine)
    assert run.table == HEADER + "bing.com\tzune\t5.00\ngoogle.com\tipod\t3.00\n"


def test_keyword_and_reject_text_are_replaced_as_python_does(
    run_engine: RunEngine, engine: Engine, tmp_path: Path
) -> None:
    rows: ByteRows = [
        _encoded(search(100), referrer=b"http://www.google.com/search?q=caf\xed\xa0\x80"),
        _encoded(purchase(200)),
        b"broken \xed\xa0\x80 row",
    ]
    run = run_engine(write_hit_bytes(tmp_path / "hits.tsv", rows), engine, ALL_REJECTS_ALLOWED)
    assert run.table == HEADER + "google.com\tcaf\ufffd\ufffd\ufffd\t100.00\n"
    assert run.rejects == f"4\t{REJECT_FIELD_COUNT}\tbroken \ufffd\ufffd\ufffd row\n"


def test_truncated_character_before_crlf_is_kept_as_a_replacement(
    run_engine: RunEngine, engine: Engine, tmp_path: Path
) -> None:
    # The referrer is the last column: its truncated character sits right before the CR.
    truncated = b"http://www.google.com/search?q=caf\xe3\x81"
    rows: ByteRows = [_encoded(search(100), referrer=truncated), _encoded(purchase(200)), b"x\xe3"]
    run = run_engine(write_hit_bytes(tmp_path / "hits.tsv", rows, line_end=b"\r\n"), engine, ALL_REJECTS_ALLOWED)
    assert run.table == HEADER + "google.com\tcaf\ufffd\t100.00\n"
    assert run.rejects == f"4\t{REJECT_FIELD_COUNT}\tx\ufffd\n"


def test_ascii_decided_rules_hold_beside_invalid_utf8(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    # Spark splits a line as Java decodes it; tabs, commas, digits and `;` must survive every
    # replacement (a truncated character right before a tab included), so field counts, purchases,
    # amounts and hit times come out as the stream engine reads them.
    agent = b"Mozilla/5.0 (X11; \xe0"
    rows: ByteRows = [
        _encoded(search(100), user_agent=agent),
        _encoded(
            purchase(200),
            user_agent=agent,
            event_list=b"\xed\xa0\x80, 1",
            product_list=b"Electr\xed\xa0\x80nics;Ipod \xff;1; 190.5 ;\xe3\x81,Case;\xe3;1;",
        ),
        _encoded(purchase(300), hit_time_gmt=b"30\xe9"),
        _encoded(purchase(400), product_list=b"Electronics;Ipod;1;4\xed\xa0\x800;"),
    ]
    run = run_engine(write_hit_bytes(tmp_path / "hits.tsv", rows), engine, ALL_REJECTS_ALLOWED)
    assert run.table == HEADER + "google.com\tipod\t190.50\n"
    assert run.rejects is not None
    assert [line.split("\t")[:2] for line in run.rejects.splitlines()] == [
        ["4", REJECT_BAD_HIT_TIME],
        ["5", REJECT_BAD_REVENUE],
    ]


# --- the input is exactly one file, its name taken literally (R1) --------------------------------


@pytest.mark.parametrize("name", ["hits[1].tsv", "hits 100%.tsv", "hits%5B1%5D.tsv", "hits%201.tsv"])
def test_input_name_is_taken_literally(run_engine: RunEngine, engine: Engine, tmp_path: Path, name: str) -> None:
    # Each look-alike is what the name would read as a pattern, or decoded from a URI once more.
    for look_alike in {"hits1.tsv", "hits[1].tsv", "hits 1.tsv"} - {name}:
        write_hits(tmp_path / look_alike, [search(100), purchase(200, "999")])
    literal = write_hits(tmp_path / name, [search(100), purchase(200, "7")])
    assert run_engine(literal, engine).table == HEADER + "google.com\tipod\t7.00\n"


def test_pattern_that_names_no_file_is_not_found(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    write_hits(tmp_path / "hits1.tsv", [search(100), purchase(200)])
    with pytest.raises(InputNotFoundError, match=r"hits\*\.tsv"):
        run_engine(tmp_path / "hits*.tsv", engine)


def test_folder_is_not_an_input(run_engine: RunEngine, engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "inbound"
    folder.mkdir()
    write_hits(folder / "a.tsv", [search(100), purchase(200)])
    write_hits(folder / "b.tsv", [search(100)])
    with pytest.raises(InputNotTextError, match="inbound"):
        run_engine(folder, engine)


# --- settings that would change answers are pinned by the engine -------------------------------


@pytest.fixture
def ansi_spark(spark: SparkSession) -> Iterator[SparkSession]:
    # On the session itself, as `--conf spark.sql.ansi.enabled=true` (Spark 4's default) sets it:
    # expressions take ANSI mode from the active session when they are built.
    spark.conf.set("spark.sql.ansi.enabled", "true")
    try:
        yield spark
    finally:
        spark.conf.unset("spark.sql.ansi.enabled")


@pytest.fixture
def lenient_spark(spark: SparkSession) -> SparkSession:
    session = spark.newSession()
    session.conf.set("spark.sql.files.ignoreCorruptFiles", "true")
    return session


def test_ansi_mode_still_rejects_bad_rows(run_engine: RunEngine, ansi_spark: SparkSession, tmp_path: Path) -> None:
    rows: Rows = [search(100), hit(hit_time_gmt="x"), hit(hit_time_gmt="9" * 30), purchase(200, "4"), "short\trow"]
    path = write_hits(tmp_path / "hits.tsv", rows)
    stream = run_engine(path, "stream", ALL_REJECTS_ALLOWED)
    spark = run_engine(path, "spark", ALL_REJECTS_ALLOWED, session=ansi_spark)
    assert _comparable(spark) == _comparable(stream)
    assert spark.rejects is not None
    assert spark.rejects.count(REJECT_BAD_HIT_TIME) == 2
    assert ansi_spark.conf.get("spark.sql.ansi.enabled") == "true", "the caller's setting is restored"


def test_ignore_corrupt_files_does_not_hide_a_truncated_gz(
    run_engine: RunEngine, lenient_spark: SparkSession, tmp_path: Path
) -> None:
    path = tmp_path / "hits.tsv.gz"
    path.write_bytes(gzip.compress(SAMPLE.read_bytes())[:-40])
    with pytest.raises(CorruptCompressionError, match=r"hits\.tsv\.gz"):
        run_engine(path, "spark", session=lenient_spark)


# --- many input partitions, as on a cluster (R1, R2) -------------------------------------------


def _many_rows(count: int) -> Iterator[dict[str, str] | str]:
    for n in range(count):
        ip = f"10.2.{n % 7}.{n % 13}"
        if n % 97 == 5:
            yield f"{n}\tbroken"
        elif n % 89 == 3:
            yield hit(hit_time_gmt=f"t{n}", ip=ip)
        elif n % 11 == 0:
            yield search(n * 10, GOOGLE_IPOD if n % 2 else "http://www.bing.com/search?q=zune", ip=ip)
        elif n % 17 == 0:
            yield purchase(n * 10, f"{n}.25", ip=ip)
        else:
            yield "" if n % 53 == 0 else hit(hit_time_gmt=n * 10, ip=ip)


def test_reject_line_numbers_across_partitions(
    run_engine: RunEngine, spark_split: SparkSession, tmp_path: Path
) -> None:
    rows = list(_many_rows(400))
    path = write_hits(tmp_path / "hits.tsv", rows)
    assert spark_split.read.text(str(path)).rdd.getNumPartitions() > 100
    stream = run_engine(path, "stream", ALL_REJECTS_ALLOWED)
    spark = run_engine(path, "spark", ALL_REJECTS_ALLOWED, session=spark_split)
    assert _comparable(spark) == _comparable(stream)
    assert stream.rejects is not None
    assert f"\n7\t{REJECT_FIELD_COUNT}\t5\tbroken\n" in stream.rejects
    assert stream.summary["attributed_purchases"] > 0


def test_header_rule_across_partitions(run_engine: RunEngine, spark_split: SparkSession, tmp_path: Path) -> None:
    # A data line that looks like a header, far from the start, is data (here: a rejected row).
    rows: list[dict[str, str] | str] = [*_many_rows(60), "hit_time_gmt\tip", *_many_rows(60)]
    path = write_hits(tmp_path / "hits.tsv", rows)
    stream = run_engine(path, "stream", ALL_REJECTS_ALLOWED)
    spark = run_engine(path, "spark", ALL_REJECTS_ALLOWED, session=spark_split)
    assert _comparable(spark) == _comparable(stream)
    assert stream.rejects is not None
    assert "\thit_time_gmt\tip\n" in stream.rejects


@pytest.mark.parametrize("split_bytes", [1, 2, 3, 5, 8, 13, 64])
def test_every_line_is_read_once_whatever_the_split_size(
    run_engine: RunEngine, spark: SparkSession, tmp_path: Path, split_bytes: int
) -> None:
    # An uncompressed file is read in byte ranges of Spark's split size: at these sizes a split
    # starts on every kind of byte (an LF, the byte after one, a CR before one, inside a line),
    # and lines run across many splits. Each line must be read once, in order, with its number.
    rows: ByteRows = [
        _encoded(search(100)),
        b"",
        b"\r",
        b"x",
        _encoded(purchase(200, "7")),
        b"short\tline\r",
        _encoded(search(300, "http://www.bing.com/search?q=zune"), ip=b"10.9.9.9"),
        b"\t",
        _encoded(purchase(400, "5"), ip=b"10.9.9.9"),
        b"tail\r",
    ]
    path = write_hit_bytes(tmp_path / "hits.tsv", rows, line_end=b"\n")
    path.write_bytes(path.read_bytes()[:-1])  # the last line ends the file without an LF
    stream = _engines_agree_in_splits(run_engine, spark, path, split_bytes)
    assert stream.table == HEADER + "google.com\tipod\t7.00\nbing.com\tzune\t5.00\n"
    assert stream.rejects is not None
    assert stream.rejects.startswith(f"5\t{REJECT_FIELD_COUNT}\tx\n")
    assert stream.rejects.endswith(f"\n11\t{REJECT_FIELD_COUNT}\ttail\n")


@pytest.mark.parametrize("split_bytes", [1000, 3000, 7000])
def test_lines_longer_than_the_read_buffer(
    run_engine: RunEngine, spark: SparkSession, tmp_path: Path, split_bytes: int
) -> None:
    # The reader's buffer starts at 4 kB (more for larger splits) and grows for a longer line;
    # a split that starts inside a long line skips to its end. Lines of 10 to 40 kB cross
    # several splits of these sizes, some starting and some ending inside one.
    long_agent = b"Mozilla/5.0 " + b"x" * 10_000
    rows: ByteRows = [
        _encoded(search(100), user_agent=long_agent),
        b"junk " * 8_000,
        _encoded(purchase(200, "7"), user_agent=long_agent),
        _encoded(search(300, "http://www.bing.com/search?q=zune"), ip=b"10.9.9.9"),
        _encoded(hit(hit_time_gmt=350, page_url="http://shop.example/" + "x" * 30_000), ip=b"10.9.9.9"),
        _encoded(purchase(400, "5"), ip=b"10.9.9.9"),
    ]
    path = write_hit_bytes(tmp_path / "hits.tsv", rows, line_end=b"\n")
    stream = _engines_agree_in_splits(run_engine, spark, path, split_bytes)
    assert stream.table == HEADER + "google.com\tipod\t7.00\nbing.com\tzune\t5.00\n"
    assert stream.rejects is not None
    assert stream.rejects.startswith(f"3\t{REJECT_FIELD_COUNT}\tjunk junk")


def _engines_agree_in_splits(run_engine: RunEngine, spark: SparkSession, path: Path, split_bytes: int) -> EngineRun:
    """The stream engine's run, after holding the Spark engine's to it on splits of that size."""
    session = spark.newSession()
    session.conf.set("spark.sql.files.maxPartitionBytes", str(split_bytes))
    session.conf.set("spark.sql.files.openCostInBytes", "0")
    stream = run_engine(path, "stream", ALL_REJECTS_ALLOWED)
    spark_run = run_engine(path, "spark", ALL_REJECTS_ALLOWED, session=session)
    assert _comparable(spark_run) == _comparable(stream)
    # The split reader, not Spark's text source, read it: one task per split of that size.
    assert _first_pass_partitions(session, path) == -(-path.stat().st_size // split_bytes)
    return stream


def _first_pass_partitions(session: SparkSession, path: Path) -> int:
    from search_revenue.report.hit_rows import parse_header
    from search_revenue.report.spark_jvm_rules import line_scans
    from search_revenue.report.spark_lines import read_text

    columns = parse_header(path.read_bytes().split(b"\n", 1)[0].decode(), str(path))
    scans = line_scans(session, columns, RuleSettings().search_engines)
    return scans.first_pass(read_text(session, path.as_uri())).rdd.getNumPartitions()


def _multi_block_bz2(data: bytes) -> bytes:
    # Level 1 cuts a block every 100 kB of input, so a few hundred kB make several blocks.
    return bz2.compress(data, compresslevel=1)


Compress = Callable[[bytes], bytes]


def _two_members(compress: Compress) -> Compress:
    def concatenated(data: bytes) -> bytes:
        cut = data.index(b"\n", len(data) // 2) + 1  # members split at a line end, as `cat a.gz b.gz` gives
        return compress(data[:cut]) + compress(data[cut:])

    return concatenated


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [
        pytest.param(".bz2", _multi_block_bz2, id="multi-block-bz2"),
        pytest.param(".gz", _two_members(gzip.compress), id="multi-member-gz"),
        pytest.param(".bz2", _two_members(bz2.compress), id="multi-stream-bz2"),
    ],
)
@pytest.mark.parametrize("layout", ["spark", "spark_split"])
def test_compressed_inputs_of_several_blocks_or_members(
    request: pytest.FixtureRequest,
    run_engine: RunEngine,
    tmp_path: Path,
    suffix: str,
    compress: Compress,
    layout: str,
) -> None:
    plain = write_hits(tmp_path / "hits.tsv", list(_many_rows(3000)))
    assert plain.stat().st_size > 300_000
    path = tmp_path / f"hits.tsv{suffix}"
    path.write_bytes(compress(plain.read_bytes()))
    expected = run_engine(plain, "stream", ALL_REJECTS_ALLOWED)
    stream = run_engine(path, "stream", ALL_REJECTS_ALLOWED)
    spark = run_engine(path, "spark", ALL_REJECTS_ALLOWED, session=request.getfixturevalue(layout))
    assert _comparable(stream)[:2] == _comparable(expected)[:2]
    assert _comparable(spark) == _comparable(stream)
