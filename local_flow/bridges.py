"""The few steps moto cannot do here, done the way AWS does them, with the real code.

- the file gateway: a file that appears in the share folder is uploaded (multipart when large),
  with the file share role's credentials, then its metadata is written as a further object
  version, as the gateway does;
- S3 events: moto leaves out `object.versionId`; the event is given the version it is about;
- SQS -> Lambda: the settle queue's messages, once its delivery delay has passed, go to the real
  trigger handler as the event source mapping sends them (a batch; unsettled ones come back),
  with the function's environment as deployed (and its role: `local_flow.iam`); what it did with
  each upload is read from its log lines, as from its log group on AWS;
- Glue: each new run of the job executes the Glue script downloaded from its ScriptLocation, with
  the run's arguments and the job role's credentials, on local Spark; moto's record of the run
  then says how it ended, and the `Glue Job State Change` event Glue would emit goes on the
  default event bus;
- EventBridge -> Lambda: each event of the failure rule's queue goes to the real failure handler;
- SNS -> e-mail: the subscriber queue is read and the alert printed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import boto3
from boto3.s3.transfer import TransferConfig

from local_flow.iam import session_environment

ROOT: Final = Path(__file__).resolve().parent.parent
LAMBDA_DIR: Final = ROOT / "lambda_functions"
MULTIPART_THRESHOLD: Final = 8 << 20
GLUE_STATE_CHANGE: Final = "Glue Job State Change"
ACCOUNT_ID: Final = "123456789012"
# What the gateway writes as the object's metadata after its data (file mode, owner, times).
GATEWAY_METADATA: Final = {"file-permissions": "0644", "file-owner": "0", "file-group": "0",
                           "user-agent": "aws-storage-gateway"}  # fmt: skip
# How often a run in progress lets the gateway keep uploading (the share does not stop for Glue).
BETWEEN_S: Final = 0.5


@dataclass(frozen=True)
class LocalLambdaContext:
    """The attributes of a Lambda context that Powertools reads."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = "local-request"


def load_handler(
    module: str, function_name: str, environment: dict[str, str]
) -> tuple[Callable[[dict[str, Any], object], Any], LocalLambdaContext]:
    """Import a real handler with the function's environment, as the Lambda runtime would."""
    os.environ.update(environment)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # the flow prints its own steps
    if str(LAMBDA_DIR) not in sys.path:
        sys.path.insert(0, str(LAMBDA_DIR))
    handler_module = __import__(module)
    handler_module._deps.cache_clear()
    arn = boto3.client("lambda").get_function(FunctionName=function_name)["Configuration"]["FunctionArn"]
    return handler_module.handler, LocalLambdaContext(function_name, arn)


class FunctionLog(logging.Handler):
    """A handler's JSON log lines from INFO up, as its CloudWatch log group holds them (stdout keeps its level)."""

    def __init__(self, module: str) -> None:
        super().__init__(logging.INFO)
        self._powertools = sys.modules[module].logger
        self._powertools.registered_handler.setLevel(self._powertools.log_level)
        self._powertools.setLevel(logging.INFO)
        self._powertools.addHandler(self)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the line as the function's own formatter writes it (appended keys included)."""
        self.lines.append(json.loads(self._powertools.registered_formatter.format(record)))

    def drain(self) -> list[dict[str, Any]]:
        """The lines written since the last drain."""
        lines, self.lines = self.lines, []
        return lines


