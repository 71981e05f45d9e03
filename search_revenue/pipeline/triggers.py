"""From an S3 object-created event to a Glue job run, through the run ledger, once the object has settled.

S3 notifications reach the trigger through an SQS queue whose delivery delay is the settle time,
so by the time an event is handled its version has either stayed current for that long (it runs)
or been replaced (it is recorded as superseded and starts nothing).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from search_revenue.pipeline.config import TriggerConfig
from search_revenue.pipeline.ledger import DELETED, GAVE_UP, InputObject, Ledger
from search_revenue.pipeline.runs import RefusedStart, start_claimed

OBJECT_CREATED_PREFIX: Final = "ObjectCreated:"
Decision = Literal["started", "released", "gave_up", "duplicate", "ignored", "superseded", "unsettled"]
Settling = Literal["settled", "superseded", "unsettled"]
NOT_FOUND_CODES: Final = ("404", "NoSuchKey", "NotFound")
BATCH_ITEM_FAILURES: Final = "batchItemFailures"
ITEM_IDENTIFIER: Final = "itemIdentifier"


@dataclass(frozen=True, slots=True)
class UploadedObject:
    """An object the file gateway wrote to the inbound bucket."""

    bucket: str
    key: str
    etag: str = ""
    version_id: str | None = None

    def as_input(self) -> InputObject:
        """The ledger's view of this upload: the object and its content."""
        return InputObject(self.bucket, self.key, self.etag, self.version_id)


@dataclass(frozen=True, slots=True)
class CurrentObject:
    """What the key holds now (`HeadObject` without a version)."""

    version_id: str | None
    etag: str
    last_modified: datetime


@dataclass(frozen=True, slots=True)
class TriggerOutcome:
    """What the trigger did with one uploaded object."""

    key: str
    decision: Decision
    run_id: str | None = None
    error: str | None = None  # Glue's refusal, when released or given up
    refused: RefusedStart | None = None  # what to announce, when given up


def uploaded_objects(event: Mapping[str, Any]) -> Iterator[UploadedObject]:
    """Read the created objects of an S3 notification; keys arrive form-encoded (`+`, `%XX`)."""
    for record in event.get("Records", []):
        if not str(record.get("eventName", "")).startswith(OBJECT_CREATED_PREFIX):
            continue
        s3 = record["s3"]
        obj = s3["object"]
        yield UploadedObject(
            bucket=s3["bucket"]["name"],
            key=unquote_plus(obj["key"], encoding="utf-8"),
            etag=str(obj.get("eTag", "")).strip('"'),
            version_id=obj.get("versionId"),
        )


def batch_response(handed_back: Iterable[str]) -> dict[str, list[dict[str, str]]]:
    """Lambda's partial batch response for an SQS batch: `batchItemFailures` alone, each message id once.

    Lambda documents no other key, and treats the whole batch as failed when an item's identifier is
    empty, null, under another key name or not a message of the batch: only ids of the batch go in.
    """
    return {BATCH_ITEM_FAILURES: [{ITEM_IDENTIFIER: message_id} for message_id in dict.fromkeys(handed_back)]}


def s3_events_from_sqs(event: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The S3 notifications inside an SQS batch, with each message's id (S3's test event included)."""
    for record in event.get("Records", []):
        yield str(record["messageId"]), json.loads(record["body"])


def settling(uploaded: UploadedObject, current: CurrentObject | None, now: datetime, settle: timedelta) -> Settling:
    """Tell whether an uploaded version may run: still current and unchanged for the settle time."""
    if current is None:
        return "superseded"  # deleted (or renamed away) since the upload
    if uploaded.version_id and current.version_id:
        if current.version_id != uploaded.version_id:
            return "superseded"
    elif current.etag != uploaded.etag:  # an unversioned bucket: only the content tells
        return "superseded"
    return "settled" if current.last_modified <= now - settle else "unsettled"


def current_object(s3: Any, bucket: str, key: str) -> CurrentObject | None:
    """The key's current version, or None when it no longer exists."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if err.response["Error"]["Code"] in NOT_FOUND_CODES:
            return None
        raise
    return CurrentObject(head.get("VersionId"), str(head.get("ETag", "")).strip('"'), head["LastModified"])


def is_data_key(key: str, config: TriggerConfig) -> bool:
    """Tell whether an uploaded key is a hit data file the job should process."""
    name = key.rsplit("/", 1)[-1]
    if not name or name.startswith("."):  # folders and hidden files (e.g. a gateway's temp files)
        return False
    return key.startswith(config.inbound_prefix) and name.lower().endswith(config.data_suffixes)


def handle_upload(
    glue: Any, s3: Any, ledger: Ledger, config: TriggerConfig, uploaded: UploadedObject, now: datetime
) -> TriggerOutcome:
    """Run a settled upload once: claim it in the ledger and start its run.

    A version replaced within the settle time is recorded as superseded; one not yet settled is
    handed back (the queue delivers it again); repeated events or content start nothing. A start Glue
    refuses for good gives the input up (`gave_up`): the caller alerts.
    Powertools' idempotency utility is not used here: it caches a handler's response for a time
    window, while this needs a durable state per input that the retry path and redrive change.
    """
    if not is_data_key(uploaded.key, config):
        return TriggerOutcome(uploaded.key, "ignored")
    obj = uploaded.as_input()
    current = current_object(s3, uploaded.bucket, uploaded.key)
    state = settling(uploaded, current, now, config.settle)
    if state == "superseded":
        successor = DELETED if current is None else (current.version_id or current.etag)
        ledger.record_superseded(obj, successor, now)
        return TriggerOutcome(uploaded.key, "superseded")
    if state == "unsettled":
        return TriggerOutcome(uploaded.key, "unsettled")
    if not ledger.claim_new(obj, now.date(), now):
        ledger.note_version(obj)
        return TriggerOutcome(uploaded.key, "duplicate")
    started = start_claimed(glue, ledger, config.glue_job_name, obj, now.date().isoformat(), now, config.retry_base)
    if started.run_id:
        return TriggerOutcome(uploaded.key, "started", started.run_id)
    if started.status == GAVE_UP:
        refused = RefusedStart(obj.pk, obj.sk, 0, started.error or "")
        return TriggerOutcome(uploaded.key, "gave_up", error=started.error, refused=refused)
    # RECEIVED, or a stale claim the retry path took over meanwhile: either way the retry path has it.
    return TriggerOutcome(uploaded.key, "released", error=started.error)
