"""The client floor: the least any gateway on this upstream client can cost. A bare ASGI app on uvicorn
(as the gateway runs it) that sends each request's path to the upstream through the gateway's own
sender (`gateway.upstream.transport.ReqwestSender`, configured as `serve` configures it) and answers the
upstream's bytes unchanged: no routing, authentication, translation, metrics or logs.

python bench/floor.py PORT UPSTREAM_BASE
"""

from __future__ import annotations

import sys
import time
from typing import Any

import uvicorn

from gateway.settings import Settings
from gateway.upstream.transport import ReqwestSender

_settings = Settings.load({})
_state: dict[str, Any] = {}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            _state["sender"] = ReqwestSender(
                connect_timeout=_settings.connect_timeout,
                read_timeout=_settings.read_timeout,
                limit=_settings.pool_max_connections,
                keepalive=_settings.pool_max_keepalive,
                max_body=_settings.max_upstream_body_bytes,
            )
            await send({"type": "lifespan.startup.complete"})
        await _state["sender"].aclose()
        await send({"type": "lifespan.shutdown.complete"})
        return
    path = scope["path"]
    if path == "/":
        body, status = b"ok", 200
    else:
        reply = await _state["sender"].send(
            scope["method"],
            _state["base"] + path,
            {"Accept": "application/json"},
            None,
            deadline=time.monotonic() + _settings.total_timeout,
            timeout=_settings.read_timeout,
        )
        body, status = reply.body, reply.status
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    _state["base"] = sys.argv[2]
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
