"""Trunk phone numbers in the legacy dialect, through the gateway on the sandbox (second upstream host,
v1 ``meta`` paging, ISO dates) — a resource added purely by declaration."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.resources import RESOURCES
from tests.conftest import ACCOUNT, OTHER, TRUNK, CountingTransport, parse_xml
from tests.lists.test_paging import budget

BASE = f"/2008-08-01/Accounts/{ACCOUNT}/Trunks/{TRUNK}/PhoneNumbers"


def first_incoming(store: Any, account: str = ACCOUNT) -> Any:
    ordered = store.incoming[account]
    return ordered.items[ordered.seqs[0]]


async def test_create_fetch_list_delete(
    client: httpx.AsyncClient, store: Any, upstream: CountingTransport
) -> None:
    number = first_incoming(store)
    created = await client.post(BASE, data={"PhoneNumberSid": number.sid})
    assert created.status_code == 201
    node = parse_xml(created.content)[0]
    assert node.tag == "TrunkPhoneNumber"
    assert node.findtext("PhoneNumber") == number.phone_number[2:]
    assert node.findtext("TrunkSid") == TRUNK
    assert node.findtext("DateCreated", "").endswith("+0000")
    assert node.findtext("Uri") == f"{BASE}/{number.sid}"
    assert node.find("Capabilities/Voice") is not None
    assert upstream.requests[-1].url.path == f"/v1/Trunks/{TRUNK}/PhoneNumbers"
    fetched = parse_xml((await client.get(f"{BASE}/{number.sid}")).content)[0]
    assert fetched.findtext("Sid") == number.sid
    listing = parse_xml((await client.get(BASE)).content)[0]
    assert (listing.tag, listing.get("total")) == ("TrunkPhoneNumbers", "1")
    deleted = await client.delete(f"{BASE}/{number.sid}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert parse_xml((await client.get(BASE)).content)[0].get("total") == "0"


async def test_create_requires_phone_number_sid(
    client: httpx.AsyncClient, upstream: CountingTransport
) -> None:
    response = await client.post(BASE)
    assert response.status_code == 400
    assert upstream.count() == 0


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/PN" + "a" * 32), ("POST", "/PN" + "a" * 32), ("DELETE", "")]
)
async def test_undeclared_methods_are_405(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, BASE + path)
    assert response.status_code == 405


async def test_malformed_trunk_sid_is_404(client: httpx.AsyncClient, upstream: CountingTransport) -> None:
    response = await client.get(f"/2008-08-01/Accounts/{ACCOUNT}/Trunks/TK12/PhoneNumbers")
    assert response.status_code == 404
    assert upstream.count() == 0


async def test_a_number_of_another_account_is_404(client: httpx.AsyncClient, store: Any) -> None:
    number = first_incoming(store)
    store.attach(ACCOUNT, TRUNK, number)
    # The credentials are ACCOUNT's, so the upstream answers with ACCOUNT's number; the path says OTHER.
    path = f"/2008-08-01/Accounts/{OTHER}/Trunks/{TRUNK}/PhoneNumbers"
    fetched = await client.get(f"{path}/{number.sid}")
    assert fetched.status_code == 404
    assert parse_xml(fetched.content)[0].findtext("Status") == "404"
    deleted = await client.delete(f"{path}/{number.sid}")
    assert deleted.status_code == 404
    assert store.trunk_number(ACCOUNT, TRUNK, number.sid) is not None
    listing = parse_xml((await client.get(path)).content)[0]
    assert listing.get("total") == "0"


@pytest.mark.parametrize("total", [0, 1, 50, 51, 2345])
async def test_v1_paging_through_the_shared_engine(
    client: httpx.AsyncClient, store: Any, upstream: CountingTransport, total: int
) -> None:
    store.seed_trunk(ACCOUNT, TRUNK, total, 13125550000)
    expected = [t.sid for t in store.trunks[(ACCOUNT, TRUNK)].values()] if total else []
    seen: list[str] = []
    uri = f"{BASE}?num=50"
    while uri:
        listing = parse_xml((await client.get(uri)).content)[0]
        assert listing.get("total") == str(total)
        seen += [child.findtext("Sid") or "" for child in listing]
        uri = listing.get("nextpageuri") or ""
    assert seen == expected
    assert upstream.count("GET", "/PhoneNumbers") <= budget(total)
    followed = [r for r in upstream.requests if "PageToken" in r.url.params]
    assert all(r.url.host == "sandbox.test" for r in followed)
    assert len(followed) <= 2 * max(0, -(-total // 1000) - 1)  # once to count, once to serve


def test_the_registry_declares_both_resources_as_data() -> None:
    names = {resource.name: resource for resource in RESOURCES}
    trunks = names["trunk_phone_numbers"]
    assert (trunks.host, trunks.paging.style) == ("trunking", "meta")
    assert (names["outgoing_caller_ids"].host, names["outgoing_caller_ids"].paging.style) == ("api", "flat")
