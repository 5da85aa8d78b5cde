"""How every process logs: lines for people (``LOG_FORMAT=text``, the default and ``make run``'s),
or one JSON object per line for a log pipeline (``LOG_FORMAT=json``, production).

The code logs through the standard ``logging`` module; in JSON, structlog renders each record
with its level, logger, time, the fields given as ``extra`` (a job's id, queue, attempt,
duration, outcome) and those bound for the request under way (its id, the user's id).
"""
from __future__ import annotations

import logging

import structlog

FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _Ours(logging.StreamHandler):
    """The handler this module installs (replaced, never doubled, when the app is made again)."""


def configure(fmt: str, level: int | str = logging.INFO, stream=None) -> None:
    """Every record through one handler on the root logger, to ``stream`` (standard error)."""
    fmt = (fmt or "text").strip().lower()
    if fmt not in FORMATS:
        raise RuntimeError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    handler = _Ours(stream)
    if fmt == "json":
        shared = [structlog.contextvars.merge_contextvars, structlog.stdlib.add_log_level,
                  structlog.stdlib.add_logger_name, structlog.stdlib.ExtraAdder(),
                  structlog.processors.TimeStamper(fmt="iso", utc=True)]
        handler.setFormatter(structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]))
        structlog.configure(processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
                            logger_factory=structlog.stdlib.LoggerFactory(),
                            wrapper_class=structlog.stdlib.BoundLogger, cache_logger_on_first_use=True)
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not isinstance(h, _Ours)] + [handler]
    root.setLevel(level)


def bind(**fields) -> None:
    """Fields every line logged from here on in this request (or job) carries, in JSON."""
    structlog.contextvars.bind_contextvars(**fields)


def unbind() -> None:
    structlog.contextvars.clear_contextvars()
