"""From an S3 object-created event to a Glue job run, through the run ledger."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal
from urllib.parse import unquote_plus

from search_revenue.pipeline.config import TriggerConfig
from search_revenue.pipeline.ledger import InputObject, Ledger
from search_revenue.pipeline.runs import start_claimed

log = logging.getLogger(__name__)

OBJECT_CREATED_PREFIX: Final = "ObjectCreated:"
Decision = Literal["started", "released", "duplicate", "ignored"]


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
class TriggerOutcome:
    """What the trigger did with one uploaded object."""

    key: str
    decision: Decision
    run_id: str | None = None


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


def is_data_key(key: str, config: TriggerConfig) -> bool:
    """Tell whether an uploaded key is a hit data file the job should process."""
    name = key.rsplit("/", 1)[-1]
    if not name or name.startswith("."):  # folders and hidden files (e.g. a gateway's temp files)
        return False
    return key.startswith(config.inbound_prefix) and name.lower().endswith(config.data_suffixes)


def handle_upload(
    glue: Any, ledger: Ledger, config: TriggerConfig, uploaded: UploadedObject, now: datetime
) -> TriggerOutcome:
    """Claim a new upload in the ledger and start its run; a repeated event or content starts nothing.

    Powertools' idempotency utility is not used here: it caches a handler's response for a time
    window, while this needs a durable state per input that the retry path and redrive change.
    """
    if not is_data_key(uploaded.key, config):
        return TriggerOutcome(uploaded.key, "ignored")
    obj = uploaded.as_input()
    if not ledger.claim_new(obj, now.date(), now):
        log.info("duplicate upload; no new run", extra={"input_key": uploaded.key})
        return TriggerOutcome(uploaded.key, "duplicate")
    run_id = start_claimed(glue, ledger, config.glue_job_name, obj, now.date().isoformat(), now)
    return TriggerOutcome(uploaded.key, "started" if run_id else "released", run_id)
