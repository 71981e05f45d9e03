"""Benchmark both engines on one synthetic file, in one run: wall time, MB/s, peak memory.

Peak memory is the largest sum of resident memory over the whole process tree (the CLI, and for
Spark its JVM and Python workers), sampled every 100 ms. Each engine's table is checked against
the generator's expected answer, so a fast wrong engine cannot pass.

    python -m benchmarks.bench --size 2GB --seed 7
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from benchmarks.generate_hits import generate, parse_size

SAMPLE_EVERY_S = 0.1
ENGINES = ("stream", "spark")


@dataclass(frozen=True)
class Measurement:
    """One engine's run."""

    engine: str
    seconds: float
    peak_rss_bytes: int
    correct: bool


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def measure(engine: str, data: Path, expected_table: Path) -> Measurement:
    """Run the CLI on the file with one engine and sample its memory until it exits."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{engine}-") as out:
        command = [sys.executable, "-m", "search_revenue", str(data), "--engine", engine,
                   "--output-dir", out, "--run-date", "2000-01-01", "--quiet"]  # fmt: skip
        started = time.perf_counter()
        child = subprocess.Popen(command)
        process = psutil.Process(child.pid)
        peak = 0
        while child.poll() is None:
            try:
                peak = max(peak, _tree_rss(process))
            except psutil.NoSuchProcess:
                break
            time.sleep(SAMPLE_EVERY_S)
        seconds = time.perf_counter() - started
        if child.returncode != 0:
            raise SystemExit(f"{engine} engine failed with exit code {child.returncode}")
        table = Path(out) / "2000-01-01_SearchKeywordPerformance.tab"
        correct = table.read_bytes() == expected_table.read_bytes()
    return Measurement(engine, seconds, peak, correct)


def main() -> None:
    """Generate (or reuse) the data, warm the page cache, measure both engines, print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=parse_size, default=parse_size("2GB"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=Path("bench_data"))
    parser.add_argument("--engines", default=",".join(ENGINES))
    args = parser.parse_args()
    data, expected_table, _ = generate(args.data_dir, args.size, args.seed)
    megabytes = data.stat().st_size / 1e6
    with open(data, "rb") as warm:  # read once so every engine starts from the page cache
        while warm.read(1 << 24):
            pass
    results = [measure(engine, data, expected_table) for engine in args.engines.split(",")]
    print(f"file: {data} ({megabytes:,.0f} MB), {psutil.cpu_count()} cores")
    print(f"{'engine':<8}{'seconds':>10}{'MB/s':>10}{'peak RSS MB':>14}  correct")
    for result in results:
        print(f"{result.engine:<8}{result.seconds:>10.1f}{megabytes / result.seconds:>10.1f}"
              f"{result.peak_rss_bytes / 1e6:>14,.0f}  {'yes' if result.correct else 'NO'}")  # fmt: skip
    if len(results) == 2:
        first, second = results
        print(f"time ratio {second.engine}/{first.engine}: {second.seconds / first.seconds:.2f}; "
              f"memory ratio: {second.peak_rss_bytes / first.peak_rss_bytes:.2f}")  # fmt: skip
    if not all(result.correct for result in results):
        raise SystemExit("an engine's table differs from the expected answer")


if __name__ == "__main__":
    main()
