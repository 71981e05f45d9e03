"""`make run`: the deployed flow on this machine, from a file dropped into the share to the
report in the outbound bucket, or to the failure alert.

    python -m local_flow.run [FILE] [--share nfs_share] [--timeout 600] [--templates cf_templates]

Exit status: 0 with the report printed; 1 with the alert printed when the run failed; 2 when the
file started no run (a name the pipeline ignores); 3 on a timeout; 4 when IAM denied a handler,
the Glue script or the file gateway a call its role must allow (the denial is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import ClientError
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from local_flow.bridges import (
    MULTIPART_THRESHOLD,
    GlueRunner,
    ShareWatcher,
    drain_queue,
    emit_glue_state_change,
    load_handler,
    upload_to_inbound,
    with_version_ids,
)
from local_flow.endpoint import local_aws_endpoint
from local_flow.iam import (
    GLUE_SERVICE,
    LAMBDA_SERVICE,
    STORAGE_GATEWAY_SERVICE,
    Denial,
    DenialLog,
    acting_as,
    admin_credentials,
    denial_in_error,
    enforce_iam,
)
from local_flow.stack import STACK_NAME, LocalStack, deploy_local_stack
from local_flow.templates import TEMPLATES
from search_revenue.outbound import OutputNames, dated_folder
from search_revenue.pipeline.ledger import Ledger
from search_revenue.pipeline.runs import ledger_keys

ROOT: Final = Path(__file__).resolve().parent.parent
SAMPLE: Final = ROOT / "data" / "hit_data.tsv"
EXIT_OK, EXIT_ALERT, EXIT_NO_RUN, EXIT_TIMEOUT, EXIT_DENIED = 0, 1, 2, 3, 4
# The role the file share writes to S3 with; the share itself is created by deploy/gateway.py, not by the template.
FILE_SHARE_ROLE: Final = "FileShareRole"
QUIET_AFTER_UPLOAD_S: Final = 5
LOCAL_RETRY_PERIOD_S: Final = 30
DECISION_TEXT: Final = {
    "ignored": "not a data file; no run",
    "duplicate": "this content was seen before (run ledger); no new run",
    "released": "Glue refused the start; left RECEIVED for the retry path",
}


@dataclass
class Outcome:
    """How one dropped file ended."""

    status: int
    report: str | None = None
    alert: str | None = None
    denied: list[str] = field(default_factory=list)


class Steps:
    """Prints each step as it happens, with the time since the start."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.perf_counter()

    def __call__(self, text: str) -> None:
        self.console.print(f"[dim]{time.perf_counter() - self.started:7.1f}s[/dim]  {text}", highlight=False)

    @contextmanager
    def spinner(self, text: str) -> Iterator[None]:
        with Progress(SpinnerColumn(), TextColumn(text), TimeElapsedColumn(), console=self.console,
                      transient=True) as progress:  # fmt: skip
            progress.add_task(text, total=None)
            yield


def drop_into_share(file: Path, share: Path) -> Path:
    """Put a file into the share folder, as the client does over NFS."""
    share.mkdir(parents=True, exist_ok=True)
    target = share / file.name
    shutil.copyfile(file, target)
    return target


@dataclass
class Handlers:
    """The real Lambda handlers, loaded with their functions' environments, each acting with its role."""

    denials: DenialLog
    trigger: Any
    trigger_context: Any
    notify: Any
    notify_context: Any
    track: Any
    track_context: Any
    retry: Any
    retry_context: Any
    last_retry: float = 0.0

    @classmethod
    def load(cls, stack: LocalStack, denials: DenialLog) -> Handlers:
        """Import the handlers as the Lambda runtime would, each with its function's role."""
        loaded = []
        for module, logical_id in (("lambda_glue_job_trigger", "TriggerFunction"),
                                   ("lambda_glue_failure_notification", "NotifierFunction"),
                                   ("lambda_glue_run_ledger", "LedgerFunction"),
                                   ("lambda_glue_retry", "RetryFunction")):  # fmt: skip
            handler, context = load_handler(module, stack.resolver({"Ref": logical_id}),
                                            stack.function_environment(logical_id))  # fmt: skip
            role = stack.role_session(stack.role_of(logical_id), LAMBDA_SERVICE, denials)
            loaded += [_acting_as_role(handler, role), context]
        return cls(denials, *loaded)


