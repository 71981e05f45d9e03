"""The Lambdas' configuration: environment variables read once, with names kept here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from search_revenue.errors import ConfigError
from search_revenue.pipeline.ledger import RETRY_BASE

ENV_GLUE_JOB_NAME: Final = "GLUE_JOB_NAME"
ENV_DATA_SUFFIXES: Final = "DATA_SUFFIXES"
ENV_INBOUND_PREFIX: Final = "INBOUND_PREFIX"
ENV_ALERT_TOPIC_ARN: Final = "ALERT_TOPIC_ARN"
ENV_LEDGER_TABLE: Final = "LEDGER_TABLE"
ENV_MAX_ATTEMPTS: Final = "MAX_ATTEMPTS"
ENV_OUTPUT_URI: Final = "OUTPUT_URI"
ENV_REGION: Final = "AWS_REGION"
ENV_SETTLE_SECONDS: Final = "SETTLE_SECONDS"
ENV_RETRY_BASE_SECONDS: Final = "RETRY_BASE_SECONDS"
ENV_GLUE_TIMEOUT_MINUTES: Final = "GLUE_TIMEOUT_MINUTES"
ENV_RECONCILE_GRACE_SECONDS: Final = "RECONCILE_GRACE_SECONDS"

DEFAULT_GLUE_JOB_NAME: Final = "search-keyword-performance"
DEFAULT_DATA_SUFFIXES: Final = (".tsv", ".tsv.gz", ".tsv.bz2", ".txt", ".txt.gz", ".txt.bz2")
DEFAULT_REGION: Final = "us-east-1"
DEFAULT_LEDGER_TABLE: Final = "search-keyword-run-ledger"
DEFAULT_MAX_ATTEMPTS: Final = 3
# The file gateway may upload partial content, then the whole file, then its metadata as further
# versions within seconds: a version counts only once the key has not changed for this long.
DEFAULT_SETTLE_SECONDS: Final = 60
DEFAULT_RETRY_BASE_SECONDS: Final = int(RETRY_BASE.total_seconds())
DEFAULT_GLUE_TIMEOUT_MINUTES: Final = 120
# A RUNNING item is asked about only after the job's timeout plus this, so a late end event wins.
DEFAULT_RECONCILE_GRACE_SECONDS: Final = 900


def _whole_number(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, str(default))
    if not raw.isdigit() or int(raw) < minimum:
        raise ConfigError(name, raw, f"a whole number of {minimum} or more")
    return int(raw)


@dataclass(frozen=True, slots=True)
class TriggerConfig:
    """What the trigger starts, which uploaded keys are data files, where a start refused for good is announced."""

    glue_job_name: str
    data_suffixes: tuple[str, ...]
    inbound_prefix: str
    ledger_table: str
    settle: timedelta = timedelta(seconds=DEFAULT_SETTLE_SECONDS)
    topic_arn: str = ""
    # A refused start is left for the retry path after this; the same setting as the retry path's.
    retry_base: timedelta = timedelta(seconds=DEFAULT_RETRY_BASE_SECONDS)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TriggerConfig:
        """Build from the environment; fail on an empty suffix list."""
        suffixes = tuple(
            suffix.strip().lower() for suffix in env.get(ENV_DATA_SUFFIXES, ",".join(DEFAULT_DATA_SUFFIXES)).split(",")
        )
        if not all(suffixes):
            raise ConfigError(ENV_DATA_SUFFIXES, env.get(ENV_DATA_SUFFIXES), "comma-separated file suffixes")
        return cls(
            glue_job_name=env.get(ENV_GLUE_JOB_NAME, DEFAULT_GLUE_JOB_NAME),
            data_suffixes=suffixes,
            inbound_prefix=env.get(ENV_INBOUND_PREFIX, ""),
            ledger_table=env.get(ENV_LEDGER_TABLE, DEFAULT_LEDGER_TABLE),
            settle=timedelta(seconds=_whole_number(env, ENV_SETTLE_SECONDS, DEFAULT_SETTLE_SECONDS, 0)),
            topic_arn=env.get(ENV_ALERT_TOPIC_ARN, ""),
            retry_base=timedelta(seconds=_whole_number(env, ENV_RETRY_BASE_SECONDS, DEFAULT_RETRY_BASE_SECONDS, 1)),
        )


@dataclass(frozen=True, slots=True)
class LedgerConfig:
    """The state tracker's and the retry path's settings."""

    ledger_table: str
    glue_job_name: str
    output_uri: str
    max_attempts: int
    topic_arn: str
    region: str = DEFAULT_REGION
    retry_base: timedelta = timedelta(seconds=DEFAULT_RETRY_BASE_SECONDS)
    reconcile_after: timedelta = timedelta(
        minutes=DEFAULT_GLUE_TIMEOUT_MINUTES, seconds=DEFAULT_RECONCILE_GRACE_SECONDS
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LedgerConfig:
        """Build from the environment; fail on a bad attempt limit, backoff or timeout."""
        timeout_minutes = _whole_number(env, ENV_GLUE_TIMEOUT_MINUTES, DEFAULT_GLUE_TIMEOUT_MINUTES, 0)
        grace_seconds = _whole_number(env, ENV_RECONCILE_GRACE_SECONDS, DEFAULT_RECONCILE_GRACE_SECONDS, 0)
        return cls(
            ledger_table=env.get(ENV_LEDGER_TABLE, DEFAULT_LEDGER_TABLE),
            glue_job_name=env.get(ENV_GLUE_JOB_NAME, DEFAULT_GLUE_JOB_NAME),
            output_uri=env.get(ENV_OUTPUT_URI, "").rstrip("/"),
            max_attempts=_whole_number(env, ENV_MAX_ATTEMPTS, DEFAULT_MAX_ATTEMPTS, 1),
            topic_arn=env.get(ENV_ALERT_TOPIC_ARN, ""),
            region=env.get(ENV_REGION, DEFAULT_REGION),
            retry_base=timedelta(seconds=_whole_number(env, ENV_RETRY_BASE_SECONDS, DEFAULT_RETRY_BASE_SECONDS, 1)),
            reconcile_after=timedelta(minutes=timeout_minutes, seconds=grace_seconds),
        )


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """Where failure alerts go."""

    topic_arn: str
    region: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AlertConfig:
        """Build from the environment; the topic is required."""
        topic_arn = env.get(ENV_ALERT_TOPIC_ARN, "")
        if not topic_arn.startswith("arn:"):
            raise ConfigError(ENV_ALERT_TOPIC_ARN, topic_arn, "an SNS topic ARN")
        return cls(topic_arn=topic_arn, region=env.get(ENV_REGION, DEFAULT_REGION))
