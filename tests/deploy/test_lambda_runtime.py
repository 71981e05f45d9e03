"""Each Lambda zip imports and runs under the managed runtime as it is: the template's Python, boto3 and nothing else.

The zip is unpacked as Lambda does (/var/task first on sys.path), the runtime's SDK sits after it, and
the interpreter runs isolated (-I -S: no site-packages, no PYTHONPATH), so a dependency the zip forgot
fails here as it would on AWS. Each handler is called on a stored event against a local AWS endpoint.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import boto3
import pytest

from deploy.package import lambda_runtime, runtime_python_version
from local_flow.endpoint import local_aws_endpoint
from local_flow.templates import load_template
from tests.deploy.runtimes import find_python, packages_folder

EVENTS: Final = Path(__file__).resolve().parents[1] / "events"
# What the managed runtime ships besides the standard library: boto3, botocore and their dependencies.
# The python3.12 and python3.13 runtimes carried boto3/botocore 1.38.36 in August 2025 (reported in
# terricain/aioboto3#381); AWS updates them over time, and an older SDK is the stricter test.
RUNTIME_SDK: Final = {"3.13": ["boto3==1.38.36", "botocore==1.38.36"]}
JOB_NAME: Final = "search-keyword-performance"
INBOUND_BUCKET: Final = "inbound-bucket"
LEDGER_TABLE: Final = "search-keyword-run-ledger"
OUTBOUND_URI: Final = "s3://outbound-bucket/outbound"
RESULT_MARKER: Final = "HANDLER RESULT "
ZIP_KEYS: Final = {
    "lambda_glue_job_trigger": "TriggerZipKey",
    "lambda_glue_failure_notification": "NotifierZipKey",
    "lambda_glue_run_ledger": "LedgerZipKey",
    "lambda_glue_retry": "RetryZipKey",
}

# Runs inside the runtime's interpreter: Lambda's search path, a context like Lambda's, one call.
PROBE: Final = f"""
import json, sys
task, sdk, handler_name, event_path = sys.argv[1:5]
sys.path[:0] = [task, sdk]
import boto3
module = __import__(handler_name)
assert module.__file__.startswith(task), module.__file__
assert boto3.__file__.startswith(sdk), boto3.__file__

class LambdaContext:
    function_name = handler_name
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + handler_name
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"

with open(event_path, encoding="utf-8") as file:
    event = json.load(file)
result = module.handler(event, LambdaContext())
print({RESULT_MARKER!r} + json.dumps({{"result": result, "python": sys.version_info[:2],
                                       "boto3": boto3.__version__}}))
"""


@pytest.fixture(scope="module")
def python_version() -> str:
    return runtime_python_version(lambda_runtime())


@pytest.fixture(scope="module")
def runtime_python(python_version: str) -> Path:
    return find_python(python_version)


@pytest.fixture(scope="module")
def runtime_sdk(runtime_python: Path, python_version: str) -> Path:
    if python_version not in RUNTIME_SDK:
        pytest.fail(f"RUNTIME_SDK names no boto3 for python{python_version}: look up the runtime's SDK version")
    return packages_folder(f"lambda-python{python_version}-sdk", runtime_python, RUNTIME_SDK[python_version])


@pytest.fixture(scope="module")
def unpacked(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Handler module -> its zip unpacked, as Lambda mounts it at /var/task."""
    manifest = json.loads((dist / "manifest.json").read_text())
    folders = {}
    for handler, key in ZIP_KEYS.items():
        folder = tmp_path_factory.mktemp(handler)
        with zipfile.ZipFile(dist / manifest[key]) as archive:
            archive.extractall(folder)
        folders[handler] = folder
    return folders


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A local AWS endpoint with the job, the ledger table (stack 2's schema) and the alert topic."""
    with local_aws_endpoint() as url:
        boto3.client("glue").create_job(
            Name=JOB_NAME,
            Role="arn:aws:iam::123456789012:role/glue",
            Command={"Name": "glueetl", "ScriptLocation": "s3://artifacts/search_revenue_glue_job.py"},
            ExecutionProperty={"MaxConcurrentRuns": 5},
            GlueVersion="5.0",
        )
        table = load_template("cf_app_infra_stack_2.yml")["Resources"]["RunLedgerTable"]["Properties"]
        boto3.client("dynamodb").create_table(
            TableName=LEDGER_TABLE,
            BillingMode=table["BillingMode"],
            AttributeDefinitions=table["AttributeDefinitions"],
            KeySchema=table["KeySchema"],
            GlobalSecondaryIndexes=table["GlobalSecondaryIndexes"],
        )
        boto3.client("sns").create_topic(Name="search-keyword-alerts")
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=INBOUND_BUCKET)
        s3.put_bucket_versioning(Bucket=INBOUND_BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield url


@pytest.fixture
def invoke(runtime_python: Path, runtime_sdk: Path, unpacked: dict[str, Path], endpoint: str, tmp_path: Path) -> Any:
    """Call one handler in the runtime's interpreter with an event; return what it returned."""
    topic_arn = boto3.client("sns").create_topic(Name="search-keyword-alerts")["TopicArn"]
    environment = {
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "GLUE_JOB_NAME": JOB_NAME, "LEDGER_TABLE": LEDGER_TABLE, "ALERT_TOPIC_ARN": topic_arn,
        "OUTPUT_URI": OUTBOUND_URI, "DATA_SUFFIXES": ".tsv,.tsv.gz,.tsv.bz2", "INBOUND_PREFIX": "",
        "SETTLE_SECONDS": "0", "PATH": "/usr/bin:/bin",
    }  # fmt: skip

    def call(handler: str, event: dict[str, Any]) -> Any:
        event_path = tmp_path / f"{handler}-event.json"
        event_path.write_text(json.dumps(event), encoding="utf-8")
        command = [str(runtime_python), "-I", "-S", "-c", PROBE, str(unpacked[handler]), str(runtime_sdk), handler,
                   str(event_path)]  # fmt: skip
        completed = subprocess.run(command, env=environment, cwd=tmp_path, capture_output=True, text=True,
                                   timeout=120, check=False)  # fmt: skip
        assert completed.returncode == 0, f"{handler} failed in {runtime_python}:\n{completed.stderr}"
        line = next(line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARKER))
        outcome = json.loads(line.removeprefix(RESULT_MARKER))
        assert outcome["boto3"] == runtime_sdk_version(runtime_sdk)
        assert ".".join(map(str, outcome["python"])) == runtime_python_version(lambda_runtime())
        return outcome["result"]

    return call


