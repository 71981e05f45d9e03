"""The whole flow on the local endpoint, as `make run` runs it: share -> inbound bucket -> trigger
-> Glue run on local Spark -> outbound bucket, or -> failure event -> alert.

Each test runs `python -m local_flow.run` in its own process, which starts moto on a free
loopback port and stops it, with the Spark job it started, before it exits.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest

from local_flow.templates import TEMPLATES, load_template
from tests.conftest import ROOT, SAMPLE

WORKED_EXAMPLE = "Search Engine Domain\tSearch Keyword\tRevenue\ngoogle.com\tipod\t480.00\nbing.com\tzune\t250.00\n"


def run_local_flow(*files: Path, share: Path, templates: Path = TEMPLATES) -> subprocess.CompletedProcess[str]:
    before = _flow_processes()
    command = [sys.executable, "-m", "local_flow.run", *map(str, files), "--share", str(share), "--timeout", "300",
               "--templates", str(templates)]  # fmt: skip
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=400, check=False)
    # A JVM notices its Python driver is gone within a moment; give it that long, no more.
    deadline = time.monotonic() + 15
    while _flow_processes() - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _flow_processes() - before == set(), "the flow left processes running"
    return completed


def _flow_processes() -> set[int]:
    """The flow's own process, the Glue script it runs, and any JVM (Spark's), started in this checkout.

    The working directory tells them from flows of other checkouts running on the same machine.
    """
    markers = ("local_flow.run", "local-glue-", "java")
    found = set()
    for process in psutil.process_iter(["cmdline", "name", "status", "cwd"]):
        if process.info["status"] == psutil.STATUS_ZOMBIE or process.info["cwd"] != str(ROOT):
            continue
        command = " ".join(process.info["cmdline"] or [process.info["name"] or ""])
        if any(marker in command for marker in markers):
            found.add(process.pid)
    return found


def test_sample_travels_to_the_outbound_bucket(tmp_path: Path) -> None:
    completed = run_local_flow(SAMPLE, share=tmp_path / "share")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    today = datetime.now(UTC).date().isoformat()
    out = completed.stdout
    assert f"/outbound/{today}/{today}_SearchKeywordPerformance.tab" in out
    assert out.endswith(WORKED_EXAMPLE)
    ledger_step = "run ledger handler: s3://skp-local-inbound-123456789012-us-east-1/hit_data.tsv is SUCCEEDED"
    for step in ("file gateway uploaded", "S3 ObjectCreated -> trigger handler: hit_data.tsv: Glue run", ledger_step):
        assert step in out


def test_missing_columns_reach_the_alert_topic(tmp_path: Path) -> None:
    bad = tmp_path / "2026-11-21_bad_hits.tsv"
    bad.write_text("hit_time_gmt\tdate_time\tpagename\n1254033280\t2009-09-27 06:34:40\tHome\n")
    completed = run_local_flow(bad, share=tmp_path / "share")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    alert = completed.stdout[completed.stdout.index("Subject:") :]
    assert alert.startswith("Subject: Search keyword job FAILED: 2026-11-21_bad_hits.tsv")
    assert "Input:     s3://skp-local-inbound-" in alert
    assert "/2026-11-21_bad_hits.tsv" in alert
    assert "missing required columns: event_list, ip, product_list, referrer, user_agent" in alert
    assert "EventBridge rule -> failure handler" in completed.stdout


@pytest.mark.parametrize("name", [".hit_data.tsv", "hit_data.csv"], ids=["hidden-name", "not-a-data-suffix"])
def test_names_the_pipeline_ignores_start_no_run(tmp_path: Path, name: str) -> None:
    ignored = tmp_path / name
    ignored.write_bytes(SAMPLE.read_bytes())
    completed = run_local_flow(ignored, share=tmp_path / "share")
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "Glue run" not in completed.stdout
    assert "no run" in completed.stdout


def test_same_file_twice_is_one_run_and_a_changed_file_another(tmp_path: Path) -> None:
    changed = tmp_path / "changed" / SAMPLE.name
    changed.parent.mkdir()
    changed.write_bytes(SAMPLE.read_bytes().replace(b"\t1\t", b"\t2\t"))  # no purchases left
    completed = run_local_flow(SAMPLE, SAMPLE, changed, share=tmp_path / "share")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    assert out.count("trigger handler: hit_data.tsv: Glue run") == 2
    assert out.count("this content was seen before (run ledger); no new run") == 1
    assert out.count("is SUCCEEDED after 1 attempt(s)") == 2
    # Two reports on one day: the versioned outbound bucket keeps both, each summary names its input version.
    versions = re.findall(r"summary beside it names the input \S+ version (\S+)", out)
    assert len(versions) == 2
    assert len(set(versions)) == 2
    assert "None" not in versions
    assert len(set(re.findall(r"_SearchKeywordPerformance\.tab \(version (\S+)\)", out))) == 2
    assert out.endswith(WORKED_EXAMPLE + "Search Engine Domain\tSearch Keyword\tRevenue\n")


def templates_without(action: str, role: str, folder: Path) -> Path:
    """A copy of cf_templates/ in which `role` no longer grants `action` (stack 2 written as JSON, which is YAML)."""
    shutil.copytree(TEMPLATES, folder)
    stack_2 = load_template("cf_app_infra_stack_2.yml")
    for policy in stack_2["Resources"][role]["Properties"]["Policies"]:
        statements = policy["PolicyDocument"]["Statement"]
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [granted for granted in actions if granted != action]
        policy["PolicyDocument"]["Statement"] = [statement for statement in statements if statement["Action"]]
    (folder / "cf_app_infra_stack_2.yml").write_text(json.dumps(stack_2), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("role", "action", "denied_in"),
    [
        # The trigger's code goes on (it leaves the input for the retry path); the flow stops at the denial.
        pytest.param("TriggerRole", "glue:StartJobRun", "(glue:StartJobRun)", id="trigger-handler"),
        # Denied inside the Glue script's own process, which runs with the job role's credentials.
        pytest.param("GlueRole", "s3:PutObject", "(the Glue script)", id="glue-script"),
    ],
)
def test_an_action_removed_from_a_role_fails_the_flow_with_the_denial(
    tmp_path: Path, role: str, action: str, denied_in: str
) -> None:
    templates = templates_without(action, role, tmp_path / "templates")
    completed = run_local_flow(SAMPLE, share=tmp_path / "share", templates=templates)
    assert completed.returncode == 4, completed.stdout + completed.stderr
    denial = completed.stdout.strip().splitlines()[-1]
    assert denial.startswith(f"IAM denied {role} {denied_in}: ")
    assert "AccessDenied" in denial or f"is not authorized to perform: {action}" in denial
    assert "_SearchKeywordPerformance.tab (version" not in completed.stdout  # no report was published
