"""Short Codes (gateway/resources/short_codes.py) through the whole app, on the sandbox."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from tests.conftest import (
    ACCOUNT,
    OTHER,
    PREFIX,
    CountingTransport,
    elements,
    golden,
    parse_xml,
    shape,
    verbatim_sources,
)

BASE = f"{PREFIX}/SMS/ShortCodes"


@pytest.fixture
def codes(sandbox_app: Any) -> list[Any]:
    """The sandbox's short codes of the account: 67898 and 69009, then 12345 and 45678 added."""
    messaging = sandbox_app.state.sandbox.messaging
    for code in ("12345", "45678"):
        messaging.add_short_code(ACCOUNT, code)
    return list(messaging.short_codes[ACCOUNT].values())


@pytest.mark.parametrize("name", ["short_code.xml", "short_code_updated.xml", "short_codes.xml"])
def test_goldens_are_verbatim_copies_of_the_doc_page(name: str) -> None:
    assert "short-codes.md" in verbatim_sources(name)


async def test_fetch_has_the_docs_shape(client: httpx.AsyncClient, codes: list[Any]) -> None:
    node = parse_xml((await client.get(f"{BASE}/{codes[0].sid}")).content)[0]
    assert shape(node) == shape(golden("short_code.xml")[0])
    values = dict(elements(node))
    assert (values["ShortCode"], values["FriendlyName"], values["SmsMethod"]) == ("67898", "67898", "POST")
    assert values["DateCreated"].endswith(" +0000")


async def test_update_answers_the_updated_short_code(
    client: httpx.AsyncClient, codes: list[Any], upstream: CountingTransport
) -> None:
    response = await client.post(f"{BASE}/{codes[0].sid}", data={"SmsUrl": "http://myapp.com/awesome"})
    node = parse_xml(response.content)[0]
    assert shape(node) == shape(golden("short_code_updated.xml")[0])
    assert dict(elements(node))["SmsUrl"] == "http://myapp.com/awesome"
    (request,) = [r for r in upstream.requests if r.method == "POST"]
    assert request.url.path == f"/2010-04-01/Accounts/{ACCOUNT}/SMS/ShortCodes/{codes[0].sid}.json"
    assert dict(parse_qsl(request.content.decode())) == {"SmsUrl": "http://myapp.com/awesome"}
    again = await client.post(
        f"{BASE}/{codes[0].sid}",
        data={
            "FriendlyName": "Support",
            "SmsMethod": "GET",
            "SmsFallbackUrl": "http://f.example/",
            "SmsFallbackMethod": "GET",
        },
    )
    values = dict(elements(parse_xml(again.content)[0]))
    assert (
        values["FriendlyName"],
        values["SmsMethod"],
        values["SmsFallbackUrl"],
        values["SmsFallbackMethod"],
    ) == (
        "Support",
        "GET",
        "http://f.example/",
        "GET",
    )


async def test_the_upstreams_refusal_of_an_update_is_carried(
    client: httpx.AsyncClient, codes: list[Any]
) -> None:
    response = await client.post(f"{BASE}/{codes[0].sid}", data={"FriendlyName": "x" * 65})
    assert response.status_code == 400
    assert parse_xml(response.content)[0].findtext("Code") == "21409"


async def test_list_has_the_docs_shape(client: httpx.AsyncClient, codes: list[Any]) -> None:
    listing = parse_xml((await client.get(BASE)).content)[0]
    expected = golden("short_codes.xml")[0]
    assert listing.tag == expected.tag
    assert set(expected.attrib) <= set(listing.attrib)
    assert [shape(child) for child in expected] == [shape(listing[0])]
    assert all(shape(child) == shape(listing[0]) for child in listing)
    assert listing.get("total") == "4"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("67898", ["67898"]),
        ("898", ["67898"]),
        ("7*9", ["67898"]),
        ("*5", ["12345", "45678"]),
        ("4**7", ["45678"]),
        ("5", ["12345", "45678"]),
        ("99999", []),
    ],
)
async def test_short_code_patterns_with_wildcards(
    client: httpx.AsyncClient,
    codes: list[Any],
    upstream: CountingTransport,
    pattern: str,
    expected: list[str],
) -> None:
    listing = parse_xml((await client.get(BASE, params={"ShortCode": pattern})).content)[0]
    assert sorted(dict(elements(c))["ShortCode"] for c in listing) == expected
    assert dict(upstream.requests[-1].url.params)["ShortCode"] == pattern


async def test_friendly_name_filter_is_exact(client: httpx.AsyncClient, codes: list[Any]) -> None:
    await client.post(f"{BASE}/{codes[1].sid}", data={"FriendlyName": "Alerts"})
    listing = parse_xml((await client.get(BASE, params={"FriendlyName": "Alerts"})).content)[0]
    assert [dict(elements(c))["Sid"] for c in listing] == [codes[1].sid]
    assert len(parse_xml((await client.get(BASE, params={"FriendlyName": "Alert"})).content)[0]) == 0


@pytest.mark.parametrize(("method", "path"), [("POST", ""), ("DELETE", "/{sid}"), ("PUT", "/{sid}")])
async def test_what_the_docs_do_not_support_is_405(
    client: httpx.AsyncClient, codes: list[Any], method: str, path: str
) -> None:
    response = await client.request(method, BASE + path.format(sid=codes[0].sid))
    assert response.status_code == 405


async def test_another_accounts_short_code_is_404(client: httpx.AsyncClient, sandbox_app: Any) -> None:
    theirs = next(iter(sandbox_app.state.sandbox.messaging.short_codes[OTHER].values()))
    assert (await client.get(f"{BASE}/{theirs.sid}")).status_code == 404
