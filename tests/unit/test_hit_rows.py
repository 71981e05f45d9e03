"""R1 and R2 as pure functions: header, line decoding, hit times."""

from __future__ import annotations

import io

import pytest

from search_revenue.errors import DuplicateColumnsError, InputNotTextError, MissingColumnsError
from search_revenue.report.hit_rows import EXPECTED_COLUMNS, decode_line, is_hit_time, parse_header, read_line_batches


def test_parse_header_finds_columns_by_name() -> None:
    columns = parse_header("\ufeff" + "\t".join(reversed(EXPECTED_COLUMNS)), "f.tsv")
    assert columns.field_count == 12
    assert columns.referrer == 0
    assert columns.hit_time_gmt == 11


def test_parse_header_names_missing_and_present_columns() -> None:
    with pytest.raises(MissingColumnsError) as caught:
        parse_header("hit_time_gmt\tip\tfoo", "in/f.tsv")
    assert caught.value.missing == ["event_list", "product_list", "referrer", "user_agent"]
    assert "in/f.tsv: missing required columns: event_list, product_list, referrer, user_agent" in str(caught.value)
    assert "header has: hit_time_gmt, ip, foo" in str(caught.value)


def test_parse_header_refuses_duplicates_and_binary() -> None:
    with pytest.raises(DuplicateColumnsError, match="ip"):
        parse_header("\t".join([*EXPECTED_COLUMNS, "ip"]), "f")
    with pytest.raises(InputNotTextError):
        parse_header("PK\x03\x04\x00", "f")


@pytest.mark.parametrize(
    ("raw", "line"),
    [(b"a\tb\r\n", "a\tb"), (b"a\n", "a"), (b"a", "a"), (b"a\r\r\n", "a\r"), (b"a\rb\n", "a\rb"),
     (b"caf\xe9\n", "caf\ufffd")],
)  # fmt: skip
def test_decode_line(raw: bytes, line: str) -> None:
    assert decode_line(raw) == line


@pytest.mark.parametrize("batch_bytes", [1, 3, 7, 1 << 20])
def test_read_line_batches_matches_decode_line_at_any_batch_size(batch_bytes: int) -> None:
    data = b"h1\th2\r\n\r\nx\r\r\ncaf\xc3\xa9\xe9\ny\rz\nlast\r"
    lines = [line for batch in read_line_batches(io.BytesIO(data), batch_bytes) for line in batch]
    assert lines == [decode_line(raw) for raw in io.BytesIO(data)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", True), ("1254033280", True), ("000000000000000000001", True), ("9" * 18, True), ("9" * 19, False),
     ("-1", False), ("1.5", False), ("", False), (" 1", False), ("١٢", False), ("1_000", False), ("²", False)],
)  # fmt: skip
def test_is_hit_time(value: str, expected: bool) -> None:
    assert is_hit_time(value) is expected
