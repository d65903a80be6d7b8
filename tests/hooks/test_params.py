from __future__ import annotations

import pytest

from gateway.hooks.params import TABLES, hangs_up_on_machine, status_followup, translate
from gateway.hooks.urls import Hook, Kind

AC = "AC" + "a" * 32
CA = "CA" + "b" * 32
RE = "RE" + "c" * 32
TR = "TR" + "d" * 32
SM = "SM" + "e" * 32
LEGACY = "https://gw.example.com"
APP = "https://app.example.com/call.php"

# A 2010 voice request as Twilio sends it today.
VOICE_2010 = {
    "AccountSid": AC,
    "ApiVersion": "2010-04-01",
    "CallSid": CA,
    "CallStatus": "ringing",
    "Called": "+14155551212",
    "CalledCity": "SAN FRANCISCO",
    "CalledCountry": "US",
    "CalledState": "CA",
    "CalledZip": "94105",
    "Caller": "+14158675309",
    "CallerCity": "OAKLAND",
    "CallerCountry": "US",
    "CallerState": "CA",
    "CallerZip": "94612",
    "Direction": "inbound",
    "From": "+14158675309",
    "FromCity": "OAKLAND",
    "FromCountry": "US",
    "FromState": "CA",
    "FromZip": "94612",
    "To": "+14155551212",
    "ToCity": "SAN FRANCISCO",
    "ToCountry": "US",
    "ToState": "CA",
    "ToZip": "94105",
    "CallToken": "%7B%22parentCallInfoToken%22%7D",
    "StirVerstat": "TN-Validation-Passed-A",
}
VOICE_2008 = {
    "CallSid": CA,
    "AccountSid": AC,
    "Caller": "4158675309",
    "Called": "4155551212",
    "CallStatus": "in-progress",
    "CallerCity": "OAKLAND",
    "CallerState": "CA",
    "CallerZip": "94612",
    "CallerCountry": "US",
    "CalledCity": "SAN FRANCISCO",
    "CalledState": "CA",
    "CalledZip": "94105",
    "CalledCountry": "US",
}


def hook(kind: str, *extra: tuple[str, str], url: str = APP, method: str = "POST") -> Hook:
    return Hook(kind=kind, account=AC, url=url, method=method, extra=extra)


Form = dict[str, str]


def run(kind: str, params: Form, *extra: tuple[str, str], keep: bool = False) -> Form | None:
    return translate(kind, params, extra_keep=keep, legacy_base=LEGACY, hook=hook(kind, *extra))


def test_every_kind_has_a_table() -> None:
    assert set(TABLES) == {kind.value for kind in Kind}


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError):
        run("nope", VOICE_2010)


def test_first_voice_request_is_the_2008_request_with_dial_status_answered() -> None:
    assert run("voice", VOICE_2010) == {**VOICE_2008, "DialStatus": "answered"}


def test_2010_only_parameters_kept_when_asked_and_2008_names_win() -> None:
    out = run("voice", VOICE_2010, keep=True)
    assert out is not None
    assert out["Direction"] == "inbound" and out["ApiVersion"] == "2010-04-01"
    assert out["From"] == "+14158675309"  # kept as Twilio sent it
    assert out["Caller"] == "4158675309" and out["CallStatus"] == "in-progress"


def test_caller_and_called_come_from_from_and_to_when_twilio_omits_them() -> None:
    params = {k: v for k, v in VOICE_2010.items() if not k.startswith(("Caller", "Called"))}
    assert run("redirect", params) == VOICE_2008


@pytest.mark.parametrize(
    ("number", "legacy"),
    [
        ("+14158675309", "4158675309"),
        ("+442071838750", "+442071838750"),
        ("anonymous", "anonymous"),
        ("Anonymous", "Anonymous"),
        ("unknown", "unknown"),
        ("client:alice", "client:alice"),
        ("266696687", "266696687"),
        ("", ""),
    ],
)
def test_numbers_are_ten_digits_only_when_nanp(number: str, legacy: str) -> None:
    out = run("redirect", {**VOICE_2010, "Caller": number, "From": number})
    assert out is not None and out["Caller"] == legacy


