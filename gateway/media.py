"""Recording audio, streamed from the upstream to the legacy client without holding it whole.

One GET upstream, its body read chunk by chunk as the client takes it (the ASGI server's flow control
sets the pace, so memory stays flat however long the recording). ``Range`` goes up; ``Content-Length``,
``Content-Range``, ``Accept-Ranges``, ``ETag`` and ``Last-Modified`` come back.

Redirects: the 2010 API may answer a recording's URL with a redirect to a storage host. A redirect to
the configured upstream itself is followed as any request there is. One to another host is followed
only when that host is on ``GATEWAY_MEDIA_HOSTS`` — and without the account's credentials (nor the
request id or trace context): they go to the configured upstream hosts only. Anything else is a 502.

httpx does the streaming (``client.send(..., stream=True)``); the injected transport of the tests and
the sandbox (``httpx.ASGITransport``, ``httpx.MockTransport``) is used when there is one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from .errors import BadGateway, GatewayTimeout

REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
CHUNK = 64 * 1024
PASSED_BACK = ("content-length", "content-range", "accept-ranges", "etag", "last-modified")
"""Upstream response headers the legacy client gets as they are."""
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


@dataclass
class MediaReply:
    """An upstream answer whose body is still on the wire; :meth:`aclose` when done with it."""

    status: int
    headers: Mapping[str, str]
    response: httpx.Response

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self.response.aiter_bytes(CHUNK):
            yield chunk

    async def read(self, limit: int) -> bytes:
        """At most ``limit`` bytes of the body (an error body, never the audio)."""
        body = bytearray()
        async for chunk in self.response.aiter_bytes(CHUNK):
            body += chunk
            if len(body) >= limit:
                break
        return bytes(body[:limit])

    async def aclose(self) -> None:
        await self.response.aclose()


class MediaClient:
    """Streams GETs from the configured upstream, following redirects as the module says."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None,
        *,
        connect_timeout: float,
        read_timeout: float,
        hosts: tuple[str, ...],
    ) -> None:
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout)
        self.client = httpx.AsyncClient(
            transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
        )
        self.hosts = hosts

    async def aclose(self) -> None:
        await self.client.aclose()

    async def get(self, url: str, headers: Mapping[str, str], deadline: float) -> MediaReply:
        """The first answer that is not a redirect; ``deadline`` bounds reaching it (not the body)."""
        home = _origin(url)
        sent = {**headers, **IDENTITY}
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._send(url, sent, deadline)
            if response.status_code not in REDIRECTS:
                return MediaReply(response.status_code, _lower(response.headers), response)
            location = response.headers.get("location", "")
            await response.aclose()
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

    async def _send(self, url: str, headers: Mapping[str, str], deadline: float) -> httpx.Response:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise GatewayTimeout()
        request = self.client.build_request("GET", url, headers=headers)
        request.extensions["timeout"] = httpx.Timeout(
            self.client.timeout.read, connect=min(remaining, self.client.timeout.connect or remaining)
        ).as_dict()
        try:
            return await self.client.send(request, stream=True)
        except httpx.TimeoutException:
            raise GatewayTimeout() from None
        except httpx.HTTPError:
            raise BadGateway() from None


def _lower(headers: httpx.Headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
