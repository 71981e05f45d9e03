"""From a failed Glue run to a message a person can act on: pure formatting."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

from search_revenue.pipeline.ledger import FAILED, GAVE_UP, LedgerItem
from search_revenue.pipeline.runs import INPUT_URI_ARGUMENT, RefusedStart, RunOutcome

FAILURE_STATES: Final = ("FAILED", "TIMEOUT", "ERROR", "STOPPED")
GLUE_STATE_CHANGE: Final = "Glue Job State Change"
# SNS Publish: a subject is printable ASCII on one line, under 100 characters; it refuses or rewrites others.
SUBJECT_MAX_CHARS: Final = 99
SUBJECT_CUT_MARK: Final = "..."
NOT_ASCII_MARK: Final = "?"


@dataclass(frozen=True, slots=True)
class GlueFailure:
    """What a Glue state-change event says about a failed run."""

    job_name: str
    run_id: str
    state: str
    message: str


@dataclass(frozen=True, slots=True)
class Alert:
    """An SNS message: subject and body."""

    subject: str
    body: str


def subject_line(text: str) -> str:
    """Make a subject SNS accepts: printable ASCII, one line, at most 99 characters, cut marked with `...`.

    Accents are dropped (`café` -> `cafe`), other non-ASCII letters become `?`, and control characters
    and line breaks become single spaces, so a file name of any kind still yields a readable subject.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    letters = (char for char in decomposed if not unicodedata.combining(char))
    printable = "".join(
        char if " " <= char <= "~" else " " if unicodedata.category(char)[0] in "CZ" else NOT_ASCII_MARK
        for char in letters
    )
    subject = " ".join(printable.split())
    if len(subject) > SUBJECT_MAX_CHARS:
        subject = subject[: SUBJECT_MAX_CHARS - len(SUBJECT_CUT_MARK)].rstrip() + SUBJECT_CUT_MARK
    return subject


def failure_from_event(event: Mapping[str, Any]) -> GlueFailure | None:
    """Read a `Glue Job State Change` event; None when it is not a failure."""
    detail = event.get("detail", {})
    if event.get("detail-type") != GLUE_STATE_CHANGE or detail.get("state") not in FAILURE_STATES:
        return None
    return GlueFailure(
        job_name=str(detail.get("jobName", "")),
        run_id=str(detail.get("jobRunId", "")),
        state=str(detail["state"]),
        message=str(detail.get("message", "")),
    )


def console_link(region: str, job_name: str, run_id: str) -> str:
    """The Glue console page of one run."""
    return (
        f"https://{region}.console.aws.amazon.com/gluestudio/home?region={region}"
        f"#/job/{quote(job_name, safe='')}/run/{quote(run_id, safe='')}"
    )


def alert_for_failure(failure: GlueFailure, job_run: Mapping[str, Any], region: str) -> Alert:
    """Compose the alert from the event and the run that `glue:GetJobRun` returned."""
    arguments = job_run.get("Arguments", {})
    input_uri = arguments.get(INPUT_URI_ARGUMENT, "(unknown input)")
    error = job_run.get("ErrorMessage") or failure.message or "(Glue gave no error message)"
    subject = subject_line(f"Search keyword job {failure.state}: {input_uri.rsplit('/', 1)[-1]}")
    body = "\n".join(
        [
            f"The search keyword performance job run {failure.state}.",
            "",
            f"Job:       {failure.job_name}",
            f"Run id:    {failure.run_id}",
            f"State:     {failure.state}",
            f"Input:     {input_uri}",
            f"Started:   {job_run.get('StartedOn', '')}",
            f"Error:     {error}",
            f"Console:   {console_link(region, failure.job_name, failure.run_id)}",
            "",
            "What happens next: nothing. This run was started outside the run ledger (by hand), so no",
            "retry follows. What to do: read the error; fix or replace the input file and upload it",
            "again, or start the run again from the console once the cause is fixed.",
        ]
    )
    return Alert(subject=subject, body=body)


