"""List views through the gateway: fresh first pages, consistent later pages, view ids, bounded memory,
counts that outlast the budget, cancellation when the client leaves, and runaway upstream links."""

from __future__ import annotations

import asyncio
import math
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.lists.cache import MemoryStore
from gateway.lists.views import Lists, ListSpec
from gateway.lists.walk import Cursor, Walker
from tests.conftest import ACCOUNT, PREFIX, TOKEN, CountingTransport, get_scope, parse_xml, serving
from tests.lists.test_walk import TARGET, DatedUpstream, calls

LIST = f"{PREFIX}/OutgoingCallerIds"


async def listing(client: httpx.AsyncClient, uri: str = LIST, **params: Any) -> Any:
    response = await client.get(uri, params=params or None)
    assert response.status_code == 200, response.text
    return parse_xml(response.content)[0]


def sids(element: Any) -> list[str]:
    return [child.findtext("Sid") or "" for child in element]


def list_calls(upstream: CountingTransport) -> int:
    return upstream.count("GET", "/OutgoingCallerIds.json")


async def test_a_caller_id_created_upstream_appears_on_the_very_next_first_page(
    client: httpx.AsyncClient, store: Any
) -> None:
    store.seed_caller_ids(ACCOUNT, 1500)
    assert (await listing(client, PhoneNumber="4158675309")).get("total") == "0"
    assert (await listing(client)).get("total") == "1500"
    store.add_caller_id(ACCOUNT, "+14158675309", "verified later")  # behind the gateway's back
    found = await listing(client, PhoneNumber="4158675309")
    assert found.get("total") == "1"
    assert [c.findtext("FriendlyName") for c in found] == ["verified later"]
    assert (await listing(client)).get("total") == "1501"
    assert (await listing(client, page="0")).get("total") == "1501"


async def test_later_pages_come_from_the_walks_view(
    client: httpx.AsyncClient, store: Any, upstream: CountingTransport
) -> None:
    store.seed_caller_ids(ACCOUNT, 2500)
    expected = [item.sid for item in store.caller_ids[ACCOUNT].values()]
    first = await listing(client, num="100")
    seen = sids(first)
    uri = first.get("nextpageuri")
    view = dict(parse_qsl(urlsplit(uri).query))["view"]
    for name in ("uri", "firstpageuri", "lastpageuri"):
        assert f"view={view}" in first.get(name)
    store.seed_caller_ids(ACCOUNT, 700, first=13105550000)  # the list grows meanwhile
    while uri:
        page = await listing(client, uri)
        assert page.get("total") == "2500"
        seen += sids(page)
        uri = page.get("nextpageuri")
    assert seen == expected
    fresh = await listing(client, num="100")
    assert fresh.get("total") == "3200"
    assert f"view={view}" not in fresh.get("nextpageuri")


async def test_a_page_without_a_view_id_uses_the_newest_view(
    client: httpx.AsyncClient, store: Any, upstream: CountingTransport
) -> None:
    store.seed_caller_ids(ACCOUNT, 2100)
    await listing(client, num="50")
    upstream.reset()
    store.seed_caller_ids(ACCOUNT, 5, first=13105550000)
    second = await listing(client, num="50", page="1")
    assert second.get("total") == "2100"
    assert list_calls(upstream) == 0  # block 0 was kept from the count
    past = await listing(client, num="50", page="41")
    assert len(sids(past)) == 50
    assert list_calls(upstream) == 1  # block 2 read from its cursor


async def test_a_view_id_of_another_list_or_garbage_is_ignored(client: httpx.AsyncClient, store: Any) -> None:
    for i in range(30):
        store.add_caller_id(ACCOUNT, f"+1202555{i:04d}", "Team" if i % 3 == 0 else "Other")
    team = await listing(client, FriendlyName="Team", num="4")
    view = dict(parse_qsl(urlsplit(team.get("nextpageuri")).query))["view"]
    other = await listing(client, FriendlyName="Other", num="4", page="1", view=view)
    assert other.get("total") == "20"
    assert {c.findtext("FriendlyName") for c in other} == {"Other"}
    for garbage in ("zz", "0" * 16, "a.b/c", "é" * 16):
        found = await listing(client, FriendlyName="Team", num="4", page="1", view=garbage)
        assert found.get("total") == "10"


async def test_a_write_through_the_gateway_starts_a_new_view_for_pages_without_an_id(
    client: httpx.AsyncClient, store: Any
) -> None:
    store.seed_caller_ids(ACCOUNT, 60)
    first = await listing(client)
    await client.post(LIST, data={"PhoneNumber": "4158675309"})
    assert (await listing(client, page="1")).get("total") == "61"
    assert (await listing(client, first.get("nextpageuri"))).get("total") == "60"


async def test_memory_holds_cursors_and_a_bounded_block_cache(
    settings: Any, sandbox_app: Any, store: Any
) -> None:
    store.seed_caller_ids(ACCOUNT, 6000)
    app = create_app(settings.replace(list_cache_max_items=2000), httpx.ASGITransport(app=sandbox_app))
    async with serving(app) as client:
        uri = f"{LIST}?num=1000"
        seen = 0
        while uri:
            page = await listing(client, uri)
            seen += len(page)
            uri = page.get("nextpageuri")
        cache = app.gateway_app.gateway.lists.store
        assert isinstance(cache, MemoryStore)
        views, _, view_bytes = cache.size("view")
        blocks, items, _ = cache.size("block")
    assert seen == 6000
    assert views == 1 and view_bytes < 2000  # six cursors, no items
    assert blocks <= 2 and items <= 2000


