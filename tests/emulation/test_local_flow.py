"""The whole flow on the local endpoint, as `make run` runs it: share -> inbound bucket -> trigger
-> Glue run on local Spark -> outbound bucket, or -> failure event -> alert.

Each test runs `python -m local_flow.run` in its own process, which starts moto on a free
loopback port and stops it, with the Spark job it started, before it exits.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest

from local_flow.templates import TEMPLATES, load_template
from tests.conftest import ROOT, SAMPLE

WORKED_EXAMPLE = "Search Engine Domain\tSearch Keyword\tRevenue\ngoogle.com\tipod\t480.00\nbing.com\tzune\t250.00\n"


FLOW_TAG_VARIABLE = "SKP_TEST_FLOW_TAG"
FLOW_TIMEOUT_S = 900  # a shared two-core machine runs Spark slowly; three failing attempts take minutes


def run_local_flow(
    *files: Path, share: Path, options: tuple[str, ...] = (), templates: Path = TEMPLATES
) -> subprocess.CompletedProcess[str]:
    tag = uuid.uuid4().hex
    command = [sys.executable, "-m", "local_flow.run", *map(str, files), "--share", str(share),
               "--timeout", str(FLOW_TIMEOUT_S), "--templates", str(templates), *options]  # fmt: skip
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=FLOW_TIMEOUT_S + 100,
                               check=False, env=_tagged_environment(tag))  # fmt: skip
    _assert_nothing_left_running(tag)
    return completed


def _assert_nothing_left_running(tag: str) -> None:
    # A JVM notices its Python driver is gone within a moment; give it that long, no more.
    deadline = time.monotonic() + 15
    while _flow_processes(tag) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _flow_processes(tag) == set(), "the flow left processes running"


UPLOADED = re.compile(r"uploaded [\d,]+ bytes(?: in parts \(multipart\))? to \S+ \(version (\S+)\), then the file's "
                      r"metadata \(version (\S+)\)")  # fmt: skip
STARTED = re.compile(r"trigger handler: hit_data\.tsv version (\S+): Glue run")
SUMMARY_VERSION = re.compile(r"summary beside it names the input \S+ version (\S+)")


def _padded_sample(size: int) -> bytes:
    """The sample plus hits of other visitors that neither search nor buy: the same report, any size."""
    lines = SAMPLE.read_bytes().split(b"\n")
    header = lines[0].rstrip(b"\r").split(b"\t")
    template = lines[1].rstrip(b"\r").split(b"\t")
    columns = {name: header.index(name.encode()) for name in ("ip", "event_list", "referrer", "product_list")}
    padding: list[bytes] = []
    total = len(SAMPLE.read_bytes())
    while total < size:
        number = len(padding)
        row = list(template)
        row[columns["ip"]] = f"10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}".encode()
        row[columns["event_list"]] = row[columns["referrer"]] = row[columns["product_list"]] = b""
        padding.append(b"\t".join(row) + b"\r\n")
        total += len(padding[-1])
    return SAMPLE.read_bytes() + b"".join(padding)


def _tagged_environment(tag: str) -> dict[str, str]:
    return os.environ | {FLOW_TAG_VARIABLE: tag, "PYTHONUNBUFFERED": "1"}


def _flow_processes(tag: str) -> set[int]:
    """The flow's own process and every process it started (the Glue script, Spark's JVM and its
    Python workers): all of them inherit the flow's tag, which no other test's processes carry,
    so flows of tests running side by side (pytest-xdist) are told apart.
    """
    found = set()
    for process in psutil.process_iter(["status"]):
        if process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            if process.environ().get(FLOW_TAG_VARIABLE) == tag:
                found.add(process.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue  # gone meanwhile, or not ours to read
    return found


def test_sample_travels_to_the_outbound_bucket(tmp_path: Path) -> None:
    completed = run_local_flow(SAMPLE, share=tmp_path / "share")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    today = datetime.now(UTC).date().isoformat()
    out = completed.stdout
    assert f"/outbound/{today}/{today}_SearchKeywordPerformance.tab" in out
    assert out.endswith(WORKED_EXAMPLE)
    ledger_step = "run ledger handler: s3://skp-local-inbound-123456789012-us-east-1/hit_data.tsv is SUCCEEDED"
    for step in ("file gateway uploaded", ledger_step):
        assert step in out
    # The gateway's data version is superseded by its metadata version; only the latter runs.
    [(data, metadata)] = UPLOADED.findall(out)
    assert f"trigger handler: hit_data.tsv version {data}: replaced before it settled" in out
    assert STARTED.findall(out) == [metadata]


def test_file_that_keeps_failing_sends_exactly_the_documented_alerts(tmp_path: Path) -> None:
    bad = tmp_path / "2026-11-21_bad_hits.tsv"
    bad.write_text("hit_time_gmt\tdate_time\tpagename\n1254033280\t2009-09-27 06:34:40\tHome\n")
    completed = run_local_flow(bad, share=tmp_path / "share")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    out = completed.stdout
    assert out.count("executing on local Spark") == 3  # MaxAttempts
    # README, Alerts: one message for the first failed attempt, one for GAVE UP, nothing else.
    subjects = re.findall(r"^Subject: (.*)$", out, flags=re.MULTILINE)
    assert subjects == ["Search keyword job FAILED, will retry: 2026-11-21_bad_hits.tsv",
                        "Search keyword job GAVE UP: 2026-11-21_bad_hits.tsv"]  # fmt: skip
    first, gave_up = out.split("Subject: ")[1:]
    assert "attempt 1 of 3" in first
    assert "Input:     s3://skp-local-inbound-" in first
    assert "/2026-11-21_bad_hits.tsv" in first
    assert "missing required columns: event_list, ip, product_list, referrer, user_agent" in first
    assert "What happens next: the retry path starts it again" in first
    assert "gave up on an input after 3 attempts" in gave_up
    assert "What happens next: nothing runs again by itself" in gave_up
    assert "no alert (a run of the ledger: the run ledger announces its outcome)" in out
    assert re.search(r"GAVE_UP\s+attempts 3", out)


@pytest.mark.parametrize("name", [".hit_data.tsv", "hit_data.csv"], ids=["hidden-name", "not-a-data-suffix"])
def test_names_the_pipeline_ignores_start_no_run(tmp_path: Path, name: str) -> None:
    ignored = tmp_path / name
    ignored.write_bytes(SAMPLE.read_bytes())
    completed = run_local_flow(ignored, share=tmp_path / "share")
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "Glue run" not in completed.stdout
    # The trigger's log line for the upload says what it decided (its response is only the batch response).
    assert f"trigger handler: {name} version " in completed.stdout
    assert "not a data file; no run" in completed.stdout


def test_same_file_twice_is_one_run_and_a_changed_file_another(tmp_path: Path) -> None:
    changed = tmp_path / "changed" / SAMPLE.name
    changed.parent.mkdir()
    changed.write_bytes(SAMPLE.read_bytes().replace(b"\t1\t", b"\t2\t"))  # no purchases left
    completed = run_local_flow(SAMPLE, SAMPLE, changed, share=tmp_path / "share")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    assert len(STARTED.findall(out)) == 2
    assert out.count("this content was seen before (run ledger); no new run") == 1
    assert out.count("is SUCCEEDED after 1 attempt(s)") == 2
    # Two reports on one day: the versioned outbound bucket keeps both, each summary names its input version.
    versions = re.findall(r"summary beside it names the input \S+ version (\S+)", out)
    assert len(versions) == 2
    assert len(set(versions)) == 2
    assert "None" not in versions
    assert len(set(re.findall(r"_SearchKeywordPerformance\.tab \(version (\S+)\)", out))) == 2
    assert out.endswith(WORKED_EXAMPLE + "Search Engine Domain\tSearch Keyword\tRevenue\n")


def test_partial_upload_replaced_within_the_settle_time_runs_once_on_the_full_file(tmp_path: Path) -> None:
    partial = tmp_path / "partial" / SAMPLE.name
    partial.parent.mkdir()
    partial.write_bytes(SAMPLE.read_bytes()[: len(SAMPLE.read_bytes()) // 2])  # cut mid-row, as a cache flush can
    completed = run_local_flow(partial, SAMPLE, share=tmp_path / "share", options=("--gap", "1"))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    (partial_data, partial_meta), (full_data, full_meta) = UPLOADED.findall(out)
    assert out.count("executing on local Spark") == 1
    assert f"hit_data.tsv version {full_meta}: Glue run" in out
    for version in (partial_data, partial_meta, full_data):
        assert f"hit_data.tsv version {version}: replaced before it settled" in out
    assert SUMMARY_VERSION.findall(out) == [full_meta]
    assert out.endswith(WORKED_EXAMPLE)
    assert out.count("Search Engine Domain\tSearch Keyword\tRevenue") == 1  # no report from the partial file
    assert f"superseded:    {partial_data} -> {full_meta} (no run)" in out


def test_multipart_upload_replaced_within_the_settle_time_runs_once_on_the_last_version(tmp_path: Path) -> None:
    full = tmp_path / "full" / "big_hits.tsv"
    full.parent.mkdir()
    full.write_bytes(_padded_sample(10 << 20))
    partial = tmp_path / "partial" / "big_hits.tsv"
    partial.parent.mkdir()
    partial.write_bytes(full.read_bytes()[: 9 << 20])
    completed = run_local_flow(partial, full, share=tmp_path / "share", options=("--gap", "1"))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    assert out.count("in parts (multipart)") == 2
    [(_, _), (_, full_meta)] = UPLOADED.findall(out)
    assert out.count("executing on local Spark") == 1
    assert SUMMARY_VERSION.findall(out) == [full_meta]
    assert out.endswith(WORKED_EXAMPLE)


def test_new_version_during_a_run_is_not_read_by_it(tmp_path: Path) -> None:
    share = tmp_path / "share"
    tag = uuid.uuid4().hex
    command = [sys.executable, "-m", "local_flow.run", str(SAMPLE), "--share", str(share),
               "--timeout", str(FLOW_TIMEOUT_S)]  # fmt: skip
    flow = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=_tagged_environment(tag))  # fmt: skip
    assert flow.stdout is not None
    lines = []
    for line in flow.stdout:
        lines.append(line)
        if "executing on local Spark" in line:
            # The client replaces the file while the run is under way: no purchases in the new one.
            (share / SAMPLE.name).write_bytes(SAMPLE.read_bytes().replace(b"\t1\t", b"\t2\t"))
            assert flow.pid in _flow_processes(tag)  # the leak check below sees the flow's processes
            break
    rest, _ = flow.communicate(timeout=FLOW_TIMEOUT_S + 100)
    _assert_nothing_left_running(tag)
    out = "".join(lines) + rest
    assert flow.returncode == 0, out
    (_, first_meta), (second_data, second_meta) = UPLOADED.findall(out)
    assert out.index(f"(version {second_data}), then") < out.index(" SUCCEEDED")  # uploaded mid-run
    assert SUMMARY_VERSION.findall(out) == [first_meta, second_meta]
    header = "Search Engine Domain\tSearch Keyword\tRevenue\n"
    assert out.endswith(WORKED_EXAMPLE + header)  # the first run reported its own version only


def test_lost_run_end_is_reconciled_by_the_retry_path(tmp_path: Path) -> None:
    completed = run_local_flow(SAMPLE, share=tmp_path / "share", options=("--lose-run-ends", "1"))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    assert "Glue Job State Change LOST" in out
    assert "run ledger handler" not in out
    assert re.search(r"retry handler: reconciled s3://\S+/hit_data\.tsv from Glue's record .*: SUCCEEDED", out)
    assert re.search(r"SUCCEEDED\s+attempts 1", out)
    assert out.endswith(WORKED_EXAMPLE)


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
