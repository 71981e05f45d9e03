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
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
PACKAGE: Final = "search_revenue"
GLUE_SCRIPT: Final = ROOT / "glue_jobs" / "search_revenue_glue_job.py"
LAMBDAS: Final = {
    "TriggerZipKey": ROOT / "lambda_functions" / "lambda_glue_job_trigger.py",
    "NotifierZipKey": ROOT / "lambda_functions" / "lambda_glue_failure_notification.py",
    "LedgerZipKey": ROOT / "lambda_functions" / "lambda_glue_run_ledger.py",
    "RetryZipKey": ROOT / "lambda_functions" / "lambda_glue_retry.py",
}
# The Lambda runtime has boto3; the zips carry what it lacks.
LAMBDA_REQUIREMENTS: Final = ("aws-lambda-powertools",)
# A Lambda zip carries the control plane and the shared modules it imports, never the report half.
CONTROL_PLANE: Final = ("__init__.py", "errors.py", "outbound.py", "pipeline")
FIXED_TIME: Final = (2020, 1, 1, 0, 0, 0)  # reproducible zips: same content, same bytes


def pinned(requirement: str) -> str:
    """The pinned line for a package from requirements.txt (one place for versions)."""
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line.split("==")[0].strip().lower() == requirement.lower():
            return line.strip()
    raise SystemExit(f"{requirement} is not pinned in requirements.txt")


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
    """Build the search_revenue wheel (pure Python) into a staging folder."""
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(staging), str(ROOT)]
    subprocess.run(command, check=True)
    return next(staging.glob(f"{PACKAGE}-*.whl"))


def build_lambda_zip(handler: Path, staging: Path) -> Path:
    """Handler + the control plane + Powertools, as Lambda unpacks it."""
    with tempfile.TemporaryDirectory() as build:
        root = Path(build)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(root),
                        *(pinned(name) for name in LAMBDA_REQUIREMENTS)], check=True)  # fmt: skip
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
