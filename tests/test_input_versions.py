"""The Glue job reads exactly the input version it was started for, and fails naming it when it is gone."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from moto import mock_aws

from search_revenue.errors import InputVersionGoneError
from search_revenue.report.input_versions import copy_version, current_version, download_version
from search_revenue.report.job_config import JobConfig
from tests.conftest import ROOT

BUCKET = "inbound-bucket"
URI = f"s3://{BUCKET}/day/hits.tsv"


@pytest.fixture
def two_versions(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """The key holds a second version, uploaded after the run was claimed for the first."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        first = s3.put_object(Bucket=BUCKET, Key="day/hits.tsv", Body=b"claimed version")["VersionId"]
        second = s3.put_object(Bucket=BUCKET, Key="day/hits.tsv", Body=b"newer upload")["VersionId"]
        yield first, second


def _body(key: str) -> bytes:
    return boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()  # type: ignore[no-any-return]


def _glue_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("glue_script", ROOT / "glue_jobs" / "search_revenue_glue_job.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_copy_version_copies_the_claimed_version_not_the_current_one(two_versions: tuple[str, str]) -> None:
    first, _ = two_versions
    copy_version(boto3.client("s3"), URI, first, f"s3://{BUCKET}/staging/jr_1/hits.tsv")
    assert _body("staging/jr_1/hits.tsv") == b"claimed version"


def test_download_version_reads_the_claimed_version(two_versions: tuple[str, str], tmp_path: Path) -> None:
    first, second = two_versions
    download_version(boto3.client("s3"), URI, first, tmp_path / "hits.tsv")
    assert (tmp_path / "hits.tsv").read_bytes() == b"claimed version"
    assert current_version(boto3.client("s3"), URI) == second


@pytest.mark.parametrize("read", ["copy", "download"])
def test_a_version_that_is_gone_fails_naming_it(two_versions: tuple[str, str], tmp_path: Path, read: str) -> None:
    first, _ = two_versions
    s3 = boto3.client("s3")
    s3.delete_object(Bucket=BUCKET, Key="day/hits.tsv", VersionId=first)  # expired or deleted by hand

    def attempt() -> None:
        if read == "copy":
            copy_version(s3, URI, first, f"s3://{BUCKET}/staging/jr_1/hits.tsv")
        else:
            download_version(s3, URI, first, tmp_path / "hits.tsv")

    with pytest.raises(InputVersionGoneError, match=f"{URI}: version {first} is gone"):
        attempt()


def test_glue_run_reads_a_run_scoped_copy_and_removes_it(two_versions: tuple[str, str], tmp_path: Path) -> None:
    first, _ = two_versions
    script = _glue_script()
    config = JobConfig.from_job_args({"input_uri": URI, "output_uri": f"s3://{BUCKET}/outbound",
                                      "JOB_RUN_ID": "jr_7", "input_version": first})  # fmt: skip
    with script.pinned_input(config, first, True, tmp_path) as path:
        assert path == f"s3://{BUCKET}/staging/jr_7/hits.tsv"
        assert _body("staging/jr_7/hits.tsv") == b"claimed version"
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="staging/")
    assert listed.get("KeyCount") == 0


def test_local_run_downloads_the_claimed_version(two_versions: tuple[str, str], tmp_path: Path) -> None:
    first, _ = two_versions
    config = JobConfig.from_job_args({"input_uri": URI, "output_uri": str(tmp_path / "out"), "input_version": first})
    with _glue_script().pinned_input(config, first, False, tmp_path) as path:
        assert Path(path).read_bytes() == b"claimed version"
