"""R4: tell an external search hit from its referrer, and read its keyword."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import unquote_plus, urlsplit

import tldextract

WEB_SCHEMES = frozenset({"http", "https"})
# R4: only ASCII white space separates words in a keyword; other Unicode spaces are kept.
ASCII_WHITESPACE = " \t\n\r\f\v"
_WHITESPACE_RUN = re.compile(f"[{re.escape(ASCII_WHITESPACE)}]+")

# The public suffix list snapshot bundled with tldextract: no network access, so every run of
# every engine resolves a host the same way, offline.
_SUFFIX_LIST = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class SearchReferral(NamedTuple):
    """An external search engine's registrable domain and the normalised keyword (R4)."""

    domain: str
    keyword: str


@functools.lru_cache(maxsize=65536)
def registrable_domain(host: str) -> tuple[str, str] | None:
    """Return (registrable domain, its first label) of a host by public suffix rules (R4)."""
    parts = _SUFFIX_LIST(host)
    if not parts.domain or not parts.suffix:
        return None
    return f"{parts.domain}.{parts.suffix}", parts.domain


def normalise_keyword(raw_value: str) -> str:
    """Decode a query value as form data, collapse ASCII white space and lower-case it (R4)."""
    decoded = unquote_plus(raw_value, encoding="utf-8", errors="replace")
    # R4: engines treat "Ipod", " ipod " and "IPOD" as one query, and the client reports them together.
    return _WHITESPACE_RUN.sub(" ", decoded).strip(" ").lower()


def first_query_value(query: str, name: str) -> str | None:
    """Return the raw value of the first `name` parameter of a query string, if any (R4)."""
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key == name:
            return value
    return None


def parse_search_referrer(referrer: str, engines: Mapping[str, str]) -> SearchReferral | None:
    """Return the engine domain and keyword when a referrer is an external search (R4)."""
    if "?" not in referrer:  # no query string, so no keyword: skip URL parsing on the hot path
        return None
    try:
        parts = urlsplit(referrer)
        host = parts.hostname
    except ValueError:  # e.g. an unbalanced IPv6 bracket: not a URL we can read
        return None
    if parts.scheme not in WEB_SCHEMES or not host:
        return None
    domain = registrable_domain(host)
    if domain is None:
        return None
    parameter = engines.get(domain[1])
    if parameter is None:
        return None
    raw_keyword = first_query_value(parts.query, parameter)
    if raw_keyword is None:
        return None
    keyword = normalise_keyword(raw_keyword)
    return SearchReferral(domain[0], keyword) if keyword else None
