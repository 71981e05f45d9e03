"""moto fixtures for the Lambda handlers: one per service, each yielding a ready resource."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"
sys.path.insert(0, str(ROOT / "lambda_functions"))

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_SERVICE_NAME": "search-keyword-tests",
}
JOB_NAME = "search-keyword-performance"


def load_event(name: str) -> dict[str, Any]:
    """A stored, realistic event."""
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


class LambdaContext:
    """The parts of the Lambda context Powertools reads."""

    function_name = "test-function"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id = "52fdfc07-2182-154f-163f-5f0f9a621d72"


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@pytest.fixture
def glue_job(aws: None) -> str:
    glue = boto3.client("glue")
    glue.create_job(
        Name=JOB_NAME,
        Role="arn:aws:iam::123456789012:role/glue",
        Command={"Name": "glueetl", "ScriptLocation": "s3://artifacts/search_revenue_glue_job.py"},
        ExecutionProperty={"MaxConcurrentRuns": 2},
        GlueVersion="5.0",
    )
    return JOB_NAME


LEDGER_TABLE = "run-ledger"


@pytest.fixture
def ledger_table(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The run ledger table, created from stack 2's own table properties."""
    from local_flow.templates import load_template

    properties = load_template("cf_app_infra_stack_2.yml")["Resources"]["RunLedgerTable"]["Properties"]
    boto3.client("dynamodb").create_table(
        TableName=LEDGER_TABLE,
        BillingMode=properties["BillingMode"],
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
        GlobalSecondaryIndexes=properties["GlobalSecondaryIndexes"],
    )
    monkeypatch.setenv("LEDGER_TABLE", LEDGER_TABLE)
    return LEDGER_TABLE


@pytest.fixture
def runs_stay_running(aws: None) -> Iterator[None]:
    """Keep moto's Glue runs RUNNING (by default they finish at once), so concurrency limits bite."""
    from moto.moto_api import state_manager

    state_manager.set_transition(model_name="glue::job_run", transition={"progression": "manual", "times": 10**6})
    yield
    state_manager.unset_transition(model_name="glue::job_run")


@pytest.fixture
def alert_topic(aws: None) -> str:
    return str(boto3.client("sns").create_topic(Name="search-keyword-alerts")["TopicArn"])


@pytest.fixture
def alert_inbox(aws: None, alert_topic: str) -> str:
    """An SQS queue subscribed to the topic, so tests can read what was published."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns").subscribe(TopicArn=alert_topic, Protocol="sqs", Endpoint=arn)
    return str(url)


INBOUND_BUCKET = "inbound-bucket"


@pytest.fixture
def inbound_bucket(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The versioned inbound bucket; tests settle at once unless they set SETTLE_SECONDS."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=INBOUND_BUCKET)
    s3.put_bucket_versioning(Bucket=INBOUND_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    monkeypatch.setenv("SETTLE_SECONDS", "0")
    return INBOUND_BUCKET


def upload_event(body: bytes = b"hits", *, key: str | None = None, template: str = "s3_put.json") -> dict[str, Any]:
    """Put an object into the inbound bucket and return S3's notification of it (a stored event, the real version)."""
    from urllib.parse import quote_plus, unquote_plus

    event = load_event(template)
    obj = event["Records"][0]["s3"]["object"]
    key = key if key is not None else unquote_plus(obj["key"])
    put = boto3.client("s3").put_object(Bucket=INBOUND_BUCKET, Key=key, Body=body)
    obj.update(key=quote_plus(key, safe="/"), eTag=put["ETag"].strip('"'), versionId=put["VersionId"], size=len(body))
    return event


def via_queue(*notifications: dict[str, Any]) -> dict[str, Any]:
    """S3 notifications as the trigger receives them: an SQS batch from the event source mapping."""
    return {
        "Records": [
            {
                "messageId": f"msg-{number}",
                "receiptHandle": f"handle-{number}",
                "body": json.dumps(notification),
                "attributes": {"ApproximateReceiveCount": "1"},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:inbound-events",
                "awsRegion": "us-east-1",
            }
            for number, notification in enumerate(notifications)
        ]
    }


TriggerLogs = Callable[[], list[dict[str, Any]]]
FunctionLogs = TriggerLogs


@contextmanager
def function_logs(module: ModuleType) -> Iterator[FunctionLogs]:
    """A handler module's JSON log lines, parsed (what its CloudWatch log group would hold)."""
    buffer = io.StringIO()
    handler = module.logger.registered_handler
    previous = handler.setStream(buffer)
    try:
        yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines()]
    finally:
        handler.setStream(previous)


@pytest.fixture
def trigger_logs() -> Iterator[TriggerLogs]:
    """The trigger handler's JSON log lines, parsed."""
    import lambda_glue_job_trigger as trigger

    with function_logs(trigger) as lines:
        yield lines


def decisions(lines: list[dict[str, Any]]) -> dict[str, str]:
    """Key -> what the trigger decided for it, from its log lines (the last line for a key wins)."""
    return {line["input_key"]: line["decision"] for line in lines if "decision" in line}


def started_runs(lines: list[dict[str, Any]]) -> dict[str, str]:
    """Key -> Glue run id, for the uploads the trigger's log lines say it started."""
    return {line["input_key"]: line["run_id"] for line in lines if line.get("decision") == "started"}


@pytest.fixture
def package_records() -> Iterator[list[logging.LogRecord]]:
    """Every record the package's own loggers emit, whatever another test did to propagation."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    package = logging.getLogger("search_revenue")
    keep, level = Keep(logging.DEBUG), package.level
    package.addHandler(keep)
    package.setLevel(logging.DEBUG)
    yield records
    package.removeHandler(keep)
    package.setLevel(level)
