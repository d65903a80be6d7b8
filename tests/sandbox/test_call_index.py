"""Where a Calls filter can match (gateway/sandbox/call_index.py): a final ``Status`` looks only at the
calls that ended in it and the newest ones, its settled calls found by start or end time without
asking the filters, and every page is the same, byte for byte, as a scan of every call answers."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from gateway.sandbox import SandboxConfig
from gateway.sandbox.app import create_sandbox
from gateway.sandbox.voice import FINAL, Voice
from tests.conftest import ACCOUNT, OURS, TOKEN, Clock

BASE = f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
DAY = 86_400.0
STATUSES = (*FINAL, "queued", "ringing", "in-progress")


def _timeline(at: float, rng: random.Random) -> list[tuple[float, str]]:
    """Every shape a call's life takes: rung and answered, answered without ringing, rung only,
    never dialed (no start time), and calls that end (or answer) later than the test's clock."""
    ring, end = at + rng.uniform(0.2, 3), rng.choice((20.0, 90.0, 400.0, 5000.0))
    outcome = rng.choice(FINAL)
    shape = rng.randrange(4)
    if shape == 0:
        return [(at, "queued"), (ring, "ringing"), (ring + 2, "in-progress"), (ring + end, "completed")]
    if shape == 1:
        return [(at, "queued"), (ring, "in-progress"), (ring + end, outcome)]
    if shape == 2:
        return [(at, "queued"), (ring, "ringing"), (ring + end, outcome)]
    return [(at, "queued"), (ring, rng.choice(("canceled", "failed")))]


