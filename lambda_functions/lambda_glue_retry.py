"""Every 15 minutes: reconcile RUNNING items whose end was lost, restart RECEIVED or FAILED inputs, or give up
(at the attempt limit, or at once when Glue refuses a start for good)."""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from search_revenue.pipeline.alerts import alert_for_gave_up, alert_for_outcome, alert_for_refused_start
from search_revenue.pipeline.announcements import Announcement, announce, log_unpublished, send_held_alerts
from search_revenue.pipeline.config import LedgerConfig
from search_revenue.pipeline.ledger import Ledger
from search_revenue.pipeline.runs import retry_due

logger = Logger(service="search-keyword-retry")


@functools.cache
def _deps() -> tuple[LedgerConfig, Any, Any, Ledger]:
    config = LedgerConfig.from_env(os.environ)
    ledger = Ledger(boto3.client("dynamodb"), config.ledger_table)
    return config, boto3.client("glue"), boto3.client("sns"), ledger


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """One pass of the retry path; an alert for each input given up."""
    config, glue, sns, ledger = _deps()
    now = datetime.now(UTC)
    report = retry_due(glue, ledger, config.glue_job_name, config.max_attempts, now,
                       retry_base=config.retry_base, reconcile_after=config.reconcile_after,
                       output_uri=config.output_uri)  # fmt: skip
    announcements = []
    for outcome in report.reconciled:
        logger.warning("lost run end reconciled", extra={"input_key": outcome.pk, "status": outcome.status})
        reconciled_alert = alert_for_outcome(outcome, config.glue_job_name, config.max_attempts, config.region)
        if reconciled_alert is not None:
            announcements.append(Announcement(outcome.pk, outcome.sk, reconciled_alert))
    for pk, run_id in report.started.items():
        logger.info("glue run started", extra={"input_key": pk, "run_id": run_id})
    for pk, error in report.released.items():
        logger.warning("glue run not started; left for the next pass", extra={"input_key": pk, "error": error})
    for item in report.gave_up:
        logger.warning("gave up on an input", extra={"input_key": item.pk, "attempts": item.attempts})
        alert = alert_for_gave_up(item, config.glue_job_name, config.max_attempts)
        announcements.append(Announcement(item.pk, item.sk, alert))
    for refused in report.refused:
        logger.error("glue refused the start for good; input given up", extra={"input_key": refused.pk,
                                                                               "error": refused.error})  # fmt: skip
        alert = alert_for_refused_start(refused, config.glue_job_name)
        announcements.append(Announcement(refused.pk, refused.sk, alert))
    announced = announce(sns, config.topic_arn, ledger, announcements, now)
    resent = send_held_alerts(sns, config.topic_arn, ledger, now)
    for pk, message_id in resent.published.items():
        logger.warning("held alert sent (its first publish failed)", extra={"input_key": pk, "message_id": message_id})
    log_unpublished(logger, announced)
    log_unpublished(logger, resent)
    logger.info("retry pass done", extra={"started": len(report.started), "waiting": report.still_waiting})
    announced.raise_if_failed()
    resent.raise_if_failed()
    gave_up = [item.pk for item in report.gave_up] + [refused.pk for refused in report.refused]
    return {"started": report.started, "gave_up": gave_up,
            "reconciled": {outcome.pk: outcome.status for outcome in report.reconciled}}  # fmt: skip
