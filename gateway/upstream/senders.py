"""Which sender carries the upstream's bytes: pyreqwest (:mod:`gateway.upstream.transport`) by default,
httpx (:mod:`gateway.upstream.transport_httpx`) when a transport is injected (tests) or asked for."""

from __future__ import annotations

from typing import TypeAlias

import httpx

from gateway.upstream.transport import ReqwestSender
from gateway.upstream.transport_httpx import HttpxSender, httpx_sender

Sender: TypeAlias = "ReqwestSender | HttpxSender"


def sender(
    transport: httpx.AsyncBaseTransport | None,
    *,
    connect_timeout: float,
    read_timeout: float,
    limit: int,
    keepalive: int,
    max_body: int,
    use_httpx: bool = False,
) -> Sender:
    """pyreqwest, or httpx when a transport is injected (tests) or asked for."""
    if transport is None and not use_httpx:
        return ReqwestSender(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            limit=limit,
            keepalive=keepalive,
            max_body=max_body,
        )
    return httpx_sender(
        transport,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        limit=limit,
        keepalive=keepalive,
        max_body=max_body,
    )
