"""`SearchKeywordPerformance`: configured once, runs an input through an engine, writes the report."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from search_revenue.errors import ConfigError
from search_revenue.outbound import OutputNames
from search_revenue.report.outputs import RejectsFile, summary_document, write_outputs
from search_revenue.report.results import EngineResult, RejectSink
from search_revenue.report.settings import RuleSettings
from search_revenue.report.stream_engine import run_stream_engine

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

Engine = Literal["spark", "stream"]
ENGINES: Final[tuple[Engine, ...]] = ("spark", "stream")


def parse_engine(value: str) -> Engine:
    """Check an engine name."""
    for engine in ENGINES:
        if value == engine:
            return engine
    raise ConfigError("engine", value, "one of: " + ", ".join(ENGINES))


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What a finished run wrote, and its summary."""

    table: Path
    rejects: Path | None
    summary: dict[str, Any]
    result: EngineResult


class SearchKeywordPerformance:
    """The client's report: revenue per search engine domain and keyword (R1-R8)."""

    def __init__(self, settings: RuleSettings | None = None, *, run_date: date) -> None:
        self.settings = settings or RuleSettings()
        self.run_date = run_date
        self.output_names = OutputNames.for_run_date(run_date)

    def compute(
        self, path: str, *, engine: Engine, on_reject: RejectSink, spark: SparkSession | None = None,
        source: str | None = None,
    ) -> EngineResult:  # fmt: skip
        """Run one input through an engine and return the ranked revenue and totals.

        Raises:
            InputError, RejectThresholdExceededError: see the engines.
        """
        if engine == "stream":
            return run_stream_engine(path, self.settings, on_reject)
        from search_revenue.report.spark_engine import run_spark_engine  # Spark is imported only when used

        if spark is None:
            raise ConfigError("spark", None, "a SparkSession for the spark engine")
        return run_spark_engine(spark, path, self.settings, on_reject, source=source)

    def run(
        self, path: str, output_dir: Path, *, engine: Engine, spark: SparkSession | None = None,
        source: str | None = None, source_version: str | None = None,
    ) -> RunOutcome:  # fmt: skip
        """Compute the report of one input and write the table, rejects and summary into a directory.

        Nothing is left behind when the run fails: no table, no partial rejects.
        """
        output_dir.mkdir(parents=True, exist_ok=True)
        rejects = RejectsFile(output_dir / self.output_names.rejects)
        started = time.perf_counter()
        try:
            result = self.compute(path, engine=engine, on_reject=rejects, spark=spark, source=source)
        except BaseException:
            rejects.discard()
            raise
        rejects_path = rejects.commit()
        summary = summary_document(
            source=source or path,
            source_version=source_version,
            engine=engine,
            run_date=self.run_date,
            result=result,
            seconds=time.perf_counter() - started,
            settings=self._settings_document(),
        )
        table = write_outputs(output_dir, self.output_names, result, summary)
        log.info("report written", extra={"input_key": source or path, "table": str(table)})
        return RunOutcome(table, rejects_path, summary, result)

    def _settings_document(self) -> dict[str, Any]:
        settings = self.settings
        return {
            "visit_timeout_s": settings.visit_timeout_s,
            "attribution": settings.attribution,
            "max_reject_ratio": settings.max_reject_ratio,
            "search_engines": dict(settings.search_engines),
        }
