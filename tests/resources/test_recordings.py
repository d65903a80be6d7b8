"""Recordings (gateway/resources/recordings.py) and their audio (gateway/upstream/media.py) through the
whole app, on the sandbox with a test clock: metadata, filters, deleting, and the WAV and MP3 streamed
through."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.sandbox import SandboxConfig, audio, create_sandbox
from gateway.settings import Settings
from tests.conftest import (
    ACCOUNT,
    ANCIENT,
    FIXTURES,
    OTHER,
    OURS,
    PREFIX,
    TOKEN,
    UPSTREAM,
    Clock,
    CountingTransport,
    assert_partitioned_walk,
    call_upstream,
    dated_instants,
    elements,
    get_scope,
    golden,
    legacy_walk,
    parse_xml,
    serving,
    shape,
    tags,
    verbatim_sources,
)

DAY = 86400.0


@pytest.fixture
def sandbox_config(clocked_config: SandboxConfig) -> SandboxConfig:
    return clocked_config


def record(sandbox: Any, seconds: int, age: float = 100.0, account: str = ACCOUNT) -> Any:
    """A finished call ``age`` seconds ago with a recording of ``seconds``."""
    voice = sandbox.voice
    call = voice.new_call(account, "+14158675309", OURS, "outbound-api", at=voice.clock() - age - 30)
    return sandbox.recordings.add(call, seconds, voice.clock() - age)


@pytest.mark.parametrize("name", ["recordings.xml", "recording.fragment.txt"])
def test_goldens_are_verbatim_copies_of_the_doc_page(name: str) -> None:
    assert "recordings.md" in verbatim_sources(name)


async def test_list_has_the_docs_shape(client: httpx.AsyncClient, sandbox: Any) -> None:
    older, newer = record(sandbox, 123, age=300), record(sandbox, 45, age=200)
    listing = parse_xml((await client.get(f"{PREFIX}/Recordings")).content)[0]
    expected = golden("recordings.xml")[0]
    assert listing.tag == expected.tag and set(expected.attrib) <= set(listing.attrib)
    assert [shape(child) for child in listing] == [shape(child) for child in expected]
    values = [dict(elements(child)) for child in listing]
    assert [(v["Sid"], v["Duration"], v["CallSid"]) for v in values] == [
        (newer.sid, "45", newer.call.sid),
        (older.sid, "123", older.call.sid),
    ]


async def test_the_xml_suffix_answers_the_metadata_in_the_examples_order(
    client: httpx.AsyncClient, sandbox: Any
) -> None:
    made = record(sandbox, 15)
    response = await client.get(f"{PREFIX}/Recordings/{made.sid}.xml")
    assert response.headers["content-type"] == "application/xml"
    node = parse_xml(response.content)[0]
    fragment = re.findall(r"<(\w+)>", (FIXTURES / "golden" / "recording.fragment.txt").read_text())
    assert fragment[:2] == ["TwilioResponse", "Recording"]
    assert tags(node)[: len(fragment) - 2] == fragment[2:]
    assert tags(node) == [*fragment[2:], "DateUpdated"]
    values = dict(elements(node))
    assert (values["Duration"], values["CallSid"], values["AccountSid"]) == ("15", made.call.sid, ACCOUNT)
    for suffix, content_type in (("json", "application/json"), ("csv", "text/csv")):
        other = await client.get(f"{PREFIX}/Recordings/{made.sid}.{suffix}")
        assert other.headers["content-type"].startswith(content_type)


async def test_filters_call_sid_and_date_created_inequalities(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport, clock: Clock
) -> None:
    made = [record(sandbox, 10 + i, age=(3 - i) * DAY) for i in range(3)]
    middle = datetime.fromtimestamp(made[1].created, UTC).strftime("%Y-%m-%d")

    async def listed(query: str) -> list[str]:
        node = parse_xml((await client.get(f"{PREFIX}/Recordings?{query}")).content)[0]
        return [dict(elements(r))["Sid"] for r in node]

    assert await listed(f"CallSid={made[0].call.sid}") == [made[0].sid]
    assert await listed(f"DateCreated>={middle}") == [made[2].sid, made[1].sid]
    assert await listed(f"DateCreated<={middle}") == [made[1].sid, made[0].sid]
    assert await listed(f"DateCreated={middle}") == [made[1].sid]
    sent = [dict(r.url.params) for r in upstream.requests]
    assert sent[0]["CallSid"] == made[0].call.sid and sent[1]["DateCreated>"] == middle


async def test_a_calls_recordings(client: httpx.AsyncClient, sandbox: Any) -> None:
    made = record(sandbox, 30)
    record(sandbox, 31)
    node = parse_xml((await client.get(f"{PREFIX}/Calls/{made.call.sid}/Recordings")).content)[0]
    assert node.tag == "Recordings"
    assert [dict(elements(r))["Sid"] for r in node] == [made.sid]


async def test_delete_is_204_and_the_recording_is_gone(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport
) -> None:
    made = record(sandbox, 9)
    response = await client.delete(f"{PREFIX}/Recordings/{made.sid}")
    assert (response.status_code, response.content) == (204, b"")
    assert upstream.requests[-1].method == "DELETE"
    assert upstream.requests[-1].url.path == f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{made.sid}.json"
    assert (await client.get(f"{PREFIX}/Recordings/{made.sid}.xml")).status_code == 404
    assert (await client.get(f"{PREFIX}/Recordings/{made.sid}")).status_code == 404
    assert len(made.call.recordings) == 0
    other = record(sandbox, 9)
    assert (await client.post(f"{PREFIX}/Recordings/{other.sid}?_method=DELETE")).status_code == 204


# The audio ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "kind", "content_type"),
    [("", "wav", "audio/x-wav"), (".wav", "wav", "audio/x-wav"), (".mp3", "mp3", "audio/mpeg")],
)
async def test_the_audio_is_the_sandboxs_bytes(
    client: httpx.AsyncClient,
    sandbox: Any,
    upstream: CountingTransport,
    suffix: str,
    kind: str,
    content_type: str,
) -> None:
    made = record(sandbox, 7)
    response = await client.get(
        f"{PREFIX}/Recordings/{made.sid}{suffix}", headers={"Accept-Encoding": "gzip"}
    )
    assert response.status_code == 200
    assert "content-encoding" not in response.headers  # audio is never gzipped on the way
    assert response.headers["content-type"] == content_type
    assert response.content == audio.body(kind, 7)  # type: ignore[arg-type]
    assert response.headers["content-length"] == str(len(response.content))
    assert response.headers["accept-ranges"] == "bytes"
    (request,) = upstream.requests
    assert request.url.path == f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{made.sid}.{kind}"
    assert request.headers["authorization"].startswith("Basic ")


async def test_ranges_pass_through(client: httpx.AsyncClient, sandbox: Any) -> None:
    made = record(sandbox, 3)
    whole = audio.body("wav", 3)
    part = await client.get(f"{PREFIX}/Recordings/{made.sid}.wav", headers={"Range": "bytes=40-99"})
    assert part.status_code == 206
    assert part.content == whole[40:100]
    assert part.headers["content-range"] == f"bytes 40-99/{len(whole)}"
    assert part.headers["content-length"] == "60"
    tail = await client.get(f"{PREFIX}/Recordings/{made.sid}.mp3", headers={"Range": "bytes=-144"})
    assert (tail.status_code, tail.content) == (206, audio.body("mp3", 3)[-144:])
    beyond = await client.get(f"{PREFIX}/Recordings/{made.sid}", headers={"Range": f"bytes={len(whole)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(whole)}"


async def test_the_audio_goes_out_chunk_by_chunk(gateway_app: Any, sandbox: Any) -> None:
    made = record(sandbox, 30)  # 480,044 bytes of WAV
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = get_scope(f"{PREFIX}/Recordings/{made.sid}")
    await gateway_app(scope, receive, send)
    bodies = [m for m in messages if m["type"] == "http.response.body"]
    assert len(bodies) >= 8
    assert max(len(m["body"]) for m in bodies) <= 64 * 1024
    assert b"".join(m["body"] for m in bodies) == audio.body("wav", 30)


async def test_unknown_and_malformed_recordings_are_404_in_xml(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport
) -> None:
    missing = await client.get(f"{PREFIX}/Recordings/RE{'0' * 32}.mp3")
    assert missing.status_code == 404
    assert parse_xml(missing.content)[0].findtext("Status") == "404"
    upstream.reset()
    assert (await client.get(f"{PREFIX}/Recordings/RE123.wav")).status_code == 404
    assert (await client.get(f"{PREFIX}/Recordings/{record(sandbox, 1).sid}.txt")).status_code == 404
    assert (await client.get(f"{PREFIX}/Recordings.mp3")).status_code == 404
    assert upstream.count() == 0


async def test_another_accounts_recording_audio_is_404(client: httpx.AsyncClient, sandbox: Any) -> None:
    theirs = record(sandbox, 2, account=OTHER)
    assert (await client.get(f"{PREFIX}/Recordings/{theirs.sid}")).status_code == 404


# Redirects to a storage host -----------------------------------------------------------------------------


def redirected(clock: Clock, hosts: tuple[str, ...]) -> tuple[Any, Any, CountingTransport]:
    config = SandboxConfig(accounts={ACCOUNT: TOKEN}, clock=clock, media_redirect="http://media.storage.test")
    sandbox_app = create_sandbox(config)
    transport = CountingTransport(httpx.ASGITransport(app=sandbox_app))
    settings = Settings(upstream=UPSTREAM, trunking_upstream=UPSTREAM, media_hosts=hosts)
    return create_app(settings, transport), sandbox_app.state.sandbox, transport


@pytest.mark.parametrize(
    "hosts", [("media.storage.test",), ("*.storage.test",), ("other.test", "media.storage.test:80")]
)
async def test_a_redirect_to_an_allowed_storage_host_is_followed_without_credentials(
    clock: Clock, hosts: tuple[str, ...]
) -> None:
    app, sandbox, transport = redirected(clock, hosts)
    made = record(sandbox, 4)
    async with serving(app) as client:
        traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        headers = {"Range": "bytes=0-143", "traceparent": traceparent}
        response = await client.get(f"{PREFIX}/Recordings/{made.sid}.mp3", headers=headers)
    assert (response.status_code, response.content) == (206, audio.body("mp3", 4)[:144])
    first, second = transport.requests
    assert first.url.host == "sandbox.test" and "authorization" in first.headers
    assert second.url.host == "media.storage.test"
    assert first.headers["traceparent"] == traceparent
    assert not {"authorization", "x-request-id", "traceparent"} & set(second.headers)
    assert second.headers["range"] == "bytes=0-143"
    assert [seen for _, seen in sandbox.recordings.storage_requests] == [False]


@pytest.mark.parametrize("hosts", [(), ("storage.test",), ("evil-media.storage.test.example",)])
async def test_a_redirect_to_any_other_host_is_a_502_and_not_followed(
    clock: Clock, hosts: tuple[str, ...]
) -> None:
    app, sandbox, transport = redirected(clock, hosts)
    made = record(sandbox, 4)
    async with serving(app) as client:
        response = await client.get(f"{PREFIX}/Recordings/{made.sid}")
    assert response.status_code == 502
    assert "GATEWAY_MEDIA_HOSTS" in parse_xml(response.content)[0].findtext("Message", "")
    assert len(transport.requests) == 1
    assert sandbox.recordings.storage_requests == []


# Record=true calls ---------------------------------------------------------------------------------------


async def test_a_call_made_with_record_leaves_a_recording_and_asked_a_transcription(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport, clock: Clock
) -> None:
    """2008 has no ``Record`` parameter (the gateway drops it): the calls are made on the upstream."""
    data = {
        "From": "+16465550000",
        "To": "+14158675309",
        "Url": "http://app.example/voice?Transcribe=true",
        "Record": "true",
    }
    call = {"Sid": (await call_upstream(upstream, data))["sid"]}
    assert (
        sandbox.recordings.sync(ACCOUNT).get(call["Sid"]) is None
        and call["Sid"] in sandbox.recordings.pending
    )
    clock.advance(60)
    listing = parse_xml((await client.get(f"{PREFIX}/Calls/{call['Sid']}/Recordings")).content)[0]
    (made,) = [dict(elements(r)) for r in listing]
    assert made["CallSid"] == call["Sid"] and int(made["Duration"]) > 0
    audio_bytes = (await client.get(f"{PREFIX}/Recordings/{made['Sid']}")).content
    assert audio_bytes == audio.body("wav", int(made["Duration"]))
    transcriptions = parse_xml(
        (await client.get(f"{PREFIX}/Recordings/{made['Sid']}/Transcriptions")).content
    )[0]
    assert [dict(elements(t))["RecordingSid"] for t in transcriptions] == [made["Sid"]]
    plain = {**data, "Url": "http://app.example/voice"}
    other = {"Sid": (await call_upstream(upstream, plain))["sid"]}
    clock.advance(60)
    (again,) = parse_xml((await client.get(f"{PREFIX}/Calls/{other['Sid']}/Recordings")).content)[0]
    again_sid = dict(elements(again))["Sid"]
    assert (
        len(parse_xml((await client.get(f"{PREFIX}/Recordings/{again_sid}/Transcriptions")).content)[0]) == 0
    )


async def test_a_calls_recording_is_its_metadata_and_only_that_calls(
    client: httpx.AsyncClient, sandbox: Any
) -> None:
    made, other = record(sandbox, 30), record(sandbox, 31)
    node = parse_xml((await client.get(f"{PREFIX}/Calls/{made.call.sid}/Recordings/{made.sid}")).content)[0]
    assert dict(elements(node))["Sid"] == made.sid
    assert (await client.get(f"{PREFIX}/Calls/{other.call.sid}/Recordings/{made.sid}")).status_code == 404
    assert (await client.get(f"{PREFIX}/Calls/{made.call.sid}/Recordings/{made.sid}.mp3")).status_code == 404


async def test_the_date_partitioned_count_is_exact_and_in_the_upstreams_order(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport, clock: Clock
) -> None:
    voice = sandbox.voice
    call = voice.new_call(ACCOUNT, "+14158675309", OURS, "outbound-api", at=ANCIENT - 60)
    for at in dated_instants(clock()):
        sandbox.recordings.add(call, 5, at)
    expected = [item.sid for item in sandbox.recordings.sync(ACCOUNT).values()]
    await assert_partitioned_walk(client, upstream, f"{PREFIX}/Recordings", "DateCreated", expected)


async def test_a_clients_own_date_bound_is_counted_exactly(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport, clock: Clock
) -> None:
    voice = sandbox.voice
    call = voice.new_call(ACCOUNT, "+14158675309", OURS, "outbound-api", at=ANCIENT - 60)
    for at in dated_instants(clock(), crowd=600, spread=900):
        sandbox.recordings.add(call, 5, at)
    day = datetime.fromtimestamp(clock() - 30 * DAY, UTC)
    expected = [
        r.sid
        for r in sandbox.recordings.sync(ACCOUNT).values()
        if datetime.fromtimestamp(r.created, UTC).date() >= day.date()
    ]
    upstream.reset()
    head, sids = await legacy_walk(client, f"{PREFIX}/Recordings?num=50&DateCreated>={day:%Y-%m-%d}")
    assert head.get("total") == str(len(expected)) and sids == expected
    assert all(list(r.url.params).count("DateCreated>") <= 1 for r in upstream.requests)