@pytest.mark.parametrize(
    ("status", "legacy"),
    [
        ("queued", "in-progress"),
        ("ringing", "in-progress"),
        ("in-progress", "in-progress"),
        ("completed", "completed"),
        ("busy", "busy"),
        ("failed", "failed"),
        ("no-answer", "no-answer"),
        ("canceled", "no-answer"),
    ],
)
def test_call_status_as_twiml_request_page_names_it(status: str, legacy: str) -> None:
    out = run("gather", {**VOICE_2010, "CallStatus": status})
    assert out is not None and out["CallStatus"] == legacy


@pytest.mark.parametrize(
    ("if_machine", "answered_by", "dial_status"),
    [
        (None, "human", "answered"),
        (None, "machine_start", "answered"),
        ("Continue", "human", "answered-human"),
        ("Continue", "unknown", "answered-human"),  # not detected as a machine: the call proceeds
        ("continue", "machine_end_beep", "answered-machine"),
        ("Continue", "fax", "answered-machine"),
        ("Hangup", "human", "answered-human"),
        ("Hangup", "machine_start", "hangup-machine"),
        ("hangup", "machine_end_silence", "hangup-machine"),
        ("Hangup", None, "answered-human"),
    ],
)
def test_first_request_dial_status_from_if_machine(
    if_machine: str | None, answered_by: str | None, dial_status: str
) -> None:
    params = dict(VOICE_2010, **({"AnsweredBy": answered_by} if answered_by else {}))
    extra = (("if_machine", if_machine),) if if_machine else ()
    out = run("voice", params, *extra)
    assert out is not None and out["DialStatus"] == dial_status
    assert "AnsweredBy" not in out


def test_hang_up_on_machine_decision() -> None:
    machine = {**VOICE_2010, "AnsweredBy": "machine_start"}
    assert hangs_up_on_machine(machine, hook("voice", ("if_machine", "Hangup")))
    assert not hangs_up_on_machine(machine, hook("voice", ("if_machine", "Continue")))
    assert not hangs_up_on_machine(machine, hook("voice"))
    human = {**machine, "AnsweredBy": "human"}
    assert not hangs_up_on_machine(human, hook("voice", ("if_machine", "Hangup")))
    assert not hangs_up_on_machine(machine, hook("gather", ("if_machine", "Hangup")))


def test_only_first_requests_carry_dial_status() -> None:
    for kind in ("redirect", "gather", "record", "transcribe", "status"):
        out = run(kind, VOICE_2010)
        assert out is not None and "DialStatus" not in out
    out = run("voice-fallback", VOICE_2010)
    assert out is not None and out["DialStatus"] == "answered"


def test_gather_sends_digits() -> None:
    out = run("gather", {**VOICE_2010, "Digits": "1234", "FinishedOnKey": "#"})
    assert out == {**VOICE_2008, "Digits": "1234"}


RECORD_2010 = {
    **VOICE_2010,
    "CallStatus": "in-progress",
    "RecordingSid": RE,
    "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{AC}/Recordings/{RE}",
    "RecordingDuration": "15",
    "Digits": "#",
}


def test_record_sends_the_legacy_recording_url_duration_and_digits() -> None:
    out = run("record", RECORD_2010)
    assert out == {
        **VOICE_2008,
        "RecordingUrl": f"{LEGACY}/2008-08-01/Accounts/{AC}/Recordings/{RE}",
        "Duration": "15",
        "Digits": "#",
    }


def test_record_url_parsed_from_the_2010_url_without_a_sid() -> None:
    params = {k: v for k, v in RECORD_2010.items() if k != "RecordingSid"}
    out = run("record", params)
    assert out is not None
    assert out["RecordingUrl"] == f"{LEGACY}/2008-08-01/Accounts/{AC}/Recordings/{RE}"


