"""IncomingPhoneNumbers (incoming-phone-numbers.md) through the whole app on the sandbox: the docs'
four examples, filters, updates with the 2008 names, release, and buying from the Local and TollFree
factories — one number of the asked kind, 21452 when there is none, never bought twice."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.sandbox import SandboxConfig, create_sandbox
from gateway.settings import Settings
from tests.conftest import (
    ACCOUNT,
    OTHER,
    OTHER_TOKEN,
    PREFIX,
    TOKEN,
    CountingTransport,
    elements,
    golden,
    parse_xml,
    serving,
)

NUMBERS = f"{PREFIX}/IncomingPhoneNumbers"
DOCS = {
    "Url": "http://mycompany.com/handleMainLineCall.asp",
    "Method": "GET",
    "SmsUrl": "http://mycompany.com/handleIncomingSms.asp",
    "SmsMethod": "POST",
    "VoiceFallbackUrl": "http://mycompany.com/handleError.asp",
    "VoiceFallbackMethod": "POST",
    "SmsFallbackUrl": "http://mycompany.com/handleSmsError.asp",
    "SmsFallbackMethod": "POST",
    "VoiceCallerIdLookup": "false",
}
"""The docs' example number's settings, in 2008 names."""
TWENTY_TEN = {
    "Url": "voice_url",
    "Method": "voice_method",
    "SmsUrl": "sms_url",
    "SmsMethod": "sms_method",
    "VoiceFallbackUrl": "voice_fallback_url",
    "VoiceFallbackMethod": "voice_fallback_method",
    "SmsFallbackUrl": "sms_fallback_url",
    "SmsFallbackMethod": "sms_fallback_method",
}
OURS = {"Sid", "AccountSid", "DateCreated", "DateUpdated"}


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(accounts={ACCOUNT: TOKEN, OTHER: OTHER_TOKEN}, incoming_numbers=0)


def own(sandbox: Any, number: str, friendly: str, **settings: str) -> Any:
    """A number on the account, configured as the docs' example (2008 names)."""
    item = sandbox.store.add_incoming(ACCOUNT, number, friendly)
    for name, value in {**DOCS, **settings}.items():
        key = TWENTY_TEN.get(name, "voice_caller_id_lookup")
        item.extra[key] = value == "true" if key == "voice_caller_id_lookup" else value
    return item


