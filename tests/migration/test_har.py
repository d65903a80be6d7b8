"""HAR recording: valid HAR 1.2 after every entry, redaction on the written file, rotation, recovery."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gateway.edge.app import create_app
from gateway.migration.har import TRAILER, HarWriter, entry
from gateway.redaction import redact_auth_tokens
from tests.conftest import ACCOUNT, FIXTURES, OTHER, OTHER_TOKEN, PREFIX, TOKEN, CountingTransport, serving

SCHEMA = json.loads((FIXTURES / "har-1.2.schema.json").read_text())


def valid_har(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    jsonschema.validate(document, SCHEMA)
    return document


def exchange(i: int = 0, body: bytes = b"") -> Any:
    scope = {
        "method": "GET",
        "path": f"{PREFIX}/OutgoingCallerIds",
        "query_string": f"page={i}".encode(),
        "headers": [(b"host", b"gw.test")],
        "scheme": "http",
        "http_version": "1.1",
    }
    return (scope, body, 200, [(b"content-type", b"application/xml")], b"<TwilioResponse/>", 1.0e9, 0.002)


async def record_session(tmp_path: Path, upstream: CountingTransport, settings: Any) -> Path:
    path = tmp_path / "session.har"
    app = create_app(settings.replace(record=str(path)), upstream)
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        await client.post(
            f"{PREFIX}/OutgoingCallerIds", data={"PhoneNumber": "4158675309", "AuthToken": TOKEN}
        )
        await client.get(f"{PREFIX}/OutgoingCallerIds?AuthToken={TOKEN}&num=5")
        await client.get(f"http://{ACCOUNT}:{TOKEN}@gw.test{PREFIX}/OutgoingCallerIds.json")
        await client.get("/healthz")  # not a legacy exchange: not recorded
    return path


async def test_recorded_session_is_valid_har_and_redacted(
    tmp_path: Path, upstream: CountingTransport, settings: Any
) -> None:
    path = await record_session(tmp_path, upstream, settings)
    document = valid_har(path)
    entries = document["log"]["entries"]
    assert [e["request"]["method"] for e in entries] == ["POST", "GET", "GET"]
    assert entries[0]["response"]["status"] == 200
    assert "<ValidationRequest>" in entries[0]["response"]["content"]["text"]
    assert entries[2]["response"]["content"]["mimeType"] == "application/json"
    assert any(h["name"] == "x-request-id" for h in entries[0]["response"]["headers"])
    text = path.read_text()
    assert TOKEN not in text
    assert "Basic " not in text
    auth = [
        h["value"] for e in entries for h in e["request"]["headers"] if h["name"].lower() == "authorization"
    ]
    assert auth == ["****"] * 3
    assert entries[0]["request"]["postData"]["text"] == "PhoneNumber=4158675309&AuthToken=%2A%2A%2A%2A"
    assert {"name": "AuthToken", "value": "****"} in entries[1]["request"]["queryString"]
    assert all("@" not in e["request"]["url"] for e in entries)


def test_file_is_valid_after_every_entry_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "x.har"
    writer = HarWriter(str(path), max_bytes=10_000_000)
    assert valid_har(path)["log"]["entries"] == []
    for i in range(3):
        writer.submit(exchange(i))
        assert len(valid_har(path)["log"]["entries"]) == i + 1
    # A new process appends to the same file.
    again = HarWriter(str(path), max_bytes=10_000_000)
    again.submit(exchange(9))
    entries = valid_har(path)["log"]["entries"]
    assert [e["request"]["queryString"][0]["value"] for e in entries] == ["0", "1", "2", "9"]
    writer.close()
    again.close()


def test_a_torn_file_is_moved_aside_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "x.har"
    writer = HarWriter(str(path), max_bytes=10_000_000)
    writer.submit(exchange())
    writer.close()
    with open(path, "r+b") as handle:  # what a power cut mid-write could leave
        handle.truncate(os.path.getsize(path) - len(TRAILER) + 2)
    fresh = HarWriter(str(path), max_bytes=10_000_000)
    assert valid_har(path)["log"]["entries"] == []
    assert (tmp_path / "x.har.unreadable").exists()
    fresh.close()


def test_rotation_bounds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.har"
    writer = HarWriter(str(path), max_bytes=3000)
    for i in range(20):
        writer.submit(exchange(i, body=b"FriendlyName=" + b"x" * 200))
    writer.close()
    assert path.stat().st_size <= 3000
    rotated = tmp_path / "x.har.1"
    assert rotated.exists() and rotated.stat().st_size <= 3000
    last = valid_har(path)["log"]["entries"][-1]
    assert last["request"]["queryString"][0]["value"] == "19"
    valid_har(rotated)


def test_a_stalling_disk_stops_recording_instead_of_stalling_the_gateway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.migration import har
    from gateway.migration.har import DROPPED

    path = tmp_path / "x.har"
    writer = HarWriter(str(path), max_bytes=10_000_000, stall_limit=0.05)
    writer.submit(exchange(0))
    real = os.pwrite

    def slow(fd: int, data: bytes, offset: int) -> int:
        time.sleep(0.06)
        return real(fd, data, offset)

    monkeypatch.setattr(har.os, "pwrite", slow)
    writer.submit(exchange(1))
    assert writer.stopped
    monkeypatch.setattr(har.os, "pwrite", real)
    before = DROPPED._value.get()
    writer.submit(exchange(2))
    assert DROPPED._value.get() == before + 1
    assert len(valid_har(path)["log"]["entries"]) == 2  # what was written is intact
    writer.close()


@pytest.mark.parametrize("header", [b"authorization", b"cookie", b"proxy-authorization"])
def test_secret_headers_are_redacted(header: bytes) -> None:
    scope, *rest = exchange()
    scope["headers"] = [(b"host", b"gw.test"), (header, b"secret-value")]
    written = json.dumps(entry(scope, *rest))
    assert "secret-value" not in written


async def test_recording_audio_is_recorded_without_its_bytes(
    tmp_path: Path, upstream: CountingTransport, settings: Any, sandbox_app: Any
) -> None:
    sandbox = sandbox_app.state.sandbox
    voice = sandbox.voice
    call = voice.new_call(ACCOUNT, "+14158675309", "+16465550000", "inbound", at=voice.clock() - 600)
    recording = sandbox.recordings.add(call, 20, voice.clock() - 500)
    path = tmp_path / "session.har"
    app = create_app(settings.replace(record=str(path)), upstream)
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        audio = await client.get(f"{PREFIX}/Recordings/{recording.sid}")
        await client.get(f"{PREFIX}/Recordings/{recording.sid}.xml")
    assert len(audio.content) == 44 + 20 * 16000
    first, second = valid_har(path)["log"]["entries"]
    assert first["response"]["content"]["mimeType"] == "audio/x-wav"
    assert first["response"]["content"]["text"] == ""
    assert "<Recording>" in second["response"]["content"]["text"]


def test_the_clients_credential_is_scrubbed_from_recorded_bodies() -> None:
    """An upstream that echoes the credential (relayed in an error message) is not recorded with it."""
    pair = f"{ACCOUNT}:{TOKEN}"
    encoded = base64.b64encode(pair.encode()).decode()
    scope, body, _, headers, _, started, elapsed = exchange(body=f"Echo={TOKEN}x".encode())
    scope["headers"] = [(b"host", b"gw.test"), (b"authorization", f"Basic {encoded}".encode())]
    echoed = f"<Message>Basic {encoded} | {encoded} | {pair} | {TOKEN}</Message>".encode()
    written = json.dumps(entry(scope, body, 400, headers, echoed, started, elapsed))
    assert TOKEN not in written and encoded not in written
    assert "<Message>**** | **** | **** | ****</Message>" in written


async def test_every_auth_token_in_a_recorded_account_list_is_redacted(
    tmp_path: Path, upstream: CountingTransport, settings: Any
) -> None:
    """The account list holds the subaccounts' tokens too, not only the credential the client sent."""
    path = tmp_path / "accounts.har"
    app = create_app(settings.replace(record=str(path)), upstream)
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        for suffix in ("", ".json", ".csv", ".html"):
            answer = await client.get(f"/2008-08-01/Accounts{suffix}")
            assert OTHER in answer.text and OTHER_TOKEN in answer.text  # the client sees them, as in 2008
    entries = valid_har(path)["log"]["entries"]
    assert len(entries) == 4
    text = path.read_text()
    assert OTHER_TOKEN not in text and TOKEN not in text
    for recorded in entries:
        assert OTHER in recorded["response"]["content"]["text"]
    assert "<AuthToken>****</AuthToken>" in entries[0]["response"]["content"]["text"]
    assert '"AuthToken":"****"' in entries[1]["response"]["content"]["text"]
    assert '<div class="auth-token">****</div>' in entries[3]["response"]["content"]["text"]


