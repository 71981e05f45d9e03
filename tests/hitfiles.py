"""Build hit level data files for tests: rows as dicts, any header order, any line end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from search_revenue.report.hit_rows import EXPECTED_COLUMNS

UA_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; rv:120.0) Gecko/20100101 Firefox/120.0"
UA_SAFARI = '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_4_11) AppleWebKit/525.27.1 Safari/525.27.1"'
GOOGLE_IPOD = "http://www.google.com/search?hl=en&q=Ipod&aq=f"
BING_ZUNE = "http://www.bing.com/search?q=Zune&go=&form=QBLH"
SHOP = "http://www.esshopzilla.com/cart/"

DEFAULTS: Mapping[str, str] = {
    "hit_time_gmt": "1000",
    "date_time": "2009-09-27 06:34:40",
    "user_agent": UA_FIREFOX,
    "ip": "10.0.0.1",
    "event_list": "",
    "geo_city": "Salem",
    "geo_region": "OR",
    "geo_country": "US",
    "pagename": "Home",
    "page_url": "http://www.esshopzilla.com",
    "product_list": "",
    "referrer": SHOP,
}


def hit(**values: str | int) -> dict[str, str]:
    """One hit with defaults for every column not given."""
    row = dict(DEFAULTS)
    row.update({name: str(value) for name, value in values.items()})
    return row


def search(time: int, referrer: str = GOOGLE_IPOD, **values: str | int) -> dict[str, str]:
    """A hit that arrives from an external search."""
    return hit(hit_time_gmt=time, referrer=referrer, **values)


def purchase(time: int, revenue: str = "100", **values: str | int) -> dict[str, str]:
    """A purchase hit of one product with the given total revenue."""
    return hit(hit_time_gmt=time, event_list="1", product_list=f"Electronics;Ipod;1;{revenue};", **values)


Rows = Sequence[Mapping[str, str] | str]


def hit_text(
    rows: Rows,
    *,
    columns: Sequence[str] = EXPECTED_COLUMNS,
    line_end: str = "\n",
    final_line_end: bool = True,
    bom: bool = False,
) -> str:
    """Render rows (dicts, or raw strings taken verbatim) as a hit level data file."""
    lines = ["\t".join(columns)]
    for row in rows:
        lines.append(row if isinstance(row, str) else "\t".join(row[name] for name in columns))
    text = line_end.join(lines) + (line_end if final_line_end else "")
    return ("\ufeff" if bom else "") + text


def write_hits(path: Path, rows: Rows, **options: object) -> Path:
    """Write rows as a UTF-8 hit file and return its path."""
    path.write_bytes(hit_text(rows, **options).encode("utf-8"))  # type: ignore[arg-type]
    return path


ByteRows = Sequence[Mapping[str, bytes] | bytes]


def write_hit_bytes(
    path: Path, rows: ByteRows, *, columns: Sequence[str] = EXPECTED_COLUMNS, line_end: bytes = b"\n"
) -> Path:
    """Write rows whose fields are raw bytes (any encoding, or none) as a hit file and return its path."""
    lines = [b"\t".join(name.encode() for name in columns)]
    lines += [row if isinstance(row, bytes) else b"\t".join(row[name] for name in columns) for row in rows]
    path.write_bytes(b"".join(line + line_end for line in lines))
    return path
