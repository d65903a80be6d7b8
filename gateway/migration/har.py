"""Recording legacy exchanges as HAR 1.2 (``serve --record FILE.har``).

Redaction happens before anything is written: ``Authorization`` and ``Cookie`` values, URL userinfo and
``AuthToken``/``Password``/``Token`` values (query, form body, response text) become ``****``; so does
every AuthToken value in a body (XML element, JSON member, CSV column, HTML ``div``: an account list
carries its subaccounts' tokens), and the client's own credential (its raw ``Authorization`` value, the
base64 of ``sid:token``, the pair and the token) wherever it occurs in a body, escaped or not — an
upstream that echoes it is not recorded.

The file is valid HAR after every entry: it always ends with the closing ``]}}``, and each new entry is
written together with that trailer in one ``os.pwrite`` at the trailer's offset, so a crash loses at most
the entry in flight. The entry is written once the response has gone to the client. When the next entry
would take the file over the size limit, the file is rotated to ``FILE.1`` (replacing an older one) and a
new file is started.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from prometheus_client import Counter

from gateway import __version__
from gateway.asgi import ASGIApp, Message, Receive, Scope, Send
from gateway.observability import REGISTRY
from gateway.redaction import credentials_in, redact, redact_auth_tokens, scrub

log = logging.getLogger("gateway.har")
DROPPED = Counter(
    "gateway_record_dropped_total", "HAR entries not written because recording stopped.", registry=REGISTRY
)
REDACTED = "****"
_SECRET_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})
_SECRET_PARAMS = re.compile(r"(?i)^(authtoken|auth_token|password|token)$")
TRAILER = b"\n]}}\n"


def _header(name: str, value: str) -> dict[str, str]:
    return {"name": name, "value": REDACTED if name.lower() in _SECRET_HEADERS else value}


def redact_pairs(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, REDACTED if _SECRET_PARAMS.match(name) else value) for name, value in pairs]


def redact_form(body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return text
    return urlencode(redact_pairs(pairs))


def entry(
    scope: Scope,
    request_body: bytes,
    status: int,
    response_headers: list[tuple[bytes, bytes]],
    response_body: bytes,
    started: float,
    elapsed: float,
) -> dict[str, Any]:
    """One HAR 1.2 entry, already redacted."""
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", ())]
    query = redact_pairs(
        parse_qsl(bytes(scope.get("query_string", b"")).decode("latin-1"), keep_blank_values=True)
    )
    secrets = credentials_in(next((v for k, v in headers if k.lower() == "authorization"), None))
    request_body, response_body = scrub(request_body, secrets), scrub(response_body, secrets)
    host = next((v for k, v in headers if k.lower() == "host"), "localhost")
    host = host.rsplit("@", 1)[-1]  # never userinfo
    url = f"{scope.get('scheme', 'http')}://{host}{scope['path']}" + ("?" + urlencode(query) if query else "")
    request: dict[str, Any] = {
        "method": scope["method"],
        "url": url,
        "httpVersion": "HTTP/" + scope.get("http_version", "1.1"),
        "cookies": [],
        "headers": [_header(k, v) for k, v in headers],
        "queryString": [{"name": k, "value": v} for k, v in query],
        "headersSize": -1,
        "bodySize": len(request_body),
    }
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    if request_body:
        request["postData"] = {
            "mimeType": content_type or "application/x-www-form-urlencoded",
            "text": redact_auth_tokens(redact_form(request_body)),
        }
    out_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response_headers]
    mime = next((v for k, v in out_headers if k.lower() == "content-type"), "")
    response = {
        "status": status,
        "statusText": _REASONS.get(status, ""),
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": [_header(k, v) for k, v in out_headers],
        "content": {
            "size": len(response_body),
            "mimeType": mime,
            "text": redact_auth_tokens(redact(response_body.decode("utf-8", "replace"))),
        },
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": len(response_body),
    }
    milliseconds = round(elapsed * 1000, 3)
    return {
        "startedDateTime": datetime.fromtimestamp(started, UTC).isoformat(timespec="milliseconds"),
        "time": milliseconds,
        "request": request,
        "response": response,
        "cache": {},
        "timings": {"send": 0, "wait": milliseconds, "receive": 0},
    }


_SCOPE_KEYS = ("method", "path", "query_string", "headers", "scheme", "http_version")
Exchange = tuple[Scope, bytes, int, list[tuple[bytes, bytes]], bytes, float, float]
"""What the middleware hands over once the response is sent; the writer turns it into an entry."""

_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def header_bytes() -> bytes:
    creator = {"name": "twilio-legacy-gateway", "version": __version__}
    head = json.dumps({"log": {"version": "1.2", "creator": creator, "entries": []}})
    return head[: head.rindex("[") + 1].encode()


class HarWriter:
    """Appends entries to a HAR file, one ``pwrite`` (entry + trailer) per exchange.

    The write happens in the event loop right after the response has been sent, so the exchange it
    records never waits for it; a write goes to the page cache and costs tens of microseconds
    (docs/performance.md). A write that takes longer than ``stall_limit`` means the disk is stalling
    the whole gateway: recording stops (logged, and counted in ``gateway_record_dropped_total``).
    """

    def __init__(self, path: str, max_bytes: int, stall_limit: float = 0.1) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.stall_limit = stall_limit
        self.stopped = False
        self._fd = -1
        self._end = 0
        self._count = 0
        self._open()

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        size = os.fstat(self._fd).st_size
        existing = self._existing_entries(size)
        if existing is None:
            if size:
                os.close(self._fd)
                os.replace(self.path, self.path + ".unreadable")
                log.warning("HAR file was not valid HAR; moved aside")
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, header_bytes() + TRAILER, 0)
            self._end, self._count = len(header_bytes()), 0
        else:
            self._end, self._count = size - len(TRAILER), existing

    def _existing_entries(self, size: int) -> int | None:
        if size == 0:
            return None
        try:
            with open(self.path, encoding="utf-8") as handle:
                document = json.load(handle)
            with open(self.path, "rb") as handle:
                handle.seek(size - len(TRAILER))
                if handle.read() != TRAILER:
                    return None
            return len(document["log"]["entries"])
        except (ValueError, KeyError, TypeError):
            return None

    def submit(self, item: Exchange) -> None:
        if self.stopped:
            DROPPED.inc()
            return
        started = time.perf_counter()
        try:
            self._write(orjson.dumps(entry(*item)))
        except OSError:
            log.exception("could not write a HAR entry; recording stops")
            self.stopped = True
            return
        if time.perf_counter() - started > self.stall_limit:
            log.error("a HAR write took over %.0f ms; recording stops", self.stall_limit * 1000)
            self.stopped = True

    def _write(self, data: bytes) -> None:
        piece = (b",\n" if self._count else b"\n") + data
        if self._count and self._end + len(piece) + len(TRAILER) > self.max_bytes:
            self._rotate()
            piece = b"\n" + data
        os.pwrite(self._fd, piece + TRAILER, self._end)
        self._end += len(piece)
        self._count += 1

    def _rotate(self) -> None:
        os.close(self._fd)
        os.replace(self.path, self.path + ".1")
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        os.pwrite(self._fd, header_bytes() + TRAILER, 0)
        self._end, self._count = len(header_bytes()), 0

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _binary(headers: list[tuple[bytes, bytes]]) -> bool:
    """Recording audio is streamed through, never kept: its HAR entry has the headers, not the bytes."""
    return any(name == b"content-type" and value.startswith(b"audio/") for name, value in headers)


class RecordMiddleware:
    """Hands every legacy exchange (request and response, as the client saw them) to a HarWriter."""

    def __init__(self, app: ASGIApp, writer: HarWriter, prefix: str = "/2008-08-01/") -> None:
        self.app = app
        self.writer = writer
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].lstrip("/").startswith(self.prefix.lstrip("/")):
            await self.app(scope, receive, send)
            return
        started_wall, started = time.time(), time.perf_counter()
        request_body: list[bytes] = []
        response_body: list[bytes] = []
        status = 500
        headers: list[tuple[bytes, bytes]] = []

        async def recorded_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request_body.append(message.get("body", b""))
            return message

        async def recorded_send(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", ()))
            elif message["type"] == "http.response.body" and not _binary(headers):
                response_body.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, recorded_receive, recorded_send)
        finally:
            request = {key: scope.get(key) for key in _SCOPE_KEYS}
            self.writer.submit(
                (
                    request,
                    b"".join(request_body),
                    status,
                    headers,
                    b"".join(response_body),
                    started_wall,
                    time.perf_counter() - started,
                )
            )


def load(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    entries: list[dict[str, Any]] = document["log"]["entries"]
    return entries
