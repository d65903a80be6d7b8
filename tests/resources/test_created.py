"""Every 201 names what it created in ``Location`` (response.md: "Its URL is given in the http Location
header"): making a call, sending an SMS, buying a local or toll-free number, adding a number to a trunk.

The page gives no example of the header. Pinned here: the URI is path-absolute (``/2008-08-01/…``), as
every 2008 page writes a resource's URI (the paging ``uri`` attributes too), since the gateway cannot
know the origin its clients reach it by; and it keeps the format suffix the client wrote, as the page
URIs do, so the client reads the new resource in the form it asked for.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ACCOUNT, OURS, PREFIX, TRUNK, parse_xml


def first_incoming(store: Any) -> Any:
    ordered = store.incoming[ACCOUNT]
    return ordered.items[ordered.seqs[0]]


def creates(store: Any) -> list[tuple[str, dict[str, str], str]]:
    """(list path, form, the list path of the created instance)."""
    trunk = f"/Trunks/{TRUNK}/PhoneNumbers"
    return [
        ("/Calls", {"Caller": OURS, "Called": "415-555-1212", "Url": "http://a.example/"}, "/Calls"),
        ("/SMS/Messages", {"From": OURS, "To": "415-555-1212", "Body": "Hi"}, "/SMS/Messages"),
        ("/IncomingPhoneNumbers/Local", {"AreaCode": "415"}, "/IncomingPhoneNumbers"),
        ("/IncomingPhoneNumbers/TollFree", {"AreaCode": "866"}, "/IncomingPhoneNumbers"),
        (trunk, {"PhoneNumberSid": first_incoming(store).sid}, trunk),
    ]


NAMES = ["call", "sms", "local", "toll-free", "trunk"]


@pytest.mark.parametrize("suffix", ["", ".xml", ".json", ".csv", ".html"])
@pytest.mark.parametrize("index", range(len(NAMES)), ids=NAMES)
async def test_a_201_gives_the_new_resource_in_location(
    client: httpx.AsyncClient, store: Any, index: int, suffix: str
) -> None:
    path, form, instance_list = creates(store)[index]
    created = await client.post(PREFIX + path + suffix, data=form)
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location.startswith(f"{PREFIX}{instance_list}/")
    sid = location[len(f"{PREFIX}{instance_list}/") :]
    assert sid.endswith(suffix)
    sid = sid.removesuffix(suffix)
    assert len(sid) == 34 and sid[:2] in ("CA", "SM", "PN"), location
    fetched = await client.get(location)
    assert fetched.status_code == 200, fetched.text
    xml = await client.get(f"{PREFIX}{instance_list}/{sid}")
    assert parse_xml(xml.content)[0].findtext("Sid") == sid


async def test_the_location_is_the_created_items_own(client: httpx.AsyncClient) -> None:
    made = await client.post(
        f"{PREFIX}/Calls", data={"Caller": OURS, "Called": "4155551212", "Url": "http://a/"}
    )
    sid = parse_xml(made.content)[0].findtext("Sid")
    assert made.headers["location"] == f"/2008-08-01/Accounts/{ACCOUNT}/Calls/{sid}"
    bought = await client.post(f"{PREFIX}/IncomingPhoneNumbers/Local.json", data={"AreaCode": "212"})
    number = bought.json()["TwilioResponse"]["IncomingPhoneNumber"]["Sid"]
    assert bought.headers["location"] == f"/2008-08-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers/{number}.json"


async def test_answers_other_than_201_carry_no_location(client: httpx.AsyncClient, store: Any) -> None:
    number = first_incoming(store)
    updated = await client.post(f"{PREFIX}/IncomingPhoneNumbers/{number.sid}", data={"FriendlyName": "x"})
    assert updated.status_code == 200 and "location" not in updated.headers
    listed = await client.get(f"{PREFIX}/Calls")
    assert "location" not in listed.headers
    refused = await client.post(f"{PREFIX}/Calls", data={"Caller": OURS, "Url": "http://a/"})
    assert refused.status_code == 400 and "location" not in refused.headers
