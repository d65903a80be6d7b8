"""The sandbox's Accounts endpoints against the 2010 spec and the official ``twilio`` client: the
account and its subaccounts, renames, status changes, and subaccounts created with their own token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from twilio.rest import Client

from gateway.sandbox import create_sandbox
from tests.conftest import ACCOUNT, OTHER, OTHER_TOKEN, SPECS, TOKEN
from tests.sandbox.test_conformance import conforms, is_error
from tests.sandbox.test_official_client import LoopbackHttpClient
from tests.servers import serve

SPEC = json.loads((SPECS / "twilio_api_v2010.legacy_surface.json").read_text())
LIST = "/2010-04-01/Accounts.json"
INSTANCE = "/2010-04-01/Accounts/{Sid}.json"


async def test_list_fetch_update_conform(api: httpx.AsyncClient) -> None:
    listing = conforms(await api.get(LIST), SPEC, LIST, "get")
    assert [a["sid"] for a in listing["accounts"]] == [ACCOUNT, OTHER]
    assert [a["owner_account_sid"] for a in listing["accounts"]] == [ACCOUNT, ACCOUNT]
    assert "total" not in listing
    fetched = conforms(await api.get(f"/2010-04-01/Accounts/{OTHER}.json"), SPEC, INSTANCE, "get")
    assert (fetched["status"], fetched["auth_token"], fetched["type"]) == ("active", OTHER_TOKEN, "Full")
    renamed = await api.post(f"/2010-04-01/Accounts/{ACCOUNT}.json", data={"FriendlyName": "Renamed"})
    assert conforms(renamed, SPEC, INSTANCE, "post")["friendly_name"] == "Renamed"
    suspended = await api.post(f"/2010-04-01/Accounts/{OTHER}.json", data={"Status": "suspended"})
    assert conforms(suspended, SPEC, INSTANCE, "post")["status"] == "suspended"
    only = conforms(await api.get(LIST, params={"Status": "suspended"}), SPEC, LIST, "get")
    assert [a["sid"] for a in only["accounts"]] == [OTHER]
    named = conforms(await api.get(LIST, params={"FriendlyName": "Renamed"}), SPEC, LIST, "get")
    assert [a["sid"] for a in named["accounts"]] == [ACCOUNT]


async def test_subaccounts_are_created_with_their_own_credentials(api: httpx.AsyncClient) -> None:
    created = await api.post(LIST, data={"FriendlyName": "Branch office"})
    body = conforms(created, SPEC, LIST, "post")
    assert created.status_code == 201
    assert body["owner_account_sid"] == ACCOUNT and body["friendly_name"] == "Branch office"
    own = await api.get(LIST, auth=(body["sid"], body["auth_token"]))
    assert [a["sid"] for a in own.json()["accounts"]] == [body["sid"]]
    is_error(await api.post(LIST, auth=(body["sid"], body["auth_token"])), 400, 20001)
    paged = conforms(await api.get(LIST, params={"PageSize": 2}), SPEC, LIST, "get")
    assert len(paged["accounts"]) == 2 and paged["next_page_uri"]
    following = conforms(await api.get(paged["next_page_uri"]), SPEC, LIST, "get")
    assert [a["sid"] for a in following["accounts"]] == [body["sid"]]


async def test_status_changes_and_errors(api: httpx.AsyncClient) -> None:
    closed = await api.post(f"/2010-04-01/Accounts/{OTHER}.json", data={"Status": "closed"})
    assert closed.json()["status"] == "closed"
    is_error(await api.post(f"/2010-04-01/Accounts/{OTHER}.json", data={"Status": "active"}), 400, 20001)
    is_error(await api.post(f"/2010-04-01/Accounts/{ACCOUNT}.json", data={"Status": "asleep"}), 400, 20001)
    is_error(
        await api.post(f"/2010-04-01/Accounts/{ACCOUNT}.json", data={"FriendlyName": "x" * 65}), 400, 21409
    )
    is_error(await api.get(f"/2010-04-01/Accounts/AC{'0' * 32}.json"), 404, 20404)
    is_error(await api.get("/2010-04-01/Accounts/nonsense.json"), 404, 20404)
    is_error(await api.get(f"/2010-04-01/Accounts/{ACCOUNT}.json", auth=(OTHER, OTHER_TOKEN)), 404, 20404)
    is_error(await api.get(LIST, auth=(ACCOUNT, "wrong")), 401, 20003)
    is_error(await api.delete(f"/2010-04-01/Accounts/{ACCOUNT}.json"), 405, 20004)


@pytest.fixture
def official(sandbox_config: Any) -> Iterator[Client]:
    with serve(create_sandbox(sandbox_config), lifespan="off") as base:
        yield Client(ACCOUNT, TOKEN, http_client=LoopbackHttpClient(base))


def test_accounts_through_the_official_client(official: Client) -> None:
    accounts = official.api.v2010.accounts.list()
    assert [a.sid for a in accounts] == [ACCOUNT, OTHER]
    fetched = official.api.v2010.accounts(ACCOUNT).fetch()
    assert fetched.status == "active" and fetched.auth_token == TOKEN
    assert fetched.date_created.year >= 2026
    renamed = official.api.v2010.accounts(ACCOUNT).update(friendly_name="Renamed")
    assert renamed.friendly_name == "Renamed"
    sub = official.api.v2010.accounts.create(friendly_name="Sub")
    assert sub.owner_account_sid == ACCOUNT
    assert official.api.v2010.accounts(sub.sid).update(status="suspended").status == "suspended"
    assert [a.sid for a in official.api.v2010.accounts.list(status="suspended")] == [sub.sid]
