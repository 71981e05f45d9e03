"""Property: for any hit file, the Spark engine and the stream engine write the same bytes."""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession

from search_revenue.report.settings import RuleSettings
from tests.conftest import EngineRun, RunEngine
from tests.hitfiles import write_hit_bytes, write_hits
from tests.strategies import byte_hit_rows, hit_rows

VOLATILE = ("seconds", "engine")


def _comparable(run: EngineRun) -> tuple[str, str | None, dict[str, object]]:
    return run.table, run.rejects, {k: v for k, v in run.summary.items() if k not in VOLATILE}


def _assert_engines_agree(
    run_engine: RunEngine, spark_session: SparkSession, write: Callable[[Path], Path], timeout: int, attribution: str
) -> None:
    """Write one hit file, run both engines on it, and compare table, rejects and summary."""
    rule_settings = RuleSettings(visit_timeout_s=timeout, attribution=attribution, max_reject_ratio=1.0)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as scratch:
        path = write(Path(scratch) / "hits.tsv")
        stream = run_engine(path, "stream", rule_settings)
        spark = run_engine(path, "spark", rule_settings, session=spark_session)
    assert _comparable(spark) == _comparable(stream)


@pytest.fixture(params=["one-partition", "many-partitions"])
def spark_session(request: pytest.FixtureRequest) -> SparkSession:
    """The Spark engine's session: one input partition per test file, or many small ones."""
    name = "spark" if request.param == "one-partition" else "spark_split"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=hit_rows(),
    timeout=st.sampled_from([0, 1800, 60]),
    attribution=st.sampled_from(["last", "first"]),
    line_end=st.sampled_from(["\n", "\r\n"]),
)
def test_spark_and_stream_engines_agree(
    run_engine: RunEngine,
    spark_session: SparkSession,
    rows: list[dict[str, str] | str],
    timeout: int,
    attribution: str,
    line_end: str,
) -> None:
    write = partial(write_hits, rows=rows, line_end=line_end)
    _assert_engines_agree(run_engine, spark_session, write, timeout, attribution)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=byte_hit_rows(),
    timeout=st.sampled_from([0, 1800, 60]),
    attribution=st.sampled_from(["last", "first"]),
    line_end=st.sampled_from([b"\n", b"\r\n"]),
)
def test_engines_agree_on_arbitrary_bytes(
    run_engine: RunEngine,
    spark_session: SparkSession,
    rows: list[dict[str, bytes] | bytes],
    timeout: int,
    attribution: str,
    line_end: bytes,
) -> None:
    # R1: invalid UTF-8 anywhere, ip and user_agent included, is replaced as Python replaces it;
    # the stream engine is the reference, byte for byte: table, rejects and summary.
    write = partial(write_hit_bytes, rows=rows, line_end=line_end)
    _assert_engines_agree(run_engine, spark_session, write, timeout, attribution)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=hit_rows(max_rows=60), seed=st.integers(0, 2**16))
def test_stream_engine_is_independent_of_row_order(
    run_engine: RunEngine, rows: list[dict[str, str] | str], seed: int
) -> None:
    # Distinct times, so file position never breaks a tie: then row order must not matter (R3).
    valid = [row for row in rows if isinstance(row, dict) and row["hit_time_gmt"].isdigit()]
    for offset, row in enumerate(valid):
        row["hit_time_gmt"] = str(int(row["hit_time_gmt"]) * 1000 + offset)
    ordered = sorted(valid, key=lambda row: int(row["hit_time_gmt"]))
    shuffled = list(ordered)
    random.Random(seed).shuffle(shuffled)
    rule_settings = RuleSettings(visit_timeout_s=1_800_000, max_reject_ratio=1.0)
    with tempfile.TemporaryDirectory() as scratch:
        in_order = run_engine(write_hits(Path(scratch) / "a.tsv", ordered), "stream", rule_settings)
        out_of_order = run_engine(write_hits(Path(scratch) / "b.tsv", shuffled), "stream", rule_settings)
    assert in_order.table == out_of_order.table
    assert in_order.summary["attributed_revenue"] == out_of_order.summary["attributed_revenue"]