@pytest.mark.parametrize("bad", ["RE123", "https://evil.example.com/x", "../../etc", ""])
def test_record_url_is_never_built_from_something_that_is_not_a_sid(bad: str) -> None:
    params = {k: v for k, v in RECORD_2010.items() if k != "RecordingSid"}
    out = run("record", {**params, "RecordingUrl": bad})
    assert out is not None and "RecordingUrl" not in out


def test_record_url_needs_a_real_account_sid() -> None:
    out = run("record", {**RECORD_2010, "AccountSid": "AC/../x"})
    assert out is not None and "RecordingUrl" not in out


@pytest.mark.parametrize(
    ("dial", "legacy"),
    [
        ("completed", "answered"),
        ("answered", "answered"),
        ("busy", "busy"),
        ("no-answer", "no-answer"),
        ("failed", "failed"),
        ("canceled", "no-answer"),
    ],
)
def test_dial_status_as_the_dial_page_names_it(dial: str, legacy: str) -> None:
    out = run("dial", {**VOICE_2010, "DialCallStatus": dial, "DialCallSid": CA, "DialCallDuration": "3"})
    assert out == {**VOICE_2008, "DialStatus": legacy}


def test_transcription_callback() -> None:
    params = {
        **VOICE_2010,
        "CallStatus": "completed",
        "TranscriptionSid": TR,
        "TranscriptionText": "hello there",
        "TranscriptionStatus": "completed",
        "TranscriptionUrl": f"https://api.twilio.com/2010-04-01/Accounts/{AC}/Recordings/{RE}/Transcriptions/{TR}",
        "RecordingSid": RE,
        "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{AC}/Recordings/{RE}",
    }
    assert run("transcribe", params) == {
        **VOICE_2008,
        "CallStatus": "completed",
        "TranscriptionText": "hello there",
        "TranscriptionStatus": "completed",
        "TranscriptionUrl": f"{LEGACY}/2008-08-01/Accounts/{AC}/Transcriptions/{TR}",
        "RecordingUrl": f"{LEGACY}/2008-08-01/Accounts/{AC}/Recordings/{RE}",
    }


SMS_2010 = {
    "ToCountry": "US",
    "ToState": "CA",
    "SmsMessageSid": SM,
    "NumMedia": "0",
    "ToCity": "SAN FRANCISCO",
    "FromZip": "94612",
    "SmsSid": SM,
    "FromState": "CA",
    "SmsStatus": "received",
    "FromCity": "OAKLAND",
    "Body": "Hello",
    "FromCountry": "US",
    "To": "+14155551212",
    "MessagingServiceSid": "MG" + "f" * 32,
    "ToZip": "94105",
    "NumSegments": "1",
    "MessageSid": SM,
    "AccountSid": AC,
    "From": "+14158675309",
    "ApiVersion": "2010-04-01",
}


def test_incoming_sms_sends_both_sid_names() -> None:
    assert run("sms", SMS_2010) == {
        "SmsSid": SM,
        "SmsMessageSid": SM,
        "AccountSid": AC,
        "From": "4158675309",
        "To": "4155551212",
        "Body": "Hello",
        "FromCity": "OAKLAND",
        "FromState": "CA",
        "FromZip": "94612",
        "FromCountry": "US",
        "ToCity": "SAN FRANCISCO",
        "ToState": "CA",
        "ToZip": "94105",
        "ToCountry": "US",
    }


def test_incoming_sms_with_only_message_sid() -> None:
    params = {k: v for k, v in SMS_2010.items() if k not in ("SmsSid", "SmsMessageSid")}
    out = run("sms-fallback", params)
    assert out is not None and out["SmsSid"] == SM and out["SmsMessageSid"] == SM


def test_empty_sms_body_is_sent_empty() -> None:
    out = run("sms", {**SMS_2010, "Body": ""})
    assert out is not None and out["Body"] == ""