def _acting_as_role(handler: Any, role: boto3.Session) -> Any:
    def invoke(event: dict[str, Any], context: object) -> Any:
        with acting_as(role):
            return handler(event, context)

    return invoke


def run_flow(
    files: list[Path], share: Path, timeout_s: float, console: Console, *, keep: bool = False,
    templates: Path = TEMPLATES,
) -> list[Outcome]:  # fmt: skip
    """Start the endpoint and the stack, drop each file in turn and follow it to a report or an alert."""
    step = Steps(console)
    with local_aws_endpoint() as endpoint:
        step(f"local AWS endpoint (moto server) at {endpoint}")
        admin = _act_as_aws()
        stack = deploy_local_stack(templates)
        step(f"stack 2 created from the templates: inbound [bold]{stack.inbound_bucket}[/], "
             f"outbound [bold]{stack.outbound_bucket}[/], Glue job [bold]{stack.job_name}[/]")  # fmt: skip
        denials = DenialLog()
        handlers = Handlers.load(stack, denials)
        runner = GlueRunner(stack.job_name, stack.role_session(stack.role_of("GlueJob"), GLUE_SERVICE, denials))
        gateway = ShareWatcher(share, stack.role_session(FILE_SHARE_ROLE, STORAGE_GATEWAY_SERVICE, denials))
        enforce_iam(endpoint)
        step("IAM enforced on the endpoint: each handler, the Glue script and the file gateway act with their "
             "own role from stack 2")  # fmt: skip
        try:
            outcomes = [_follow(file, share, gateway, stack, handlers, runner, step, timeout_s) for file in files]
            if keep:
                _serve(endpoint, admin, share, gateway, stack, handlers, runner, step)
            return outcomes
        finally:
            runner.stop()


def _act_as_aws() -> dict[str, str]:
    """Give this process (the bridges, acting as AWS) the endpoint's administrator keys; return them."""
    admin = admin_credentials()
    os.environ.update(admin)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    boto3.DEFAULT_SESSION = None  # the default session caches the credentials it first resolved
    return admin


def _serve(endpoint: str, admin: dict[str, str], share: Path, gateway: ShareWatcher, stack: LocalStack,
           handlers: Handlers, runner: GlueRunner, step: Steps) -> None:  # fmt: skip
    target = f"ENDPOINT={endpoint} STACK={STACK_NAME} JOB={stack.job_name}"
    # IAM is enforced: the endpoint accepts only keys it issued, so the other shell needs these.
    keys = " ".join(f"{name}={value}" for name, value in admin.items())
    step(f"serving until Ctrl-C; in another shell: [bold]{keys} make status {target}[/] or "
         f"[bold]{keys} make redrive {target} KEY=s3://...[/]; drop files into {share}/")  # fmt: skip
    while True:
        _pump(gateway, stack, handlers, runner, step)


def _pump(
    gateway: ShareWatcher, stack: LocalStack, handlers: Handlers, runner: GlueRunner, step: Steps
) -> Outcome | None:
    """One round over every bridge; returns how the current file ended, if it did.

    A call IAM denied a role ends the file there, with the denial, whether or not the code went on.
    """
    mark = len(handlers.denials.denials)
    outcome: Outcome | None = None
    try:
        outcome = _bridge_round(gateway, stack, handlers, runner, step)
    except (ClientError, S3UploadFailedError):
        if not handlers.denials.since(mark):
            raise
    denied = [str(denial) for denial in handlers.denials.since(mark)]
    if not denied:
        return outcome
    for line in denied:
        step(f"[bold red]{line}[/]")
    return Outcome(EXIT_DENIED, alert=outcome.alert if outcome else None, denied=denied)


