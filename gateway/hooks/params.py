"""Twilio's 2010-04-01 callback parameters → the 2008-08-01 request the legacy app expects.

One table per kind of callback, in the shape of the 2008 pages' parameter tables: each row a 2008
parameter, the 2010 parameters it is read from (first non-empty wins), whether it is a phone number
(``+1`` and ten digits become the ten digits; anything else, ``anonymous`` included, is left as it is)
and its value map. Where the 2008 pages disagree with each other or with today's Twilio, the choice
is pinned in ``tests/hooks/test_params.py``. Parameters that only 2010 has are dropped unless the
tenant asked to keep them (``extra_keep``): then every 2010 parameter the table did not produce is
passed on, as Twilio sent it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gateway.dialect import phone

from .urls import Hook, Kind

LEGACY_VERSION = "2008-08-01"


@dataclass(frozen=True, slots=True)
class Context:
    hook: Hook
    legacy_base: str


Derive = Callable[[Mapping[str, str], Context], str | None]


@dataclass(frozen=True, slots=True)
class Field:
    legacy: str
    sources: tuple[str, ...] = ()
    """2010 names read, in order; empty means the 2008 name."""
    number: bool = False
    values: Mapping[str, str | None] | None = None
    """2010 value → 2008 value; ``None`` leaves the parameter out. Values not listed pass unchanged,
    unless ``closed``: then they too leave it out."""
    closed: bool = False
    required: bool = False
    """Without a value here the app is not called at all (``translate`` answers ``None``)."""
    derive: Derive | None = None
    """Computes the value instead (legacy URLs, the first request's DialStatus)."""


# --- value maps --------------------------------------------------------------------------------------

# twiml-request.complete.md: in-progress, completed, busy, failed, no-answer.
CALL_STATUS: Mapping[str, str | None] = {
    "queued": "in-progress",
    "initiated": "in-progress",
    "ringing": "in-progress",
    "canceled": "no-answer",
}
# twiml-dial.md: answered, busy, no-answer, failed.
DIAL_STATUS: Mapping[str, str | None] = {
    "completed": "answered",
    "answered": "answered",
    "in-progress": "answered",
    "busy": "busy",
    "no-answer": "no-answer",
    "failed": "failed",
    "canceled": "no-answer",
}
# making-calls.md: the outcome of a call that was never answered, as DialStatus on its URL.
UNANSWERED: Mapping[str, str] = {
    "busy": "busy",
    "no-answer": "no-answer",
    "failed": "fail",
    "canceled": "no-answer",
}
# sms.md / twiml-sms-sms.md: a status callback says sent or failed, once the message is sent or not.
SMS_STATUS: Mapping[str, str | None] = {
    "sent": "sent",
    "delivered": "sent",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}
# twiml-sms-sms.md: the action of <Sms> learns "sending" or "invalid".
SMS_ACTION: Mapping[str, str | None] = {
    **{status: "sending" for status in ("accepted", "scheduled", "queued", "sending", "sent", "delivered")},
    **{status: "invalid" for status in ("failed", "undelivered", "canceled")},
}

# --- derived values ----------------------------------------------------------------------------------

_RECORDING = re.compile(r"/Recordings/(RE[0-9a-fA-F]{32})")
_TRANSCRIPTION = re.compile(r"/Transcriptions/(TR[0-9a-fA-F]{32})")
_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")


def _account(params: Mapping[str, str], ctx: Context) -> str | None:
    return params.get("AccountSid") or ctx.hook.account or None


def _legacy_url(collection: str, sid: str | None, params: Mapping[str, str], ctx: Context) -> str | None:
    account = _account(params, ctx)
    if not sid or account is None or not _SID.fullmatch(account):
        return None
    base = ctx.legacy_base.rstrip("/")
    return f"{base}/{LEGACY_VERSION}/Accounts/{account}/{collection}/{sid}"


def _sid(params: Mapping[str, str], name: str, url_name: str, pattern: re.Pattern[str]) -> str | None:
    sid = params.get(name)
    if sid and _SID.fullmatch(sid):
        return sid
    found = pattern.search(params.get(url_name, ""))
    return found.group(1) if found else None


def recording_url(params: Mapping[str, str], ctx: Context) -> str | None:
    sid = _sid(params, "RecordingSid", "RecordingUrl", _RECORDING)
    return _legacy_url("Recordings", sid, params, ctx)


def transcription_url(params: Mapping[str, str], ctx: Context) -> str | None:
    sid = _sid(params, "TranscriptionSid", "TranscriptionUrl", _TRANSCRIPTION)
    return _legacy_url("Transcriptions", sid, params, ctx)


def is_machine(answered_by: str | None) -> bool:
    """``machine_start``, ``machine_end_beep`` … and ``fax``; ``human`` and ``unknown`` are not."""
    value = (answered_by or "").lower()
    return value.startswith("machine") or value == "fax"


def _if_machine(hook: Hook) -> str:
    return (hook.get("if_machine") or "").lower()


def first_dial_status(params: Mapping[str, str], ctx: Context) -> str:
    """DialStatus of a call's first request (twiml-request.complete.md, making-calls.md)."""
    mode = _if_machine(ctx.hook)
    if mode not in ("continue", "hangup"):
        return "answered"
    if not is_machine(params.get("AnsweredBy")):
        return "answered-human"
    return "hangup-machine" if mode == "hangup" else "answered-machine"


def hangs_up_on_machine(params: Mapping[str, str], hook: Hook) -> bool:
    """Whether a call's first request is one Twilio must be answered ``<Hangup/>`` for: IfMachine=Hangup
    and a machine answered. The app is still called, told ``DialStatus=hangup-machine``; its answer
    does not matter (making-calls.md)."""
    return (
        hook.kind in (Kind.VOICE, Kind.VOICE_FALLBACK)
        and _if_machine(hook) == "hangup"
        and is_machine(params.get("AnsweredBy"))
    )


# --- the tables --------------------------------------------------------------------------------------


def _geography(legacy: str, upstream: str) -> tuple[Field, ...]:
    return tuple(
        Field(legacy + part, (legacy + part, upstream + part)) for part in ("City", "State", "Zip", "Country")
    )


VOICE: tuple[Field, ...] = (
    Field("CallSid", required=True),
    Field("AccountSid", derive=_account),
    Field("Caller", ("Caller", "From"), number=True),
    Field("Called", ("Called", "To"), number=True),
    Field("CallStatus", values=CALL_STATUS),
    *_geography("Caller", "From"),
    *_geography("Called", "To"),
)
FIRST: tuple[Field, ...] = (*VOICE, Field("DialStatus", derive=first_dial_status))
SMS: tuple[Field, ...] = (
    # receiving-sms.complete.md calls it SmsMessageSid, twiml-sms-request.md SmsSid: both are sent.
    Field("SmsSid", ("SmsSid", "MessageSid", "SmsMessageSid"), required=True),
    Field("SmsMessageSid", ("SmsMessageSid", "MessageSid", "SmsSid")),
    Field("AccountSid", derive=_account),
    Field("From", number=True),
    Field("To", number=True),
    Field("Body"),
    *_geography("From", "From"),
    *_geography("To", "To"),
)
_MESSAGE_SID = Field("SmsSid", ("SmsSid", "MessageSid"), required=True)
_MESSAGE_STATUS = ("MessageStatus", "SmsStatus")

TABLES: Mapping[str, tuple[Field, ...]] = {
    Kind.VOICE: FIRST,
    Kind.VOICE_FALLBACK: FIRST,
    Kind.REDIRECT: VOICE,
    Kind.STATUS: VOICE,
    Kind.GATHER: (*VOICE, Field("Digits")),
    Kind.RECORD: (
        *VOICE,
        Field("RecordingUrl", derive=recording_url),
        Field("Duration", ("RecordingDuration", "Duration")),
        Field("Digits"),
    ),
    Kind.DIAL: (*VOICE, Field("DialStatus", ("DialCallStatus", "DialStatus"), values=DIAL_STATUS)),
    Kind.TRANSCRIBE: (
        *VOICE,
        Field("TranscriptionText"),
        Field("TranscriptionStatus"),
        Field("TranscriptionUrl", derive=transcription_url),
        Field("RecordingUrl", derive=recording_url),
    ),
    Kind.SMS: SMS,
    Kind.SMS_FALLBACK: SMS,
    Kind.SMS_STATUS: (
        _MESSAGE_SID,
        Field("SmsStatus", _MESSAGE_STATUS, values=SMS_STATUS, closed=True, required=True),
    ),
    Kind.SMS_ACTION: (
        _MESSAGE_SID,
        Field("SmsStatus", _MESSAGE_STATUS, values=SMS_ACTION, closed=True, required=True),
    ),
}


# --- the translation ---------------------------------------------------------------------------------


def _read(params: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    present = [params[name] for name in names if name in params]
    return next((value for value in present if value), present[0] if present else None)


def _value(field: Field, params: Mapping[str, str], ctx: Context) -> str | None:
    if field.derive is not None:
        return field.derive(params, ctx)
    value = _read(params, field.sources or (field.legacy,))
    if value is None:
        return None
    if field.values is not None and (field.closed or value in field.values):
        return field.values.get(value)
    return phone.to_legacy(value) if field.number else value


def translate(
    kind: str, params: Mapping[str, str], *, extra_keep: bool, legacy_base: str, hook: Hook
) -> dict[str, str] | None:
    """The 2008 parameters of the app's request, or ``None`` when there is nothing to tell it (a callback
    without its key parameter, an SMS status that is not final yet)."""
    table = TABLES.get(kind)
    if table is None:
        raise ValueError(f"unknown hook kind {kind!r}")
    ctx = Context(hook=hook, legacy_base=legacy_base)
    out: dict[str, str] = {}
    for field in table:
        value = _value(field, params, ctx)
        if value is None:
            if field.required:
                return None
            continue
        out[field.legacy] = value
    if extra_keep:
        for name, value in params.items():
            out.setdefault(name, value)
    return out


def status_followup(
    params: Mapping[str, str], hook: Hook, *, legacy_base: str = "", extra_keep: bool = False
) -> tuple[str, str, dict[str, str]] | None:
    """What a call's status callback becomes: ``(method, app URL, 2008 parameters)``, or ``None``.

    2008 requested the call's first URL once more when the call ended (``CallStatus=completed``), and
    requested it with ``DialStatus`` busy, no-answer or fail when an outgoing call was never answered
    (twiml-request.complete.md, making-calls.md). The URL is ``call_url``/``call_method`` from the
    hook's extra when given, else the hook's own URL and method."""
    status = params.get("CallStatus", "")
    if status != "completed" and status not in UNANSWERED:
        return None
    form = translate(Kind.STATUS, params, extra_keep=extra_keep, legacy_base=legacy_base, hook=hook)
    if form is None:
        return None
    if status in UNANSWERED:
        form["DialStatus"] = UNANSWERED[status]
    method = (hook.get("call_method") or hook.method).upper()
    return ("GET" if method == "GET" else "POST"), hook.get("call_url") or hook.url, form
