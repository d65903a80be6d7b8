"""Recording audio, streamed from the upstream to the legacy client without holding it whole.

One GET upstream, its body read chunk by chunk as the client takes it (the ASGI server's flow control
sets the pace, so memory stays flat however long the recording). ``Range`` and ``If-Range`` go up;
``Content-Length``, ``Content-Range``, ``Accept-Ranges``, ``ETag`` and ``Last-Modified`` come back.

Redirects: the 2010 API may answer a recording's URL with a redirect to a storage host. A redirect to
the configured upstream itself is followed as any request there is. One to another host is followed
only when that host is on ``GATEWAY_MEDIA_HOSTS`` — and without the account's credentials (nor the
request id or trace context): they go to the configured upstream hosts only. Anything else is a 502.

The gateway's one upstream client does the streaming (:meth:`gateway.upstream.transport.ReqwestSender.open`:
pyreqwest, redirects never followed by it, each chunk within the read timeout, slots of its own); the
httpx sender when a transport is injected (tests and the in-process sandbox: ``httpx.ASGITransport``,
``httpx.MockTransport``) or ``--upstream-client httpx`` is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urljoin, urlsplit

from gateway.errors import BadGateway, GatewayTimeout
from gateway.upstream.senders import Sender
from gateway.upstream.transport import Stream, Timeout, Unreachable

REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
PASSED_BACK = (
    "content-length",
    "content-range",
    "accept-ranges",
    "etag",
    "last-modified",
    "content-encoding",
)
"""Upstream response headers the legacy client gets as they are (the body is relayed as it came, so an
encoding the upstream applied anyway is named)."""
PRIVATE = ("authorization", "x-request-id", "traceparent", "tracestate")
"""Request headers that never leave the configured upstream."""
IDENTITY = {"Accept-Encoding": "identity"}
"""Audio is asked for as it is stored, so its Content-Length and byte ranges mean what they say."""


def allowed_host(hostname: str, port: int | None, allow: tuple[str, ...]) -> bool:
    """``media.example.com`` matches itself; ``*.example.com`` any subdomain; ``host:port`` only that port."""
    hostname = hostname.lower()
    for entry in allow:
        name, _, want_port = entry.lower().partition(":")
        if want_port and port is not None and str(port) != want_port:
            continue
        if name.startswith("*."):
            if hostname.endswith(name[1:]) and hostname != name[2:]:
                return True
        elif hostname == name:
            return True
    return False


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


MediaReply = Stream
"""An upstream answer whose body is still on the wire; ``aclose`` it when done."""


class MediaClient:
    """Streams GETs through the gateway's upstream client, following redirects as the module says."""

    def __init__(self, sender: Sender, *, hosts: tuple[str, ...]) -> None:
        self.sender = sender
        self.hosts = hosts

    async def get(self, url: str, headers: Mapping[str, str], deadline: float) -> MediaReply:
        """The first answer that is not a redirect; ``deadline`` bounds reaching it (not the body)."""
        home = _origin(url)
        sent = {**headers, **IDENTITY}
        for _ in range(MAX_REDIRECTS + 1):
            reply = await self._send(url, sent, deadline)
            if reply.status not in REDIRECTS:
                return reply
            location = reply.headers.get("location", "")
            await reply.aclose()
            url = urljoin(url, location)
            if _origin(url) != home:
                scheme, host, port = _origin(url)
                if scheme not in ("http", "https") or not allowed_host(host, port, self.hosts):
                    raise BadGateway(
                        "The upstream API redirected the recording to a host not on GATEWAY_MEDIA_HOSTS"
                    )
                # Credentials go to the configured upstream only; once dropped they stay dropped.
                sent = {name: value for name, value in sent.items() if name.lower() not in PRIVATE}
        raise BadGateway("The upstream API redirected the recording too many times")

    async def _send(self, url: str, headers: Mapping[str, str], deadline: float) -> Stream:
        try:
            return await self.sender.open(url, headers, deadline=deadline)
        except Timeout:
            raise GatewayTimeout() from None
        except Unreachable:
            raise BadGateway() from None
