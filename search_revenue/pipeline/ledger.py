"""The run ledger: one DynamoDB item per input file content, so no file is lost or run twice.

An item is keyed by the object (`pk` = s3://bucket/key) and its content (`sk` = ETag). Keying
on content rather than the version id is deliberate: the file gateway may upload an unchanged
file again, which a versioned bucket stores as a new version; that must not start a second run,
while a changed file (new ETag) must. The version id is kept on the item and passed to the job.

Statuses: RECEIVED (waiting for a start), STARTING (claimed by one caller), RUNNING, SUCCEEDED,
FAILED (may be retried), GAVE_UP (retries exhausted, or a start Glue refused for good). Every change
is a conditional write, so of any number of concurrent callers exactly one wins a transition.

A version that was replaced before it settled never gets a content item: it is recorded as its own
item (`sk` = version#<id>, status SUPERSEDED, `superseded_by` its successor), so the history of a
key shows every version the pipeline saw, including those it rightly did not run.

An alert that follows a transition is held on the item (`alert_subject`, `alert_body`,
`alert_held_at`) until SNS has accepted it, so a failed publish leaves it for the retry path.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from botocore.exceptions import ClientError

RECEIVED: Final = "RECEIVED"
STARTING: Final = "STARTING"
RUNNING: Final = "RUNNING"
SUCCEEDED: Final = "SUCCEEDED"
FAILED: Final = "FAILED"
GAVE_UP: Final = "GAVE_UP"
SUPERSEDED: Final = "SUPERSEDED"
STATUSES: Final = (RECEIVED, STARTING, RUNNING, SUCCEEDED, FAILED, GAVE_UP, SUPERSEDED)
CONTENT_PREFIX: Final = "etag#"
VERSION_PREFIX: Final = "version#"
DELETED: Final = "(deleted)"
STATUS_INDEX: Final = "by_status"
CONDITION_FAILED: Final = "ConditionalCheckFailedException"
RETRY_BASE: Final = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class InputObject:
    """One uploaded input file's content, as the ledger knows it."""

    bucket: str
    key: str
    etag: str
    version_id: str | None = None

    @property
    def pk(self) -> str:
        """The ledger partition key: the object."""
        return f"s3://{self.bucket}/{self.key}"

    @property
    def sk(self) -> str:
        """The ledger sort key: the object's content."""
        return f"{CONTENT_PREFIX}{self.etag}"

    @property
    def uri(self) -> str:
        """The object's URI, as the Glue job reads it."""
        return self.pk


@dataclass(frozen=True, slots=True)
class HeldAlert:
    """An alert SNS has not accepted yet, kept on its item."""

    subject: str
    body: str
    held_at: str


@dataclass(frozen=True, slots=True)
class LedgerItem:
    """One item as read back."""

    pk: str
    sk: str
    status: str
    attempts: int
    updated_at: str
    run_date: str
    glue_run_id: str | None = None
    version_id: str | None = None
    next_attempt_at: str | None = None
    output_key: str | None = None
    last_error: str | None = None
    superseded_by: str | None = None
    versions_seen: tuple[str, ...] = ()
    received_at: str | None = None
    held_alert: HeldAlert | None = None

    @property
    def input(self) -> InputObject:
        """The input file of this item."""
        bucket, _, key = self.pk.removeprefix("s3://").partition("/")
        return InputObject(bucket, key, self.sk.removeprefix(CONTENT_PREFIX), self.version_id)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> LedgerItem:
        """Read a DynamoDB item (low-level attribute values)."""
        values = {name: next(iter(value.values())) for name, value in item.items()}
        return cls(
            pk=values["pk"], sk=values["sk"], status=values["status"], attempts=int(values.get("attempts", 0)),
            updated_at=values["updated_at"], run_date=values["run_date"], glue_run_id=values.get("glue_run_id"),
            version_id=values.get("version_id"), next_attempt_at=values.get("next_attempt_at"),
            output_key=values.get("output_key"), last_error=values.get("last_error"),
            superseded_by=values.get("superseded_by"), versions_seen=tuple(sorted(values.get("versions_seen", ()))),
            received_at=values.get("received_at"),
            held_alert=HeldAlert(values["alert_subject"], values["alert_body"], values["alert_held_at"])
            if "alert_held_at" in values else None,
        )  # fmt: skip


