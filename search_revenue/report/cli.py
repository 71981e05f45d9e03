"""`python -m search_revenue INPUT`: the client's report from one hit level data file."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from search_revenue.errors import ConfigError, InputNotFoundError, InputNotTextError, SearchRevenueError
from search_revenue.logs import configure_json_logging
from search_revenue.report.performance import ENGINES, SearchKeywordPerformance, parse_engine
from search_revenue.report.settings import (
    DEFAULT_MAX_REJECT_RATIO,
    DEFAULT_VISIT_TIMEOUT_S,
    RuleSettings,
    parse_attribution,
)

EXIT_FAILED = 1
EXIT_USAGE = 2


def _run_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {value!r}") from err


def build_parser() -> argparse.ArgumentParser:
    """Describe the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m search_revenue",
        description="Revenue per external search engine domain and keyword, from hit level data.",
    )
    parser.add_argument("input", help="hit level data file: plain, .gz or .bz2")
    parser.add_argument("--output-dir", type=Path, default=Path("."), help="where the report goes [.]")
    parser.add_argument("--run-date", type=_run_date, help="date in the file name, YYYY-MM-DD [today, UTC]")
    parser.add_argument("--engine", choices=ENGINES, default="spark", help="[spark]")
    parser.add_argument("--visit-timeout", type=int, default=DEFAULT_VISIT_TIMEOUT_S, metavar="SECONDS",
                        help=f"gap that ends a visit; 0 never ends one [{DEFAULT_VISIT_TIMEOUT_S}]")  # fmt: skip
    parser.add_argument("--attribution", choices=("last", "first"), default="last", help="[last]")
    parser.add_argument("--max-reject-ratio", type=float, default=DEFAULT_MAX_REJECT_RATIO, metavar="R",
                        help=f"fail when rejected rows exceed this share [{DEFAULT_MAX_REJECT_RATIO}]")  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="print only errors")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status."""
    args = build_parser().parse_args(argv)
    configure_json_logging(logging.WARNING if args.quiet else logging.INFO)
    try:
        settings = RuleSettings(
            visit_timeout_s=args.visit_timeout,
            attribution=parse_attribution(args.attribution),
            max_reject_ratio=args.max_reject_ratio,
        )
        engine = parse_engine(args.engine)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    run_date = args.run_date or datetime.now(UTC).date()
    report = SearchKeywordPerformance(settings, run_date=run_date)
    try:
        _check_local_input(args.input)
        spark = None
        if engine == "spark":
            from search_revenue.report.spark_session import local_spark_session

            spark = local_spark_session()
        outcome = report.run(args.input, args.output_dir, engine=engine, spark=spark)
    except SearchRevenueError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    if not args.quiet:
        summary = outcome.summary
        print(f"{outcome.table}")
        print(outcome.table.read_text(encoding="utf-8"), end="")
        print(
            f"rows read {summary['rows_read']}, rejected {summary['rejected']}, purchases {summary['purchases']}, "
            f"revenue {summary['total_revenue']} (attributed {summary['attributed_revenue']}, "
            f"unattributed {summary['unattributed_revenue']}), {summary['seconds']} s, engine {engine}"
        )
        if outcome.rejects is not None:
            print(f"rejected rows: {outcome.rejects}")
    return 0


def _check_local_input(path: str) -> None:
    # Both engines should fail the same way on a missing path or a directory, before Spark starts.
    file = Path(path)
    if not file.exists():
        raise InputNotFoundError(path)
    if not file.is_file():
        raise InputNotTextError(path, "not a regular file")
