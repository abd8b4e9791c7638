"""Structured logs: one JSON object per line on standard error.

Fields: ``ts`` (UTC, ISO 8601), ``level``, ``logger``, ``msg`` and whatever the call passed in
``extra`` (bill ids, statuses, error types, timings, HTTP method/route/status). Nothing secret
and nothing a customer keeps private is ever passed to a log call.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in vars(record).items():
            if k not in _STANDARD and not k.startswith("_") and k != "color_message":
                out[k] = v if isinstance(v, str | int | float | bool | type(None)) else str(v)
        if record.exc_info and record.exc_info[0] is not None:
            out["exc_type"] = record.exc_info[0].__name__
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, separators=(",", ":"))


def setup(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "procrastinate"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)  # the app logs requests
    logging.getLogger("procrastinate").setLevel(logging.WARNING)


def uvicorn_log_config() -> dict[str, Any]:
    """Keep uvicorn from installing its own handlers (the root JSON handler is used)."""
    return {"version": 1, "disable_existing_loggers": False}
