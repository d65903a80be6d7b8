"""The sandbox dials: calls made through the API request their Url when answered, signed, with 2010's
parameters, and run the TwiML they get on the call's clock; status callbacks; who answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.sandbox import SandboxConfig, Simulation
from gateway.sandbox.webhook import signature
from tests.conftest import ACCOUNT, LENGTH, OURS, STEP, TOKEN, Clock
from tests.sandbox.twiml_app import BASE, TwimlApp, app_config, twiml

CALLS = f"/2010-04-01/Accounts/{ACCOUNT}/Calls"
CALLEE = "+14155551212"


@pytest.fixture
def sandbox_config(clock: Clock, app: TwimlApp, simulation: Simulation) -> SandboxConfig:
    return app_config(clock, app, call_step=STEP, call_length=LENGTH, simulation=simulation)


def talked(seconds: int) -> str:
    """A made call's duration: its end less its start, which is when it rang, one step before it was
    answered."""
    return str(int(STEP) + seconds)


async def make(api: httpx.AsyncClient, to: str = CALLEE, **extra: Any) -> dict[str, Any]:
    data = {"To": to, "From": OURS, "Url": f"{BASE}/voice", **extra}
    response = await api.post(f"{CALLS}.json", data=data)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def fetch(api: httpx.AsyncClient, sid: str) -> dict[str, Any]:
    body: dict[str, Any] = (await api.get(f"{CALLS}/{sid}.json")).json()
    return body


async def to_the_end(sandbox: Any, clock: Clock, sid: str, seconds: float = 300) -> list[dict[str, Any]]:
    clock.advance(seconds)
    assert await sandbox.dialer.finished(sid)
    log: list[dict[str, Any]] = sandbox.dialer.runs[sid].log
    return log


def test_the_signature_is_2010s_as_the_helper_library_computes_it() -> None:
    from twilio.request_validator import RequestValidator

    url, params = (
        "https://app.test/voice?a=1&b=%20",
        {"To": "+14155551212", "Digits": "12#", "CallSid": "CA1"},
    )
    assert signature(TOKEN, url, params) == RequestValidator(TOKEN).compute_signature(url, params)
    assert signature(TOKEN, url, None) == RequestValidator(TOKEN).compute_signature(url, {})


async def test_an_answered_call_requests_its_url_with_2010_parameters_and_runs_it(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    app.answer("/voice", twiml("<Say>Hello there</Say>"))
    made = await make(api, StatusCallback=f"{BASE}/status")
    clock.advance(2 * STEP - 0.5)
    assert await sandbox.dialer.settle(made["sid"]) == "waiting"
    assert app.seen == []  # not before the callee answers
    clock.advance(0.5)
    await sandbox.dialer.settle(made["sid"])
    params = app.one("/voice")
    assert params == {
        **params,
        "CallSid": made["sid"],
        "AccountSid": ACCOUNT,
        "From": OURS,
        "To": CALLEE,
        "Caller": OURS,
        "Called": CALLEE,
        "CallStatus": "in-progress",
        "ApiVersion": "2010-04-01",
        "Direction": "outbound-api",
        "ToCity": "SAN FRANCISCO",
        "ToState": "CA",
        "CalledCountry": "US",
        "FromState": "NY",
    }
    assert "AnsweredBy" not in params
    log = await to_the_end(sandbox, clock, made["sid"])
    assert [entry["kind"] for entry in log] == ["voice", "status-callback"]
    assert log[0]["twiml"].endswith("<Say>Hello there</Say></Response>") and log[0]["status_code"] == 200
    done = await fetch(api, made["sid"])
    assert (done["status"], done["duration"]) == ("completed", talked(1))  # two words, a second
    status = app.one("/status")
    assert (status["CallStatus"], status["SequenceNumber"]) == ("completed", "0")
    assert status["CallDuration"] == done["duration"]
    assert status["CallbackSource"] == "call-progress-events" and status["Timestamp"] == done["end_time"]


async def test_get_puts_the_parameters_in_the_query_and_signs_the_whole_url(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    made = await make(api, Url=f"{BASE}/voice?menu=main&x=%2B1", Method="GET")
    await to_the_end(sandbox, clock, made["sid"])
    (seen,) = app.at("/voice")
    assert seen.method == "GET" and seen.signed
    assert (seen.params["menu"], seen.params["x"], seen.params["CallSid"]) == ("main", "+1", made["sid"])
    assert seen.headers["user-agent"] == "TwilioProxy/1.1" and seen.headers["i-twilio-idempotency-token"]


async def test_gather_submits_the_scripted_digits_to_its_relative_action(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    app.answer(
        "/ivr/voice",
        twiml('<Gather action="menu" method="GET" numDigits="3"><Say>one two three four</Say></Gather>'),
    )
    app.answer("/ivr/menu", twiml("<Say>Thanks</Say>"))
    made = await make(api, Url=f"{BASE}/ivr/voice")
    answer = await api.post(f"/sandbox/Calls/{made['sid']}/Digits", data={"Digits": "12345"})
    assert answer.status_code == 200 and answer.json()["digits"] == ["12345"]
    log = await to_the_end(sandbox, clock, made["sid"])
    assert app.paths() == ["/ivr/voice", "/ivr/menu"]
    assert app.one("/ivr/menu")["Digits"] == "123"  # numDigits submits at once
    assert app.at("/ivr/menu")[0].method == "GET"
    # answered at 4 s; prompt 2 s (four words), three keys a second each
    assert log[1]["at"] - log[0]["at"] == 5.0
    assert (await fetch(api, made["sid"]))["duration"] == talked(6)


async def test_gather_finish_key_and_no_input_falling_through(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    app.answer(
        "/voice",
        twiml('<Gather timeout="3"/>', "<Say>Nothing</Say>", '<Gather action="/pressed" timeout="3"/>'),
    )
    made = await make(api)
    await api.post(f"/sandbox/Calls/{made['sid']}/Digits", data={"Digits": ",42#9"})
    log = await to_the_end(sandbox, clock, made["sid"])
    assert app.paths() == ["/voice", "/pressed"]
    assert app.one("/pressed")["Digits"] == "42"
    # no input: 3 s and on; "Nothing" 1 s; then 42# three presses
    assert log[1]["at"] - log[0]["at"] == 3 + 1 + 3


async def test_record_makes_a_recording_and_a_transcription_with_its_callback(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    app.answer(
        "/voice",
        twiml('<Record action="/recorded" maxLength="30" transcribeCallback="/transcribed"/>'),
    )
    app.answer("/recorded", twiml("<Hangup/>"))
    made = await make(api)
    await to_the_end(sandbox, clock, made["sid"])
    assert app.paths() == ["/voice", "/recorded", "/transcribed"]
    recorded = app.one("/recorded")
    listing = (await api.get(f"/2010-04-01/Accounts/{ACCOUNT}/Recordings.json")).json()["recordings"]
    (one,) = listing
    assert (one["sid"], one["call_sid"], one["duration"], one["source"]) == (
        recorded["RecordingSid"],
        made["sid"],
        "5",
        "RecordVerb",
    )
    assert recorded["RecordingDuration"] == "5" and recorded["RecordingUrl"].endswith(one["sid"])
    assert "Digits" not in recorded  # the silence ended it, not a key or a hang-up
    transcribed = app.one("/transcribed")
    (text,) = (await api.get(f"/2010-04-01/Accounts/{ACCOUNT}/Transcriptions.json")).json()["transcriptions"]
    assert (transcribed["TranscriptionSid"], transcribed["TranscriptionStatus"]) == (text["sid"], "completed")
    assert transcribed["TranscriptionText"] == text["transcription_text"]
    assert transcribed["RecordingSid"] == one["sid"]
    # 5 s of speech and 5 s of silence, then <Hangup/>
    assert (await fetch(api, made["sid"]))["duration"] == talked(10)


async def test_a_caller_hanging_up_while_recording_is_recorded_and_reported(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    app.answer("/voice", twiml("<Pause length='18'/>", '<Record action="/recorded"/>', "<Say>never</Say>"))
    made = await make(api)
    await to_the_end(sandbox, clock, made["sid"])
    recorded = app.one("/recorded")
    assert (recorded["Digits"], recorded["RecordingDuration"], recorded["CallStatus"]) == (
        "hangup",
        "2",
        "completed",
    )
    assert (await fetch(api, made["sid"]))["duration"] == talked(int(LENGTH))


async def test_dial_makes_a_child_leg_and_reports_dial_call_status(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    app.answer("/voice", twiml('<Dial action="/dialed" timeLimit="5"><Number>415-555-0100</Number></Dial>'))
    app.answer("/dialed", twiml("<Hangup/>"))
    made = await make(api)
    await to_the_end(sandbox, clock, made["sid"])
    dialed = app.one("/dialed")
    children = (await api.get(f"{CALLS}.json", params={"ParentCallSid": made["sid"]})).json()["calls"]
    (leg,) = children
    assert (leg["to"], leg["direction"], leg["status"], leg["duration"]) == (
        "+14155550100",
        "outbound-dial",
        "completed",
        talked(5),  # it rang a step, then five seconds, the time limit
    )
    assert (dialed["DialCallStatus"], dialed["DialCallSid"], dialed["DialCallDuration"]) == (
        "completed",
        leg["sid"],
        leg["duration"],
    )
    assert (await fetch(api, made["sid"]))["duration"] == talked(int(STEP) + 5)  # the leg rang a step too


@pytest.mark.parametrize(
    ("number", "status", "rang"),
    [("+15005550010", "busy", 0), ("+15005550011", "no-answer", 7), ("+15005550012", "failed", 0)],
)
async def test_dial_to_who_does_not_answer_goes_on_to_the_action(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock, number: str, status: str, rang: int
) -> None:
    app.answer("/voice", twiml(f'<Dial action="/dialed" timeout="7">{number}</Dial>'))
    made = await make(api)
    log = await to_the_end(sandbox, clock, made["sid"])
    dialed = app.one("/dialed")
    assert (dialed["DialCallStatus"], dialed["DialCallDuration"]) == (status, "0")
    assert log[1]["at"] - log[0]["at"] == rang
    (leg,) = (await api.get(f"{CALLS}.json", params={"ParentCallSid": made["sid"]})).json()["calls"]
    assert leg["status"] == status and leg["sid"] == dialed["DialCallSid"]


async def test_dial_into_a_conference_until_the_callee_hangs_up(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    app.answer("/voice", twiml("<Dial><Conference>room 7</Conference></Dial>", "<Say>never</Say>"))
    made = await make(api)
    clock.advance(2 * STEP + 1)
    await sandbox.dialer.settle(made["sid"])
    conferences = f"/2010-04-01/Accounts/{ACCOUNT}/Conferences.json"
    (room,) = (await api.get(conferences, params={"FriendlyName": "room 7"})).json()["conferences"]
    assert room["status"] == "in-progress"
    members = (
        await api.get(f"/2010-04-01/Accounts/{ACCOUNT}/Conferences/{room['sid']}/Participants.json")
    ).json()
    assert [m["call_sid"] for m in members["participants"]] == [made["sid"]]
    await to_the_end(sandbox, clock, made["sid"])
    (room,) = (await api.get(conferences)).json()["conferences"]
    assert (room["status"], room["reason_conference_ended"]) == ("completed", "last-participant-left")
    assert app.paths() == ["/voice"]


@pytest.mark.parametrize(
    ("number", "status", "ended"),
    [
        ("+15005550010", "busy", STEP),
        ("+15005550011", "no-answer", STEP + 9),
        ("+15005550012", "failed", STEP),
    ],
)
async def test_a_call_nobody_answers_requests_no_url_only_its_final_status_callback(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock, number: str, status: str, ended: float
) -> None:
    made = await make(
        api, to=number, Timeout="9", StatusCallback=f"{BASE}/status", StatusCallbackMethod="GET"
    )
    start = clock()
    log = await to_the_end(sandbox, clock, made["sid"])
    assert app.paths() == ["/status"]
    params = app.one("/status")
    assert (params["CallStatus"], params["CallDuration"], app.at("/status")[0].method) == (status, "0", "GET")
    assert log[0]["at"] == start + ended
    body = await fetch(api, made["sid"])
    assert (body["status"], body["duration"]) == (status, "0")


async def test_the_status_callback_events_asked_for_in_order(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    made = await make(
        api,
        StatusCallback=f"{BASE}/status",
        StatusCallbackEvent=["initiated", "ringing", "answered", "completed"],
    )
    await to_the_end(sandbox, clock, made["sid"])
    seen = app.at("/status")
    assert [(s.params["CallStatus"], s.params["SequenceNumber"]) for s in seen] == [
        ("initiated", "0"),
        ("ringing", "1"),
        ("in-progress", "2"),
        ("completed", "3"),
    ]
    assert all(s.signed for s in seen) and app.paths().index("/voice") == 3


async def test_only_the_events_asked_for(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    made = await make(api, StatusCallback=f"{BASE}/status", StatusCallbackEvent="ringing")
    await to_the_end(sandbox, clock, made["sid"])
    assert [s.params["CallStatus"] for s in app.at("/status")] == ["ringing"]


@pytest.mark.parametrize(
    ("number", "detection", "answered_by"),
    [
        ("+15005550013", "Enable", "machine_start"),
        ("+15005550013", "DetectMessageEnd", "machine_end_beep"),
        (CALLEE, "Enable", "human"),
    ],
)
async def test_machine_detection(
    api: httpx.AsyncClient,
    sandbox: Any,
    app: TwimlApp,
    clock: Clock,
    number: str,
    detection: str,
    answered_by: str,
) -> None:
    made = await make(api, to=number, MachineDetection=detection)
    await to_the_end(sandbox, clock, made["sid"])
    assert app.one("/voice")["AnsweredBy"] == answered_by
    assert (await fetch(api, made["sid"]))["answered_by"] == answered_by


async def test_bad_twiml_leaves_a_notification_and_the_fallback_runs(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    app.answer("/voice", twiml("<Dance/>"))
    app.answer("/fallback", twiml("<Pause length='3'/>"))
    made = await make(api, FallbackUrl=f"{BASE}/fallback", FallbackMethod="GET")
    await to_the_end(sandbox, clock, made["sid"])
    fallback = app.one("/fallback")
    assert (fallback["ErrorCode"], fallback["ErrorUrl"]) == ("12200", f"{BASE}/voice")
    (note,) = (await api.get(f"{CALLS}/{made['sid']}/Notifications.json")).json()["notifications"]
    assert (note["error_code"], note["log"], note["request_url"]) == ("12200", "0", f"{BASE}/voice")
    one = (await api.get(f"{CALLS}/{made['sid']}/Notifications/{note['sid']}.json")).json()
    assert "Dance" in one["message_text"] and "<Dance/>" in one["response_body"]
    assert f"CallSid={made['sid']}" in one["request_variables"]
    assert (await fetch(api, made["sid"]))["duration"] == talked(3)


@pytest.mark.parametrize(
    ("status", "kind", "body", "code"),
    [
        (500, "text/xml", "<Response/>", "11200"),
        (200, "application/json", "{}", "12300"),
        (200, "text/xml", "<Response><Say>", "12100"),
        (200, "text/xml", "<Reply/>", "12100"),
        (200, "text/xml", '<!DOCTYPE r [<!ENTITY a "x">]><Response><Say>&a;</Say></Response>', "12100"),
        (200, "text/xml", "<Response>" + "x" * 70_000 + "</Response>", "11750"),
        (200, "text/xml", "<Response><Pause length='soon'/></Response>", "12200"),
    ],
)
async def test_an_application_error_without_fallback_hangs_up(
    api: httpx.AsyncClient,
    sandbox: Any,
    app: TwimlApp,
    clock: Clock,
    status: int,
    kind: str,
    body: str,
    code: str,
) -> None:
    app.answer("/voice", body, status=status, content_type=kind)
    made = await make(api)
    await to_the_end(sandbox, clock, made["sid"])
    (note,) = (await api.get(f"{CALLS}/{made['sid']}/Notifications.json")).json()["notifications"]
    assert note["error_code"] == code
    done = await fetch(api, made["sid"])
    assert (done["status"], done["duration"]) == ("completed", talked(0))


async def test_plain_text_is_said_and_the_call_hangs_up(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    app.answer("/voice", "one two three four five six", content_type="text/plain")
    made = await make(api)
    await to_the_end(sandbox, clock, made["sid"])
    assert (await fetch(api, made["sid"]))["duration"] == talked(3)


async def test_an_unreachable_url_leaves_the_call_on_its_timeline(
    api: httpx.AsyncClient, sandbox: Any, clock: Clock
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    sandbox.requester.transport = httpx.MockTransport(refuse)
    made = await make(api)
    placeholder = await make(api, Url="http://app.example/voice", StatusCallback="http://app.example/status")
    await to_the_end(sandbox, clock, made["sid"])
    assert await sandbox.dialer.finished(placeholder["sid"])
    for sid in (made["sid"], placeholder["sid"]):
        done = await fetch(api, sid)
        assert (done["status"], done["duration"]) == ("completed", talked(int(LENGTH)))
    (note,) = (await api.get(f"{CALLS}/{made['sid']}/Notifications.json")).json()["notifications"]
    assert note["error_code"] == "11200" and "ConnectError" in note["message_text"]
    assert (await api.get(f"{CALLS}/{placeholder['sid']}/Notifications.json")).json()["notifications"] == []
    assert [e["error"] for e in sandbox.dialer.runs[placeholder["sid"]].log] == [
        "not requested: a reserved example host"
    ] * 2


async def test_a_call_made_without_a_url_runs_its_twiml_and_requests_nothing(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    made = await make(api, Url="", Twiml=twiml("<Pause length='4'/>"))
    await to_the_end(sandbox, clock, made["sid"])
    assert app.seen == [] and (await fetch(api, made["sid"]))["duration"] == talked(4)
    plain = await make(api, Url="", ApplicationSid="AP" + "0" * 32)
    clock.advance(100)
    assert sandbox.dialer.state(plain["sid"]) == "none" and app.seen == []


async def test_a_redirect_through_the_api_fetches_the_new_url_then(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    app.answer("/voice", twiml("<Pause length='60'/>"))
    app.answer("/other", twiml("<Say>moved</Say>"))
    made = await make(api)
    clock.advance(2 * STEP + 3)
    await sandbox.dialer.settle(made["sid"])
    moved = await api.post(f"{CALLS}/{made['sid']}.json", data={"Url": f"{BASE}/other", "Method": "GET"})
    assert moved.status_code == 200
    log = await to_the_end(sandbox, clock, made["sid"])
    assert app.paths() == ["/voice", "/other"] and app.at("/other")[0].method == "GET"
    assert log[1]["at"] - log[0]["at"] == 3
    assert (await fetch(api, made["sid"]))["duration"] == talked(4)


async def test_hanging_up_through_the_api_stops_the_script(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    app.answer("/voice", twiml("<Pause length='10'/>", "<Redirect>/next</Redirect>"))
    made = await make(api, StatusCallback=f"{BASE}/status")
    clock.advance(2 * STEP + 2)
    await sandbox.dialer.settle(made["sid"])
    await api.post(f"{CALLS}/{made['sid']}.json", data={"Status": "completed"})
    await to_the_end(sandbox, clock, made["sid"])
    assert app.paths() == ["/voice", "/status"]
    assert app.one("/status")["CallDuration"] == talked(2)


async def test_a_twiml_loop_without_pause_is_hung_up(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    app.answer("/voice", twiml("<Redirect>/voice</Redirect>"))
    made = await make(api)
    await to_the_end(sandbox, clock, made["sid"])
    assert 15 < len(app.at("/voice")) < 30
    (note,) = (await api.get(f"{CALLS}/{made['sid']}/Notifications.json")).json()["notifications"]
    assert note["error_code"] == "11215"


@pytest.mark.parametrize("simulation", [Simulation(callback_repeats=2)])
async def test_a_status_callback_can_be_sent_twice_as_a_retry(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    made = await make(api, StatusCallback=f"{BASE}/status")
    await to_the_end(sandbox, clock, made["sid"])
    first, again = app.at("/status")
    assert first.params == again.params and first.signed and again.signed
    token = "i-twilio-idempotency-token"
    assert first.headers[token] == again.headers[token]


@pytest.mark.parametrize("simulation", [Simulation(digits=("7#",))])
async def test_the_default_digit_script(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    app.answer("/voice", twiml('<Gather action="/got"/>'))
    made = await make(api)
    await to_the_end(sandbox, clock, made["sid"])
    assert app.one("/got")["Digits"] == "7"


async def test_credentials_in_a_url_are_sent_but_never_logged(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    app.answer("/voice", "nope", status=500)
    made = await make(api, Url="http://user:s3cret@app.test/voice")
    await to_the_end(sandbox, clock, made["sid"])
    (seen,) = app.at("/voice")
    assert seen.headers["authorization"] == httpx.BasicAuth("user", "s3cret")._auth_header
    (note,) = (await api.get(f"{CALLS}/{made['sid']}/Notifications.json")).json()["notifications"]
    assert "s3cret" not in str(note) and "s3cret" not in str(sandbox.dialer.runs[made["sid"]].log)


async def test_redirects_are_followed_each_hop_signed_and_cookies_kept_for_the_call(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    app.answer("/voice", "", status=302, headers={"Location": "/moved?step=2", "Set-Cookie": "session=abc"})
    app.answer("/moved", twiml('<Gather action="/next"/>'))
    made = await make(api)
    await api.post(f"/sandbox/Calls/{made['sid']}/Digits", data={"Digits": "5#"})
    await to_the_end(sandbox, clock, made["sid"])
    assert app.paths() == ["/voice", "/moved", "/next"]
    moved = app.at("/moved")[0]
    assert moved.method == "GET" and moved.signed and moved.params["step"] == "2"
    assert moved.params["CallSid"] == made["sid"]
    assert "session=abc" in app.at("/next")[0].headers["cookie"]
    other = await make(api)
    await to_the_end(sandbox, clock, other["sid"])
    assert "cookie" not in app.at("/voice")[1].headers  # one jar per call


async def test_a_redirect_gives_a_call_without_a_document_one_from_then_on(
    api: httpx.AsyncClient, sandbox: Any, app: TwimlApp, clock: Clock
) -> None:
    made = await make(api, Url="http://app.example/voice")
    clock.advance(2 * STEP + 5)
    assert sandbox.dialer.state(made["sid"]) == "none"
    await api.post(f"{CALLS}/{made['sid']}.json", data={"Url": f"{BASE}/late"})
    log = await to_the_end(sandbox, clock, made["sid"])
    assert app.paths() == ["/late"] and log[0]["at"] == made_at(made) + 2 * STEP + 5
    assert (await fetch(api, made["sid"]))["duration"] == talked(5)


def made_at(made: dict[str, Any]) -> float:
    from email.utils import parsedate_to_datetime

    return parsedate_to_datetime(made["date_created"]).timestamp()
