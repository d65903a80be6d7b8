"""Real servers on loopback: the gateway and the sandbox as separate servers, driven by a plain HTTP
client as a legacy app would; and the CLI itself (``python -m gateway serve``) in a subprocess."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.edge.app import create_app
from gateway.sandbox import create_sandbox
from gateway.settings import Settings
from tests.conftest import ACCOUNT, ROOT, TOKEN, TRUNK
from tests.servers import serve


@pytest.fixture
def stack(sandbox_config: Any) -> Iterator[tuple[str, Any]]:
    sandbox = create_sandbox(sandbox_config)
    with serve(sandbox, lifespan="off") as upstream:
        settings = Settings(upstream=upstream, trunking_upstream=upstream, access_log=False)
        with serve(create_app(settings)) as gateway:
            yield gateway, sandbox.state.sandbox.store


def xml(response: httpx.Response) -> ET.Element:
    assert response.headers["content-type"] == "application/xml"
    return ET.fromstring(response.content)


def test_every_row_of_the_table_over_loopback(stack: tuple[str, Any]) -> None:
    gateway, _ = stack
    base = f"{gateway}/2008-08-01/Accounts/{ACCOUNT}/OutgoingCallerIds"
    with httpx.Client(auth=(ACCOUNT, TOKEN)) as client:
        created = client.post(base, data={"PhoneNumber": "(415) 867-5309", "FriendlyName": "Home"})
        assert created.status_code == 200
        assert xml(created)[0].findtext("PhoneNumber") == "4158675309"
        listing = xml(client.get(base, params={"PhoneNumber": "415-867-5309"}))[0]
        assert listing.get("total") == "1"
        sid = listing[0].findtext("Sid")
        fetched = xml(client.get(f"{base}/{sid}"))[0]
        assert fetched.findtext("FriendlyName") == "Home"
        for method in ("PUT", "POST"):
            updated = client.request(method, f"{base}/{sid}", data={"FriendlyName": method})
            assert xml(updated)[0].findtext("FriendlyName") == method
        assert client.put(base).status_code == 405
        assert client.delete(base).status_code == 405
        deleted = client.delete(f"{base}/{sid}")
        assert (deleted.status_code, deleted.content) == (204, b"")
        assert client.get(f"{base}/{sid}").status_code == 404
    with httpx.Client(auth=(ACCOUNT, TOKEN)) as client:
        overridden = client.post(
            f"{base}?_method=PUT", data={"FriendlyName": "x"}
        )  # no such instance path: the list rejects PUT
        assert overridden.status_code == 405


def test_legacy_client_quirks_over_loopback(stack: tuple[str, Any]) -> None:
    gateway, store = stack
    store.add_caller_id(ACCOUNT, "+14158675309", "Home")
    host = gateway.removeprefix("http://")
    # Credentials in the URL userinfo, duplicate slashes, a bare trailing '?', an explicit .xml.
    url = f"http://{ACCOUNT}:{TOKEN}@{host}//2008-08-01/Accounts/{ACCOUNT}/OutgoingCallerIds.xml?"
    with httpx.Client() as client:
        response = client.get(url)
    assert response.status_code == 200
    assert xml(response)[0].get("total") == "1"
    with socket.create_connection(host.split(":")) as raw:  # type: ignore[arg-type]
        import base64

        auth = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        raw.sendall(
            f"POST /2008-08-01/Accounts/{ACCOUNT}/OutgoingCallerIds HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Basic {auth}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"<RestException>" in answer and b"PhoneNumber" in answer


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/OutgoingCallerIds/PN123", 404),
        ("/OutgoingCallerIds/PN" + "0" * 32, 404),
        ("/Nope", 404),
        ("/OutgoingCallerIds.yaml", 404),
    ],
)
def test_errors_over_loopback(stack: tuple[str, Any], path: str, status: int) -> None:
    gateway, _ = stack
    with httpx.Client(auth=(ACCOUNT, TOKEN)) as client:
        response = client.get(f"{gateway}/2008-08-01/Accounts/{ACCOUNT}{path}")
    assert response.status_code == status
    assert xml(response)[0].findtext("Status") == str(status)


def test_bad_credentials_and_bad_numbers_over_loopback(stack: tuple[str, Any]) -> None:
    gateway, _ = stack
    base = f"{gateway}/2008-08-01/Accounts/{ACCOUNT}/OutgoingCallerIds"
    with httpx.Client(auth=(ACCOUNT, "wrong")) as client:
        assert xml(client.get(base))[0].findtext("Code") == "20003"
    with httpx.Client(auth=(ACCOUNT, TOKEN)) as client:
        bad = client.post(base, data={"PhoneNumber": "555-1212"})
        assert bad.status_code == 400 and xml(bad)[0].findtext("Code") == "21401"


def test_unreachable_and_slow_upstreams_over_loopback() -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    settings = Settings(upstream=f"http://127.0.0.1:{port}", retries=0, access_log=False)
    with serve(create_app(settings)) as gateway, httpx.Client(auth=(ACCOUNT, TOKEN)) as client:
        response = client.get(f"{gateway}/2008-08-01/Accounts/{ACCOUNT}/OutgoingCallerIds")
    assert response.status_code == 502

    async def slow(request: Request) -> Response:
        await asyncio.sleep(2)
        return JSONResponse({})

    with serve(Starlette(routes=[Route("/{path:path}", slow)]), lifespan="off") as upstream:
        settings = Settings(upstream=upstream, read_timeout=0.3, total_timeout=1, retries=0, access_log=False)
        with serve(create_app(settings)) as gateway, httpx.Client(auth=(ACCOUNT, TOKEN)) as client:
            response = client.get(f"{gateway}/2008-08-01/Accounts/{ACCOUNT}/OutgoingCallerIds")
    assert response.status_code == 504
    assert xml(response)[0].findtext("Status") == "504"


def test_trunk_numbers_over_loopback(stack: tuple[str, Any]) -> None:
    gateway, store = stack
    number = store.incoming[ACCOUNT].items[store.incoming[ACCOUNT].seqs[0]]
    base = f"{gateway}/2008-08-01/Accounts/{ACCOUNT}/Trunks/{TRUNK}/PhoneNumbers"
    with httpx.Client(auth=(ACCOUNT, TOKEN)) as client:
        created = client.post(base, data={"PhoneNumberSid": number.sid})
        assert created.status_code == 201
        assert xml(created)[0].tag == "TrunkPhoneNumber"
        listing = xml(client.get(base))[0]
        assert listing.tag == "TrunkPhoneNumbers" and listing.get("total") == "1"
        assert client.delete(f"{base}/{number.sid}").status_code == 204


# The CLI ----------------------------------------------------------------------------------------
DRAINED = (0, -signal.SIGTERM)
"""uvicorn re-raises SIGTERM after its graceful shutdown, so the exit status is the signal's."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_cli(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port), *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return process, port
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("gateway did not start: " + (process.stderr.read() if process.stderr else ""))


