"""The command line: outputs, the printed summary, and one clear line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from search_revenue.report.cli import main
from tests.conftest import ROOT, SAMPLE
from tests.hitfiles import Rows, purchase, search, write_hits

TABLE = "2026-11-21_SearchKeywordPerformance.tab"


def test_cli_writes_table_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(SAMPLE), "--engine", "stream", "--output-dir", str(tmp_path), "--run-date", "2026-11-21"])
    assert code == 0
    assert (tmp_path / TABLE).read_text() == (
        "Search Engine Domain\tSearch Keyword\tRevenue\ngoogle.com\tipod\t480.00\nbing.com\tzune\t250.00\n"
    )
    summary = json.loads((tmp_path / "2026-11-21_SearchKeywordPerformance_summary.json").read_text())
    assert summary["input"] == str(SAMPLE)
    assert summary["engine"] == "stream"
    assert summary["rows_read"] == 21
    assert not (tmp_path / "2026-11-21_SearchKeywordPerformance_rejects.tsv").exists()
    assert "google.com\tipod\t480.00" in capsys.readouterr().out


def test_cli_writes_rejects_below_the_threshold(tmp_path: Path) -> None:
    rows: Rows = [search(100), purchase(200), "bad row", *(search(300 + n) for n in range(200))]
    data = write_hits(tmp_path / "hits.tsv", rows)
    code = main([str(data), "--engine", "stream", "--output-dir", str(tmp_path / "out"), "--run-date", "2026-11-21"])
    assert code == 0
    rejects = (tmp_path / "out" / "2026-11-21_SearchKeywordPerformance_rejects.tsv").read_text()
    assert rejects == "4\tfield count differs from the header\tbad row\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "no such file", id="missing"),
        pytest.param(b"a\tb\n1\t2\n", "missing required columns", id="missing-columns"),
        pytest.param(b"\x00\x01\x02binary", "not a hit level text file", id="binary"),
        pytest.param(b"\x1f\x8b\x08\x00garbage", "corrupt compressed input", id="corrupt-gzip"),
    ],
)
def test_cli_fails_with_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    data = tmp_path / ("hits.tsv.gz" if content and content.startswith(b"\x1f\x8b") else "hits.tsv")
    if content is not None:
        data.write_bytes(content)
    out = tmp_path / "out"
    code = main([str(data), "--engine", "stream", "--output-dir", str(out), "--run-date", "2026-11-21"])
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: ")
    assert message in err[0]
    assert not list(out.glob("*.tab")) if out.exists() else True


def test_cli_too_many_rejects_leaves_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_hits(tmp_path / "hits.tsv", [search(100), "bad", purchase(200)])
    out = tmp_path / "out"
    assert main([str(data), "--engine", "stream", "--output-dir", str(out)]) == 1
    assert "rows rejected" in capsys.readouterr().err
    assert list(out.iterdir()) == []


def test_cli_rejects_bad_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(SAMPLE), "--visit-timeout", "-1"]) == 2
    assert "invalid visit_timeout_s" in capsys.readouterr().err


def test_python_dash_m_runs_the_spark_engine_by_default(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "search_revenue", str(SAMPLE), "--output-dir", str(tmp_path),
         "--run-date", "2026-11-21"],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "engine spark" in completed.stdout
    assert (tmp_path / TABLE).read_text().endswith("bing.com\tzune\t250.00\n")
