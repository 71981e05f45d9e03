"""Hit lines in Spark as raw bytes: one literal input file, line ends, fields and visitors (R1, R3).

Spark's text source hands each line over as its raw bytes. Everything here works on those bytes
(`substring_index`, `endswith`, `octet_length`, `==` never decode), because Java and Python
replace invalid UTF-8 differently; where decoded text matters (the visitor key) it is repaired
exactly as Python's `bytes.decode("utf-8", errors="replace")` does, which is the stream engine's
reading (the reference).
"""

from __future__ import annotations

import os
from typing import Final

from py4j.protocol import Py4JJavaError
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from search_revenue.errors import InputNotFoundError, InputNotTextError
from search_revenue.report.hit_rows import FIELD_SEPARATOR, HitColumns
from search_revenue.report.sources import canonical_file_name

# monotonically_increasing_id() puts the partition index above this many bits of row index.
ROW_INDEX_BITS: Final = 33
ROW_INDEX_MASK: Final = (1 << ROW_INDEX_BITS) - 1
LINE_END: Final = "\n"
CARRIAGE_RETURN: Final = "\r"
REPLACEMENT_CHARACTER_HEX: Final = "EFBFBD"  # U+FFFD in UTF-8
NON_ASCII_ADDRESS: Final = 0
# Spark's own switch (DataSource.GLOB_PATHS_KEY) for reading a path as written, not as a pattern.
NO_GLOBBING: Final = ("__globPaths__", "false")


def _byte_range(low: int, high: int) -> str:
    # A regular expression for one byte in [low, high], written as two upper-case hex digits.
    digits = "0123456789ABCDEF"
    alternatives = []
    for high_nibble in range(low >> 4, (high >> 4) + 1):
        first = max(low, high_nibble << 4) & 15
        last = min(high, (high_nibble << 4) | 15) & 15
        tail = digits[first] if first == last else f"[{digits[first]}-{digits[last]}]"
        alternatives.append(digits[high_nibble] + tail)
    return "(?:" + "|".join(alternatives) + ")"


_CONT = _byte_range(0x80, 0xBF)
# The well-formed UTF-8 sequences (Unicode, table 3-7).
_WELL_FORMED = "|".join([
    _byte_range(0x00, 0x7F), _byte_range(0xC2, 0xDF) + _CONT,
    "E0" + _byte_range(0xA0, 0xBF) + _CONT, _byte_range(0xE1, 0xEC) + _CONT * 2,
    "ED" + _byte_range(0x80, 0x9F) + _CONT, _byte_range(0xEE, 0xEF) + _CONT * 2,
    "F0" + _byte_range(0x90, 0xBF) + _CONT * 2, _byte_range(0xF1, 0xF3) + _CONT * 3,
    "F4" + _byte_range(0x80, 0x8F) + _CONT * 2,
])  # fmt: skip
# Where no well-formed sequence starts, the longest start of one (a "maximal subpart"), else one
# byte: each becomes one U+FFFD, as in Python's decoder (Java 17 differs, e.g. on ED A0 80).
_MAXIMAL_SUBPART = "|".join([
    "F0" + _byte_range(0x90, 0xBF) + _CONT, _byte_range(0xF1, 0xF3) + _CONT * 2, "F4" + _byte_range(0x80, 0x8F) + _CONT,
    "E0" + _byte_range(0xA0, 0xBF), _byte_range(0xE1, 0xEC) + _CONT, "ED" + _byte_range(0x80, 0x9F),
    _byte_range(0xEE, 0xEF) + _CONT,
    "F0" + _byte_range(0x90, 0xBF), _byte_range(0xF1, 0xF3) + _CONT, "F4" + _byte_range(0x80, 0x8F),
    "[0-9A-F]{2}",
])  # fmt: skip
# \G chains the matches from the start, so every match begins on a byte boundary of the hex text;
# the possessive run of well-formed sequences never gives a valid byte back to the fallback.
_INVALID_AFTER_VALID = f"\\G((?:{_WELL_FORMED})*+)(?:{_MAXIMAL_SUBPART})"


def single_input_uri(spark: SparkSession, path: str, source: str) -> str:
    """Return the URI of the one file a path names, taken literally (R1).

    Raises:
        InputNotFoundError: nothing exists under that exact name.
        InputNotTextError: the name is a folder or an S3 prefix, not one object.
    """
    uri = path if "://" in path else "file://" + os.path.abspath(path)
    jvm = spark.sparkContext._jvm
    assert jvm is not None  # a live session always has its gateway
    hadoop_path = jvm.org.apache.hadoop.fs.Path(uri)
    try:
        file_system = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        status = file_system.getFileStatus(hadoop_path)
    except Py4JJavaError as err:
        if "FileNotFoundException" in str(err):
            raise InputNotFoundError(source) from err
        raise
    if not status.isFile():
        raise InputNotTextError(source, "a folder or prefix, not one file")
    name = uri.rsplit("/", 1)[-1]
    if canonical_file_name(name) != name:
        # Hadoop would read the compressed bytes as text: refuse rather than reject every row.
        raise InputNotTextError(
            source, f"Spark tells compression by a lower-case suffix: rename to {canonical_file_name(name)}"
        )
    return uri