@pytest.mark.parametrize(
    ("status", "legacy"),
    [
        ("sent", "sent"),
        ("delivered", "sent"),
        ("undelivered", "failed"),
        ("failed", "failed"),
        ("queued", None),
        ("sending", None),
        ("accepted", None),
        ("scheduled", None),
        ("read", None),
        ("something-new", None),
    ],
)
def test_sms_status_callback(status: str, legacy: str | None) -> None:
    params = {"MessageSid": SM, "SmsSid": SM, "MessageStatus": status, "SmsStatus": status, "AccountSid": AC}
    expected = None if legacy is None else {"SmsSid": SM, "SmsStatus": legacy}
    assert run("sms-status", params) == expected


@pytest.mark.parametrize(
    ("status", "legacy"), [("queued", "sending"), ("sent", "sending"), ("failed", "invalid"), ("bogus", None)]
)
def test_sms_action(status: str, legacy: str | None) -> None:
    expected = None if legacy is None else {"SmsSid": SM, "SmsStatus": legacy}
    assert run("sms-action", {"MessageSid": SM, "MessageStatus": status}) == expected


def test_callbacks_without_their_sid_call_nobody() -> None:
    assert run("voice", {k: v for k, v in VOICE_2010.items() if k != "CallSid"}) is None
    assert run("sms-status", {"MessageStatus": "sent"}) is None
    assert run("sms", {"Body": "x"}) is None


def test_account_from_the_hook_when_twilio_omits_it() -> None:
    out = run("gather", {k: v for k, v in VOICE_2010.items() if k != "AccountSid"})
    assert out is not None and out["AccountSid"] == AC


def test_hostile_values_pass_as_strings() -> None:
    out = run("gather", {**VOICE_2010, "Digits": "\x00<&>" + "9" * 10_000, "CallerCity": "\udcff"})
    assert out is not None and out["Digits"].startswith("\x00<&>") and out["CallerCity"] == "\udcff"


STATUS_HOOK = hook("status", ("call_url", "https://app.example.com/first.php"), ("call_method", "GET"))


@pytest.mark.parametrize(
    ("status", "dial_status", "call_status"),
    [("busy", "busy", "busy"), ("no-answer", "no-answer", "no-answer"), ("failed", "fail", "failed")],
)
def test_never_answered_calls_request_the_url_with_dial_status(
    status: str, dial_status: str, call_status: str
) -> None:
    # making-calls.md names it "fail"; twiml-request.complete.md says "failed": the outbound page wins.
    followup = status_followup({**VOICE_2010, "CallStatus": status}, STATUS_HOOK, legacy_base=LEGACY)
    assert followup == (
        "GET",
        "https://app.example.com/first.php",
        {**VOICE_2008, "CallStatus": call_status, "DialStatus": dial_status},
    )


def test_canceled_call_is_no_answer() -> None:
    followup = status_followup({**VOICE_2010, "CallStatus": "canceled"}, STATUS_HOOK)
    assert followup is not None and followup[2]["DialStatus"] == "no-answer"


def test_completed_call_requests_the_first_url_again() -> None:
    params = {**VOICE_2010, "CallStatus": "completed", "CallDuration": "42", "Duration": "1"}
    followup = status_followup(params, STATUS_HOOK)
    assert followup == ("GET", "https://app.example.com/first.php", {**VOICE_2008, "CallStatus": "completed"})


def test_status_followup_falls_back_to_the_hooks_own_url() -> None:
    followup = status_followup({**VOICE_2010, "CallStatus": "completed"}, hook("status"))
    assert followup is not None and followup[:2] == ("POST", APP)


@pytest.mark.parametrize("status", ["queued", "initiated", "ringing", "in-progress", "", "bogus"])
def test_intermediate_statuses_request_nothing(status: str) -> None:
    assert status_followup({**VOICE_2010, "CallStatus": status}, STATUS_HOOK) is None
