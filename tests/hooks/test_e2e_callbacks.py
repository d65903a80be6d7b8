"""Callbacks end to end on loopback, three real servers: the sandbox playing Twilio (it dials, runs
TwiML, posts status callbacks and incoming SMS, signed, in the 2010 dialect), the gateway with
callbacks on, and the 2008 legacy app (tests/hooks/legacy_app.py). A legacy client works through the
gateway; the sandbox's clock is moved by the test, and its control endpoints show what it requested."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.sandbox import SandboxConfig, Simulation, create_sandbox
from gateway.settings import ClientCredential, Secret, Settings
from tests.conftest import ACCOUNT, LENGTH, PREFIX, STEP, TOKEN, Clock
from tests.hooks.conftest import KEY
from tests.hooks.legacy_app import LegacyApp, Script, Seen
from tests.servers import free_port, serve

OURS = "6465550000"
CALLEE, BUSY, NO_ANSWER, UNREACHABLE = "4155551212", "5005550010", "5005550011", "5005550009"


@dataclass
class Stack:
    app: LegacyApp
    app_base: str
    client: httpx.Client
    """The legacy client, through the gateway."""
    twilio: httpx.Client
    """The sandbox itself: its API and its control endpoints."""
    clock: Clock
    public: str

    def call(self, path: str, called: str = CALLEE, **extra: str) -> str:
        data = {"Caller": OURS, "Called": called, "Url": self.app_base + path, **extra}
        made = self.client.post(f"{PREFIX}/Calls", data=data)
        assert made.status_code == 201, made.text
        return ET.fromstring(made.content).findtext("Call/Sid") or ""

    def run(self, sid: str) -> list[dict[str, Any]]:
        """Moves the clock past the call's end and waits for its run: what the sandbox requested."""
        self.clock.advance(300)
        log = self.twilio.get(f"/sandbox/Calls/{sid}/Log", params={"Wait": "finished", "Timeout": "30"})
        assert log.status_code == 200, log.text
        assert log.headers["X-Sandbox-Run"] == "finished"
        records: list[dict[str, Any]] = log.json()
        return records

    def number(self) -> str:
        listing = ET.fromstring(self.client.get(f"{PREFIX}/IncomingPhoneNumbers?PhoneNumber={OURS}").content)
        return listing.findtext("IncomingPhoneNumbers/IncomingPhoneNumber/Sid") or ""


@pytest.fixture
def stack(clock: Clock) -> Iterator[Stack]:
    app = LegacyApp(TOKEN)
    config = SandboxConfig(
        accounts={ACCOUNT: TOKEN},
        incoming_numbers=2,
        call_step=STEP,
        call_length=LENGTH,
        clock=clock,
        simulation=Simulation(callback_repeats=2),  # every status callback arrives twice
    )
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    with serve(app, lifespan="off") as app_base, serve(create_sandbox(config), lifespan="off") as upstream:
        settings = Settings(
            upstream=upstream,
            trunking_upstream=upstream,
            access_log=False,
            public_url=public,
            hook_keys=(Secret(KEY),),
            callback_accounts=(ClientCredential(ACCOUNT, Secret(TOKEN), (ACCOUNT,)),),
            callback_hosts=("127.0.0.0/8",),
            callback_timeout=5.0,
        )
        with (
            serve(create_app(settings), port=port),
            httpx.Client(base_url=public, auth=(ACCOUNT, TOKEN), timeout=30) as client,
            httpx.Client(base_url=upstream, auth=(ACCOUNT, TOKEN), timeout=40) as twilio,
        ):
            yield Stack(app, app_base, client, twilio, clock, public)


def assert_2008(seen: Seen) -> None:
    assert seen.signed, f"{seen.path}: the 2008 signature does not hold"
    assert seen.problems == [], f"{seen.path}: {seen.problems}"


