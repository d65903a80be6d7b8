"""Where a Calls filter can match (gateway/sandbox/call_index.py): a final ``Status`` looks only at the
calls that ended in it and the newest ones, and finds exactly what a scan of every call finds."""

from __future__ import annotations

import random
from typing import Any

import httpx

from gateway.sandbox import SandboxConfig
from gateway.sandbox.app import create_sandbox
from gateway.sandbox.voice import FINAL
from tests.conftest import ACCOUNT, OURS, TOKEN, Clock

BASE = f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"


def calls(voice: Any, now: float, count: int) -> None:
    """Calls over a day, each ended in a final status, and three still live."""
    rng = random.Random(3)
    for at in sorted(now - rng.uniform(600, 86_400) for _ in range(count)):
        call = voice.new_call(ACCOUNT, "+14155550100", OURS, "outbound-api", at=at)
        outcome = rng.choice(FINAL)
        call.timeline = [(at, "queued"), (at + 1, "ringing"), (at + 3, "in-progress"), (at + 60, outcome)]
        call.updated = at + 60
    for age in (0.0, 3.0, 10.0):
        voice.new_call(ACCOUNT, "+14155550123", OURS, "outbound-api", at=now - age)


async def listed(api: httpx.AsyncClient, status: str) -> list[str]:
    sids: list[str] = []
    uri: str | None = f"{BASE}?Status={status}&PageSize=7"
    while uri:
        body = (await api.get(uri)).json()
        sids += [call["sid"] for call in body["calls"]]
        uri = body["next_page_uri"]
    return sids


async def test_a_final_status_is_found_among_its_calls_exactly(
    clock: Clock, voice_config: SandboxConfig
) -> None:
    app = create_sandbox(voice_config)
    sandbox = app.state.sandbox
    voice = sandbox.voice
    calls(voice, clock(), 200)
    ordered = voice.calls[ACCOUNT]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s.test", auth=(ACCOUNT, TOKEN)
    ) as api:
        for moment in range(3):
            if moment == 1:
                clock.advance(3600.0)  # the live calls end
            if moment == 2:
                voice.delete_call(next(iter(ordered.values())))
            for status in FINAL:
                scanned = [c.sid for c in ordered.values() if c.status(clock()) == status]
                assert await listed(api, status) == scanned
    index = next(e for e in _behaviours(sandbox))._calls_index()
    among = index.among(ordered, [("Status", "busy")])
    assert among is not None and len(among) < len(ordered) / 3
    assert index.among(ordered, [("Status", "queued")]) is None
    assert index.among(ordered, [("To", "+14155550100")]) is None


def _behaviours(sandbox: Any) -> list[Any]:
    from gateway.sandbox.endpoints import spec_endpoints

    return [e.behaviour for e in spec_endpoints(sandbox) if hasattr(e.behaviour, "among")]
