"""Read exactly the input version a run was started for (issue 10), whatever the key holds meanwhile.

Spark cannot ask S3 for an object version, and the Spark engine reads its input twice. So the Glue
job first copies the claimed version to a run-scoped key and reads only that copy; off Glue the
version is downloaded. A version that is gone fails the run with an error naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from search_revenue.errors import InputNotFoundError, InputVersionGoneError
from search_revenue.report.sources import canonical_file_name

if TYPE_CHECKING:  # botocore is imported where S3 is used: a run on local files needs no AWS SDK
    from botocore.exceptions import ClientError

S3_SCHEME: Final = "s3://"
# S3 answers a missing version with NoSuchVersion, a malformed one with InvalidArgument, and a
# HEAD of either with a bare 404 (or 400); a missing key with NoSuchKey or 404.
GONE_CODES: Final = ("NoSuchVersion", "InvalidArgument", "NoSuchKey", "404", "400", "NotFound")


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Bucket and key of an `s3://bucket/key` URI."""
    bucket, _, key = uri.removeprefix(S3_SCHEME).partition("/")
    return bucket, key


def current_version(s3: Any, uri: str) -> str | None:
    """The version the key holds now (None in an unversioned bucket); for runs started without one."""
    bucket, key = split_s3_uri(uri)
    from botocore.exceptions import ClientError

    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        if err.response["Error"]["Code"] in GONE_CODES:
            raise InputNotFoundError(uri) from err
        raise
    version = head.get("VersionId")
    return None if version in (None, "null") else str(version)


def pinned_copy_uri(staging_uri: str, run_id: str, uri: str) -> str:
    """Where a run keeps its own copy of its input: `<staging>/<run id>/<file name>` (the suffix tells compression)."""
    return f"{staging_uri.rstrip('/')}/{run_id}/{canonical_file_name(uri.rsplit('/', 1)[-1])}"


def copy_version(s3: Any, uri: str, version: str, target_uri: str) -> None:
    """Copy one version of an object to a run-scoped key (in parts when large: `copy` is multipart-aware)."""
    bucket, key = split_s3_uri(uri)
    target_bucket, target_key = split_s3_uri(target_uri)
    from botocore.exceptions import ClientError

    try:
        s3.copy({"Bucket": bucket, "Key": key, "VersionId": version}, target_bucket, target_key)
    except ClientError as err:
        _raise_if_gone(err, uri, version)
        raise


def download_version(s3: Any, uri: str, version: str | None, target: Path) -> None:
    """Download one version of an object (the current one when version is None) to a local file."""
    bucket, key = split_s3_uri(uri)
    extra = {"VersionId": version} if version else None
    from botocore.exceptions import ClientError

    try:
        s3.download_file(Bucket=bucket, Key=key, Filename=str(target), ExtraArgs=extra)
    except ClientError as err:
        if version:
            _raise_if_gone(err, uri, version)
        if err.response["Error"]["Code"] in GONE_CODES:
            raise InputNotFoundError(uri) from err
        raise


def _raise_if_gone(err: ClientError, uri: str, version: str) -> None:
    code = err.response["Error"]["Code"]
    if code in GONE_CODES:
        raise InputVersionGoneError(uri, version, f"S3 answered {code}: deleted, expired or never there") from err
