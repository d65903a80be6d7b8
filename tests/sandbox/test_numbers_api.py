"""The sandbox's IncomingPhoneNumbers endpoints against the 2010 spec and the official ``twilio``
client: the account's numbers, Local and TollFree lists, buying from the inventory by area code or by
number, updating, releasing back to the inventory — and the pre-provisioned numbers trunks use."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from twilio.rest import Client

from gateway.sandbox import create_sandbox
from gateway.sandbox.numbers_api import LOCAL_AREA_CODES, TOLL_FREE_AREA_CODES, Inventory
from tests.conftest import ACCOUNT, OTHER, SPECS, TOKEN
from tests.sandbox.test_conformance import conforms, is_error
from tests.sandbox.test_official_client import LoopbackHttpClient
from tests.servers import serve

SPEC = json.loads((SPECS / "twilio_api_v2010.legacy_surface.json").read_text())
API = "/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers"
NUMBERS, NUMBER = API + ".json", API + "/{Sid}.json"
LOCAL, TOLL_FREE = API + "/Local.json", API + "/TollFree.json"
BASE = f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers"


def test_the_inventory_has_both_kinds() -> None:
    inventory = Inventory(3)
    assert inventory.available["415"] == ["+14157770100", "+14157770101", "+14157770102"]
    assert set(inventory.available) == {*LOCAL_AREA_CODES, *TOLL_FREE_AREA_CODES}
    assert inventory.take("907") is None
    assert inventory.take("866") == "+18667770100"
    inventory.give_back("+18667770100")
    assert inventory.available["866"][0] == "+18667770100"


async def test_buy_list_update_release_conform(api: httpx.AsyncClient, sandbox_app: Any) -> None:
    bought = await api.post(f"{BASE}.json", data={"AreaCode": "415", "VoiceUrl": "http://example.com/v"})
    body = conforms(bought, SPEC, NUMBERS, "post")
    assert bought.status_code == 201
    assert (body["phone_number"], body["voice_url"], body["friendly_name"]) == (
        "+14157770100",
        "http://example.com/v",
        "(415) 777-0100",
    )
    toll_free = conforms(await api.post(f"{BASE}.json", data={"AreaCode": "800"}), SPEC, NUMBERS, "post")
    assert toll_free["phone_number"] == "+18007770100"
    by_number = await api.post(f"{BASE}/Local.json", data={"PhoneNumber": "+12127770103"})
    assert conforms(by_number, SPEC, LOCAL, "post")["phone_number"] == "+12127770103"
    listing = conforms(await api.get(f"{BASE}.json"), SPEC, NUMBERS, "get")
    assert len(listing["incoming_phone_numbers"]) == 5 + 3
    local = conforms(await api.get(f"{BASE}/Local.json"), SPEC, LOCAL, "get")
    assert "+18007770100" not in [n["phone_number"] for n in local["incoming_phone_numbers"]]
    only = conforms(await api.get(f"{BASE}/TollFree.json"), SPEC, TOLL_FREE, "get")
    assert [n["phone_number"] for n in only["incoming_phone_numbers"]] == ["+18007770100"]
    partial = await api.get(f"{BASE}.json", params={"PhoneNumber": "415777*100"})
    assert [n["sid"] for n in partial.json()["incoming_phone_numbers"]] == [body["sid"]]
    sid = body["sid"]
    updated = await api.post(f"{BASE}/{sid}.json", data={"VoiceMethod": "GET", "SmsUrl": "http://e.com/s"})
    changed = conforms(updated, SPEC, NUMBER, "post")
    assert (changed["voice_method"], changed["sms_url"], changed["voice_url"]) == (
        "GET",
        "http://e.com/s",
        "http://example.com/v",
    )
    conforms(await api.get(f"{BASE}/{sid}.json"), SPEC, NUMBER, "get")
    released = await api.delete(f"{BASE}/{sid}.json")
    assert (released.status_code, released.content) == (204, b"")
    is_error(await api.get(f"{BASE}/{sid}.json"), 404, 20404)
    assert sandbox_app.state.sandbox.inventory.available["415"][0] == "+14157770100"


async def test_purchase_errors(api: httpx.AsyncClient) -> None:
    is_error(await api.post(f"{BASE}.json", data={"AreaCode": "907"}), 400, 21452)
    is_error(await api.post(f"{BASE}.json", data={}), 400, 21451)
    is_error(await api.post(f"{BASE}/Local.json", data={}), 400, 21604)
    is_error(await api.post(f"{BASE}/Local.json", data={"PhoneNumber": "+18007770100"}), 400, 21422)
    is_error(await api.post(f"{BASE}/TollFree.json", data={"PhoneNumber": "+14157770100"}), 400, 21422)
    is_error(await api.post(f"{BASE}/Local.json", data={"PhoneNumber": "+19075550100"}), 400, 21422)
    is_error(await api.post(f"{BASE}/Local.json", data={"PhoneNumber": "12"}), 400, 21421)
    is_error(await api.post(f"{BASE}.json", data={"AreaCode": "415", "VoiceMethod": "PUT"}), 400, 20001)
    for _ in range(5):
        assert (await api.post(f"{BASE}.json", data={"AreaCode": "303"})).status_code == 201
    is_error(await api.post(f"{BASE}.json", data={"AreaCode": "303"}), 400, 21452)
    is_error(await api.get(f"/2010-04-01/Accounts/{OTHER}/IncomingPhoneNumbers.json"), 404, 20404)
    is_error(await api.get(f"{BASE}/PN{'0' * 32}.json"), 404, 20404)
    is_error(await api.put(f"{BASE}.json"), 405, 20004)


async def test_releasing_a_number_takes_it_off_its_trunks(api: httpx.AsyncClient) -> None:
    trunk = "/v1/Trunks/TK" + "1" * 32 + "/PhoneNumbers"
    first = (await api.get(f"{BASE}.json")).json()["incoming_phone_numbers"][0]["sid"]
    assert (await api.post(trunk, data={"PhoneNumberSid": first})).status_code == 201
    assert (await api.delete(f"{BASE}/{first}.json")).status_code == 204
    assert (await api.get(trunk)).json()["phone_numbers"] == []


@pytest.fixture
def official(sandbox_config: Any) -> Iterator[Client]:
    with serve(create_sandbox(sandbox_config), lifespan="off") as base:
        yield Client(ACCOUNT, TOKEN, http_client=LoopbackHttpClient(base))


def test_numbers_through_the_official_client(official: Client) -> None:
    bought = official.incoming_phone_numbers.create(area_code="415", voice_url="http://example.com/v")
    assert bought.phone_number == "+14157770100" and bought.voice_url == "http://example.com/v"
    local = official.incoming_phone_numbers.local.create(phone_number="+12127770100")
    toll_free = official.incoming_phone_numbers.toll_free.create(phone_number="+18887770100")
    assert [n.phone_number for n in official.incoming_phone_numbers.toll_free.list()] == ["+18887770100"]
    assert len(official.incoming_phone_numbers.local.list()) == 5 + 2
    assert len(official.incoming_phone_numbers.list(page_size=2)) == 5 + 3
    found = official.incoming_phone_numbers.list(phone_number="+12127770100")
    assert [n.sid for n in found] == [local.sid]
    updated = official.incoming_phone_numbers(bought.sid).update(voice_method="GET", friendly_name="Main")
    assert (updated.voice_method, updated.friendly_name) == ("GET", "Main")
    assert official.incoming_phone_numbers(toll_free.sid).fetch().phone_number == "+18887770100"
    assert official.incoming_phone_numbers(toll_free.sid).delete() is True
    assert official.incoming_phone_numbers.toll_free.list() == []


# AvailablePhoneNumbers: the searches behind buying a number anywhere -----------------------------
AVAILABLE_SPEC = json.loads((SPECS / "twilio_api_v2010.available_phone_numbers.json").read_text())
SEARCH = "/2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/{CountryCode}"
SEARCH_LOCAL, SEARCH_TOLL_FREE = SEARCH + "/Local.json", SEARCH + "/TollFree.json"
AVAILABLE = f"/2010-04-01/Accounts/{ACCOUNT}/AvailablePhoneNumbers"


def numbers_of(body: dict[str, Any]) -> list[str]:
    return [n["phone_number"] for n in body["available_phone_numbers"]]


async def test_searches_conform_and_list_what_can_be_bought(api: httpx.AsyncClient) -> None:
    local = conforms(await api.get(f"{AVAILABLE}/US/Local.json"), AVAILABLE_SPEC, SEARCH_LOCAL, "get")
    assert numbers_of(local)[:3] == ["+12027770100", "+12027770101", "+12027770102"]
    assert len(numbers_of(local)) == 50 and set(local) == {"available_phone_numbers", "uri"}
    assert local["uri"] == f"{AVAILABLE}/US/Local.json"
    first = local["available_phone_numbers"][0]
    assert list(first) == list(
        AVAILABLE_SPEC["components"]["schemas"][
            "api.v2010.account.available_phone_number_country.available_phone_number_local"
        ]["properties"]
    )
    assert (first["friendly_name"], first["iso_country"], first["capabilities"]["sms"]) == (
        "(202) 777-0100",
        "US",
        True,
    )
    toll_free = await api.get(f"{AVAILABLE}/US/TollFree.json", params={"PageSize": "2"})
    body = conforms(toll_free, AVAILABLE_SPEC, SEARCH_TOLL_FREE, "get")
    assert numbers_of(body) == ["+18007770100", "+18007770101"]
    assert body["available_phone_numbers"][0]["capabilities"]["sms"] is False
    assert (await api.post(f"{BASE}.json", data={"PhoneNumber": "+12027770100"})).status_code == 201
    after = (await api.get(f"{AVAILABLE}/US/Local.json", params={"PageSize": "1"})).json()
    assert numbers_of(after) == ["+12027770101"]  # bought: no longer offered


@pytest.mark.parametrize(
    ("kind", "query", "expected"),
    [
        ("Local", {"AreaCode": "415", "PageSize": "2"}, ["+14157770100", "+14157770101"]),
        ("Local", {"AreaCode": "907"}, []),
        ("Local", {"Contains": "+1617", "PageSize": "1"}, ["+16177770100"]),
        ("Local", {"Contains": "7770104$", "AreaCode": "718"}, ["+17187770104"]),
        ("Local", {"Contains": "646*770101"}, ["+16467770101"]),
        (
            "TollFree",
            {"Contains": "8%0103"},
            [f"+18{c}7770103" for c in ("00", "33", "44", "55", "66", "77", "88")],
        ),
        ("Local", {"SmsEnabled": "true", "PageSize": "1"}, ["+12027770100"]),
        ("TollFree", {"SmsEnabled": "true"}, []),
        ("Local", {"FaxEnabled": "true"}, []),
        ("Local", {"InRegion": "CA"}, []),
        ("Local", {"ExcludeAllAddressRequired": "true", "Beta": "false", "PageSize": "1"}, ["+12027770100"]),
    ],
)
async def test_search_filters(
    api: httpx.AsyncClient, kind: str, query: dict[str, str], expected: list[str]
) -> None:
    response = await api.get(f"{AVAILABLE}/US/{kind}.json", params=query)
    body = conforms(response, AVAILABLE_SPEC, SEARCH_LOCAL if kind == "Local" else SEARCH_TOLL_FREE, "get")
    assert numbers_of(body) == expected


async def test_search_errors(api: httpx.AsyncClient) -> None:
    is_error(await api.get(f"{AVAILABLE}/US/Local.json", params={"AreaCode": "four"}), 400, 20001)
    is_error(await api.get(f"{AVAILABLE}/US/Local.json", params={"SmsEnabled": "maybe"}), 400, 20001)
    is_error(await api.get(f"{AVAILABLE}/US/Local.json", params={"Contains": "4"}), 400, 20001)
    is_error(await api.get(f"{AVAILABLE}/US/Local.json", params={"PageSize": "0"}), 400, 20001)
    is_error(await api.get(f"{AVAILABLE}/usa/Local.json"), 404, 20404)
    is_error(await api.get(f"/2010-04-01/Accounts/{OTHER}/AvailablePhoneNumbers/US/Local.json"), 404, 20404)
    is_error(await api.post(f"{AVAILABLE}/US/Local.json"), 405, 20004)
    assert (await api.get(f"{AVAILABLE}/GB/Local.json")).json()["available_phone_numbers"] == []
    anonymous = await api.get(f"{AVAILABLE}/US/Local.json", auth=(ACCOUNT, "wrong"))
    is_error(anonymous, 401, 20003)


def test_searching_then_buying_through_the_official_client(official: Client) -> None:
    local = official.available_phone_numbers("US").local.list(area_code=646, limit=2)
    assert [n.phone_number for n in local] == ["+16467770100", "+16467770101"]
    toll_free = official.available_phone_numbers("US").toll_free.list(limit=1)
    bought = official.incoming_phone_numbers.create(phone_number=toll_free[0].phone_number)
    assert bought.phone_number == "+18007770100"
    again = official.available_phone_numbers("US").toll_free.list(limit=1)
    assert again[0].phone_number == "+18007770101"
