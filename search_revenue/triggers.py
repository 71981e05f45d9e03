"""From an S3 object-created event to a Glue job run: pure parsing, and one boto3 call."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import unquote_plus

from search_revenue.lambda_config import TriggerConfig

log = logging.getLogger(__name__)

OBJECT_CREATED_PREFIX: Final = "ObjectCreated:"
INPUT_URI_ARGUMENT: Final = "--input_uri"


class GlueStarter(Protocol):
    """The one Glue call the trigger makes (a boto3 Glue client satisfies it)."""

    def start_job_run(self, *, JobName: str, Arguments: Mapping[str, str]) -> Mapping[str, Any]: ...  # noqa: N803


@dataclass(frozen=True, slots=True)
class UploadedObject:
    """An object the file gateway wrote to the inbound bucket."""

    bucket: str
    key: str

    @property
    def uri(self) -> str:
        """The object's `s3://` URI, as the Glue job reads it."""
        return f"s3://{self.bucket}/{self.key}"


def uploaded_objects(event: Mapping[str, Any]) -> Iterator[UploadedObject]:
    """Read the created objects of an S3 notification; keys arrive form-encoded (`+`, `%XX`)."""
    for record in event.get("Records", []):
        if not str(record.get("eventName", "")).startswith(OBJECT_CREATED_PREFIX):
            continue
        s3 = record["s3"]
        yield UploadedObject(bucket=s3["bucket"]["name"], key=unquote_plus(s3["object"]["key"], encoding="utf-8"))


def is_data_key(key: str, config: TriggerConfig) -> bool:
    """Tell whether an uploaded key is a hit data file the job should process."""
    name = key.rsplit("/", 1)[-1]
    if not name or name.startswith("."):  # folders and hidden files (e.g. a gateway's temp files)
        return False
    return key.startswith(config.inbound_prefix) and name.lower().endswith(config.data_suffixes)


def start_run(glue: GlueStarter, config: TriggerConfig, uploaded: UploadedObject) -> str:
    """Start one Glue job run for an uploaded data file and return its run id."""
    response = glue.start_job_run(JobName=config.glue_job_name, Arguments={INPUT_URI_ARGUMENT: uploaded.uri})
    run_id = str(response["JobRunId"])
    log.info("glue run started", extra={"run_id": run_id, "input_key": uploaded.key})
    return run_id