def _bridge_round(
    gateway: ShareWatcher, stack: LocalStack, handlers: Handlers, runner: GlueRunner, step: Steps
) -> Outcome | None:
    outcome: Outcome | None = None
    for new_file in gateway.new_files():  # what the client writes into the share
        _upload(new_file, gateway, stack, step)
    for event in drain_queue(stack.inbound_events_queue):
        if "Records" not in event:
            continue  # S3's test event when the notification was configured
        result = handlers.trigger(with_version_ids(event), handlers.trigger_context)
        for key, decision in result["decisions"].items():
            run_id = result["started"].get(key)
            step(f"S3 ObjectCreated -> trigger handler: {key}: " + (f"Glue run [bold]{run_id}[/] started" if run_id
                 else DECISION_TEXT[decision]))  # fmt: skip
            if decision in ("ignored", "duplicate"):
                outcome = Outcome(EXIT_NO_RUN)
    for run in runner.new_runs():
        arguments = run.get("Arguments", {})
        with step.spinner(f"  Glue run {run['Id'][:16]}... on local Spark: {arguments.get('--input_uri')}"):
            succeeded, error = runner.execute(run)
        state = "SUCCEEDED" if succeeded else "FAILED"
        step(f"Glue run {run['Id']} {state}" + ("" if succeeded else f": {error}"))
        denial = None if succeeded else denial_in_error(error)
        if denial is not None:
            handlers.denials.add(Denial(stack.role_of("GlueJob"), "the Glue script", denial))
        emit_glue_state_change(stack.job_name, run["Id"], state, error)
        step(f"Glue Job State Change ({state}) put on the default event bus")
        if succeeded:
            outcome = _report(step, arguments["--output_uri"], arguments.get("--run_date"))
    for event in drain_queue(stack.state_events_queue):
        recorded = handlers.track(event, handlers.track_context)["recorded"]
        detail = event["detail"]
        if recorded:
            item = _ledger_item(stack, runner, detail["jobRunId"])
            step(f"EventBridge rule -> run ledger handler: {item}")
    for event in drain_queue(stack.failure_events_queue):
        published = handlers.notify(event, handlers.notify_context)["published"]
        step(f"EventBridge rule -> failure handler: alert {published} published to {stack.topic_arn}")
    if time.monotonic() - handlers.last_retry > LOCAL_RETRY_PERIOD_S:  # stands for the 15-minute schedule
        handlers.last_retry = time.monotonic()
        report = handlers.retry({}, handlers.retry_context)
        for key, run_id in report["started"].items():
            step(f"retry handler: Glue run [bold]{run_id}[/] restarted for {key}")
        for key in report["gave_up"]:
            step(f"retry handler: gave up on {key}")
    for envelope in drain_queue(stack.alert_inbox_queue):
        step("SNS -> subscriber: alert received")
        outcome = Outcome(EXIT_ALERT, alert=f"Subject: {envelope.get('Subject')}\n\n{envelope['Message']}")
    return outcome


def _ledger_item(stack: LocalStack, runner: GlueRunner, run_id: str) -> str:
    run = boto3.client("glue").get_job_run(JobName=runner.job_name, RunId=run_id)["JobRun"]
    keys = ledger_keys(run.get("Arguments", {}))
    item = Ledger(boto3.client("dynamodb"), stack.ledger_table).get(*keys) if keys else None
    return "no ledger item" if item is None else f"{item.pk} is {item.status} after {item.attempts} attempt(s)"


