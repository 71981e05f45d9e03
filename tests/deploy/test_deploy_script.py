"""`make deploy` drives the AWS CLI in order: stack 1, upload, stack 2 with every parameter.

A stand-in `aws` on PATH records its arguments; the real CLI is a prerequisite of deploying.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT

# CloudFormation takes a template body inline up to this size; a larger one must come from S3.
INLINE_TEMPLATE_LIMIT_BYTES = 51_200
ARTIFACTS = "skp-artifacts-111122223333-eu-west-1"

FAKE_AWS = """#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$AWS_CALLS"
if [ "$1 $2" = "cloudformation describe-stacks" ] && [[ "$*" == *"--output text"* ]]; then
  echo skp-artifacts-111122223333-eu-west-1
fi
"""


def _run_deploy(tmp_path: Path, parameters: dict[str, str], repo: Path = ROOT) -> list[str]:
    """Run deploy/deploy.sh of `repo` with a stand-in aws CLI; the aws calls it made, one a line."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "manifest.json").write_text(json.dumps({"TriggerZipKey": "lambda/trigger-abc.zip"}))
    params = tmp_path / "parameters.json"
    params.write_text(json.dumps(parameters))
    calls = tmp_path / "calls.txt"
    env = os.environ | {"PATH": f"{bin_dir}:{os.environ['PATH']}", "AWS_CALLS": str(calls), "DIST": str(dist)}
    completed = subprocess.run(["bash", str(repo / "deploy" / "deploy.sh"), "skp", str(params)], env=env,
                               capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    return calls.read_text().splitlines()


def _template_deploys(calls: list[str]) -> list[tuple[Path, str]]:
    """(template file, whole call) of every `cloudformation deploy`."""
    deploys = [call for call in calls if call.startswith("cloudformation deploy ")]
    return [(Path(call.split("--template-file ", 1)[1].split()[0]), call) for call in deploys]


def test_deploy_script_deploys_both_stacks_with_the_parameters(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    dist = tmp_path / "dist"
    dist.mkdir()
    manifest = {
        "TriggerZipKey": "lambda/trigger-abc.zip",
        "NotifierZipKey": "lambda/notifier-def.zip",
        "GlueScriptKey": "glue/job-123.py",
        "PackageWheelKey": "glue/w-1/search_revenue-1.0-py3-none-any.whl",
    }
    (dist / "manifest.json").write_text(json.dumps(manifest))
    params = tmp_path / "parameters.json"
    params.write_text(json.dumps({"VpcId": "vpc-1", "SubnetId": "subnet-1", "OnPremCidr": "203.0.113.0/24"}))
    calls = tmp_path / "calls.txt"
    env = os.environ | {"PATH": f"{bin_dir}:{os.environ['PATH']}", "AWS_CALLS": str(calls), "DIST": str(dist)}
    completed = subprocess.run(["bash", str(ROOT / "deploy" / "deploy.sh"), "skp", str(params)], env=env,
                               capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    lines = calls.read_text().splitlines()
    assert lines[0].startswith("cloudformation deploy --stack-name skp-artifacts --template-file ")
    assert lines[0].count("cf_app_infra_stack_1.yml") == 1
    assert lines[2].startswith(f"s3 cp {dist}/ s3://skp-artifacts-111122223333-eu-west-1/ --recursive")
    stack_2 = lines[3]
    assert stack_2.startswith("cloudformation deploy --stack-name skp --template-file ")
    assert "cf_app_infra_stack_2.yml" in stack_2
    assert "--capabilities CAPABILITY_IAM" in stack_2
    overrides = stack_2.split("--parameter-overrides ", 1)[1].split()
    assert set(overrides) == {f"{k}={v}" for k, v in manifest.items()} | {
        "VpcId=vpc-1", "SubnetId=subnet-1", "OnPremCidr=203.0.113.0/24",
        "ArtifactBucketName=skp-artifacts-111122223333-eu-west-1",
    }  # fmt: skip


def test_deploy_script_refuses_without_parameters(tmp_path: Path) -> None:
    completed = subprocess.run(["bash", str(ROOT / "deploy" / "deploy.sh"), "skp", str(tmp_path / "none.json")],
                               capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert completed.returncode == 1
    assert "copy deploy/parameters.example.json" in completed.stderr


def test_deploy_script_sends_stack_2_through_the_artifact_bucket(tmp_path: Path) -> None:
    calls = _run_deploy(tmp_path, {"VpcId": "vpc-1"})
    [stack_2] = [call for template, call in _template_deploys(calls) if template.name == "cf_app_infra_stack_2.yml"]
    assert f"--s3-bucket {ARTIFACTS} " in stack_2


def test_deploy_script_deploys_no_template_inline_past_the_limit(tmp_path: Path) -> None:
    # A copy of the repository's deploy script and templates, with stack 2 grown past the limit.
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "deploy", repo / "deploy")
    shutil.copytree(ROOT / "cf_templates", repo / "cf_templates")
    stack_2 = repo / "cf_templates" / "cf_app_infra_stack_2.yml"
    with stack_2.open("a") as grown:
        grown.write("# padding\n" * (INLINE_TEMPLATE_LIMIT_BYTES // 10 + 1))
    assert stack_2.stat().st_size > INLINE_TEMPLATE_LIMIT_BYTES
    deploys = _template_deploys(_run_deploy(tmp_path, {"VpcId": "vpc-1"}, repo=repo))
    assert len(deploys) == 2
    for template, call in deploys:
        if "--s3-bucket " not in call:
            assert template.stat().st_size <= INLINE_TEMPLATE_LIMIT_BYTES, template.name


def test_deploy_script_gives_both_stacks_the_name_prefix(tmp_path: Path) -> None:
    deploys = _template_deploys(_run_deploy(tmp_path, {"NamePrefix": "acme-kw", "VpcId": "vpc-1"}))
    for _, call in deploys:
        assert "NamePrefix=acme-kw" in call.split("--parameter-overrides ", 1)[1].split()
