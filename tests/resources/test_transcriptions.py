"""Transcriptions (gateway/resources/transcriptions.py): epoch dates, five-decimal prices, the bare
``.txt``, the account's list and a recording's, on the sandbox with a test clock."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.dialect.translate import translator
from gateway.resources.transcriptions import TRANSCRIPTIONS
from gateway.sandbox import SandboxConfig
from tests.conftest import (
    ACCOUNT,
    OURS,
    PREFIX,
    Clock,
    elements,
    golden,
    parse_xml,
    shape,
    verbatim_sources,
)


@pytest.fixture
def sandbox_config(clocked_config: SandboxConfig) -> SandboxConfig:
    return clocked_config


@pytest.fixture
def made(sandbox_app: Any, clock: Clock) -> tuple[Any, Any]:
    """A recording of 9 seconds and its completed transcription."""
    sandbox = sandbox_app.state.sandbox
    call = sandbox.voice.new_call(ACCOUNT, "+14158675309", OURS, "inbound", at=clock() - 600)
    recording = sandbox.recordings.add(call, 9, clock() - 500)
    return recording, sandbox.recordings.transcribe(recording, clock() - 400)


@pytest.mark.parametrize("name", ["transcription.xml", "transcriptions.xml"])
def test_goldens_are_verbatim_copies_of_the_doc_page(name: str) -> None:
    assert "transcriptions.md" in verbatim_sources(name)


async def test_fetch_has_the_docs_shape_epoch_dates_and_price(
    client: httpx.AsyncClient, made: tuple[Any, Any]
) -> None:
    recording, transcription = made
    response = await client.get(f"{PREFIX}/Recordings/{recording.sid}/Transcriptions/{transcription.sid}")
    node = parse_xml(response.content)[0]
    expected = golden("transcription.xml")[0]
    assert shape(node) == shape(expected)
    values = dict(elements(node))
    assert values["DateCreated"] == str(int(transcription.created))
    assert values["DateUpdated"] == str(int(transcription.done))
    assert values["Price"] == "-0.05000"
    assert len(values["Price"]) == len(expected.findtext("Price", ""))
    assert (values["Status"], values["RecordingSid"], values["Duration"]) == ("completed", recording.sid, "9")
    assert values["TranscriptionText"] == transcription.text


async def test_lists_have_the_docs_shape(
    client: httpx.AsyncClient, made: tuple[Any, Any], sandbox_app: Any
) -> None:
    recording, first = made
    second = sandbox_app.state.sandbox.recordings.transcribe(recording, first.created + 10)
    expected = golden("transcriptions.xml")[0]
    for path in ("/Transcriptions", f"/Recordings/{recording.sid}/Transcriptions"):
        listing = parse_xml((await client.get(PREFIX + path)).content)[0]
        assert listing.tag == expected.tag and set(expected.attrib) <= set(listing.attrib)
        assert [shape(child) for child in listing] == [shape(child) for child in expected]
        assert [dict(elements(t))["Sid"] for t in listing] == [second.sid, first.sid]
    assert (await client.get(f"{PREFIX}/Transcriptions/{first.sid}")).status_code == 200


async def test_txt_is_the_bare_text(client: httpx.AsyncClient, made: tuple[Any, Any]) -> None:
    recording, transcription = made
    for path in (
        f"/Recordings/{recording.sid}/Transcriptions/{transcription.sid}.txt",
        f"/Transcriptions/{transcription.sid}.txt",
    ):
        response = await client.get(PREFIX + path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.content == transcription.text.encode()
        assert "ü" in response.text


async def test_an_unfinished_transcription_has_no_text_yet(
    client: httpx.AsyncClient, sandbox_app: Any, made: tuple[Any, Any], clock: Clock
) -> None:
    recording, _ = made
    pending = sandbox_app.state.sandbox.recordings.transcribe(recording, clock())
    assert (await client.get(f"{PREFIX}/Transcriptions/{pending.sid}.txt")).content == b""
    values = dict(
        elements(parse_xml((await client.get(f"{PREFIX}/Transcriptions/{pending.sid}")).content)[0])
    )
    assert (values["Status"], values["Price"], values["TranscriptionText"]) == ("in-progress", "", "")


async def test_wrong_recording_or_suffix_is_404(client: httpx.AsyncClient, made: tuple[Any, Any]) -> None:
    _, transcription = made
    assert (
        await client.get(f"{PREFIX}/Recordings/RE{'1' * 32}/Transcriptions/{transcription.sid}")
    ).status_code == 404
    assert (await client.get(f"{PREFIX}/Transcriptions/{transcription.sid}.mp3")).status_code == 404
    assert (await client.get(f"{PREFIX}/Transcriptions.txt")).status_code == 404


@pytest.mark.parametrize(
    ("price", "legacy"),
    [(-0.03, "-0.03000"), ("-0.25", "-0.25000"), (-0.0025, "-0.00250"), (0.05, "0.05000"), (None, None)],
)
def test_price_keeps_its_sign_with_five_decimals(price: object, legacy: str | None) -> None:
    assert dict(translator(TRANSCRIPTIONS).record({"price": price}, {}))["Price"] == legacy


def test_dates_are_epoch_seconds_from_either_upstream_form() -> None:
    record = dict(
        translator(TRANSCRIPTIONS).record(
            {"date_created": "Mon, 02 Mar 2009 09:38:05 +0000", "date_updated": "2009-03-02T01:32:04Z"}, {}
        )
    )
    assert (record["DateCreated"], record["DateUpdated"]) == ("1235986685", "1235957524")
