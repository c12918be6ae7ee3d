"""Tokens never reach a log line: uvicorn logs request paths with their query string, and
WebSocket clients that cannot send headers pass their JWT as `?token=`.

`log_config()` is uvicorn's own logging config with the filter on both handlers (`tandem
serve` uses it); `install()` adds it to uvicorn's loggers for processes started some other
way (the `uvicorn` command in docker-compose, the benchmarks).
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

_TOKEN = re.compile(r"(token=)[^&\s\"']+", re.IGNORECASE)
REDACTED = r"\1[redacted]"
LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    return _TOKEN.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    """Rewrites `token=<value>` to `token=[redacted]` in the message and its arguments.

    The arguments are redacted one by one, not merged into the message: uvicorn's access
    formatter unpacks them (client, method, path, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's default logging config, with every handler redacting tokens."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": "api.logs.RedactTokens"}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_tokens")
    return config


def install() -> None:
    """Add the filter to uvicorn's loggers, once, whatever configured them."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