def runtime_sdk_version(sdk: Path) -> str:
    [info] = sdk.glob("boto3-*.dist-info")
    return info.name.removesuffix(".dist-info").split("-")[1]


def _event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _upload_event(key: str) -> dict[str, Any]:
    """Upload an object and return S3's notification of it as the trigger receives it: in an SQS batch."""
    put = boto3.client("s3").put_object(Bucket=INBOUND_BUCKET, Key=key, Body=b"hits")
    notification = _event("s3_put.json")
    notification["Records"][0]["s3"]["object"].update(key=key, eTag=put["ETag"].strip('"'), versionId=put["VersionId"])
    return {"Records": [{"messageId": "m-1", "receiptHandle": "h-1", "body": json.dumps(notification),
                         "eventSource": "aws:sqs"}]}  # fmt: skip


def _run_of(key: str) -> str:
    """The id of the one Glue run started for an input key."""
    runs = boto3.client("glue").get_job_runs(JobName=JOB_NAME)["JobRuns"]
    [run_id] = [run["Id"] for run in runs if run["Arguments"]["--input_uri"] == f"s3://{INBOUND_BUCKET}/{key}"]
    return str(run_id)


def test_trigger_zip_starts_a_run_in_the_runtime(invoke: Any) -> None:
    assert invoke("lambda_glue_job_trigger", _upload_event("runtime/trigger.tsv")) == {"batchItemFailures": []}
    run = boto3.client("glue").get_job_run(JobName=JOB_NAME, RunId=_run_of("runtime/trigger.tsv"))["JobRun"]
    assert run["Arguments"]["--input_uri"] == "s3://inbound-bucket/runtime/trigger.tsv"


def test_run_ledger_zip_records_a_run_end_in_the_runtime(invoke: Any) -> None:
    invoke("lambda_glue_job_trigger", _upload_event("runtime/ledger.tsv"))
    run_id = _run_of("runtime/ledger.tsv")
    event = _event("glue_job_succeeded.json")
    event["detail"]["jobRunId"] = run_id
    assert invoke("lambda_glue_run_ledger", event)["recorded"] is True


def test_failure_notification_zip_publishes_in_the_runtime(invoke: Any) -> None:
    run_id = boto3.client("glue").start_job_run(
        JobName=JOB_NAME, Arguments={"--input_uri": "s3://inbound-bucket/runtime/bad.tsv"}
    )["JobRunId"]
    event = _event("glue_job_failed.json")
    event["detail"]["jobRunId"] = run_id
    assert invoke("lambda_glue_failure_notification", event)["published"]


def test_retry_zip_runs_its_pass_in_the_runtime(invoke: Any) -> None:
    result = invoke("lambda_glue_retry", _event("scheduled_event.json"))
    assert set(result) == {"started", "gave_up", "reconciled"}
    assert result["gave_up"] == []
