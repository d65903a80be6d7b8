"""The tenant boundary in sidecar mode: a client credential acts only for the accounts it is bound to.

The upstream here behaves like Twilio's: the injected (master) credentials reach every account below
them, so the gateway is the only thing between one tenant's client and another tenant's data.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.settings import Settings
from tests.conftest import parse_xml, serving

MASTER = "AC" + "0" * 32
MASTER_TOKEN = "master-token-0123456789abcdef0000"
TENANT = "AC" + "1" * 32
SUB = "AC" + "2" * 32
STRANGER = "AC" + "3" * 32
EVERY_ACCOUNT = (MASTER, TENANT, SUB, STRANGER)
CALLER = "PN" + "a" * 32
LEGACY = "http://legacy.test"


def twilio_like(seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    """Any account's caller id to the master credentials; the legacy provider answers anything."""
    master = "Basic " + base64.b64encode(f"{MASTER}:{MASTER_TOKEN}".encode()).decode()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("authorization") != master:
            return httpx.Response(401, json={"code": 20003, "message": "Authenticate", "status": 401})
        if request.url.host == "legacy.test":
            return httpx.Response(200, content=b"<TwilioResponse/>", headers={"Content-Type": "text/xml"})
        if request.url.path == "/2010-04-01/Accounts.json":  # the master and every subaccount
            accounts = [{"sid": sid, "friendly_name": sid, "status": "active"} for sid in EVERY_ACCOUNT]
            return httpx.Response(200, json={"accounts": accounts, "next_page_uri": None})
        own = re.fullmatch(r"/2010-04-01/Accounts/(AC\w{32})\.json", request.url.path)
        if own is not None:  # an account itself
            return httpx.Response(200, json={"sid": own.group(1), "friendly_name": "x", "status": "active"})
        account = re.search(r"/Accounts/(AC\w{32})/", request.url.path)
        if account is None:  # Trunking: the trunks of the credentials' own account
            return httpx.Response(200, json={"phone_numbers": [], "meta": {"next_page_url": None}})
        item = {
            "sid": CALLER,
            "account_sid": account.group(1),
            "friendly_name": f"owned by {account.group(1)}",
            "phone_number": "+14158675309",
            "date_created": "Fri, 21 Aug 2009 00:11:24 +0000",
            "date_updated": "Fri, 21 Aug 2009 00:11:24 +0000",
        }
        if request.url.path.endswith("OutgoingCallerIds.json"):
            return httpx.Response(
                200,
                json={"outgoing_caller_ids": [item], "next_page_uri": None}
                if request.method == "GET"
                else item,
            )
        return httpx.Response(200, json=item)

    return handler


@pytest.fixture
def seen() -> list[httpx.Request]:
    return []


def sidecar_app(credentials: str, seen: list[httpx.Request]) -> Callable[[tuple[str, str]], Any]:
    env = {
        "GATEWAY_UPSTREAM": "http://api.test",
        "GATEWAY_TRUNKING_UPSTREAM": "http://trunking.test",
        "GATEWAY_LEGACY_UPSTREAM": LEGACY,
        "GATEWAY_UPSTREAM_ACCOUNT_SID": MASTER,
        "GATEWAY_UPSTREAM_AUTH_TOKEN": MASTER_TOKEN,
        "GATEWAY_CLIENT_CREDENTIALS": credentials,
        "GATEWAY_RETRIES": "0",
    }
    app = create_app(Settings.load(env), httpx.MockTransport(twilio_like(seen)))

    def client(auth: tuple[str, str]) -> Any:
        return serving(app, auth=auth)

    return client


@pytest.fixture
def sidecar(seen: list[httpx.Request]) -> Callable[[tuple[str, str]], Any]:
    """Entries in the plain ``AC…:token`` form (a token may hold ``:`` and ``+``)."""
    return sidecar_app(f"{TENANT}:tenant:token+x, {SUB}:sub-token", seen)


async def get(sidecar: Callable[[tuple[str, str]], Any], auth: tuple[str, str], path: str) -> httpx.Response:
    async with sidecar(auth) as client:
        response: httpx.Response = await client.get(path)
    return response


def caller(account: str) -> str:
    return f"/2008-08-01/Accounts/{account}/OutgoingCallerIds/{CALLER}"


