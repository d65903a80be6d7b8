"""Legacy paging over the token-paged sandbox: window arithmetic, page URIs, and the upstream-call
budget and consistency of whole walks (views: tests/lists/test_views.py; the walker:
tests/lists/test_walk.py)."""

from __future__ import annotations

import asyncio
import math
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.errors import BadRequest
from gateway.lists.paging import Window, page_uris, requested
from tests.conftest import ACCOUNT, OTHER, OTHER_TOKEN, PREFIX, TOKEN, CountingTransport, parse_xml, serving

LIST = f"{PREFIX}/OutgoingCallerIds"


# Window arithmetic -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("page", "size", "total", "numpages", "start", "end"),
    [
        (0, 50, 38, 1, 0, 37),  # response.md's Calls example
        (0, 50, 2, 1, 0, 1),
        (1, 7, 20, 3, 7, 13),
        (2, 7, 20, 3, 14, 19),
        (0, 50, 0, 0, 0, -1),  # empty list: end = start - 1
        (5, 10, 20, 2, 50, 49),  # past the end: no items, same formulas
    ],
)
def test_window(page: int, size: int, total: int, numpages: int, start: int, end: int) -> None:
    window = Window(page, size, total)
    assert (window.numpages, window.start, window.end) == (numpages, start, end)
    assert dict(window.attrs()) == {
        "page": str(page),
        "numpages": str(numpages),
        "pagesize": str(size),
        "total": str(total),
        "start": str(start),
        "end": str(end),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, (0, 50)),
        ({"page": "2", "num": "7"}, (2, 7)),
        ({"Page": "3"}, (3, 50)),
        ({"page": "1", "Page": "9"}, (1, 50)),
        ({"num": "5000"}, (0, 1000)),
        ({"num": ""}, (0, 50)),
    ],
)
def test_requested(params: dict[str, str], expected: tuple[int, int]) -> None:
    copy = dict(params)
    assert requested(copy) == expected
    assert not {"page", "Page", "num"} & set(copy)


@pytest.mark.parametrize(
    "params", [{"num": "0"}, {"num": "-1"}, {"num": "ten"}, {"page": "-1"}, {"page": "1.5"}]
)
def test_requested_rejects_nonsense(params: dict[str, str]) -> None:
    with pytest.raises(BadRequest):
        requested(params)


def test_page_uris_keep_filters_and_blank_the_ends() -> None:
    def uri(query: list[tuple[str, str]]) -> str:
        return "/L?" + "&".join(f"{k}={v}" for k, v in query)

    first = dict(page_uris(Window(0, 10, 25), uri, [("FriendlyName", "x")]))
    assert first["previouspageuri"] == ""
    assert first["nextpageuri"] == "/L?num=10&page=1&FriendlyName=x"
    assert first["lastpageuri"] == "/L?num=10&page=2&FriendlyName=x"
    last = dict(page_uris(Window(2, 10, 25), uri, []))
    assert last["nextpageuri"] == ""
    assert last["previouspageuri"] == "/L?num=10&page=1"
    past = dict(page_uris(Window(9, 10, 25), uri, []))
    assert past["previouspageuri"] == "/L?num=10&page=2"
    assert past["nextpageuri"] == ""


# Whole walks through the gateway -----------------------------------------------------------------
def budget(total: int) -> int:
    return 2 * math.ceil(total / 1000) + 2


def list_calls(upstream: CountingTransport) -> int:
    return upstream.count("GET", "/OutgoingCallerIds.json")


def check_page(listing: Any, page: int, num: int, total: int) -> list[str]:
    window = Window(page, num, total)
    attrs = {name: listing.get(name) for name in ("page", "numpages", "pagesize", "total", "start", "end")}
    assert attrs == dict(window.attrs()), (page, num, total)
    sids = [child.findtext("Sid") for child in listing]
    assert len(sids) == window.count
    for name in ("uri", "firstpageuri", "previouspageuri", "nextpageuri", "lastpageuri"):
        assert listing.get(name) is not None, name
    assert (listing.get("nextpageuri") == "") == (page >= window.numpages - 1)
    assert (listing.get("previouspageuri") == "") == (page == 0)
    return sids


