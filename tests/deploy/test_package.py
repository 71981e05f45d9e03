"""`make package`: content-addressed artifacts, and Lambda zips that import on their own."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from deploy.package import (
    ROOT,
    build_wheel,
    lambda_platform,
    lambda_runtime,
    pinned_versions,
    runtime_python_version,
    unpinned_distributions,
)
from local_flow.templates import load_template
from search_revenue.report.spark_jvm_rules import HIT_LINES_JAR


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


def test_lambda_zips_carry_powertools_dependencies_at_their_pins(dist: Path) -> None:
    manifest = json.loads((dist / "manifest.json").read_text())
    pins = pinned_versions()
    for key in HANDLER_KEYS.values():
        with zipfile.ZipFile(dist / manifest[key]) as archive:
            names = archive.namelist()
        carried = {name.split("/")[0].removesuffix(".dist-info") for name in names if ".dist-info/" in name}
        assert {entry.rpartition("-")[0].lower().replace("_", "-") for entry in carried} == {
            "aws-lambda-powertools", "jmespath", "typing-extensions"}  # fmt: skip
        for entry in carried:
            name, _, version = entry.rpartition("-")
            assert pins[name.lower().replace("_", "-")] == version
        assert not any(name.startswith("bin/") for name in names)


def test_lambda_runtime_comes_from_the_template() -> None:
    functions = {name: res["Properties"]["Runtime"] for name, res in load_template("cf_app_infra_stack_2.yml")[
        "Resources"].items() if res["Type"] == "AWS::Lambda::Function"}  # fmt: skip
    assert set(functions.values()) == {lambda_runtime()}
    assert runtime_python_version(lambda_runtime()) == lambda_runtime().removeprefix("python")
    mixed = {"Resources": {
        "A": {"Type": "AWS::Lambda::Function", "Properties": {"Runtime": "python3.13"}},
        "B": {"Type": "AWS::Lambda::Function", "Properties": {"Runtime": "python3.12"}},
    }}  # fmt: skip
    with pytest.raises(SystemExit, match=r"expected one Lambda runtime, found \['python3.12', 'python3.13'\]"):
        lambda_runtime(mixed)
    with pytest.raises(SystemExit, match="not a managed Python runtime"):
        runtime_python_version("nodejs22.x")


def test_unpinned_lambda_dependency_is_refused(tmp_path: Path) -> None:
    (tmp_path / "typing_extensions-4.16.0.dist-info").mkdir()
    (tmp_path / "jmespath-0.9.0.dist-info").mkdir()
    (tmp_path / "surprise_dep-0.1.dist-info").mkdir()
    assert unpinned_distributions(tmp_path) == {"jmespath": "0.9.0", "surprise-dep": "0.1"}


def test_wheel_holds_exactly_the_source_tree(tmp_path: Path) -> None:
    stale = ROOT / "build" / "lib" / "search_revenue" / "left_from_an_earlier_build.py"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("")  # what setuptools' in-tree build/lib keeps after a module is deleted
    try:
        wheel = build_wheel(tmp_path)
    finally:
        stale.unlink()
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if name.startswith("search_revenue/")}
    sources = {str(path.relative_to(ROOT)) for path in (ROOT / "search_revenue").rglob("*.py")}
    # The Spark engine's JVM functions travel as the built jar; their Java sources stay home.
    assert shipped == sources | {str(HIT_LINES_JAR.relative_to(ROOT))}


def test_wheel_is_not_built_without_the_jar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("deploy.package.HIT_LINES_JAR", tmp_path / "absent.jar")
    with pytest.raises(SystemExit, match="make jar"):
        build_wheel(tmp_path)


def test_lambda_wheels_are_for_the_functions_architecture() -> None:
    def functions(*architectures: list[str] | None) -> dict[str, Any]:
        properties = [{"Runtime": "python3.13"} | ({"Architectures": arch} if arch else {}) for arch in architectures]
        return {"Resources": {f"F{i}": {"Type": "AWS::Lambda::Function", "Properties": props}
                              for i, props in enumerate(properties)}}  # fmt: skip

    assert lambda_platform() == "manylinux2014_x86_64"  # stack 2 leaves the default
    assert lambda_platform(functions(["arm64"], ["arm64"])) == "manylinux2014_aarch64"
    with pytest.raises(SystemExit, match="one Lambda architecture"):
        lambda_platform(functions(["arm64"], None))


def test_setup_builds_the_jar_when_a_java_source_changes() -> None:
    # make expands a rule's prerequisites as it reads the rule: a jar variable defined further
    # down would leave `setup` without the jar, and a fresh clone's tests without the engine.
    source = next((ROOT / "search_revenue" / "report" / "jvm" / "searchrevenue").glob("*.java"))
    plan = subprocess.run(
        ["make", "--dry-run", "--what-if", str(source.relative_to(ROOT)), "setup"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert any(line.startswith("javac ") for line in plan.stdout.splitlines())
    assert f"--file {HIT_LINES_JAR.relative_to(ROOT)}" in plan.stdout
