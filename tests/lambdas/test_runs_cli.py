"""`make status` and `make redrive` against stack 2's ledger (moto)."""

from __future__ import annotations

import json

import boto3
import lambda_glue_job_trigger as trigger
import pytest

from deploy.runs import main, status_lines
from search_revenue.pipeline.ledger import Ledger, LedgerItem
from tests.lambdas.conftest import JOB_NAME, LEDGER_TABLE, LambdaContext, load_event

TEMPLATE = {
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"RunLedgerTableName": {"Value": LEDGER_TABLE}, "GlueJobName": {"Value": JOB_NAME}},
}


@pytest.fixture
def stack(ledger_table: str, glue_job: str, monkeypatch: pytest.MonkeyPatch) -> str:
    boto3.client("cloudformation").create_stack(StackName="skp", TemplateBody=json.dumps(TEMPLATE))
    monkeypatch.setenv("GLUE_JOB_NAME", glue_job)
    trigger._deps.cache_clear()
    return "skp"


def test_status_lists_the_ledger(stack: str, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]) -> None:
    run_id = trigger.handler(load_event("s3_put.json"), lambda_context)["started"]["hit_data.tsv"]
    assert main(["status", "--stack", stack]) == 0
    out = capsys.readouterr().out
    assert "RUNNING" in out
    assert "s3://inbound-bucket/hit_data.tsv" in out
    assert f"run {run_id}" in out


def test_redrive_starts_a_new_run(
    stack: str, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    trigger.handler(load_event("s3_put.json"), lambda_context)
    assert main(["redrive", "--stack", stack, "--key", "s3://inbound-bucket/hit_data.tsv"]) == 0
    assert "Glue run jr_" in capsys.readouterr().out
    [item] = Ledger(boto3.client("dynamodb"), LEDGER_TABLE).find("s3://inbound-bucket/hit_data.tsv")
    assert item.attempts == 1  # a redrive starts a fresh attempt budget
    assert len(boto3.client("glue").get_job_runs(JobName=JOB_NAME)["JobRuns"]) == 2
    assert main(["redrive", "--stack", stack, "--key", "s3://inbound-bucket/none.tsv"]) == 1


def test_status_lines_hold_status_and_result() -> None:
    failed = LedgerItem(pk="s3://in/a.tsv", sk="etag#e1", status="FAILED", attempts=2,
                        updated_at="2026-11-21T07:00:00+00:00", run_date="2026-11-21", glue_run_id="jr_1",
                        last_error="FAILED: boom")  # fmt: skip
    header, first, second = status_lines([failed])
    assert header.split()[:3] == ["updated", "(UTC)", "status"]
    assert first.split() == ["2026-11-21T07:00:00+00:00", "FAILED", "2", "s3://in/a.tsv", "etag#e1"]
    assert second.split() == ["run", "jr_1", "FAILED:", "boom"]
