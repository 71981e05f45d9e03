"""Build what `make deploy` uploads: the package wheel, the Glue script and the Lambda zips.

Every artifact's key carries a hash of its content, so a changed Lambda zip is a new S3 key and
CloudFormation updates the function; an unchanged one deploys as a no-op. `dist/manifest.json`
maps stack 2's parameters to those keys.

    python -m deploy.package [--dist dist]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

# The template loader the local flow and the template tests use: one reading of CloudFormation YAML.
from local_flow.templates import load_template
from search_revenue.report.spark_jvm_rules import HIT_LINES_JAR

ROOT: Final = Path(__file__).resolve().parent.parent
PACKAGE: Final = "search_revenue"
GLUE_SCRIPT: Final = ROOT / "glue_jobs" / "search_revenue_glue_job.py"
LAMBDAS: Final = {
    "TriggerZipKey": ROOT / "lambda_functions" / "lambda_glue_job_trigger.py",
    "NotifierZipKey": ROOT / "lambda_functions" / "lambda_glue_failure_notification.py",
    "LedgerZipKey": ROOT / "lambda_functions" / "lambda_glue_run_ledger.py",
    "RetryZipKey": ROOT / "lambda_functions" / "lambda_glue_retry.py",
}
STACK_2: Final = "cf_app_infra_stack_2.yml"
# The managed Python runtime ships boto3 and its dependencies only; the zips carry everything else,
# Powertools' own dependencies included (its Logger imports typing_extensions at import time).
LAMBDA_REQUIREMENTS: Final = ("aws-lambda-powertools",)
# Lambda's architectures and the wheel platform AWS's Python packaging guide installs for each.
DEFAULT_ARCHITECTURE: Final = "x86_64"
WHEEL_PLATFORMS: Final = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
# A Lambda zip carries the control plane and the shared modules it imports, never the report half.
CONTROL_PLANE: Final = ("__init__.py", "errors.py", "outbound.py", "pipeline")
FIXED_TIME: Final = (2020, 1, 1, 0, 0, 0)  # reproducible zips: same content, same bytes


def pinned(requirement: str) -> str:
    """The pinned line for a package from requirements.txt (one place for versions)."""
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.split("==")[0].strip().lower() == requirement.lower():
            return line.strip()
    raise SystemExit(f"{requirement} is not pinned in requirements.txt")


def lambda_runtime(template: Mapping[str, Any] | None = None) -> str:
    """The one `Runtime` every Lambda function of stack 2 declares (e.g. `python3.13`)."""
    resources = (template or load_template(STACK_2))["Resources"]
    runtimes = {
        str(res["Properties"]["Runtime"]) for res in resources.values() if res["Type"] == "AWS::Lambda::Function"
    }
    if len(runtimes) != 1:
        raise SystemExit(f"{STACK_2}: expected one Lambda runtime, found {sorted(runtimes)}")
    return runtimes.pop()


def lambda_platform(template: Mapping[str, Any] | None = None) -> str:
    """The wheel platform tag of the one architecture stack 2's functions run on (x86_64 when unset)."""
    resources = (template or load_template(STACK_2))["Resources"]
    architectures = {
        str(res["Properties"].get("Architectures", [DEFAULT_ARCHITECTURE])[0])
        for res in resources.values()
        if res["Type"] == "AWS::Lambda::Function"
    }
    if len(architectures) != 1 or not architectures <= set(WHEEL_PLATFORMS):
        raise SystemExit(
            f"{STACK_2}: expected one Lambda architecture of {sorted(WHEEL_PLATFORMS)}, found {sorted(architectures)}"
        )
    return WHEEL_PLATFORMS[architectures.pop()]


def runtime_python_version(runtime: str) -> str:
    """`python3.13` -> `3.13`: the interpreter version a managed Python runtime runs."""
    match = re.fullmatch(r"python(\d+\.\d+)", runtime)
    if match is None:
        raise SystemExit(f"not a managed Python runtime: {runtime!r}")
    return match.group(1)