def test_a_call_made_through_the_gateway_runs_the_legacy_app_in_2008_terms(stack: Stack) -> None:
    app = stack.app
    app.answer(
        "/voice",
        Script(
            '<Response version="2008-08-01"><Gather action="gathered" numDigits="1">'
            "<Say>Press one</Say></Gather></Response>",
            cookies=("caller=known; Path=/",),
        ),
    )
    app.answer("/gathered", "<Response><Record action='recorded' maxLength='3'/></Response>")
    app.answer("/recorded", "<Response><Dial action='/dialed' timeout='10'>415-555-0100</Dial></Response>")
    app.answer("/dialed", "<Response><Say>Goodbye</Say><Hangup/></Response>")
    sid = stack.call("/voice", Method="GET")
    assert stack.twilio.post(f"/sandbox/Calls/{sid}/Digits", data={"Digits": "1"}).status_code == 200
    log = stack.run(sid)
    hooks = [entry for entry in log if "/hooks/" in str(entry.get("url", ""))]
    assert hooks and all(entry.get("status_code") in (200, 204) for entry in hooks), log

    first, gathered, recorded, dialed = (
        app.at(path)[0] for path in ("/voice", "/gathered", "/recorded", "/dialed")
    )
    for seen in (first, gathered, recorded, dialed):
        assert_2008(seen)
    assert first.method == "GET" and (first.params["Caller"], first.params["Called"]) == (OURS, CALLEE)
    assert first.params["DialStatus"] == "answered" and first.params["CallStatus"] == "in-progress"
    assert gathered.params["Digits"] == "1" and gathered.cookies == "caller=known"
    assert recorded.params["RecordingUrl"].startswith(
        f"{stack.public}/2008-08-01/Accounts/{ACCOUNT}/Recordings/RE"
    )
    assert recorded.cookies == "caller=known"
    assert dialed.params["DialStatus"] == "answered"
    # The recording's 2008 URL is served by the gateway.
    assert (
        stack.client.get(recorded.params["RecordingUrl"].removeprefix(stack.public) + ".xml").status_code
        == 200
    )
    # The call's end: its URL once more, with CallStatus=completed, once although Twilio said it twice.
    ends = [seen for seen in app.at("/voice") if seen.params.get("CallStatus") == "completed"]
    assert len(ends) == 1 and ends[0].method == "GET"
    assert_2008(ends[0])


