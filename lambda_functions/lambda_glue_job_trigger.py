"""SQS (S3 notifications after the settle delay) -> settled version? -> claim it in the run ledger -> start Glue."""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from search_revenue.pipeline.config import TriggerConfig
from search_revenue.pipeline.ledger import Ledger
from search_revenue.pipeline.triggers import handle_upload, s3_events_from_sqs, uploaded_objects

logger = Logger(service="search-keyword-trigger")


@functools.cache
def _deps() -> tuple[TriggerConfig, Any, Any, Ledger]:
    config = TriggerConfig.from_env(os.environ)
    return config, boto3.client("glue"), boto3.client("s3"), Ledger(boto3.client("dynamodb"), config.ledger_table)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Start one Glue run per settled data file; hand back (batchItemFailures) messages not settled yet.

    Lambda reads only `batchItemFailures` (ReportBatchItemFailures); `started`, `decisions` and
    `handled` (key, version, decision) say what was done, for the logs and the local flow.
    """
    config, glue, s3, ledger = _deps()
    started: dict[str, str] = {}
    decisions: dict[str, str] = {}
    unsettled: list[dict[str, str]] = []
    handled: list[dict[str, str | None]] = []
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
            decisions[uploaded.key] = outcome.decision
            handled.append({"key": uploaded.key, "version_id": uploaded.version_id, "decision": outcome.decision,
                            "run_id": outcome.run_id})  # fmt: skip
            if outcome.run_id:
                started[uploaded.key] = outcome.run_id
                logger.info("glue run started", extra={"run_id": outcome.run_id})
            elif outcome.decision == "released":
                logger.warning("glue run not started; the retry path will start it")
            elif outcome.decision == "unsettled":
                unsettled.append({"itemIdentifier": message_id})
                logger.info("not settled yet; the queue delivers it again")
            else:
                logger.info(f"no run: {outcome.decision}")
    return {"batchItemFailures": unsettled, "started": started, "decisions": decisions, "handled": handled}
