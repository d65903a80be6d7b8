"""Voice end to end over loopback: the gateway and the sandbox as real servers, a plain HTTP client as
the legacy app, the sandbox's call clock moved by the test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.sandbox import SandboxConfig, create_sandbox
from gateway.settings import Settings
from tests.conftest import ACCOUNT, ROOT, TOKEN, Clock
from tests.e2e.test_e2e import free_port
from tests.servers import serve

BASE = f"/2008-08-01/Accounts/{ACCOUNT}"


@pytest.fixture
def voice_stack(voice_config: SandboxConfig) -> Iterator[tuple[httpx.Client, Any]]:
    voice_config.seed = {"calls": 2000, "conferences": 3}
    sandbox = create_sandbox(voice_config)
    with serve(sandbox, lifespan="off") as upstream:
        settings = Settings(upstream=upstream, trunking_upstream=upstream, access_log=False)
        with (
            serve(create_app(settings)) as gateway,
            httpx.Client(base_url=gateway, auth=(ACCOUNT, TOKEN)) as client,
        ):
            yield client, sandbox.state.sandbox.voice


def xml(response: httpx.Response) -> ET.Element:
    assert response.status_code in (200, 201), response.text
    assert response.headers["content-type"] == "application/xml"
    return ET.fromstring(response.content)[0]


def test_make_watch_redirect_list_and_read_segments(
    voice_stack: tuple[httpx.Client, Any], clock: Clock
) -> None:
    client, _ = voice_stack
    made = xml(
        client.post(
            f"{BASE}/Calls",
            data={
                "Caller": "6465550000",
                "Called": "4155551212",
                "Url": "http://app.example/v?Dial=2125550100",
            },
        )
    )
    sid = made.findtext("Sid")
    assert (made.findtext("Called"), made.findtext("Status"), made.findtext("Flags")) == (
        "4155551212",
        "0",
        "2",
    )
    statuses = []
    for _ in range(3):
        statuses.append(xml(client.get(f"{BASE}/Calls/{sid}")).findtext("Status"))
        clock.advance(2.5)
    assert statuses == ["0", "0", "1"]
    redirected = xml(client.post(f"{BASE}/Calls/{sid}", data={"CurrentUrl": "http://app.example/hold"}))
    assert (redirected.findtext("Sid"), redirected.findtext("Status")) == (sid, "1")
    day = xml(client.get(f"{BASE}/Calls/{sid}")).findtext("StartTime")
    assert day is not None and day.startswith("Wed, 18 Nov 2026")
    for query in (
        "Called=415-555-1212",
        "Caller=(646)%20555-0000",
        "Status=1",
        "StartTime=2026-11-18",
        "StartTime>=2026-11-18",
        "StartTime<=2026-11-18",
        "StartTime>=2026-11-18&StartTime<=2026-11-18",
    ):
        found = [c.findtext("Sid") for c in xml(client.get(f"{BASE}/Calls?{query}"))]
        assert sid in found, query
    assert sid not in [c.findtext("Sid") for c in xml(client.get(f"{BASE}/Calls?StartTime>=2026-11-19"))]
    assert sid not in [c.findtext("Sid") for c in xml(client.get(f"{BASE}/Calls?Status=2"))]
    (leg,) = xml(client.get(f"{BASE}/Calls/{sid}/Segments"))
    assert (leg.findtext("Sid"), leg.findtext("Called"), leg.findtext("Flags")) == (sid, "2125550100", "6")
    segment = leg.findtext("CallSegmentSid")
    assert (
        xml(client.get(f"{BASE}/Calls/{sid}/Segments/{segment}")).findtext("Status") == "2"
    )  # redirect ended it
    clock.advance(30)
    assert xml(client.get(f"{BASE}/Calls/{sid}")).findtext("Status") == "2"


def test_walk_a_2000_call_list_exactly(voice_stack: tuple[httpx.Client, Any]) -> None:
    client, voice = voice_stack
    expected = [c.sid for c in voice.calls[ACCOUNT].values() if c.parent_call_sid is None]
    assert len(expected) >= 2000
    for num in (1000, 73):
        seen: list[str] = []
        uri: str | None = f"{BASE}/Calls?num={num}"
        while uri:
            listing = xml(client.get(uri))
            assert listing.get("total") == str(len(expected))
            seen.extend(c.findtext("Sid") or "" for c in listing)
            uri = listing.get("nextpageuri") or None
        assert seen == expected, num


def test_mute_and_kick_a_participant(voice_stack: tuple[httpx.Client, Any]) -> None:
    client, _ = voice_stack
    live = list(xml(client.get(f"{BASE}/Conferences?Status=1")))
    assert live
    room = live[0].findtext("Sid")
    people = list(xml(client.get(f"{BASE}/Conferences/{room}/Participants")))
    assert len(people) >= 2
    target = people[0].findtext("CallSid")
    muted = xml(client.post(f"{BASE}/Conference/{room}/Participants/{target}", data={"Muted": "true"}))
    assert muted.findtext("Muted") == "true"
    assert [
        p.findtext("CallSid") for p in xml(client.get(f"{BASE}/Conferences/{room}/Participants?Muted=true"))
    ] == [target]
    kicked = client.delete(f"{BASE}/Conference/{room}/Participants/{target}")
    assert (kicked.status_code, kicked.content) == (204, b"")
    assert client.get(f"{BASE}/Conferences/{room}/Participants/{target}").status_code == 404
    assert xml(client.get(f"{BASE}/Calls/{target}")).findtext("Status") == "2"


def test_the_sandbox_command_seeds_calls_and_conferences() -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "sandbox",
            "--port",
            str(port),
            "--seed",
            "calls=120,conferences=2",
        ],
        cwd=ROOT,
        env={**os.environ, "SANDBOX_CALL_STEP": "0.5"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    api = f"http://127.0.0.1:{port}/2010-04-01/Accounts/{ACCOUNT}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                calls = httpx.get(f"{api}/Calls.json?PageSize=1000", auth=(ACCOUNT, TOKEN), timeout=2).json()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        top = [c for c in calls["calls"] if c["parent_call_sid"] is None]
        assert len(top) >= 120 + 4  # the seeded calls and at least two participants per conference
        conferences = httpx.get(f"{api}/Conferences.json", auth=(ACCOUNT, TOKEN)).json()["conferences"]
        assert len(conferences) == 2
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
