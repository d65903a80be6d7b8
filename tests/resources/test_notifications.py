"""Notifications (gateway/resources/notifications.py): the account's log and a call's, the filters, one
entry's request and response, DELETE (the gateway's own: 2010 keeps the log read-only), and failed
webhooks that fill the log."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.edge.app import create_app
from gateway.sandbox import SandboxConfig
from gateway.settings import ClientCredential, Secret, Settings
from tests.conftest import (
    ACCOUNT,
    ANCIENT,
    LEGACY,
    OTHER,
    OTHER_TOKEN,
    OURS,
    PREFIX,
    TOKEN,
    UPSTREAM,
    Clock,
    CountingTransport,
    assert_partitioned_walk,
    call_upstream,
    dated_instants,
    elements,
    golden,
    parse_xml,
    serving,
    shape,
    tags,
)
from tests.servers import serve

DAY = 86400.0
EXTRA = ["RequestVariables", "ResponseHeaders", "ResponseBody"]


@pytest.fixture
def sandbox_config(clocked_config: SandboxConfig) -> SandboxConfig:
    return clocked_config


def logged(sandbox: Any, age: float, level: str = "0", call: bool = True) -> Any:
    voice = sandbox.voice
    made = (
        voice.new_call(ACCOUNT, "+14158675309", OURS, "inbound", at=voice.clock() - age - 60)
        if call
        else None
    )
    return sandbox.notifications.add(
        ACCOUNT,
        made.sid if made else None,
        11200,
        "HTTP retrieval failure",
        at=voice.clock() - age,
        level=level,
        request_url="http://example.com/twiml.xml",
        request_variables="CallSid=CA1&From=%2B14158675309",
        response_headers="Content-Type=text%2Fhtml",
        response_body="<html>500</html>",
    )


def test_the_golden_follows_the_property_table() -> None:
    names = json.loads((LEGACY / "notification-properties.json").read_text())
    assert tags(golden("notification.xml")[0]) == names


async def test_list_and_fetch_have_the_docs_shape(client: httpx.AsyncClient, sandbox: Any) -> None:
    entry = logged(sandbox, 100)
    expected = golden("notification.xml")[0]
    listing = parse_xml((await client.get(f"{PREFIX}/Notifications")).content)[0]
    assert listing.tag == "Notifications"
    assert [shape(child) for child in listing] == [shape(expected)]
    node = parse_xml((await client.get(f"{PREFIX}/Notifications/{entry.sid}")).content)[0]
    assert tags(node) == [*tags(expected), *EXTRA]
    values = dict(elements(node))
    assert (values["Log"], values["ErrorCode"], values["CallSid"]) == ("0", "11200", entry.call.sid)
    assert values["MoreInfo"] == "https://www.twilio.com/docs/errors/11200"
    assert values["RequestVariables"] == "CallSid=CA1&From=%2B14158675309"
    assert values["ResponseBody"] == "<html>500</html>"
    assert values["MessageDate"].endswith(" +0000")


async def test_log_and_message_date_filters(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport, clock: Clock
) -> None:
    made = [logged(sandbox, (3 - i) * DAY, level=str(i % 2), call=i != 1) for i in range(3)]
    middle = datetime.fromtimestamp(made[1].created, UTC).strftime("%Y-%m-%d")

    async def listed(query: str) -> list[str]:
        node = parse_xml((await client.get(f"{PREFIX}/Notifications?{query}")).content)[0]
        return [dict(elements(n))["Sid"] for n in node]

    assert await listed("") == [made[2].sid, made[1].sid, made[0].sid]
    assert await listed("Log=0") == [made[2].sid, made[0].sid]
    assert await listed("Log=1") == [made[1].sid]
    assert await listed(f"MessageDate>={middle}") == [made[2].sid, made[1].sid]
    assert await listed(f"MessageDate<={middle}") == [made[1].sid, made[0].sid]
    assert await listed(f"MessageDate={middle}&Log=1") == [made[1].sid]
    upstream.reset()
    bad = await client.get(f"{PREFIX}/Notifications?Log=2")
    assert bad.status_code == 400 and upstream.count() == 0


async def test_a_calls_notifications(client: httpx.AsyncClient, sandbox: Any) -> None:
    entry = logged(sandbox, 50)
    logged(sandbox, 40)
    listing = parse_xml((await client.get(f"{PREFIX}/Calls/{entry.call.sid}/Notifications")).content)[0]
    assert [dict(elements(n))["Sid"] for n in listing] == [entry.sid]
    one = parse_xml((await client.get(f"{PREFIX}/Calls/{entry.call.sid}/Notifications/{entry.sid}")).content)[
        0
    ]
    assert tags(one)[-3:] == EXTRA


def listed(response: httpx.Response) -> tuple[dict[str, str], list[str]]:
    """A list answer's paging attributes and Sids."""
    assert response.status_code == 200, response.text
    node = parse_xml(response.content)[0]
    return dict(node.attrib), [dict(elements(n))["Sid"] for n in node]


