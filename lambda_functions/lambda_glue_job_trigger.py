"""S3 object created -> start the Glue job for each data file (ignore everything else)."""

from __future__ import annotations

import functools
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from search_revenue.lambda_config import TriggerConfig
from search_revenue.triggers import is_data_key, start_run, uploaded_objects

logger = Logger(service="search-keyword-trigger")


@functools.cache
def _deps() -> tuple[TriggerConfig, Any]:
    return TriggerConfig.from_env(os.environ), boto3.client("glue")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Start one Glue run per uploaded data file; return the run ids by key."""
    config, glue = _deps()
    started: dict[str, str] = {}
    for uploaded in uploaded_objects(event):
        logger.append_keys(input_key=uploaded.key)
        if not is_data_key(uploaded.key, config):
            logger.info("ignored: not a data file")
            continue
        try:
            run_id = start_run(glue, config, uploaded)
        except Exception:
            # Lambda retries the event; the on-failure destination keeps it if retries run out.
            logger.exception("could not start the glue run")
            raise
        logger.info("glue run started", extra={"run_id": run_id})
        started[uploaded.key] = run_id
    return {"started": started}
