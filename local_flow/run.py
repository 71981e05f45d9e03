"""`make run`: the deployed flow on this machine, from a file dropped into the share to the
report in the outbound bucket, or to the failure alert.

    python -m local_flow.run [FILE] [--share nfs_share] [--timeout 600]

Exit status: 0 with the report printed; 1 with the alert printed when the run failed; 2 when the
file started no run (a name the pipeline ignores); 3 on a timeout.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import boto3
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
)
from local_flow.endpoint import local_aws_endpoint
from local_flow.stack import LocalStack, deploy_local_stack
from search_revenue.outputs import OutputNames

ROOT: Final = Path(__file__).resolve().parent.parent
SAMPLE: Final = ROOT / "data" / "hit_data.tsv"
OUTBOUND_PREFIX: Final = "outbound"
EXIT_OK, EXIT_ALERT, EXIT_NO_RUN, EXIT_TIMEOUT = 0, 1, 2, 3
QUIET_AFTER_UPLOAD_S: Final = 5


@dataclass
class Outcome:
    """How one dropped file ended."""

    status: int
    report_key: str | None = None
    report: str | None = None
    alert: str | None = None


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


def run_flow(file: Path, share: Path, timeout_s: float, console: Console) -> Outcome:
    """Start the endpoint and the stack, drop the file, and follow it to a report or an alert."""
    step = Steps(console)
    with local_aws_endpoint() as endpoint:
        step(f"local AWS endpoint (moto server) at {endpoint}")
        stack = deploy_local_stack()
        step(f"stack 2 created from the templates: inbound [bold]{stack.inbound_bucket}[/], "
             f"outbound [bold]{stack.outbound_bucket}[/], Glue job [bold]{stack.job_name}[/]")  # fmt: skip
        runner = GlueRunner(stack.job_name)
        try:
            return _follow(file, share, stack, runner, step, timeout_s)
        finally:
            runner.stop()


def _follow(file: Path, share: Path, stack: LocalStack, runner: GlueRunner, step: Steps, timeout_s: float) -> Outcome:
    trigger, trigger_context = load_handler(
        "lambda_glue_job_trigger",
        stack.resolver({"Ref": "TriggerFunction"}),
        stack.function_environment("TriggerFunction"),
    )
    notify, notify_context = load_handler(
        "lambda_glue_failure_notification",
        stack.resolver({"Ref": "NotifierFunction"}),
        stack.function_environment("NotifierFunction"),
    )
    gateway = ShareWatcher(share)
    dropped = drop_into_share(file, share)
    step(f"file dropped into the share: {dropped}")
    key = dropped.name
    for new_file in gateway.new_files():
        _upload(new_file, stack, step)
    deadline = time.monotonic() + timeout_s
    quiet_since = time.monotonic()
    started_any = False
    while time.monotonic() < deadline:
        for new_file in gateway.new_files():  # files the client writes while the flow runs
            _upload(new_file, stack, step)
        for event in drain_queue(stack.inbound_events_queue):
            if "Records" not in event:
                continue  # S3's test event when the notification was configured
            result = trigger(event, trigger_context)
            started_any |= bool(result["started"])
            for record_key, run_id in result["started"].items():
                step(f"S3 ObjectCreated -> trigger handler: Glue run [bold]{run_id}[/] started for {record_key}")
            if not result["started"]:
                step(f"S3 ObjectCreated -> trigger handler: {key} is not a data file; no run started")
                return Outcome(EXIT_NO_RUN)
        for run in runner.new_runs():
            arguments = run.get("Arguments", {})
            with step.spinner(f"  Glue run {run['Id'][:16]}... on local Spark: {arguments.get('--input_uri')}"):
                succeeded, error = runner.execute(run)
            if succeeded:
                step(f"Glue run {run['Id']} SUCCEEDED")
                return _report(stack, step)
            step(f"Glue run {run['Id']} FAILED: {error}")
            emit_glue_state_change(stack.job_name, run["Id"], "FAILED", error)
            step("Glue Job State Change (FAILED) put on the default event bus")
        for event in drain_queue(stack.failure_events_queue):
            published = notify(event, notify_context)["published"]
            step(f"EventBridge rule -> failure handler: alert {published} published to {stack.topic_arn}")
        for envelope in drain_queue(stack.alert_inbox_queue):
            step("SNS -> subscriber: alert received")
            alert = f"Subject: {envelope.get('Subject')}\n\n{envelope['Message']}"
            return Outcome(EXIT_ALERT, alert=alert)
        if not started_any and time.monotonic() - quiet_since > QUIET_AFTER_UPLOAD_S:
            step(f"no S3 event for {key}: the inbound bucket's notification filter does not match it; no run")
            return Outcome(EXIT_NO_RUN)
    step(f"timed out after {timeout_s:.0f} s")
    return Outcome(EXIT_TIMEOUT)


def _upload(path: Path, stack: LocalStack, step: Steps) -> None:
    size = path.stat().st_size
    with Progress(TextColumn("  file gateway upload"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                  console=step.console, transient=True) as progress:  # fmt: skip
        task = progress.add_task("upload", total=size)
        upload_to_inbound(path, stack.inbound_bucket, path.name, lambda sent: progress.advance(task, sent))
    multipart = " in parts (multipart)" if size > MULTIPART_THRESHOLD else ""
    step(f"file gateway uploaded {size:,} bytes{multipart} to s3://{stack.inbound_bucket}/{path.name}")


def _report(stack: LocalStack, step: Steps) -> Outcome:
    run_date = datetime.now(UTC).date()
    names = OutputNames.for_run_date(run_date)
    key = f"{OUTBOUND_PREFIX}/{run_date.isoformat()}/{names.table}"
    body = boto3.client("s3").get_object(Bucket=stack.outbound_bucket, Key=key)["Body"].read().decode("utf-8")
    step(f"report in the outbound bucket: s3://{stack.outbound_bucket}/{key}")
    return Outcome(EXIT_OK, report_key=key, report=body)


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", type=Path, default=SAMPLE, help="hit data file [the bundled sample]")
    parser.add_argument("--share", type=Path, default=ROOT / "nfs_share", help="the folder standing for the NFS share")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    console = Console(soft_wrap=True)
    if not args.file.is_file():
        console.print(f"error: {args.file}: no such file")
        return EXIT_NO_RUN
    try:
        outcome = run_flow(args.file, args.share, args.timeout, console)
    except KeyboardInterrupt:
        console.print("interrupted: the endpoint and every process started are stopped")
        return 130
    # The report and the alert go out verbatim: tabs stay tabs.
    if outcome.report is not None:
        print(outcome.report, end="", flush=True)
    if outcome.alert is not None:
        print(outcome.alert, flush=True)
    return outcome.status


if __name__ == "__main__":
    sys.exit(main())