async def test_delete_is_204_then_the_entry_is_404_and_on_no_list(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport
) -> None:
    """The complete Notifications page: DELETE answers 204 with no body. 2010 keeps the log read-only, so the
    entry is hidden by the gateway: 404 as an instance (the call's too), gone from the account's list
    and the call's, with exact totals; the upstream still has it and was asked no DELETE."""
    entries = [logged(sandbox, 100 + i) for i in range(5)]
    gone, call = entries[1], entries[1].call
    upstream.reset()
    response = await client.delete(f"{PREFIX}/Notifications/{gone.sid}")
    assert (response.status_code, response.content) == (204, b"")
    assert upstream.count("DELETE") == 0 and upstream.count("GET", f"/Notifications/{gone.sid}.json") == 1
    for path in (f"/Notifications/{gone.sid}", f"/Calls/{call.sid}/Notifications/{gone.sid}"):
        missing = await client.get(PREFIX + path)
        assert missing.status_code == 404
        assert parse_xml(missing.content)[0].findtext("Message") == (
            f"The requested resource {PREFIX}{path} was not found"
        )
    attrs, sids = listed(await client.get(f"{PREFIX}/Notifications?num=2"))
    assert (attrs["total"], attrs["numpages"], sids) == ("4", "2", [entries[0].sid, entries[2].sid])
    attrs, sids = listed(await client.get(f"{PREFIX}/Notifications?num=2&page=1"))
    assert sids == [entries[3].sid, entries[4].sid] and attrs["end"] == "3"
    attrs, sids = listed(await client.get(f"{PREFIX}/Calls/{call.sid}/Notifications"))
    assert (attrs["total"], sids) == ("0", [])
    csv = (await client.get(f"{PREFIX}/Notifications.csv")).text
    assert gone.sid not in csv and entries[0].sid in csv
    upstream_list = await sandbox_list(upstream)
    assert gone.sid in upstream_list  # the upstream keeps it: the deletion is the gateway's


async def sandbox_list(upstream: CountingTransport) -> str:
    async with httpx.AsyncClient(transport=upstream, base_url="http://sandbox.test") as api:
        response = await api.get(f"/2010-04-01/Accounts/{ACCOUNT}/Notifications.json", auth=(ACCOUNT, TOKEN))
    return response.text


async def test_delete_by_method_override_and_on_the_calls_log(
    client: httpx.AsyncClient, sandbox: Any
) -> None:
    """calls.md sends a call's Notifications to the Notifications section: its entries are the same,
    so a DELETE there hides the entry from the account's log too."""
    first, second = logged(sandbox, 20), logged(sandbox, 10)
    assert (await client.post(f"{PREFIX}/Notifications/{first.sid}?_method=DELETE")).status_code == 204
    on_call = await client.delete(f"{PREFIX}/Calls/{second.call.sid}/Notifications/{second.sid}")
    assert on_call.status_code == 204
    attrs, sids = listed(await client.get(f"{PREFIX}/Notifications"))
    assert (attrs["total"], sids) == ("0", [])
    assert (await client.get(f"{PREFIX}/Notifications/{second.sid}")).status_code == 404


async def test_deleting_what_is_not_there_is_404(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport
) -> None:
    entry = logged(sandbox, 10)
    theirs = sandbox.notifications.add(OTHER, None, 11200, "HTTP retrieval failure", at=sandbox.voice.clock())
    for sid in (f"NO{'0' * 32}", theirs.sid):
        assert (await client.delete(f"{PREFIX}/Notifications/{sid}")).status_code == 404
    assert (
        await client.delete(f"{PREFIX}/Calls/{entry.call.sid}/Notifications/{theirs.sid}")
    ).status_code == 404
    assert (await client.delete(f"{PREFIX}/Notifications/{entry.sid}")).status_code == 204
    assert (await client.delete(f"{PREFIX}/Notifications/{entry.sid}")).status_code == 404  # once
    upstream.reset()
    assert (await client.delete(f"{PREFIX}/Notifications/NO123")).status_code == 404
    assert upstream.count() == 0
    other = dict(
        elements(
            parse_xml(
                (
                    await client.get(f"/2008-08-01/Accounts/{OTHER}/Notifications", auth=(OTHER, OTHER_TOKEN))
                ).content
            )[0][0]
        )
    )
    assert other["Sid"] == theirs.sid  # the other account's log is untouched
    assert (await client.delete(f"{PREFIX}/Notifications")).status_code == 405  # the list: as the page says


