"""The sandbox's Calls, Conferences, Participants and call Recordings/Notifications endpoints against the
trimmed 2010 spec: every response validated, errors in Twilio's shape, calls moving on the clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from gateway.sandbox import SandboxConfig, create_sandbox
from gateway.sandbox.call_logs import notification, recording
from tests.conftest import ACCOUNT, OTHER, OURS, SPECS, Clock
from tests.sandbox.test_conformance import conforms, is_error

SPEC = json.loads((SPECS / "twilio_api_v2010.legacy_surface.json").read_text())
API = "/2010-04-01/Accounts/{AccountSid}"
BASE = f"/2010-04-01/Accounts/{ACCOUNT}"
CALLS, CALL = API + "/Calls.json", API + "/Calls/{Sid}.json"
CONFERENCES, CONFERENCE = API + "/Conferences.json", API + "/Conferences/{Sid}.json"
PARTICIPANTS = API + "/Conferences/{ConferenceSid}/Participants.json"
PARTICIPANT = API + "/Conferences/{ConferenceSid}/Participants/{CallSid}.json"
RECORDINGS = API + "/Calls/{CallSid}/Recordings.json"
RECORDING = API + "/Calls/{CallSid}/Recordings/{Sid}.json"
NOTIFICATIONS = API + "/Calls/{CallSid}/Notifications.json"
NOTIFICATION = API + "/Calls/{CallSid}/Notifications/{Sid}.json"


@pytest.fixture
def sandbox_config(voice_config: SandboxConfig) -> SandboxConfig:
    return voice_config


async def make(api: httpx.AsyncClient, to: str = "+14155551212", **extra: str) -> dict[str, Any]:
    data = {"To": to, "From": OURS, "Url": "http://app.example/voice", **extra}
    return conforms(await api.post(f"{BASE}/Calls.json", data=data), SPEC, CALLS, "post")


async def fetch(api: httpx.AsyncClient, sid: str) -> dict[str, Any]:
    return conforms(await api.get(f"{BASE}/Calls/{sid}.json"), SPEC, CALL, "get")


async def test_a_made_call_moves_queued_ringing_in_progress_completed(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    made = await make(api)
    assert (made["status"], made["direction"], made["to"], made["from"]) == (
        "queued",
        "outbound-api",
        "+14155551212",
        OURS,
    )
    assert made["start_time"] is None and made["end_time"] is None and made["price"] is None
    assert made["phone_number_sid"].startswith("PN")
    seen = []
    for _ in range(4):
        body = await fetch(api, made["sid"])
        seen.append(body["status"])
        clock.advance(2.0)
    assert seen == ["queued", "ringing", "in-progress", "in-progress"]
    clock.advance(20.0)
    done = await fetch(api, made["sid"])
    assert done["status"] == "completed"
    assert done["duration"] == "22" and done["price"] == "-0.01300" and done["end_time"]  # rang 2 s
    assert done["start_time"] != done["end_time"]


async def test_the_call_list_is_newest_first_and_filters_exactly(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    first = await make(api, "+14155550001")
    clock.advance(1)
    second = await make(api, "+14155550002")
    listing = conforms(await api.get(f"{BASE}/Calls.json"), SPEC, CALLS, "get")
    assert [c["sid"] for c in listing["calls"]] == [second["sid"], first["sid"]]
    by_to = conforms(await api.get(f"{BASE}/Calls.json", params={"To": "+14155550001"}), SPEC, CALLS, "get")
    assert [c["sid"] for c in by_to["calls"]] == [first["sid"]]
    clock.advance(1.5)  # first ringing, second still queued
    ringing = (await api.get(f"{BASE}/Calls.json", params={"Status": "ringing"})).json()["calls"]
    assert [c["sid"] for c in ringing] == [first["sid"]]
    day = "2026-11-18"  # the test clock's date
    for name, expected in (("StartTime", 1), ("StartTime>", 1), ("StartTime<", 1)):
        found = (await api.get(f"{BASE}/Calls.json", params={name: day})).json()["calls"]
        assert len(found) == expected, name
    assert (await api.get(f"{BASE}/Calls.json", params={"StartTime>": "2026-11-19"})).json()["calls"] == []
    links = (await api.get(f"{BASE}/Calls.json", params={"From": OURS, "PageSize": 1})).json()
    assert "From=%2B16465550000" in links["next_page_uri"]


async def test_a_redirect_changes_a_live_call_and_ends_its_dial_leg(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    made = await make(api, Url="http://app.example/voice?Dial=%2B14155550100")
    clock.advance(4.5)
    children = (await api.get(f"{BASE}/Calls.json", params={"ParentCallSid": made["sid"]})).json()["calls"]
    (leg,) = children
    assert (leg["direction"], leg["to"], leg["status"]) == ("outbound-dial", "+14155550100", "ringing")
    redirected = await api.post(f"{BASE}/Calls/{made['sid']}.json", data={"Url": "http://app.example/b"})
    assert conforms(redirected, SPEC, CALL, "post")["status"] == "in-progress"
    assert (await fetch(api, leg["sid"]))["status"] == "completed"
    hung = await api.post(f"{BASE}/Calls/{made['sid']}.json", data={"Status": "completed"})
    assert conforms(hung, SPEC, CALL, "post")["status"] == "completed"
    is_error(
        await api.post(f"{BASE}/Calls/{made['sid']}.json", data={"Url": "http://app.example/c"}), 400, 21220
    )


async def test_canceling_a_queued_call(api: httpx.AsyncClient) -> None:
    made = await make(api)
    canceled = await api.post(f"{BASE}/Calls/{made['sid']}.json", data={"Status": "canceled"})
    body = conforms(canceled, SPEC, CALL, "post")
    assert (body["status"], body["duration"], body["price"]) == ("canceled", "0", "0.00000")


async def test_call_errors_have_twilios_shape(api: httpx.AsyncClient) -> None:
    post = f"{BASE}/Calls.json"
    is_error(await api.post(post, data={"From": OURS, "Url": "http://a.example/"}), 400, 21604)
    is_error(
        await api.post(post, data={"To": "+14155551212", "From": "+14155550000", "Url": "http://a/"}),
        400,
        21210,
    )
    is_error(await api.post(post, data={"To": "+14155551212", "From": OURS}), 400, 21205)
    is_error(await api.post(post, data={"To": "123", "From": OURS, "Url": "http://a/"}), 400, 21211)
    is_error(
        await api.post(post, data={"To": "+14155551212", "From": OURS, "Url": "http://a/", "Method": "PUT"}),
        400,
        20001,
    )
    is_error(await api.get(post, params={"Status": "sleeping"}), 400, 20001)
    is_error(await api.get(post, params={"StartTime>": "last week"}), 400, 20001)
    is_error(await api.get(f"{BASE}/Calls/CA123.json"), 404, 20404)
    is_error(await api.get(f"{BASE}/Calls/CA{'0' * 32}.json"), 404, 20404)
    is_error(await api.get(f"/2010-04-01/Accounts/{OTHER}/Calls.json"), 404, 20404)
    is_error(await api.put(f"{BASE}/Calls.json"), 405, 20004)


async def test_deleting_a_call(api: httpx.AsyncClient) -> None:
    made = await make(api)
    deleted = await api.delete(f"{BASE}/Calls/{made['sid']}.json")
    assert deleted.status_code == 204 and deleted.content == b""
    is_error(await api.get(f"{BASE}/Calls/{made['sid']}.json"), 404, 20404)


@pytest.mark.parametrize("total", [0, 1, 1001, 2345])
async def test_call_paging_visits_every_call_once(
    sandbox_app: Any, api: httpx.AsyncClient, total: int
) -> None:
    voice = sandbox_app.state.sandbox.voice
    made = {
        voice.new_call(ACCOUNT, "+14155551212", OURS, "outbound-api", at=1_700_000_000.0 + i).sid
        for i in range(total)
    }
    seen: list[str] = []
    uri: str | None = f"{BASE}/Calls.json?PageSize=1000"
    while uri:
        body = conforms(await api.get(uri), SPEC, CALLS, "get")
        seen.extend(c["sid"] for c in body["calls"])
        uri = body["next_page_uri"]
    assert len(seen) == total and set(seen) == made


async def test_seeded_conferences_participants_mute_and_kick(
    sandbox_app: Any, api: httpx.AsyncClient
) -> None:
    voice = sandbox_app.state.sandbox.voice
    room = voice.add_conference(ACCOUNT, "MyRoom")
    calls = [voice.new_call(ACCOUNT, OURS, f"+1415555010{i}", "inbound") for i in range(2)]
    for call in calls:
        voice.join(room, call)
    listing = conforms(await api.get(f"{BASE}/Conferences.json"), SPEC, CONFERENCES, "get")
    assert [(c["friendly_name"], c["status"]) for c in listing["conferences"]] == [("MyRoom", "in-progress")]
    for params in ({"FriendlyName": "MyRoom"}, {"Status": "in-progress"}, {"DateCreated": "2026-11-18"}):
        assert len((await api.get(f"{BASE}/Conferences.json", params=params)).json()["conferences"]) == 1
    assert (await api.get(f"{BASE}/Conferences.json", params={"Status": "completed"})).json()[
        "conferences"
    ] == []
    conforms(await api.get(f"{BASE}/Conferences/{room.sid}.json"), SPEC, CONFERENCE, "get")
    people = f"{BASE}/Conferences/{room.sid}/Participants"
    members = conforms(await api.get(people + ".json"), SPEC, PARTICIPANTS, "get")["participants"]
    assert [m["call_sid"] for m in members] == [c.sid for c in calls]
    muted = conforms(
        await api.post(f"{people}/{calls[0].sid}.json", data={"Muted": "true"}), SPEC, PARTICIPANT, "post"
    )
    assert muted["muted"] is True
    only = (await api.get(people + ".json", params={"Muted": "true"})).json()["participants"]
    assert [m["call_sid"] for m in only] == [calls[0].sid]
    conforms(await api.get(f"{people}/{calls[0].sid}.json"), SPEC, PARTICIPANT, "get")
    kicked = await api.delete(f"{people}/{calls[0].sid}.json")
    assert kicked.status_code == 204 and kicked.content == b""
    is_error(await api.get(f"{people}/{calls[0].sid}.json"), 404, 20404)
    assert (await fetch(api, calls[0].sid))["status"] == "canceled"  # still queued: never dialed
    assert (await api.delete(f"{people}/{calls[1].sid}.json")).status_code == 204
    ended = conforms(await api.get(f"{BASE}/Conferences/{room.sid}.json"), SPEC, CONFERENCE, "get")
    assert (ended["status"], ended["reason_conference_ended"]) == ("completed", "last-participant-kicked")


async def test_adding_a_participant_and_ending_a_conference(sandbox_app: Any, api: httpx.AsyncClient) -> None:
    voice = sandbox_app.state.sandbox.voice
    room = voice.add_conference(ACCOUNT, "Dial-out")
    people = f"{BASE}/Conferences/{room.sid}/Participants.json"
    added = await api.post(people, data={"From": OURS, "To": "+14155550123", "Muted": "true"})
    body = conforms(added, SPEC, PARTICIPANTS, "post")
    assert added.status_code == 201 and body["muted"] is True and body["status"] == "queued"
    ended = await api.post(f"{BASE}/Conferences/{room.sid}.json", data={"Status": "completed"})
    body = conforms(ended, SPEC, CONFERENCE, "post")
    assert (body["status"], body["reason_conference_ended"]) == ("completed", "conference-ended-via-api")
    assert (await api.get(people)).json()["participants"] == []


async def test_call_recordings_and_notifications(
    sandbox_app: Any, api: httpx.AsyncClient, clock: Clock
) -> None:
    voice = sandbox_app.state.sandbox.voice
    made = await make(api)
    rec = recording(voice, made["sid"], ACCOUNT, clock(), 42)
    note = notification(voice, made["sid"], ACCOUNT, clock(), 11200, "HTTP retrieval failure")
    assert rec is not None and note is not None
    call = f"{BASE}/Calls/{made['sid']}"
    recordings = conforms(await api.get(call + "/Recordings.json"), SPEC, RECORDINGS, "get")["recordings"]
    assert [(r["sid"], r["duration"], r["call_sid"]) for r in recordings] == [(rec.sid, "42", made["sid"])]
    conforms(await api.get(f"{call}/Recordings/{rec.sid}.json"), SPEC, RECORDING, "get")
    notes = conforms(await api.get(call + "/Notifications.json"), SPEC, NOTIFICATIONS, "get")["notifications"]
    assert [(n["sid"], n["log"], n["error_code"]) for n in notes] == [(note.sid, "0", "11200")]
    assert (await api.get(call + "/Notifications.json", params={"Log": "1"})).json()["notifications"] == []
    conforms(await api.get(f"{call}/Notifications/{note.sid}.json"), SPEC, NOTIFICATION, "get")
    assert (await api.delete(f"{call}/Recordings/{rec.sid}.json")).status_code == 204
    assert (await api.get(call + "/Recordings.json")).json()["recordings"] == []


def test_seeds_spread_over_months_with_every_status_and_dial_legs(voice_config: SandboxConfig) -> None:
    voice_config.seed = {"calls": 2000, "conferences": 6}
    sandbox = create_sandbox(voice_config).state.sandbox
    voice, now = sandbox.voice, voice_config.clock()
    calls = list(voice.calls[ACCOUNT].values())
    top = [c for c in calls if c.parent_call_sid is None]
    statuses = {c.status(now) for c in calls}
    assert {"completed", "busy", "no-answer", "failed", "canceled", "in-progress"} <= statuses
    assert {c.direction for c in calls} == {"inbound", "outbound-api", "outbound-dial"}
    legs = [c for c in calls if c.parent_call_sid is not None]
    assert 100 < len(legs) < len(top) // 2
    months = {int((now - c.created) // (30 * 86400)) for c in top}
    assert months >= {0, 1, 2, 3, 4, 5}
    created = [c.created for c in calls]
    assert created == sorted(created, reverse=True)
    rooms = list(voice.conferences[ACCOUNT].values())
    assert len(rooms) == 6 and {r.status for r in rooms} == {"in-progress", "completed"}
    assert any(len(c.recordings) for c in top) and any(len(c.notifications) for c in top)


async def test_a_live_dial_legs_date_updated_is_never_in_the_future(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    """The leg's planned end (its parent's) is not an update until it happens."""
    made = await make(api, Url="http://app.example/voice?Dial=%2B14155550100")
    clock.advance(4.5)
    (leg,) = (await api.get(f"{BASE}/Calls.json", params={"ParentCallSid": made["sid"]})).json()["calls"]
    assert leg["status"] == "ringing"
    assert parsedate_to_datetime(leg["date_updated"]) <= datetime.fromtimestamp(clock(), UTC)
    assert leg["date_updated"] == leg["date_created"]  # nothing has happened to it since it rang
    clock.advance(2.0)
    answered = await fetch(api, leg["sid"])
    assert answered["status"] == "in-progress"
    created = parsedate_to_datetime(answered["date_created"])
    assert parsedate_to_datetime(answered["date_updated"]) == created + timedelta(seconds=2)
    clock.advance(30.0)
    ended = await fetch(api, leg["sid"])
    assert ended["status"] == "completed" and ended["date_updated"] == ended["end_time"]


async def test_a_completed_calls_duration_is_its_end_time_less_its_start_time(
    api: httpx.AsyncClient, clock: Clock
) -> None:
    """Every 2008 and 2010 example has Duration = EndTime - StartTime (calls.md: 04:36:33 to 04:36:47
    is 14; the 2010 spec's: 20:36:29 to 20:36:44 is 15); the ringing is part of it."""
    made = await make(api, Url="http://app.example/voice?Dial=%2B14155550100")
    clock.advance(60.0)
    (leg,) = (await api.get(f"{BASE}/Calls.json", params={"ParentCallSid": made["sid"]})).json()["calls"]
    for body in (await fetch(api, made["sid"]), await fetch(api, leg["sid"])):
        assert body["status"] == "completed"
        length = parsedate_to_datetime(body["end_time"]) - parsedate_to_datetime(body["start_time"])
        assert body["duration"] == str(int(length.total_seconds()))
    assert (await fetch(api, made["sid"]))["duration"] == "22"  # 2 s ringing, 20 s in progress
    clock.advance(0.7)
    other = await make(api)
    clock.advance(5.6)  # answered at 4.7 s, hung up at 6.3 s: shown as whole seconds, 2.7 to 6.3 is 4
    hung = conforms(
        await api.post(f"{BASE}/Calls/{other['sid']}.json", data={"Status": "completed"}), SPEC, CALL, "post"
    )
    length = parsedate_to_datetime(hung["end_time"]) - parsedate_to_datetime(hung["start_time"])
    assert hung["duration"] == str(int(length.total_seconds())) == "4"
