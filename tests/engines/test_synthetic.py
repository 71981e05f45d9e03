"""Both engines match the answer the synthetic generator computed while writing the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.generate_hits import generate, parse_size
from search_revenue.report.performance import Engine
from tests.conftest import RunEngine


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return generate(tmp_path_factory.mktemp("synthetic"), parse_size("3MB"), seed=5)


def test_engine_matches_the_generated_answer(
    run_engine: RunEngine, engine: Engine, dataset: tuple[Path, Path, Path]
) -> None:
    data, expected_table, expected_summary = dataset
    run = run_engine(data, engine)
    assert run.table == expected_table.read_text(encoding="utf-8")
    expected = json.loads(expected_summary.read_text(encoding="utf-8"))
    assert {key: run.summary[key] for key in expected} == expected
    assert run.rejects is not None
    assert len(run.rejects.splitlines()) == expected["rejected"]


def test_generator_is_deterministic_by_seed(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", 200_000, seed=9)
    second = generate(tmp_path / "b", 200_000, seed=9)
    other = generate(tmp_path / "c", 200_000, seed=10)
    assert first[0].read_bytes() == second[0].read_bytes()
    assert first[0].read_bytes() != other[0].read_bytes()
    assert first[0].stat().st_size >= 200_000
