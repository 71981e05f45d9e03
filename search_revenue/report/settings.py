"""Rule settings (R2, R3, R4, R7), validated once when built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from search_revenue.errors import ConfigError

Attribution = Literal["last", "first"]
ATTRIBUTIONS: tuple[Attribution, ...] = ("last", "first")

DEFAULT_VISIT_TIMEOUT_S = 1800
DEFAULT_MAX_REJECT_RATIO = 0.01

# R4: engine label (first label of the registrable domain) -> keyword query parameter.
DEFAULT_SEARCH_ENGINES: Mapping[str, str] = MappingProxyType(
    {
        "google": "q",
        "bing": "q",
        "yahoo": "p",
        "msn": "q",
        "aol": "q",
        "ask": "q",
        "duckduckgo": "q",
        "ecosia": "q",
        "baidu": "wd",
        "yandex": "text",
    }
)


def _frozen_engines() -> Mapping[str, str]:
    return DEFAULT_SEARCH_ENGINES


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """The settings every engine applies; defaults are the contract's bracketed values."""

    visit_timeout_s: int = DEFAULT_VISIT_TIMEOUT_S
    attribution: Attribution = "last"
    search_engines: Mapping[str, str] = field(default_factory=_frozen_engines)
    max_reject_ratio: float = DEFAULT_MAX_REJECT_RATIO

    def __post_init__(self) -> None:
        if isinstance(self.visit_timeout_s, bool) or not isinstance(self.visit_timeout_s, int):
            raise ConfigError("visit_timeout_s", self.visit_timeout_s, "a whole number of seconds")
        if self.visit_timeout_s < 0:
            raise ConfigError("visit_timeout_s", self.visit_timeout_s, "0 or more seconds")
        if self.attribution not in ATTRIBUTIONS:
            raise ConfigError("attribution", self.attribution, "one of: last, first")
        if not 0 <= self.max_reject_ratio <= 1:
            raise ConfigError("max_reject_ratio", self.max_reject_ratio, "a ratio between 0 and 1")
        if not self.search_engines:
            raise ConfigError("search_engines", dict(self.search_engines), "at least one engine")
        for label, parameter in self.search_engines.items():
            if not label or label != label.lower() or not label.isascii() or "." in label:
                raise ConfigError("search_engines", label, "lower-case ASCII engine labels without dots")
            if not parameter or "&" in parameter or "=" in parameter:
                raise ConfigError("search_engines", parameter, "a query parameter name")
        object.__setattr__(self, "search_engines", MappingProxyType(dict(self.search_engines)))

    def __reduce__(self) -> tuple[object, ...]:
        # A read-only mapping does not pickle; settings travel to worker processes as plain values.
        engines = dict(self.search_engines)
        return (RuleSettings, (self.visit_timeout_s, self.attribution, engines, self.max_reject_ratio))


def parse_attribution(value: str) -> Attribution:
    """Check an attribution model name (R7)."""
    for model in ATTRIBUTIONS:
        if value == model:
            return model
    raise ConfigError("attribution", value, "one of: last, first")


def parse_search_engines(value: str) -> Mapping[str, str]:
    """Parse `label=param,label=param` into an engine table (R4)."""
    engines: dict[str, str] = {}
    for item in value.split(","):
        label, sep, parameter = item.strip().partition("=")
        if not sep:
            raise ConfigError("search_engines", value, "comma-separated label=parameter pairs")
        engines[label.strip()] = parameter.strip()
    return engines
