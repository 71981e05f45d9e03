"""The trigger handler on real S3 event shapes, against moto's Glue."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import lambda_glue_job_trigger as trigger
import pytest
from botocore.exceptions import ClientError

from search_revenue.lambda_config import TriggerConfig
from search_revenue.triggers import UploadedObject, is_data_key, uploaded_objects
from tests.lambdas.conftest import JOB_NAME, LambdaContext, load_event


@pytest.fixture(autouse=True)
def _fresh_deps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLUE_JOB_NAME", JOB_NAME)
    trigger._deps.cache_clear()


@pytest.fixture
def logs() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The handler's JSON log lines, parsed."""
    buffer = io.StringIO()
    handler = trigger.logger.registered_handler
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    handler.setStream(previous)  # type: ignore[attr-defined]


def _run_arguments(run_id: str) -> dict[str, Any]:
    run = boto3.client("glue").get_job_run(JobName=JOB_NAME, RunId=run_id)["JobRun"]
    return dict(run["Arguments"])


def test_put_event_starts_a_run_with_the_input_uri(glue_job: str, lambda_context: LambdaContext) -> None:
    result = trigger.handler(load_event("s3_put.json"), lambda_context)
    run_id = result["started"]["hit_data.tsv"]
    assert _run_arguments(run_id)["--input_uri"] == "s3://inbound-bucket/hit_data.tsv"


def test_multipart_upload_with_spaces_and_non_ascii_key(glue_job: str, lambda_context: LambdaContext) -> None:
    result = trigger.handler(load_event("s3_multipart_complete.json"), lambda_context)
    key = "2026/11/hit data café (2).tsv.gz"
    assert list(result["started"]) == [key]
    assert _run_arguments(result["started"][key])["--input_uri"] == f"s3://inbound-bucket/{key}"


def test_key_that_is_not_data_starts_nothing(
    glue_job: str, lambda_context: LambdaContext, logs: Callable[[], list[dict[str, Any]]]
) -> None:
    event = load_event("s3_put.json")
    event["Records"][0]["s3"]["object"]["key"] = "notes/readme.pdf"
    assert trigger.handler(event, lambda_context) == {"started": {}}
    assert boto3.client("glue").get_job_runs(JobName=JOB_NAME)["JobRuns"] == []
    ignored = [log for log in logs() if log["message"] == "ignored: not a data file"]
    assert [log["input_key"] for log in ignored] == ["notes/readme.pdf"]


def test_started_run_is_logged_with_key_and_run_id(
    glue_job: str, lambda_context: LambdaContext, logs: Callable[[], list[dict[str, Any]]]
) -> None:
    run_id = trigger.handler(load_event("s3_put.json"), lambda_context)["started"]["hit_data.tsv"]
    started = [log for log in logs() if log["message"] == "glue run started"]
    assert started
    assert started[-1]["input_key"] == "hit_data.tsv"
    assert started[-1]["run_id"] == run_id


@pytest.mark.usefixtures("runs_stay_running")
def test_throttled_start_is_logged_and_raised(
    glue_job: str, lambda_context: LambdaContext, logs: Callable[[], list[dict[str, Any]]]
) -> None:
    for _ in range(2):  # MaxConcurrentRuns is 2 in the fixture
        boto3.client("glue").start_job_run(JobName=JOB_NAME)
    with pytest.raises(ClientError) as caught:
        trigger.handler(load_event("s3_put.json"), lambda_context)
    assert caught.value.response["Error"]["Code"] == "ConcurrentRunsExceededException"
    failure = next(log for log in logs() if log["message"] == "could not start the glue run")
    assert failure["input_key"] == "hit_data.tsv"
    assert failure["level"] == "ERROR"


@pytest.mark.parametrize(
    ("key", "expected"),
    [("hit_data.tsv", True), ("in/2026/day.tsv.gz", True), ("DAY.TSV.BZ2", True), ("folder/", False),
     (".hit_data.tsv.swp", False), ("report.pdf", False), ("in/.tmp/hit.tsv", True)],
)  # fmt: skip
def test_is_data_key(key: str, expected: bool) -> None:
    assert is_data_key(key, TriggerConfig.from_env({})) is expected


def test_uploaded_objects_skips_non_create_records() -> None:
    event = load_event("s3_put.json")
    event["Records"].append({"eventName": "ObjectRemoved:Delete", "s3": {}})
    assert list(uploaded_objects(event)) == [UploadedObject("inbound-bucket", "hit_data.tsv")]
