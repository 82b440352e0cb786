"""Structured logs: one JSON object per line, each tagged with the request it belongs to.

The API's request middleware (:mod:`tollgate.api.middleware`) puts the id of the
request being served in :data:`REQUEST_ID`; :class:`RequestIdFilter` copies it onto
every record, whichever logger emitted it (ours, SQLAlchemy's, the web server's), and
:class:`JsonFormatter` writes the record as one line of JSON::

    {"timestamp": "2026-01-01T00:00:00.000Z", "level": "INFO", "logger": "tollgate.access",
     "message": "GET /v1/accounts/acme 200", "request_id": "9f1c…", "method": "GET",
     "path": "/v1/accounts/acme", "status": 200, "duration_ms": 3.2}

``tollgate serve`` sets this up; an application embedding Tollgate calls
:func:`configure_logging` (or hands :func:`logging_config` to its own server).

Nothing secret is ever logged: the access line names the method, path and status,
never a header, a query string or a body.
"""

from __future__ import annotations

import json
import logging
import logging.config
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# The id of the request being served in this context, None outside a request.
REQUEST_ID: ContextVar[str | None] = ContextVar("tollgate_request_id", default=None)

# Attributes every LogRecord has; anything else on a record came from ``extra=``
# (uvicorn adds ``color_message``, the message again with terminal colours).
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
    "color_message",
}


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id`` to the id of the request being served (or None)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON: timestamp (UTC), level, logger, message,
    request_id, the record's ``extra`` fields, and the traceback if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRIBUTES and not name.startswith("_"):
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` dictionary: every logger, uvicorn's included,
    writes JSON lines to stderr. uvicorn takes it as ``log_config`` (a dictionary, not a
    function, so that each worker process applies it too)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "tollgate.logs.RequestIdFilter"}},
        "formatters": {"json": {"()": "tollgate.logs.JsonFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "json",
                "filters": ["request_id"],
            }
        },
        "root": {"level": level.upper(), "handlers": ["stderr"]},
        "loggers": {
            # uvicorn's own handlers would print plain text; send its records to ours.
            **{
                name: {"handlers": [], "propagate": True}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
            },
            # Alembic says "Context impl …" at INFO on every /readyz.
            "alembic": {"level": "WARNING"},
        },
    }


def configure_logging(level: str = "INFO") -> None:
    """Write every log record to stderr as one JSON object per line, tagged with the
    request id. For applications that serve :func:`tollgate.api.create_app` themselves."""
    logging.config.dictConfig(logging_config(level))