@dataclass
class ShareWatcher:
    """The file gateway's side of the share: files that appear (or change) in the folder."""

    share: Path
    role: boto3.Session  # the file share role, which the gateway writes to S3 with
    seen: dict[str, tuple[int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.share.mkdir(parents=True, exist_ok=True)
        self.seen = self._snapshot()  # what was there before the flow started is not new

    def new_files(self) -> list[Path]:
        """Files written since the last look, complete (size unchanged across two looks)."""
        current = self._snapshot()
        fresh = [self.share / name for name, state in sorted(current.items()) if self.seen.get(name) != state]
        self.seen = current
        return fresh

    def has_changes(self) -> bool:
        """Something was written since the last look (not uploaded yet)."""
        return self._snapshot() != self.seen

    def _snapshot(self) -> dict[str, tuple[int, int]]:
        return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in self.share.iterdir() if p.is_file()}


def upload_to_inbound(
    gateway: boto3.Session, path: Path, bucket: str, key: str, on_bytes: Callable[[int], None]
) -> tuple[str, str]:
    """Upload as the file gateway does, with its file share role: the data (one PUT, or multipart
    above 8 MiB), then the file's metadata as a copy of the object onto itself, a second version.
    Returns both versions."""
    s3 = gateway.client("s3")
    config = TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_THRESHOLD)
    s3.upload_file(Filename=str(path), Bucket=bucket, Key=key, Config=config, Callback=on_bytes)
    data_version = str(s3.head_object(Bucket=bucket, Key=key).get("VersionId"))
    metadata = GATEWAY_METADATA | {"file-mtime": f"{path.stat().st_mtime_ns}ns"}
    source = {"Bucket": bucket, "Key": key, "VersionId": data_version}
    copied = s3.copy_object(Bucket=bucket, Key=key, CopySource=source, Metadata=metadata, MetadataDirective="REPLACE")
    return data_version, str(copied.get("VersionId"))


def emulate_s3_event_versions() -> None:
    """Give moto's S3 events the `versionId` (and `sequencer`) AWS sends for a versioned bucket.

    moto builds the event from the stored key but leaves the version out; the server runs in this
    process, so its event builder is wrapped here. Never used outside the local flow.
    """
    from moto.s3 import notifications

    if getattr(notifications._get_s3_event, "with_versions", False):
        return
    original = notifications._get_s3_event

    def with_version(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event = original(event_name, bucket, key, notification_id)
        obj = event["Records"][0]["s3"]["object"]
        if getattr(key, "version_id", None) not in (None, "null"):
            obj["versionId"] = key.version_id
        obj["sequencer"] = f"{time.time_ns():020X}"
        return event

    with_version.with_versions = True  # type: ignore[attr-defined]
    notifications._get_s3_event = with_version


def deliver_upload_events(
    queue_url: str, handler: Callable[[dict[str, Any], object], Any], context: object, retry_after_s: int
) -> list[dict[str, Any]]:
    """Hand the settle queue's visible messages to the trigger as Lambda's SQS event source does.

    Messages the handler reports in `batchItemFailures` stay in the queue and come back after
    `retry_after_s` (the visibility timeout, shortened locally); the others are deleted.
    """
    sqs = boto3.client("sqs")
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    results = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       AttributeNames=["All"]).get("Messages", []):  # fmt: skip
        records = [
            {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
             "attributes": m.get("Attributes", {}), "messageAttributes": {}, "eventSource": "aws:sqs",
             "eventSourceARN": arn, "awsRegion": arn.split(":")[3]}
            for m in batch
        ]  # fmt: skip
        result = handler({"Records": records}, context)
        failed = {failure["itemIdentifier"] for failure in result.get("batchItemFailures", [])}
        for message in batch:
            if message["MessageId"] in failed:
                sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"],
                                              VisibilityTimeout=retry_after_s)  # fmt: skip
            else:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        results.append(result)
    return results


def queue_is_empty(queue_url: str) -> bool:
    """No message visible, delayed (settling) or in flight."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed",
             "ApproximateNumberOfMessagesNotVisible"]  # fmt: skip
    counts = boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return all(int(counts.get(name, "0")) == 0 for name in names)


def hold_glue_runs() -> None:
    """Keep moto's job runs RUNNING until the local Spark run ends (moto would call them SUCCEEDED at once)."""
    from moto.moto_api import state_manager

    state_manager.set_transition(model_name="glue::job_run", transition={"progression": "manual", "times": 10**9})


