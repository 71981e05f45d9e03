"""Glue run ended (EventBridge) -> read the run -> keep its run-ledger item current."""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from search_revenue.pipeline.alerts import alert_for_outcome
from search_revenue.pipeline.announcements import Announcement, announce, log_unpublished
from search_revenue.pipeline.config import LedgerConfig
from search_revenue.pipeline.ledger import Ledger
from search_revenue.pipeline.runs import END_STATES, record_run_end

logger = Logger(service="search-keyword-run-ledger")


@functools.cache
def _deps() -> tuple[LedgerConfig, Any, Any, Ledger]:
    config = LedgerConfig.from_env(os.environ)
    return config, boto3.client("glue"), boto3.client("sns"), Ledger(boto3.client("dynamodb"), config.ledger_table)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Record SUCCEEDED (with the report), FAILED or GAVE_UP (with the error); alert on a first failure or GAVE_UP."""
    config, glue, sns, ledger = _deps()
    detail = event.get("detail", {})
    if detail.get("state") not in END_STATES:
        return {"recorded": False}
    logger.append_keys(run_id=detail.get("jobRunId"))
    job_run = glue.get_job_run(JobName=detail["jobName"], RunId=detail["jobRunId"], PredecessorsIncluded=False)[
        "JobRun"
    ]
    outcome = record_run_end(ledger, detail, job_run, config.output_uri, datetime.now(UTC),
                             max_attempts=config.max_attempts, retry_base=config.retry_base)  # fmt: skip
    logger.info("ledger updated" if outcome else "no ledger change", extra={"state": detail.get("state")})
    alert = alert_for_outcome(outcome, config.glue_job_name, config.max_attempts, config.region) if outcome else None
    published = None
    if alert is not None and outcome is not None:
        announced = announce(sns, config.topic_arn, ledger, [Announcement(outcome.pk, outcome.sk, alert)],
                             datetime.now(UTC))  # fmt: skip
        log_unpublished(logger, announced)
        announced.raise_if_failed()
        published = announced.published[outcome.pk]
        logger.info("alert published", extra={"message_id": published, "status": outcome.status})
    return {"recorded": outcome is not None, "status": outcome.status if outcome else None, "published": published}
