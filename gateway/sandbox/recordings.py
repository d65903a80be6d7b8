"""The sandbox's recordings and transcriptions, and the audio behind them.

A call made with ``Record=true`` leaves a recording of its answered part when it ends (none if nobody
answered), with a ``RecordingStatusCallback`` if one was given; ``Transcribe=true`` in the call's ``Url``
query has it transcribed (a stand-in, as ``Dial=`` is, for calls no application answers). ``<Record>``
verbs the dialer runs (:mod:`.verbs`) make recordings and transcriptions here too. A transcription is
``in-progress`` for one step, then ``completed``.

The audio is served by :mod:`.media`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import call_logs
from .notifications import Webhooks
from .store import Ordered, Store, new_sid, newest
from .values import dated, newest_first, rfc2822
from .voice import Call, Entry, Voice
from .voice_api import API, CallsBehaviour

RECORDINGS = API + "/Recordings.json"
RECORDING = API + "/Recordings/{Sid}.json"
TRANSCRIPTIONS = API + "/Transcriptions.json"
TRANSCRIPTION = API + "/Transcriptions/{Sid}.json"
RECORDING_TRANSCRIPTIONS = API + "/Recordings/{RecordingSid}/Transcriptions.json"
RECORDING_TRANSCRIPTION = API + "/Recordings/{RecordingSid}/Transcriptions/{Sid}.json"
TRANSCRIPTION_PRICE = -0.05


@dataclass
class Transcription:
    seq: int
    sid: str
    account_sid: str
    recording: Entry
    created: float
    done: float

    @property
    def key(self) -> tuple[float, int]:
        return (-self.created, -self.seq)

    def completed(self, now: float) -> bool:
        return now >= self.done

    @property
    def text(self) -> str:
        seconds = seconds_of(self.recording)
        return f"Hello, this is a sandbox recording of {seconds} seconds. Grüße — ¡hola!"


@dataclass
class Pending:
    call: Call
    transcribe: bool
    callback: str | None
    method: str


def seconds_of(recording: Entry) -> int:
    return int(recording.data.get("duration") or 0)


@dataclass
class Recordings:
    """The account-wide view of the calls' recordings (kept with each call, :meth:`Voice.log`), newest
    first, and every account's transcriptions (also by recording)."""

    store: Store
    voice: Voice
    webhooks: Webhooks
    step: float = 2.0
    media_redirect: str | None = None
    index: dict[str, Ordered] = field(default_factory=dict)
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    """The unguessable name of a recording's audio on the storage host → (account, recording sid)."""
    transcriptions: dict[str, Ordered] = field(default_factory=dict)
    by_recording: dict[tuple[str, str], Ordered] = field(default_factory=dict)
    pending: dict[str, Pending] = field(default_factory=dict)
    storage_requests: list[tuple[str, bool]] = field(default_factory=list)
    """(path, whether an Authorization header came) for every storage request."""
    _synced: dict[str, int] = field(default_factory=dict)

    def add(self, call: Call, seconds: int, at: float, source: str = "RecordVerb") -> Entry:
        entry = call_logs.recording(self.voice, call.sid, call.account_sid, at, seconds)
        assert entry is not None
        entry.data["source"] = source
        return entry

    def sync(self, account: str) -> Ordered:
        """The account's recordings, newest first, as the calls hold them now."""
        if account in self.index and self._synced.get(account) == Ordered.changes:
            return self.index[account]
        calls = self.voice.calls.get(account)
        current = {e.sid: e for c in (calls.values() if calls else ()) for e in c.recordings.values()}
        ordered = self.index.setdefault(account, Ordered())
        ordered.mirror(current, newest)
        self._synced[account] = Ordered.changes
        return ordered

    def find(self, account: str, sid: str) -> Entry | None:
        found: Entry | None = self.sync(account).get(sid)
        return found

    def delete(self, entry: Entry) -> None:
        entry.call.recordings.remove(entry.seq)
        self.index[entry.call.account_sid].remove((-entry.created, -entry.seq))

    def token(self, entry: Entry) -> str:
        known = (entry.call.account_sid, entry.sid)
        found = next((token for token, named in self.tokens.items() if named == known), None)
        if found is None:
            found = secrets.token_urlsafe(24)
            self.tokens[found] = known
        return found

    def by_token(self, token: str) -> Entry | None:
        named = self.tokens.get(token)
        return self.find(*named) if named is not None else None

    def transcribe(self, recording: Entry, at: float) -> Transcription:
        account = recording.call.account_sid
        item = Transcription(self.store._next(), new_sid("TR"), account, recording, at, at + self.step)
        self.transcriptions.setdefault(account, Ordered()).add(item.key, item)
        self.by_recording.setdefault((account, recording.sid), Ordered()).add(item.key, item)
        return item

    def delete_transcription(self, item: Transcription) -> None:
        self.transcriptions[item.account_sid].remove(item.key)
        self.by_recording[(item.account_sid, item.recording.sid)].remove(item.key)

    def refresh(self) -> None:
        """Makes the recordings of recorded calls that ended by now."""
        self.voice.refresh()
        now = self.voice.clock()
        for sid, wanted in list(self.pending.items()):
            end = wanted.call.ended(now)
            if end is None:
                continue
            del self.pending[sid]
            answered = wanted.call.reached("in-progress", now)
            if answered is None:
                continue
            recording = self.add(wanted.call, max(1, int(end - answered)), end, "OutboundAPI")
            if wanted.transcribe:
                self.transcribe(recording, end)
            if wanted.callback:
                params = {
                    "AccountSid": wanted.call.account_sid,
                    "CallSid": sid,
                    "RecordingSid": recording.sid,
                    "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{wanted.call.account_sid}"
                    f"/Recordings/{recording.sid}",
                    "RecordingStatus": "completed",
                    "RecordingDuration": str(seconds_of(recording)),
                }
                self.webhooks.send(wanted.call.account_sid, sid, wanted.callback, wanted.method, params)