async def test_a_credential_acts_for_its_own_account(sidecar: Any) -> None:
    response = await get(sidecar, (TENANT, "tenant:token+x"), caller(TENANT))
    assert response.status_code == 200
    assert parse_xml(response.content)[0].findtext("AccountSid") == TENANT


@pytest.mark.parametrize("account", [SUB, STRANGER, MASTER])
async def test_another_account_is_404_and_never_reaches_the_upstream(
    sidecar: Any, seen: list[httpx.Request], account: str
) -> None:
    response = await get(sidecar, (TENANT, "tenant:token+x"), caller(account))
    assert response.status_code == 404
    exception = parse_xml(response.content)[0]
    assert (exception.findtext("Status"), exception.findtext("Code")) == ("404", "20404")
    assert account not in response.text
    assert seen == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/2008-08-01/Accounts/{STRANGER}/OutgoingCallerIds"),
        ("POST", f"/2008-08-01/Accounts/{STRANGER}/OutgoingCallerIds"),
        ("DELETE", caller(STRANGER)),
        ("PUT", caller(STRANGER)),
        ("GET", f"/2008-08-01/Accounts/{STRANGER}/Trunks/TK{'1' * 32}/PhoneNumbers"),
        ("POST", f"/2008-08-01/Accounts/{STRANGER}/Calls"),
        ("GET", f"/2008-08-01/Accounts/{STRANGER}/Conferences"),
    ],
)
async def test_no_operation_crosses_the_boundary(
    sidecar: Any, seen: list[httpx.Request], method: str, path: str
) -> None:
    async with sidecar((TENANT, "tenant:token+x")) as client:
        response = await client.request(
            method,
            path,
            data={
                "PhoneNumber": "4158675309",
                "FriendlyName": "x",
                "Caller": "4158675309",
                "Called": "4155551212",
                "Url": "http://x.test/",
            }
            if method != "GET"
            else None,
        )
    assert response.status_code == 404
    assert seen == []


async def test_subaccounts_listed_with_the_credential(seen: list[httpx.Request]) -> None:
    sidecar = sidecar_app(f"{TENANT}:tenant-token, {SUB}:sub-token, {STRANGER}+{SUB}:parent", seen)
    parent = (STRANGER, "parent")
    assert (await get(sidecar, parent, caller(STRANGER))).status_code == 200
    assert (await get(sidecar, parent, caller(SUB))).status_code == 200
    assert (await get(sidecar, parent, caller(TENANT))).status_code == 404
    # the subaccount's own credential does not reach its parent
    assert (await get(sidecar, (SUB, "sub-token"), caller(STRANGER))).status_code == 404


async def test_the_account_list_shows_the_bound_accounts_alone(seen: list[httpx.Request]) -> None:
    sidecar = sidecar_app(f"{TENANT}:tenant-token, {STRANGER}+{SUB}:parent", seen)
    for auth, expected in (((TENANT, "tenant-token"), [TENANT]), ((STRANGER, "parent"), [SUB, STRANGER])):
        listing = parse_xml((await get(sidecar, auth, "/2008-08-01/Accounts")).content)[0]
        assert [item.findtext("Sid") for item in listing] == expected
        assert listing.get("total") == str(len(expected))


async def test_a_token_for_another_entry_is_refused(sidecar: Any) -> None:
    response = await get(sidecar, (TENANT, "sub-token"), caller(TENANT))
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/2008-08-01/Accounts/{TENANT}/Queues", 200),
        (f"/2008-08-01/Accounts/{TENANT}/Queues.json", 200),
        (f"/2008-08-01/Accounts/{STRANGER}/Queues", 404),
        (f"/2008-08-01/Accounts/{TENANT.lower()}/Queues", 404),
        (f"/2008-08-01/Accounts/{STRANGER}/Queues.json", 404),
        ("/2008-08-01/AvailablePhoneNumbers", 404),
        ("/2008-08-01/Queues", 404),
    ],
)
async def test_passthrough_is_bound_too(
    sidecar: Any, seen: list[httpx.Request], path: str, status: int
) -> None:
    response = await get(sidecar, (TENANT, "tenant:token+x"), path)
    assert response.status_code == status
    if status == 404:
        assert seen == []
    else:
        (sent,) = seen
        assert sent.url.path == path


