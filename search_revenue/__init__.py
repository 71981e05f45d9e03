"""Search keyword performance: revenue that external search engines bring, by keyword.

Two halves: `search_revenue.report` (rules, engines, CLI: what the Glue job runs) and
`search_revenue.pipeline` (trigger, ledger, retries, alerts: what the Lambdas run). `errors`, `logs`
and `outbound` are shared by both. The public names load lazily, so a Lambda importing the control
plane never pulls in the engines and their dependencies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from search_revenue.report.performance import SearchKeywordPerformance
    from search_revenue.report.settings import RuleSettings

__all__ = ["RuleSettings", "SearchKeywordPerformance"]


def __getattr__(name: str) -> Any:
    if name == "SearchKeywordPerformance":
        from search_revenue.report.performance import SearchKeywordPerformance

        return SearchKeywordPerformance
    if name == "RuleSettings":
        from search_revenue.report.settings import RuleSettings

        return RuleSettings
    raise AttributeError(name)
