"""Starting Glue runs through the ledger, and the retry path (issue: never lose or double-count).

Shared by the trigger (new uploads), the scheduled retry Lambda and `make redrive`, so every
start goes through the same claim -> start -> RUNNING or RECEIVED steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

from botocore.exceptions import ClientError

from search_revenue.outbound import OutputNames, dated_folder
from search_revenue.pipeline.ledger import (
    CONTENT_PREFIX,
    FAILED,
    GAVE_UP,
    RECEIVED,
    RETRY_BASE,
    RUNNING,
    STARTING,
    SUCCEEDED,
    InputObject,
    Ledger,
    LedgerItem,
    backoff,
)

INPUT_URI_ARGUMENT: Final = "--input_uri"
INPUT_VERSION_ARGUMENT: Final = "--input_version"
LEDGER_PK_ARGUMENT: Final = "--ledger_pk"
LEDGER_SK_ARGUMENT: Final = "--ledger_sk"
RUN_DATE_ARGUMENT: Final = "--run_date"
# A STARTING claim older than this was left by a caller that died between claim and start.
STALE_CLAIM: Final = timedelta(minutes=15)
# StartJobRun refusals another attempt cannot change, so the input is given up at once rather than
# restarted every retry pass: the API's InvalidInputException and EntityNotFoundException (no such
# job), and the validation errors (ValidationError is common to AWS APIs; ValidationException is
# Glue's for other operations, kept defensively). Every other refusal goes to the retry path: the
# API's ConcurrentRunsExceededException, InternalServiceException, OperationTimeoutException and
# ResourceNumberLimitExceededException, throttling, a service unavailable, any code not known here.
PERMANENT_START_ERRORS: Final = frozenset(
    {"EntityNotFoundException", "InvalidInputException", "ValidationException", "ValidationError"}
)
# Denials (common to AWS APIs; `AccessDenied` is the query-protocol spelling, kept defensively).
# IAM is eventually consistent: just after a stack creates or updates a role, a start may be denied
# once. A denial is therefore retried, and the input given up when its next start is denied the same way.
DENIED_START_ERRORS: Final = frozenset({"AccessDenied", "AccessDeniedException", "NotAuthorized"})


def run_arguments(obj: InputObject, run_date: str) -> dict[str, str]:
    """The job arguments of one input: what to read, and where its ledger item is."""
    return {
        INPUT_URI_ARGUMENT: obj.uri,
        INPUT_VERSION_ARGUMENT: obj.version_id or "",
        LEDGER_PK_ARGUMENT: obj.pk,
        LEDGER_SK_ARGUMENT: obj.sk,
        RUN_DATE_ARGUMENT: run_date,
    }


def is_permanent_start_error(code: str, previous_error: str | None = None) -> bool:
    """Tell whether Glue's refusal of a start is one that another attempt cannot change.

    `previous_error` is the input's last recorded error: a denial counts only when it repeats one.
    """
    if code in PERMANENT_START_ERRORS:
        return True
    return code in DENIED_START_ERRORS and (previous_error or "").startswith(f"{code}:")


@dataclass(frozen=True, slots=True)
class StartOutcome:
    """What one start recorded: RUNNING with its run id, RECEIVED (refused for now, the retry path
    starts it again), GAVE_UP (refused for good; this caller alerts) or STARTING (the claim was lost
    to another caller, which records the outcome)."""

    status: str
    run_id: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RefusedStart:
    """An input given up without a run because Glue refused its start for good."""

    pk: str
    sk: str
    attempts: int  # runs before the refused start
    error: str


def start_claimed(
    glue: Any, ledger: Ledger, job_name: str, obj: InputObject, run_date: str, now: datetime,
    retry_base: timedelta = RETRY_BASE, previous_error: str | None = None,
) -> StartOutcome:  # fmt: skip
    """Start the Glue run of an input this caller has claimed; on a refused start, release it or give it up.

    A refusal another attempt may cure (throttled, too many concurrent runs, a service error, a first
    denial) leaves the item RECEIVED with the error and a time for the retry path. One it cannot (no
    such job, invalid input, a denial repeating `previous_error`: `is_permanent_start_error`) makes
    the item GAVE_UP at once, with the error.
    """
    try:
        response = glue.start_job_run(JobName=job_name, Arguments=run_arguments(obj, run_date))
    except ClientError as err:
        code = str(err.response["Error"]["Code"])
        error = f"{code}: {err.response['Error'].get('Message', '')}"
        if is_permanent_start_error(code, previous_error):
            if not ledger.give_up_start(obj, error, now):
                return StartOutcome(STARTING, error=error)
            return StartOutcome(GAVE_UP, error=error)
        ledger.release(obj, error, now, now + backoff(1, retry_base))
        return StartOutcome(RECEIVED, error=error)
    run_id = str(response["JobRunId"])
    ledger.mark_running(obj, run_id, now)
    return StartOutcome(RUNNING, run_id=run_id)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How a run ended, as the ledger recorded it: the one transition an alert may follow."""

    pk: str
    sk: str
    run_id: str
    status: str  # SUCCEEDED, FAILED (to be retried) or GAVE_UP
    state: str  # Glue's end state
    attempt: int
    error: str | None = None
    retry_at: datetime | None = None
    output_key: str | None = None


