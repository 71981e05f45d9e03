"""The files a run leaves in its output directory (R8), written so none is ever half-written."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import IO, Any, Final

from search_revenue.outbound import OutputNames
from search_revenue.report.money import format_revenue
from search_revenue.report.results import EngineResult, RejectedRow, render_reject, render_table

PARTIAL_SUFFIX: Final = ".partial"


class RejectsFile:
    """Writes rejected rows to a partial file, created on the first reject, kept on `commit` (R2)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._partial = path.with_name(path.name + PARTIAL_SUFFIX)
        self._file: IO[str] | None = None
        self.count = 0

    def __call__(self, row: RejectedRow) -> None:
        if self._file is None:
            self._file = open(self._partial, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 - closed below
        self._file.write(render_reject(row))
        self.count += 1

    def commit(self) -> Path | None:
        """Move the rejects into place; return the path, or None when no row was rejected."""
        self._close()
        if self.count == 0:
            self.path.unlink(missing_ok=True)
            return None
        os.replace(self._partial, self.path)
        return self.path

    def discard(self) -> None:
        """Remove the partial file of a failed run."""
        self._close()
        self._partial.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def write_atomically(path: Path, text: str) -> None:
    """Write a whole file under a temporary name, then rename it into place."""
    partial = path.with_name(path.name + PARTIAL_SUFFIX)
    partial.write_text(text, encoding="utf-8", newline="\n")
    os.replace(partial, path)


def summary_document(*, source: str, source_version: str | None = None, engine: str, run_date: date,
                     result: EngineResult, seconds: float, settings: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Build the run summary: what was read, rejected, purchased, attributed (R2, R7)."""
    totals = result.totals
    return {
        "input": source,
        # The outbound bucket is versioned; this names which upload of the input a report is for.
        "input_version": source_version,
        "engine": engine,
        "run_date": run_date.isoformat(),
        "rows_read": totals.rows_read,
        "rejected": totals.rejected,
        "purchases": totals.purchases,
        "total_revenue": format_revenue(totals.total_revenue),
        "attributed_purchases": totals.attributed_purchases,
        "attributed_revenue": format_revenue(totals.attributed_revenue),
        "unattributed_purchases": totals.unattributed_purchases,
        "unattributed_revenue": format_revenue(totals.unattributed_revenue),
        "keywords": len(result.keyword_revenue),
        "seconds": round(seconds, 3),
        "settings": settings,
    }


def write_outputs(output_dir: Path, names: OutputNames, result: EngineResult, summary: dict[str, Any]) -> Path:
    """Write the table and the summary; return the table's path (R8)."""
    output_dir.mkdir(parents=True, exist_ok=True)
    table = output_dir / names.table
    write_atomically(table, render_table(result.keyword_revenue))
    write_atomically(output_dir / names.summary, json.dumps(summary, indent=2) + "\n")
    return table
