"""Hypothesis strategies for hit level data files that stress R1-R8."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.hitfiles import UA_FIREFOX, UA_SAFARI, hit

REFERRER_SAMPLES = [
    "http://www.google.com/search?q=Ipod",
    "http://www.google.com/search?hl=en&q=ipod+nano&aq=f",
    "http://www.google.co.uk/search?q=IPOD%20Nano",
    "http://www.bing.com/search?q=Zune&form=QBLH",
    "http://uk.search.yahoo.com/search?p=cd+player",
    "http://search.yahoo.com/search?q=wrong+param",
    "http://www.google.com/search?q=caf%E9",
    "http://www.google.com/search?aq=x&oq=y",
    "http://www.google.com/search?q=+",
    "http://lh3.googleusercontent.com/?q=ipod",
    "http://www.esshopzilla.com/search/?k=Ipod",
    "http://www.esshopzilla.com/cart/",
    "https://duckduckgo.com/?q=Zune+HD",
    "",
]
EVENT_SAMPLES = ["", "1", "2", "10", "11", "21", "100", "2,1", " 1 ", "12,1", "1,10"]
PRODUCT_SAMPLES = [
    "", "Electronics;Ipod;1;190;", "E;Zune;1;250;,E;Case;2;9.99;", "E;X;1;-20;", "E;X;1;0.005;",
    "E;X;1;;", "E;X", "E;X;1;0.125;,E;Y;1;0.125;", "E;X;1;12a;", "E;X;1;" + "1" * 19 + ";",
]  # fmt: skip
AGENTS = [UA_FIREFOX, UA_SAFARI, UA_SAFARI.strip('"')]
IPS = ["10.0.0.1", "10.0.0.2", "67.98.123.1"]


@st.composite
def hit_rows(draw: st.DrawFn, max_rows: int = 40) -> list[dict[str, str] | str]:
    """Rows for a hit file: a few visitors, times around the visit timeout, any row order."""
    times = st.integers(min_value=0, max_value=12_000).map(str) | st.sampled_from(["-1", "x", "1800", "3600"])
    row = st.builds(
        lambda time, ip, agent, events, products, referrer: hit(
            hit_time_gmt=time, ip=ip, user_agent=agent, event_list=events, product_list=products, referrer=referrer
        ),
        times,
        st.sampled_from(IPS),
        st.sampled_from(AGENTS),
        st.sampled_from(EVENT_SAMPLES),
        st.sampled_from(PRODUCT_SAMPLES),
        st.sampled_from(REFERRER_SAMPLES),
    )
    broken = st.sampled_from(["", "only\ttwo", "1000\tx"])
    rows: list[dict[str, str] | str] = draw(st.lists(row | broken, max_size=max_rows))
    return rows


# Bytes that decode differently in Java and Python, or not at all: Latin-1, an encoded surrogate
# (one U+FFFD in Java 17, three in Python), what Python makes of it spelled out, a truncated
# character (before a tab, or before CRLF when it ends the line), NUL, a lone CR.
TRICKY_BYTES = [
    b"", b"\xe9", b"\xff", b"\xed\xa0\x80", "\ufffd\ufffd\ufffd".encode(), "\ufffd".encode(), b"\xe3\x81",
    b"\xf0\x9f\x98", b"\xc0\xaf", b"\x00", b"\r", b"a\rb", "caf\u00e9".encode(), "\U0001f600".encode(),
]  # fmt: skip
# Visitor parts that Python's decoding makes equal (`\xe9`, `\xff` and `\xe3\x81` are each one
# U+FFFD) and raw bytes do not, and the reverse for the surrogate.
TRICKY_IPS = [b"10.0.0.1", b"10.0.0.\xe9", b"10.0.0.\xff", b"10.0.0.\xe3\x81", "10.0.0.\ufffd".encode()]
TRICKY_AGENTS = [UA_FIREFOX.encode(), b"Mozilla \xed\xa0\x80", "Mozilla \ufffd\ufffd\ufffd".encode(),
                 b"Mozilla \xe9", b"Mozilla \xed\xa0", b"\x00\r"]  # fmt: skip


def _without_separators(value: bytes) -> bytes:
    return value.replace(b"\t", b"").replace(b"\n", b"")


def raw_bytes(samples: list[str]) -> st.SearchStrategy[bytes]:
    """A field value: a meaningful sample, a sample with tricky bytes appended, tricky bytes, or any bytes."""
    meaningful = st.sampled_from([sample.encode() for sample in samples])
    tricky = st.sampled_from(TRICKY_BYTES)
    arbitrary = st.binary(max_size=8).map(_without_separators)
    return meaningful | st.tuples(meaningful, tricky).map(b"".join) | tricky | arbitrary


@st.composite
def byte_hit_rows(draw: st.DrawFn, max_rows: int = 30) -> list[dict[str, bytes] | bytes]:
    """Rows of raw bytes in every field, `ip` and `user_agent` included, with a few visitors."""
    times = st.integers(min_value=0, max_value=12_000).map(lambda t: str(t).encode()) | raw_bytes(["1800", "-1"])
    fields = {
        "hit_time_gmt": times,
        "ip": st.sampled_from(TRICKY_IPS) | raw_bytes(IPS),
        "user_agent": st.sampled_from(TRICKY_AGENTS) | raw_bytes(AGENTS),
        "event_list": raw_bytes(EVENT_SAMPLES),
        "product_list": raw_bytes(PRODUCT_SAMPLES),
        "referrer": raw_bytes(REFERRER_SAMPLES),
    }
    defaults = {name: st.just(value.encode()) for name, value in hit().items()}
    row = st.fixed_dictionaries({**defaults, **fields, "pagename": raw_bytes(["Home"])})
    broken = st.binary(max_size=12).map(_without_separators)
    rows: list[dict[str, bytes] | bytes] = draw(st.lists(row | broken, max_size=max_rows))
    return rows
