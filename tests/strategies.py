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
