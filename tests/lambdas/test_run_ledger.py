"""The run ledger through its handlers: state tracking, the retry path, reconciling lost ends, one alert per
outcome, giving up, redrive."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import boto3
import lambda_glue_job_trigger as trigger
import lambda_glue_retry as retry
import lambda_glue_run_ledger as tracker
import pytest
from botocore.stub import Stubber

from search_revenue.pipeline.announcements import ALERT_GRACE, AlertNotPublishedError, send_held_alerts
from search_revenue.pipeline.ledger import (
    FAILED,
    GAVE_UP,
    RECEIVED,
    RUNNING,
    SUCCEEDED,
    InputObject,
    Ledger,
    LedgerItem,
)
from search_revenue.pipeline.runs import redrive, retry_due, start_claimed
from tests.lambdas.conftest import (
    JOB_NAME,
    LEDGER_TABLE,
    LambdaContext,
    function_logs,
    load_event,
    upload_event,
    via_queue,
)

KEY = "s3://inbound-bucket/hit_data.tsv"
OUTPUT_URI = "s3://outbound-bucket/outbound"

pytestmark = pytest.mark.usefixtures("ledger_table", "glue_job", "inbound_bucket")


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, alert_topic: str) -> None:
    for name, value in {"GLUE_JOB_NAME": JOB_NAME, "OUTPUT_URI": OUTPUT_URI, "MAX_ATTEMPTS": "3",
                        "ALERT_TOPIC_ARN": alert_topic}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    for module in (trigger, retry, tracker):
        module._deps.cache_clear()


def _ledger() -> Ledger:
    return Ledger(boto3.client("dynamodb"), LEDGER_TABLE)


def _item() -> LedgerItem:
    [item] = _ledger().find(KEY)
    return item


def _end_event(run_id: str, state: str, message: str = "") -> dict[str, object]:
    event = load_event("glue_job_failed.json")
    event["detail"].update(jobName=JOB_NAME, jobRunId=run_id, state=state, message=message)
    return event


def _start(lambda_context: LambdaContext) -> str:
    assert trigger.handler(via_queue(upload_event()), lambda_context) == {"batchItemFailures": []}
    run_id = _item().glue_run_id
    assert run_id is not None
    return run_id


def test_succeeded_run_records_the_report(lambda_context: LambdaContext) -> None:
    run_id = _start(lambda_context)
    assert _item().status == RUNNING
    assert tracker.handler(_end_event(run_id, "SUCCEEDED"), lambda_context)["recorded"] is True
    item = _item()
    assert item.status == SUCCEEDED
    today = datetime.now(UTC).date().isoformat()
    assert item.output_key == f"{OUTPUT_URI}/{today}/{today}_SearchKeywordPerformance.tab"
    assert item.attempts == 1


@pytest.mark.parametrize("state", ["FAILED", "TIMEOUT", "ERROR", "STOPPED"])
def test_failed_states_record_the_error_and_a_retry_time(lambda_context: LambdaContext, state: str) -> None:
    run_id = _start(lambda_context)
    tracker.handler(_end_event(run_id, state, "MissingColumnsError: ip"), lambda_context)
    item = _item()
    assert item.status == FAILED
    assert item.last_error == f"{state}: MissingColumnsError: ip"
    assert item.next_attempt_at is not None


def test_late_event_of_an_older_run_changes_nothing(lambda_context: LambdaContext) -> None:
    older = _start(lambda_context)
    newer = redrive(boto3.client("glue"), _ledger(), JOB_NAME, KEY, datetime.now(UTC))[KEY].run_id
    assert tracker.handler(_end_event(older, "FAILED"), lambda_context)["recorded"] is False
    item = _item()
    assert item.status == RUNNING
    assert item.glue_run_id == newer


@pytest.mark.usefixtures("runs_stay_running")
def test_throttled_start_is_started_later_by_the_retry_path(lambda_context: LambdaContext) -> None:
    from moto.moto_api import state_manager

    glue = boto3.client("glue")
    for _ in range(2):
        glue.start_job_run(JobName=JOB_NAME)
    trigger.handler(via_queue(upload_event()), lambda_context)
    assert _item().status == RECEIVED
    now = datetime.now(UTC)
    assert retry_due(glue, _ledger(), JOB_NAME, 3, now).started == {}  # not due yet: backoff
    state_manager.unset_transition(model_name="glue::job_run")  # the blocking runs finish
    report = retry_due(glue, _ledger(), JOB_NAME, 3, now + timedelta(minutes=16))
    assert list(report.started) == [KEY]
    assert _item().status == RUNNING
    run = glue.get_job_run(JobName=JOB_NAME, RunId=report.started[KEY])["JobRun"]
    assert run["Arguments"]["--input_uri"] == KEY


def _alerts(inbox: str) -> list[dict[str, str]]:
    sqs = boto3.client("sqs")
    found = []
    while messages := sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_failing_job_is_retried_then_given_up_with_two_alerts(lambda_context: LambdaContext, alert_inbox: str) -> None:
    glue = boto3.client("glue")
    run_id = _start(lambda_context)
    now = datetime.now(UTC)
    published = []
    for attempt in (1, 2, 3):
        result = tracker.handler(_end_event(run_id, "FAILED", f"boom {attempt}"), lambda_context)
        published.append(result["published"] is not None)
        assert _item().attempts == attempt
        if attempt < 3:
            assert _item().status == FAILED
            now += timedelta(hours=2)
            run_id = retry_due(glue, _ledger(), JOB_NAME, 3, now).started[KEY]
    assert published == [True, False, True]  # the first failure and GAVE_UP, nothing in between
    assert _item().status == GAVE_UP
    assert tracker.handler(_end_event(run_id, "FAILED", "boom 3"), lambda_context)["published"] is None  # again
    assert retry.handler({}, lambda_context)["gave_up"] == []
    first, gave_up = _alerts(alert_inbox)
    assert first["Subject"] == "Search keyword job FAILED, will retry: hit_data.tsv"
    assert "attempt 1 of 3" in first["Message"]
    assert "Further failed attempts send no message" in first["Message"]
    assert gave_up["Subject"] == "Search keyword job GAVE UP: hit_data.tsv"
    assert "Last error:  FAILED: boom 3" in gave_up["Message"]
    assert "What happens next: nothing runs again by itself" in gave_up["Message"]
    assert f"make redrive KEY={KEY}" in gave_up["Message"]
    assert len(glue.get_job_runs(JobName=JOB_NAME)["JobRuns"]) == 3


def test_item_failed_at_the_limit_is_given_up_by_the_retry_path_once(
    lambda_context: LambdaContext, alert_inbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = _start(lambda_context)
    monkeypatch.setenv("MAX_ATTEMPTS", "5")  # the limit was higher when the run failed
    tracker._deps.cache_clear()
    tracker.handler(_end_event(run_id, "FAILED", "boom"), lambda_context)
    _alerts(alert_inbox)
    monkeypatch.setenv("MAX_ATTEMPTS", "1")
    retry._deps.cache_clear()
    assert retry.handler({}, lambda_context)["gave_up"] == [KEY]
    assert retry.handler({}, lambda_context)["gave_up"] == []
    [alert] = _alerts(alert_inbox)
    assert alert["Subject"] == "Search keyword job GAVE UP: hit_data.tsv"


@pytest.mark.usefixtures("runs_stay_running")
@pytest.mark.parametrize(("glue_state", "expected"), [("SUCCEEDED", SUCCEEDED), ("FAILED", FAILED)])
def test_lost_run_end_is_reconciled_from_glue_after_the_timeout(
    lambda_context: LambdaContext, alert_inbox: str, monkeypatch: pytest.MonkeyPatch, glue_state: str, expected: str
) -> None:
    from moto.glue.models import glue_backends

    run_id = _start(lambda_context)  # its end event never arrives
    monkeypatch.setenv("GLUE_TIMEOUT_MINUTES", "120")
    retry._deps.cache_clear()
    assert retry.handler({}, lambda_context)["reconciled"] == {}  # within the timeout: the event may still come
    assert _item().status == RUNNING
    monkeypatch.setenv("GLUE_TIMEOUT_MINUTES", "0")
    monkeypatch.setenv("RECONCILE_GRACE_SECONDS", "0")
    retry._deps.cache_clear()
    assert retry.handler({}, lambda_context)["reconciled"] == {}  # Glue says it is still running
    run = glue_backends["123456789012"]["us-east-1"].get_job_run(JOB_NAME, run_id)
    run.status = glue_state
    assert retry.handler({}, lambda_context)["reconciled"] == {KEY: expected}
    assert _item().status == expected
    assert retry.handler({}, lambda_context)["reconciled"] == {}
    alerts = _alerts(alert_inbox)
    assert [alert["Subject"] for alert in alerts] == (
        ["Search keyword job FAILED, will retry: hit_data.tsv"] if glue_state == "FAILED" else []
    )


def test_redrive_restarts_an_input_given_up(lambda_context: LambdaContext) -> None:
    glue = boto3.client("glue")
    run_id = _start(lambda_context)
    tracker.handler(_end_event(run_id, "FAILED"), lambda_context)
    started = redrive(glue, _ledger(), JOB_NAME, KEY, datetime.now(UTC))[KEY]
    assert started.run_id
    item = _item()
    assert item.status == RUNNING
    assert item.glue_run_id == started.run_id
    with pytest.raises(LookupError, match="not in the run ledger"):
        redrive(glue, _ledger(), JOB_NAME, "s3://inbound-bucket/other.tsv", datetime.now(UTC))


@pytest.mark.parametrize(
    ("code", "status"),
    [
        # Refusals no retry can change: the input fails at once.
        ("EntityNotFoundException", GAVE_UP),
        ("InvalidInputException", GAVE_UP),
        ("ValidationException", GAVE_UP),
        # Refusals that pass, or may (a first denial: IAM is eventually consistent): left RECEIVED.
        ("AccessDeniedException", RECEIVED),
        ("ConcurrentRunsExceededException", RECEIVED),
        ("ThrottlingException", RECEIVED),
        ("InternalServiceException", RECEIVED),
        ("OperationTimeoutException", RECEIVED),
        ("ResourceNumberLimitExceededException", RECEIVED),
    ],
)
def test_refused_start_is_given_up_at_once_only_when_no_retry_can_help(code: str, status: str) -> None:
    obj = InputObject("inbound-bucket", "hit_data.tsv", "e1", "v1")
    now = datetime.now(UTC)
    assert _ledger().claim_new(obj, now.date(), now)
    glue = boto3.client("glue")
    with Stubber(glue) as stub:
        stub.add_client_error("start_job_run", service_error_code=code, service_message="refused")
        outcome = start_claimed(glue, _ledger(), JOB_NAME, obj, now.date().isoformat(), now)
    item = _item()
    assert (outcome.status, outcome.run_id, item.status) == (status, None, status)
    assert item.last_error == f"{code}: refused"
    assert (item.next_attempt_at is None) is (status == GAVE_UP)
    assert item.attempts == 0  # no run was started


def test_a_denied_start_is_retried_once_and_given_up_when_denied_again() -> None:
    # IAM is eventually consistent: a first denial may pass, a second one the same way does not.
    obj = InputObject("inbound-bucket", "hit_data.tsv", "e1", "v1")
    now = datetime.now(UTC)
    assert _ledger().claim_new(obj, now.date(), now)
    glue = boto3.client("glue")
    with Stubber(glue) as stub:
        stub.add_client_error("start_job_run", service_error_code="AccessDeniedException", service_message="denied")
        first = start_claimed(glue, _ledger(), JOB_NAME, obj, now.date().isoformat(), now)
    assert (first.status, _item().status) == (RECEIVED, RECEIVED)
    due = now + timedelta(hours=1)  # past the first backoff
    with Stubber(glue) as stub:
        stub.add_client_error("start_job_run", service_error_code="AccessDeniedException", service_message="denied")
        report = retry_due(glue, _ledger(), JOB_NAME, 3, due)
    assert [refused.pk for refused in report.refused] == [KEY]
    item = _item()
    assert (item.status, item.last_error) == (GAVE_UP, "AccessDeniedException: denied")


def _given_up_on_missing_job_with_one_alert(alert_inbox: str) -> dict[str, str]:
    """The input is GAVE_UP with Glue's EntityNotFoundException, and exactly one alert says so."""
    item = _item()
    assert item.status == GAVE_UP
    assert item.last_error is not None
    assert item.last_error.startswith("EntityNotFoundException")
    [alert] = _alerts(alert_inbox)
    assert alert["Subject"] == "Search keyword job GAVE UP: hit_data.tsv"
    return alert


