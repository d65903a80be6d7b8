"""Notifications (gateway/resources/notifications.py): the account's log and a call's, the filters, one
entry's request and response, DELETE (gone in 2010), and failed webhooks that fill the log."""

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

from gateway.sandbox import SandboxConfig
from tests.conftest import (
    ACCOUNT,
    ANCIENT,
    LEGACY,
    OURS,
    PREFIX,
    Clock,
    CountingTransport,
    assert_partitioned_walk,
    call_upstream,
    dated_instants,
    elements,
    golden,
    parse_xml,
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


async def test_delete_is_405_and_says_why(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport
) -> None:
    entry = logged(sandbox, 10)
    upstream.reset()
    for response in (
        await client.delete(f"{PREFIX}/Notifications/{entry.sid}"),
        await client.post(f"{PREFIX}/Notifications/{entry.sid}?_method=DELETE"),
    ):
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD"
        message = parse_xml(response.content)[0].findtext("Message", "")
        assert "no longer be deleted" in message and "2010-04-01" in message
    assert upstream.count() == 0
    assert (await client.get(f"{PREFIX}/Notifications/{entry.sid}")).status_code == 200


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
