"""Request ids, metrics and logs.

Label values are route templates, methods, status codes and endpoint names only: never SIDs, phone
numbers or credentials. :func:`gateway.redaction.redact` is applied to anything that might carry a URL
or a header before it reaches a log line.
"""

from __future__ import annotations

import contextvars
import functools
import itertools
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram

from gateway.redaction import redact

REGISTRY = CollectorRegistry(auto_describe=True)

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "gateway_requests_total",
    "Legacy requests by route template, method and status.",
    ("route", "method", "status"),
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "gateway_request_duration_seconds",
    "Time to answer a legacy request.",
    ("route", "method"),
    buckets=_BUCKETS,
    registry=REGISTRY,
)
UPSTREAM_REQUESTS = Counter(
    "gateway_upstream_requests_total",
    "Upstream requests by endpoint, method and status (or timeout/error).",
    ("endpoint", "method", "status"),
    registry=REGISTRY,
)
UPSTREAM_SECONDS = Histogram(
    "gateway_upstream_duration_seconds",
    "Time of one upstream request.",
    ("endpoint", "method"),
    buckets=_BUCKETS,
    registry=REGISTRY,
)
TRANSLATION_ERRORS = Counter(
    "gateway_translation_errors_total",
    "Legacy requests answered with a RestException, by class.",
    ("error",),
    registry=REGISTRY,
)
LIST_CACHE = Counter(
    "gateway_list_cache_total",
    "List view look-ups: hit (a page from a kept view), miss (a fresh count), or invalidated by a write.",
    ("result",),
    registry=REGISTRY,
)
CACHE_FALLBACK = Counter(
    "gateway_cache_fallback_total",
    "Operations of the shared list cache (Redis) that failed and were served in process, by operation.",
    ("operation",),
    registry=REGISTRY,
)
UNDECLARED_PARAMS = Counter(
    "gateway_undeclared_params_total",
    "Write parameters the 2008 operation does not declare, dropped before the upstream, by resource, "
    "operation and name ('other' for a name the gateway does not know).",
    ("resource", "operation", "param"),
    registry=REGISTRY,
)
SHADOW_DIFFS = Counter(
    "gateway_shadow_diffs_total",
    "Shadow comparisons against a legacy upstream, by route and result (same, different, error, skipped).",
    ("route", "result"),
    registry=REGISTRY,
)


@dataclass
class Exchange:
    request_id: str
    route: str = "unmatched"
    upstream_calls: int = 0
    upstream_seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)
    endpoint: str | None = None
    trace_headers: dict[str, str] | None = None
    """The client's W3C trace context, sent on upstream calls (gateway/tracing.py)."""
    trace: Any = None
    """With OpenTelemetry on: (tracer, server span)."""


CURRENT: contextvars.ContextVar[Exchange | None] = contextvars.ContextVar("gateway_exchange", default=None)


_PROCESS_ID = os.urandom(8).hex()
_SEQUENCE = itertools.count()


def new_request_id() -> str:
    """32 hex digits: a random per-process prefix and a counter (unique, and cheap on the hot path)."""
    return f"{_PROCESS_ID}{next(_SEQUENCE) & 0xFFFFFFFFFFFFFFFF:016x}"


@functools.lru_cache(maxsize=4096)
def _upstream_children(endpoint: str, method: str, status: str) -> tuple[Any, Any]:
    return UPSTREAM_REQUESTS.labels(endpoint, method, status), UPSTREAM_SECONDS.labels(endpoint, method)


@functools.lru_cache(maxsize=4096)
def request_children(route: str, method: str, status: str) -> tuple[Any, Any]:
    """The labelled children of the request metrics (labels are bounded: templates, methods, codes)."""
    return REQUESTS.labels(route, method, status), REQUEST_SECONDS.labels(route, method)


def upstream_call(endpoint: str, method: str, status: str, seconds: float) -> None:
    counter, histogram = _upstream_children(endpoint, method, status)
    counter.inc()
    histogram.observe(seconds)
    exchange = CURRENT.get()
    if exchange is not None:
        exchange.upstream_calls += 1
        exchange.upstream_seconds += seconds


def set_route(route: str) -> None:
    exchange = CURRENT.get()
    if exchange is not None:
        exchange.route = route


class JsonFormatter(logging.Formatter):
    """One JSON object a line; the access log writes one per request, so the time's seconds are
    formatted once a second and the object is written by orjson (a third of the formatter's cost)."""

    _second: tuple[int, str] = (-1, "")

    def stamp(self, created: float) -> str:
        whole = int(created)
        if self._second[0] != whole:
            self._second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
        return f"{self._second[1]}.{int((created - whole) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        extra = getattr(record, "access", None)
        if isinstance(extra, dict):
            return self.access(record.created, record.name, extra)
        payload: dict[str, object] = {
            "time": self.stamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            payload["error"] = redact(self.formatException(record.exc_info))
        return _dumps(payload)

    def access(self, created: float, name: str, fields: dict[str, object]) -> str:
        """An access line: the request's fields after the time, level and logger."""
        return _dumps({"time": self.stamp(created), "level": "info", "logger": name, **fields})


def _dumps(payload: dict[str, object]) -> str:
    try:
        return orjson.dumps(payload).decode()
    except TypeError:  # a value orjson refuses (a lone surrogate, an unknown type)
        return json.dumps(payload, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = getattr(record, "access", None)
        if isinstance(extra, dict):
            return self.access(record.created, record.name, extra)
        return redact(super().format(record))

    def access(self, created: float, name: str, fields: dict[str, object]) -> str:
        return " ".join(f"{key}={value}" for key, value in fields.items())


class LineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The process's log handler. The access log (a line per request) goes through :meth:`access`:
    the line its formatter would make of a record, written without making the record."""

    def __init__(self, formatter: JsonFormatter | TextFormatter) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(formatter)
        self.lines = formatter

    def access(self, name: str, fields: dict[str, object]) -> None:
        line = self.lines.access(time.time(), name, fields) + self.terminator
        with self.lock:  # type: ignore[union-attr]
            try:
                self.stream.write(line)
                self.flush()
            except Exception:  # as emit does: a log that cannot be written never fails the request
                self.handleError(logging.makeLogRecord({"msg": line}))


_ACCESS = logging.getLogger("gateway.access")
_GATEWAY = logging.getLogger("gateway")


def write_access(fields: dict[str, object]) -> bool:
    """Write an access line straight through the configured handler; ``False`` when logging is set
    up otherwise (another handler or filter added): the caller then makes a record as usual."""
    handlers = _GATEWAY.handlers
    if _ACCESS.handlers or _ACCESS.filters or _GATEWAY.filters or len(handlers) != 1:
        return False
    handler = handlers[0]
    if not isinstance(handler, LineHandler) or handler.filters or handler.level > logging.INFO:
        return False
    handler.access(_ACCESS.name, fields)
    return True


def configure_logging(level: str, fmt: str) -> None:
    handler = LineHandler(JsonFormatter() if fmt == "json" else TextFormatter())
    for name in ("gateway", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    logging.Formatter.converter = time.gmtime
    # No formatter reads them; each costs a call per record (the access log makes one per request).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
