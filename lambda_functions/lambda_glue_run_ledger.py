"""Glue run ended (EventBridge) -> read the run -> keep its run-ledger item current."""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from search_revenue.pipeline.config import LedgerConfig
from search_revenue.pipeline.ledger import Ledger
from search_revenue.pipeline.runs import END_STATES, record_run_end

logger = Logger(service="search-keyword-run-ledger")


@functools.cache
def _deps() -> tuple[LedgerConfig, Any, Ledger]:
    config = LedgerConfig.from_env(os.environ)
    return config, boto3.client("glue"), Ledger(boto3.client("dynamodb"), config.ledger_table)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Record SUCCEEDED (with the report) or FAILED/TIMEOUT/ERROR/STOPPED (with the error)."""
    config, glue, ledger = _deps()
    detail = event.get("detail", {})
    if detail.get("state") not in END_STATES:
        return {"recorded": False}
    logger.append_keys(run_id=detail.get("jobRunId"))
    job_run = glue.get_job_run(JobName=detail["jobName"], RunId=detail["jobRunId"], PredecessorsIncluded=False)[
        "JobRun"
    ]
    recorded = record_run_end(ledger, detail, job_run, config.output_uri, datetime.now(UTC))
    logger.info("ledger updated" if recorded else "no ledger change", extra={"state": detail.get("state")})
    return {"recorded": recorded}