def alert_for_gave_up(item: LedgerItem, job_name: str, max_attempts: int) -> Alert:
    """Compose the alert for an input whose retries are exhausted."""
    return _gave_up(item.pk, item.sk, item.attempts, item.glue_run_id, item.last_error, job_name, max_attempts)


def alert_for_outcome(outcome: RunOutcome, job_name: str, max_attempts: int, region: str) -> Alert | None:
    """The one alert a recorded run end deserves, if any.

    A file that keeps failing sends exactly two: its first failed attempt (saying it will be
    retried and that no further failure is announced) and GAVE UP. Success, and failed attempts
    after the first, send nothing: the outcome is already announced or still to come.
    """
    if outcome.status == GAVE_UP:
        return _gave_up(outcome.pk, outcome.sk, outcome.attempt, outcome.run_id, outcome.error, job_name, max_attempts)
    if outcome.status != FAILED or outcome.attempt != 1:
        return None
    name = outcome.pk.rsplit("/", 1)[-1]
    retry_at = outcome.retry_at.strftime("%Y-%m-%d %H:%M UTC") if outcome.retry_at else "soon"
    body = "\n".join(
        [
            f"The search keyword performance job run {outcome.state} on attempt 1 of {max_attempts}.",
            "",
            f"Job:       {job_name}",
            f"Run id:    {outcome.run_id}",
            f"Input:     {outcome.pk}",
            f"Content:   {outcome.sk}",
            f"Error:     {outcome.error or '(none recorded)'}",
            f"Console:   {console_link(region, job_name, outcome.run_id)}",
            "",
            f"What happens next: the retry path starts it again at about {retry_at}, up to {max_attempts} attempts",
            "in all. Further failed attempts send no message; if the last one fails too, one GAVE UP message",
            "follows. If the error says the file itself is wrong, upload a corrected file (it runs on its own).",
        ]
    )
    return Alert(subject=subject_line(f"Search keyword job {outcome.state}, will retry: {name}"), body=body)


def alert_for_refused_start(refused: RefusedStart, job_name: str) -> Alert:
    """Compose the alert for an input given up because Glue refused its start for good (no retry can help)."""
    name = refused.pk.rsplit("/", 1)[-1]
    body = "\n".join(
        [
            "The search keyword performance job gave up on an input: Glue refused to start its run with an",
            "error that another attempt cannot change, so it is not retried.",
            "",
            f"Input:       {refused.pk}",
            f"Content:     {refused.sk}",
            f"Job:         {job_name}",
            f"Runs before: {refused.attempts}",
            f"Glue said:   {refused.error}",
            "",
            "What happens next: nothing runs again by itself, and no further message is sent for this file.",
            "What to do: fix the cause (the job's name, the caller's permissions, the run's arguments), then",
            f"`make redrive KEY={refused.pk}`.",
        ]
    )
    return Alert(subject=subject_line(f"Search keyword job GAVE UP: {name}"), body=body)


def _gave_up(pk: str, content: str, attempts: int, run_id: str | None, error: str | None, job_name: str,
             max_attempts: int) -> Alert:  # fmt: skip
    name = pk.rsplit("/", 1)[-1]
    subject = subject_line(f"Search keyword job GAVE UP: {name}")
    body = "\n".join(
        [
            f"The search keyword performance job gave up on an input after {attempts} attempts (limit {max_attempts}).",
            "",
            f"Input:       {pk}",
            f"Content:     {content}",
            f"Job:         {job_name}",
            f"Last run id: {run_id or '(none)'}",
            f"Last error:  {error or '(none recorded)'}",
            "",
            "What happens next: nothing runs again by itself, and no further message is sent for this file.",
            f"What to do: fix the cause, then `make redrive KEY={pk}` (or upload a corrected file).",
        ]
    )
    return Alert(subject=subject, body=body)
