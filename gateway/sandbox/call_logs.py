"""What a call leaves behind, on the spec-driven engine: ``/Calls/{CallSid}/Recordings`` and
``/Calls/{CallSid}/Notifications`` (lists, instances; a recording can be deleted)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .store import Ordered
from .values import dated, rfc2822
from .voice import Entry, Voice
from .voice_api import API

CALL_RECORDINGS = API + "/Calls/{CallSid}/Recordings.json"
CALL_RECORDING = API + "/Calls/{CallSid}/Recordings/{Sid}.json"
CALL_NOTIFICATIONS = API + "/Calls/{CallSid}/Notifications.json"
CALL_NOTIFICATION = API + "/Calls/{CallSid}/Notifications/{Sid}.json"


class CallLogBehaviour:
    """One of a call's logs (``recordings`` or ``notifications``)."""

    def __init__(self, voice: Voice, kind: str, filters: Mapping[str, Callable[[Any, str], bool]]) -> None:
        self.voice = voice
        self.kind = kind
        self.filters = filters

    def refresh(self) -> None:
        self.voice.refresh()

    def scope(self, path: Mapping[str, str]) -> Ordered | None:
        call = self.voice.find_call(path["AccountSid"], path["CallSid"])
        return getattr(call, self.kind) if call is not None else None

    def find(self, path: Mapping[str, str]) -> Entry | None:
        scope = self.scope(path)
        found: Entry | None = scope.get(path["Sid"]) if scope is not None else None
        return found

    def render(self, entry: Entry) -> dict[str, Any]:
        call = entry.call
        part = "Recordings" if self.kind == "recordings" else "Notifications"
        return {
            "sid": entry.sid,
            "account_sid": call.account_sid,
            "call_sid": call.sid,
            "api_version": "2010-04-01",
            "date_created": rfc2822(entry.created),
            "date_updated": rfc2822(entry.created),
            "uri": f"/2010-04-01/Accounts/{call.account_sid}/Calls/{call.sid}/{part}/{entry.sid}.json",
            **entry.data,
        }


class CallRecordingsBehaviour(CallLogBehaviour):
    def __init__(self, voice: Voice) -> None:
        super().__init__(voice, "recordings", dated("DateCreated", lambda e: e.created))

    def delete(self, entry: Entry) -> None:
        entry.call.recordings.remove(entry.seq)


def recording(voice: Voice, call_sid: str, account: str, at: float, seconds: int) -> Entry | None:
    """A completed recording of ``seconds`` on a call (seeds and tests)."""
    call = voice.find_call(account, call_sid)
    if call is None:
        return None
    return voice.log(
        call,
        "recordings",
        at,
        start_time=rfc2822(at),
        duration=str(seconds),
        price=-0.0025,
        price_unit="USD",
        status="completed",
        channels=1,
        source="RecordVerb",
        track="both",
    )


def notification(voice: Voice, call_sid: str, account: str, at: float, code: int, text: str) -> Entry | None:
    """A failed-webhook notification on a call (seeds and tests)."""
    call = voice.find_call(account, call_sid)
    if call is None:
        return None
    return voice.log(
        call,
        "notifications",
        at,
        error_code=str(code),
        log="0",
        message_date=rfc2822(at),
        message_text=text,
        more_info=f"https://www.twilio.com/docs/errors/{code}",
        request_method=call.method,
        request_url=call.url or "",
        request_variables="",
        response_body="",
        response_headers="",
    )


def behaviours(voice: Voice) -> list[tuple[str, str, Any]]:
    notifications = CallLogBehaviour(
        voice,
        "notifications",
        {"Log": lambda e, v: e.data.get("log") == v, **dated("MessageDate", lambda e: e.created)},
    )
    return [
        (CALL_RECORDINGS, CALL_RECORDING, CallRecordingsBehaviour(voice)),
        (CALL_NOTIFICATIONS, CALL_NOTIFICATION, notifications),
    ]
