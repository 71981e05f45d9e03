"""The Lambdas' configuration: environment variables read once, with names kept here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from search_revenue.errors import ConfigError

ENV_GLUE_JOB_NAME: Final = "GLUE_JOB_NAME"
ENV_DATA_SUFFIXES: Final = "DATA_SUFFIXES"
ENV_INBOUND_PREFIX: Final = "INBOUND_PREFIX"
ENV_ALERT_TOPIC_ARN: Final = "ALERT_TOPIC_ARN"
ENV_LEDGER_TABLE: Final = "LEDGER_TABLE"
ENV_MAX_ATTEMPTS: Final = "MAX_ATTEMPTS"
ENV_OUTPUT_URI: Final = "OUTPUT_URI"
ENV_REGION: Final = "AWS_REGION"

DEFAULT_GLUE_JOB_NAME: Final = "search-keyword-performance"
DEFAULT_DATA_SUFFIXES: Final = (".tsv", ".tsv.gz", ".tsv.bz2", ".txt", ".txt.gz", ".txt.bz2")
DEFAULT_REGION: Final = "us-east-1"
DEFAULT_LEDGER_TABLE: Final = "search-keyword-run-ledger"
DEFAULT_MAX_ATTEMPTS: Final = 3


@dataclass(frozen=True, slots=True)
class TriggerConfig:
    """What the trigger starts, and which uploaded keys count as data files."""

    glue_job_name: str
    data_suffixes: tuple[str, ...]
    inbound_prefix: str
    ledger_table: str

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
        )


@dataclass(frozen=True, slots=True)
class LedgerConfig:
    """The state tracker's and the retry path's settings."""

    ledger_table: str
    glue_job_name: str
    output_uri: str
    max_attempts: int
    topic_arn: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LedgerConfig:
        """Build from the environment; fail on a bad attempt limit."""
        raw_attempts = env.get(ENV_MAX_ATTEMPTS, str(DEFAULT_MAX_ATTEMPTS))
        if not raw_attempts.isdigit() or int(raw_attempts) < 1:
            raise ConfigError(ENV_MAX_ATTEMPTS, raw_attempts, "a whole number of 1 or more")
        return cls(
            ledger_table=env.get(ENV_LEDGER_TABLE, DEFAULT_LEDGER_TABLE),
            glue_job_name=env.get(ENV_GLUE_JOB_NAME, DEFAULT_GLUE_JOB_NAME),
            output_uri=env.get(ENV_OUTPUT_URI, "").rstrip("/"),
            max_attempts=int(raw_attempts),
            topic_arn=env.get(ENV_ALERT_TOPIC_ARN, ""),
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