@pytest.mark.parametrize(
    ("document", "redacted"),
    [
        (
            "<A><AuthToken>t1</AuthToken><X>t1</X><AuthToken/><AuthToken></AuthToken></A>",
            "<A><AuthToken>****</AuthToken><X>t1</X><AuthToken/><AuthToken></AuthToken></A>",
        ),
        ("<AuthToken><![CDATA[t<1]]></AuthToken>", "<AuthToken>****</AuthToken>"),
        (
            '<div class="auth-token">t&amp;1</div><div class="sid">s</div>',
            '<div class="auth-token">****</div><div class="sid">s</div>',
        ),
        (
            '{"AuthToken": "t\\"1", "auth_token":"t2", "N": null, "AuthToken2": "x", "e": ""}',
            '{"AuthToken": "****", "auth_token":"****", "N": null, "AuthToken2": "x", "e": ""}',
        ),
        ('{"AuthToken":null,"AuthToken":""}', '{"AuthToken":null,"AuthToken":""}'),
        (
            'Sid,AuthToken,Name\r\nAC1,t1,"a,AuthToken"\r\nAC2,,b\r\n',
            'Sid,AuthToken,Name\r\nAC1,****,"a,AuthToken"\r\nAC2,,b\r\n',
        ),
        ("Sid,Name\r\nAC1,AuthToken\r\n", "Sid,Name\r\nAC1,AuthToken\r\n"),
    ],
)
def test_auth_token_values_are_redacted_in_each_format(document: str, redacted: str) -> None:
    assert redact_auth_tokens(document) == redacted
