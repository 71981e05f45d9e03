"""S3 object created -> claim the file in the run ledger -> start the Glue job (once per content)."""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from search_revenue.pipeline.config import TriggerConfig
from search_revenue.pipeline.ledger import Ledger
from search_revenue.pipeline.triggers import handle_upload, uploaded_objects

logger = Logger(service="search-keyword-trigger")


@functools.cache
def _deps() -> tuple[TriggerConfig, Any, Ledger]:
    config = TriggerConfig.from_env(os.environ)
    return config, boto3.client("glue"), Ledger(boto3.client("dynamodb"), config.ledger_table)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Start one Glue run per new data file; return what was done with each key."""
    config, glue, ledger = _deps()
    started: dict[str, str] = {}
    decisions: dict[str, str] = {}
    for uploaded in uploaded_objects(event):
        logger.append_keys(input_key=uploaded.key)
        try:
            outcome = handle_upload(glue, ledger, config, uploaded, datetime.now(UTC))
        except Exception:
            # Lambda retries the event; the on-failure destination keeps it if retries run out.
            logger.exception("could not record or start the glue run")
            raise
        decisions[uploaded.key] = outcome.decision
        if outcome.run_id:
            started[uploaded.key] = outcome.run_id
            logger.info("glue run started", extra={"run_id": outcome.run_id})
        elif outcome.decision == "released":
            logger.warning("glue run not started; the retry path will start it")
        else:
            logger.info(f"no run: {outcome.decision}")
    return {"started": started, "decisions": decisions}
