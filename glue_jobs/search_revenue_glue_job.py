"""AWS Glue entry point: job arguments -> config -> SearchKeywordPerformance on Spark -> outbound files.

On Glue it runs inside a GlueContext and Job; anywhere else (tests, the local runner) the same
code runs on a plain local SparkSession, since GlueContext needs Glue's own jars.

Arguments: --input_uri (s3://... on Glue, a path locally) --output_uri (s3://bucket/prefix or a
directory) and optional --input_version (the S3 version the run reads, and only that; the current
one when absent) --staging_uri (where the run keeps its copy of that version on Glue)
--run_date --visit_timeout_s --attribution --max_reject_ratio --search_engines.
Outputs go to `<output_uri>/<run date>/<run date>_SearchKeywordPerformance.tab` with the summary
and, when rows were rejected, the rejects file beside it.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext
from pyspark.sql import SparkSession

from search_revenue.logs import configure_json_logging
from search_revenue.outbound import dated_folder
from search_revenue.report.input_versions import (
    copy_version,
    current_version,
    download_version,
    pinned_copy_uri,
    split_s3_uri,
)
from search_revenue.report.job_config import OPTIONAL_JOB_ARGS, REQUIRED_JOB_ARGS, JobConfig
from search_revenue.report.performance import SearchKeywordPerformance
from search_revenue.report.sources import canonical_file_name

log = logging.getLogger("search_revenue.glue_job")
S3_SCHEME = "s3://"
DEFAULT_JOB_NAME = "search-keyword-performance"
# spark-submit (which Glue uses) hands the Python driver its JVM gateway through this variable.
SPARK_SUBMIT_MARKER = "PYSPARK_GATEWAY_PORT"


def resolve_job_args(argv: list[str]) -> dict[str, str]:
    """Read the job arguments; optional ones only when they were passed.

    Glue passes --JOB_ID, --JOB_RUN_ID and --JOB_NAME with every run. getResolvedOptions always
    returns JOB_RUN_ID (JobConfig's run id) and refuses to be asked for it: awsglue declares it
    reserved, and naming it again fails the run before any work.
    """
    present = [name for name in OPTIONAL_JOB_ARGS if f"--{name}" in argv]
    return dict(getResolvedOptions(argv, [*REQUIRED_JOB_ARGS, *present]))


def _runs_on_glue(spark_context: SparkContext) -> bool:
    # py4j answers a missing class with a JavaPackage placeholder, a real one with a JavaClass.
    glue_context_class = spark_context._jvm.com.amazonaws.services.glue.GlueContext  # type: ignore[union-attr]
    return type(glue_context_class).__name__ == "JavaClass"


def start_spark(args: dict[str, str]) -> tuple[SparkSession, Any]:
    """Return the session, and the Glue Job to commit (None when not on Glue)."""
    if SPARK_SUBMIT_MARKER not in os.environ:  # a plain `python` run: tests and the local runner
        from search_revenue.report.spark_session import local_spark_session

        return local_spark_session(), None
    context = SparkContext.getOrCreate()
    if not _runs_on_glue(context):
        return SparkSession.builder.getOrCreate(), None
    from awsglue.context import GlueContext
    from awsglue.job import Job

    glue_context = GlueContext(context)
    job = Job(glue_context)
    job.init(args.get("JOB_NAME", DEFAULT_JOB_NAME), args)
    return glue_context.spark_session, job


def stage_input(input_uri: str, version: str | None, scratch: Path) -> str:
    """Off Glue, download the input's version to local disk and return its path; a local path stays.

    Glue reads S3 natively. A local Spark would need the hadoop-aws and AWS SDK jars for `s3a`;
    one boto3 download (which honours AWS_ENDPOINT_URL, e.g. the local endpoint) is simpler and
    keeps the object's name (its compression suffix lower-cased), so Spark still tells compression by it.
    """
    if not input_uri.startswith(S3_SCHEME):
        return input_uri
    import boto3

    staged = scratch / "input" / canonical_file_name(input_uri.rsplit("/", 1)[-1])
    staged.parent.mkdir(parents=True)
    download_version(boto3.client("s3"), input_uri, version, staged)
    return str(staged)


def staging_location(config: JobConfig) -> str:
    """Where a Glue run copies its input version: the job's --staging_uri, else `staging/` in the output bucket."""
    if config.staging_uri:
        return config.staging_uri
    bucket, _ = split_s3_uri(config.output_uri)
    return f"{S3_SCHEME}{bucket}/staging"


@contextmanager
def pinned_input(config: JobConfig, version: str | None, on_glue: bool, scratch: Path) -> Iterator[str]:
    """The path Spark reads: exactly the run's input version, copied (Glue) or downloaded (elsewhere)."""
    if not (on_glue and config.input_uri.startswith(S3_SCHEME) and version):
        yield stage_input(config.input_uri, version, scratch) if not on_glue else config.input_uri
        return
    import boto3

    s3 = boto3.client("s3")
    copy_uri = pinned_copy_uri(staging_location(config), config.run_id, config.input_uri)
    copy_version(s3, config.input_uri, version, copy_uri)
    try:
        yield copy_uri
    finally:
        bucket, key = split_s3_uri(copy_uri)
        s3.delete_object(Bucket=bucket, Key=key)


def publish(local_dir: Path, folder: str) -> list[str]:
    """Copy the run's files into a folder: an `s3://` prefix on AWS, a directory locally."""
    published = []
    if folder.startswith(S3_SCHEME):
        import boto3

        bucket, _, prefix = folder.removeprefix(S3_SCHEME).partition("/")
        s3 = boto3.client("s3")
        for file in sorted(local_dir.iterdir()):
            key = "/".join(part for part in (prefix, file.name) if part)
            s3.upload_file(Filename=str(file), Bucket=bucket, Key=key)
            published.append(f"{S3_SCHEME}{bucket}/{key}")
        return published
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    for file in sorted(local_dir.iterdir()):
        destination = target / file.name
        file.replace(destination)
        published.append(str(destination))
    return published


def main(argv: list[str]) -> list[str]:
    """Run the job; return the URIs it wrote."""
    configure_json_logging()
    args = resolve_job_args(argv)
    config = JobConfig.from_job_args(args)
    correlation = {"run_id": config.run_id, "input_key": config.input_uri}
    log.info("job started", extra=correlation)
    spark, job = start_spark(args)
    run_date = config.run_date or datetime.now(UTC).date()
    report = SearchKeywordPerformance(config.settings, run_date=run_date)
    try:
        version = config.input_version
        if version is None and config.input_uri.startswith(S3_SCHEME):
            import boto3

            version = current_version(boto3.client("s3"), config.input_uri)  # a run started by hand
        with tempfile.TemporaryDirectory(prefix="search-revenue-") as scratch:
            outputs = Path(scratch) / "outputs"
            with pinned_input(config, version, job is not None, Path(scratch)) as path:
                report.run(path, outputs, engine="spark", spark=spark, source=config.input_uri,
                           source_version=version)  # fmt: skip
            published = publish(outputs, dated_folder(config.output_uri, run_date))
    except Exception:
        log.exception("job failed", extra=correlation)
        raise
    log.info("job succeeded", extra=correlation | {"table": published[0] if published else None})
    if job is not None:
        job.commit()
    return published


if __name__ == "__main__":
    main(sys.argv)
