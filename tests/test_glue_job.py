"""The Glue entry script runs locally on plain Spark with Glue-style arguments."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from search_revenue.errors import ConfigError
from search_revenue.report.job_config import JobConfig
from tests.conftest import ROOT, SAMPLE

SCRIPT = ROOT / "glue_jobs" / "search_revenue_glue_job.py"


def test_glue_script_writes_dated_outputs(tmp_path: Path) -> None:
    arguments = ["--input_uri", str(SAMPLE), "--output_uri", str(tmp_path), "--run_date", "2026-11-21",
                 "--JOB_RUN_ID", "jr_test", "--attribution", "last", "--input_version", "v42"]  # fmt: skip
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
    assert started["run_id"] == "jr_test"
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