def calls(voice: Voice, now: float, count: int) -> None:
    """Calls over four days, most on two crowded days (some in one second), the newest still live."""
    rng = random.Random(3)
    crowded = (now - 2 * DAY, now - 1.2 * DAY)
    starts = [rng.choice(crowded) + rng.uniform(0, 3600) for _ in range(count // 2)]
    starts += [now - rng.uniform(60, 4 * DAY) for _ in range(count // 2)] + [now - 3 * DAY] * 12
    for at in [*sorted(starts), now - 30, now - 5, now]:
        call = voice.new_call(
            ACCOUNT, rng.choice(("+14155550100", "+14155550101")), OURS, "outbound-api", at=at
        )
        if at < now - 60:
            call.timeline = _timeline(at, rng)
            call.updated = call.timeline[-1][0]
    for day in (1, 2, 3):  # rung in the first and the last second of a day
        midnight = now - now % DAY - day * DAY
        for ring in (midnight, midnight + 0.9, midnight - 0.5, midnight - 1.0):
            call = voice.new_call(ACCOUNT, "+14155550100", OURS, "outbound-api", at=ring - 2)
            call.timeline = [(ring - 2, "queued"), (ring, "ringing"), (ring + 9, rng.choice(FINAL))]
    voice.refresh()


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d")


def queries(now: float) -> list[str]:
    instant = datetime.fromtimestamp(now - 1.2 * DAY + 1800, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    windows = [
        "",
        f"&StartTime={_day(now - 2 * DAY)}",
        f"&StartTime={_day(now - 3 * DAY)}",
        f"&{quote('StartTime>')}={_day(now - DAY)}",
        f"&{quote('StartTime<')}={_day(now - 2 * DAY)}",
        f"&{quote('StartTime>')}={_day(now - 3 * DAY)}&{quote('StartTime<')}={_day(now - DAY)}",
        f"&{quote('StartTime>')}={quote(instant)}&{quote('StartTime<')}={_day(now)}",
        f"&StartTime={_day(now - 2 * DAY)}&To=%2B14155550100",
        f"&EndTime={_day(now - 2 * DAY)}",
        f"&{quote('EndTime>')}={_day(now - DAY)}",
        f"&{quote('EndTime<')}={_day(now - 2 * DAY)}",
        f"&{quote('EndTime>')}={_day(now - 3 * DAY)}&{quote('EndTime<')}={_day(now - DAY)}",
        f"&{quote('EndTime>')}={_day(now - 2 * DAY)}&{quote('StartTime<')}={_day(now - 2 * DAY)}",
    ]
    return [f"{BASE}?Status={status}{window}&PageSize=40" for status in STATUSES for window in windows]


async def pages(api: httpx.AsyncClient, uri: str) -> list[bytes]:
    bodies: list[bytes] = []
    next_uri: str | None = uri
    while next_uri:
        response = await api.get(next_uri)
        assert response.status_code == 200, response.text
        bodies.append(response.content)
        next_uri = response.json()["next_page_uri"]
    return bodies


async def answers(api: httpx.AsyncClient, now: float) -> dict[str, list[bytes]]:
    return {uri: await pages(api, uri) for uri in queries(now)}


def _calls_behaviour(sandbox: Any) -> Any:
    from gateway.sandbox.endpoints import spec_endpoints

    return next(e.behaviour for e in spec_endpoints(sandbox) if hasattr(e.behaviour, "among"))


async def test_indexed_pages_are_those_of_a_scan_as_time_passes_and_calls_change(
    clock: Clock, voice_config: SandboxConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_sandbox(voice_config)
    sandbox = app.state.sandbox
    voice = sandbox.voice
    calls(voice, clock(), 600)
    ordered = voice.calls[ACCOUNT]
    from gateway.sandbox.voice_api import CallsBehaviour

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s.test", auth=(ACCOUNT, TOKEN)
    ) as api:
        for moment in range(4):
            if moment == 1:
                clock.advance(300.0)  # some calls end, some answer
            if moment == 2:
                old = [c for c in ordered.values() if c.status(clock()) == "busy"][-1]
                for call in (next(iter(ordered.values())), old):
                    assert (await api.delete(f"{BASE[:-5]}/{call.sid}.json")).status_code == 204
            if moment == 3:
                clock.advance(DAY)  # every call is over
            indexed = await answers(api, clock())
            with monkeypatch.context() as scan:
                scan.setattr(CallsBehaviour, "among", lambda self, ordered, given: None)
                scan.setattr(CallsBehaviour, "span_in", lambda self, ordered, given: None)
                assert await answers(api, clock()) == indexed
            for uri in (u for u in indexed if "To=" not in u):
                sids = [
                    c["sid"]
                    for body in indexed[uri]
                    for c in httpx.Response(200, content=body).json()["calls"]
                ]
                assert sids == _scanned(sandbox, uri, clock())
            assert sum(len(bodies) > 1 for bodies in indexed.values()) > 10


def _scanned(sandbox: Any, uri: str, now: float) -> list[str]:
    """The sids a filter keeps, each call asked directly."""
    from urllib.parse import parse_qsl, urlsplit

    behaviour = _calls_behaviour(sandbox)
    given = [(k, v) for k, v in parse_qsl(urlsplit(uri).query) if k not in ("PageSize",)]
    ordered = sandbox.voice.calls[ACCOUNT]
    return [c.sid for c in ordered.values() if all(behaviour.filters[k](c, v) for k, v in given)]


async def test_a_final_status_looks_only_at_its_calls_and_the_newest(
    clock: Clock, voice_config: SandboxConfig
) -> None:
    app = create_sandbox(voice_config)
    sandbox = app.state.sandbox
    calls(sandbox.voice, clock(), 300)
    ordered = sandbox.voice.calls[ACCOUNT]
    index = _calls_behaviour(sandbox)._calls_index()
    busy = index.among(ordered, [("Status", "busy")])
    assert busy is not None and len(busy.keys) < len(ordered) / 3
    day = index.among(ordered, [("Status", "busy"), ("StartTime", _day(clock() - 2 * DAY))])
    assert day is not None and day.tested == busy.tested and len(day.keys) < len(busy.keys)
    ended = index.among(ordered, [("Status", "busy"), ("EndTime<", _day(clock() - 2 * DAY))])
    assert ended is not None and ended.tested == busy.tested and len(ended.keys) < len(busy.keys)
    both = [("Status", "busy"), ("EndTime>", _day(clock() - 3 * DAY)), ("StartTime", _day(clock()))]
    assert (found := index.among(ordered, both)) is not None and found.tested == len(found.keys)
    mixed = index.among(ordered, [("Status", "busy"), ("To", "+14155550100")])
    assert mixed is not None and mixed.tested == len(mixed.keys) == len(busy.keys)
    assert index.among(ordered, [("Status", "queued")]) is None
    assert index.among(ordered, [("To", "+14155550100")]) is None
