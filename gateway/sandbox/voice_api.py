"""The behaviours of the 2010 Calls, Conferences and Participants endpoints on the spec-driven engine:
where items live, their JSON, their filters and what writes do. Everything else comes from the spec."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from .api import ApiError
from .store import Among, Ordered, Span
from .values import boolean, dated, e164, formatted, newest_first, rfc2822
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
            raise ApiError(400, 21210, f"The source phone number provided, {from_}, is not yet verified.")
        url = form.get("Url", "")
        if not (url or form.get("Twiml") or form.get("ApplicationSid")):
            raise ApiError(400, 21205, "Url parameter is required.")
        if url and urlsplit(url).scheme not in ("http", "https"):
            raise ApiError(400, 21205, f"Url is not a valid URL: {url}")
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
            raise ApiError(400, 21220, "Call is not in-progress. Cannot redirect.")
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
        # A planned instant (a Dial leg's end, its parent's) is no update until the clock reaches it.
        changed = max(t for t in (call.created, call.updated, *(t for t, _ in call.timeline)) if t <= now)
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
            raise ApiError(404, 20404, f"Conference {path['ConferenceSid']} is not in progress")
        account = path["AccountSid"]
        to, from_ = e164(form["To"], 21211, "To"), e164(form["From"], 21212, "From")
        owned = self.voice.store.number_sid(account, from_)
        if owned is None:
            raise ApiError(400, 21210, f"The source phone number provided, {from_}, is not yet verified.")
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
