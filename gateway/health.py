"""The health listener, and the container's health check.

With ``GATEWAY_HEALTH_PORT`` set, a second listener serves ``/healthz``, ``/readyz`` and ``/metrics``
only, from the same process and event loop as the API: a sidecar keeps its API on loopback while the
kubelet and Prometheus reach these paths on the pod IP, and a blocked event loop fails the liveness probe.

``python -m gateway.health`` is the image's HEALTHCHECK: ``GET /healthz`` on the address the settings in
the environment make the gateway listen on (the health listener when there is one); exit status 0 or 1.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import sys
import urllib.request
from typing import Any

import uvicorn

from gateway.asgi import Receive, Scope, Send
from gateway.edge.answers import send_error
from gateway.edge.app import GatewayApp
from gateway.errors import NotFound
from gateway.settings import ConfigError, Settings

PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class HealthApp:
    """The operational paths of ``app``; everything else is a legacy 404."""

    def __init__(self, app: GatewayApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] in PATHS:
            await self.app._operational(scope["path"], send)
        else:
            await send_error(NotFound(), scope, send)


async def _serve_both(api: uvicorn.Server, health: uvicorn.Server) -> None:
    # The health server takes the signal handlers first, so SIGTERM reaches the API server; when the
    # API server has drained it hands the signal on, and the health listener closes last.
    health_task = asyncio.create_task(health.serve())
    while not health.started:
        if health_task.done():
            await health_task
            raise SystemExit("gateway: the health listener could not start")
        await asyncio.sleep(0.01)
    try:
        await api.serve()
    finally:
        health.should_exit = True
        await health_task


def serve(stack: Any, settings: Settings, options: dict[str, Any]) -> None:
    """Run the API (``stack``, from :func:`gateway.edge.app.create_app`) and the health listener together."""
    assert settings.health_port is not None
    api = uvicorn.Server(uvicorn.Config(stack, host=settings.host, port=settings.port, **options))
    health_config = uvicorn.Config(
        HealthApp(stack.gateway_app),
        host=settings.health_host,
        port=settings.health_port,
        lifespan="off",
        http=options.get("http", "auto"),
        log_config=None,
        access_log=False,
        server_header=False,
    )
    with asyncio.Runner(loop_factory=api.config.get_loop_factory()) as runner:
        runner.run(_serve_both(api, uvicorn.Server(health_config)))


def probe_url(settings: Settings) -> str:
    host, port = settings.host, settings.port
    scheme = "https" if settings.ssl_certfile else "http"
    if settings.health_port is not None:  # the health listener speaks plain HTTP
        host, port, scheme = settings.health_host, settings.health_port, "http"
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"{scheme}://[{host}]:{port}/healthz" if ":" in host else f"{scheme}://{host}:{port}/healthz"


def main() -> int:
    try:
        url = probe_url(Settings.load(os.environ))
        # The gateway's own port on this host: what is checked is that it answers, not who it is.
        context = ssl._create_unverified_context() if url.startswith("https:") else None
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return 0 if response.status == 200 else 1
    except (ConfigError, OSError) as exc:
        print(f"gateway health check: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