@pytest.mark.parametrize("auth", [None, (TENANT, "wrong")])
async def test_passthrough_authenticates(
    sidecar: Any, seen: list[httpx.Request], auth: tuple[str, str] | None
) -> None:
    response = await get(sidecar, auth, f"/2008-08-01/Accounts/{TENANT}/Queues")  # type: ignore[arg-type]
    assert response.status_code == 401
    assert parse_xml(response.content)[0].findtext("Code") == "20003"
    assert seen == []


@pytest.fixture
async def plain_passthrough(seen: list[httpx.Request]) -> AsyncIterator[Callable[..., Any]]:
    settings = Settings(upstream="http://api.test", trunking_upstream="http://t.test", legacy_upstream=LEGACY)
    app = create_app(settings, httpx.MockTransport(twilio_like(seen)))

    def client(auth: tuple[str, str] | None) -> Any:
        return serving(app, auth=auth)

    yield client


async def test_passthrough_without_credentials_is_401(
    plain_passthrough: Any, seen: list[httpx.Request]
) -> None:
    async with plain_passthrough(None) as client:
        response = await client.get(f"/2008-08-01/Accounts/{TENANT}/Queues")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Basic realm="Twilio API"'
    assert seen == []


async def test_trunking_acts_for_the_injected_account_only(seen: list[httpx.Request]) -> None:
    """Trunking v1 has no account in its paths: with the master's credentials it reaches the master's
    trunks, so a subaccount's client must not get there through its own legacy path."""
    sidecar = sidecar_app(f"{TENANT}:tenant-token, {MASTER}+{TENANT}:parent", seen)
    trunk = f"Trunks/TK{'1' * 32}/PhoneNumbers"
    async with sidecar((TENANT, "tenant-token")) as client:
        created = await client.post(f"/2008-08-01/Accounts/{TENANT}/{trunk}", data={"PhoneNumberSid": CALLER})
        listed = await client.get(f"/2008-08-01/Accounts/{TENANT}/{trunk}")
    assert (created.status_code, listed.status_code) == (404, 404)
    assert seen == []
    async with sidecar((MASTER, "parent")) as client:
        assert (await client.get(f"/2008-08-01/Accounts/{MASTER}/{trunk}")).status_code == 200
        assert (await client.get(f"/2008-08-01/Accounts/{TENANT}/{trunk}")).status_code == 404
    assert [request.url.path for request in seen] == [f"/v1/{trunk}"]


@pytest.mark.parametrize(
    ("method", "path", "form"),
    [
        ("PUT", f"/2008-08-01/Accounts/{TENANT}/IncomingPhoneNumbers/{CALLER}", {"AccountSid": STRANGER}),
        ("POST", f"/2008-08-01/Accounts/{TENANT}/IncomingPhoneNumbers/{CALLER}", {"AccountSid": STRANGER}),
        ("PUT", f"/2008-08-01/Accounts/{TENANT}", {"OwnerAccountSid": STRANGER, "AccountSid": STRANGER}),
        ("POST", f"/2008-08-01/Accounts/{TENANT}/OutgoingCallerIds", {"PhoneNumber": "4158675309"}),
        ("PUT", caller(TENANT), {"AccountSid": STRANGER}),
        ("POST", f"/2008-08-01/Accounts/{TENANT}/SMS/Messages", {"From": "4158675309", "To": "4155551212"}),
    ],
)
async def test_a_parameter_naming_another_account_never_reaches_the_upstream(
    sidecar: Any, seen: list[httpx.Request], method: str, path: str, form: dict[str, str]
) -> None:
    """The upstream gets the injected master credentials, which reach every account: an
    ``AccountSid=…`` passed on would move the tenant's number (or caller id, or message) into
    another tenant's account. Only what the 2008 operation declares is sent."""
    data = {"FriendlyName": "mine", "Body": "hi", "AccountSid": STRANGER, **form}
    async with sidecar((TENANT, "tenant:token+x")) as client:
        await client.request(method, path, data=data)
    [write] = [request for request in seen if request.method == "POST"]
    master = "Basic " + base64.b64encode(f"{MASTER}:{MASTER_TOKEN}".encode()).decode()
    assert write.headers["authorization"] == master
    assert write.url.path.startswith(f"/2010-04-01/Accounts/{TENANT}")
    sent = dict(parse_qsl(write.content.decode()))
    assert not {"AccountSid", "OwnerAccountSid"} & set(sent)
    assert all(
        STRANGER not in str(request.url) and STRANGER.encode() not in request.content for request in seen
    )
