"""`make run`: the deployed flow on this machine, from a file dropped into the share to the
report in the outbound bucket, or to the alerts.

    python -m local_flow.run [FILE ...] [--share nfs_share] [--timeout 600] [--gap S] [--lose-run-ends N]
                             [--templates cf_templates]

Each file is dropped in turn and followed until the system is quiet again: upload events settled
and handled, runs ended and recorded, retries done or given up. With --gap the files are dropped
that many seconds apart without waiting (a file replaced while it uploads or settles);
--lose-run-ends N loses the first N run-end events, as a failed EventBridge delivery would.

Exit status: 0 with the report printed; 1 with the alerts printed when a run failed; 2 when the
file started no run (a name the pipeline ignores, content seen before); 3 on a timeout; 4 when IAM
denied a handler, the Glue script or the file gateway a call its role must allow (the denial is
printed).
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

from deploy.runs import status_lines
from local_flow.bridges import (
    MULTIPART_THRESHOLD,
    FunctionLog,
    GlueRunner,
    ShareWatcher,
    deliver_upload_events,
    drain_queue,
    emit_glue_state_change,
    emulate_s3_event_versions,
    end_glue_run,
    hold_glue_runs,
    load_handler,
    queue_is_empty,
    upload_to_inbound,
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
from local_flow.stack import LOCAL_SETTLE_SECONDS, STACK_NAME, LocalStack, deploy_local_stack
from local_flow.templates import TEMPLATES
from search_revenue.outbound import OutputNames, dated_folder
from search_revenue.pipeline.history import file_histories
from search_revenue.pipeline.ledger import FAILED, RECEIVED, RUNNING, STARTING, Ledger

ROOT: Final = Path(__file__).resolve().parent.parent
SAMPLE: Final = ROOT / "data" / "hit_data.tsv"
EXIT_OK, EXIT_ALERT, EXIT_NO_RUN, EXIT_TIMEOUT, EXIT_DENIED = 0, 1, 2, 3, 4
# The role the file share writes to S3 with; the share itself is created by deploy/gateway.py, not by the template.
FILE_SHARE_ROLE: Final = "FileShareRole"
LOCAL_RETRY_PERIOD_S: Final = 2  # stands for the 15-minute schedule
PUMP_PAUSE_S: Final = 0.3
DECISION_TEXT: Final = {
    "ignored": "not a data file; no run",
    "duplicate": "this content was seen before (run ledger); no new run",
    "released": "Glue refused the start; left RECEIVED for the retry path",
    "gave_up": "Glue refused the start for good (no retry can change it); GAVE_UP, alert published",
    "superseded": "replaced before it settled (run ledger: SUPERSEDED); no run",
    "unsettled": "changed less than the settle time ago; the queue delivers it again",
}


@dataclass
class Outcome:
    """How one dropped file (or a batch dropped with --gap) ended."""

    status: int
    reports: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
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


def run_flow(files: list[Path], share: Path, timeout_s: float, console: Console, *, keep: bool = False,
             gap_s: float | None = None, lose_run_ends: int = 0,
             templates: Path = TEMPLATES) -> list[Outcome]:  # fmt: skip
    """Start the endpoint and the stack, drop the files and follow them to reports or alerts."""
    step = Steps(console)
    with local_aws_endpoint() as endpoint:
        emulate_s3_event_versions()
        hold_glue_runs()
        step(f"local AWS endpoint (moto server) at {endpoint}")
        admin = _act_as_aws()
        stack = deploy_local_stack(templates)
        step(f"stack 2 created from the templates: inbound [bold]{stack.inbound_bucket}[/], "
             f"outbound [bold]{stack.outbound_bucket}[/], Glue job [bold]{stack.job_name}[/]; "
             f"uploads settle for {LOCAL_SETTLE_SECONDS} s")  # fmt: skip
        denials = DenialLog()
        runner = GlueRunner(stack.job_name, stack.role_session(stack.role_of("GlueJob"), GLUE_SERVICE, denials))
        gateway = ShareWatcher(share, stack.role_session(FILE_SHARE_ROLE, STORAGE_GATEWAY_SERVICE, denials))
        flow = Flow(stack, Handlers.load(stack, denials), runner, gateway, step, lose_run_ends=lose_run_ends)
        enforce_iam(endpoint)
        step("IAM enforced on the endpoint: each handler, the Glue script and the file gateway act with their "
             "own role from stack 2")  # fmt: skip
        try:
            deadline = time.monotonic() + timeout_s
            if gap_s is None:
                outcomes = [flow.follow([file], share, 0, deadline) for file in files]
            else:
                outcomes = [flow.follow(files, share, gap_s, deadline)]
            flow.print_status()
            if keep:
                flow.serve(endpoint, admin, share)
            return outcomes
        finally:
            flow.runner.stop()


def drop_into_share(file: Path, share: Path) -> Path:
    """Put a file into the share folder, as the client does over NFS."""
    share.mkdir(parents=True, exist_ok=True)
    target = share / file.name
    shutil.copyfile(file, target)
    return target


def _act_as_aws() -> dict[str, str]:
    """Give this process (the bridges, acting as AWS) the endpoint's administrator keys; return them."""
    admin = admin_credentials()
    os.environ.update(admin)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    boto3.DEFAULT_SESSION = None  # the default session caches the credentials it first resolved
    return admin


