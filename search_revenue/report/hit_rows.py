"""R1 and R2: the header, the columns we read, and why a data row is rejected."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final

from search_revenue.errors import DuplicateColumnsError, InputNotTextError, MissingColumnsError

EXPECTED_COLUMNS: Final = (
    "hit_time_gmt", "date_time", "user_agent", "ip", "event_list", "geo_city",
    "geo_region", "geo_country", "pagename", "page_url", "product_list", "referrer",
)  # fmt: skip
REQUIRED_COLUMNS: Final = ("hit_time_gmt", "user_agent", "ip", "event_list", "product_list", "referrer")
FIELD_SEPARATOR: Final = "\t"
BYTE_ORDER_MARK: Final = "\ufeff"

# R2: a non-negative integer. Up to 18 significant digits, so every engine holds it in a 64-bit
# integer; a longer one is rejected rather than wrapped or rounded.
MAX_HIT_TIME_DIGITS: Final = 18
HIT_TIME: Final = rf"0*[0-9]{{1,{MAX_HIT_TIME_DIGITS}}}"
_HIT_TIME = re.compile(HIT_TIME)

REJECT_FIELD_COUNT: Final = "field count differs from the header"
REJECT_BAD_HIT_TIME: Final = "hit_time_gmt is not a non-negative integer of at most 18 digits"


@dataclass(frozen=True, slots=True)
class HitColumns:
    """Where the required columns are in a file's rows, and how many fields a row has (R1)."""

    field_count: int
    hit_time_gmt: int
    user_agent: int
    ip: int
    event_list: int
    product_list: int
    referrer: int


def strip_line_end(raw: bytes) -> bytes:
    """Drop a line's LF or CRLF end (R1); a lone CR inside a line is data."""
    if raw.endswith(b"\n"):
        raw = raw[:-1]
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw


def decode_line(raw: bytes) -> str:
    """Decode one line as UTF-8, replacing invalid bytes by U+FFFD (R1)."""
    return strip_line_end(raw).decode("utf-8", errors="replace")


def parse_header(header: str, source: str) -> HitColumns:
    """Find the required columns in a header line, by name and in any order (R1).

    Raises:
        InputNotTextError: the line holds NUL bytes or bytes that are not UTF-8: a binary file.
        MissingColumnsError: a required column is absent.
        DuplicateColumnsError: a required column appears twice.
    """
    if "\x00" in header or "\ufffd" in header:
        raise InputNotTextError(source, "the header line holds NUL or non-UTF-8 bytes")
    names = header.removeprefix(BYTE_ORDER_MARK).split(FIELD_SEPARATOR)
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise MissingColumnsError(source, missing, names)
    duplicated = [name for name in REQUIRED_COLUMNS if names.count(name) > 1]
    if duplicated:
        raise DuplicateColumnsError(source, duplicated)
    index = {name: names.index(name) for name in REQUIRED_COLUMNS}
    return HitColumns(field_count=len(names), **index)


def is_hit_time(value: str) -> bool:
    """Tell whether a `hit_time_gmt` value is a non-negative integer we can hold (R2)."""
    if value.isascii() and value.isdigit() and len(value) <= MAX_HIT_TIME_DIGITS:  # the common case, in C
        return True
    return _HIT_TIME.fullmatch(value) is not None


def read_line_batches(stream: BinaryIO, batch_bytes: int = 1 << 22) -> Iterator[list[str]]:
    """Yield a file's lines in batches: decoded (R1), line ends removed, the header first.

    Each batch is cut at an LF, so no line and no multi-byte character is split between two.
    """
    carry = b""
    while True:
        chunk = stream.read(batch_bytes)
        if not chunk:
            break
        cut = chunk.rfind(b"\n")
        if cut < 0:
            carry += chunk
            continue
        text = (carry + chunk[: cut + 1]).decode("utf-8", errors="replace")
        carry = chunk[cut + 1 :]
        # R1: LF or CRLF ends a line; replacing CRLF on the whole batch drops exactly one CR.
        lines = text.replace("\r\n", "\n").split("\n")
        lines.pop()  # the batch ends with LF, so the last item is always empty
        yield lines
    if carry:
        yield [decode_line(carry)]