def test_trigger_gives_up_at_once_on_a_start_refused_for_good_and_alerts_once(
    lambda_context: LambdaContext, alert_inbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLUE_JOB_NAME", "no-such-job")  # Glue answers EntityNotFoundException
    for module in (trigger, retry):
        module._deps.cache_clear()
    assert trigger.handler(via_queue(upload_event()), lambda_context) == {"batchItemFailures": []}
    alert = _given_up_on_missing_job_with_one_alert(alert_inbox)
    assert "Glue said:   EntityNotFoundException" in alert["Message"]
    assert f"make redrive KEY={KEY}" in alert["Message"]
    assert retry.handler({}, lambda_context) == {"started": {}, "gave_up": [], "reconciled": {}}
    assert _alerts(alert_inbox) == []  # nothing retried, nothing announced again


def test_retry_path_gives_up_at_once_on_a_start_refused_for_good_and_alerts_once(
    lambda_context: LambdaContext, alert_inbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    obj = InputObject("inbound-bucket", "hit_data.tsv", "e1", "v1")
    now = datetime.now(UTC)
    _ledger().claim_new(obj, now.date(), now)
    _ledger().release(obj, "ConcurrentRunsExceededException: busy", now, now - timedelta(seconds=1))  # due
    monkeypatch.setenv("GLUE_JOB_NAME", "no-such-job")
    retry._deps.cache_clear()
    assert retry.handler({}, lambda_context)["gave_up"] == [KEY]
    alert = _given_up_on_missing_job_with_one_alert(alert_inbox)
    assert "Runs before: 0" in alert["Message"]
    assert retry.handler({}, lambda_context)["gave_up"] == []
    assert _alerts(alert_inbox) == []


def _due_input() -> InputObject:
    """An input the retry path should start now: released by an earlier busy start, its backoff over."""
    obj = InputObject("inbound-bucket", "hit_data.tsv", "e1", "v1")
    now = datetime.now(UTC)
    _ledger().claim_new(obj, now.date(), now)
    _ledger().release(obj, "ConcurrentRunsExceededException: busy", now, now - timedelta(seconds=1))
    return obj


@pytest.mark.usefixtures("runs_stay_running")
def test_the_retry_path_logs_each_start_once_with_its_key_and_run_id(
    lambda_context: LambdaContext, package_records: list[logging.LogRecord]
) -> None:
    from moto.moto_api import state_manager

    # The handler writes each outcome once, as JSON with the input key; the control plane returns
    # outcomes and logs nothing (in Lambda its records would bypass the handler's JSON stream).
    glue = boto3.client("glue")
    obj = _due_input()
    for _ in range(2):  # MaxConcurrentRuns is 2: the next start is refused for now
        glue.start_job_run(JobName=JOB_NAME)
    with function_logs(retry) as lines:
        retry.handler({}, lambda_context)
        [released] = [line for line in lines() if line.get("input_key") == KEY]
        assert (released["level"], released["message"]) == ("WARNING", "glue run not started; left for the next pass")
        assert released["error"].startswith("ConcurrentRunsExceededException")
        now = datetime.now(UTC)
        assert _ledger().claim(_item(), now)  # due again at once, as after its backoff
        _ledger().release(obj, "ConcurrentRunsExceededException: busy", now, now - timedelta(seconds=1))
        state_manager.unset_transition(model_name="glue::job_run")  # the blocking runs finish
        started = retry.handler({}, lambda_context)["started"]
        [line] = [line for line in lines() if line.get("input_key") == KEY and line["level"] == "INFO"]
    assert (line["message"], line["run_id"]) == ("glue run started", started[KEY])
    assert [record.name for record in package_records] == []


def test_keys_appended_in_an_earlier_invocation_do_not_reach_the_next(lambda_context: LambdaContext) -> None:
    retry.logger.append_keys(input_key="stale.tsv")  # as a warm container's previous invocation could leave
    with function_logs(retry) as lines:
        retry.handler({}, lambda_context)
        [done] = [line for line in lines() if line["message"] == "retry pass done"]
    assert "input_key" not in done


def _refused_publish(sns: object) -> Stubber:
    """The next SNS publish fails, as under throttling or while the topic's KMS key is unavailable."""
    stub = Stubber(sns)
    stub.add_client_error("publish", service_error_code="Throttling", http_status_code=400)
    return stub


def test_an_alert_whose_publish_fails_is_held_and_sent_once_by_the_retry_path(
    lambda_context: LambdaContext, alert_inbox: str, alert_topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLUE_JOB_NAME", "no-such-job")  # Glue refuses the start for good: GAVE_UP + alert
    for module in (trigger, retry):
        module._deps.cache_clear()
    event = via_queue(upload_event())
    with _refused_publish(trigger._deps()[3]), pytest.raises(AlertNotPublishedError):
        trigger.handler(event, lambda_context)
    assert trigger.handler(event, lambda_context) == {"batchItemFailures": []}  # the queue's redelivery
    held = _item().held_alert
    assert (_item().status, _alerts(alert_inbox)) == (GAVE_UP, [])  # recorded, nothing published yet
    assert held is not None
    assert held.subject == "Search keyword job GAVE UP: hit_data.tsv"
    retry.handler({}, lambda_context)
    assert (_alerts(alert_inbox), _item().held_alert) == ([], held)  # within the grace time: its publisher's turn
    # Later (held before the grace time): the retry pass sends it once and drops it.
    _ledger().hold_alert(KEY, _item().sk, held.subject, held.body, datetime.now(UTC) - ALERT_GRACE)
    retry.handler({}, lambda_context)
    [alert] = _alerts(alert_inbox)
    assert (alert["Subject"], alert["Message"]) == (held.subject, held.body)
    assert _item().held_alert is None
    retry.handler({}, lambda_context)
    assert _alerts(alert_inbox) == []


def test_a_run_end_alert_whose_publish_fails_is_not_lost_when_the_event_is_retried(
    lambda_context: LambdaContext, alert_inbox: str, alert_topic: str
) -> None:
    run_id = _start(lambda_context)
    event = _end_event(run_id, "FAILED", "boom")
    with _refused_publish(tracker._deps()[2]), pytest.raises(AlertNotPublishedError):
        tracker.handler(event, lambda_context)
    assert tracker.handler(event, lambda_context)["published"] is None  # Lambda's retry: already recorded
    assert (_item().status, _alerts(alert_inbox)) == (FAILED, [])
    sent = send_held_alerts(boto3.client("sns"), alert_topic, _ledger(), datetime.now(UTC) + ALERT_GRACE)
    assert (list(sent.published), sent.failed) == ([KEY], {})
    [alert] = _alerts(alert_inbox)
    assert alert["Subject"] == "Search keyword job FAILED, will retry: hit_data.tsv"
    assert (
        send_held_alerts(boto3.client("sns"), alert_topic, _ledger(), datetime.now(UTC) + ALERT_GRACE).published == {}
    )


def test_a_published_alert_is_not_held(lambda_context: LambdaContext, alert_inbox: str) -> None:
    run_id = _start(lambda_context)
    assert tracker.handler(_end_event(run_id, "FAILED", "boom"), lambda_context)["published"] is not None
    assert len(_alerts(alert_inbox)) == 1
    assert _item().held_alert is None


def test_one_failed_publish_in_a_retry_pass_leaves_every_alert_of_the_pass_held_or_sent(
    lambda_context: LambdaContext, alert_inbox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    for key in ("a.tsv", "b.tsv"):  # two inputs due for a start that Glue will refuse for good
        obj = InputObject("inbound-bucket", key, "e1", "v1")
        _ledger().claim_new(obj, now.date(), now)
        _ledger().release(obj, "ConcurrentRunsExceededException: busy", now, now - timedelta(seconds=1))
    monkeypatch.setenv("GLUE_JOB_NAME", "no-such-job")
    retry._deps.cache_clear()
    with Stubber(retry._deps()[2]) as sns:  # the pass's first publish fails, its second succeeds
        sns.add_client_error("publish", service_error_code="KMSThrottlingException", http_status_code=400)
        sns.add_response("publish", {"MessageId": "second"})
        with pytest.raises(AlertNotPublishedError) as refused:
            retry.handler({}, lambda_context)
        sns.assert_no_pending_responses()  # the other input's alert was published all the same
    items = {key: _ledger().find(f"s3://inbound-bucket/{key}")[0] for key in ("a.tsv", "b.tsv")}
    assert {item.status for item in items.values()} == {GAVE_UP}
    [held_key] = [key for key, item in items.items() if item.held_alert is not None]
    assert f"s3://inbound-bucket/{held_key}" in str(refused.value)
    held = items[held_key].held_alert
    assert held is not None
    _ledger().hold_alert(f"s3://inbound-bucket/{held_key}", "etag#e1", held.subject, held.body, now - ALERT_GRACE)
    retry.handler({}, lambda_context)  # a later pass
    [alert] = _alerts(alert_inbox)
    assert alert["Subject"] == f"Search keyword job GAVE UP: {held_key}"


def test_the_grace_time_outlasts_every_function_timeout() -> None:
    from local_flow.templates import load_template

    resources = load_template("cf_app_infra_stack_2.yml")["Resources"].values()
    timeouts = [res["Properties"]["Timeout"] for res in resources if res["Type"] == "AWS::Lambda::Function"]
    assert len(timeouts) == 4
    assert max(timeouts) < ALERT_GRACE.total_seconds()


def test_a_refused_publish_in_the_trigger_does_not_hold_back_the_next_upload_of_the_batch(
    lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GLUE_JOB_NAME", "no-such-job")  # each start refused for good: GAVE_UP + alert
    trigger._deps.cache_clear()
    batch = via_queue(upload_event(key="a.tsv"), upload_event(key="b.tsv"))
    with Stubber(trigger._deps()[3]) as sns:
        sns.add_client_error("publish", service_error_code="Throttling", http_status_code=400)
        sns.add_response("publish", {"MessageId": "second"})
        with pytest.raises(AlertNotPublishedError, match=r"a\.tsv"):
            trigger.handler(batch, lambda_context)
        sns.assert_no_pending_responses()  # b.tsv was handled and announced in the same invocation
    a, b = (_ledger().find(f"s3://inbound-bucket/{key}")[0] for key in ("a.tsv", "b.tsv"))
    assert (a.status, b.status) == (GAVE_UP, GAVE_UP)
    assert (a.held_alert is not None, b.held_alert) == (True, None)
