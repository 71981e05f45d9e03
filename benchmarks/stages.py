"""Where the time goes: each stage of both engines timed on its own, on one file.

    python -m benchmarks.stages --size 1GB     (make stages SIZE=1GB)

Spark stages run one after the other in one session (the file in the page cache); each figure is
seconds per GB of input, one run.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from pyspark.sql import functions as F

from benchmarks.generate_hits import generate, parse_size
from search_revenue.report.hit_rows import decode_line, parse_header, read_line_batches
from search_revenue.report.settings import RuleSettings
from search_revenue.report.spark_engine import attributed_keywords, pass_partitions, with_revenue_rules
from search_revenue.report.spark_jvm_rules import ROW_KIND_PURCHASE, ROW_KIND_SEARCH_VISITOR, line_scans
from search_revenue.report.spark_lines import is_header_line, read_hit_lines, read_text, single_input_uri
from search_revenue.report.spark_session import local_spark_session, pinned_settings


def timed(name: str, gigabytes: float, work: Callable[[], object]) -> None:
    """Run one stage and print its seconds per GB."""
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    print(f"{name:<58}{seconds:7.1f} s {seconds / gigabytes:7.1f} s/GB", flush=True)


def python_line_reading(path: Path) -> int:
    """The stream engine's floor: read, decode and split into lines, no rule applied."""
    with open(path, "rb") as stream:
        return sum(len(batch) for batch in read_line_batches(stream))


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=parse_size, default=parse_size("1GB"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=Path("bench_data"))
    args = parser.parse_args()
    data, _, _ = generate(args.data_dir, args.size, args.seed)
    gigabytes = data.stat().st_size / 1e9
    settings = RuleSettings()
    timed("stream: read, decode, split lines (one process)", gigabytes, lambda: python_line_reading(data))
    spark = local_spark_session()
    with pinned_settings(spark):
        uri = single_input_uri(spark, str(data), str(data))
        header = read_hit_lines(spark, uri).where(is_header_line()).select(F.col("line").cast("binary")).first()
        columns = parse_header(decode_line(bytes(header[0]) if header else b""), str(data))
        text = read_text(spark, uri)
        timed("spark: Spark's text source, bare (compressed inputs only)", gigabytes, text.count)
        scans = line_scans(spark, columns, settings.search_engines)
        partitions = pass_partitions(spark)
        cached_scan = scans.first_pass(text).transform(with_revenue_rules).persist()
        timed("spark: first pass (JVM scan of every line, revenue rules)", gigabytes, cached_scan.count)
        scan = cached_scan.coalesce(partitions)
        is_buyer = (F.col("kind") == ROW_KIND_PURCHASE) & F.col("reject_reason").isNull()
        visitors = scan.where(is_buyer | (F.col("kind") == ROW_KIND_SEARCH_VISITOR))
        cached_hits = scans.qualified_hits(text, visitors).persist()
        timed("spark: second pass (JVM scan: the qualified visitors' hits)", gigabytes, cached_hits.count)
        hits = cached_hits.coalesce(partitions)
        timed("spark: after the shrink (collapse, windows, R4 UDF, attribution)", gigabytes,
              lambda: attributed_keywords(hits, settings).collect())  # fmt: skip
    spark.stop()


if __name__ == "__main__":
    main()
