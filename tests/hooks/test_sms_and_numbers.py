"""A number's app URLs set through the gateway and read back unchanged (every format, lists too), and
SMS callbacks with Twilio played by the test: an incoming SMS answered with <Sms> or plain text, a
message's status reported once, <Sms> inside a call sent by the gateway."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import httpx
import orjson

from tests.conftest import ACCOUNT, PREFIX, CountingTransport
from tests.hooks.conftest import CALLED, CALLER, PUBLIC, sent_form, twilio, voice_params
from tests.hooks.legacy_app import LegacyApp, Script

App = tuple[LegacyApp, str]
SM = "SM" + "5" * 32


async def a_number(gw: httpx.AsyncClient) -> str:
    listing = ET.fromstring((await gw.get(f"{PREFIX}/IncomingPhoneNumbers")).content)
    return listing.findtext("IncomingPhoneNumbers/IncomingPhoneNumber/Sid") or ""


def urls(element: ET.Element | None) -> dict[str, str]:
    assert element is not None
    names = ("Url", "Method", "SmsUrl", "SmsMethod", "VoiceFallbackUrl", "VoiceFallbackMethod")
    return {name: element.findtext(name) or "" for name in names}


async def test_a_numbers_urls_are_wrapped_upstream_and_read_back_as_set(
    gw: httpx.AsyncClient, upstream: CountingTransport, sandbox: Any
) -> None:
    sid = await a_number(gw)
    given = {
        "Url": "https://user:secret@app.legacy.test/voice.php",
        "Method": "GET",
        "SmsUrl": "https://app.legacy.test/sms",
        "VoiceFallbackUrl": "https://app.legacy.test/sorry",
    }
    updated = await gw.post(f"{PREFIX}/IncomingPhoneNumbers/{sid}", data=given)
    assert updated.status_code == 200, updated.text
    expected = {**given, "SmsMethod": "POST", "VoiceFallbackMethod": "POST"}
    assert urls(ET.fromstring(updated.content).find("IncomingPhoneNumber")) == expected

    form = sent_form(upstream, f"/IncomingPhoneNumbers/{sid}.json")
    assert form["VoiceUrl"].startswith(f"{PUBLIC}/hooks/voice/") and form["VoiceMethod"] == "POST"
    assert form["SmsUrl"].startswith(f"{PUBLIC}/hooks/sms/")
    assert form["VoiceFallbackUrl"].startswith(f"{PUBLIC}/hooks/voice-fallback/")
    assert form["StatusCallback"].startswith(f"{PUBLIC}/hooks/status/")
    assert "secret" not in str(form) and "app.legacy.test" not in str(form)

    fetched = ET.fromstring((await gw.get(f"{PREFIX}/IncomingPhoneNumbers/{sid}")).content)
    assert urls(fetched.find("IncomingPhoneNumber")) == expected
    listed = ET.fromstring((await gw.get(f"{PREFIX}/IncomingPhoneNumbers")).content)
    mine = [n for n in listed.iter("IncomingPhoneNumber") if n.findtext("Sid") == sid]
    assert urls(mine[0]) == expected
    as_json = orjson.loads((await gw.get(f"{PREFIX}/IncomingPhoneNumbers/{sid}.json")).content)
    as_json = as_json["TwilioResponse"]["IncomingPhoneNumber"]
    assert (as_json["Url"], as_json["Method"], as_json["SmsUrl"]) == (given["Url"], "GET", given["SmsUrl"])
    csv = (await gw.get(f"{PREFIX}/IncomingPhoneNumbers.csv")).text
    assert given["SmsUrl"] in csv and "/hooks/" not in csv

    # Only the method changes: the app URL set before is kept, now fetched with POST.
    await gw.post(f"{PREFIX}/IncomingPhoneNumbers/{sid}", data={"Method": "POST"})
    again = ET.fromstring((await gw.get(f"{PREFIX}/IncomingPhoneNumbers/{sid}")).content)
    assert urls(again.find("IncomingPhoneNumber"))["Url"] == given["Url"]
    assert urls(again.find("IncomingPhoneNumber"))["Method"] == "POST"
    # Only the URL changes: the app's method (GET) stays.
    await gw.post(f"{PREFIX}/IncomingPhoneNumbers/{sid}", data={"SmsMethod": "GET"})
    await gw.post(f"{PREFIX}/IncomingPhoneNumbers/{sid}", data={"SmsUrl": "https://app.legacy.test/sms2"})
    last = urls(ET.fromstring((await gw.get(f"{PREFIX}/IncomingPhoneNumbers/{sid}")).content)[0])
    assert (last["SmsUrl"], last["SmsMethod"]) == ("https://app.legacy.test/sms2", "GET")


async def test_a_url_set_outside_the_gateway_shows_as_it_is(
    gw: httpx.AsyncClient, upstream: CountingTransport, sandbox: Any
) -> None:
    sid = await a_number(gw)
    outside = f"{PUBLIC}/hooks/voice/not-a-hook-at-all"
    direct = httpx.AsyncClient(transport=upstream, base_url="http://sandbox.test", auth=gw.auth)
    async with direct:
        await direct.post(
            f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers/{sid}.json",
            data={"VoiceUrl": outside, "SmsUrl": "https://elsewhere.legacy.test/s"},
        )
    shown = urls(ET.fromstring((await gw.get(f"{PREFIX}/IncomingPhoneNumbers/{sid}")).content)[0])
    assert (shown["Url"], shown["SmsUrl"]) == (outside, "https://elsewhere.legacy.test/s")


async def test_buying_a_number_by_area_code_wraps_its_urls(
    gw: httpx.AsyncClient, upstream: CountingTransport
) -> None:
    bought = await gw.post(
        f"{PREFIX}/IncomingPhoneNumbers/Local",
        data={
            "AreaCode": "415",
            "Url": "https://app.legacy.test/v",
            "SmsUrl": "https://app.legacy.test/s",
            "SmsMethod": "GET",
        },
    )
    assert bought.status_code in (200, 201), bought.text
    form = sent_form(upstream, "/IncomingPhoneNumbers.json")
    assert form["VoiceUrl"].startswith(f"{PUBLIC}/hooks/voice/") and form["SmsMethod"] == "POST"
    shown = urls(ET.fromstring(bought.content)[0])
    assert (shown["Url"], shown["SmsUrl"], shown["SmsMethod"]) == (
        "https://app.legacy.test/v",
        "https://app.legacy.test/s",
        "GET",
    )


def sms_params(**extra: str) -> dict[str, str]:
    return {
        "MessageSid": SM,
        "SmsSid": SM,
        "SmsMessageSid": SM,
        "AccountSid": ACCOUNT,
        "From": CALLER,
        "To": CALLED,
        "Body": "hello there",
        "NumMedia": "0",
        "ApiVersion": "2010-04-01",
        "FromCity": "NEW YORK",
        **extra,
    }


async def sms_hook(gw: httpx.AsyncClient, upstream: CountingTransport, url: str, method: str = "POST") -> str:
    sid = await a_number(gw)
    await gw.post(f"{PREFIX}/IncomingPhoneNumbers/{sid}", data={"SmsUrl": url, "SmsMethod": method})
    return sent_form(upstream, f"/IncomingPhoneNumbers/{sid}.json")["SmsUrl"]


async def test_an_incoming_sms_is_answered_with_sms_in_2008_terms(
    gw: httpx.AsyncClient, upstream: CountingTransport, legacy_app: App
) -> None:
    app, base = legacy_app
    app.answer(
        "/sms",
        Script(
            '<Response><Sms to="(646) 555-0000" statusCallback="/sms/status">Thanks!</Sms></Response>',
            cookies=("visits=1",),
        ),
    )
    hook = await sms_hook(gw, upstream, f"{base}/sms")
    answer = await twilio(gw, hook, sms_params())
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/xml")
    message = ET.fromstring(answer.content).find("Message")
    assert message is not None and message.text == "Thanks!" and message.get("to") == "+16465550000"
    assert (message.get("statusCallback") or "").startswith(f"{PUBLIC}/hooks/sms-status/")
    (seen,) = app.seen
    assert seen.signed and seen.problems == [] and seen.method == "POST"
    assert (seen.params["SmsSid"], seen.params["From"], seen.params["Body"]) == (
        SM,
        "6465550000",
        "hello there",
    )

    app.answer("/sms", Script("Got it, thanks", content_type="text/plain"))
    reply = ET.fromstring((await twilio(gw, hook, sms_params(Body="again"))).content)
    assert [(child.tag, child.text) for child in reply] == [("Message", "Got it, thanks")]
    assert app.seen[-1].cookies == "visits=1"  # one jar per pair of numbers

    app.answer("/sms", Script(b"", content_type="text/plain"))
    silent = ET.fromstring((await twilio(gw, hook, sms_params())).content)
    assert list(silent) == []


async def test_an_sms_status_reaches_the_app_once_as_sent_or_failed(
    gw: httpx.AsyncClient, upstream: CountingTransport, legacy_app: App, sandbox: Any
) -> None:
    app, base = legacy_app
    sent = await gw.post(
        f"{PREFIX}/SMS/Messages",
        data={"From": "6465550000", "To": "4155551212", "Body": "hi", "StatusCallback": f"{base}/sms/status"},
    )
    assert sent.status_code == 201, sent.text
    hook = sent_form(upstream, "/Messages.json")["StatusCallback"]
    assert hook.startswith(f"{PUBLIC}/hooks/sms-status/")
    assert (await twilio(gw, hook, sms_params(MessageStatus="queued", SmsStatus="queued"))).status_code == 204
    assert app.seen == []  # not final yet
    for status in ("sent", "sent", "delivered"):
        answer = await twilio(gw, hook, sms_params(MessageStatus=status, SmsStatus=status))
        assert answer.status_code == 204
    (once,) = app.seen
    assert once.signed and once.method == "POST" and once.params == {"SmsSid": SM, "SmsStatus": "sent"}

    failed_sid = "SM" + "6" * 32
    undelivered = sms_params(MessageSid=failed_sid, SmsSid=failed_sid, MessageStatus="undelivered")
    await twilio(gw, hook, undelivered)
    assert app.seen[-1].params == {"SmsSid": failed_sid, "SmsStatus": "failed"}


async def test_sms_inside_a_call_is_sent_by_the_gateway_and_its_action_continues_the_call(
    gw: httpx.AsyncClient, upstream: CountingTransport, legacy_app: App, sandbox: Any
) -> None:
    app, base = legacy_app
    app.answer(
        "/voice",
        "<Response><Say>Sending</Say><Sms action='/texted' method='GET'>Your code is 42</Sms>"
        "<Say>never said</Say></Response>",
    )
    app.answer("/texted", "<Response><Say>Sent.</Say></Response>")
    made = await gw.post(
        f"{PREFIX}/Calls", data={"Caller": "6465550000", "Called": "4155551212", "Url": f"{base}/voice"}
    )
    assert made.status_code == 201
    hook = sent_form(upstream, "/Calls.json")["Url"]
    doc = ET.fromstring((await twilio(gw, hook, voice_params())).content)
    assert [child.tag for child in doc] == ["Say", "Redirect"]
    message = sent_form(upstream, "/Messages.json")
    # On an outgoing call the message goes to the called party, from the caller (twiml-sms.md).
    assert (message["To"], message["From"], message["Body"]) == (CALLED, CALLER, "Your code is 42")
    redirect = doc.find("Redirect")
    assert redirect is not None and (redirect.text or "").startswith(f"{PUBLIC}/hooks/redirect/")
    await twilio(gw, redirect.text or "", voice_params())
    done = app.at("/texted")[0]
    assert done.signed and done.method == "GET" and done.problems == []
    assert done.params["SmsStatus"] == "sending" and done.params["SmsSid"].startswith("SM")