async def walk_by_page(client: httpx.AsyncClient, num: int, total: int) -> list[str]:
    sids: list[str] = []
    page = 0
    while True:
        response = await client.get(LIST, params={"num": num, "page": page})
        assert response.status_code == 200
        listing = parse_xml(response.content)[0]
        sids += check_page(listing, page, num, total)
        page += 1
        if page >= int(listing.get("numpages") or 0):
            return sids


async def walk_by_next(client: httpx.AsyncClient, total: int, num: int = 50) -> list[str]:
    sids: list[str] = []
    uri = f"{LIST}?num={num}"
    page = 0
    while uri:
        response = await client.get(uri)
        listing = parse_xml(response.content)[0]
        sids += check_page(listing, page, num, total)
        uri = listing.get("nextpageuri") or ""
        page += 1
    return sids


SIZES = [0, 1, 49, 50, 51, 999, 1000, 1001, 2345]


@pytest.mark.parametrize("total", SIZES)
async def test_walks_see_every_item_once_within_budget(
    client: httpx.AsyncClient, store: Any, upstream: CountingTransport, gateway_app: Any, total: int
) -> None:
    store.seed_caller_ids(ACCOUNT, total)
    expected = [item.sid for item in store.caller_ids.get(ACCOUNT).values()] if total else []
    lists = gateway_app.gateway_app.gateway.lists
    for num in (1, 7, 50, 1000):
        await lists.invalidate(ACCOUNT)
        upstream.reset()
        assert await walk_by_page(client, num, total) == expected, num
        assert list_calls(upstream) <= budget(total), (num, list_calls(upstream))
    upstream.reset()
    assert await walk_by_next(client, total) == expected
    assert list_calls(upstream) <= budget(total)
    assert all(r.url.params.get("PageSize") in ("1000", None) for r in upstream.requests)


async def test_upstream_read_at_max_page_size_following_its_own_links(
    client: httpx.AsyncClient, store: Any, upstream: CountingTransport
) -> None:
    store.seed_caller_ids(ACCOUNT, 2345)
    await client.get(LIST, params={"num": 10, "page": 3})
    first, *rest = upstream.requests
    assert first.url.params["PageSize"] == "1000"
    assert "PageToken" not in first.url.params
    assert len(rest) == 2
    assert all(r.url.params["PageToken"].startswith("PA") for r in rest)


async def test_order_is_stable_across_page_sizes(client: httpx.AsyncClient, store: Any) -> None:
    store.seed_caller_ids(ACCOUNT, 120)
    big = parse_xml((await client.get(LIST, params={"num": 50, "page": 1})).content)[0]
    small = parse_xml((await client.get(LIST, params={"num": 7, "page": 8})).content)[0]
    big_sids = [c.findtext("Sid") for c in big]
    assert [c.findtext("Sid") for c in small] == big_sids[56 - 50 : 63 - 50]


async def test_page_past_the_end_and_empty_list(
    client: httpx.AsyncClient, store: Any, gateway_app: Any
) -> None:
    empty = parse_xml((await client.get(LIST)).content)[0]
    assert {k: empty.get(k) for k in ("page", "numpages", "total", "start", "end")} == {
        "page": "0",
        "numpages": "0",
        "total": "0",
        "start": "0",
        "end": "-1",
    }
    assert list(empty) == []
    assert empty.get("nextpageuri") == empty.get("previouspageuri") == ""
    store.seed_caller_ids(ACCOUNT, 3)
    await gateway_app.gateway_app.gateway.lists.invalidate(ACCOUNT)  # written behind the gateway's back
    response = await client.get(LIST, params={"num": 2, "page": 7})
    assert response.status_code == 200
    past = parse_xml(response.content)[0]
    assert {k: past.get(k) for k in ("page", "numpages", "total", "start", "end")} == {
        "page": "7",
        "numpages": "2",
        "total": "3",
        "start": "14",
        "end": "13",
    }
    assert list(past) == []
    assert past.get("nextpageuri") == ""
    assert re.search(r"\?num=2&page=1&view=[0-9a-f]{16}$", past.get("previouspageuri", ""))
    assert past.get("lastpageuri") == past.get("previouspageuri")