@dataclass
class RetryReport:
    """What one pass of the retry path did."""

    started: dict[str, str] = field(default_factory=dict)
    released: dict[str, str] = field(default_factory=dict)  # input -> why Glue did not start it (for now)
    gave_up: list[LedgerItem] = field(default_factory=list)
    refused: list[RefusedStart] = field(default_factory=list)
    reconciled: list[RunOutcome] = field(default_factory=list)
    still_waiting: int = 0


def _is_due(item: LedgerItem, now: datetime) -> bool:
    if item.status == STARTING:
        return datetime.fromisoformat(item.updated_at) <= now - STALE_CLAIM
    return item.next_attempt_at is None or datetime.fromisoformat(item.next_attempt_at) <= now


def retry_due(glue: Any, ledger: Ledger, job_name: str, max_attempts: int, now: datetime, *,
              retry_base: timedelta = RETRY_BASE, reconcile_after: timedelta | None = None,
              output_uri: str = "") -> RetryReport:  # fmt: skip
    """Reconcile RUNNING items older than `reconcile_after` with Glue, restart RECEIVED inputs and
    FAILED ones below the attempt limit when due, and give up at the limit or on a start Glue refuses for good."""
    report = RetryReport()
    if reconcile_after is not None:
        report.reconciled = reconcile_running(glue, ledger, job_name, max_attempts, now,
                                              reconcile_after=reconcile_after, retry_base=retry_base,
                                              output_uri=output_uri)  # fmt: skip
    for status in (RECEIVED, STARTING, FAILED):
        for item in ledger.with_status(status):
            if item.status == FAILED and item.attempts >= max_attempts:
                if ledger.give_up(item, now):
                    report.gave_up.append(item)
                continue
            if not _is_due(item, now):
                report.still_waiting += 1
                continue
            if ledger.claim(item, now):
                started = start_claimed(glue, ledger, job_name, item.input, item.run_date, now, retry_base,
                                        previous_error=item.last_error)  # fmt: skip
                if started.run_id:
                    report.started[item.pk] = started.run_id
                elif started.status == RECEIVED:
                    report.released[item.pk] = started.error or ""
                elif started.status == GAVE_UP:
                    report.refused.append(RefusedStart(item.pk, item.sk, item.attempts, started.error or ""))
    return report


