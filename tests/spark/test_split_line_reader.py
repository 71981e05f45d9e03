"""The split reader's convention, in the JVM and without Spark jobs: whatever the split size,
buffer size and the sizes the stream's reads return, the splits' lines put together are the
file's lines, each once, in order (R1: only LF ends a line).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pyspark.sql import SparkSession

from search_revenue.report.spark_jvm_rules import _jar_class_loader, _new_java_object

# Bytes where a split may start or end: LF, CR, a tab, a non-ASCII byte, and runs long enough to
# outgrow a small buffer.
FILE_BYTES = st.lists(st.sampled_from([b"\n", b"\r", b"\r\n", b"a", b"\t", b"\xe9", b"x" * 9]), max_size=24).map(
    b"".join
)


def _file_lines(content: bytes) -> list[bytes]:
    parts = content.split(b"\n")
    return parts[:-1] if parts[-1] == b"" else parts


def _short_reads(spark: SparkSession, data: bytes, read_sizes: list[int]) -> Any:
    """A stream of `data` whose reads return at most the next of `read_sizes` bytes each, cycling."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    chunks = jvm.java.util.ArrayList()
    at, turn = 0, 0
    while at < len(data):
        size = read_sizes[turn % len(read_sizes)]
        chunks.add(jvm.java.io.ByteArrayInputStream(data[at : at + size]))
        at, turn = at + size, turn + 1
    return jvm.java.io.SequenceInputStream(jvm.java.util.Collections.enumeration(chunks))


@settings(max_examples=80, deadline=None)
@given(
    content=FILE_BYTES,
    split_bytes=st.integers(min_value=1, max_value=40),
    buffer_bytes=st.integers(min_value=1, max_value=12),
    read_sizes=st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=4),
)
def test_splits_read_every_line_once_in_order(
    spark: SparkSession, content: bytes, split_bytes: int, buffer_bytes: int, read_sizes: list[int]
) -> None:
    gateway = spark.sparkContext._gateway
    loader = _jar_class_loader(spark)
    lines: list[bytes] = []
    splits = max(1, -(-len(content) // split_bytes))  # as FileSplitLines cuts the file
    for split in range(splits):
        start = split * split_bytes
        end = min(len(content), start + split_bytes)
        reader = _new_java_object(gateway, loader, "SplitLineReader", start, end, buffer_bytes)
        lines.extend(bytes(line) for line in reader.lines(_short_reads(spark, content[start:], read_sizes)))
    assert lines == _file_lines(content)
