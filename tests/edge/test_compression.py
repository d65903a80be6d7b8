"""Gzip answers for clients that accept them, above a configurable size (gateway/edge/compression.py)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.edge.compression import Compression, refuses_gzip
from tests.conftest import ACCOUNT, PREFIX, CountingTransport, serving

LIST = f"{PREFIX}/OutgoingCallerIds"


def fill(store: Any, count: int) -> None:
    for index in range(count):
        store.add_caller_id(ACCOUNT, f"+1415555{index:04d}", f"Line {index}")


async def raw(client: httpx.AsyncClient, url: str, encoding: str | None) -> tuple[httpx.Response, bytes]:
    headers = {"Accept-Encoding": encoding} if encoding is not None else {"Accept-Encoding": ""}
    async with client.stream("GET", url, headers=headers) as response:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, body


async def test_a_large_list_is_gzipped_for_a_client_that_accepts_it(
    settings: Any, upstream: CountingTransport, store: Any
) -> None:
    fill(store, 400)
    async with serving(create_app(settings, upstream)) as client:
        # page 1 (not a first page): both answers come from one list view, so their page URIs agree
        plain, identity = await raw(client, f"{LIST}?num=200&page=1", None)
        zipped, compressed = await raw(client, f"{LIST}?num=200&page=1", "gzip, deflate")
    assert len(identity) > 40_000 and "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) == len(compressed) < len(identity) / 5
    assert gzip.decompress(compressed) == identity
    assert "accept-encoding" in zipped.headers["vary"].lower()
    assert zipped.headers["x-request-id"] and zipped.headers["content-type"] == plain.headers["content-type"]


@pytest.mark.parametrize("encoding", ["gzip;q=0", "identity", "br"])
async def test_no_gzip_unless_accepted(
    settings: Any, upstream: CountingTransport, store: Any, encoding: str
) -> None:
    fill(store, 50)
    async with serving(create_app(settings, upstream)) as client:
        response, body = await raw(client, f"{LIST}?num=50", encoding)
    assert "content-encoding" not in response.headers
    assert body.startswith(b"<?xml") or body.startswith(b"<TwilioResponse")


async def test_small_answers_and_errors_below_the_threshold_stay_plain(
    settings: Any, upstream: CountingTransport, store: Any
) -> None:
    item = store.add_caller_id(ACCOUNT, "+14158675309", "Home")
    async with serving(create_app(settings, upstream)) as client:
        fetched, body = await raw(client, f"{LIST}/{item.sid}", "gzip")
        missing, _ = await raw(client, f"{LIST}/PN{'0' * 32}", "gzip")
    assert len(body) < settings.gzip_min_bytes
    assert "content-encoding" not in fetched.headers and "content-encoding" not in missing.headers
    assert missing.status_code == 404


async def test_the_threshold_is_configurable_and_zero_turns_it_off(
    settings: Any, upstream: CountingTransport, store: Any
) -> None:
    item = store.add_caller_id(ACCOUNT, "+14158675309", "Home")
    async with serving(create_app(settings.replace(gzip_min_bytes=100), upstream)) as client:
        response, _ = await raw(client, f"{LIST}/{item.sid}", "gzip")
    assert response.headers["content-encoding"] == "gzip"
    fill(store, 100)
    off = create_app(settings.replace(gzip_min_bytes=0), upstream)
    assert not isinstance(off, Compression)
    async with serving(off) as client:
        response, _ = await raw(client, f"{LIST}?num=100", "gzip")
    assert "content-encoding" not in response.headers


async def test_the_recording_holds_the_document_not_the_gzip(
    settings: Any, upstream: CountingTransport, store: Any, tmp_path: Path
) -> None:
    fill(store, 100)
    har = tmp_path / "traffic.har"
    async with serving(create_app(settings.replace(record=str(har)), upstream)) as client:
        response = await client.get(f"{LIST}?num=100", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    entry = json.loads(har.read_text())["log"]["entries"][0]
    assert entry["response"]["content"]["text"].encode() == response.content  # httpx decoded it


def test_refuses_gzip() -> None:
    assert refuses_gzip("gzip;q=0") and refuses_gzip("deflate, gzip ; q=0.0") and refuses_gzip("x-gzip;q=0")
    assert not refuses_gzip("gzip") and not refuses_gzip("gzip;q=0.5, br") and not refuses_gzip("*")
