"""The official ``twilio`` 9.x client, pointed at the sandbox over loopback, cannot tell the difference."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from gateway.sandbox import create_sandbox
from tests.conftest import ACCOUNT, TOKEN, TRUNK
from tests.servers import serve


class LoopbackHttpClient(TwilioHttpClient):
    """Sends what the client addresses to api.twilio.com / trunking.twilio.com to the sandbox."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = urlsplit(base)
        self.urls: list[str] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        assert parts.hostname in ("api.twilio.com", "trunking.twilio.com", "127.0.0.1"), url
        rewritten = urlunsplit((self.base.scheme, self.base.netloc, parts.path, parts.query, ""))
        self.urls.append(rewritten)
        return super().request(method, rewritten, *args, **kwargs)


@pytest.fixture
def official(sandbox_config: Any) -> Iterator[tuple[Client, Any, LoopbackHttpClient]]:
    app = create_sandbox(sandbox_config)
    with serve(app, lifespan="off") as base:
        http = LoopbackHttpClient(base)
        yield Client(ACCOUNT, TOKEN, http_client=http), app.state.sandbox.store, http


def test_caller_ids_through_the_official_client(official: tuple[Client, Any, LoopbackHttpClient]) -> None:
    client, store, http = official
    request = client.validation_requests.create(phone_number="+14158675310", friendly_name="Home")
    assert request.phone_number == "+14158675310"
    assert request.friendly_name == "Home"
    assert len(request.validation_code) == 6
    store.seed_caller_ids(ACCOUNT, 130)
    listed = client.outgoing_caller_ids.list(limit=125, page_size=50)
    assert len(listed) == 125
    assert len({c.sid for c in listed}) == 125
    assert sum("PageToken=PA" in url for url in http.urls) == 2
    everything = client.outgoing_caller_ids.list(page_size=1000)
    assert len(everything) == 131
    home = client.outgoing_caller_ids.list(phone_number="+14158675310")
    assert [c.friendly_name for c in home] == ["Home"]
    sid = home[0].sid
    fetched = client.outgoing_caller_ids(sid).fetch()
    assert fetched.phone_number == "+14158675310"
    assert fetched.date_created.year >= 2026
    assert client.outgoing_caller_ids(sid).update(friendly_name="Office").friendly_name == "Office"
    assert client.outgoing_caller_ids(sid).delete() is True
    assert len(client.outgoing_caller_ids.list()) == 130


def test_trunk_numbers_through_the_official_client(official: tuple[Client, Any, LoopbackHttpClient]) -> None:
    client, _, _ = official
    incoming = client.incoming_phone_numbers.list()
    assert len(incoming) == 5
    trunk = client.trunking.v1.trunks(TRUNK)
    created = [trunk.phone_numbers.create(phone_number_sid=number.sid) for number in incoming[:3]]
    assert [c.trunk_sid for c in created] == [TRUNK] * 3
    assert created[0].date_created.year >= 2026
    listed = trunk.phone_numbers.list(page_size=2)
    assert [n.sid for n in listed] == [c.sid for c in created]
    assert trunk.phone_numbers(created[0].sid).fetch().phone_number == incoming[0].phone_number
    assert trunk.phone_numbers(created[0].sid).delete() is True
    assert len(trunk.phone_numbers.list()) == 2


@pytest.fixture
def official_voice(voice_config: Any) -> Iterator[tuple[Client, Any, LoopbackHttpClient]]:
    app = create_sandbox(voice_config)
    with serve(app, lifespan="off") as base:
        http = LoopbackHttpClient(base)
        yield Client(ACCOUNT, TOKEN, http_client=http), app.state.sandbox.voice, http


def test_calls_through_the_official_client(
    official_voice: tuple[Client, Any, LoopbackHttpClient], clock: Any
) -> None:
    client, voice, http = official_voice
    call = client.calls.create(
        to="+14155551212", from_="+16465550000", url="http://app.example/voice?Dial=%2B14155550100"
    )
    assert (call.status, call.direction, call.to) == ("queued", "outbound-api", "+14155551212")
    assert call.date_created.year == 2026
    clock.advance(4.5)
    fetched = client.calls(call.sid).fetch()
    assert fetched.status == "in-progress" and fetched.start_time is not None
    legs = client.calls.list(parent_call_sid=call.sid)
    assert [leg.direction for leg in legs] == ["outbound-dial"]
    assert client.calls(call.sid).update(url="http://app.example/hold", method="GET").status == "in-progress"
    assert [c.sid for c in client.calls.list(status="in-progress")] == [call.sid]
    started = datetime(2026, 11, 18, tzinfo=UTC)
    assert {c.sid for c in client.calls.list(start_time_after=started)} == {call.sid, legs[0].sid}
    assert client.calls.list(start_time_before=datetime(2026, 11, 17, tzinfo=UTC)) == []
    ended = client.calls(call.sid).update(status="completed")
    assert (ended.status, ended.duration) == ("completed", "2")  # rang at 2 s, hung up at 4.5 s
    for i in range(130):
        voice.new_call(ACCOUNT, "+14155551212", "+16465550000", "outbound-api", at=1_700_000_000.0 + i)
    assert len(client.calls.list(page_size=50)) == 132
    assert sum("PageToken=PA" in url for url in http.urls) >= 2
    assert client.calls(legs[0].sid).delete() is True
    assert client.calls.list(parent_call_sid=call.sid) == []


def test_conferences_through_the_official_client(
    official_voice: tuple[Client, Any, LoopbackHttpClient],
) -> None:
    client, voice, _ = official_voice
    room = voice.add_conference(ACCOUNT, "MyRoom")
    first = client.conferences(room.sid).participants.create(from_="+16465550000", to="+14155550101")
    second = client.conferences(room.sid).participants.create(
        from_="+16465550000", to="+14155550102", end_conference_on_exit=True
    )
    assert [c.friendly_name for c in client.conferences.list(friendly_name="MyRoom")] == ["MyRoom"]
    assert client.conferences(room.sid).fetch().status == "in-progress"
    people = client.conferences(room.sid).participants
    assert people(first.call_sid).update(muted=True).muted is True
    assert [p.call_sid for p in people.list(muted=True)] == [first.call_sid]
    assert people(first.call_sid).delete() is True
    assert [p.call_sid for p in people.list()] == [second.call_sid]
    assert people(second.call_sid).delete() is True
    ended = client.conferences(room.sid).fetch()
    assert (ended.status, ended.reason_conference_ended) == (
        "completed",
        "participant-with-end-conference-on-exit-kicked",
    )
    assert client.conferences.list(status="completed")[0].sid == room.sid


def test_call_logs_through_the_official_client(
    official_voice: tuple[Client, Any, LoopbackHttpClient],
) -> None:
    from gateway.sandbox.call_logs import notification, recording

    client, voice, _ = official_voice
    call = voice.new_call(ACCOUNT, "+14155551212", "+16465550000", "outbound-api", at=voice.clock() - 100)
    rec = recording(voice, call.sid, ACCOUNT, voice.clock() - 50, 12)
    note = notification(voice, call.sid, ACCOUNT, voice.clock() - 50, 11200, "HTTP retrieval failure")
    assert rec is not None and note is not None
    (listed,) = client.calls(call.sid).recordings.list()
    assert (listed.sid, listed.duration, listed.channels) == (rec.sid, "12", 1)
    (logged,) = client.calls(call.sid).notifications.list()
    assert (logged.sid, logged.error_code) == (note.sid, "11200")
    assert client.calls(call.sid).recordings(rec.sid).delete() is True
