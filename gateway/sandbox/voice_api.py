"""The behaviours of the 2010 Calls, Conferences and Participants endpoints on the spec-driven engine:
where items live, their JSON, their filters and what writes do. Everything else comes from the spec."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import phonenumbers

from ..phone import pretty
from .store import Among, Ordered, Span
from .voice import FINAL, Call, Conference, Participant, Voice, duration, price, started

if TYPE_CHECKING:
    from .call_index import CallIndex

API = "/2010-04-01/Accounts/{AccountSid}"
CALLS = API + "/Calls.json"
CALL = API + "/Calls/{Sid}.json"
CONFERENCES = API + "/Conferences.json"
CONFERENCE = API + "/Conferences/{Sid}.json"
PARTICIPANTS = API + "/Conferences/{ConferenceSid}/Participants.json"
PARTICIPANT = API + "/Conferences/{ConferenceSid}/Participants/{CallSid}.json"


def _error(status: int, code: int, message: str) -> Exception:
    from .app import ApiError

    return ApiError(status, code, message)


def rfc2822(at: float | None) -> str | None:
    return None if at is None else _rfc2822(int(at))


DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@functools.lru_cache(maxsize=65536)
def _rfc2822(second: int) -> str:
    """``email.utils.format_datetime`` of the UTC instant, a third of its cost."""
    t = time.gmtime(second)
    clock = f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    return f"{DAYS[t.tm_wday]}, {t.tm_mday:02d} {MONTHS[t.tm_mon - 1]} {t.tm_year:04d} {clock} +0000"


def formatted(e164: str) -> str:
    """``(415) 555-1212``: a NANP number directly (what ``pretty`` answers for every ``+1`` number of
    ten digits that starts with 2–9), others through phonenumbers, cached: the sandbox renders the same
    numbers again and again, and seeded lists hold a hundred thousand different ones."""
    digits = e164[2:]
    if e164[:2] == "+1" and len(digits) == 10 and digits.isdigit() and digits[0] not in "01":
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return _formatted(e164)


_formatted = functools.lru_cache(maxsize=65536)(pretty)


def _instant(value: str) -> tuple[datetime, bool]:
    """A filter value: ``YYYY-MM-DD`` (a whole day) or an ISO 8601 date-time."""
    try:
        if len(value) == 10:
            return datetime.fromisoformat(value).replace(tzinfo=UTC), True
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _error(400, 20001, f"{value!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)), False


@functools.lru_cache(maxsize=1024)
def _window(value: str, op: str) -> tuple[float, float]:
    """The whole seconds ``[low, high]`` a filter keeps (an item shows, and is compared by, the whole
    second it happened in): parsed once per value, not once per item."""
    bound, whole_day = _instant(value)
    start = bound.timestamp()
    last = start + 86399 if whole_day else start
    low = -math.inf if op == "<" else (start if whole_day else math.ceil(start))
    high = math.inf if op == ">" else (last if whole_day else math.floor(last))
    return low, high


def when(read: Callable[[Any], float | None], op: str) -> Callable[[Any, str], bool]:
    """``Name`` (that day, or that instant), ``Name<`` (on or before), ``Name>`` (on or after)."""

    def test(item: Any, value: str) -> bool:
        at = read(item)
        if at is None:
            return False
        low, high = _window(value, op)
        return low <= math.floor(at) <= high

    return test


def newest_first(name: str) -> Callable[[list[tuple[str, str]]], tuple[Any, Any] | None]:
    """The keys a ``name`` filter can keep in a list keyed ``(-created, -seq)`` (newest first) by the
    date it filters: a page of a date range looks at that range, not at the list before it."""

    def span(given: list[tuple[str, str]]) -> tuple[Any, Any] | None:
        low, high = -math.inf, math.inf
        for key, value in given:
            if key.rstrip("<>") == name:
                found = _window(value, key[len(name) :] or "=")
                low, high = max(low, found[0]), min(high, found[1])
        if (low, high) == (-math.inf, math.inf):
            return None
        return (-(high + 1), -math.inf), (-low, math.inf)

    return span


def dated(name: str, read: Callable[[Any], float | None]) -> dict[str, Callable[[Any, str], bool]]:
    return {name + op: when(read, op) for op in ("", "<", ">")}


def boolean(value: str) -> bool:
    return value.strip().lower() == "true"


def e164(raw: str, code: int, name: str | None = None) -> str:
    """``raw`` in E.164 (US by default), else 400 with ``code`` (naming the parameter ``name``, if given)."""
    try:
        number = phonenumbers.parse(raw, "US")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise _error(
            400, code, f"Invalid '{name}' Phone Number: {raw}" if name else f"Invalid Phone Number: {raw}"
        )
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


class CallsBehaviour:
    def __init__(self, voice: Voice) -> None:
        self.voice = voice
        now = voice.clock
        self.filters: Mapping[str, Callable[[Any, str], bool]] = {
            "To": lambda c, v: c.to == v,
            "From": lambda c, v: c.from_ == v,
            "ParentCallSid": lambda c, v: c.parent_call_sid == v,
            "Status": lambda c, v: c.status(now()) == v,
            **dated("StartTime", lambda c: started(c, now())),
            **dated("EndTime", lambda c: c.ended(now())),
        }
        self._index: CallIndex | None = None

    def refresh(self) -> None:
        self.voice.refresh()

    def scope(self, path: Mapping[str, str]) -> Ordered | None:
        return self.voice.calls.get(path["AccountSid"])

    def span_in(self, ordered: Ordered, given: list[tuple[str, str]]) -> Span | None:
        return self._calls_index().span(ordered, given)

    def among(self, ordered: Ordered, given: list[tuple[str, str]]) -> Among | None:
        return self._calls_index().among(ordered, given)

    def warm(self) -> None:
        """Takes the index's bounds of every account's calls now, not on the first filtered page."""
        for ordered in self.voice.calls.values():
            self._calls_index().bounds(ordered)

    def _calls_index(self) -> CallIndex:
        from .call_index import CallIndex

        if self._index is None:
            self._index = CallIndex(self.voice.clock)
        return self._index

    def settled(self, call: Call) -> bool:
        """Nothing about the call can change any more: its JSON is the same on every page."""
        now = self.voice.clock()
        last, status = call.timeline[-1]
        return (
            call.dial is None
            and last <= now
            and call.updated <= now
            and (status in FINAL or call.ended(now) is not None)
        )

    def everything(self) -> Iterator[Call]:
        for ordered in self.voice.calls.values():
            yield from ordered.values()

    def find(self, path: Mapping[str, str]) -> Call | None:
        return self.voice.find_call(path["AccountSid"], path["Sid"])

    def create(self, path: Mapping[str, str], form: dict[str, str]) -> Call:
        account = path["AccountSid"]
        to = e164(form["To"], 21211, "To")
        from_ = e164(form["From"], 21212, "From")
        owned = self.voice.store.number_sid(account, from_)
        if owned is None:
            raise _error(400, 21210, f"The source phone number provided, {from_}, is not yet verified.")
        url = form.get("Url", "")
        if not (url or form.get("Twiml") or form.get("ApplicationSid")):
            raise _error(400, 21205, "Url parameter is required.")
        if url and urlsplit(url).scheme not in ("http", "https"):
            raise _error(400, 21205, f"Url is not a valid URL: {url}")
        dial = dict(parse_qsl(urlsplit(url).query)).get("Dial") if url else None
        return self.voice.new_call(
            account,
            to,
            from_,
            "outbound-api",
            phone_number_sid=owned,
            url=url or None,
            method=form.get("Method", "POST"),
            dial=e164(dial, 21211, "Dial") if dial else None,
            answered_by="human" if form.get("MachineDetection") else None,
        )

    def update(self, call: Call, form: dict[str, str]) -> Call:
        now = self.voice.clock()
        ended = call.ended(now) is not None
        url = form.get("Url") or form.get("Twiml")
        if url and ended:
            raise _error(400, 21220, "Call is not in-progress. Cannot redirect.")
        status = form.get("Status")
        if status == "completed" or (status == "canceled" and call.reached("in-progress", now) is None):
            self.voice.hang_up(call)
        elif url:
            self.voice.redirect(call, url, form.get("Method", "POST"))
        return call

    def delete(self, call: Call) -> None:
        self.voice.hang_up(call)
        self.voice.delete_call(call)

    def render(self, call: Call) -> dict[str, Any]:
        now = self.voice.clock()
        status = call.status(now)
        changed = max([call.updated, *(t for t, _ in call.timeline if t <= now)])
        base = f"/2010-04-01/Accounts/{call.account_sid}/Calls/{call.sid}"
        return {
            "sid": call.sid,
            "date_created": rfc2822(call.created),
            "date_updated": rfc2822(changed),
            "parent_call_sid": call.parent_call_sid,
            "account_sid": call.account_sid,
            "to": call.to,
            "to_formatted": formatted(call.to),
            "from": call.from_,
            "from_formatted": formatted(call.from_),
            "phone_number_sid": call.phone_number_sid,
            "status": status,
            "start_time": rfc2822(started(call, now)),
            "end_time": rfc2822(call.ended(now)) if status in FINAL else None,
            "duration": duration(call, now),
            "price": price(call, now),
            "price_unit": "USD",
            "direction": call.direction,
            "answered_by": call.answered_by if call.reached("in-progress", now) else None,
            "api_version": "2010-04-01",
            "queue_time": "0",
            "uri": base + ".json",
            "subresource_uris": {
                name: f"{base}/{part}.json"
                for name, part in (
                    ("notifications", "Notifications"),
                    ("recordings", "Recordings"),
                    ("payments", "Payments"),
                    ("events", "Events"),
                    ("siprec", "Siprec"),
                    ("streams", "Streams"),
                    ("transcriptions", "Transcriptions"),
                    ("user_defined_message_subscriptions", "UserDefinedMessageSubscriptions"),
                    ("user_defined_messages", "UserDefinedMessages"),
                )
            },
        }


class ConferencesBehaviour:
    def __init__(self, voice: Voice) -> None:
        self.voice = voice
        self.filters: Mapping[str, Callable[[Any, str], bool]] = {
            "FriendlyName": lambda c, v: c.friendly_name == v,
            "Status": lambda c, v: c.status == v,
            **dated("DateCreated", lambda c: c.created),
            **dated("DateUpdated", lambda c: c.updated),
        }
        self.span = newest_first("DateCreated")

    def refresh(self) -> None:
        self.voice.refresh()

    def scope(self, path: Mapping[str, str]) -> Ordered | None:
        return self.voice.conferences.get(path["AccountSid"])

    def find(self, path: Mapping[str, str]) -> Conference | None:
        return self.voice.find_conference(path["AccountSid"], path["Sid"])

    def update(self, conference: Conference, form: dict[str, str]) -> Conference:
        if form.get("Status") == "completed":
            self.voice.end(conference, "conference-ended-via-api")
        return conference

    def render(self, conference: Conference) -> dict[str, Any]:
        base = f"/2010-04-01/Accounts/{conference.account_sid}/Conferences/{conference.sid}"
        return {
            "account_sid": conference.account_sid,
            "date_created": rfc2822(conference.created),
            "date_updated": rfc2822(conference.updated),
            "api_version": "2010-04-01",
            "friendly_name": conference.friendly_name,
            "region": "us1",
            "sid": conference.sid,
            "status": conference.status,
            "uri": base + ".json",
            "subresource_uris": {
                "participants": base + "/Participants.json",
                "recordings": base + "/Recordings.json",
            },
            "reason_conference_ended": conference.reason,
            "call_sid_ending_conference": conference.ending_call,
        }


PARTICIPANT_STATUS = {
    "queued": "queued",
    "ringing": "ringing",
    "in-progress": "connected",
    "completed": "complete",
}


class ParticipantsBehaviour:
    def __init__(self, voice: Voice) -> None:
        self.voice = voice
        self.filters: Mapping[str, Callable[[Any, str], bool]] = {
            "Muted": lambda p, v: p.muted == boolean(v),
            "Hold": lambda p, v: p.hold == boolean(v),
            "Coaching": lambda p, v: not boolean(v),
        }

    def refresh(self) -> None:
        self.voice.refresh()

    def _conference(self, path: Mapping[str, str]) -> Conference | None:
        return self.voice.find_conference(path["AccountSid"], path["ConferenceSid"])

    def scope(self, path: Mapping[str, str]) -> Ordered | None:
        conference = self._conference(path)
        return conference.participants if conference is not None else None

    def find(self, path: Mapping[str, str]) -> Participant | None:
        conference = self._conference(path)
        found: Participant | None = conference.participants.get(path["CallSid"]) if conference else None
        return found

    def create(self, path: Mapping[str, str], form: dict[str, str]) -> Participant:
        conference = self._conference(path)
        if conference is None or conference.status == "completed":
            raise _error(404, 20404, f"Conference {path['ConferenceSid']} is not in progress")
        account = path["AccountSid"]
        to, from_ = e164(form["To"], 21211, "To"), e164(form["From"], 21212, "From")
        owned = self.voice.store.number_sid(account, from_)
        if owned is None:
            raise _error(400, 21210, f"The source phone number provided, {from_}, is not yet verified.")
        call = self.voice.new_call(account, to, from_, "outbound-api", phone_number_sid=owned)
        call.timeline = [t for t in call.timeline if t[1] != "completed"]
        return self.voice.join(
            conference,
            call,
            muted=boolean(form.get("Muted", "false")),
            start_conference_on_enter=form.get("StartConferenceOnEnter", "true").lower() != "false",
            end_conference_on_exit=boolean(form.get("EndConferenceOnExit", "false")),
        )

    def update(self, member: Participant, form: dict[str, str]) -> Participant:
        for name, attr in (
            ("Muted", "muted"),
            ("Hold", "hold"),
            ("EndConferenceOnExit", "end_conference_on_exit"),
        ):
            if name in form:
                setattr(member, attr, boolean(form[name]))
        member.updated = self.voice.clock()
        return member

    def delete(self, member: Participant) -> None:
        conference = self.voice.find_conference(member.call.account_sid, member.conference_sid)
        assert conference is not None
        self.voice.kick(member, conference)

    def render(self, member: Participant) -> dict[str, Any]:
        account = member.call.account_sid
        status = member.call.status(self.voice.clock())
        return {
            "account_sid": account,
            "call_sid": member.call.sid,
            "label": None,
            "call_sid_to_coach": None,
            "coaching": False,
            "conference_sid": member.conference_sid,
            "date_created": rfc2822(member.created),
            "date_updated": rfc2822(member.updated),
            "end_conference_on_exit": member.end_conference_on_exit,
            "muted": member.muted,
            "hold": member.hold,
            "start_conference_on_enter": member.start_conference_on_enter,
            "status": PARTICIPANT_STATUS.get(status, "failed"),
            "queue_time": "0",
            "uri": f"/2010-04-01/Accounts/{account}/Conferences/{member.conference_sid}"
            f"/Participants/{member.call.sid}.json",
        }
