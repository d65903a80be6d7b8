"""The health listener (``GATEWAY_HEALTH_PORT``) and the image's health check (``gateway.health``)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.health import HealthApp, probe_url
from gateway.settings import ConfigError, Settings
from tests.conftest import ACCOUNT, PREFIX, ROOT, TOKEN
from tests.servers import serve
from tests.test_container import free_port


async def test_health_app_serves_the_operational_paths_only(gateway_app: Any) -> None:
    health = HealthApp(gateway_app.gateway_app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=health), base_url="http://pod") as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).json()["status"] == "ready"
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200 and "gateway_requests_total" in metrics.text
        for path in (f"{PREFIX}/OutgoingCallerIds", "/healthz/", "/", "/docs"):
            answer = await client.get(path, auth=(ACCOUNT, TOKEN))
            assert answer.status_code == 404 and b"<RestException>" in answer.content, path


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({}, "http://127.0.0.1:8080/healthz"),
        ({"GATEWAY_HOST": "0.0.0.0", "GATEWAY_PORT": "9000"}, "http://127.0.0.1:9000/healthz"),
        ({"GATEWAY_HOST": "::"}, "http://[::1]:8080/healthz"),
        ({"GATEWAY_HOST": "10.1.2.3"}, "http://10.1.2.3:8080/healthz"),
        ({"GATEWAY_HEALTH_PORT": "8090"}, "http://127.0.0.1:8090/healthz"),
        ({"GATEWAY_HEALTH_PORT": "8090", "GATEWAY_HEALTH_HOST": "0.0.0.0"}, "http://127.0.0.1:8090/healthz"),
    ],
)
def test_the_health_check_probes_where_the_settings_listen(env: dict[str, str], url: str) -> None:
    assert probe_url(Settings.load(env)) == url


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"GATEWAY_HEALTH_PORT": "8080"}, "GATEWAY_HEALTH_PORT"),
        ({"GATEWAY_HEALTH_PORT": "8090", "GATEWAY_WORKERS": "2"}, "GATEWAY_HEALTH_PORT"),
        ({"GATEWAY_HEALTH_PORT": "70000"}, "GATEWAY_HEALTH_PORT"),
    ],
)
def test_health_listener_settings_are_checked_at_start(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(env)
    assert caught.value.env == named


def health_check(env: dict[str, str]) -> int:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.health"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        timeout=30,
    )
    return result.returncode


def test_sigterm_drains_the_api_while_the_health_listener_answers() -> None:
    """Both listeners in one process: SIGTERM reaches the API server, which lets the request in flight
    finish; the health listener answers until then, and the process exits cleanly."""
    started: list[float] = []

    async def slow(request: Request) -> Response:
        started.append(time.monotonic())
        await asyncio.sleep(1.5)
        return JSONResponse({"code": 20404, "message": "The requested resource was not found"}, 404)

    async def root(request: Request) -> Response:
        return JSONResponse({})

    upstream = Starlette(routes=[Route("/", root), Route("/{path:path}", slow)])
    with serve(upstream) as base:
        port, health_port = free_port(), free_port()
        env = {
            "GATEWAY_UPSTREAM": base,
            "GATEWAY_TRUNKING_UPSTREAM": base,
            "GATEWAY_PORT": str(port),
            "GATEWAY_HEALTH_PORT": str(health_port),
            "GATEWAY_SHUTDOWN_TIMEOUT": "10",
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve"],
            cwd=ROOT,
            env={"PATH": os.environ["PATH"], **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 20
            while health_check(env) != 0:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
            assert health_check({**env, "GATEWAY_HEALTH_PORT": str(free_port())}) == 1
            result: list[httpx.Response] = []
            url = f"http://127.0.0.1:{port}{PREFIX}/OutgoingCallerIds"
            thread = threading.Thread(target=lambda: result.append(httpx.get(url, auth=(ACCOUNT, TOKEN))))
            thread.start()
            while not started:
                time.sleep(0.01)
            process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            during = httpx.get(f"http://127.0.0.1:{health_port}/healthz", timeout=2)
            assert during.status_code == 200  # still answering while the API drains
            thread.join(10)
            assert process.wait(10) in (0, -signal.SIGTERM)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    assert result and result[0].status_code == 404 and b"<RestException>" in result[0].content
    assert time.monotonic() - started[0] >= 1.5
