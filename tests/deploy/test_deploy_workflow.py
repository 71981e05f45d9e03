"""The tag deploy workflow has a parameters file to deploy with, and the README tells the deploy
role's trust policy the subject GitHub's OIDC token carries for this workflow."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"
_SECRET = re.compile(r"^\$\{\{\s*secrets\.[A-Za-z0-9_]+\s*\}\}$")


def _deploy_job() -> dict[str, Any]:
    [job] = yaml.safe_load(WORKFLOW.read_text())["jobs"].values()
    return job  # type: ignore[no-any-return]


def _steps_env(job: dict[str, Any], step: dict[str, Any]) -> dict[str, str]:
    return {**job.get("env", {}), **step.get("env", {})}


def _parameters_writer(job: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The step that writes the file `make deploy` reads, and that file's expression."""
    steps = job["steps"]
    deploy_at = next(i for i, step in enumerate(steps) if "make deploy" in step.get("run", ""))
    assert 'PARAMS="$PARAMS"' in steps[deploy_at]["run"]
    params = _steps_env(job, steps[deploy_at])["PARAMS"]
    assert "secrets." not in params, "the parameters file is a path in the runner, not a secret"
    writers = [
        step
        for step in steps[:deploy_at]
        if _steps_env(job, step).get("PARAMS") == params and '> "$PARAMS"' in step.get("run", "")
    ]
    assert len(writers) == 1, "no earlier step writes the parameters file make deploy reads"
    return writers[0], params


def _run_writer(step: dict[str, Any], content: str, tmp_path: Path) -> tuple[int, Path]:
    [(variable, _)] = [(name, value) for name, value in step["env"].items() if _SECRET.match(value)]
    target = tmp_path / "parameters.json"
    python_dir = str(Path(sys.executable).parent)  # the workflow's setup-python puts `python` on PATH
    env = os.environ | {variable: content, "PARAMS": str(target), "PATH": f"{python_dir}:{os.environ['PATH']}"}
    completed = subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], env=env,
                               capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    return completed.returncode, target


def test_deploy_workflow_writes_the_parameters_file_from_a_secret(tmp_path: Path) -> None:
    writer, _ = _parameters_writer(_deploy_job())
    parameters = {"NamePrefix": "skp", "VpcId": "vpc-1", "OnPremCidr": "203.0.113.0/24"}
    returncode, written = _run_writer(writer, json.dumps(parameters), tmp_path)
    assert returncode == 0
    assert json.loads(written.read_text()) == parameters


def test_deploy_workflow_stops_on_a_parameters_secret_that_is_not_json(tmp_path: Path) -> None:
    writer, _ = _parameters_writer(_deploy_job())
    returncode, _ = _run_writer(writer, "VpcId=vpc-1", tmp_path)
    assert returncode != 0


def test_readme_gives_the_exact_oidc_trust_condition() -> None:
    environment = _deploy_job()["environment"]
    readme = (ROOT / "README.md").read_text()
    assert f'"token.actions.githubusercontent.com:sub": "repo:ORG/REPO:environment:{environment}"' in readme
    assert '"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"' in readme
    for secret in re.findall(r"secrets\.([A-Za-z0-9_]+)", WORKFLOW.read_text()):
        assert f"`{secret}`" in readme, secret
