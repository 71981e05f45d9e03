"""`make status` and `make redrive` against stack 2's ledger (moto)."""

from __future__ import annotations

import json

import boto3
import lambda_glue_job_trigger as trigger
import pytest

from deploy.runs import main, status_lines
from search_revenue.pipeline.history import file_histories
from search_revenue.pipeline.ledger import Ledger, LedgerItem
from tests.lambdas.conftest import JOB_NAME, LEDGER_TABLE, LambdaContext, upload_event, via_queue

TEMPLATE = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"RunLedgerTableName": {"Value": LEDGER_TABLE}, "GlueJobName": {"Value": JOB_NAME}},
}


@pytest.fixture
def stack(ledger_table: str, glue_job: str, inbound_bucket: str, monkeypatch: pytest.MonkeyPatch) -> str:
    boto3.client("cloudformation").create_stack(StackName="skp", TemplateBody=json.dumps(TEMPLATE))
    monkeypatch.setenv("GLUE_JOB_NAME", glue_job)
    trigger._deps.cache_clear()
    return "skp"


def test_status_lists_the_ledger(stack: str, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]) -> None:
    partial, full = upload_event(b"hit_time_gmt\t"), upload_event(b"hit_time_gmt\tip\n")
    trigger.handler(via_queue(partial, full), lambda_context)
    [run] = boto3.client("glue").get_job_runs(JobName=JOB_NAME)["JobRuns"]
    run_id = run["Id"]
    assert main(["status", "--stack", stack]) == 0
    out = capsys.readouterr().out
    versions = [event["Records"][0]["s3"]["object"]["versionId"] for event in (partial, full)]
    assert out.splitlines()[0].startswith("s3://inbound-bucket/hit_data.tsv  (updated ")
    assert f"versions seen: {versions[0]}, {versions[1]}" in out
    assert f"superseded:    {versions[0]} -> {versions[1]} (no run)" in out
    assert f"RUNNING    attempts 1  version {versions[1]}" in out
    assert f"run {run_id}" in out


def test_redrive_starts_a_new_run(
    stack: str, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    trigger.handler(via_queue(upload_event()), lambda_context)
    assert main(["redrive", "--stack", stack, "--key", "s3://inbound-bucket/hit_data.tsv"]) == 0
    assert "Glue run jr_" in capsys.readouterr().out
    [item] = Ledger(boto3.client("dynamodb"), LEDGER_TABLE).find("s3://inbound-bucket/hit_data.tsv")
    assert item.attempts == 1  # a redrive starts a fresh attempt budget
    assert len(boto3.client("glue").get_job_runs(JobName=JOB_NAME)["JobRuns"]) == 2
    assert main(["redrive", "--stack", stack, "--key", "s3://inbound-bucket/none.tsv"]) == 1


def test_status_lines_hold_status_and_result() -> None:
    failed = LedgerItem(pk="s3://in/a.tsv", sk="etag#e1", status="FAILED", attempts=2,
                        updated_at="2026-11-21T07:00:00+00:00", run_date="2026-11-21", glue_run_id="jr_1",
                        version_id="v1", last_error="FAILED: boom", versions_seen=("v1",))  # fmt: skip
    title, seen, first, second = status_lines(file_histories([failed]))
    assert title == "s3://in/a.tsv  (updated 2026-11-21T07:00:00+00:00)"
    assert seen.split() == ["versions", "seen:", "v1"]
    assert first.split() == ["FAILED", "attempts", "2", "version", "v1", "etag#e1"]
    assert second.split() == ["run", "jr_1", "FAILED:", "boom"]