def pinned_versions() -> dict[str, str]:
    """Normalised package name -> pinned version, from requirements.txt."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        name, separator, version = line.split("#")[0].strip().partition("==")
        if separator:
            pins[_normalised(name)] = version.strip()
    return pins


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_distributions(target: Path) -> dict[str, str]:
    """Normalised name -> version of every distribution pip installed into a --target folder."""
    found = {}
    for info in target.glob("*.dist-info"):
        name, _, version = info.name.removesuffix(".dist-info").rpartition("-")
        found[_normalised(name)] = version
    return found


def unpinned_distributions(target: Path) -> dict[str, str]:
    """The distributions in a --target folder whose version requirements.txt does not pin."""
    pins = pinned_versions()
    return {name: version for name, version in installed_distributions(target).items() if pins.get(name) != version}


def install_lambda_requirements(target: Path, python_version: str, platform: str) -> None:
    """Install Powertools and its dependencies for the runtime's Python; fail on anything unpinned.

    pip resolves the dependencies for the runtime's interpreter and architecture (not the build
    machine's), from wheels only, with requirements.txt as constraints so each one is the pinned
    version.
    """
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target),
               "--python-version", python_version, "--implementation", "cp", "--platform", platform,
               "--only-binary=:all:",
               "--constraint", str(ROOT / "requirements.txt"),
               *(pinned(name) for name in LAMBDA_REQUIREMENTS)]  # fmt: skip
    subprocess.run(command, check=True)
    # Console scripts (jmespath's jp.py) carry the build machine's interpreter path and serve no handler.
    shutil.rmtree(target / "bin", ignore_errors=True)
    unpinned = unpinned_distributions(target)
    if unpinned:
        raise SystemExit(f"Lambda dependencies not pinned in requirements.txt: {unpinned}")


def content_key(folder: str, path: Path) -> str:
    """An S3 key that changes whenever the file does: folder/stem-<sha256 prefix><suffix>."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return f"{folder}/{path.stem}-{digest}{path.suffix}"


def write_zip(source_dir: Path, target: Path) -> None:
    """Zip a folder with sorted entries and fixed timestamps."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(p for p in source_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            info = zipfile.ZipInfo(str(file.relative_to(source_dir)), date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            archive.writestr(info, file.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)


def build_wheel(staging: Path) -> Path:
    """Build the search_revenue wheel (Python and the Spark engine's jar) into a staging folder, from
    a clean copy of the sources.

    setuptools builds in the source tree's build/lib and never prunes it, so a module deleted or
    moved since an earlier build would ship again; a fresh copy holds only what the tree has now.
    """
    if not HIT_LINES_JAR.is_file():
        raise SystemExit(f"{HIT_LINES_JAR} is missing: build it with `make jar` (make package does)")
    source = staging / "source"
    shutil.copytree(ROOT / PACKAGE, source / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", source / "pyproject.toml")
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(staging), str(source)]
    subprocess.run(command, check=True)
    return next(staging.glob(f"{PACKAGE}-*.whl"))


def build_lambda_zip(handler: Path, staging: Path) -> Path:
    """Handler + the control plane + Powertools and its dependencies, as Lambda unpacks it."""
    with tempfile.TemporaryDirectory() as build:
        root = Path(build)
        install_lambda_requirements(root, runtime_python_version(lambda_runtime()), lambda_platform())
        for part in CONTROL_PLANE:
            source = ROOT / PACKAGE / part
            if source.is_dir():
                shutil.copytree(source, root / PACKAGE / part, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                (root / PACKAGE).mkdir(exist_ok=True)
                shutil.copy2(source, root / PACKAGE / part)
        shutil.copy2(handler, root / handler.name)
        target = staging / f"{handler.stem}.zip"
        write_zip(root, target)
    return target


def package(dist: Path) -> dict[str, str]:
    """Build everything into dist/ under content keys; return parameter name -> key."""
    shutil.rmtree(dist, ignore_errors=True)
    dist.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as staging_dir:
        staging = Path(staging_dir)
        built = {"PackageWheelKey": ("glue", build_wheel(staging)), "GlueScriptKey": ("glue", GLUE_SCRIPT)}
        built |= {name: ("lambda", build_lambda_zip(handler, staging)) for name, handler in LAMBDAS.items()}
        manifest = {}
        for parameter, (folder, path) in built.items():
            # A wheel's file name is part of its format, so it keeps it inside a content-named folder.
            key = content_key(folder, path)
            if path.suffix == ".whl":
                key = f"{key.removesuffix('.whl')}/{path.name}"
            (dist / key).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dist / key)
            manifest[parameter] = key
    (dist / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    for parameter, key in package(parser.parse_args().dist).items():
        print(f"{parameter}={key}")


if __name__ == "__main__":
    main()
