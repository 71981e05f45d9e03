"""The whole flow on the local endpoint, as `make run` runs it: share -> inbound bucket -> trigger
-> Glue run on local Spark -> outbound bucket, or -> failure event -> alert.

Each test runs `python -m local_flow.run` in its own process, which starts moto on a free
loopback port and stops it, with the Spark job it started, before it exits.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.conftest import ROOT


def run_local_flow(file: Path, share: Path) -> subprocess.CompletedProcess[str]:
    before = _flow_processes()
    command = [sys.executable, "-m", "local_flow.run", str(file), "--share", str(share), "--timeout", "300"]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=400, check=False)
    # A JVM notices its Python driver is gone within a moment; give it that long, no more.
    deadline = time.monotonic() + 15
    while _flow_processes() - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _flow_processes() - before == set(), "the flow left processes running"
    return completed


def _flow_processes() -> set[int]:
    """The flow's own process, the Glue script it runs, and any JVM (Spark's)."""
    markers = ("local_flow.run", "local-glue-", "java")
    found = set()
    for process in psutil.process_iter(["cmdline", "name", "status"]):
        if process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        command = " ".join(process.info["cmdline"] or [process.info["name"] or ""])
        if any(marker in command for marker in markers):
            found.add(process.pid)
    return found