def test_cli_serve_sandbox_end_to_end() -> None:
    process, port = start_cli("--sandbox")
    try:
        base = f"http://127.0.0.1:{port}/2008-08-01/Accounts/{ACCOUNT}/OutgoingCallerIds"
        with httpx.Client(auth=(ACCOUNT, TOKEN)) as client:
            assert client.post(base, data={"PhoneNumber": "4158675309"}).status_code == 200
            assert xml(client.get(base))[0].get("total") == "1"
    finally:
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=20)
    assert process.returncode in DRAINED
    assert "SANDBOX_ACCOUNT_SID=" + ACCOUNT in out


def test_cli_invalid_configuration_fails_at_start_with_one_line() -> None:
    process = subprocess.run(
        [sys.executable, "-m", "gateway", "serve"],
        cwd=ROOT,
        env={**os.environ, "GATEWAY_READ_TIMEOUT": "soon"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert process.returncode == 2
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "GATEWAY_READ_TIMEOUT" in lines[0]


def test_sigterm_drains_an_in_flight_request() -> None:
    started = []

    async def slow(request: Request) -> Response:
        started.append(time.monotonic())
        await asyncio.sleep(1.5)
        return JSONResponse(
            {
                "sid": "PN" + "a" * 32,
                "account_sid": ACCOUNT,
                "friendly_name": "Slow",
                "phone_number": "+14158675309",
                "date_created": "Fri, 21 Aug 2009 00:11:24 +0000",
                "date_updated": "Fri, 21 Aug 2009 00:11:24 +0000",
            }
        )

    with serve(Starlette(routes=[Route("/{path:path}", slow)]), lifespan="off") as upstream:
        process, port = start_cli("--upstream", upstream, "--shutdown-timeout", "10")
        url = f"http://127.0.0.1:{port}/2008-08-01/Accounts/{ACCOUNT}/OutgoingCallerIds/PN{'a' * 32}"
        with httpx.Client(auth=(ACCOUNT, TOKEN), timeout=10) as client:
            import threading

            result: list[httpx.Response] = []
            thread = threading.Thread(target=lambda: result.append(client.get(url)))
            thread.start()
            while not started:
                time.sleep(0.01)
            process.send_signal(signal.SIGTERM)
            thread.join(10)
        process.communicate(timeout=20)
    assert process.returncode in DRAINED
    assert result and result[0].status_code == 200
    assert xml(result[0])[0].findtext("FriendlyName") == "Slow"


def test_cli_serve_ends_silent_connections_and_answers_bad_http_in_xml() -> None:
    process, port = start_cli("--sandbox", "--client-timeout", "0.5", "--workers", "2")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as silent:
            started = time.monotonic()
            assert silent.recv(100) == b""
            assert time.monotonic() - started < 5
        with socket.create_connection(("127.0.0.1", port), timeout=10) as bad:
            bad.sendall(b"GETT / HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = bad.recv(4096)
        assert answer.startswith(b"HTTP/1.1 400 ") and b"<RestException>" in answer
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
