"""Messaging, media and logs over loopback: the gateway and the sandbox as separate real servers, driven by
a plain HTTP client as a legacy app would."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.sandbox import SandboxConfig, audio, create_sandbox
from gateway.settings import Settings
from tests.conftest import ACCOUNT, OURS, TOKEN
from tests.servers import serve


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[str, str, Any]]:
    config = SandboxConfig(accounts={ACCOUNT: TOKEN}, message_step=0.2, seed={"messages": 3000})
    sandbox = create_sandbox(config)
    with serve(sandbox, lifespan="off") as upstream:
        settings = Settings(upstream=upstream, trunking_upstream=upstream, access_log=False)
        with serve(create_app(settings)) as gateway:
            yield f"{gateway}/2008-08-01/Accounts/{ACCOUNT}", upstream, sandbox.state.sandbox


def xml(response: httpx.Response) -> ET.Element:
    assert response.status_code in (200, 201), response.text
    return ET.fromstring(response.content)[0]


def values(node: ET.Element) -> dict[str, str]:
    return {child.tag: (child.text or "") for child in node}


def test_send_an_sms_with_ten_digit_numbers_and_watch_it_go(stack: tuple[str, str, Any]) -> None:
    base, _, _ = stack
    with httpx.Client(auth=(ACCOUNT, TOKEN)) as client:
        sent = values(
            xml(
                client.post(
                    f"{base}/SMS/Messages",
                    data={"From": "6465550000", "To": "4158675309", "Body": "Hi Jenny! 👋"},
                )
            )
        )
        assert (sent["To"], sent["From"], sent["Status"], sent["Flags"]) == (
            "4158675309",
            "6465550000",
            "queued",
            "4",
        )
        seen = [sent["Status"]]
        deadline = time.monotonic() + 10
        while seen[-1] != "sent" and time.monotonic() < deadline:
            time.sleep(0.05)
            status = values(xml(client.get(f"{base}/SMS/Messages/{sent['Sid']}")))["Status"]
            if status != seen[-1]:
                seen.append(status)
        assert seen == ["queued", "sending", "sent"]
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        recent = xml(client.get(f"{base}/SMS/Messages?DateSent>={today}&To=415-867-5309"))
        assert [values(m)["Sid"] for m in recent] == [sent["Sid"]]
        assert values(recent[0])["Body"] == "Hi Jenny! 👋"


def test_page_a_3000_message_list_exactly(stack: tuple[str, str, Any]) -> None:
    base, _, sandbox = stack
    with sandbox.store.lock:
        expected = [m.sid for m in sandbox.messaging.messages[ACCOUNT].values()]
    assert len(expected) >= 3002
    walked: list[str] = []
    with httpx.Client(auth=(ACCOUNT, TOKEN), timeout=60) as client:
        first = xml(client.get(f"{base}/SMS/Messages", params={"num": "1000", "page": "0"}))
        assert (first.get("total"), first.get("numpages")) == (
            str(len(expected)),
            str(-(-len(expected) // 1000)),
        )
        for page in range(int(first.get("numpages", "0"))):
            listing = xml(client.get(f"{base}/SMS/Messages", params={"num": "1000", "page": str(page)}))
            assert listing.get("start") == str(page * 1000)
            walked.extend(values(m)["Sid"] for m in listing)
    assert walked == expected


def test_recordings_audio_metadata_transcription_and_delete(stack: tuple[str, str, Any]) -> None:
    base, upstream, sandbox = stack
    with sandbox.store.lock:
        voice = sandbox.voice
        call = voice.new_call(ACCOUNT, "+14158675309", OURS, "inbound", at=voice.clock() - 600)
        recording = sandbox.recordings.add(call, 11, voice.clock() - 500)
        transcription = sandbox.recordings.transcribe(recording, voice.clock() - 400)
    direct = f"{upstream}/2010-04-01/Accounts/{ACCOUNT}/Recordings/{recording.sid}"
    with httpx.Client(auth=(ACCOUNT, TOKEN)) as client:
        for suffix, kind in (("", "wav"), (".wav", "wav"), (".mp3", "mp3")):
            through = client.get(f"{base}/Recordings/{recording.sid}{suffix}")
            assert through.headers["content-type"] == audio.CONTENT_TYPES[kind]  # type: ignore[index]
            assert through.content == client.get(f"{direct}.{kind}").content == audio.body(kind, 11)  # type: ignore[arg-type]
        meta = values(xml(client.get(f"{base}/Recordings/{recording.sid}.xml")))
        assert (meta["Sid"], meta["CallSid"], meta["Duration"]) == (recording.sid, call.sid, "11")
        one = f"{base}/Recordings/{recording.sid}/Transcriptions/{transcription.sid}"
        text = values(xml(client.get(one)))
        assert (text["Status"], text["Price"], text["DateCreated"]) == (
            "completed",
            "-0.05000",
            str(int(transcription.created)),
        )
        plain = client.get(one + ".txt")
        assert plain.headers["content-type"] == "text/plain; charset=utf-8"
        assert plain.text == text["TranscriptionText"] == transcription.text
        deleted = client.delete(f"{base}/Recordings/{recording.sid}")
        assert (deleted.status_code, deleted.content) == (204, b"")
        assert client.get(f"{base}/Recordings/{recording.sid}.xml").status_code == 404
        assert client.get(f"{base}/Recordings/{recording.sid}.mp3").status_code == 404
