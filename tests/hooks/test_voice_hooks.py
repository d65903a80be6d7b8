"""Voice callbacks through the gateway, Twilio played by the test: a call made through the gateway
carries hook URLs; Twilio's requests to them reach the legacy app in the 2008 dialect, signed the 2008
way, with its cookies; its 2008 TwiML comes back as today's; failures and forgeries never reach it."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import httpx
import pytest

from gateway.hooks.urls import HookKeys
from tests.conftest import OTHER, OTHER_TOKEN, PREFIX, TOKEN, CountingTransport
from tests.hooks.conftest import CALL, KEY, PUBLIC, sent_form, twilio, voice_params
from tests.hooks.legacy_app import LegacyApp, Script, signature_2008

App = tuple[LegacyApp, str]


async def make_call(
    gw: httpx.AsyncClient, upstream: CountingTransport, url: str, **extra: str
) -> dict[str, str]:
    made = await gw.post(
        f"{PREFIX}/Calls", data={"Caller": "6465550000", "Called": "4155551212", "Url": url, **extra}
    )
    assert made.status_code == 201, made.text
    return sent_form(upstream, "/Calls.json")


def twiml(response: httpx.Response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    return ET.fromstring(response.content)


async def test_a_call_carries_hooks_and_its_first_request_reaches_the_app_in_2008_terms(
    gw: httpx.AsyncClient, upstream: CountingTransport, legacy_app: App
) -> None:
    app, base = legacy_app
    app.answer(
        "/voice",
        Script(
            '<?xml version="1.0"?><Response version="2008-08-01"><Gather numDigits="1" action="gathered">'
            '<Say>Press one</Say></Gather><Play>/hello.mp3</Play><Dial callerId="(646) 555-0000">'
            "415-555-0199</Dial></Response>",
            cookies=("session=s1; Path=/",),
        ),
    )
    form = await make_call(gw, upstream, f"{base}/voice?leg=a", Method="GET")
    assert form["Url"].startswith(f"{PUBLIC}/hooks/voice/") and form["Method"] == "POST"
    assert form["StatusCallback"].startswith(f"{PUBLIC}/hooks/status/")
    assert base not in str(form)  # the app's address only ever travels encrypted

    doc = twiml(await twilio(gw, form["Url"], voice_params()))
    (first,) = app.seen
    assert first.signed and first.problems == [] and first.method == "GET"
    assert first.params == {
        "CallSid": CALL,
        "AccountSid": "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "Caller": "6465550000",
        "Called": "4155551212",
        "CallStatus": "in-progress",
        "CallerCity": "NEW YORK",
        "CalledState": "CA",
        "DialStatus": "answered",
        "leg": "a",
    }
    assert doc.get("version") is None
    gather = doc.find("Gather")
    assert gather is not None and gather.get("method") == "POST"
    assert (gather.get("action") or "").startswith(f"{PUBLIC}/hooks/gather/")
    assert doc.findtext("Play") == f"{base}/hello.mp3"
    dial = doc.find("Dial")
    assert dial is not None and (dial.get("callerId"), dial.text) == ("+16465550000", "+14155550199")

    app.answer("/gathered", "<Response><Record action='/recorded' maxLength='5'/></Response>")
    doc = twiml(await twilio(gw, gather.get("action") or "", voice_params(Digits="1")))
    gathered = app.at("/gathered")[0]
    assert gathered.signed and gathered.method == "POST" and gathered.params["Digits"] == "1"
    assert gathered.cookies == "session=s1"  # the cookie set on the first request comes back
    record = doc.find("Record")
    assert record is not None and (record.get("action") or "").startswith(f"{PUBLIC}/hooks/record/")

    recording = "RE" + "1" * 32
    done = voice_params(
        RecordingSid=recording,
        RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/{recording}",
        RecordingDuration="4",
    )
    twiml(await twilio(gw, record.get("action") or "", done))
    recorded = app.at("/recorded")[0]
    assert recorded.signed and recorded.problems == []
    assert (
        recorded.params["RecordingUrl"] == f"{PUBLIC}/2008-08-01/Accounts/{recorded.params['AccountSid']}"
        f"/Recordings/{recording}"
    )
    assert recorded.params["Duration"] == "4"


async def test_forged_hooks_and_bad_signatures_never_reach_the_app(
    gw: httpx.AsyncClient, upstream: CountingTransport, legacy_app: App
) -> None:
    app, base = legacy_app
    form = await make_call(gw, upstream, f"{base}/voice")
    hook = form["Url"]
    tampered = hook[:-6] + ("AAAAAA" if not hook.endswith("AAAAAA") else "BBBBBB")
    opened = HookKeys([KEY]).open(hook)
    assert opened is not None
    foreign = HookKeys(["another-gateway-key-0123456789"]).mint(PUBLIC, opened)
    for url in (
        tampered,
        foreign,
        f"{PUBLIC}/hooks/voice/not-a-token",
        f"{PUBLIC}/hooks/gather/" + hook.split("/")[-1],
    ):
        assert (await twilio(gw, url, voice_params())).status_code == 404
    assert (await twilio(gw, hook, voice_params(), token=OTHER_TOKEN)).status_code == 403
    unsigned = await gw.post(urlsplit(hook).path, data=voice_params(), auth=None)
    assert unsigned.status_code == 403
    signed_other_params = await gw.post(
        urlsplit(hook).path,
        data=voice_params(Digits="9"),
        headers={"X-Twilio-Signature": signature_2008(hook, voice_params(), TOKEN)},
        auth=None,
    )
    assert signed_other_params.status_code == 403
    assert app.seen == []


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data", "http://10.1.2.3/voice"])
async def test_an_app_url_on_a_private_address_is_never_fetched(
    gw: httpx.AsyncClient, upstream: CountingTransport, target: str
) -> None:
    form = await make_call(gw, upstream, target)
    assert (await twilio(gw, form["Url"], voice_params())).status_code == 502


@pytest.mark.parametrize(
    "script",
    [
        Script("oops", status=500),
        Script("<Response><Say>unclosed</Response>"),
        Script('{"json": true}', content_type="application/json"),
        Script("<Response>" + "<Pause/>" * 20_000 + "</Response>"),
        Script("<Foo/>"),
    ],
)
async def test_an_app_failure_answers_twilio_502_for_its_fallback(
    gw: httpx.AsyncClient, upstream: CountingTransport, legacy_app: App, script: Script
) -> None:
    app, base = legacy_app
    app.answer("/voice", script)
    form = await make_call(gw, upstream, f"{base}/voice")
    answer = await twilio(gw, form["Url"], voice_params())
    assert answer.status_code == 502 and answer.content == b""
    assert len(app.seen) == 1


async def test_the_status_callback_brings_2008s_last_requests_once(
    gw: httpx.AsyncClient, upstream: CountingTransport, legacy_app: App
) -> None:
    app, base = legacy_app
    form = await make_call(
        gw, upstream, f"{base}/voice", Method="GET", StatusCallback="https://x.legacy.test/s"
    )
    status = form["StatusCallback"]  # the gateway's own: a client's 2010 parameter is never sent
    assert status.startswith(f"{PUBLIC}/hooks/status/") and form["StatusCallbackMethod"] == "POST"
    assert (await twilio(gw, status, voice_params(CallStatus="ringing"))).status_code == 204
    assert app.seen == []
    for _ in range(2):  # Twilio may repeat it: the app hears it once
        assert (await twilio(gw, status, voice_params(CallStatus="busy"))).status_code == 204
    (busy,) = app.seen
    assert busy.signed and busy.method == "GET" and busy.path == "/voice"
    assert (busy.params["DialStatus"], busy.params["CallStatus"]) == ("busy", "busy")

    other = await make_call(gw, upstream, f"{base}/voice")
    ended = voice_params(CallSid="CA" + "d" * 32, CallStatus="completed", CallDuration="31")
    assert (await twilio(gw, other["StatusCallback"], ended)).status_code == 204
    last = app.seen[-1]
    assert last.signed and last.method == "POST" and last.params["CallStatus"] == "completed"
    assert "DialStatus" not in last.params and last.problems == []


async def test_if_machine_hangup_hangs_up_and_tells_the_app(
    gw: httpx.AsyncClient, upstream: CountingTransport, legacy_app: App
) -> None:
    app, base = legacy_app
    form = await make_call(gw, upstream, f"{base}/voice", IfMachine="Hangup")
    assert form["MachineDetection"] == "Enable"
    doc = twiml(await twilio(gw, form["Url"], voice_params(AnsweredBy="machine_start")))
    assert [child.tag for child in doc] == ["Hangup"]
    for _ in range(200):  # the notice runs after the answer
        if app.seen:
            break
        await asyncio.sleep(0.01)
    (told,) = app.seen
    assert told.signed and told.params["DialStatus"] == "hangup-machine"

    human = twiml(await twilio(gw, form["Url"], voice_params(AnsweredBy="human")))
    assert human.tag == "Response" and app.seen[-1].params["DialStatus"] == "answered-human"


async def test_a_redirect_of_a_live_call_is_wrapped_too(
    gw: httpx.AsyncClient, upstream: CountingTransport, legacy_app: App
) -> None:
    app, base = legacy_app
    made = await gw.post(
        f"{PREFIX}/Calls", data={"Caller": "6465550000", "Called": "4155551212", "Url": f"{base}/v"}
    )
    sid = ET.fromstring(made.content).findtext("Call/Sid")
    moved = await gw.post(
        f"{PREFIX}/Calls/{sid}", data={"CurrentUrl": f"{base}/hold", "CurrentMethod": "GET"}
    )
    assert moved.status_code == 200, moved.text
    form = sent_form(upstream, f"/Calls/{sid}.json")
    assert form["Url"].startswith(f"{PUBLIC}/hooks/redirect/") and form["Method"] == "POST"
    twiml(await twilio(gw, form["Url"], voice_params()))
    assert app.seen[-1].path == "/hold" and app.seen[-1].method == "GET"


async def test_an_account_whose_token_the_gateway_lacks_passes_unwrapped(
    gw: httpx.AsyncClient, upstream: CountingTransport, caplog: pytest.LogCaptureFixture
) -> None:
    other = httpx.BasicAuth(OTHER, OTHER_TOKEN)
    for _ in range(2):
        made = await gw.post(
            f"/2008-08-01/Accounts/{OTHER}/Calls",
            data={"Caller": "6465550000", "Called": "4155551212", "Url": "https://app.legacy.test/v"},
            auth=other,
        )
        assert made.status_code in (201, 400), made.text
        if made.status_code == 400:
            pytest.skip("the other account has no number to call from")
    form = sent_form(upstream, "/Calls.json")
    assert form["Url"] == "https://app.legacy.test/v" and "StatusCallback" not in form
    lines = [r for r in caplog.records if OTHER in r.getMessage() and "no auth token" in r.getMessage()]
    assert len(lines) == 1
