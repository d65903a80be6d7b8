"""Every exact phone filter of every list, given a value that can be no number: nothing matches.

The 2008 filters are exact matches on a number (incoming-phone-numbers.md: "exactly matches this ten
digit phone number"), so ``PhoneNumber=646555`` names no item: 200 with an empty list and the paging
attributes of any empty list, never a 21401 and never an upstream call.
"""

from __future__ import annotations

import httpx
import pytest

from gateway.resources import LEGACY_PREFIX, RESOURCES, Resource
from tests.conftest import ACCOUNT, OURS, CountingTransport, parse_xml

PHONE_FILTERS = [
    (resource, param.name) for resource in RESOURCES for param in resource.filters if param.phone
]
IMPOSSIBLE = ["6465550", "867", "1234", "not a number", "+1 415 555", "0000000000"]
"""None of them a number, nor a five- or six-digit short code (SMS To/From take those as they are)."""
PAGING = ("page", "numpages", "pagesize", "total", "start", "end")


def path_of(resource: Resource) -> str:
    return LEGACY_PREFIX + resource.legacy_path.format(AccountSid=ACCOUNT)


def test_the_phone_filters_are_all_here() -> None:
    assert sorted((r.name, name) for r, name in PHONE_FILTERS) == [
        ("calls", "Called"),
        ("calls", "Caller"),
        ("incoming_phone_numbers", "PhoneNumber"),
        ("local_numbers", "PhoneNumber"),
        ("outgoing_caller_ids", "PhoneNumber"),
        ("sms_messages", "From"),
        ("sms_messages", "To"),
        ("toll_free_numbers", "PhoneNumber"),
    ]


@pytest.mark.parametrize("value", IMPOSSIBLE)
@pytest.mark.parametrize(
    ("resource", "name"), PHONE_FILTERS, ids=[f"{r.name}.{name}" for r, name in PHONE_FILTERS]
)
async def test_a_value_that_can_be_no_number_matches_nothing(
    client: httpx.AsyncClient, upstream: CountingTransport, resource: Resource, name: str, value: str
) -> None:
    upstream.reset()
    response = await client.get(path_of(resource), params={name: value, "num": "10"})
    assert response.status_code == 200, response.text
    listing = parse_xml(response.content)[0]
    assert listing.tag == resource.list_element and len(listing) == 0
    assert upstream.count() == 0
    # The same attributes as a filter on a real number nobody has: an ordinary empty list.
    empty = parse_xml(
        (await client.get(path_of(resource), params={name: "212-555-0199", "num": "10"})).content
    )
    assert [listing.get(a) for a in PAGING] == [empty[0].get(a) for a in PAGING] == [
        "0", "0", "10", "0", "0", "-1",
    ]  # fmt: skip
    assert listing.get("nextpageuri") == "" and name in (listing.get("uri") or "")


async def test_other_filters_still_apply_and_still_refuse(client: httpx.AsyncClient) -> None:
    calls = path_of(next(r for r in RESOURCES if r.name == "calls"))
    both = await client.get(calls, params={"Caller": "867", "Called": OURS})
    assert both.status_code == 200 and len(parse_xml(both.content)[0]) == 0
    bad_date = await client.get(calls, params={"Caller": "867", "StartTime": "yesterday"})
    assert bad_date.status_code == 400


@pytest.mark.parametrize("fmt", ["xml", "json", "csv", "html"])
async def test_the_issues_example_in_every_format(
    client: httpx.AsyncClient, upstream: CountingTransport, fmt: str
) -> None:
    upstream.reset()
    numbers = f"{LEGACY_PREFIX}/Accounts/{ACCOUNT}/IncomingPhoneNumbers.{fmt}"
    response = await client.get(numbers, params={"PhoneNumber": "646555"})
    assert response.status_code == 200, response.text
    assert upstream.count() == 0
    if fmt == "json":
        body = response.json()["TwilioResponse"]
        assert (body["IncomingPhoneNumbers"], body["total"]) == ([], "0")
    elif fmt == "xml":
        assert parse_xml(response.content)[0].get("total") == "0"
    elif fmt == "csv":
        assert len(response.text.strip().splitlines()) <= 1  # at most the header
    else:
        assert "incoming-phone-number" not in response.text.replace("incoming-phone-numbers", "")