async def test_a_view_counted_before_a_deletion_is_not_served_after_it(
    client: httpx.AsyncClient, sandbox: Any
) -> None:
    """A client paging by nextpageuri (with its view id) after deleting entries it has read sees
    the list without them, and totals that add up."""
    entries = [logged(sandbox, 10 + i) for i in range(7)]
    attrs, sids = listed(await client.get(f"{PREFIX}/Notifications?num=3"))
    assert (attrs["total"], sids) == ("7", [e.sid for e in entries[:3]])
    for sid in sids:
        assert (await client.delete(f"{PREFIX}/Notifications/{sid}")).status_code == 204
    attrs, sids = listed(await client.get(attrs["nextpageuri"]))
    assert (attrs["total"], attrs["numpages"], attrs["start"]) == ("4", "2", "3")
    assert sids == [entries[6].sid]  # page 1 of the list as it is now
    attrs, sids = listed(await client.get(attrs["firstpageuri"]))
    assert sids == [e.sid for e in entries[3:6]]


async def test_a_deletion_is_kept_as_long_as_the_setting_says(
    settings: Settings, upstream: CountingTransport, sandbox: Any
) -> None:
    entry = logged(sandbox, 10)
    app = create_app(settings.replace(deleted_notification_days=2), upstream)
    async with serving(app) as client:
        hidden = app.gateway_app.gateway.hidden
        assert hidden.ttl == 2 * DAY
        start = hidden.clock()
        hidden.clock = lambda: start
        assert (await client.delete(f"{PREFIX}/Notifications/{entry.sid}")).status_code == 204
        hidden.clock = lambda: start + 2 * DAY - 1
        assert (await client.get(f"{PREFIX}/Notifications/{entry.sid}")).status_code == 404
        hidden.clock = lambda: start + 2 * DAY + 1
        assert (await client.get(f"{PREFIX}/Notifications/{entry.sid}")).status_code == 200
    assert Settings.load({"GATEWAY_DELETED_NOTIFICATION_DAYS": "31"}).deleted_notification_days == 31
    assert Settings().deleted_notification_days == 400


CLIENT = ("AC" + "c" * 32, "c" * 32)


def sidecar(*accounts: str) -> Settings:
    """Sidecar mode on the account's credentials, for a client bound to ``accounts``."""
    return Settings(
        upstream=UPSTREAM,
        trunking_upstream=UPSTREAM,
        upstream_account_sid=ACCOUNT,
        upstream_auth_token=Secret(TOKEN),
        client_credentials=(ClientCredential(CLIENT[0], Secret(CLIENT[1]), accounts),),
    )


async def test_in_sidecar_mode_a_client_deletes_only_its_accounts_entries(
    upstream: CountingTransport, sandbox: Any
) -> None:
    ours = logged(sandbox, 10)
    async with serving(create_app(sidecar(OTHER), upstream), auth=CLIENT) as client:
        for account in (ACCOUNT, OTHER):
            path = f"/2008-08-01/Accounts/{account}/Notifications/{ours.sid}"
            assert (await client.delete(path)).status_code == 404
    async with serving(create_app(sidecar(ACCOUNT), upstream), auth=CLIENT) as client:
        assert (await client.get(f"{PREFIX}/Notifications/{ours.sid}")).status_code == 200
        assert (await client.delete(f"{PREFIX}/Notifications/{ours.sid}")).status_code == 204
        assert (await client.get(f"{PREFIX}/Notifications/{ours.sid}")).status_code == 404


async def test_an_entry_the_upstream_says_is_another_accounts_is_not_deleted() -> None:
    """Whatever the upstream answers, a deletion is only ever kept for the account that owns the entry
    (the path's): an entry of another account is 404 and stays visible to that account."""
    sid = "NO" + "1" * 32

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"sid": sid, "account_sid": OTHER, "log": "0"})

    settings = Settings(upstream=UPSTREAM, trunking_upstream=UPSTREAM, retry_backoff=0.0)
    app = create_app(settings, httpx.MockTransport(answer))
    async with serving(app) as client:
        assert (await client.delete(f"{PREFIX}/Notifications/{sid}")).status_code == 404
        hidden = app.gateway_app.gateway.hidden
        assert not await hidden.hidden(ACCOUNT, sid) and not await hidden.hidden(OTHER, sid)


