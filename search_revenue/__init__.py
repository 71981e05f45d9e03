"""Search keyword performance: revenue that external search engines bring, by keyword.

The public names load lazily, so a Lambda that imports `search_revenue.triggers` does not pull
in the engines and their dependencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from search_revenue.performance import SearchKeywordPerformance
    from search_revenue.settings import RuleSettings

__all__ = ["RuleSettings", "SearchKeywordPerformance"]


def __getattr__(name: str) -> Any:
    if name == "SearchKeywordPerformance":
        from search_revenue.performance import SearchKeywordPerformance

        return SearchKeywordPerformance
    if name == "RuleSettings":
        from search_revenue.settings import RuleSettings

        return RuleSettings
    raise AttributeError(name)
