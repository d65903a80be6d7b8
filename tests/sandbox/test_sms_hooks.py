"""Messages and applications: an incoming SMS delivered to its number's SmsUrl and the reply it runs,
the fallback, and the status callbacks of messages sent through the API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from gateway.sandbox import SandboxConfig, Simulation, create_sandbox
from tests.conftest import ACCOUNT, OURS, TOKEN, Clock
from tests.sandbox.twiml_app import BASE, TwimlApp, app_config, configure, twiml
from tests.servers import serve

MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT}/Messages"
SENDER = "+14155550123"


@pytest.fixture
def sandbox_config(clock: Clock, app: TwimlApp, simulation: Simulation) -> SandboxConfig:
    return app_config(clock, app, simulation=simulation)


async def text(api: httpx.AsyncClient, body: str = "Hello", to: str = OURS) -> dict[str, Any]:
    response = await api.post("/sandbox/Messages", data={"From": SENDER, "To": to, "Body": body})
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def log_of(api: httpx.AsyncClient, sid: str) -> list[dict[str, Any]]:
    response = await api.get(f"/sandbox/Messages/{sid}/Log")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


async def replies(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    listing = (await api.get(f"{MESSAGES}.json")).json()["messages"]
    return [m for m in reversed(listing) if m["direction"] == "outbound-reply"]


async def test_an_incoming_sms_is_delivered_and_its_reply_sent(
    api: httpx.AsyncClient, app: TwimlApp, clock: Clock
) -> None:
    await configure(api, SmsUrl=f"{BASE}/sms/in", SmsMethod="POST")
    app.answer("/sms/in", twiml('<Message statusCallback="status">Hi back</Message>'))
    made = await text(api, "Hello there")
    assert (made["direction"], made["status"]) == ("inbound", "receiving")
    (delivered,) = await log_of(api, made["sid"])
    assert (delivered["kind"], delivered["status_code"]) == ("sms", 200)
    params = app.one("/sms/in")
    assert params == {
        **params,
        "MessageSid": made["sid"],
        "SmsSid": made["sid"],
        "SmsMessageSid": made["sid"],
        "AccountSid": ACCOUNT,
        "From": SENDER,
        "To": OURS,
        "Body": "Hello there",
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
        "FromCity": "SAN FRANCISCO",
        "ToState": "NY",
    }
    (reply,) = await replies(api)
    assert (reply["to"], reply["from"], reply["body"], reply["status"]) == (SENDER, OURS, "Hi back", "queued")
    clock.advance(5)
    (callback,) = await log_of(api, reply["sid"])
    assert (callback["kind"], callback["url"]) == ("status-callback", f"{BASE}/sms/status")
    status = app.one("/sms/status")
    assert (status["MessageSid"], status["MessageStatus"], status["SmsStatus"]) == (
        reply["sid"],
        "sent",
        "sent",
    )
    incoming = (await api.get(f"{MESSAGES}/{made['sid']}.json")).json()
    assert incoming["status"] == "received"


async def test_a_message_action_runs_its_answer_and_redirect_follows(
    api: httpx.AsyncClient, app: TwimlApp, clock: Clock
) -> None:
    await configure(api, SmsUrl=f"{BASE}/in")
    app.answer("/in", twiml('<Sms action="/after" method="GET">One</Sms>', "<Message>never sent</Message>"))
    app.answer("/after", twiml("<Redirect>/last</Redirect>"))
    app.answer("/last", twiml('<Message to="+14155550999"><Body>Two</Body></Message>'))
    made = await text(api)
    log = await log_of(api, made["sid"])
    assert [(e["kind"], e["method"]) for e in log] == [
        ("sms", "POST"),
        ("action", "GET"),
        ("redirect", "POST"),
    ]
    one, two = await replies(api)
    assert (one["body"], one["to"], two["body"], two["to"]) == ("One", SENDER, "Two", "+14155550999")
    after = app.one("/after")
    assert (after["MessageSid"], after["MessageStatus"], after["To"]) == (one["sid"], "queued", SENDER)


async def test_plain_text_is_the_reply_and_an_empty_answer_none(
    api: httpx.AsyncClient, app: TwimlApp, clock: Clock
) -> None:
    await configure(api, SmsUrl=f"{BASE}/in")
    app.answer("/in", "Plain reply", content_type="text/plain")
    await log_of(api, (await text(api))["sid"])
    app.answer("/in", "", status=204)
    await log_of(api, (await text(api))["sid"])
    assert [r["body"] for r in await replies(api)] == ["Plain reply"]


async def test_a_failed_delivery_leaves_a_notification_and_the_fallback_answers(
    api: httpx.AsyncClient, app: TwimlApp, clock: Clock
) -> None:
    await configure(api, SmsUrl=f"{BASE}/in", SmsFallbackUrl=f"{BASE}/fallback", SmsFallbackMethod="GET")
    app.answer("/in", "<Response><Message>", status=200)
    app.answer("/fallback", twiml("<Message>Sorry</Message>"))
    made = await text(api)
    log = await log_of(api, made["sid"])
    assert [e["kind"] for e in log] == ["sms", "fallback"]
    fallback = app.one("/fallback")
    assert (fallback["ErrorCode"], fallback["ErrorUrl"], fallback["MessageSid"]) == (
        "12100",
        f"{BASE}/in",
        made["sid"],
    )
    assert [r["body"] for r in await replies(api)] == ["Sorry"]
    (note,) = (await api.get(f"/2010-04-01/Accounts/{ACCOUNT}/Notifications.json")).json()["notifications"]
    assert (note["error_code"], note["call_sid"]) == ("12100", None)


async def test_a_bad_message_verb_is_reported_and_skipped(
    api: httpx.AsyncClient, app: TwimlApp, clock: Clock
) -> None:
    await configure(api, SmsUrl=f"{BASE}/in")
    app.answer("/in", twiml('<Message from="+14155550000">stolen</Message>', "<Message>fine</Message>"))
    await log_of(api, (await text(api))["sid"])
    assert [r["body"] for r in await replies(api)] == ["fine"]
    (note,) = (await api.get(f"/2010-04-01/Accounts/{ACCOUNT}/Notifications.json")).json()["notifications"]
    assert note["error_code"] == "14102"


async def test_a_short_code_receives_too(api: httpx.AsyncClient, app: TwimlApp, clock: Clock) -> None:
    codes = f"/2010-04-01/Accounts/{ACCOUNT}/SMS/ShortCodes"
    (code, _) = (await api.get(f"{codes}.json")).json()["short_codes"]
    await api.post(f"{codes}/{code['sid']}.json", data={"SmsUrl": f"{BASE}/code", "SmsMethod": "GET"})
    made = await text(api, to=code["short_code"])
    await log_of(api, made["sid"])
    (seen,) = app.at("/code")
    assert seen.method == "GET" and seen.signed and seen.params["To"] == code["short_code"]


async def send(api: httpx.AsyncClient, to: str = "+14155550100") -> dict[str, Any]:
    data = {"To": to, "From": OURS, "Body": "Hi", "StatusCallback": f"{BASE}/status"}
    response = await api.post(f"{MESSAGES}.json", data=data)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def test_a_sent_message_posts_its_status_callback_once_at_the_end_as_2010_did(
    api: httpx.AsyncClient, app: TwimlApp, clock: Clock
) -> None:
    made = await send(api)
    clock.advance(1)
    assert await log_of(api, made["sid"]) == []
    clock.advance(1)
    (entry,) = await log_of(api, made["sid"])
    assert entry["params"]["MessageStatus"] == "sent"
    failed = await send(api, "+15005550009")
    clock.advance(5)
    await log_of(api, failed["sid"])
    assert [(s.params["SmsStatus"], s.params.get("ErrorCode")) for s in app.at("/status")] == [
        ("sent", None),
        ("failed", "30003"),
    ]


@pytest.mark.parametrize(
    "simulation",
    [
        Simulation(
            message_callbacks=frozenset({"queued", "sending", "sent", "delivered"}), delivery_receipts=True
        )
    ],
)
async def test_every_status_on_the_way_when_asked_for(
    api: httpx.AsyncClient, app: TwimlApp, clock: Clock
) -> None:
    made = await send(api)
    for _ in range(4):
        await log_of(api, made["sid"])
        clock.advance(1)
    assert [s.params["MessageStatus"] for s in app.at("/status")] == [
        "queued",
        "sending",
        "sent",
        "delivered",
    ]
    assert all(s.signed for s in app.at("/status"))
    assert (await api.get(f"{MESSAGES}/{made['sid']}.json")).json()["status"] == "delivered"


@pytest.mark.parametrize("simulation", [Simulation(callback_repeats=2)])
async def test_a_message_status_callback_sent_twice(
    api: httpx.AsyncClient, app: TwimlApp, clock: Clock
) -> None:
    made = await send(api)
    clock.advance(5)
    assert len(await log_of(api, made["sid"])) == 2
    first, again = app.at("/status")
    assert first.params == again.params
    token = "i-twilio-idempotency-token"
    assert first.headers[token] == again.headers[token]


async def test_an_incoming_sms_end_to_end_on_loopback() -> None:
    app = TwimlApp()
    app.answer("/in", twiml('<Message statusCallback="/status">Got it</Message>'))
    config = SandboxConfig(accounts={ACCOUNT: TOKEN}, message_step=0.05, clock=time.time)
    sandbox_app = create_sandbox(config)
    with serve(app.app, lifespan="off") as base:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sandbox_app),
            base_url="http://sandbox.test",
            auth=(ACCOUNT, TOKEN),
        ) as api:
            await configure(api, SmsUrl=f"{base}/in")
            made = await text(api, "ping")
            await log_of(api, made["sid"])
            (reply,) = await replies(api)
            for _ in range(100):
                if app.at("/status"):
                    break
                await log_of(api, reply["sid"])
                await asyncio.sleep(0.01)
            assert app.one("/in")["Body"] == "ping" and app.one("/status")["SmsSid"] == reply["sid"]
