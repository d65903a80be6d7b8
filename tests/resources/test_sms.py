"""SMS Messages (gateway/resources/sms.py) through the whole app, on the sandbox with a test clock."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from gateway.dialect.translate import translator
from gateway.edge.app import create_app
from gateway.resources.sms import SMS_MESSAGES
from gateway.sandbox import SandboxConfig
from gateway.settings import Settings
from tests.conftest import (
    ACCOUNT,
    OTHER,
    OTHER_TOKEN,
    OURS,
    PREFIX,
    TOKEN,
    Clock,
    CountingTransport,
    elements,
    golden,
    parse_xml,
    serving,
    shape,
    tags,
    verbatim_sources,
)

ORDER = [
    "Sid",
    "DateCreated",
    "DateUpdated",
    "DateSent",
    "AccountSid",
    "To",
    "From",
    "Body",
    "Status",
    "Flags",
]
UNREACHABLE = "+15005550009"


@pytest.fixture
def sandbox_config(clock: Clock) -> SandboxConfig:
    return SandboxConfig(accounts={ACCOUNT: TOKEN, OTHER: OTHER_TOKEN}, clock=clock, message_step=1.0)


@pytest.fixture
def messaging(sandbox_app: Any) -> Any:
    return sandbox_app.state.sandbox.messaging


def message_of(response: httpx.Response) -> dict[str, str]:
    assert response.status_code in (200, 201), response.text
    node = parse_xml(response.content)[0]
    assert node.tag == "SMSMessage"
    return dict(elements(node))


def sent_form(upstream: CountingTransport) -> dict[str, str]:
    (request,) = [r for r in upstream.requests if r.method == "POST"]
    return dict(parse_qsl(request.content.decode()))


async def send(client: httpx.AsyncClient, **form: str) -> dict[str, str]:
    data = {"From": "646-555-0000", "To": "(415) 867-5309", "Body": "Hi Jenny! Want to grab dinner?", **form}
    return message_of(await client.post(f"{PREFIX}/SMS/Messages", data=data))


@pytest.mark.parametrize(
    ("name", "page"),
    [("sms_message.xml", "sms.md"), ("sms_messages.xml", "sms.md"), ("sms_sent.xml", "sending-sms.md")],
)
def test_goldens_are_verbatim_copies_of_the_doc_pages(name: str, page: str) -> None:
    assert page in verbatim_sources(name)


async def test_sending_with_ten_digit_numbers_and_watching_the_status(
    client: httpx.AsyncClient, upstream: CountingTransport, clock: Clock
) -> None:
    sent = await send(client, From="6465550000", To="4158675309")
    assert tags(golden("sms_sent.xml")[0]) == ORDER == list(sent)
    assert (sent["To"], sent["From"], sent["Status"], sent["Flags"], sent["DateSent"]) == (
        "4158675309",
        "6465550000",
        "queued",
        "4",
        "",
    )
    form = sent_form(upstream)
    assert (form["From"], form["To"], form["Body"]) == (
        OURS,
        "+14158675309",
        "Hi Jenny! Want to grab dinner?",
    )
    assert upstream.requests[0].url.path == f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    seen = []
    for _ in range(3):
        seen.append(message_of(await client.get(f"{PREFIX}/SMS/Messages/{sent['Sid']}"))["Status"])
        clock.advance(1.0)
    assert seen == ["queued", "sending", "sent"]
    final = message_of(await client.get(f"{PREFIX}/SMS/Messages/{sent['Sid']}"))
    assert final["DateSent"].endswith(" +0000") and final["DateSent"] == final["DateUpdated"]


async def test_a_message_to_the_unreachable_number_fails(client: httpx.AsyncClient, clock: Clock) -> None:
    sent = await send(client, To=UNREACHABLE)
    clock.advance(5)
    assert message_of(await client.get(f"{PREFIX}/SMS/Messages/{sent['Sid']}"))["Status"] == "failed"


async def test_fetch_and_list_have_the_docs_shapes(
    client: httpx.AsyncClient, messaging: Any, clock: Clock
) -> None:
    first = messaging.add_message(
        ACCOUNT, "+14158675309", "+16505551212", "one", "outbound-reply", at=clock() - 90
    )
    messaging.add_message(ACCOUNT, "+16505551212", "+14158675309", "two", "inbound", at=clock() - 60)
    node = parse_xml((await client.get(f"{PREFIX}/SMS/Messages/{first.sid}")).content)[0]
    assert shape(node) == shape(golden("sms_message.xml")[0])
    values = dict(elements(node))
    assert (values["Flags"], values["Status"], values["Body"]) == ("2", "sent", "one")
    listing = parse_xml((await client.get(f"{PREFIX}/SMS/Messages")).content)[0]
    expected = golden("sms_messages.xml")[0]
    assert set(expected.attrib) <= set(listing.attrib)
    assert [shape(child) for child in listing] == [shape(child) for child in expected]
    assert [dict(elements(m))["Flags"] for m in listing] == ["1", "2"]  # newest first, as the docs say


async def test_long_and_non_gsm_bodies_pass_through_intact(client: httpx.AsyncClient, upstream: Any) -> None:
    body = "Grüße 👋 — 配達は明日です. " + "x" * 600 + " <&> end"
    sent = await send(client, Body=body)
    assert sent["Body"] == body
    assert sent_form(upstream)["Body"] == body
    fetched = await client.get(f"{PREFIX}/SMS/Messages/{sent['Sid']}.json")
    assert fetched.json()["TwilioResponse"]["SMSMessage"]["Body"] == body


async def test_a_short_code_is_a_valid_sender(client: httpx.AsyncClient, upstream: Any) -> None:
    sent = await send(client, From="67898")
    assert sent["From"] == "67898"
    assert sent_form(upstream)["From"] == "67898"


@pytest.mark.parametrize("missing", ["From", "To", "Body"])
async def test_missing_parameters_are_400_never_forwarded(
    client: httpx.AsyncClient, upstream: CountingTransport, missing: str
) -> None:
    data = {"From": "6465550000", "To": "4158675309", "Body": "hi"}
    del data[missing]
    response = await client.post(f"{PREFIX}/SMS/Messages", data=data)
    assert response.status_code == 400
    assert missing in parse_xml(response.content)[0].findtext("Message", "")
    assert upstream.count("POST") == 0


async def test_bad_numbers_are_400_never_forwarded(
    client: httpx.AsyncClient, upstream: CountingTransport
) -> None:
    response = await client.post(
        f"{PREFIX}/SMS/Messages", data={"From": "6465550000", "To": "555-1212", "Body": "x"}
    )
    assert (response.status_code, parse_xml(response.content)[0].findtext("Code")) == (400, "21401")
    assert upstream.count("POST") == 0


async def test_filters_take_numbers_in_any_form_and_date_inequalities(
    client: httpx.AsyncClient, upstream: CountingTransport, messaging: Any, clock: Clock
) -> None:
    day = 86400.0
    for age, to in ((3 * day, "+14158675309"), (2 * day, "+14158675309"), (1 * day, "+12125550100")):
        messaging.add_message(ACCOUNT, to, OURS, f"{age}", "outbound-api", at=clock() - age)
    clock.advance(5)

    async def listed(query: str) -> list[str]:
        node = parse_xml((await client.get(f"{PREFIX}/SMS/Messages?{query}")).content)[0]
        return [dict(elements(m))["Body"] for m in node]

    assert await listed("To=(415)%20867-5309") == [str(2 * day), str(3 * day)]
    assert await listed("From=1-646-555-0000&To=212.555.0100") == [str(day)]
    sent_days = sorted(
        {
            dict(elements(m))["DateSent"][5:16]
            for m in parse_xml((await client.get(f"{PREFIX}/SMS/Messages")).content)[0]
        }
    )
    assert len(sent_days) == 3
    from datetime import UTC, datetime

    middle = datetime.fromtimestamp(clock() - 2 * day, UTC).strftime("%Y-%m-%d")
    assert await listed(f"DateSent>={middle}") == [str(day), str(2 * day)]
    assert await listed(f"DateSent<={middle}") == [str(2 * day), str(3 * day)]
    assert await listed(f"DateSent={middle}") == [str(2 * day)]
    assert await listed(f"DateSent%3E%3D={middle}") == [str(day), str(2 * day)]
    queries = [dict(r.url.params) for r in upstream.requests if r.url.path.endswith("/Messages.json")]
    assert {"To": "+14158675309"}.items() <= queries[0].items()
    assert {"DateSent>": middle}.items() <= queries[3].items()
    assert {"DateSent<": middle}.items() <= queries[4].items()


async def test_a_filter_date_that_is_not_a_date_is_400(
    client: httpx.AsyncClient, upstream: CountingTransport
) -> None:
    response = await client.get(f"{PREFIX}/SMS/Messages?DateSent>=yesterday")
    assert response.status_code == 400
    assert upstream.count() == 0


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_an_instance_takes_only_get(client: httpx.AsyncClient, messaging: Any, method: str) -> None:
    message = messaging.add_message(ACCOUNT, "+14158675309", OURS, "x", "outbound-api")
    response = await client.request(method, f"{PREFIX}/SMS/Messages/{message.sid}")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


STATUSES = {
    "queued": "queued",
    "accepted": "queued",
    "scheduled": "queued",
    "sending": "sending",
    "receiving": "sending",
    "sent": "sent",
    "delivered": "sent",
    "read": "sent",
    "partially_delivered": "sent",
    "received": "sent",
    "failed": "failed",
    "undelivered": "failed",
    "canceled": "failed",
}


def test_every_2010_status_has_its_2008_status() -> None:
    import json

    from tests.conftest import SPECS

    spec = json.loads((SPECS / "twilio_api_v2010.legacy_surface.json").read_text())
    assert set(spec["components"]["schemas"]["message_enum_status"]["enum"]) == set(STATUSES)
    tr = translator(SMS_MESSAGES)
    for upstream, legacy in STATUSES.items():
        assert dict(tr.record({"status": upstream}, {}))["Status"] == legacy


@pytest.mark.parametrize(
    ("direction", "flags"),
    [("inbound", "1"), ("outbound-reply", "2"), ("outbound-api", "4"), ("outbound-call", "0")],
)
def test_flags_come_from_the_direction(direction: str, flags: str) -> None:
    assert dict(translator(SMS_MESSAGES).record({"direction": direction}, {}))["Flags"] == flags


def test_mms_era_fields_are_not_shown() -> None:
    item = {
        "sid": "SM" + "a" * 32,
        "body": "hi",
        "num_media": "2",
        "num_segments": "1",
        "messaging_service_sid": "MG" + "b" * 32,
        "price": "-0.0075",
        "subresource_uris": {"media": "/x"},
        "direction": "outbound-api",
    }
    assert [name for name, _ in translator(SMS_MESSAGES).record(item, {})] == ORDER


@pytest.mark.parametrize("escape", [False, True])
async def test_csv_formula_escape_is_a_setting(
    upstream: CountingTransport, settings: Settings, escape: bool
) -> None:
    """Off (the default), a body is written as sent, as 2008 did; on, a formula is defused."""
    app = create_app(settings.replace(csv_formula_escape=escape), upstream)
    async with serving(app) as client:
        await send(client, Body='=HYPERLINK("http://x.test","win")')
        body = (await client.get(f"{PREFIX}/SMS/Messages.csv")).text
    row = body.split("\r\n")[1]
    if escape:
        assert '"\'=HYPERLINK(""http://x.test"",""win"")"' in row and ',"6465550000",' in row
    else:
        assert ',"=HYPERLINK(""http://x.test"",""win"")",' in row
