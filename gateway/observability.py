"""Request ids, metrics and logs.

Label values are route templates, methods, status codes and endpoint names only: never SIDs, phone
numbers or credentials. :func:`redact` is applied to anything that might carry a URL or a header before
it reaches a log line.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import csv
import functools
import io
import itertools
import json
import logging
import os
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram

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


_USERINFO = re.compile(r"(?<=//)[^/@\s]+@")
_AUTH_HEADER = re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(basic|bearer)?\s*[^\s\"',}]+")
_TOKEN_PARAM = re.compile(r"(?i)(authtoken|auth_token|password|token)=([^&\s\"']+)")


def redact(text: str) -> str:
    """Remove URL userinfo, Authorization values and token parameters from a string."""
    if "@" in text:
        text = _USERINFO.sub("****@", text)
    lowered = text.lower()
    if "authorization" in lowered:
        text = _AUTH_HEADER.sub(lambda m: m.group(1) + "****", text)
    if "token" in lowered or "password" in lowered:
        text = _TOKEN_PARAM.sub(lambda m: m.group(1) + "=****", text)
    return text


_AUTH_TOKEN_NAME = re.compile(r"(?i)auth[-_]?token")
_AUTH_TOKEN_MARKUP = (
    re.compile(r"(?is)(<(auth_?token)\b[^>/]*>)(.*?)(</\2\s*>)"),  # XML, also a CDATA section
    re.compile(r"""(?is)(<(\w+)\b[^>]*\bclass\s*=\s*["']auth-token["'][^>]*>)(.*?)(</\2\s*>)"""),  # HTML
)
_AUTH_TOKEN_JSON = re.compile(r'(?i)("auth_?token"\s*:\s*)("(?:[^"\\]|\\.)*")')
_AUTH_TOKEN_HEADER = re.compile(r'(?i)(?:^|,)"?auth_?token"?(?:,|\r?$)')


def redact_auth_tokens(text: str) -> str:
    """Every non-empty AuthToken value in a document written as XML (``<AuthToken>``), HTML
    (``class="auth-token"``), JSON (``"AuthToken"``/``"auth_token"``) or CSV (an ``AuthToken`` column)
    replaced by ``****``: an account list carries its subaccounts' tokens, not only the caller's own."""
    if ("k" not in text and "K" not in text) or _AUTH_TOKEN_NAME.search(text) is None:
        return text  # a case-blind search is slow; a search for one character is not
    if "<" in text:
        for pattern in _AUTH_TOKEN_MARKUP:
            text = pattern.sub(lambda m: m[1] + ("****" if m[3] else "") + m[4], text)
    if '"' in text:
        text = _AUTH_TOKEN_JSON.sub(lambda m: m[1] + ('"****"' if m[2] != '""' else m[2]), text)
    if _AUTH_TOKEN_HEADER.search(text.partition("\n")[0]):
        text = _csv_without_tokens(text)
    return text


def _csv_without_tokens(text: str) -> str:
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return text
    columns = {i for i, name in enumerate(rows[0]) if _AUTH_TOKEN_NAME.fullmatch(name.strip())}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(rows[0])
    writer.writerows(
        ["****" if i in columns and value else value for i, value in enumerate(row)] for row in rows[1:]
    )
    return out.getvalue()


_SHORTEST_SECRET = 8
"""Parts shorter than this are not scrubbed on their own: they would match ordinary text."""


@functools.lru_cache(maxsize=256)
def credentials_in(authorization: str | None) -> tuple[bytes, ...]:
    """What an echo of an ``Authorization`` value could carry, longest first: the raw value, its
    credentials part (the base64 of ``sid:token``) and, for Basic, the decoded pair and the token."""
    if not authorization:
        return ()
    raw = authorization.strip()
    found = {raw}
    scheme, _, credentials = raw.partition(" ")
    credentials = credentials.strip()
    found.add(credentials)
    if scheme.lower() == "basic":
        try:
            pair = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            pair = ""
        found.update((pair, pair.partition(":")[2]))
    variants = {text.replace("/", "\\/") for text in found} | found  # JSON may escape '/'
    parts = (text.encode() for text in variants if len(text) >= _SHORTEST_SECRET)
    return tuple(sorted(parts, key=len, reverse=True))


def scrub(body: bytes, secrets: tuple[bytes, ...]) -> bytes:
    """``body`` with every secret replaced by ``****`` (the same object when none occurs)."""
    for secret in secrets:
        if secret in body:
            body = body.replace(secret, b"****")
    return body


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