def test_an_inbound_call_to_a_number_set_through_the_gateway(stack: Stack) -> None:
    app = stack.app
    app.answer("/inbound", "<Response><Say>Hello caller</Say></Response>")
    pn = stack.number()
    set_url = stack.client.post(
        f"{PREFIX}/IncomingPhoneNumbers/{pn}", data={"Url": f"{stack.app_base}/inbound", "Method": "POST"}
    )
    assert ET.fromstring(set_url.content).findtext("IncomingPhoneNumber/Url") == f"{stack.app_base}/inbound"
    read = ET.fromstring(stack.client.get(f"{PREFIX}/IncomingPhoneNumbers/{pn}").content)
    assert read.findtext("IncomingPhoneNumber/Url") == f"{stack.app_base}/inbound"
    upstream = stack.twilio.get(f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers/{pn}.json").json()
    assert upstream["voice_url"].startswith(f"{stack.public}/hooks/voice/")

    inbound = stack.twilio.post("/sandbox/Calls", data={"From": "+12125550123", "To": f"+1{OURS}"})
    assert inbound.status_code == 201, inbound.text
    stack.run(inbound.json()["sid"])
    first = app.at("/inbound")[0]
    assert_2008(first)
    assert (first.params["Caller"], first.params["Called"]) == ("2125550123", OURS)


@pytest.mark.parametrize(("called", "status"), [(BUSY, "busy"), (NO_ANSWER, "no-answer")])
def test_a_call_never_answered_gives_the_app_its_dial_status(stack: Stack, called: str, status: str) -> None:
    sid = stack.call("/voice", called=called, Timeout="15")
    stack.run(sid)
    (seen,) = stack.app.at("/voice")  # the only request: nobody answered, and the end is told once
    assert_2008(seen)
    assert (seen.params["DialStatus"], seen.params["CallStatus"]) == (status, status)


def test_machine_detection_with_if_machine_hangup(stack: Stack) -> None:
    sid = stack.call("/voice", called="5005550013", IfMachine="Hangup")
    log = stack.run(sid)
    answered = next(entry for entry in log if "/hooks/voice/" in str(entry.get("url", "")))
    assert "<Hangup" in answered.get("twiml", ""), answered
    told = [seen for seen in stack.app.at("/voice") if seen.params.get("DialStatus") == "hangup-machine"]
    assert len(told) == 1 and told[0].signed


def test_forged_hooks_bad_signatures_and_private_app_addresses_are_refused(stack: Stack) -> None:
    sid = stack.call("/voice")
    forged = httpx.post(f"{stack.public}/hooks/voice/gAAAAABforged", data={"CallSid": sid})
    assert forged.status_code == 404
    stack.run(sid)
    ours = next(entry for entry in stack.twilio.get(f"/sandbox/Calls/{sid}/Log").json())
    unsigned = httpx.post(ours["url"], data={"CallSid": sid, "AccountSid": ACCOUNT})
    wrong = httpx.post(ours["url"], data={"CallSid": sid}, headers={"X-Twilio-Signature": "d3Jvbmc="})
    assert (unsigned.status_code, wrong.status_code) == (403, 403)
    assert len(stack.app.at("/voice")) == 2  # the call's own request and its end, nothing forged
    for target in ("http://169.254.169.254/latest/meta-data/", "http://10.0.0.7/voice"):
        private = stack.call("", Url=target)
        log = stack.run(private)
        first = next(entry for entry in log if "/hooks/voice/" in str(entry.get("url", "")))
        assert first.get("status_code") == 502, first
    assert {seen.path for seen in stack.app.seen} <= {"/voice"}  # the first call's own URL only


# --- SMS -------------------------------------------------------------------------------------------


def sms_log(stack: Stack, sid: str) -> list[dict[str, Any]]:
    stack.clock.advance(60)
    log = stack.twilio.get(f"/sandbox/Messages/{sid}/Log", params={"Timeout": "30"})
    assert log.status_code == 200, log.text
    records: list[dict[str, Any]] = log.json()
    return records


def test_an_incoming_sms_is_answered_by_the_legacy_app(stack: Stack) -> None:
    app = stack.app
    app.answer("/sms", Script("<Response><Sms>Thanks for writing</Sms></Response>", cookies=("n=1",)))
    pn = stack.number()
    stack.client.post(f"{PREFIX}/IncomingPhoneNumbers/{pn}", data={"SmsUrl": f"{stack.app_base}/sms"})
    read = ET.fromstring(stack.client.get(f"{PREFIX}/IncomingPhoneNumbers/{pn}").content)
    assert read.findtext("IncomingPhoneNumber/SmsUrl") == f"{stack.app_base}/sms"

    incoming = stack.twilio.post(
        "/sandbox/Messages", data={"From": "+12125550123", "To": f"+1{OURS}", "Body": "hi"}
    )
    assert incoming.status_code == 201, incoming.text
    sms_log(stack, incoming.json()["sid"])
    seen = app.at("/sms")[0]
    assert_2008(seen)
    assert (seen.params["From"], seen.params["To"], seen.params["Body"]) == ("2125550123", OURS, "hi")
    replies = stack.twilio.get(
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json", params={"To": "+12125550123"}
    ).json()
    assert [m["body"] for m in replies["messages"] if m["direction"] == "outbound-reply"] == [
        "Thanks for writing"
    ]

    app.answer("/sms", Script("Plain text back", content_type="text/plain"))
    again = stack.twilio.post(
        "/sandbox/Messages", data={"From": "+12125550123", "To": f"+1{OURS}", "Body": "more"}
    )
    sms_log(stack, again.json()["sid"])
    assert app.at("/sms")[-1].cookies == "n=1"
    replies = stack.twilio.get(
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json", params={"To": "+12125550123"}
    ).json()
    assert "Plain text back" in [m["body"] for m in replies["messages"]]


@pytest.mark.parametrize(("to", "status"), [(CALLEE, "sent"), (UNREACHABLE, "failed")])
def test_a_sent_messages_status_reaches_the_app_once(stack: Stack, to: str, status: str) -> None:
    sent = stack.client.post(
        f"{PREFIX}/SMS/Messages",
        data={
            "From": OURS,
            "To": to,
            "Body": "Your order shipped",
            "StatusCallback": f"{stack.app_base}/sms-status",
        },
    )
    assert sent.status_code == 201, sent.text
    sid = ET.fromstring(sent.content).findtext("SMSMessage/Sid") or ""
    log = sms_log(stack, sid)
    assert len([entry for entry in log if "/hooks/sms-status/" in str(entry.get("url", ""))]) >= 2  # twice
    (seen,) = stack.app.at("/sms-status")
    assert seen.signed and seen.method == "POST"
    assert seen.params == {"SmsSid": sid, "SmsStatus": status}


def test_sms_inside_a_call_is_sent(stack: Stack) -> None:
    stack.app.answer("/voice", "<Response><Say>Texting you</Say><Sms>Your code is 4321</Sms></Response>")
    sid = stack.call("/voice")
    stack.run(sid)
    listed = stack.twilio.get(
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json", params={"To": f"+1{CALLEE}"}
    ).json()
    texts = [(m["body"], m["from"]) for m in listed["messages"]]
    assert ("Your code is 4321", f"+1{OURS}") in texts