@dataclass
class Handlers:
    """The real Lambda handlers, loaded with their functions' environments, each acting with its role."""

    denials: DenialLog
    trigger_log: FunctionLog  # the trigger's log lines: what it did with each upload
    trigger: Any
    trigger_context: Any
    notify: Any
    notify_context: Any
    track: Any
    track_context: Any
    retry: Any
    retry_context: Any

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
        return cls(denials, FunctionLog("lambda_glue_job_trigger"), *loaded)


def _acting_as_role(handler: Any, role: boto3.Session) -> Any:
    def invoke(event: dict[str, Any], context: object) -> Any:
        with acting_as(role):
            return handler(event, context)

    return invoke


@dataclass
class Flow:
    """Every bridge, pumped in rounds until the system is quiet."""

    stack: LocalStack
    handlers: Handlers
    runner: GlueRunner
    gateway: ShareWatcher
    step: Steps
    lose_run_ends: int = 0
    reports: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    decided: set[str] = field(default_factory=set)
    last_retry: float = 0.0

    @property
    def ledger(self) -> Ledger:
        return Ledger(boto3.client("dynamodb"), self.stack.ledger_table)

    def follow(self, files: list[Path], share: Path, gap_s: float, deadline: float) -> Outcome:
        """Drop the files (gap_s apart) and pump until quiet; what came of them."""
        reports, alerts = len(self.reports), len(self.alerts)
        mark = len(self.handlers.denials.denials)
        for number, file in enumerate(files):
            if number:
                self._pump_for(gap_s)
            self.step(f"file dropped into the share: {drop_into_share(file, share)}")
        while time.monotonic() < deadline:
            try:
                self.pump()
            except (ClientError, S3UploadFailedError):
                if not self.handlers.denials.since(mark):
                    raise
            # A call IAM denied a role ends the file there, with the denial, whether or not the code went on.
            denied = [str(denial) for denial in self.handlers.denials.since(mark)]
            if denied:
                for line in denied:
                    self.step(f"[bold red]{line}[/]")
                return Outcome(EXIT_DENIED, self.reports[reports:], self.alerts[alerts:], denied)
            if not self.busy():
                break
            time.sleep(PUMP_PAUSE_S)
        else:
            self.step("timed out")
            return Outcome(EXIT_TIMEOUT, self.reports[reports:], self.alerts[alerts:])
        for file in files:
            if file.name not in self.decided:
                self.step(f"no S3 event for {file.name}: the bucket's notification filter does not match it; no run")
        outcome = Outcome(EXIT_NO_RUN, self.reports[reports:], self.alerts[alerts:])
        outcome.status = EXIT_ALERT if outcome.alerts else EXIT_OK if outcome.reports else EXIT_NO_RUN
        return outcome

    def _pump_for(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            self.gateway_round()
            time.sleep(min(PUMP_PAUSE_S, max(until - time.monotonic(), 0)))

    def serve(self, endpoint: str, admin: dict[str, str], share: Path) -> None:
        """Keep pumping until Ctrl-C, for make status / make redrive and files dropped by hand."""
        target = f"ENDPOINT={endpoint} STACK={STACK_NAME} JOB={self.stack.job_name}"
        # IAM is enforced: the endpoint accepts only keys it issued, so the other shell needs these.
        keys = " ".join(f"{name}={value}" for name, value in admin.items())
        self.step(f"serving until Ctrl-C; in another shell: [bold]{keys} make status {target}[/] or "
                  f"[bold]{keys} make redrive {target} KEY=s3://...[/]; drop files into {share}/")  # fmt: skip
        while True:
            self.pump()
            time.sleep(PUMP_PAUSE_S)

    def busy(self) -> bool:
        """Anything still to happen: a file to upload, an event settling, a run or a retry to come."""
        if self.gateway.has_changes() or not queue_is_empty(self.stack.inbound_events_queue):
            return True
        max_attempts = int(self.stack.function_environment("RetryFunction").get("MAX_ATTEMPTS", "3"))
        for item in self.ledger.recent(None):
            if item.status in (STARTING, RUNNING, RECEIVED):
                return True
            if item.status == FAILED and item.attempts < max_attempts:
                return True
        return False

    def gateway_round(self) -> None:
        """The file gateway: upload what the client wrote into the share."""
        for new_file in self.gateway.new_files():
            self._upload(new_file)

    def pump(self) -> None:
        """One round over every bridge."""
        self.gateway_round()
        self._trigger_round()
        for run in self.runner.new_runs():
            self._execute(run)
        self._ledger_round()
        for event in drain_queue(self.stack.failure_events_queue, wait_s=0):
            published = self.handlers.notify(event, self.handlers.notify_context)["published"]
            self.step("EventBridge rule -> failure handler: " + (f"alert {published} published" if published
                      else "no alert (a run of the ledger: the run ledger announces its outcome)"))  # fmt: skip
        if time.monotonic() - self.last_retry > LOCAL_RETRY_PERIOD_S:
            self.last_retry = time.monotonic()
            self._retry_round()
        for envelope in drain_queue(self.stack.alert_inbox_queue, wait_s=0):
            self.step(f"SNS -> subscriber: alert received: {envelope.get('Subject')}")
            self.alerts.append(f"Subject: {envelope.get('Subject')}\n\n{envelope['Message']}")

    def _trigger_round(self) -> None:
        deliver_upload_events(self.stack.inbound_events_queue, self.handlers.trigger,
                              self.handlers.trigger_context, LOCAL_SETTLE_SECONDS)  # fmt: skip
        # The handler returns only Lambda's batch response; what it did with each upload is in its log.
        for line in self.handlers.trigger_log.drain():
            if "decision" not in line:
                continue
            key, version, run_id = line["input_key"], line.get("version_id"), line.get("run_id")
            self.decided.add(key.rsplit("/", 1)[-1])
            self.step(f"S3 ObjectCreated (after the settle delay) -> trigger handler: {key} version {version}: "
                      + (f"Glue run [bold]{run_id}[/] started" if run_id
                         else DECISION_TEXT[line["decision"]]))  # fmt: skip

    def _execute(self, run: dict[str, Any]) -> None:
        arguments = run.get("Arguments", {})
        self.step(f"Glue run {run['Id']} executing on local Spark: {arguments.get('--input_uri')} "
                  f"version {arguments.get('--input_version') or '-'}")  # fmt: skip
        with self.step.spinner(f"  Glue run {run['Id'][:16]}... on local Spark"):
            succeeded, error = self.runner.execute(run, between=self.gateway_round)
        state = "SUCCEEDED" if succeeded else "FAILED"
        self.step(f"Glue run {run['Id']} {state}" + ("" if succeeded else f": {error}"))
        denial = None if succeeded else denial_in_error(error)
        if denial is not None:
            self.handlers.denials.add(Denial(self.stack.role_of("GlueJob"), "the Glue script", denial))
        end_glue_run(self.stack.job_name, run["Id"], state, error)
        if self.lose_run_ends > 0:
            self.lose_run_ends -= 1
            self.step("Glue Job State Change LOST (--lose-run-ends): the ledger keeps the item RUNNING")
        else:
            emit_glue_state_change(self.stack.job_name, run["Id"], state, error)
            self.step(f"Glue Job State Change ({state}) put on the default event bus")
        if succeeded:
            self.reports.append(self._report(arguments["--output_uri"], arguments.get("--run_date")))

    def _ledger_round(self) -> None:
        for event in drain_queue(self.stack.state_events_queue, wait_s=0):
            result = self.handlers.track(event, self.handlers.track_context)
            if result["recorded"]:
                self.step(f"EventBridge rule -> run ledger handler: {self._item_text(event['detail']['jobRunId'])}"
                          + (" (alert published)" if result.get("published") else ""))  # fmt: skip

    def _retry_round(self) -> None:
        report = self.handlers.retry({}, self.handlers.retry_context)
        for key, status in report.get("reconciled", {}).items():
            self.step(f"retry handler: reconciled {key} from Glue's record (its end event never came): {status}")
        for key, run_id in report["started"].items():
            self.step(f"retry handler: Glue run [bold]{run_id}[/] restarted for {key}")
        for key in report["gave_up"]:
            self.step(f"retry handler: gave up on {key}")

    def _item_text(self, run_id: str) -> str:
        for item in self.ledger.recent(None):
            if item.glue_run_id == run_id:
                return f"{item.pk} is {item.status} after {item.attempts} attempt(s)"
        return "no ledger item"

    def _upload(self, path: Path) -> None:
        size = path.stat().st_size
        with Progress(TextColumn("  file gateway upload"), BarColumn(), DownloadColumn(), TimeElapsedColumn(),
                      console=self.step.console, transient=True) as progress:  # fmt: skip
            task = progress.add_task("upload", total=size)
            data, metadata = upload_to_inbound(self.gateway.role, path, self.stack.inbound_bucket, path.name,
                                               lambda sent: progress.advance(task, sent))  # fmt: skip
        multipart = " in parts (multipart)" if size > MULTIPART_THRESHOLD else ""
        self.step(f"file gateway uploaded {size:,} bytes{multipart} to s3://{self.stack.inbound_bucket}/{path.name} "
                  f"(version {data}), then the file's metadata (version {metadata})")  # fmt: skip

    def _report(self, output_uri: str, run_date_text: str | None) -> str:
        """Read the report and its summary where the run published them (the job's `--output_uri`)."""
        run_date = date.fromisoformat(run_date_text) if run_date_text else datetime.now(UTC).date()
        names = OutputNames.for_run_date(run_date)
        bucket, _, prefix = dated_folder(output_uri, run_date).removeprefix("s3://").partition("/")
        s3 = boto3.client("s3")
        report = s3.get_object(Bucket=bucket, Key=f"{prefix}/{names.table}")
        body = report["Body"].read().decode("utf-8")
        self.step(f"report in the outbound bucket: s3://{bucket}/{prefix}/{names.table} "
                  f"(version {report.get('VersionId')})")  # fmt: skip
        summary = json.loads(s3.get_object(Bucket=bucket, Key=f"{prefix}/{names.summary}")["Body"].read())
        self.step(f"summary beside it names the input {summary['input']} version {summary['input_version']}")
        return str(body)

    def print_status(self) -> None:
        """The run ledger as `make status` shows it."""
        self.step("run ledger (make status):")
        for line in status_lines(file_histories(self.ledger.recent(None))):
            self.step.console.print(f"          {line}", highlight=False, markup=False)


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, help="hit data files, dropped in turn [the bundled sample]")
    parser.add_argument("--share", type=Path, default=ROOT / "nfs_share", help="the folder standing for the NFS share")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--keep", action="store_true", help="keep the local system serving until Ctrl-C")
    parser.add_argument("--gap", type=float, help="drop the files this many seconds apart, without waiting")
    parser.add_argument("--lose-run-ends", type=int, default=0, help="lose the first N run-end events")
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
        outcomes = run_flow(files, args.share, args.timeout, console, keep=args.keep, gap_s=args.gap,
                            lose_run_ends=args.lose_run_ends, templates=args.templates)  # fmt: skip
    except KeyboardInterrupt:
        console.print("interrupted: the endpoint and every process started are stopped")
        return 130
    # The report and the alert go out verbatim: tabs stay tabs.
    for outcome in outcomes:
        for report in outcome.reports:
            print(report, end="", flush=True)
        for alert in outcome.alerts:
            print(alert, flush=True)
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