async def test_concurrent_first_pages_share_one_count(
    client: httpx.AsyncClient, store: Any, upstream: CountingTransport
) -> None:
    store.seed_caller_ids(ACCOUNT, 3000)
    pages = await asyncio.gather(*(listing(client) for _ in range(4)))
    assert {page.get("total") for page in pages} == {"3000"}
    assert list_calls(upstream) == 3


async def test_ttl_zero_keeps_nothing_and_still_answers(settings: Any, sandbox_app: Any, store: Any) -> None:
    store.seed_caller_ids(ACCOUNT, 1200)
    app = create_app(settings.replace(list_cache_ttl=0), httpx.ASGITransport(app=sandbox_app))
    async with serving(app) as client:
        page = await listing(client, page="21")
        assert page.get("total") == "1200" and len(page) == 50
        assert "view=" not in page.get("nextpageuri")
        cache = app.gateway_app.gateway.lists.store
        assert cache.size("view")[0] == cache.size("block")[0] == 0


# Counting that outlasts its budget ----------------------------------------------------------------
async def test_a_count_past_its_budget_answers_a_lower_bound_that_never_stops_a_client_early() -> None:
    upstream = DatedUpstream(calls(4500))
    lists = Lists(
        MemoryStore(8, 5000), ttl=60, count_timeout=2.5, total_timeout=1e9, clock=lambda: upstream.calls
    )
    spec = ListSpec("k", ACCOUNT, (Cursor(TARGET, (("PageSize", "1000"),)),))

    def walker() -> Walker:
        return Walker(upstream.fetch, lambda item: True, clock=lambda: upstream.calls)

    first = await lists.page(spec, walker(), None, 0, 500)
    assert first.window.more and first.window.total == 3000
    assert first.window.numpages == 7  # six known pages and at least one more
    seen: list[str] = []
    found, page = first, 0
    while True:  # a client that reads numpages from every answer
        seen += [item["sid"] for item in found.items]
        if page >= found.window.numpages - 1:
            break
        page += 1
        found = await lists.page(spec, walker(), first.view, page, 500)
    assert seen == [item["sid"] for item in upstream.items]
    assert not found.window.more and found.window.total == 4500


# The client leaves --------------------------------------------------------------------------------
async def test_a_walk_stops_when_its_client_disconnects(settings: Any, sandbox_app: Any, store: Any) -> None:
    store.seed_caller_ids(ACCOUNT, 30_000)
    inner = httpx.ASGITransport(app=sandbox_app)

    class Slow(CountingTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(0.02)
            return await super().handle_async_request(request)

    upstream = Slow(inner)
    app = create_app(settings, upstream)
    gone = asyncio.Event()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not sent:
            sent.append({})
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = get_scope(
        LIST,
        headers=((b"host", b"gw.test"),),
        client=("127.0.0.1", 1),
        server=("gw.test", 80),
        scheme="http",
        http_version="1.1",
        root_path="",
    )
    async with app.gateway_app.lifespan():
        call = asyncio.create_task(app(scope, receive, send))
        while list_calls(upstream) < 3:
            await asyncio.sleep(0.01)
        gone.set()
        await asyncio.wait_for(call, 2)
        stopped_at = list_calls(upstream)
        await asyncio.sleep(0.2)
        assert list_calls(upstream) == stopped_at < 30
        assert not app.gateway_app.gateway.lists._flights


# Hostile upstream links ---------------------------------------------------------------------------
async def test_a_next_link_that_grows_on_every_page_is_502_quickly(settings: Any) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        grown = request.url.raw_path.decode() + "&x=" + "a" * 200
        return httpx.Response(200, json={"outgoing_caller_ids": [], "next_page_uri": grown})

    app = create_app(settings, httpx.MockTransport(handler))
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        response = await client.get(LIST)
    assert response.status_code == 502
    assert len(seen) <= math.ceil(4096 / 200) + 1


@pytest.mark.parametrize(
    "body",
    [
        {"outgoing_caller_ids": [], "next_page_uri": "/2010-04-01/x?é=1"},
        {"outgoing_caller_ids": "nope"},
        {"outgoing_caller_ids": [], "next_page_uri": 7},
    ],
)
async def test_unusable_list_pages_are_502(settings: Any, body: dict[str, Any]) -> None:
    app = create_app(settings, httpx.MockTransport(lambda request: httpx.Response(200, json=body)))
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        response = await client.get(LIST)
    assert response.status_code == 502
    assert parse_xml(response.content)[0].tag == "RestException"


async def test_too_many_pages_is_502(settings: Any, sandbox_app: Any, store: Any) -> None:
    store.seed_caller_ids(ACCOUNT, 3500)
    app = create_app(settings.replace(list_max_pages=3), httpx.ASGITransport(app=sandbox_app))
    async with serving(app) as client:
        response = await client.get(LIST)
    assert response.status_code == 502
    assert re.search("paging does not end", response.text)
