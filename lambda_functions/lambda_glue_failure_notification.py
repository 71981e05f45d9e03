"""Glue run failed (EventBridge) -> read the run -> alert on SNS unless the run ledger does (a run started by hand)."""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from search_revenue.pipeline.alerts import alert_for_failure, failure_from_event
from search_revenue.pipeline.config import AlertConfig
from search_revenue.pipeline.runs import ledger_keys

logger = Logger(service="search-keyword-alerts")


@functools.cache
def _deps() -> tuple[AlertConfig, Any, Any]:
    return AlertConfig.from_env(os.environ), boto3.client("glue"), boto3.client("sns")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Publish one alert for a failed Glue run started outside the run ledger; ignore any other event."""
    config, glue, sns = _deps()
    failure = failure_from_event(event)
    if failure is None:
        logger.info("ignored: not a failure event")
        return {"published": None}
    logger.append_keys(run_id=failure.run_id, job_name=failure.job_name)
    job_run = glue.get_job_run(JobName=failure.job_name, RunId=failure.run_id, PredecessorsIncluded=False)["JobRun"]
    if ledger_keys(job_run.get("Arguments", {})) is not None:
        # One alert per outcome: the run ledger announces its runs' ends (first failure, GAVE_UP).
        logger.info("ignored: the run ledger alerts for this run")
        return {"published": None}
    alert = alert_for_failure(failure, job_run, config.region)
    message_id = sns.publish(TopicArn=config.topic_arn, Subject=alert.subject, Message=alert.body)["MessageId"]
    logger.info("alert published", extra={"message_id": message_id, "state": failure.state})
    return {"published": message_id}
