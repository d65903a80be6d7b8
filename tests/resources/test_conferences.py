"""Conferences and Participants through the whole app, on the sandbox (injected transport, a test clock)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.sandbox import SandboxConfig
from tests.conftest import (
    ACCOUNT,
    OURS,
    PREFIX,
    CountingTransport,
    assert_partitioned_walk,
    dated_instants,
    elements,
    golden,
    parse_xml,
    shape,
    tags,
    verbatim_sources,
)

GOLDENS = [
    "conference.xml",
    "conferences.xml",
    "participant.xml",
    "participant_muted.xml",
    "participant_unmuted.xml",
    "participants.xml",
]


@pytest.fixture
def sandbox_config(voice_config: SandboxConfig) -> SandboxConfig:
    return voice_config


@pytest.fixture
def room(voice: Any) -> Any:
    """MyRoom, in progress since 10 minutes ago, with two callers (the first one muted)."""
    conference = voice.add_conference(ACCOUNT, "MyRoom", at=voice.clock() - 600)
    for index in range(2):
        call = voice.new_call(ACCOUNT, OURS, f"+1415555010{index}", "inbound", at=voice.clock() - 590)
        call.timeline = call.timeline[:3]  # in the conference until it leaves
        voice.join(conference, call, at=voice.clock() - 580 + index, muted=index == 0)
    return conference


def members(room: Any) -> list[Any]:
    return [member.call for member in room.participants.values()]


@pytest.mark.parametrize("name", GOLDENS)
def test_goldens_are_verbatim_copies_of_conferences_md(name: str) -> None:
    assert "conferences.md" in verbatim_sources(name)


async def test_conference_has_the_shape_of_the_docs(client: httpx.AsyncClient, room: Any) -> None:
    node = parse_xml((await client.get(f"{PREFIX}/Conferences/{room.sid}")).content)[0]
    assert shape(node) == shape(golden("conference.xml")[0])
    values = dict(elements(node))
    assert (values["Sid"], values["FriendlyName"], values["Status"]) == (room.sid, "MyRoom", "1")
    listing = parse_xml((await client.get(f"{PREFIX}/Conferences")).content)[0]
    expected = golden("conferences.xml")[0]
    assert set(expected.attrib) <= set(listing.attrib)
    assert [shape(c) for c in listing] == [shape(c) for c in expected]


@pytest.mark.parametrize("name", ["participant.xml", "participant_muted.xml", "participant_unmuted.xml"])
async def test_participant_has_the_shape_of_the_docs(client: httpx.AsyncClient, room: Any, name: str) -> None:
    call = members(room)[1]
    node = parse_xml((await client.get(f"{PREFIX}/Conferences/{room.sid}/Participants/{call.sid}")).content)[
        0
    ]
    assert shape(node) == shape(golden(name)[0])
    values = dict(elements(node))
    expected = dict(elements(golden(name)[0]))
    assert (values["StartConferenceOnEnter"], values["EndConferenceOnExit"]) == (
        expected["StartConferenceOnEnter"],
        expected["EndConferenceOnExit"],
    )
    assert (values["ConferenceSid"], values["CallSid"], values["Muted"]) == (room.sid, call.sid, "false")


async def test_participants_list_has_the_shape_of_the_docs(client: httpx.AsyncClient, room: Any) -> None:
    listing = parse_xml((await client.get(f"{PREFIX}/Conferences/{room.sid}/Participants")).content)[0]
    expected = golden("participants.xml")[0]
    assert set(expected.attrib) <= set(listing.attrib)
    assert [shape(c) for c in listing] == [shape(c) for c in expected]
    assert [c.findtext("CallSid") for c in listing] == [c.sid for c in members(room)]


@pytest.mark.parametrize(
    ("query", "upstream_query", "count"),
    [
        ("Status=1", {"Status": "in-progress"}, 1),
        ("Status=2", {"Status": "completed"}, 1),
        ("Status=0", {"Status": "init"}, 0),
        ("FriendlyName=MyRoom", {"FriendlyName": "MyRoom"}, 1),
        ("Status=1&FriendlyName=MyRoom", {"Status": "in-progress", "FriendlyName": "MyRoom"}, 1),
        ("DateCreated=2026-11-18", {"DateCreated": "2026-11-18"}, 1),
        ("DateCreated>=2026-11-18", {"DateCreated>": "2026-11-18"}, 1),
        ("DateCreated<=2026-11-17", {"DateCreated<": "2026-11-17"}, 1),
        ("DateUpdated>=2026-11-18", {"DateUpdated>": "2026-11-18"}, 1),
        ("DateUpdated<=2026-11-18", {"DateUpdated<": "2026-11-18"}, 2),
    ],
)
async def test_conference_filters(
    client: httpx.AsyncClient,
    upstream: CountingTransport,
    voice: Any,
    room: Any,
    query: str,
    upstream_query: dict[str, str],
    count: int,
) -> None:
    old = voice.add_conference(ACCOUNT, "Yesterday", at=voice.clock() - 86400)
    voice.end(old, "last-participant-left", at=voice.clock() - 80000)
    listing = parse_xml((await client.get(f"{PREFIX}/Conferences?{query}")).content)[0]
    assert len(listing) == count
    (sent,) = [dict(r.url.params) for r in upstream.requests if r.url.path.endswith("/Conferences.json")]
    assert upstream_query.items() <= sent.items()


@pytest.mark.parametrize(("value", "muted"), [("true", ["0"]), ("1", ["0"]), ("false", ["1"]), ("0", ["1"])])
async def test_participants_filter_muted(
    client: httpx.AsyncClient, room: Any, value: str, muted: list[str]
) -> None:
    listing = parse_xml(
        (await client.get(f"{PREFIX}/Conferences/{room.sid}/Participants?Muted={value}")).content
    )[0]
    calls = members(room)
    assert [c.findtext("CallSid") for c in listing] == [calls[int(i)].sid for i in muted]


@pytest.mark.parametrize("path", ["Conferences", "Conference"])
@pytest.mark.parametrize(
    ("value", "shown"), [("true", "true"), ("1", "true"), ("false", "false"), ("yes", "false")]
)
async def test_mute_and_unmute_with_post(
    client: httpx.AsyncClient, upstream: CountingTransport, room: Any, path: str, value: str, shown: str
) -> None:
    call = members(room)[1]
    response = await client.post(f"{PREFIX}/{path}/{room.sid}/Participants/{call.sid}", data={"Muted": value})
    assert response.status_code == 200
    assert dict(elements(parse_xml(response.content)[0]))["Muted"] == shown
    (sent,) = [r for r in upstream.requests if r.method == "POST"]
    assert sent.content.decode() == f"Muted={shown}"


@pytest.mark.parametrize("path", ["Conferences", "Conference"])
async def test_kick_is_204_and_the_participant_is_gone(
    client: httpx.AsyncClient, voice: Any, room: Any, path: str
) -> None:
    call = members(room)[0]
    url = f"{PREFIX}/{path}/{room.sid}/Participants/{call.sid}"
    response = await client.delete(url)
    assert response.status_code == 204 and response.content == b""
    assert (await client.get(url)).status_code == 404
    assert call.status(voice.clock()) == "completed"
    remaining = parse_xml((await client.get(f"{PREFIX}/Conference/{room.sid}/Participants")).content)[0]
    assert len(remaining) == 1


async def test_conference_methods_the_docs_do_not_support_are_405(
    client: httpx.AsyncClient, room: Any
) -> None:
    call = members(room)[0]
    for method, url in (
        ("POST", f"{PREFIX}/Conferences"),
        ("POST", f"{PREFIX}/Conferences/{room.sid}"),
        ("DELETE", f"{PREFIX}/Conferences/{room.sid}"),
        ("PUT", f"{PREFIX}/Conferences/{room.sid}/Participants/{call.sid}"),
        ("POST", f"{PREFIX}/Conferences/{room.sid}/Participants"),
    ):
        assert (await client.request(method, url)).status_code == 405, (method, url)
    assert (await client.get(f"{PREFIX}/Conferences/CF123")).status_code == 404
    assert (await client.get(f"{PREFIX}/Conferences/{room.sid}/Participants/PN{'0' * 32}")).status_code == 404


async def test_paging_uris_keep_the_singular_path_the_client_used(
    client: httpx.AsyncClient, room: Any
) -> None:
    listing = parse_xml((await client.get(f"{PREFIX}/Conference/{room.sid}/Participants")).content)[0]
    assert len(listing) == 2
    assert f"/Conference/{room.sid}/Participants" in listing.get("uri", "")
    assert tags(listing[0])[:3] == ["ConferenceSid", "AccountSid", "CallSid"]


async def test_alternate_formats(client: httpx.AsyncClient, room: Any) -> None:
    people = f"{PREFIX}/Conferences/{room.sid}/Participants"
    body = (await client.get(people + ".json")).json()["TwilioResponse"]
    assert [p["Participant"]["Muted"] for p in body["Participants"]] == ["true", "false"]
    header = (await client.get(people + ".csv")).text.splitlines()[0]
    assert header == ",".join(tags(golden("participant.xml")[0]))
    html = (await client.get(f"{PREFIX}/Conferences/{room.sid}.html")).text
    assert 'class="friendly-name"' in html and "MyRoom" in html


async def test_the_date_partitioned_count_is_exact_and_in_the_upstreams_order(
    client: httpx.AsyncClient, voice: Any, upstream: CountingTransport
) -> None:
    for index, at in enumerate(dated_instants(voice.clock())):
        voice.add_conference(ACCOUNT, f"Room {index}", at=at)
    expected = [room.sid for room in voice.conferences[ACCOUNT].values()]
    await assert_partitioned_walk(client, upstream, f"{PREFIX}/Conferences", "DateCreated", expected)