async def test_filters_apply_before_paging_and_stay_in_page_uris(
    client: httpx.AsyncClient, store: Any
) -> None:
    for i in range(30):
        store.add_caller_id(ACCOUNT, f"+1202555{i:04d}", "Team" if i % 3 == 0 else "Other")
    response = await client.get(LIST, params={"FriendlyName": "Team", "num": 4, "page": 1})
    listing = parse_xml(response.content)[0]
    assert listing.get("total") == "10"
    assert listing.get("numpages") == "3"
    assert [c.findtext("FriendlyName") for c in listing] == ["Team"] * 4
    next_uri = listing.get("nextpageuri") or ""
    parts = urlsplit(next_uri)
    assert parts.path == LIST
    query = dict(parse_qsl(parts.query))
    assert re.fullmatch("[0-9a-f]{16}", query.pop("view"))
    assert query == {"num": "4", "page": "2", "FriendlyName": "Team"}


async def test_page_uris_keep_the_format_suffix(client: httpx.AsyncClient, store: Any) -> None:
    store.seed_caller_ids(ACCOUNT, 3)
    body = (await client.get(f"{LIST}.json", params={"num": 1})).json()["TwilioResponse"]
    assert body["nextpageuri"].startswith(f"{LIST}.json?num=1&page=1")


async def test_a_write_through_the_gateway_is_seen_by_the_next_page(
    client: httpx.AsyncClient, store: Any
) -> None:
    store.seed_caller_ids(ACCOUNT, 3)
    first = parse_xml((await client.get(LIST)).content)[0]
    assert first.get("total") == "3"
    await client.post(LIST, data={"PhoneNumber": "4158675309"})
    again = parse_xml((await client.get(LIST)).content)[0]
    assert again.get("total") == "4"


async def test_concurrent_walks_by_two_accounts_do_not_mix(
    gateway_app: Any, store: Any, upstream: CountingTransport
) -> None:
    store.seed_caller_ids(ACCOUNT, 1500)
    store.seed_caller_ids(OTHER, 1200, first=13125550000)
    mine = {item.sid for item in store.caller_ids[ACCOUNT].values()}
    theirs = {item.sid for item in store.caller_ids[OTHER].values()}

    async def walk(account: str, token: str) -> list[str]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway_app), base_url="http://g", auth=(account, token)
        ) as client:
            sids: list[str] = []
            for page in range(0, 40):
                response = await client.get(
                    f"/2008-08-01/Accounts/{account}/OutgoingCallerIds", params={"num": 50, "page": page}
                )
                sids += [c.findtext("Sid") or "" for c in parse_xml(response.content)[0]]
            return sids

    a, b = await asyncio.gather(walk(ACCOUNT, TOKEN), walk(OTHER, OTHER_TOKEN))
    assert set(a) == mine and len(a) == 1500
    assert set(b) == theirs and len(b) == 1200


def failing_after(inner: httpx.AsyncBaseTransport, calls: int, response: httpx.Response | None) -> Any:
    seen = [0]

    class Flaky(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            seen[0] += 1
            if seen[0] > calls:
                if response is None:
                    raise httpx.ReadTimeout("slow", request=request)
                return response
            return await inner.handle_async_request(request)

    return Flaky()


@pytest.mark.parametrize(("response", "status"), [(httpx.Response(500, text="x"), 502), (None, 504)])
async def test_failure_mid_walk_is_an_error_not_a_partial_page(
    settings: Any, sandbox_app: Any, store: Any, response: httpx.Response | None, status: int
) -> None:
    store.seed_caller_ids(ACCOUNT, 2345)
    transport = failing_after(httpx.ASGITransport(app=sandbox_app), 1, response)
    app = create_app(settings.replace(retries=0), transport)
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        result = await client.get(LIST)
    assert result.status_code == status
    assert parse_xml(result.content)[0].tag == "RestException"


async def test_next_page_on_another_host_is_502_and_not_followed(settings: Any) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(
            200,
            json={"outgoing_caller_ids": [], "next_page_uri": "https://attacker.test/steal", "page": 0},
        )

    app = create_app(settings, httpx.MockTransport(handler))
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        response = await client.get(LIST)
    assert response.status_code == 502
    assert len(seen) == 1 and "attacker" not in seen[0]
