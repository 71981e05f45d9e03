"""The stream engine shares work among processes by visitor without changing a byte."""

from __future__ import annotations

from pathlib import Path

from benchmarks.generate_hits import generate
from search_revenue.report.results import RejectedRow
from search_revenue.report.settings import RuleSettings
from search_revenue.report.stream_engine import run_stream_engine


def test_two_workers_give_the_same_result_and_rejects_as_one(tmp_path: Path) -> None:
    data, _, _ = generate(tmp_path, 2_000_000, seed=11)
    results = {}
    for workers in (1, 2):
        rejects: list[RejectedRow] = []
        results[workers] = (run_stream_engine(str(data), RuleSettings(), rejects.append, workers=workers), rejects)
    one, two = results[1], results[2]
    assert two[0] == one[0]
    assert two[1] == one[1]
    assert one[1], "the generated file should hold rejected rows"
    assert [row.line_no for row in two[1]] == sorted(row.line_no for row in two[1])