def read_hit_lines(spark: SparkSession, uri: str) -> DataFrame:
    """Read every line of one file with its position and partition; only LF ends a line (R1).

    `line` holds the line's raw bytes without its LF or CRLF end (a CR is dropped as a byte, so a
    truncated character before it stays whole).
    """
    raw = spark.read.option("lineSep", LINE_END).option(*NO_GLOBBING).text(uri)
    value = F.col("value")
    without_cr = F.when(
        value.endswith(CARRIAGE_RETURN),
        F.expr("substr(cast(value AS BINARY), 1, octet_length(value) - 1)").cast("string"),
    ).otherwise(value)
    return raw.select(
        F.monotonically_increasing_id().alias("pos"),
        F.spark_partition_id().alias("partition"),
        F.input_file_block_start().alias("block_start"),
        without_cr.alias("line"),
    )


def is_header_line() -> Column:
    """The first line of the file, whichever partition holds it, is the header (R1)."""
    return (F.col("block_start") == 0) & (F.col("pos").bitwiseAND(ROW_INDEX_MASK) == 0)


def is_data_line() -> Column:
    """Every line but the header and empty lines is a data row (R1)."""
    return ~is_header_line() & (F.octet_length("line") > 0)


def field(line: Column, index: int) -> Column:
    """The index-th tab-separated field of a line, as bytes, without splitting the whole line."""
    return F.substring_index(F.substring_index(line, FIELD_SEPARATOR, index + 1), FIELD_SEPARATOR, -1)


def ascii_fields(line: Column) -> Column:
    """Every tab-separated field of a line at once, for the rules decided on ASCII bytes alone.

    Spark splits the line as Java decodes it: a field's invalid UTF-8 comes out with Java's
    replacement, not Python's. Java and Python keep every ASCII byte where it was and replace
    only non-ASCII bytes, with non-ASCII U+FFFD, so the number of fields and every test that
    passes or fails on ASCII bytes (R2 hit times and amounts, R5 events, the search pre-test)
    agree with the stream engine. Text that reaches a key or the output (visitor, referrer,
    rejected rows) is always cut from the raw bytes instead. One split costs far less than
    cutting each field out with `substring_index`.
    """
    return F.split(line, FIELD_SEPARATOR)


def python_replaced(text: Column) -> Column:
    """The text's bytes as Python's `decode("utf-8", errors="replace")` reads them, re-encoded (R1)."""
    marked = F.regexp_replace(F.hex(text.cast("binary")), _INVALID_AFTER_VALID, "$1Z")
    return F.unhex(F.regexp_replace(marked, "Z", REPLACEMENT_CHARACTER_HEX)).cast("string")


def is_valid_utf8(text: Column) -> Column:
    """Whether the bytes are well-formed UTF-8: decoding and encoding them again changes nothing."""
    return F.decode(text.cast("binary"), "UTF-8") == text


def visitor_key(line: Column, columns: HitColumns) -> Column:
    """The visitor (R3): `ip` and `user_agent` as the stream engine reads them. The one derivation
    both passes use, so a visitor's hits always meet, whatever their bytes.
    """
    raw = F.concat(field(line, columns.ip), F.lit(FIELD_SEPARATOR), field(line, columns.user_agent))
    return F.when(is_valid_utf8(raw), raw).otherwise(python_replaced(raw))


def address_hash(line: Column, columns: HitColumns) -> Column:
    """A 64-bit hash of a hit's `ip` that is equal on every hit of one visitor, whatever its bytes:
    the raw `ip` when it is ASCII (then every reading of it is the same bytes), else one shared
    value, so that such lines always go on to the exact visitor key. It shrinks by whole visitors
    more cheaply than the key itself (no decoding of the user agent).
    """
    ip = field(line, columns.ip)
    # Java's US-ASCII decoder turns each non-ASCII byte into U+FFFD, which re-encodes differently.
    is_ascii = F.decode(ip.cast("binary"), "US-ASCII") == ip
    return F.when(is_ascii, F.xxhash64(ip)).otherwise(F.lit(NON_ASCII_ADDRESS))


def visitor_hash(key: Column) -> Column:
    """A 64-bit hash of a visitor key, used only to shrink: equal visitors always hash equal."""
    return F.xxhash64(key)
