"""The spec-driven endpoints: settled items encoded once, seeded lists (calls, recordings) encoded when the
sandbox starts."""

from __future__ import annotations

import httpx
import orjson

from gateway.sandbox import SandboxConfig
from gateway.sandbox.app import create_sandbox
from gateway.sandbox.endpoints import spec_endpoints
from gateway.sandbox.engine import _complete
from gateway.sandbox.recordings import RECORDINGS
from gateway.sandbox.seed import parse
from gateway.sandbox.voice_api import CALLS
from tests.conftest import ACCOUNT, TOKEN, Clock

BASE = f"/2010-04-01/Accounts/{ACCOUNT}"


async def test_seeded_calls_are_encoded_at_start_and_pages_match_a_fresh_render(clock: Clock) -> None:
    app = create_sandbox(SandboxConfig(accounts={ACCOUNT: TOKEN}, clock=clock, seed=parse("calls=300")))
    sandbox = app.state.sandbox
    endpoints = next(e for e in spec_endpoints(sandbox) if e.list_path == CALLS)
    calls = list(endpoints.behaviour.everything())  # type: ignore[attr-defined]
    settled = [call for call in calls if endpoints.behaviour.settled(call)]  # type: ignore[attr-defined]
    assert 0 < len(settled) < len(calls)  # the newest seeded calls are still live
    assert endpoints.prime() == len(settled)
    props = endpoints.spec.list_item_properties(CALLS)
    clock.advance(3600.0)  # every call is over: the live ones render afresh, the others as encoded
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s.test", auth=(ACCOUNT, TOKEN)
    ) as api:
        listed = (await api.get(f"{BASE}/Calls.json", params={"PageSize": 1000})).json()["calls"]
    fresh = {call.sid: _complete(endpoints.behaviour.render(call), props) for call in calls}
    assert sorted(item["sid"] for item in listed) == sorted(fresh)  # every call, legs too
    assert all(orjson.dumps(item) == orjson.dumps(fresh[item["sid"]]) for item in listed)


async def test_seeded_recordings_are_encoded_at_start_and_pages_match_a_fresh_render(clock: Clock) -> None:
    app = create_sandbox(SandboxConfig(accounts={ACCOUNT: TOKEN}, clock=clock, seed=parse("recordings=120")))
    endpoints = next(e for e in spec_endpoints(app.state.sandbox) if e.list_path == RECORDINGS)
    recordings = list(endpoints.behaviour.everything())  # type: ignore[attr-defined]
    assert len(recordings) >= 120 and endpoints.prime() == len(recordings)  # fixed once made
    props = endpoints.spec.list_item_properties(RECORDINGS)
    fresh = {item.sid: _complete(endpoints.behaviour.render(item), props) for item in recordings}
    gone = recordings[5]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s.test", auth=(ACCOUNT, TOKEN)
    ) as api:
        assert (await api.delete(f"{BASE}/Recordings/{gone.sid}.json")).status_code == 204
        listed = (await api.get(f"{BASE}/Recordings.json", params={"PageSize": 1000})).json()["recordings"]
    assert sorted(item["sid"] for item in listed) == sorted(set(fresh) - {gone.sid})
    assert all(orjson.dumps(item) == orjson.dumps(fresh[item["sid"]]) for item in listed)


def test_the_calls_index_taken_at_start_outlives_priming_every_list(clock: Clock) -> None:
    """Priming the recordings builds their account-wide list, a change to the lists: the Calls index
    is taken after every list is primed, so the first filtered Calls page does not rebuild it."""
    from gateway.sandbox.store import Ordered

    app = create_sandbox(SandboxConfig(accounts={ACCOUNT: TOKEN}, clock=clock, seed=parse("calls=400")))
    served = {e.list_path: e for e in app.state.endpoints}
    assert served[RECORDINGS]._frozen and served[CALLS]._frozen
    index = served[CALLS].behaviour._calls_index()  # type: ignore[attr-defined]
    assert [bounds.changes for bounds in index._bounds.values()] == [Ordered.changes]


def test_a_behaviour_that_cannot_list_everything_primes_nothing(clock: Clock) -> None:
    app = create_sandbox(SandboxConfig(accounts={ACCOUNT: TOKEN}, clock=clock, seed=parse("conferences=3")))
    assert all(
        e.prime() == 0 for e in spec_endpoints(app.state.sandbox) if not hasattr(e.behaviour, "everything")
    )


def test_dates_are_formatted_as_email_utils_does() -> None:
    from datetime import UTC, datetime
    from email.utils import format_datetime

    from gateway.sandbox.values import rfc2822

    for second in (0, 951_782_400, 1_795_000_000, 1_795_000_000 + 86_399, 4_102_444_800, -86_400 * 365):
        expected = format_datetime(datetime.fromtimestamp(second, UTC))
        assert rfc2822(second + (0.9 if second >= 0 else 0.0)) == expected
    assert rfc2822(None) is None