async def test_a_partitioned_count_leaves_deleted_entries_out_exactly(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport, clock: Clock
) -> None:
    """Deleted entries in a crowded second, on day edges and before 2008: the count in date ranges
    and the walk both leave them out, so the total and the page count add up."""
    for at in dated_instants(clock(), crowd=1100, spread=600):
        sandbox.notifications.add(ACCOUNT, None, 11200, "HTTP retrieval failure", at=at)
    everything = [item.sid for item in sandbox.notifications.sync(ACCOUNT).values()]
    deleted = everything[::97] + everything[-3:]
    for sid in deleted:
        assert (await client.delete(f"{PREFIX}/Notifications/{sid}")).status_code == 204
    expected = [sid for sid in everything if sid not in set(deleted)]
    await assert_partitioned_walk(client, upstream, f"{PREFIX}/Notifications", "MessageDate", expected)


async def _settle(sandbox: Any) -> None:
    while sandbox.callbacks.tasks:
        await asyncio.gather(*list(sandbox.callbacks.tasks))


async def test_a_failed_status_callback_leaves_a_notification(
    client: httpx.AsyncClient, sandbox: Any, clock: Clock
) -> None:
    async def broken(request: Request) -> PlainTextResponse:
        return PlainTextResponse("it broke", status_code=500)

    with serve(Starlette(routes=[Route("/status", broken, methods=["POST"])]), lifespan="off") as app:
        data = {"From": "6465550000", "To": "4158675309", "Body": "hi", "StatusCallback": f"{app}/status"}
        sent = dict(elements(parse_xml((await client.post(f"{PREFIX}/SMS/Messages", data=data)).content)[0]))
        clock.advance(5)
        await client.get(f"{PREFIX}/SMS/Messages/{sent['Sid']}")
        await _settle(sandbox)
    ((url, _, params),) = sandbox.callbacks.sent
    assert (url, params["SmsSid"], params["SmsStatus"]) == (f"{app}/status", sent["Sid"], "sent")
    (node,) = parse_xml((await client.get(f"{PREFIX}/Notifications")).content)[0]
    values = dict(elements(node))
    assert (values["Log"], values["ErrorCode"], values["CallSid"]) == ("0", "11200", "")
    assert values["RequestURL"] == f"{app}/status" and "500" in values["MessageText"]
    one = dict(elements(parse_xml((await client.get(f"{PREFIX}/Notifications/{values['Sid']}")).content)[0]))
    assert one["ResponseBody"] == "it broke" and f"SmsSid={sent['Sid']}" in one["RequestVariables"]


async def test_an_unreachable_recording_callback_leaves_a_notification_on_the_call(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport, clock: Clock
) -> None:
    data = {
        "From": "+16465550000",
        "To": "+14158675309",
        "Url": "http://app.example/",
        "Record": "true",
        "RecordingStatusCallback": "http://127.0.0.1:9/recorded",
    }
    sid = (await call_upstream(upstream, data))["sid"]  # 2008 has no Record: the gateway drops it
    clock.advance(60)
    await client.get(f"{PREFIX}/Recordings")
    await _settle(sandbox)
    (node,) = parse_xml((await client.get(f"{PREFIX}/Calls/{sid}/Notifications")).content)[0]
    values = dict(elements(node))
    assert (values["CallSid"], values["RequestURL"]) == (sid, "http://127.0.0.1:9/recorded")


async def test_the_date_partitioned_count_is_exact_and_in_the_upstreams_order(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport, clock: Clock
) -> None:
    voice = sandbox.voice
    call = voice.new_call(ACCOUNT, "+14158675309", OURS, "inbound", at=ANCIENT - 60)
    for index, at in enumerate(dated_instants(clock())):
        on_call = call.sid if index % 3 == 0 else None  # the account's own log and a call's, merged
        sandbox.notifications.add(ACCOUNT, on_call, 11200, "HTTP retrieval failure", at=at)
    expected = [item.sid for item in sandbox.notifications.sync(ACCOUNT).values()]
    await assert_partitioned_walk(client, upstream, f"{PREFIX}/Notifications", "MessageDate", expected)
