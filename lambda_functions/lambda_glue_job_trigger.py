"""SQS (S3 notifications after the settle delay) -> settled version? -> claim it in the run ledger -> start Glue
(or, when Glue refuses the start for good, give the input up and alert)."""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from search_revenue.pipeline.alerts import alert_for_refused_start
from search_revenue.pipeline.announcements import Announcement, AnnounceReport, announce, log_unpublished
from search_revenue.pipeline.config import TriggerConfig
from search_revenue.pipeline.ledger import Ledger
from search_revenue.pipeline.triggers import batch_response, handle_upload, s3_events_from_sqs, uploaded_objects

logger = Logger(service="search-keyword-trigger")


@functools.cache
def _deps() -> tuple[TriggerConfig, Any, Any, Any, Ledger]:
    config = TriggerConfig.from_env(os.environ)
    ledger = Ledger(boto3.client("dynamodb"), config.ledger_table)
    return config, boto3.client("glue"), boto3.client("s3"), boto3.client("sns"), ledger


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Start one Glue run per settled data file; hand back (batchItemFailures) messages not settled yet.

    Returns Lambda's partial batch response and nothing else. What came of each upload is one log
    line with its key, version, `decision`, `run_id` and Glue's `error`; a start Glue refused for good
    also sends the GAVE UP alert.
    """
    config, glue, s3, sns, ledger = _deps()
    unsettled: list[str] = []
    announced: list[AnnounceReport] = []
    for message_id, notification in s3_events_from_sqs(event):
        for uploaded in uploaded_objects(notification):
            logger.append_keys(input_key=uploaded.key, version_id=uploaded.version_id)
            try:
                outcome = handle_upload(glue, s3, ledger, config, uploaded, datetime.now(UTC))
            except Exception:
                # The whole batch comes back after the visibility timeout; every step is conditional,
                # so messages done before this one change nothing the second time.
                logger.exception("could not record or start the glue run")
                raise
            decided = {"decision": outcome.decision, "run_id": outcome.run_id, "error": outcome.error}
            if outcome.run_id:
                logger.info("glue run started", extra=decided)
            elif outcome.decision == "released":
                logger.warning("glue run not started; the retry path will start it", extra=decided)
            elif outcome.refused:
                # GAVE_UP was this call's transition, so this call announces it (as the retry path does).
                refused = outcome.refused
                alert = Announcement(refused.pk, refused.sk, alert_for_refused_start(refused, config.glue_job_name))
                logger.error("glue refused the start for good; input given up", extra=decided)
                announced.append(announce(sns, config.topic_arn, ledger, [alert], datetime.now(UTC)))
                log_unpublished(logger, announced[-1])
            elif outcome.decision == "unsettled":
                unsettled.append(message_id)
                logger.info("not settled yet; the queue delivers it again", extra=decided)
            else:
                logger.info(f"no run: {outcome.decision}", extra=decided)
    # After every upload of the batch: a refused publish (its alert held for the retry path) must
    # not hold back the uploads after it.
    for report in announced:
        report.raise_if_failed()
    return batch_response(unsettled)
