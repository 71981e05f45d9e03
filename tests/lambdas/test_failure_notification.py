"""The failure handler: a Glue state-change event becomes an SNS alert a person can act on."""

from __future__ import annotations

import json

import boto3
import lambda_glue_failure_notification as notification
import pytest

from search_revenue.pipeline.alerts import FAILURE_STATES
from tests.lambdas.conftest import JOB_NAME, LambdaContext, load_event


@pytest.fixture(autouse=True)
def _fresh_deps(monkeypatch: pytest.MonkeyPatch, alert_topic: str) -> None:
    monkeypatch.setenv("ALERT_TOPIC_ARN", alert_topic)
    notification._deps.cache_clear()


def _received(inbox: str) -> list[dict[str, str]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


@pytest.mark.parametrize("state", FAILURE_STATES)
def test_each_failure_state_publishes_an_actionable_alert(
    glue_job: str, alert_inbox: str, lambda_context: LambdaContext, state: str
) -> None:
    run_id = boto3.client("glue").start_job_run(
        JobName=JOB_NAME, Arguments={"--input_uri": "s3://inbound-bucket/2026/bad file.tsv"}
    )["JobRunId"]
    event = load_event("glue_job_failed.json")
    event["detail"].update(state=state, jobRunId=run_id)
    result = notification.handler(event, lambda_context)
    assert result["published"]
    [published] = _received(alert_inbox)
    body = published["Message"]
    assert published["Subject"] == f"Search keyword job {state}: bad file.tsv"
    assert f"Run id:    {run_id}" in body
    assert f"State:     {state}" in body
    assert "Input:     s3://inbound-bucket/2026/bad file.tsv" in body
    assert "missing required columns: ip, referrer" in body
    assert f"#/job/{JOB_NAME}/run/{run_id}" in body


def test_succeeded_run_publishes_nothing(glue_job: str, alert_inbox: str, lambda_context: LambdaContext) -> None:
    assert notification.handler(load_event("glue_job_succeeded.json"), lambda_context) == {"published": None}
    assert _received(alert_inbox) == []


def test_failed_run_of_a_ledger_item_is_left_to_the_run_ledger(
    glue_job: str, alert_inbox: str, lambda_context: LambdaContext
) -> None:
    arguments = {"--input_uri": "s3://inbound-bucket/a.tsv", "--ledger_pk": "s3://inbound-bucket/a.tsv",
                 "--ledger_sk": "etag#e1"}  # fmt: skip
    run_id = boto3.client("glue").start_job_run(JobName=JOB_NAME, Arguments=arguments)["JobRunId"]
    event = load_event("glue_job_failed.json")
    event["detail"].update(jobRunId=run_id)
    assert notification.handler(event, lambda_context) == {"published": None}
    assert _received(alert_inbox) == []
