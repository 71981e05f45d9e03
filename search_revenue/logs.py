"""Structured logs: one JSON object per line, carrying the run id and input key."""

from __future__ import annotations

import json
import logging
from typing import Final

CORRELATION_FIELDS: Final = ("run_id", "input_key", "line_no", "table")


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON line, keeping our correlation fields."""

    def format(self, record: logging.LogRecord) -> str:
        document = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        document |= {key: getattr(record, key) for key in CORRELATION_FIELDS if hasattr(record, key)}
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str)


def configure_json_logging(level: int = logging.INFO) -> None:
    """Send this package's logs to stderr as JSON lines; for entry points only."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    package = logging.getLogger("search_revenue")
    package.handlers = [handler]
    package.setLevel(level)
    package.propagate = False