def backoff(attempts: int, base: timedelta = RETRY_BASE) -> timedelta:
    """Wait before the next attempt: 15, 30, 60 minutes... after 1, 2, 3 attempts (with the default base)."""
    return timedelta(seconds=base.total_seconds() * 2 ** max(attempts - 1, 0))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class Ledger:
    """Conditional reads and writes of the run ledger table (a boto3 DynamoDB client is passed in)."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._dynamodb = dynamodb
        self._table = table

    def claim_new(self, obj: InputObject, run_date: date, now: datetime) -> bool:
        """Record a new input as STARTING; False when this content was seen before (a duplicate)."""
        item: dict[str, dict[str, Any]] = {
            "pk": {"S": obj.pk}, "sk": {"S": obj.sk}, "status": {"S": STARTING}, "attempts": {"N": "0"},
            "received_at": {"S": _iso(now)}, "updated_at": {"S": _iso(now)}, "run_date": {"S": run_date.isoformat()},
        }  # fmt: skip
        if obj.version_id:
            item["version_id"] = {"S": obj.version_id}
            item["versions_seen"] = {"SS": [obj.version_id]}
        return self._conditional(
            self._dynamodb.put_item, TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )

    def note_version(self, obj: InputObject) -> None:
        """Add a version of already-known content to its item's versions seen (status and times untouched)."""
        if not obj.version_id:
            return
        # updated_at is left alone on purpose: claims compare it, and a duplicate must not disturb one.
        self._conditional(self._dynamodb.update_item, TableName=self._table,
                          Key={"pk": {"S": obj.pk}, "sk": {"S": obj.sk}}, UpdateExpression="ADD versions_seen :v",
                          ConditionExpression="attribute_exists(pk)",
                          ExpressionAttributeValues={":v": {"SS": [obj.version_id]}})  # fmt: skip

    def record_superseded(self, obj: InputObject, successor: str, now: datetime) -> bool:
        """Record a version replaced before it settled (it starts no run); False when already recorded."""
        item = {
            "pk": {"S": obj.pk}, "sk": {"S": f"{VERSION_PREFIX}{obj.version_id or obj.etag}"},
            "status": {"S": SUPERSEDED}, "attempts": {"N": "0"}, "etag": {"S": obj.etag},
            "superseded_by": {"S": successor}, "received_at": {"S": _iso(now)}, "updated_at": {"S": _iso(now)},
            "run_date": {"S": now.date().isoformat()},
        }  # fmt: skip
        if obj.version_id:
            item["version_id"] = {"S": obj.version_id}
        return self._conditional(
            self._dynamodb.put_item, TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )

    def claim(self, item: LedgerItem, now: datetime) -> bool:
        """Move an item seen in some status to STARTING; False when someone else moved it first."""
        return self._update(item.pk, item.sk, now, "SET #status = :to", expected=(item.status, item.updated_at),
                            values={":to": STARTING})  # fmt: skip

    def mark_running(self, obj: InputObject, run_id: str, now: datetime) -> None:
        """A Glue run started for the claimed input."""
        self._update(obj.pk, obj.sk, now, "SET #status = :to, glue_run_id = :run ADD attempts :one",
                     expected=(STARTING, None), values={":to": RUNNING, ":run": run_id, ":one": 1})  # fmt: skip

    def release(self, obj: InputObject, error: str, now: datetime, retry_at: datetime) -> None:
        """The start failed (throttled or refused): leave the input RECEIVED for the retry path."""
        values = {":to": RECEIVED, ":error": error, ":at": _iso(retry_at)}
        expression = "SET #status = :to, last_error = :error, next_attempt_at = :at"
        self._update(obj.pk, obj.sk, now, expression, expected=(STARTING, None), values=values)

    def give_up_start(self, obj: InputObject, error: str, now: datetime) -> bool:
        """Glue refused the start for good: GAVE_UP with its error, once; False when the claim was lost."""
        return self._update(obj.pk, obj.sk, now, "SET #status = :to, last_error = :error REMOVE next_attempt_at",
                            expected=(STARTING, None), values={":to": GAVE_UP, ":error": error})  # fmt: skip

    def record_end(self, pk: str, sk: str, run_id: str, state: str, now: datetime, *, output_key: str | None = None,
                   error: str | None = None, retry_at: datetime | None = None) -> bool:  # fmt: skip
        """Record how a run ended (SUCCEEDED, FAILED or, at the attempt limit, GAVE_UP); stale events change nothing."""
        if state == SUCCEEDED:
            expression = "SET #status = :to, output_key = :out REMOVE last_error"
            values = {":to": SUCCEEDED, ":out": output_key or ""}
        elif state == GAVE_UP:
            expression = "SET #status = :to, last_error = :error REMOVE next_attempt_at"
            values = {":to": GAVE_UP, ":error": error or state}
        else:
            expression = "SET #status = :to, last_error = :error, next_attempt_at = :at"
            values = {":to": FAILED, ":error": error or state, ":at": _iso(retry_at or now)}
        return self._update(pk, sk, now, expression, expected=(RUNNING, None), values=values, run_id=run_id)

    def give_up(self, item: LedgerItem, now: datetime) -> bool:
        """FAILED too often: GAVE_UP, once."""
        return self._update(item.pk, item.sk, now, "SET #status = :to", expected=(FAILED, item.updated_at),
                            values={":to": GAVE_UP})  # fmt: skip

    def reset(self, item: LedgerItem, now: datetime) -> bool:
        """For a redrive: back to RECEIVED with a fresh attempt budget, whatever the status."""
        return self._update(item.pk, item.sk, now, "SET #status = :to, attempts = :zero, next_attempt_at = :now",
                            expected=(item.status, item.updated_at),
                            values={":to": RECEIVED, ":zero": 0, ":now": _iso(now)})  # fmt: skip

    def hold_alert(self, pk: str, sk: str, subject: str, body: str, now: datetime) -> str:
        """Keep an alert on its item until `alert_sent`; returns the hold's time. Status and
        updated_at are left alone: claims compare them."""
        held_at = _iso(now)
        self._dynamodb.update_item(TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": sk}},
                                   UpdateExpression="SET alert_subject = :s, alert_body = :b, alert_held_at = :at",
                                   ConditionExpression="attribute_exists(pk)",
                                   ExpressionAttributeValues={":s": {"S": subject}, ":b": {"S": body},
                                                              ":at": {"S": held_at}})  # fmt: skip
        return held_at

    def alert_sent(self, pk: str, sk: str, held_at: str) -> bool:
        """SNS accepted the alert held at `held_at`: drop it; False when another hold replaced it."""
        return self._conditional(self._dynamodb.update_item, TableName=self._table,
                                 Key={"pk": {"S": pk}, "sk": {"S": sk}},
                                 UpdateExpression="REMOVE alert_subject, alert_body, alert_held_at",
                                 ConditionExpression="alert_held_at = :at",
                                 ExpressionAttributeValues={":at": {"S": held_at}})  # fmt: skip

    def held_alerts(self, held_before: datetime) -> list[LedgerItem]:
        """Items whose alert SNS has not accepted, held before `held_before` (any status an alert follows)."""
        cutoff = _iso(held_before)
        return [item for status in (FAILED, GAVE_UP, RECEIVED, STARTING, RUNNING) for item in self.with_status(status)
                if item.held_alert is not None and item.held_alert.held_at <= cutoff]  # fmt: skip

    def with_status(self, status: str) -> Iterator[LedgerItem]:
        """Every item in one status (the status index)."""
        paginator = self._dynamodb.get_paginator("query")
        pages = paginator.paginate(TableName=self._table, IndexName=STATUS_INDEX,
                                   KeyConditionExpression="#status = :status",
                                   ExpressionAttributeNames={"#status": "status"},
                                   ExpressionAttributeValues={":status": {"S": status}})  # fmt: skip
        for page in pages:
            # The index projects every attribute; a stale read is harmless, each claim is conditional.
            yield from (LedgerItem.from_item(item) for item in page["Items"])

    def recent(self, limit: int | None = 20) -> list[LedgerItem]:
        """The most recently changed items (every item when limit is None)."""
        items = [LedgerItem.from_item(i) for p in self._dynamodb.get_paginator("scan").paginate(TableName=self._table)
                 for i in p["Items"]]  # fmt: skip
        return sorted(items, key=lambda item: item.updated_at, reverse=True)[:limit]

    def find(self, pk: str) -> list[LedgerItem]:
        """Every content version of one input key."""
        response = self._dynamodb.query(TableName=self._table, KeyConditionExpression="pk = :pk",
                                        ExpressionAttributeValues={":pk": {"S": pk}})  # fmt: skip
        return [LedgerItem.from_item(item) for item in response["Items"]]

    def get(self, pk: str, sk: str) -> LedgerItem | None:
        """One item, read consistently."""
        response = self._dynamodb.get_item(TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": sk}},
                                           ConsistentRead=True)  # fmt: skip
        return LedgerItem.from_item(response["Item"]) if "Item" in response else None

    def _update(self, pk: str, sk: str, now: datetime, expression: str, *, expected: tuple[str, str | None],
                values: Mapping[str, Any], run_id: str | None = None) -> bool:  # fmt: skip
        status, updated_at = expected
        condition = "#status = :expected"
        attribute_values = {":expected": {"S": status}, ":now": {"S": _iso(now)}}
        if updated_at is not None:
            condition += " AND updated_at = :seen"
            attribute_values[":seen"] = {"S": updated_at}
        if run_id is not None:
            condition += " AND glue_run_id = :this_run"
            attribute_values[":this_run"] = {"S": run_id}
        for name, value in values.items():
            attribute_values[name] = {"N": str(value)} if isinstance(value, int) else {"S": str(value)}
        return self._conditional(
            self._dynamodb.update_item, TableName=self._table, Key={"pk": {"S": pk}, "sk": {"S": sk}},
            UpdateExpression=expression.replace("SET ", "SET updated_at = :now, ", 1),
            ConditionExpression=condition, ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=attribute_values,
        )  # fmt: skip

    @staticmethod
    def _conditional(call: Any, **arguments: Any) -> bool:
        try:
            call(**arguments)
        except ClientError as err:
            if err.response["Error"]["Code"] == CONDITION_FAILED:
                return False
            raise
        return True
