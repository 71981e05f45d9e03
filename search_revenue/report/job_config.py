"""The Glue job's arguments, read once into a frozen config; defaults run locally."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from search_revenue.errors import ConfigError
from search_revenue.report.settings import (
    DEFAULT_MAX_REJECT_RATIO,
    DEFAULT_SEARCH_ENGINES,
    DEFAULT_VISIT_TIMEOUT_S,
    RuleSettings,
    parse_attribution,
    parse_search_engines,
)

REQUIRED_JOB_ARGS: Final = ("input_uri", "output_uri")
OPTIONAL_JOB_ARGS: Final = (
    "JOB_NAME", "run_date", "visit_timeout_s", "attribution", "max_reject_ratio", "search_engines", "input_version",
    "staging_uri",
)  # fmt: skip
LOCAL_RUN_ID: Final = "local"


@dataclass(frozen=True, slots=True)
class JobConfig:
    """Where the job reads and writes, and the rule settings it applies."""

    input_uri: str
    output_uri: str
    run_id: str
    run_date: date | None
    settings: RuleSettings
    input_version: str | None = None
    staging_uri: str | None = None

    @classmethod
    def from_job_args(cls, args: Mapping[str, str]) -> JobConfig:
        """Build from `getResolvedOptions` output; fail fast on a bad value, naming it."""
        for name in REQUIRED_JOB_ARGS:
            if not args.get(name):
                raise ConfigError(name, args.get(name), "a required job argument")
        settings = RuleSettings(
            visit_timeout_s=_integer(args, "visit_timeout_s", DEFAULT_VISIT_TIMEOUT_S),
            attribution=parse_attribution(args.get("attribution", "last")),
            max_reject_ratio=_ratio(args, "max_reject_ratio", DEFAULT_MAX_REJECT_RATIO),
            search_engines=(
                parse_search_engines(args["search_engines"]) if args.get("search_engines") else DEFAULT_SEARCH_ENGINES
            ),
        )
        return cls(
            input_uri=args["input_uri"],
            output_uri=args["output_uri"].rstrip("/"),
            run_id=args.get("JOB_RUN_ID") or LOCAL_RUN_ID,
            run_date=_date(args, "run_date"),
            settings=settings,
            input_version=args.get("input_version") or None,
            staging_uri=args.get("staging_uri") or None,
        )


def _integer(args: Mapping[str, str], name: str, default: int) -> int:
    value = args.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as err:
        raise ConfigError(name, value, "a whole number") from err


def _ratio(args: Mapping[str, str], name: str, default: float) -> float:
    value = args.get(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError as err:
        raise ConfigError(name, value, "a number between 0 and 1") from err


def _date(args: Mapping[str, str], name: str) -> date | None:
    value = args.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise ConfigError(name, value, "a YYYY-MM-DD date") from err
