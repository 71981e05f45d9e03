"""R4 as a pure function: engine, registrable domain, keyword."""

from __future__ import annotations

import pytest

from search_revenue.report.referrers import SearchReferral, first_query_value, normalise_keyword, parse_search_referrer
from search_revenue.report.settings import DEFAULT_SEARCH_ENGINES


@pytest.mark.parametrize(
    ("referrer", "expected"),
    [
        ("http://www.google.com/search?q=Ipod", ("google.com", "ipod")),
        ("http://google.com/?q=ipod", ("google.com", "ipod")),
        ("http://www.google.co.uk/search?q=ipod", ("google.co.uk", "ipod")),
        ("http://uk.search.yahoo.com/search?p=cd+player", ("yahoo.com", "cd player")),
        ("http://user:pw@www.bing.com:443/search?q=zune", ("bing.com", "zune")),
        ("http://www.msn.com/results?q=zune", ("msn.com", "zune")),
        ("http://www.google.com/search?q=caf%E9", ("google.com", "caf\ufffd")),
        ("http://www.google.com/search?q=%F0%9F%8E%A7+x", ("google.com", "\U0001f3a7 x")),
        ("http://www.google.com/search?q=a%2Bb", ("google.com", "a+b")),
        ("http://www.google.com/search?q=100%", ("google.com", "100%")),
        ("http://www.google.com/search?q=a\u00a0b", ("google.com", "a\u00a0b")),
        ("http://www.google.com/search?q=ipod#q=zune", ("google.com", "ipod")),
    ],
)
def test_parse_search_referrer_finds_engine_and_keyword(referrer: str, expected: tuple[str, str]) -> None:
    assert parse_search_referrer(referrer, DEFAULT_SEARCH_ENGINES) == SearchReferral(*expected)


@pytest.mark.parametrize(
    "referrer",
    [
        "",
        "http://www.esshopzilla.com/search/?k=ipod",
        "http://googleusercontent.com/?q=ipod",
        "http://www.google.com/search?oq=ipod&aq=ipod",
        "http://www.google.com/search?Q=ipod",
        "http://www.google.com/search?q=",
        "http://www.google.com/search?q&q=ipod",
        "mailto:someone@google.com?q=ipod",
        "http://192.168.0.1/?q=ipod",
        "http://[::1/?q=ipod",
        "www.google.com/search?q=ipod",
    ],
)
def test_parse_search_referrer_rejects_non_searches(referrer: str) -> None:
    assert parse_search_referrer(referrer, DEFAULT_SEARCH_ENGINES) is None


def test_parse_search_referrer_uses_the_configured_table() -> None:
    assert parse_search_referrer("http://shop.example.com/?find=x", {"example": "find"}) == ("example.com", "x")
    assert parse_search_referrer("http://www.google.com/?q=x", {"example": "find"}) is None


def test_normalise_keyword_collapses_ascii_white_space_only() -> None:
    assert normalise_keyword("+%09Zune%0B%0C+HD%0D%0A+") == "zune hd"


def test_first_query_value_takes_the_first_exact_name() -> None:
    assert first_query_value("aq=1&q=first&q=second", "q") == "first"
    assert first_query_value("aq=1", "q") is None
