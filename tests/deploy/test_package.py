"""`make package`: content-addressed artifacts, and Lambda zips that import on their own."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from deploy.package import package


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("dist")
    package(target)
    return target


def test_manifest_names_every_stack_parameter(dist: Path) -> None:
    manifest = json.loads((dist / "manifest.json").read_text())
    assert set(manifest) == {"PackageWheelKey", "GlueScriptKey", "TriggerZipKey", "NotifierZipKey", "LedgerZipKey",
                             "RetryZipKey"}  # fmt: skip
    for key in manifest.values():
        assert (dist / key).is_file()
    assert manifest["PackageWheelKey"].endswith("/search_revenue-1.0.0-py3-none-any.whl")


HANDLER_KEYS = {"lambda_glue_job_trigger": "TriggerZipKey", "lambda_glue_failure_notification": "NotifierZipKey",
                "lambda_glue_run_ledger": "LedgerZipKey", "lambda_glue_retry": "RetryZipKey"}  # fmt: skip


@pytest.mark.parametrize("handler", sorted(HANDLER_KEYS))
def test_lambda_zip_imports_without_spark_or_tldextract(dist: Path, tmp_path: Path, handler: str) -> None:
    manifest = json.loads((dist / "manifest.json").read_text())
    key = manifest[HANDLER_KEYS[handler]]
    with zipfile.ZipFile(dist / key) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path)
    assert f"{handler}.py" in names
    assert "search_revenue/pipeline/triggers.py" in names
    assert any(name.startswith("aws_lambda_powertools/") for name in names)
    assert not any(name.startswith(("boto3/", "pyspark/", "tests/", "benchmarks/", "search_revenue/report/"))
                   for name in names)  # fmt: skip
    probe = (
        f"import sys, {handler}; "
        "assert 'pyspark' not in sys.modules and 'tldextract' not in sys.modules; "
        f"assert {handler}.__file__.startswith(sys.argv[1]); "
        "import search_revenue; assert search_revenue.__file__.startswith(sys.argv[1])"
    )
    env = {"PYTHONPATH": str(tmp_path), "AWS_DEFAULT_REGION": "us-east-1", "PATH": "/usr/bin:/bin"}
    # cwd is the unpacked zip: `python -c` puts the working directory first on sys.path.
    completed = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], env=env, cwd=tmp_path,
                               capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
