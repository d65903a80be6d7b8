"""Accounts and phone numbers end to end: the sandbox and the gateway as real servers on loopback, a
plain HTTP client doing what a legacy app does on start-up and when it buys and releases numbers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.sandbox import create_sandbox
from gateway.settings import Settings
from tests.conftest import ACCOUNT, OTHER, OTHER_TOKEN, TOKEN
from tests.servers import serve


def xml(response: httpx.Response) -> ET.Element:
    assert response.headers["content-type"] == "application/xml", response.text
    return ET.fromstring(response.content)[0]


@pytest.fixture
def upstream(sandbox_config: Any) -> Iterator[str]:
    with serve(create_sandbox(sandbox_config), lifespan="off") as base:
        yield base


@pytest.fixture
def gateway(upstream: str) -> Iterator[str]:
    settings = Settings(upstream=upstream, trunking_upstream=upstream, access_log=False)
    with serve(create_app(settings)) as base:
        yield base


def test_account_start_up_and_numbers_over_loopback(gateway: str) -> None:
    account = f"{gateway}/2008-08-01/Accounts/{ACCOUNT}"
    numbers = f"{account}/IncomingPhoneNumbers"
    with httpx.Client(auth=(ACCOUNT, TOKEN)) as client:
        # A 2010 client library's start-up: fetch and rename, with the trailing slash
        for url in (account + "/", account):
            fetched = xml(client.get(url))
            assert (fetched.findtext("Sid"), fetched.findtext("Status")) == (ACCOUNT, "2")
            assert fetched.findtext("AuthToken") == TOKEN
        assert (
            xml(client.put(account + "/", data={"FriendlyName": "Slash"})).findtext("FriendlyName") == "Slash"
        )
        assert xml(client.post(account, data={"FriendlyName": "Plain"})).findtext("FriendlyName") == "Plain"
        listing = xml(client.get(f"{gateway}/2008-08-01/Accounts"))
        assert [(a.findtext("Sid"), a.findtext("FriendlyName")) for a in listing] == [
            (ACCOUNT, "Plain"),
            (OTHER, "Sandbox subaccount 1"),
        ]
        # Buy a local number in 415 and a toll-free one
        local = xml(
            client.post(
                f"{numbers}/Local",
                data={
                    "AreaCode": "415",
                    "Url": "http://example.com/a",
                    "Method": "GET",
                    "FriendlyName": "Main",
                },
            )
        )
        assert local.findtext("PhoneNumber") == "4157770100"
        assert (local.findtext("Url"), local.findtext("Method")) == ("http://example.com/a", "GET")
        toll_free = xml(client.post(f"{numbers}/TollFree", data={"AreaCode": "866"}))
        assert toll_free.findtext("PhoneNumber", "").startswith("866")
        assert toll_free.find("SmsUrl") is None  # the TollFree factory's answer, as its example shows
        sid = local.findtext("Sid")
        # Point its Url at a new address
        moved = xml(client.put(f"{numbers}/{sid}", data={"Url": "http://example.com/b"}))
        assert (moved.findtext("Url"), moved.findtext("Method")) == ("http://example.com/b", "GET")
        # List and filter
        assert xml(client.get(numbers)).get("total") == "7"
        assert [
            n.findtext("Sid") for n in xml(client.get(numbers, params={"PhoneNumber": "(415) 777-0100"}))
        ] == [sid]
        assert [n.findtext("Sid") for n in xml(client.get(numbers, params={"FriendlyName": "Main"}))] == [sid]
        assert [n.findtext("PhoneNumber") for n in xml(client.get(f"{numbers}/TollFree"))] == [
            toll_free.findtext("PhoneNumber")
        ]
        assert xml(client.get(f"{numbers}/Local")).get("total") == "6"
        # Release it: 204, gone, and back on sale
        released = client.delete(f"{numbers}/{sid}")
        assert (released.status_code, released.content) == (204, b"")
        assert client.get(f"{numbers}/{sid}").status_code == 404
        again = xml(client.post(f"{numbers}/Local", data={"AreaCode": "415"}))
        assert again.findtext("PhoneNumber") == "4157770100"
        none = client.post(f"{numbers}/Local", data={"AreaCode": "907"})
        assert (none.status_code, xml(none).findtext("Code")) == (400, "21452")
    with httpx.Client(auth=(OTHER, OTHER_TOKEN)) as sub:
        assert xml(sub.get(f"{gateway}/2008-08-01/Accounts/{OTHER}/")).findtext("AuthToken") == OTHER_TOKEN


def test_sidecar_answers_the_auth_token_empty_over_loopback(upstream: str, tmp_path: Path) -> None:
    har = tmp_path / "sidecar.har"
    settings = Settings.load(
        {
            "GATEWAY_UPSTREAM": upstream,
            "GATEWAY_TRUNKING_UPSTREAM": upstream,
            "GATEWAY_UPSTREAM_ACCOUNT_SID": ACCOUNT,
            "GATEWAY_UPSTREAM_AUTH_TOKEN": TOKEN,
            "GATEWAY_CLIENT_CREDENTIALS": f"{ACCOUNT}:app",
            "GATEWAY_RECORD": str(har),
        }
    )
    with serve(create_app(settings)) as gateway, httpx.Client(auth=(ACCOUNT, "app")) as client:
        bodies = [
            client.get(f"{gateway}/2008-08-01/Accounts/{ACCOUNT}/").content,
            client.get(f"{gateway}/2008-08-01/Accounts").content,
            client.post(f"{gateway}/2008-08-01/Accounts/{ACCOUNT}", data={"FriendlyName": "S"}).content,
            client.get(f"{gateway}/2008-08-01/Accounts/{ACCOUNT}.json").content,
        ]
    assert ET.fromstring(bodies[0])[0].findtext("AuthToken") == ""
    assert ET.fromstring(bodies[0])[0].findtext("Sid") == ACCOUNT
    assert all(TOKEN.encode() not in body and OTHER_TOKEN.encode() not in body for body in bodies)
    assert TOKEN not in har.read_text()