def masked(node: Any, also: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    return [(tag, "…" if tag in OURS | also else text) for tag, text in elements(node)]


async def test_fetch_matches_the_docs_example(client: httpx.AsyncClient, sandbox: Any) -> None:
    item = own(sandbox, "+14158675309", "My Home Phone Number")
    response = await client.get(f"{NUMBERS}/{item.sid}")
    assert response.status_code == 200, response.text
    (node,) = parse_xml(response.content)
    expected = golden("incoming_phone_number.xml")[0]
    assert node.tag == expected.tag == "IncomingPhoneNumber"
    assert masked(node) == masked(expected)
    assert dict(elements(node))["Sid"] == item.sid
    assert dict(elements(node))["AccountSid"] == ACCOUNT


async def test_list_matches_the_docs_example(client: httpx.AsyncClient, sandbox: Any) -> None:
    own(sandbox, "+14158675309", "Company Main Line")
    bare = {name: "" for name in DOCS if name.startswith(("Sms", "VoiceFallback"))}
    second = own(sandbox, "+14158675310", "Voice Test Line, No SMS or Fallback configured", **bare)
    second.extra.update({"voice_url": "http://mycompany.com/handleSupportCall.php", "voice_method": "POST"})
    second.extra["voice_caller_id_lookup"] = True
    listing = parse_xml((await client.get(NUMBERS)).content)[0]
    expected = golden("incoming_phone_numbers.xml")[0]
    assert listing.tag == expected.tag == "IncomingPhoneNumbers"
    for name in ("page", "numpages", "pagesize", "total", "start"):
        assert listing.get(name) == expected.get(name), name
    assert (expected.get("end"), listing.get("end")) == ("0", "1")  # the docs' copy error; the formula wins
    assert [masked(item) for item in listing] == [masked(item) for item in expected]


@pytest.mark.parametrize(
    "written", ["4158675309", "415-867-5309", "(415) 867.5309", "1-415-867-5309", "+14158675309"]
)
async def test_phone_number_filter_takes_any_readable_form(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport, written: str
) -> None:
    own(sandbox, "+14158675309", "Main")
    own(sandbox, "+14158675310", "Support")
    listing = parse_xml((await client.get(NUMBERS, params={"PhoneNumber": written})).content)[0]
    assert [item.findtext("PhoneNumber") for item in listing] == ["4158675309"]
    assert upstream.requests[-1].url.params["PhoneNumber"] == "+14158675309"


async def test_phone_number_filter_is_an_exact_ten_digit_match(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport
) -> None:
    """The page: "exactly matches this ten digit phone number" (2010 would match a partial one)."""
    own(sandbox, "+14158675309", "Main")
    upstream.reset()
    partial = await client.get(NUMBERS, params={"PhoneNumber": "867"})
    assert partial.status_code == 200
    assert parse_xml(partial.content)[0].get("total") == "0"
    assert upstream.count() == 0
    other = parse_xml((await client.get(NUMBERS, params={"PhoneNumber": "4158675300"})).content)[0]
    assert other.get("total") == "0"


async def test_friendly_name_filter(client: httpx.AsyncClient, sandbox: Any) -> None:
    own(sandbox, "+14158675309", "Main")
    own(sandbox, "+14158675310", "Support")
    listing = parse_xml((await client.get(NUMBERS, params={"FriendlyName": "Support"})).content)[0]
    assert [item.findtext("PhoneNumber") for item in listing] == ["4158675310"]


@pytest.mark.parametrize("method", ["PUT", "POST"])
async def test_update_maps_the_2008_names(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport, method: str
) -> None:
    item = own(sandbox, "+14158675309", "Main")
    sent = {
        "FriendlyName": "Company Support Line",
        "Url": "http://mycompany.com/handleNewCall.php",
        "Method": "POST",
        "VoiceFallbackUrl": "http://mycompany.com/errorHandler.php",
        "VoiceFallbackMethod": "GET",
        "SmsUrl": "http://mycompany.com/handleSms.php",
        "SmsMethod": "GET",
        "SmsFallbackUrl": "http://mycompany.com/smsError.php",
        "SmsFallbackMethod": "GET",
        "VoiceCallerIdLookup": "true",
    }
    response = await client.request(method, f"{NUMBERS}/{item.sid}", data=sent)
    assert response.status_code == 200, response.text
    values = dict(elements(parse_xml(response.content)[0]))
    assert {name: values[name] for name in sent} == sent
    form = dict(parse_qsl(upstream.requests[-1].content.decode()))
    assert upstream.requests[-1].method == "POST"
    assert form["VoiceUrl"] == sent["Url"] and form["VoiceMethod"] == "POST"
    assert "Url" not in form and "Method" not in form
    assert item.extra["voice_url"] == sent["Url"]
    assert item.extra["sms_fallback_method"] == "GET"
    assert item.extra["voice_caller_id_lookup"] is True


async def test_release_answers_204_and_returns_the_number(client: httpx.AsyncClient, sandbox: Any) -> None:
    bought = await client.post(f"{NUMBERS}/Local", data={"AreaCode": "415"})
    sid = parse_xml(bought.content)[0].findtext("Sid")
    assert "+14157770100" not in sandbox.inventory.available["415"]
    released = await client.delete(f"{NUMBERS}/{sid}")
    assert (released.status_code, released.content) == (204, b"")
    assert (await client.get(f"{NUMBERS}/{sid}")).status_code == 404
    assert sandbox.inventory.available["415"][0] == "+14157770100"
    again = await client.post(f"{NUMBERS}/{sid}?_method=DELETE")
    assert again.status_code == 404


# Buying -----------------------------------------------------------------------------------------
async def test_buying_a_local_number_matches_the_docs_example(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport
) -> None:
    upstream.reset()
    sent = {"AreaCode": "415", "FriendlyName": "My Company Line", **DOCS}
    sent.update({"Url": "http://mycompany.com/handleNewCall.php", "Method": "GET"})
    response = await client.post(f"{NUMBERS}/Local", data=sent)
    assert response.status_code == 201, response.text
    (node,) = parse_xml(response.content)
    assert masked(node, frozenset({"PhoneNumber"})) == masked(
        golden("incoming_phone_number_local.xml")[0], frozenset({"PhoneNumber"})
    )
    assert node.findtext("PhoneNumber") == "4157770100"
    (purchase,) = upstream.requests
    assert (purchase.method, purchase.url.path) == (
        "POST",
        f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers.json",
    )
    form = dict(parse_qsl(purchase.content.decode()))
    assert form["AreaCode"] == "415" and form["VoiceUrl"] == sent["Url"]
    assert len(sandbox.store.numbers(ACCOUNT)) == 1


async def test_buying_a_toll_free_number_matches_the_docs_example(
    client: httpx.AsyncClient, sandbox: Any
) -> None:
    sent = {
        "AreaCode": "866",
        "Url": "http://mycompany.com/handleNewCall.php",
        "Method": "GET",
        "FriendlyName": "My Company Line",
        "VoiceFallbackUrl": DOCS["VoiceFallbackUrl"],
        "VoiceFallbackMethod": "POST",
    }
    response = await client.post(f"{NUMBERS}/TollFree", data=sent)
    assert response.status_code == 201, response.text
    (node,) = parse_xml(response.content)
    expected = golden("incoming_phone_number_toll_free.xml")[0]
    assert masked(node, frozenset({"PhoneNumber"})) == masked(expected, frozenset({"PhoneNumber"}))
    assert node.findtext("PhoneNumber") == "8667770100"


async def test_the_factories_list_their_kind_only(client: httpx.AsyncClient) -> None:
    await client.post(f"{NUMBERS}/Local", data={"AreaCode": "212"})
    await client.post(f"{NUMBERS}/TollFree", data={"AreaCode": "800"})
    numbers = {
        path: [n.findtext("PhoneNumber") for n in parse_xml((await client.get(NUMBERS + path)).content)[0]]
        for path in ("", "/Local", "/TollFree")
    }
    assert numbers == {
        "": ["2127770100", "8007770100"],
        "/Local": ["2127770100"],
        "/TollFree": ["8007770100"],
    }
    local = parse_xml((await client.get(f"{NUMBERS}/Local", params={"PhoneNumber": "212-777-0100"})).content)
    assert local[0].get("total") == "1"


async def test_an_exhausted_area_code_answers_21452(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport
) -> None:
    bought = [await client.post(f"{NUMBERS}/Local", data={"AreaCode": "303"}) for _ in range(5)]
    assert [r.status_code for r in bought] == [201] * 5
    assert len({parse_xml(r.content)[0].findtext("PhoneNumber") for r in bought}) == 5
    none_left = await client.post(f"{NUMBERS}/Local", data={"AreaCode": "303"})
    assert none_left.status_code == 400
    assert parse_xml(none_left.content)[0].findtext("Code") == "21452"
    nowhere = await client.post(f"{NUMBERS}/Local", data={"AreaCode": "907"})
    assert parse_xml(nowhere.content)[0].findtext("Code") == "21452"
    assert len(sandbox.store.numbers(ACCOUNT)) == 5


@pytest.mark.parametrize(("factory", "code"), [("/Local", "866"), ("/TollFree", "415"), ("/Local", "41")])
async def test_an_area_code_of_the_other_kind_buys_nothing(
    client: httpx.AsyncClient, upstream: CountingTransport, factory: str, code: str
) -> None:
    upstream.reset()
    response = await client.post(NUMBERS + factory, data={"AreaCode": code})
    assert response.status_code == 400
    assert parse_xml(response.content)[0].findtext("Code") == "21452"
    assert upstream.count() == 0


# Buying anywhere: no AreaCode, or a blank one ---------------------------------------------------
AVAILABLE = f"/2010-04-01/Accounts/{ACCOUNT}/AvailablePhoneNumbers/US"
PURCHASE = f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers.json"


def purchases(upstream: CountingTransport) -> list[dict[str, str]]:
    return [
        dict(parse_qsl(r.content.decode()))
        for r in upstream.requests
        if (r.method, r.url.path) == ("POST", PURCHASE)
    ]


@pytest.mark.parametrize("area_code", [None, "", "  "], ids=["absent", "blank", "spaces"])
@pytest.mark.parametrize(("factory", "first"), [("/Local", "2027770100"), ("/TollFree", "8007770100")])
async def test_buying_without_an_area_code_finds_one_anywhere(
    client: httpx.AsyncClient,
    sandbox: Any,
    upstream: CountingTransport,
    factory: str,
    first: str,
    area_code: str | None,
) -> None:
    """The page: AreaCode is optional; "If not supplied, Twilio will find a phone number anywhere in the
    United States". 2010 needs an area code or a number: the gateway lists that kind's available
    numbers, then buys the first by its number, in one POST."""
    upstream.reset()
    sent = {"Url": "http://example.com/voice", **({} if area_code is None else {"AreaCode": area_code})}
    response = await client.post(NUMBERS + factory, data=sent)
    assert response.status_code == 201, response.text
    (node,) = parse_xml(response.content)
    assert node.findtext("PhoneNumber") == first and node.findtext("Url") == sent["Url"]
    search, purchase = upstream.requests
    assert (search.method, search.url.path) == ("GET", AVAILABLE + factory + ".json")
    assert (purchase.method, purchase.url.path) == ("POST", PURCHASE)
    form = dict(parse_qsl(purchase.content.decode()))
    assert form["PhoneNumber"] == "+1" + first and "AreaCode" not in form
    assert form["VoiceUrl"] == sent["Url"]
    assert sandbox.store.numbers(ACCOUNT) == ["+1" + first]
    assert response.headers["location"] == f"{NUMBERS}/{node.findtext('Sid')}"


async def test_a_number_the_client_names_is_bought_without_a_search(
    client: httpx.AsyncClient, upstream: CountingTransport
) -> None:
    """2010's PhoneNumber (declared beside the 2008 parameters) is what the client asked for, read
    like any number."""
    upstream.reset()
    response = await client.post(f"{NUMBERS}/Local", data={"PhoneNumber": "(415) 777-0103"})
    assert response.status_code == 201, response.text
    assert parse_xml(response.content)[0].findtext("PhoneNumber") == "4157770103"
    assert [r.method for r in upstream.requests] == ["POST"]
    assert dict(httpx.QueryParams(upstream.requests[0].content.decode()))["PhoneNumber"] == "+14157770103"


async def test_a_toll_free_number_bought_anywhere_is_toll_free(client: httpx.AsyncClient) -> None:
    bought = [await client.post(f"{NUMBERS}/TollFree", data={"AreaCode": ""}) for _ in range(7)]
    prefixes = {parse_xml(r.content)[0].findtext("PhoneNumber", "")[:3] for r in bought}
    assert prefixes <= {"800", "833", "844", "855", "866", "877", "888"} and len(prefixes) == 2


class Racing(CountingTransport):
    """The sandbox, with someone else buying each of the first ``races`` numbers the gateway is about
    to buy just before its purchase arrives."""

    def __init__(self, inner: httpx.AsyncBaseTransport, sandbox: Any, races: int) -> None:
        super().__init__(inner)
        self.sandbox, self.races = sandbox, races

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and self.races > 0:
            await request.aread()
            number = dict(parse_qsl(request.content.decode())).get("PhoneNumber")
            if number:
                self.races -= 1
                assert self.sandbox.inventory.take_number(number)
        return await super().handle_async_request(request)


@pytest.mark.parametrize(("races", "status"), [(1, 201), (4, 201), (5, 400)])
async def test_a_number_taken_meanwhile_moves_on_to_the_next(
    settings: Settings, sandbox_app: Any, sandbox: Any, races: int, status: int
) -> None:
    """Each purchase is one POST for one listed number; 21422 (taken since it was listed) moves on to
    the next listed; when every listed one went, 21452 as when there is none."""
    racing = Racing(httpx.ASGITransport(app=sandbox_app), sandbox, races)
    async with serving(create_app(settings, racing)) as client:
        response = await client.post(f"{NUMBERS}/Local", data={"Url": "http://example.com/"})
    assert response.status_code == status, response.text
    tried = [form["PhoneNumber"] for form in purchases(racing)]
    assert tried == [f"+1202777010{i}" for i in range(min(races + 1, 5))]
    assert racing.count("GET") == 1
    if status == 400:
        problem = parse_xml(response.content)[0]
        assert (problem.findtext("Code"), problem.findtext("Message")) == (
            "21452",
            "No local phone numbers are available",
        )
        assert sandbox.store.numbers(ACCOUNT) == []
    else:
        assert parse_xml(response.content)[0].findtext("PhoneNumber") == tried[-1][2:]


async def test_none_available_anywhere_is_21452_without_a_purchase(settings: Settings) -> None:
    empty = create_sandbox(SandboxConfig(accounts={ACCOUNT: TOKEN}, incoming_numbers=0, available_numbers=0))
    upstream = CountingTransport(httpx.ASGITransport(app=empty))
    async with serving(create_app(settings, upstream)) as client:
        response = await client.post(f"{NUMBERS}/TollFree")
    assert response.status_code == 400
    assert parse_xml(response.content)[0].findtext("Code") == "21452"
    assert [r.method for r in upstream.requests] == ["GET"]


async def test_a_failed_purchase_anywhere_is_answered_not_retried_nor_moved_on(settings: Settings) -> None:
    """Only the upstream's word that the number was taken moves on: a purchase that failed otherwise
    may have happened, so it is answered as it failed."""
    calls: list[str] = []
    listed = {"available_phone_numbers": [{"phone_number": f"+1415777010{i}"} for i in range(3)], "uri": "/"}

    def failing(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if request.method == "POST":
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json=listed)

    async with serving(create_app(settings.replace(retries=2), httpx.MockTransport(failing))) as client:
        bought = await client.post(f"{NUMBERS}/Local", data={"AreaCode": ""})
    assert bought.status_code == 502
    assert calls == ["GET", "POST"]


@pytest.mark.parametrize(
    "listed",
    [
        {},
        {"available_phone_numbers": "+14157770100"},
        {"available_phone_numbers": [{"phone_number": 4157770100}]},
    ],
)
async def test_a_search_answer_without_numbers_buys_nothing(
    settings: Settings, listed: dict[str, Any]
) -> None:
    calls: list[str] = []

    def answering(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(200, json=listed)

    async with serving(create_app(settings, httpx.MockTransport(answering))) as client:
        response = await client.post(f"{NUMBERS}/Local")
    assert response.status_code == 400 and parse_xml(response.content)[0].findtext("Code") == "21452"
    assert calls == ["GET"]


async def test_a_failed_purchase_is_never_retried(settings: Settings) -> None:
    """A purchase is not idempotent: a 503 (or a dropped connection) is answered, not retried."""
    calls: list[str] = []

    def failing(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if request.method == "POST":
            raise httpx.ConnectError("refused")
        return httpx.Response(503, json={"code": 20003, "message": "busy", "status": 503})

    app = create_app(settings.replace(retries=2), httpx.MockTransport(failing))
    async with serving(app) as client:
        bought = await client.post(f"{NUMBERS}/Local", data={"AreaCode": "415"})
        assert bought.status_code == 502
        assert calls == ["POST"]
        await client.get(NUMBERS)
        assert calls == ["POST", "GET", "GET", "GET"]  # a list is idempotent: retried


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", ""),
        ("PUT", ""),
        ("DELETE", ""),
        ("PUT", "/Local"),
        ("DELETE", "/Local"),
        ("PUT", "/TollFree"),
        ("DELETE", "/TollFree"),
    ],
)
async def test_not_supported_is_405(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, NUMBERS + path)
    assert response.status_code == 405
    assert parse_xml(response.content)[0].findtext("Code") == "20004"


@pytest.mark.parametrize("factory", ["Local", "TollFree"])
async def test_the_factories_have_no_instances(client: httpx.AsyncClient, factory: str) -> None:
    response = await client.get(f"{NUMBERS}/{factory}/PN{'0' * 32}")
    assert response.status_code == 404
    assert parse_xml(response.content)[0].findtext("Code") == "20404"


async def test_another_accounts_number_is_404(client: httpx.AsyncClient, sandbox: Any) -> None:
    theirs = sandbox.store.add_incoming(OTHER, "+14158675309", "Theirs")
    assert (await client.get(f"{NUMBERS}/{theirs.sid}")).status_code == 404
    assert (await client.get(f"/2008-08-01/Accounts/{OTHER}/IncomingPhoneNumbers")).status_code == 404
