"""The trigger handler on real S3 event shapes, against moto's Glue."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import lambda_glue_job_trigger as trigger
import pytest

from search_revenue.pipeline.config import TriggerConfig
from search_revenue.pipeline.ledger import RECEIVED, Ledger
from search_revenue.pipeline.triggers import UploadedObject, is_data_key, uploaded_objects
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


pytestmark = pytest.mark.usefixtures("ledger_table")


def test_put_event_starts_a_run_with_the_input_uri(glue_job: str, lambda_context: LambdaContext) -> None:
    result = trigger.handler(load_event("s3_put.json"), lambda_context)
    run_id = result["started"]["hit_data.tsv"]
    assert _run_arguments(run_id)["--input_uri"] == "s3://inbound-bucket/hit_data.tsv"


def test_multipart_upload_with_spaces_and_non_ascii_key(glue_job: str, lambda_context: LambdaContext) -> None:
    result = trigger.handler(load_event("s3_multipart_complete.json"), lambda_context)
    key = "2026/11/hit data café (2).tsv.gz"
    assert list(result["started"]) == [key]
    assert _run_arguments(result["started"][key])["--input_uri"] == f"s3://inbound-bucket/{key}"


@pytest.mark.parametrize("key", ["HITS.TSV", "2026/11/hits.tsv.GZ", "Hits.Tsv.Bz2"])
def test_data_suffix_in_any_case_starts_a_run(glue_job: str, lambda_context: LambdaContext, key: str) -> None:
    event = load_event("s3_put.json")
    event["Records"][0]["s3"]["object"]["key"] = key
    result = trigger.handler(event, lambda_context)
    assert _run_arguments(result["started"][key])["--input_uri"] == f"s3://inbound-bucket/{key}"


def test_key_that_is_not_data_starts_nothing(
    glue_job: str, lambda_context: LambdaContext, logs: Callable[[], list[dict[str, Any]]]
) -> None:
    event = load_event("s3_put.json")
    event["Records"][0]["s3"]["object"]["key"] = "notes/readme.pdf"
    assert trigger.handler(event, lambda_context) == {"started": {}, "decisions": {"notes/readme.pdf": "ignored"}}
    assert boto3.client("glue").get_job_runs(JobName=JOB_NAME)["JobRuns"] == []
    ignored = [log for log in logs() if log["message"] == "no run: ignored"]
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
def test_throttled_start_is_left_received_for_the_retry_path(
    glue_job: str, lambda_context: LambdaContext, logs: Callable[[], list[dict[str, Any]]]
) -> None:
    for _ in range(2):  # MaxConcurrentRuns is 2 in the fixture
        boto3.client("glue").start_job_run(JobName=JOB_NAME)
    result = trigger.handler(load_event("s3_put.json"), lambda_context)
    assert result == {"started": {}, "decisions": {"hit_data.tsv": "released"}}
    [item] = Ledger(boto3.client("dynamodb"), "run-ledger").find("s3://inbound-bucket/hit_data.tsv")
    assert item.status == RECEIVED
    assert item.last_error is not None
    assert item.last_error.startswith("ConcurrentRunsExceededException")
    warning = next(log for log in logs() if log["message"] == "glue run not started; the retry path will start it")
    assert warning["input_key"] == "hit_data.tsv"


def test_same_event_twice_starts_one_run(glue_job: str, lambda_context: LambdaContext) -> None:
    first = trigger.handler(load_event("s3_put.json"), lambda_context)
    second = trigger.handler(load_event("s3_put.json"), lambda_context)
    assert list(first["started"]) == ["hit_data.tsv"]
    assert second == {"started": {}, "decisions": {"hit_data.tsv": "duplicate"}}
    assert len(boto3.client("glue").get_job_runs(JobName=JOB_NAME)["JobRuns"]) == 1


def test_twenty_concurrent_duplicates_start_one_run(glue_job: str, lambda_context: LambdaContext) -> None:
    event = load_event("s3_put.json")
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: trigger.handler(event, lambda_context), range(20)))
    assert sum(len(result["started"]) for result in results) == 1
    assert sorted(result["decisions"]["hit_data.tsv"] for result in results).count("duplicate") == 19
    assert len(boto3.client("glue").get_job_runs(JobName=JOB_NAME)["JobRuns"]) == 1


def test_changed_content_is_a_new_run(glue_job: str, lambda_context: LambdaContext) -> None:
    event = load_event("s3_put.json")
    trigger.handler(event, lambda_context)
    event["Records"][0]["s3"]["object"].update(eTag="ffffffffffffffffffffffffffffffff", versionId="v2")
    second = trigger.handler(event, lambda_context)
    assert list(second["started"]) == ["hit_data.tsv"]
    runs = boto3.client("glue").get_job_runs(JobName=JOB_NAME)["JobRuns"]
    assert sorted(run["Arguments"]["--input_version"] for run in runs) == ["3HL4kqtJlcpXroDTDmjVBH40Nrjfkd", "v2"]


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
    [uploaded] = uploaded_objects(event)
    assert uploaded == UploadedObject(
        "inbound-bucket", "hit_data.tsv", "0123456789abcdef0123456789abcdef", "3HL4kqtJlcpXroDTDmjVBH40Nrjfkd"
    )