def reconcile_running(glue: Any, ledger: Ledger, job_name: str, max_attempts: int, now: datetime, *,
                      reconcile_after: timedelta, retry_base: timedelta,
                      output_uri: str) -> list[RunOutcome]:  # fmt: skip
    """Ask Glue about RUNNING items older than the job's timeout and record how their runs really ended.

    An item stays RUNNING only while its run's end event is missing: EventBridge delivery failed,
    or the ledger Lambda failed on every retry. Glue's own record (`GetJobRun`) is the truth.
    """
    outcomes = []
    for item in ledger.with_status(RUNNING):
        if not item.glue_run_id or datetime.fromisoformat(item.updated_at) > now - reconcile_after:
            continue
        try:
            run = glue.get_job_run(JobName=job_name, RunId=item.glue_run_id, PredecessorsIncluded=False)["JobRun"]
        except ClientError as err:
            if err.response["Error"]["Code"] != "EntityNotFoundException":
                raise
            run = {"JobRunState": "ERROR", "ErrorMessage": f"Glue has no run {item.glue_run_id} any more"}
        state = str(run.get("JobRunState"))
        if state not in END_STATES:
            continue  # still stopping or running: Glue's timeout ends it and its event may yet come
        end = {"state": state, "jobRunId": item.glue_run_id, "message": run.get("ErrorMessage", "")}
        arguments = run.get("Arguments") or run_arguments(item.input, item.run_date)
        outcome = record_run_end(ledger, end, run | {"Arguments": arguments}, output_uri, now,
                                 max_attempts=max_attempts, retry_base=retry_base)  # fmt: skip
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def redrive(glue: Any, ledger: Ledger, job_name: str, pk: str, now: datetime) -> dict[str, StartOutcome]:
    """Restart one input by hand, whatever its status: newest content of the key first."""
    items = sorted((item for item in ledger.find(pk) if item.sk.startswith(CONTENT_PREFIX)),
                   key=lambda item: item.updated_at, reverse=True)  # fmt: skip
    if not items:
        raise LookupError(f"{pk}: not in the run ledger")
    item = items[0]
    if not ledger.reset(item, now):
        raise RuntimeError(f"{pk}: changed while redriving; try again")
    fresh = ledger.get(item.pk, item.sk)
    if fresh is None or not ledger.claim(fresh, now):
        raise RuntimeError(f"{pk}: claimed by another caller; see make status")
    return {pk: start_claimed(glue, ledger, job_name, item.input, item.run_date, now)}


def ledger_keys(arguments: Mapping[str, str]) -> tuple[str, str] | None:
    """The ledger item a run belongs to, from its arguments (None for runs started by hand)."""
    pk, sk = arguments.get(LEDGER_PK_ARGUMENT), arguments.get(LEDGER_SK_ARGUMENT)
    return (pk, sk) if pk and sk else None


END_STATES: Final = ("SUCCEEDED", "FAILED", "TIMEOUT", "ERROR", "STOPPED")


def report_uri(output_uri: str, run_date: str) -> str:
    """Where the job writes the report of a run date (the Glue script publishes to `dated_folder`)."""
    day = date.fromisoformat(run_date)
    return f"{dated_folder(output_uri, day)}/{OutputNames.for_run_date(day).table}"


def record_run_end(ledger: Ledger, detail: Mapping[str, Any], job_run: Mapping[str, Any], output_uri: str,
                   now: datetime, *, max_attempts: int, retry_base: timedelta = RETRY_BASE,
                   ) -> RunOutcome | None:  # fmt: skip
    """Keep the ledger current from a `Glue Job State Change` event (or Glue's record) and the run it names.

    SUCCEEDED records the report's URI; FAILED, TIMEOUT, ERROR and STOPPED record Glue's error and
    when the retry path may try again, or GAVE_UP when this was the last attempt. Returns what was
    recorded, or None for runs outside the ledger and stale events (an older run of the same
    input, or an end already recorded): exactly one caller gets the outcome of a run.
    """
    state = str(detail.get("state"))
    keys = ledger_keys(job_run.get("Arguments", {}))
    if state not in END_STATES or keys is None:
        return None
    run_id = str(detail.get("jobRunId"))
    item = ledger.get(*keys)
    attempt = item.attempts if item else 1
    if state == "SUCCEEDED":
        run_date = job_run.get("Arguments", {}).get(RUN_DATE_ARGUMENT) or now.date().isoformat()
        output_key = report_uri(output_uri, run_date)
        if not ledger.record_end(*keys, run_id, SUCCEEDED, now, output_key=output_key):
            return None
        return RunOutcome(*keys, run_id, SUCCEEDED, state, attempt, output_key=output_key)
    error = f"{state}: {job_run.get('ErrorMessage') or detail.get('message') or state}"
    status = GAVE_UP if attempt >= max_attempts else FAILED
    retry_at = None if status == GAVE_UP else now + backoff(attempt, retry_base)
    if not ledger.record_end(*keys, run_id, status, now, error=error, retry_at=retry_at):
        return None
    return RunOutcome(*keys, run_id, status, state, attempt, error=error, retry_at=retry_at)