def _follow(file: Path, share: Path, gateway: ShareWatcher, stack: LocalStack, handlers: Handlers,
            runner: GlueRunner, step: Steps, timeout_s: float) -> Outcome:  # fmt: skip
    dropped = drop_into_share(file, share)
    step(f"file dropped into the share: {dropped}")
    deadline = time.monotonic() + timeout_s
    quiet_until = time.monotonic() + QUIET_AFTER_UPLOAD_S
    pending: Outcome | None = None
    while time.monotonic() < deadline:
        outcome = _pump(gateway, stack, handlers, runner, step)
        if outcome is not None and outcome.status == EXIT_DENIED:
            return outcome
        if outcome is not None and outcome.status != EXIT_NO_RUN:
            # Let the ledger and alert bridges catch up before the next file.
            _pump(gateway, stack, handlers, runner, step)
            return outcome
        pending = outcome or pending
        if runner.done and pending is None:
            quiet_until = deadline  # a run is under way: wait for it
        if time.monotonic() > quiet_until:
            if pending is not None:
                return pending
            step(f"no S3 event for {dropped.name}: the bucket's notification filter does not match it; no run")
            return Outcome(EXIT_NO_RUN)
    step(f"timed out after {timeout_s:.0f} s")
    return Outcome(EXIT_TIMEOUT)


def _upload(path: Path, gateway: ShareWatcher, stack: LocalStack, step: Steps) -> None:
    size = path.stat().st_size
    with Progress(TextColumn("  file gateway upload"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                  console=step.console, transient=True) as progress:  # fmt: skip
        task = progress.add_task("upload", total=size)
        upload_to_inbound(gateway.role, path, stack.inbound_bucket, path.name,
                          lambda sent: progress.advance(task, sent))  # fmt: skip
    multipart = " in parts (multipart)" if size > MULTIPART_THRESHOLD else ""
    step(f"file gateway uploaded {size:,} bytes{multipart} to s3://{stack.inbound_bucket}/{path.name}")


def _report(step: Steps, output_uri: str, run_date_text: str | None) -> Outcome:
    """Read the report and its summary where the run published them (the job's `--output_uri`)."""
    run_date = date.fromisoformat(run_date_text) if run_date_text else datetime.now(UTC).date()
    names = OutputNames.for_run_date(run_date)
    bucket, _, prefix = dated_folder(output_uri, run_date).removeprefix("s3://").partition("/")
    s3 = boto3.client("s3")
    report = s3.get_object(Bucket=bucket, Key=f"{prefix}/{names.table}")
    body = report["Body"].read().decode("utf-8")
    step(f"report in the outbound bucket: s3://{bucket}/{prefix}/{names.table} (version {report.get('VersionId')})")
    summary = json.loads(s3.get_object(Bucket=bucket, Key=f"{prefix}/{names.summary}")["Body"].read())
    step(f"summary beside it names the input {summary['input']} version {summary['input_version']}")
    return Outcome(EXIT_OK, report=body)


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, help="hit data files, dropped in turn [the bundled sample]")
    parser.add_argument("--share", type=Path, default=ROOT / "nfs_share", help="the folder standing for the NFS share")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--keep", action="store_true", help="keep the local system serving until Ctrl-C")
    parser.add_argument("--templates", type=Path, default=TEMPLATES,
                        help="the folder holding the stack templates (a changed copy, to try a role)")  # fmt: skip
    args = parser.parse_args(argv)
    files = args.files or [SAMPLE]
    console = Console(soft_wrap=True)
    missing = [file for file in files if not file.is_file()]
    if missing:
        console.print(f"error: {missing[0]}: no such file")
        return EXIT_NO_RUN
    try:
        outcomes = run_flow(files, args.share, args.timeout, console, keep=args.keep, templates=args.templates)
    except KeyboardInterrupt:
        console.print("interrupted: the endpoint and every process started are stopped")
        return 130
    # The report and the alert go out verbatim: tabs stay tabs.
    for outcome in outcomes:
        if outcome.report is not None:
            print(outcome.report, end="", flush=True)
        if outcome.alert is not None:
            print(outcome.alert, flush=True)
        for denial in outcome.denied:
            print(denial, flush=True)
    return overall_status([outcome.status for outcome in outcomes])


def overall_status(statuses: list[int]) -> int:
    """An IAM denial wins, then an alert or a timeout; then any report; no run at all is 2."""
    for status in (EXIT_DENIED, EXIT_ALERT, EXIT_TIMEOUT, EXIT_OK):
        if status in statuses:
            return status
    return EXIT_NO_RUN


if __name__ == "__main__":
    sys.exit(main())
