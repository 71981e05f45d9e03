"""Search keyword performance: revenue that external search engines bring, by keyword."""

from search_revenue.performance import SearchKeywordPerformance
from search_revenue.settings import RuleSettings

__all__ = ["RuleSettings", "SearchKeywordPerformance"]
