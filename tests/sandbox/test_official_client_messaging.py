"""The official ``twilio`` 9.x client drives the sandbox's messaging, recordings, transcriptions and
notifications endpoints over loopback, as it would the real API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from twilio.rest import Client

from gateway.sandbox import SandboxConfig, create_sandbox
from tests.conftest import ACCOUNT, OURS, TOKEN, Clock
from tests.sandbox.test_official_client import LoopbackHttpClient
from tests.servers import serve


@pytest.fixture
def official(clock: Clock) -> Iterator[tuple[Client, Any, LoopbackHttpClient]]:
    app = create_sandbox(SandboxConfig(accounts={ACCOUNT: TOKEN}, clock=clock))
    with serve(app, lifespan="off") as base:
        http = LoopbackHttpClient(base)
        yield Client(ACCOUNT, TOKEN, http_client=http), app.state.sandbox, http


def test_messages_through_the_official_client(
    official: tuple[Client, Any, LoopbackHttpClient], clock: Clock
) -> None:
    client, sandbox, http = official
    sent = client.messages.create(to="+14158675309", from_=OURS, body="Grüße 👋")
    assert (sent.status, sent.direction, sent.body) == ("queued", "outbound-api", "Grüße 👋")
    clock.advance(5)
    fetched = client.messages(sent.sid).fetch()
    assert fetched.status == "sent" and fetched.date_sent is not None
    for _ in range(120):
        sandbox.messaging.add_message(
            ACCOUNT, "+12125550100", OURS, "x", "outbound-api", at=clock() - 86400 * 30
        )
    listed = client.messages.list(page_size=50)
    assert len(listed) == 121 and len({m.sid for m in listed}) == 121
    assert sum("PageToken=" in url for url in http.urls) == 2
    recent = client.messages.list(date_sent_after=datetime.fromtimestamp(clock(), UTC) - timedelta(days=1))
    assert [m.sid for m in recent] == [sent.sid]
    assert [m.sid for m in client.messages.list(to="+14158675309")] == [sent.sid]
    assert client.messages(sent.sid).delete() is True


def test_short_codes_through_the_official_client(official: tuple[Client, Any, LoopbackHttpClient]) -> None:
    client, _, _ = official
    codes = client.short_codes.list()
    assert [c.short_code for c in codes] == ["67898", "69009"]
    assert [c.short_code for c in client.short_codes.list(short_code="9*0")] == ["69009"]
    updated = client.short_codes(codes[0].sid).update(
        sms_url="http://myapp.example/awesome", friendly_name="Main"
    )
    assert (updated.sms_url, updated.friendly_name) == ("http://myapp.example/awesome", "Main")
    assert client.short_codes(codes[0].sid).fetch().friendly_name == "Main"


def test_recordings_transcriptions_and_notifications_through_the_official_client(
    official: tuple[Client, Any, LoopbackHttpClient], clock: Clock
) -> None:
    client, sandbox, _ = official
    call = sandbox.voice.new_call(ACCOUNT, "+14158675309", OURS, "inbound", at=clock() - 600)
    recording = sandbox.recordings.add(call, 12, clock() - 500)
    transcription = sandbox.recordings.transcribe(recording, clock() - 400)
    sandbox.notifications.add(ACCOUNT, call.sid, 11200, "HTTP retrieval failure", at=clock() - 300)
    (listed,) = client.recordings.list(call_sid=call.sid)
    assert (listed.sid, listed.duration, listed.call_sid) == (recording.sid, "12", call.sid)
    assert client.recordings(recording.sid).fetch().duration == "12"
    (text,) = client.transcriptions.list()
    assert (text.sid, text.recording_sid, text.status) == (transcription.sid, recording.sid, "completed")
    assert client.recordings(recording.sid).transcriptions(transcription.sid).fetch().transcription_text
    (note,) = client.notifications.list(log=0)
    assert (note.error_code, note.call_sid) == ("11200", call.sid)
    assert client.notifications(note.sid).fetch().request_variables == ""
    assert client.recordings(recording.sid).delete() is True
    assert client.recordings.list() == []
