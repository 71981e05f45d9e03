"""Where a run's report lands: the outbound layout both halves of the package agree on (R8).

The Glue job writes these names; the control plane records and points operators at them. Standard
library only, so every Lambda zip can carry it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

TABLE_SUFFIX: Final = "_SearchKeywordPerformance.tab"
REJECTS_SUFFIX: Final = "_SearchKeywordPerformance_rejects.tsv"
SUMMARY_SUFFIX: Final = "_SearchKeywordPerformance_summary.json"


@dataclass(frozen=True, slots=True)
class OutputNames:
    """File names of one run's outputs (R8)."""

    table: str
    rejects: str
    summary: str

    @classmethod
    def for_run_date(cls, run_date: date) -> OutputNames:
        """Name the outputs after the run date, `YYYY-MM-DD_SearchKeywordPerformance.tab` (R8)."""
        stem = run_date.isoformat()
        return cls(stem + TABLE_SUFFIX, stem + REJECTS_SUFFIX, stem + SUMMARY_SUFFIX)


def dated_folder(output_uri: str, run_date: date) -> str:
    """Where a run date's files go under the outbound location: `<output_uri>/YYYY-MM-DD`."""
    return f"{output_uri.rstrip('/')}/{run_date.isoformat()}"
