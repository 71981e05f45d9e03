"""The Glue entry script runs locally on plain Spark with Glue-style arguments."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from awsglue.job import Job

from search_revenue.errors import ConfigError
from search_revenue.report.job_config import OPTIONAL_JOB_ARGS, REQUIRED_JOB_ARGS, JobConfig
from tests.conftest import ROOT, SAMPLE

SCRIPT = ROOT / "glue_jobs" / "search_revenue_glue_job.py"


# What Glue itself puts on the script's command line besides the run's own arguments.
GLUE_RUN_ID = "jr_5e2b4c3d1a0f9e8d7c6b5a4938271605f4e3d2c1b0a9f8e7d6c5b4a39281706f"
GLUE_ARGV = ["--JOB_ID", "j_9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6b5a4938271605f4e3d2c1b0",
             "--JOB_RUN_ID", GLUE_RUN_ID, "--JOB_NAME", "search-keyword-performance",
             "--job-bookmark-option", "job-bookmark-disable",
             "--TempDir", "s3://artifacts/temporary/", "--enable-metrics", "true", "--job-language", "python",
             "--enable-continuous-cloudwatch-log", "true"]  # fmt: skip


def _glue_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("search_revenue_glue_job", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_job_config_takes_the_run_id_glue_passes() -> None:
    argv = [str(SCRIPT), *GLUE_ARGV, "--input_uri", "s3://in/k.tsv", "--output_uri", "s3://out/outbound"]
    config = JobConfig.from_job_args(_glue_script().resolve_job_args(argv))
    assert config.run_id == GLUE_RUN_ID
    assert config.input_uri == "s3://in/k.tsv"


def test_glue_script_asks_for_no_argument_glue_reserves() -> None:
    reserved = {name.removeprefix("--") for name in Job.id_params()[1:]}
    assert reserved >= {"JOB_ID", "JOB_RUN_ID"}
    assert not reserved & {*REQUIRED_JOB_ARGS, *OPTIONAL_JOB_ARGS}


def test_glue_script_writes_dated_outputs(tmp_path: Path) -> None:
    arguments = [*GLUE_ARGV, "--input_uri", str(SAMPLE), "--output_uri", str(tmp_path), "--run_date", "2026-11-21",
                 "--attribution", "last", "--input_version", "v42"]  # fmt: skip
    completed = subprocess.run([sys.executable, str(SCRIPT), *arguments], capture_output=True, text=True,
                               timeout=300, check=False)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    folder = tmp_path / "2026-11-21"
    assert (folder / "2026-11-21_SearchKeywordPerformance.tab").read_text().splitlines()[1:] == [
        "google.com\tipod\t480.00",
        "bing.com\tzune\t250.00",
    ]
    summary = json.loads((folder / "2026-11-21_SearchKeywordPerformance_summary.json").read_text())
    assert summary["input"] == str(SAMPLE)
    assert summary["input_version"] == "v42"
    logs = [json.loads(line) for line in completed.stderr.splitlines() if line.startswith("{")]
    started = next(log for log in logs if log["message"] == "job started")
    assert started["run_id"] == GLUE_RUN_ID
    assert started["input_key"] == str(SAMPLE)


def test_glue_script_fails_on_missing_columns(tmp_path: Path) -> None:
    data = tmp_path / "bad.tsv"
    data.write_text("a\tb\n1\t2\n")
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--input_uri", str(data), "--output_uri", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode != 0
    assert "missing required columns" in completed.stderr
    assert not (tmp_path / "out").exists()


def test_job_config_reads_arguments_and_names_bad_values() -> None:
    config = JobConfig.from_job_args({"input_uri": "s3://in/k.tsv", "output_uri": "s3://out/outbound/",
                                      "visit_timeout_s": "60", "search_engines": "google=q,example=find"})  # fmt: skip
    assert config.output_uri == "s3://out/outbound"
    assert config.settings.visit_timeout_s == 60
    assert dict(config.settings.search_engines) == {"google": "q", "example": "find"}
    with pytest.raises(ConfigError, match="visit_timeout_s: 'soon'"):
        JobConfig.from_job_args({"input_uri": "a", "output_uri": "b", "visit_timeout_s": "soon"})
    with pytest.raises(ConfigError, match="input_uri"):
        JobConfig.from_job_args({"output_uri": "b"})


def test_staged_input_keeps_a_suffix_spark_decompresses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Off Glue the script downloads the claimed version; `HITS.TSV.GZ` must land as `.gz` for Spark.
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="inbound")
        s3.put_bucket_versioning(Bucket="inbound", VersioningConfiguration={"Status": "Enabled"})
        version = s3.put_object(Bucket="inbound", Key="drop/HITS.TSV.GZ", Body=b"gzip bytes")["VersionId"]
        staged = Path(_glue_script().stage_input("s3://inbound/drop/HITS.TSV.GZ", version, tmp_path))
    assert staged.name == "HITS.TSV.gz"
    assert staged.read_bytes() == b"gzip bytes"