class WithRecordings:
    """Another behaviour (a call's own logs), refreshed with the recordings: a call made with
    ``Record=true`` shows its recording there as soon as it ends."""

    def __init__(self, inner: Any, recordings: Recordings) -> None:
        self.inner = inner
        self.recordings = recordings

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def refresh(self) -> None:
        self.recordings.refresh()


class RecordedCalls(CallsBehaviour):
    """The Calls behaviour, plus: ``Record=true`` leaves a recording when the call ends."""

    def __init__(self, voice: Voice, recordings: Recordings) -> None:
        super().__init__(voice)
        self.recordings = recordings

    def refresh(self) -> None:
        self.recordings.refresh()

    def create(self, path: Mapping[str, str], form: dict[str, str]) -> Call:
        call = super().create(path, form)
        if form.get("Record", "").lower() == "true":
            query = dict(parse_qsl(urlsplit(form.get("Url", "")).query))
            self.recordings.pending[call.sid] = Pending(
                call,
                query.get("Transcribe", "").lower() == "true",
                form.get("RecordingStatusCallback") or None,
                form.get("RecordingStatusCallbackMethod", "POST"),
            )
        return call


def render_recording(item: Entry) -> dict[str, Any]:
    call = item.call
    base = f"/2010-04-01/Accounts/{call.account_sid}/Recordings/{item.sid}"
    price = item.data.get("price")
    return {
        "account_sid": call.account_sid,
        "api_version": "2010-04-01",
        "call_sid": call.sid,
        "conference_sid": None,
        "date_created": rfc2822(item.created),
        "date_updated": rfc2822(item.created),
        "start_time": item.data.get("start_time"),
        "duration": item.data.get("duration"),
        "sid": item.sid,
        "price": f"{price:.5f}" if isinstance(price, float) else price,
        "price_unit": "USD",
        "status": item.data.get("status", "completed"),
        "channels": item.data.get("channels", 1),
        "source": item.data.get("source", "RecordVerb"),
        "error_code": None,
        "uri": base + ".json",
        "encryption_details": None,
        "subresource_uris": {
            "add_on_results": base + "/AddOnResults.json",
            "transcriptions": base + "/Transcriptions.json",
        },
        "media_url": f"https://api.twilio.com{base}",
    }


class RecordingsBehaviour:
    """``/Recordings`` (``CallSid``, ``DateCreated`` filters); deleting one removes it from its call."""

    def __init__(self, recordings: Recordings) -> None:
        self.recordings = recordings
        self.filters: Mapping[str, Callable[[Any, str], bool]] = {
            "CallSid": lambda r, v: r.call.sid == v,
            **dated("DateCreated", lambda r: r.created),
        }
        self.span = newest_first("DateCreated")

    def refresh(self) -> None:
        self.recordings.refresh()

    def scope(self, path: Mapping[str, str]) -> Ordered | None:
        return self.recordings.sync(path["AccountSid"])

    def find(self, path: Mapping[str, str]) -> Entry | None:
        return self.recordings.find(path["AccountSid"], path["Sid"])

    def delete(self, item: Entry) -> None:
        self.recordings.delete(item)

    def render(self, item: Entry) -> dict[str, Any]:
        return render_recording(item)

    def settled(self, item: Entry) -> bool:
        """A recording's JSON is fixed when it is made: it is encoded once, for every page after."""
        return True

    def everything(self) -> Iterator[Entry]:
        """Every account's recordings, its list built now rather than on its first page."""
        for account in list(self.recordings.voice.calls):
            yield from self.recordings.sync(account).values()


class TranscriptionsBehaviour:
    """``/Transcriptions`` or, ``by_recording``, a recording's transcriptions."""

    filters: Mapping[str, Callable[[Any, str], bool]] = {}

    def __init__(self, recordings: Recordings, by_recording: bool) -> None:
        self.recordings = recordings
        self.by_recording = by_recording

    def refresh(self) -> None:
        self.recordings.refresh()

    def scope(self, path: Mapping[str, str]) -> Ordered | None:
        if self.by_recording:
            return self.recordings.by_recording.get((path["AccountSid"], path["RecordingSid"]))
        return self.recordings.transcriptions.get(path["AccountSid"])

    def find(self, path: Mapping[str, str]) -> Transcription | None:
        ordered = self.scope(path)
        found: Transcription | None = ordered.get(path["Sid"]) if ordered is not None else None
        return found

    def delete(self, item: Transcription) -> None:
        self.recordings.delete_transcription(item)

    def render(self, item: Transcription) -> dict[str, Any]:
        done = item.completed(self.recordings.voice.clock())
        return {
            "account_sid": item.account_sid,
            "api_version": "2010-04-01",
            "date_created": rfc2822(item.created),
            "date_updated": rfc2822(item.done if done else item.created),
            "duration": str(seconds_of(item.recording)),
            "price": TRANSCRIPTION_PRICE if done else None,
            "price_unit": "USD",
            "recording_sid": item.recording.sid,
            "sid": item.sid,
            "status": "completed" if done else "in-progress",
            "transcription_text": item.text if done else None,
            "type": "fast",
            "uri": f"/2010-04-01/Accounts/{item.account_sid}/Transcriptions/{item.sid}.json",
        }
