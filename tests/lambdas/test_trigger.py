"""The trigger handler on real S3 event shapes, delivered through the settle queue, against moto's S3 and Glue."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import lambda_glue_job_trigger as trigger
import pytest

from search_revenue.pipeline.config import TriggerConfig
from search_revenue.pipeline.ledger import DELETED, RECEIVED, SUPERSEDED, Ledger
from search_revenue.pipeline.triggers import (
    CurrentObject,
    UploadedObject,
    batch_response,
    is_data_key,
    settling,
    uploaded_objects,
)
from tests.lambdas.conftest import (
    JOB_NAME,
    LambdaContext,
    TriggerLogs,
    decisions,
    load_event,
    started_runs,
    upload_event,
    via_queue,
)


@pytest.fixture(autouse=True)
def _fresh_deps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLUE_JOB_NAME", JOB_NAME)
    trigger._deps.cache_clear()


def _run_arguments(run_id: str) -> dict[str, Any]:
    run = boto3.client("glue").get_job_run(JobName=JOB_NAME, RunId=run_id)["JobRun"]
    return dict(run["Arguments"])


pytestmark = pytest.mark.usefixtures("ledger_table", "inbound_bucket")
NOTHING_HANDED_BACK: dict[str, list[dict[str, str]]] = {"batchItemFailures": []}
KEY = "s3://inbound-bucket/hit_data.tsv"


def _handle(event: dict[str, Any], context: LambdaContext, logs: TriggerLogs) -> tuple[Any, list[dict[str, Any]]]:
    """Call the handler: its response, and the log lines of this call."""
    seen = len(logs())
    response = trigger.handler(event, context)
    return response, logs()[seen:]


def _ledger() -> Ledger:
    return Ledger(boto3.client("dynamodb"), "run-ledger")


def test_handler_returns_exactly_the_partial_batch_response(
    glue_job: str, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Lambda's documented response for an SQS batch is {"batchItemFailures": [{"itemIdentifier": id}]}.
    assert trigger.handler(via_queue(upload_event()), lambda_context) == NOTHING_HANDED_BACK
    monkeypatch.setenv("SETTLE_SECONDS", "3600")
    trigger._deps.cache_clear()
    response = trigger.handler(via_queue(upload_event(key="a.tsv"), upload_event(key="b.tsv")), lambda_context)
    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-0"}, {"itemIdentifier": "msg-1"}]}


def test_batch_response_names_each_message_once() -> None:
    assert batch_response(["m-2", "m-1", "m-2"]) == {"batchItemFailures": [{"itemIdentifier": "m-2"},
                                                                          {"itemIdentifier": "m-1"}]}  # fmt: skip
    assert batch_response([]) == NOTHING_HANDED_BACK


def test_each_upload_is_logged_with_key_version_decision_and_run_id(
    glue_job: str, lambda_context: LambdaContext, trigger_logs: TriggerLogs
) -> None:
    event = upload_event()
    _, lines = _handle(via_queue(event), lambda_context, trigger_logs)
    [started] = [line for line in lines if "decision" in line]
    [run] = boto3.client("glue").get_job_runs(JobName=JOB_NAME)["JobRuns"]
    assert started["message"] == "glue run started"
    assert (started["input_key"], started["decision"], started["run_id"]) == ("hit_data.tsv", "started", run["Id"])
    assert started["version_id"] == event["Records"][0]["s3"]["object"]["versionId"]


def test_put_event_starts_a_run_with_the_input_uri(
    glue_job: str, lambda_context: LambdaContext, trigger_logs: TriggerLogs
) -> None:
    _, lines = _handle(via_queue(upload_event()), lambda_context, trigger_logs)
    assert _run_arguments(started_runs(lines)["hit_data.tsv"])["--input_uri"] == KEY


def test_multipart_upload_with_spaces_and_non_ascii_key(
    glue_job: str, lambda_context: LambdaContext, trigger_logs: TriggerLogs
) -> None:
    key = "2026/11/hit data café (2).tsv.gz"
    _, lines = _handle(via_queue(upload_event(template="s3_multipart_complete.json")), lambda_context, trigger_logs)
    started = started_runs(lines)
    assert list(started) == [key]
    assert _run_arguments(started[key])["--input_uri"] == f"s3://inbound-bucket/{key}"


@pytest.mark.parametrize("key", ["HITS.TSV", "2026/11/hits.tsv.GZ", "Hits.Tsv.Bz2"])
def test_data_suffix_in_any_case_starts_a_run(
    glue_job: str, lambda_context: LambdaContext, trigger_logs: TriggerLogs, key: str
) -> None:
    _, lines = _handle(via_queue(upload_event(key=key)), lambda_context, trigger_logs)
    assert _run_arguments(started_runs(lines)[key])["--input_uri"] == f"s3://inbound-bucket/{key}"


def test_key_that_is_not_data_starts_nothing(
    glue_job: str, lambda_context: LambdaContext, trigger_logs: TriggerLogs
) -> None:
    response, lines = _handle(via_queue(upload_event(key="notes/readme.pdf")), lambda_context, trigger_logs)
    assert response == NOTHING_HANDED_BACK
    assert decisions(lines) == {"notes/readme.pdf": "ignored"}
    assert boto3.client("glue").get_job_runs(JobName=JOB_NAME)["JobRuns"] == []
    ignored = [line for line in lines if line["message"] == "no run: ignored"]
    assert [line["input_key"] for line in ignored] == ["notes/readme.pdf"]


@pytest.mark.usefixtures("runs_stay_running")
def test_throttled_start_is_left_received_for_the_retry_path(
    glue_job: str, lambda_context: LambdaContext, trigger_logs: TriggerLogs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETRY_BASE_SECONDS", "120")  # the function's setting, not the 15-minute default
    for _ in range(2):  # MaxConcurrentRuns is 2 in the fixture
        boto3.client("glue").start_job_run(JobName=JOB_NAME)
    response, lines = _handle(via_queue(upload_event()), lambda_context, trigger_logs)
    assert response == NOTHING_HANDED_BACK
    assert decisions(lines) == {"hit_data.tsv": "released"}
    [item] = _ledger().find(KEY)
    assert item.status == RECEIVED
    assert item.last_error is not None
    assert item.last_error.startswith("ConcurrentRunsExceededException")
    assert item.next_attempt_at is not None
    due_in = datetime.fromisoformat(item.next_attempt_at) - datetime.fromisoformat(item.updated_at)
    assert due_in == timedelta(seconds=120)
    warning = next(line for line in lines if line["message"] == "glue run not started; the retry path will start it")
    assert (warning["level"], warning["input_key"]) == ("WARNING", "hit_data.tsv")


def test_same_event_twice_starts_one_run(
    glue_job: str, lambda_context: LambdaContext, trigger_logs: TriggerLogs
) -> None:
    event = via_queue(upload_event())
    _, first = _handle(event, lambda_context, trigger_logs)
    _, second = _handle(event, lambda_context, trigger_logs)
    assert list(started_runs(first)) == ["hit_data.tsv"]
    assert (started_runs(second), decisions(second)) == ({}, {"hit_data.tsv": "duplicate"})
    assert len(boto3.client("glue").get_job_runs(JobName=JOB_NAME)["JobRuns"]) == 1


def test_each_upload_is_logged_once_by_the_handler_and_never_by_the_control_plane(
    glue_job: str, lambda_context: LambdaContext, trigger_logs: TriggerLogs, package_records: list[logging.LogRecord]
) -> None:
    # In Lambda a record of the package's own loggers bypasses the handler's JSON stream (plain text,
    # no keys, nothing below WARNING): the control plane returns outcomes and the handler logs them.
    event = via_queue(upload_event())
    for _ in range(2):  # started, then duplicate
        _, lines = _handle(event, lambda_context, trigger_logs)
        assert [line["input_key"] for line in lines] == ["hit_data.tsv"]
    assert [record.name for record in package_records] == []


def test_twenty_concurrent_duplicates_start_one_run(
    glue_job: str, lambda_context: LambdaContext, trigger_logs: TriggerLogs
) -> None:
    event = via_queue(upload_event())
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: trigger.handler(event, lambda_context), range(20)))
    assert responses == [NOTHING_HANDED_BACK] * 20
    decided = sorted(line["decision"] for line in trigger_logs() if "decision" in line)
    assert decided == ["duplicate"] * 19 + ["started"]
    assert len(boto3.client("glue").get_job_runs(JobName=JOB_NAME)["JobRuns"]) == 1


def test_changed_content_is_a_new_run(glue_job: str, lambda_context: LambdaContext, trigger_logs: TriggerLogs) -> None:
    first = upload_event(b"first content")
    trigger.handler(via_queue(first), lambda_context)
    second = upload_event(b"second content")
    _, lines = _handle(via_queue(second), lambda_context, trigger_logs)
    assert list(started_runs(lines)) == ["hit_data.tsv"]
    runs = boto3.client("glue").get_job_runs(JobName=JOB_NAME)["JobRuns"]
    versions = [event["Records"][0]["s3"]["object"]["versionId"] for event in (first, second)]
    assert sorted(run["Arguments"]["--input_version"] for run in runs) == sorted(versions)


def test_same_content_uploaded_again_is_one_run_with_both_versions_seen(
    glue_job: str, lambda_context: LambdaContext, trigger_logs: TriggerLogs
) -> None:
    first, again = upload_event(b"same"), upload_event(b"same")  # the gateway uploads an unchanged file again
    assert list(started_runs(_handle(via_queue(again), lambda_context, trigger_logs)[1])) == ["hit_data.tsv"]
    assert decisions(_handle(via_queue(first), lambda_context, trigger_logs)[1]) == {"hit_data.tsv": "superseded"}
    [content] = [item for item in _ledger().find(KEY) if item.sk.startswith("etag#")]
    assert content.versions_seen == (again["Records"][0]["s3"]["object"]["versionId"],)
    trigger.handler(via_queue(again), lambda_context)  # the same event delivered twice
    assert len(boto3.client("glue").get_job_runs(JobName=JOB_NAME)["JobRuns"]) == 1


def test_version_replaced_within_the_settle_time_starts_no_run(
    glue_job: str, lambda_context: LambdaContext, trigger_logs: TriggerLogs
) -> None:
    partial = upload_event(b"hit_time_gmt\tip\n1\t")  # the gateway's partial upload
    full = upload_event(b"hit_time_gmt\tip\n1\t10.0.0.1\n")
    _, lines = _handle(via_queue(partial, full), lambda_context, trigger_logs)
    assert [line["decision"] for line in lines if "decision" in line] == ["superseded", "started"]
    [run] = boto3.client("glue").get_job_runs(JobName=JOB_NAME)["JobRuns"]
    full_version = full["Records"][0]["s3"]["object"]["versionId"]
    assert run["Arguments"]["--input_version"] == full_version
    [superseded] = [item for item in _ledger().find(KEY) if item.status == SUPERSEDED]
    assert superseded.version_id == partial["Records"][0]["s3"]["object"]["versionId"]
    assert superseded.superseded_by == full_version


def test_deleted_object_is_superseded_by_its_deletion(
    glue_job: str, lambda_context: LambdaContext, trigger_logs: TriggerLogs
) -> None:
    event = upload_event()
    boto3.client("s3").delete_object(Bucket="inbound-bucket", Key="hit_data.tsv")
    assert decisions(_handle(via_queue(event), lambda_context, trigger_logs)[1]) == {"hit_data.tsv": "superseded"}
    [item] = _ledger().find(KEY)
    assert item.superseded_by == DELETED


def test_version_not_settled_yet_is_handed_back_to_the_queue(
    glue_job: str, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SETTLE_SECONDS", "3600")
    trigger._deps.cache_clear()
    response = trigger.handler(via_queue(upload_event()), lambda_context)
    assert response == {"batchItemFailures": [{"itemIdentifier": "msg-0"}]}
    assert boto3.client("glue").get_job_runs(JobName=JOB_NAME)["JobRuns"] == []
    assert _ledger().find(KEY) == []


NOW = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)
SETTLE = timedelta(seconds=60)


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        pytest.param(CurrentObject("v1", "e1", NOW - SETTLE), "settled", id="unchanged-for-the-settle-time"),
        pytest.param(CurrentObject("v1", "e1", NOW - SETTLE + timedelta(seconds=1)), "unsettled", id="too-recent"),
        pytest.param(CurrentObject("v2", "e1", NOW - SETTLE), "superseded", id="newer-version-same-content"),
        pytest.param(CurrentObject("v2", "e2", NOW), "superseded", id="newer-version"),
        pytest.param(None, "superseded", id="deleted"),
    ],
)
def test_settling(current: CurrentObject | None, expected: str) -> None:
    assert settling(UploadedObject("b", "k.tsv", "e1", "v1"), current, NOW, SETTLE) == expected


def test_settling_without_versions_compares_content() -> None:
    uploaded = UploadedObject("b", "k.tsv", "e1", None)
    assert settling(uploaded, CurrentObject(None, "e1", NOW - SETTLE), NOW, SETTLE) == "settled"
    assert settling(uploaded, CurrentObject(None, "e2", NOW - SETTLE), NOW, SETTLE) == "superseded"


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