def end_glue_run(job_name: str, run_id: str, state: str, error: str) -> None:
    """Make moto's record of a run say how the local Spark run ended, as Glue's `GetJobRun` would."""
    from moto.glue.models import FakeJobRun, glue_backends

    region = boto3.session.Session().region_name or "us-east-1"
    run = glue_backends[ACCOUNT_ID][region].get_job(job_name).get_job_run(run_id)
    run.status = state
    if error:
        run.as_dict = lambda: FakeJobRun.as_dict(run) | {"ErrorMessage": error}  # type: ignore[method-assign]


def drain_queue(queue_url: str, wait_s: int = 1) -> Iterator[dict[str, Any]]:
    """Receive, yield and delete every message currently in a queue (bodies as JSON)."""
    sqs = boto3.client("sqs")
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s)
        batch = messages.get("Messages", [])
        if not batch:
            return
        for message in batch:
            yield json.loads(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


@dataclass
class GlueRunner:
    """Runs each new run of the job with the real Glue script on local Spark, with the job's role.

    Glue reads the script with the job's role and hands the role's credentials to the script;
    the runner does both with `role`, a session of the job's role.
    """

    job_name: str
    role: boto3.Session
    done: set[str] = field(default_factory=set)
    process: subprocess.Popen[str] | None = None

    def new_runs(self) -> list[dict[str, Any]]:
        """Runs started since the last look."""
        runs = boto3.client("glue").get_job_runs(JobName=self.job_name)["JobRuns"]
        fresh = [run for run in runs if run["Id"] not in self.done]
        self.done |= {run["Id"] for run in fresh}
        return sorted(fresh, key=lambda run: run["StartedOn"])

    def execute(self, run: dict[str, Any], between: Callable[[], None] = lambda: None) -> tuple[bool, str]:
        """Run the job's script with the run's arguments; return (succeeded, error message).

        `between` is called every half second while the script runs (the gateway keeps uploading).
        """
        job = boto3.client("glue").get_job(JobName=self.job_name)["Job"]
        arguments = [*(item for name, value in run.get("Arguments", {}).items() for item in (name, value)),
                     "--JOB_NAME", self.job_name, "--JOB_RUN_ID", run["Id"]]  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="local-glue-") as scratch:
            script = Path(scratch) / "script.py"
            bucket, _, key = job["Command"]["ScriptLocation"].removeprefix("s3://").partition("/")
            self.role.client("s3").download_file(Bucket=bucket, Key=key, Filename=str(script))
            environment = os.environ | session_environment(self.role)
            self.process = subprocess.Popen([sys.executable, str(script), *arguments], stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                                            env=environment)  # fmt: skip
            while True:
                try:
                    _, stderr = self.process.communicate(timeout=BETWEEN_S)
                    break
                except subprocess.TimeoutExpired:
                    between()
            succeeded = self.process.returncode == 0
            self.process = None
        return succeeded, "" if succeeded else glue_error_message(stderr)

    def stop(self) -> None:
        """Stop a running script and everything it started (its JVM, its Python workers)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def glue_error_message(stderr: str) -> str:
    """The error a failed run reports, as Glue's ErrorMessage does: the exception's last line."""
    for line in reversed(stderr.splitlines()):
        if line.startswith("{"):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record.get("exception"):
                return str(record["exception"]).strip().splitlines()[-1]
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else "the job script failed without a message"


def emit_glue_state_change(job_name: str, run_id: str, state: str, message: str) -> None:
    """Put the event Glue emits when a run ends, on the default event bus."""
    detail = {"jobName": job_name, "jobRunId": run_id, "state": state, "message": message,
              "severity": "ERROR" if state != "SUCCEEDED" else "INFO"}  # fmt: skip
    boto3.client("events").put_events(
        Entries=[{"Source": "aws.glue", "DetailType": GLUE_STATE_CHANGE, "Detail": json.dumps(detail)}]
    )
