"""Shared fixtures: one local Spark session, and a runner that drives either engine end to end."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from search_revenue.outbound import OutputNames
from search_revenue.report.performance import ENGINES, Engine, SearchKeywordPerformance
from search_revenue.report.settings import RuleSettings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "hit_data.tsv"
RUN_DATE = date(2026, 11, 21)

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


# Under pytest-xdist (`make test`), the tests of these folders stay on one worker, in order: the
# deploy tests share the runtime and package builds under build/, and the local flows each run a
# whole pipeline with its own Spark, whose settle-time scenarios should not compete with another.
SERIAL_FOLDERS = {"deploy": "build-cache", "emulation": "local-flows"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        group = SERIAL_FOLDERS.get(item.path.parent.name)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    from search_revenue.report.spark_session import local_spark_session

    session = local_spark_session("local[2]", shuffle_partitions=2)
    yield session
    session.stop()


# Small enough that even a test file of a few rows spans several input partitions, as a large
# file does on a real cluster: line positions, reject line numbers and the header rule then
# cross partition boundaries.
SPLIT_PARTITION_BYTES = 64


@pytest.fixture(scope="session")
def spark_split(spark: SparkSession) -> SparkSession:
    """A second session on the same JVM that splits every splittable input into 64-byte partitions."""
    session = spark.newSession()
    session.conf.set("spark.sql.files.maxPartitionBytes", str(SPLIT_PARTITION_BYTES))
    session.conf.set("spark.sql.files.openCostInBytes", "0")
    return session


@dataclass(frozen=True)
class EngineRun:
    """The files one run left behind."""

    table: str
    rejects: str | None
    summary: dict[str, Any]


RunEngine = Callable[..., EngineRun]


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def run_engine(request: pytest.FixtureRequest, tmp_path: Path) -> RunEngine:
    """Run a file through an engine into a fresh directory and read back what it wrote."""
    counter = iter(range(1_000_000))

    def run(
        path: Path, engine: Engine, settings: RuleSettings | None = None, *, session: SparkSession | None = None
    ) -> EngineRun:
        if engine == "spark" and session is None:
            session = request.getfixturevalue("spark")
        output_dir = tmp_path / f"out-{engine}-{next(counter)}"
        report = SearchKeywordPerformance(settings, run_date=RUN_DATE)
        outcome = report.run(str(path), output_dir, engine=engine, spark=session if engine == "spark" else None)
        names = OutputNames.for_run_date(RUN_DATE)
        rejects = output_dir / names.rejects
        return EngineRun(
            table=outcome.table.read_text(encoding="utf-8"),
            rejects=rejects.read_text(encoding="utf-8") if rejects.exists() else None,
            summary=json.loads((output_dir / names.summary).read_text(encoding="utf-8")),
        )

    return run
