"""Accounts (accounts.md) through the whole app on the sandbox: the docs' examples, the trailing slash
old clients send, subaccounts, the status map, and the AuthToken rule in both credential modes."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.resources import match
from gateway.resources.accounts import ACCOUNT_STATUS
from gateway.settings import Settings
from tests.conftest import (
    ACCOUNT,
    OTHER,
    OTHER_TOKEN,
    TOKEN,
    UPSTREAM,
    CountingTransport,
    elements,
    golden,
    parse_xml,
    serving,
)

BASE = f"/2008-08-01/Accounts/{ACCOUNT}"
MASKED = {"Sid", "DateCreated", "DateUpdated", "AuthToken"}
"""Values that are the sandbox's own (the docs' example account is not ours); compared by form."""


def masked(node: Any) -> list[tuple[str, str]]:
    return [(tag, "…" if tag in MASKED else text) for tag, text in elements(node)]


@pytest.fixture
def accounts(sandbox_app: Any) -> Any:
    return sandbox_app.state.sandbox.accounts


@pytest.mark.parametrize("path", [BASE, BASE + "/", BASE + ".xml", BASE + "//"])
async def test_fetch_matches_the_docs_example(client: httpx.AsyncClient, accounts: Any, path: str) -> None:
    accounts.accounts[ACCOUNT].friendly_name = "My Nice Twilio Account"
    response = await client.get(path)
    assert response.status_code == 200, response.text
    (node,) = parse_xml(response.content)
    expected = golden("account.xml")[0]
    assert node.tag == expected.tag == "Account"
    assert masked(node) == masked(expected)
    values = dict(elements(node))
    assert values["Sid"] == ACCOUNT
    assert values["AuthToken"] == TOKEN  # pass-through: the account's own token, as in 2008
    assert values["DateCreated"].endswith("+0000")


@pytest.mark.parametrize("method", ["PUT", "POST"])
@pytest.mark.parametrize("slash", ["", "/"])
async def test_rename_matches_the_docs_example(
    client: httpx.AsyncClient, accounts: Any, method: str, slash: str
) -> None:
    response = await client.request(method, BASE + slash, data={"FriendlyName": "My Nicer Twilio Account"})
    assert response.status_code == 200, response.text
    (node,) = parse_xml(response.content)
    assert masked(node) == masked(golden("account_updated.xml")[0])
    assert accounts.accounts[ACCOUNT].friendly_name == "My Nicer Twilio Account"


async def test_delete_and_list_writes_are_not_allowed(client: httpx.AsyncClient) -> None:
    """accounts.md: "DELETE: Not supported. You can't delete your account." """
    deleted = await client.delete(BASE)
    assert deleted.status_code == 405
    assert parse_xml(deleted.content)[0].findtext("Code") == "20004"
    assert (await client.post(f"{BASE}?_method=DELETE")).status_code == 405
    assert (await client.post("/2008-08-01/Accounts", data={"FriendlyName": "x"})).status_code == 405


async def test_list_is_the_account_and_its_subaccounts(client: httpx.AsyncClient, accounts: Any) -> None:
    listing = parse_xml((await client.get("/2008-08-01/Accounts")).content)[0]
    assert listing.tag == "Accounts"
    assert listing.get("total") == "2"
    assert [item.findtext("Sid") for item in listing] == [ACCOUNT, OTHER]
    assert [item.findtext("AuthToken") for item in listing] == [TOKEN, OTHER_TOKEN]
    assert [t for t, _ in elements(listing[0])] == [t for t, _ in elements(golden("account.xml")[0])]
    subaccount = await client.get(f"/2008-08-01/Accounts/{OTHER}/")
    assert parse_xml(subaccount.content)[0].findtext("Sid") == OTHER
    named = parse_xml((await client.get("/2008-08-01/Accounts?FriendlyName=Sandbox+subaccount+1")).content)
    assert [item.findtext("Sid") for item in named[0]] == [OTHER]


async def test_a_subaccount_sees_only_itself(make_client: Any) -> None:
    async with make_client(auth=(OTHER, OTHER_TOKEN)) as other:
        listing = parse_xml((await other.get("/2008-08-01/Accounts")).content)[0]
        assert [item.findtext("Sid") for item in listing] == [OTHER]
        assert (await other.get(BASE)).status_code == 404


@pytest.mark.parametrize(
    ("word", "legacy", "text"),
    [("active", "2", "Active"), ("suspended", "4", "Suspended"), ("closed", "32", "Closed")],
)
async def test_status_integers(
    client: httpx.AsyncClient, accounts: Any, word: str, legacy: str, text: str
) -> None:
    accounts.accounts[OTHER].status = word
    values = dict(elements(parse_xml((await client.get(f"/2008-08-01/Accounts/{OTHER}")).content)[0]))
    assert (values["Status"], values["StatusText"]) == (legacy, text)
    filtered = parse_xml((await client.get("/2008-08-01/Accounts", params={"Status": legacy})).content)[0]
    expected = [ACCOUNT, OTHER] if word == "active" else [OTHER]
    assert [item.findtext("Sid") for item in filtered] == expected


async def test_status_changes_through_the_legacy_integers(client: httpx.AsyncClient, accounts: Any) -> None:
    assert ACCOUNT_STATUS.upstream("16") == ("suspended",)
    suspended = await client.put(f"/2008-08-01/Accounts/{OTHER}", data={"Status": "16"})
    assert dict(elements(parse_xml(suspended.content)[0]))["Status"] == "4"
    assert accounts.accounts[OTHER].status == "suspended"
    reopened = await client.post(f"/2008-08-01/Accounts/{OTHER}", data={"Status": "2"})
    assert parse_xml(reopened.content)[0].findtext("StatusText") == "Active"
    closed = await client.post(f"/2008-08-01/Accounts/{OTHER}", data={"Status": "32"})
    assert parse_xml(closed.content)[0].findtext("Status") == "32"
    refused = await client.post(f"/2008-08-01/Accounts/{OTHER}", data={"Status": "2"})
    assert refused.status_code == 400  # the sandbox, as 2010: a closed account stays closed
    bad = await client.post(f"/2008-08-01/Accounts/{OTHER}", data={"Status": "3"})
    assert bad.status_code == 400
    assert "2, 4, 16, 32" in (parse_xml(bad.content)[0].findtext("Message") or "")


async def test_rename_is_seen_by_the_next_list(client: httpx.AsyncClient) -> None:
    before = parse_xml((await client.get("/2008-08-01/Accounts")).content)[0]
    assert before[0].findtext("FriendlyName") == "Sandbox account"
    await client.post(BASE + "/", data={"FriendlyName": "Renamed"})
    after = parse_xml((await client.get("/2008-08-01/Accounts")).content)[0]
    assert after[0].findtext("FriendlyName") == "Renamed"


def test_the_account_path_claims_nothing_below_it() -> None:
    """``/Accounts/{AC}`` is the account; a path below it that no resource declares stays undeclared
    (so it can go to a legacy provider), and the account list claims no instance path."""
    assert [(r.name, p) for r, p in filter(None, [match("/Accounts"), match(f"/Accounts/{ACCOUNT}")])] == [
        ("accounts", {}),
        ("account", {"AccountSid": ACCOUNT}),
    ]
    assert match(f"/Accounts/{ACCOUNT}/Nowhere") is None
    assert match(f"/Account/{ACCOUNT}") == match(f"/Accounts/{ACCOUNT}")


async def test_malformed_sid_is_404_before_any_upstream_call(
    client: httpx.AsyncClient, upstream: CountingTransport
) -> None:
    upstream.reset()
    assert (await client.get("/2008-08-01/Accounts/AC123/")).status_code == 404
    assert (await client.get(f"/2008-08-01/Accounts/PN{'1' * 32}")).status_code == 404
    assert upstream.count() == 0


async def test_formats(client: httpx.AsyncClient) -> None:
    body = (await client.get(BASE + ".json")).json()
    assert body["TwilioResponse"]["Account"]["StatusText"] == "Active"
    csv = (await client.get("/2008-08-01/Accounts.csv")).text.splitlines()
    assert csv[0] == "Sid,FriendlyName,Status,StatusText,DateCreated,DateUpdated,AuthToken"
    assert len(csv) == 3


# The AuthToken rule in sidecar mode --------------------------------------------------------------------
CLIENT_TOKEN = "legacy-app-token"


@pytest.fixture
async def sidecar(upstream: CountingTransport, tmp_path: Path) -> AsyncIterator[tuple[Any, Path]]:
    har = tmp_path / "session.har"
    settings = Settings.load(
        {
            "GATEWAY_UPSTREAM": UPSTREAM,
            "GATEWAY_TRUNKING_UPSTREAM": UPSTREAM,
            "GATEWAY_UPSTREAM_ACCOUNT_SID": ACCOUNT,
            "GATEWAY_UPSTREAM_AUTH_TOKEN": TOKEN,
            "GATEWAY_CLIENT_CREDENTIALS": f"{ACCOUNT}:{CLIENT_TOKEN},{OTHER}:{CLIENT_TOKEN}-2",
            "GATEWAY_RECORD": str(har),
            "GATEWAY_LOG_LEVEL": "debug",
        }
    )
    yield create_app(settings, upstream), har


async def test_sidecar_never_hands_out_the_injected_token(
    sidecar: tuple[Any, Path], caplog: pytest.LogCaptureFixture
) -> None:
    app, har = sidecar
    caplog.set_level(logging.DEBUG)
    bodies: list[bytes] = []
    async with serving(app, auth=(ACCOUNT, CLIENT_TOKEN)) as client:
        for path in (BASE, BASE + "/", BASE + ".json", BASE + ".csv", BASE + ".html", "/2008-08-01/Accounts"):
            response = await client.get(path)
            assert response.status_code == 200, response.text
            bodies.append(response.content)
        renamed = await client.put(BASE, data={"FriendlyName": "Sidecar"})
        bodies.append(renamed.content)
        fetched = parse_xml(bodies[0])[0]
        assert fetched.findtext("Sid") == ACCOUNT
        assert fetched.find("AuthToken") is not None
        assert fetched.findtext("AuthToken") == ""  # the element is there, empty
        listing = parse_xml(bodies[5])[0]
        assert [(item.findtext("Sid"), item.findtext("AuthToken")) for item in listing] == [(ACCOUNT, "")]
        assert json.loads(bodies[2])["TwilioResponse"]["Account"]["AuthToken"] is None
    for body in bodies:
        assert TOKEN.encode() not in body
        assert OTHER_TOKEN.encode() not in body
    assert TOKEN not in caplog.text
    assert TOKEN not in har.read_text()
    assert "Sidecar" in har.read_text()  # the HAR did record the exchanges


async def test_sidecar_clients_act_only_for_their_own_account(
    sidecar: tuple[Any, Path], upstream: CountingTransport
) -> None:
    """The injected credentials reach the subaccount too; the client bound to it sees only it."""
    app, _ = sidecar
    async with serving(app, auth=(OTHER, CLIENT_TOKEN + "-2")) as client:
        listing = parse_xml((await client.get("/2008-08-01/Accounts")).content)[0]
        assert [item.findtext("Sid") for item in listing] == [OTHER]
        assert listing.get("total") == "1"
        own = parse_xml((await client.get(f"/2008-08-01/Accounts/{OTHER}/")).content)[0]
        assert (own.findtext("Sid"), own.findtext("AuthToken")) == (OTHER, "")
        assert (await client.get(BASE)).status_code == 404
        upstream.reset()
        renamed = await client.post(BASE, data={"FriendlyName": "Not mine"})
        assert renamed.status_code == 404
        assert (await client.get(f"{BASE}/IncomingPhoneNumbers")).status_code == 404
        assert upstream.count() == 0  # refused by the path alone: nothing went upstream
    async with serving(app, auth=(ACCOUNT, CLIENT_TOKEN)) as client:
        listing = parse_xml((await client.get("/2008-08-01/Accounts")).content)[0]
        assert [item.findtext("Sid") for item in listing] == [ACCOUNT]  # not the other client's snapshot
        assert parse_xml((await client.get(BASE)).content)[0].findtext("FriendlyName") == "Sandbox account"


async def test_pass_through_returns_each_accounts_own_token(make_client: Any) -> None:
    async with make_client(auth=(OTHER, OTHER_TOKEN)) as other:
        node = parse_xml((await other.get(f"/2008-08-01/Accounts/{OTHER}")).content)[0]
    assert node.findtext("AuthToken") == OTHER_TOKEN


async def test_secret_fields_are_declared_not_named(client: httpx.AsyncClient) -> None:
    from gateway.resources.accounts import ACCOUNT as SHAPE

    assert [f.legacy for f in SHAPE.fields if f.secret] == ["AuthToken"]
