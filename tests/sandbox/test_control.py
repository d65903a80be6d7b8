"""The control endpoints: an inbound call to one of the account's numbers (its VoiceUrl, fallback and
status callback), digits for a call, and the log of what the sandbox requested; one run end to end
against an application on loopback, on the real clock."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from gateway.sandbox import SandboxConfig, create_sandbox
from tests.conftest import ACCOUNT, LENGTH, OTHER, OTHER_TOKEN, OURS, STEP, TOKEN, Clock
from tests.sandbox.test_conformance import is_error
from tests.sandbox.twiml_app import BASE, TwimlApp, app_config, configure, twiml
from tests.servers import serve

CALLS = f"/2010-04-01/Accounts/{ACCOUNT}/Calls"
CALLER = "+12065550123"


@pytest.fixture
def sandbox_config(clock: Clock, app: TwimlApp) -> SandboxConfig:
    return app_config(clock, app, call_step=STEP, call_length=LENGTH)


async def ring(api: httpx.AsyncClient, **extra: str) -> dict[str, Any]:
    response = await api.post("/sandbox/Calls", data={"From": CALLER, "To": OURS, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_inbound_call_requests_the_numbers_voice_url_as_it_rings(
    api: httpx.AsyncClient, app: TwimlApp, clock: Clock
) -> None:
    await configure(
        api,
        VoiceUrl=f"{BASE}/incoming",
        VoiceMethod="GET",
        StatusCallback=f"{BASE}/status",
        StatusCallbackMethod="POST",
    )
    app.answer("/incoming", twiml('<Gather action="/menu" timeout="2"><Say>Press one</Say></Gather>'))
    app.answer("/menu", twiml("<Say>Goodbye</Say>"))
    made = await ring(api, Digits="1#")
    assert (made["direction"], made["from"], made["to"], made["status"]) == (
        "inbound",
        CALLER,
        OURS,
        "ringing",
    )
    log = await api.get(f"/sandbox/Calls/{made['sid']}/Log")
    assert log.headers["x-sandbox-run"] == "waiting"
    (first,) = log.json()
    assert (first["kind"], first["method"], first["status_code"], first["url"]) == (
        "voice",
        "GET",
        200,
        f"{BASE}/incoming",
    )
    assert first["params"]["CallStatus"] == "ringing" and "<Gather" in first["twiml"]
    params = app.one("/incoming")
    assert (params["Direction"], params["From"], params["To"], params["FromCity"], params["ToState"]) == (
        "inbound",
        CALLER,
        OURS,
        "SEATTLE",
        "NY",
    )
    clock.advance(300)
    finished = await api.get(f"/sandbox/Calls/{made['sid']}/Log", params={"Wait": "finished"})
    assert finished.headers["x-sandbox-run"] == "finished"
    assert [entry["kind"] for entry in finished.json()] == ["voice", "action", "status-callback"]
    assert app.one("/menu")["Digits"] == "1"
    assert app.one("/status")["CallStatus"] == "completed"
    call = (await api.get(f"{CALLS}/{made['sid']}.json")).json()
    # rang one step, then: "Press one" 1 s, two presses, "Goodbye" 1 s
    assert (call["status"], call["direction"], call["duration"]) == (
        "completed",
        "inbound",
        str(int(STEP) + 4),
    )


async def test_an_inbound_call_falls_back_to_the_numbers_voice_fallback_url(
    api: httpx.AsyncClient, app: TwimlApp, clock: Clock
) -> None:
    await configure(api, VoiceUrl=f"{BASE}/broken", VoiceFallbackUrl=f"{BASE}/fallback")
    app.answer("/broken", "oops", status=503, content_type="text/plain")
    app.answer("/fallback", twiml("<Pause length='5'/>"))
    made = await ring(api)
    clock.advance(300)
    log = (await api.get(f"/sandbox/Calls/{made['sid']}/Log", params={"Wait": "finished"})).json()
    assert [(e["kind"], e["status_code"]) for e in log] == [("voice", 503), ("fallback", 200)]
    fallback = app.one("/fallback")
    assert (fallback["ErrorCode"], fallback["ErrorUrl"], fallback["CallStatus"]) == (
        "11200",
        f"{BASE}/broken",
        "ringing",
    )
    call = (await api.get(f"{CALLS}/{made['sid']}.json")).json()
    assert call["duration"] == str(int(STEP) + 5)  # rang, then paused


async def test_a_number_without_a_voice_url_is_called_and_requests_nothing(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    made = await ring(api)
    clock.advance(300)
    response = await api.get(f"/sandbox/Calls/{made['sid']}/Log")
    assert (response.json(), response.headers["x-sandbox-run"]) == ([], "none")
    call = (await api.get(f"{CALLS}/{made['sid']}.json")).json()
    assert (call["status"], call["duration"]) == ("completed", str(int(STEP + LENGTH)))
    assert app.seen == []


async def test_control_endpoints_refuse_what_they_cannot_do(api: httpx.AsyncClient) -> None:
    is_error(await api.post("/sandbox/Calls", data={"From": CALLER, "To": "+14155550199"}), 404, 20404)
    is_error(await api.post("/sandbox/Calls", data={"From": "12", "To": OURS}), 400, 21212)
    is_error(await api.post("/sandbox/Calls", data={"To": OURS}), 400, 21604)
    is_error(await api.post("/sandbox/Calls", data={"From": CALLER, "To": OURS, "Digits": "12a"}), 400, 20001)
    made = await ring(api)
    digits = f"/sandbox/Calls/{made['sid']}/Digits"
    is_error(await api.post(digits, data={}), 400, 21604)
    is_error(await api.post(digits, data={"Digits": "1;2"}), 400, 20001)
    is_error(await api.get(f"/sandbox/Calls/{made['sid']}/Log", params={"Timeout": "99"}), 400, 20001)
    is_error(await api.get(f"/sandbox/Calls/CA{'0' * 32}/Log"), 404, 20404)
    is_error(await api.get("/sandbox/Calls/nonsense/Log"), 404, 20404)
    is_error(await api.post("/sandbox/Messages", data={"From": CALLER, "To": OURS}), 400, 21602)
    is_error(
        await api.post("/sandbox/Messages", data={"From": CALLER, "To": "+14155550199", "Body": "x"}),
        404,
        20404,
    )
    anonymous = httpx.AsyncClient(transport=api._transport, base_url="http://sandbox.test")
    async with anonymous:
        is_error(await anonymous.post("/sandbox/Calls", data={"From": CALLER, "To": OURS}), 401, 20003)
    other = httpx.AsyncClient(
        transport=api._transport, base_url="http://sandbox.test", auth=(OTHER, OTHER_TOKEN)
    )
    async with other:
        is_error(await other.get(f"/sandbox/Calls/{made['sid']}/Log"), 404, 20404)
        is_error(await other.post(f"/sandbox/Calls/{made['sid']}/Digits", data={"Digits": "1"}), 404, 20404)


async def test_end_to_end_on_loopback_with_the_real_clock() -> None:
    """The sandbox on the real clock, the application on a real socket: a call made through the API
    runs to its end, and the control endpoint's log waits for it."""
    app = TwimlApp()
    app.answer("/voice", twiml('<Gather action="/g" numDigits="1"><Say>hi</Say></Gather>'))
    app.answer("/g", twiml("<Hangup/>"))
    config = SandboxConfig(accounts={ACCOUNT: TOKEN}, call_step=0.05, call_length=30, clock=time.time)
    sandbox_app = create_sandbox(config)
    with serve(app.app, lifespan="off") as base:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sandbox_app),
            base_url="http://sandbox.test",
            auth=(ACCOUNT, TOKEN),
        ) as api:
            made = (
                await api.post(
                    f"{CALLS}.json",
                    data={
                        "To": "+14155551212",
                        "From": OURS,
                        "Url": f"{base}/voice",
                        "StatusCallback": f"{base}/s",
                    },
                )
            ).json()
            await api.post(f"/sandbox/Calls/{made['sid']}/Digits", data={"Digits": "9"})
            response = await api.get(
                f"/sandbox/Calls/{made['sid']}/Log", params={"Wait": "finished", "Timeout": "20"}
            )
            assert response.headers["x-sandbox-run"] == "finished"
            log = response.json()
            assert [(e["kind"], e["status_code"]) for e in log] == [
                ("voice", 200),
                ("action", 200),
                ("status-callback", 200),
            ]
            assert app.one("/g")["Digits"] == "9" and app.one("/s")["CallStatus"] == "completed"
            assert app.one("/voice")["CallSid"] == made["sid"]
            call = (await api.get(f"{CALLS}/{made['sid']}.json")).json()
            assert call["status"] == "completed"
            assert int(call["duration"]) in (2, 3)  # 2.1 s from ringing to the end, in whole seconds shown


async def test_a_validation_requests_status_callback_is_signed_too(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp
) -> None:
    data = {"PhoneNumber": "+14155550142", "StatusCallback": f"{BASE}/verified"}
    response = await api.post(f"/2010-04-01/Accounts/{ACCOUNT}/OutgoingCallerIds.json", data=data)
    assert response.status_code == 200, response.text
    await sandbox.sms.settle()
    verified = app.one("/verified")
    assert (verified["VerificationStatus"], verified["CallSid"]) == ("success", response.json()["call_sid"])
