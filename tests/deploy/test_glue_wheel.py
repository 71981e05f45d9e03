"""The Glue wheel is complete: alone, with its declared dependencies, beside nothing but PySpark.

Glue 5.0 brings PySpark (and awsglue, boto3); everything else the job script needs must come from the
wheel `make package` builds and what that wheel declares. The check installs the wheel into a fresh
folder, runs a venv holding only the pinned PySpark and py4j, and imports every `search_revenue`
module the Glue script names, plus the whole report half the wheel exists for.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import subprocess
from pathlib import Path
from typing import Final

import pytest

from deploy.package import GLUE_SCRIPT, pinned
from tests.deploy.runtimes import ROOT, clean_venv, isolated_env

PACKAGE: Final = "search_revenue"
SAMPLE: Final = ROOT / "data" / "hit_data.tsv"

# Runs inside the clean venv: the wheel's folder first, then import and use what the script uses.
PROBE: Final = """
import importlib, json, pkgutil, sys
from datetime import date
from pathlib import Path
wheel_dir, sample, out, names = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
sys.path.insert(0, wheel_dir)
import search_revenue, search_revenue.report
assert search_revenue.__file__.startswith(wheel_dir), search_revenue.__file__
for module, attributes in names.items():
    imported = importlib.import_module(module)
    for attribute in attributes:
        getattr(imported, attribute)
for info in pkgutil.walk_packages(search_revenue.report.__path__, "search_revenue.report."):
    importlib.import_module(info.name)
from search_revenue.report.performance import SearchKeywordPerformance
SearchKeywordPerformance(run_date=date(2026, 11, 21)).run(sample, Path(out), engine="stream")
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in ("search_revenue", "tldextract"))))
"""


def script_imports(script: Path) -> dict[str, list[str]]:
    """Every `search_revenue` module the script imports (at the top or inside functions), with the names it takes."""
    imports: dict[str, list[str]] = {}
    for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == PACKAGE:
            imports.setdefault(node.module, []).extend(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            imports.update({alias.name: [] for alias in node.names if alias.name.split(".")[0] == PACKAGE})
    return imports


@pytest.fixture(scope="module")
def spark_only_python() -> Path:
    """A venv with the pinned PySpark and the py4j it pins, nothing else; cached across runs by those pins."""
    py4j = next(req for req in importlib.metadata.requires("pyspark") or [] if req.startswith("py4j=="))
    return clean_venv("glue-spark-only", [pinned("pyspark"), py4j])


@pytest.fixture(scope="module")
def wheel_with_dependencies(dist: Path, spark_only_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel and what it declares, installed by the clean venv's pip into a folder of their own."""
    manifest = json.loads((dist / "manifest.json").read_text())
    target = tmp_path_factory.mktemp("glue-wheel")
    command = [str(spark_only_python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--target",
               str(target), str(dist / manifest["PackageWheelKey"])]  # fmt: skip
    completed = subprocess.run(command, env=isolated_env(), capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr
    return target


def test_script_imports_are_found() -> None:
    imports = script_imports(GLUE_SCRIPT)
    assert "search_revenue.report.performance" in imports
    assert "search_revenue.report.spark_session" in imports  # imported inside a function
    assert "SearchKeywordPerformance" in imports["search_revenue.report.performance"]


def test_glue_wheel_alone_runs_what_the_glue_script_uses(
    spark_only_python: Path, wheel_with_dependencies: Path, tmp_path: Path
) -> None:
    listed = subprocess.run([str(spark_only_python), "-E", "-s", "-m", "pip", "list", "--format=json"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert {package["name"].lower() for package in json.loads(listed)} <= {"pyspark", "py4j", "pip", "setuptools"}
    out = tmp_path / "out"
    command = [str(spark_only_python), "-E", "-s", "-c", PROBE, str(wheel_with_dependencies), str(SAMPLE), str(out),
               json.dumps(script_imports(GLUE_SCRIPT))]  # fmt: skip
    completed = subprocess.run(command, env=isolated_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300,
                               check=False)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    loaded = json.loads(completed.stdout.splitlines()[-1])
    assert "tldextract" in loaded
    assert "search_revenue.report.spark_engine" in loaded
    report = (out / "2026-11-21_SearchKeywordPerformance.tab").read_text().splitlines()
    assert report[1:] == ["google.com\tipod\t480.00", "bing.com\tzune\t250.00"]
