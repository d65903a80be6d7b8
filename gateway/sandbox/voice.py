"""The sandbox's calls and conferences: state that moves on a clock.

A call is a timeline of (instant, status): made through the API it is ``queued``, ``ringing`` one step
later, ``in-progress`` one step after that and ``completed`` ``call_length`` seconds on (times from the
sandbox's clock, which tests replace). Its status, start and end times, duration and price are read
from the timeline at the current instant. The dialer (:mod:`.dialer`), which runs a call's TwiML in the
background, ends it earlier when its script does (the call is ``running`` meanwhile). A call answered
with a pending Dial (a ``Dial=<number>`` query parameter on a ``Url`` that no application answers stands
in for the app answering ``<Dial><Number>``) gets a child call, the Dial leg, at the instant it was
answered. Conferences hold participants, each a live call; kicking one ends its call, and the
conference ends with its last participant (or one with ``end_conference_on_exit``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .store import Ordered, Store, new_sid, status_at

FINAL = ("completed", "busy", "failed", "no-answer", "canceled")
PRICE_PER_MINUTE = 0.013


@dataclass
class Call:
    seq: int
    sid: str
    account_sid: str
    to: str
    from_: str
    direction: str
    created: float
    timeline: list[tuple[float, str]]
    parent_call_sid: str | None = None
    phone_number_sid: str | None = None
    url: str | None = None
    method: str = "POST"
    dial: str | None = None
    """A number to Dial when answered (pending until the child leg exists)."""
    updated: float = 0.0
    answered_by: str | None = None
    running: bool = False
    """The sandbox runs TwiML for it (:mod:`.dialer`): its timeline may still change."""
    recordings: Ordered = field(default_factory=Ordered)
    notifications: Ordered = field(default_factory=Ordered)

    @property
    def key(self) -> tuple[float, int]:
        return (-self.created, -self.seq)

    def status(self, now: float) -> str:
        return status_at(self.timeline, now)

    def reached(self, status: str, now: float) -> float | None:
        return next((at for at, s in self.timeline if s == status and at <= now), None)

    def ended(self, now: float) -> float | None:
        return next((at for at, s in self.timeline if s in FINAL and at <= now), None)

    def end_at(self, at: float, status: str) -> None:
        """Ends the call at ``at`` (drops what the timeline planned after it)."""
        self.timeline = [(t, s) for t, s in self.timeline if t < at] + [(at, status)]
        self.updated = at


@dataclass
class Entry:
    """A recording or notification a call left: its 2010 fields beyond the common ones."""

    seq: int
    sid: str
    call: Call
    created: float
    data: dict[str, Any]


@dataclass
class Participant:
    seq: int
    call: Call
    conference_sid: str
    created: float
    muted: bool = False
    hold: bool = False
    start_conference_on_enter: bool = True
    end_conference_on_exit: bool = False
    updated: float = 0.0

    @property
    def sid(self) -> str:
        return self.call.sid


@dataclass
class Conference:
    seq: int
    sid: str
    account_sid: str
    friendly_name: str
    created: float
    status: str = "init"
    updated: float = 0.0
    reason: str | None = None
    ending_call: str | None = None
    participants: Ordered = field(default_factory=Ordered)

    @property
    def key(self) -> tuple[float, int]:
        return (-self.created, -self.seq)


class Voice:
    """Every account's calls and conferences, kept in the store (under its lock)."""

    def __init__(self, store: Store, clock: Callable[[], float], step: float, length: float) -> None:
        self.store = store
        self.clock = clock
        self.step = step
        self.length = length
        self.calls: dict[str, Ordered] = {}
        self.conferences: dict[str, Ordered] = {}
        self._live: dict[str, Call] = {}
        self.listeners: list[Callable[[], None]] = []
        """Called at every refresh (the dialer looks at the clock again)."""

    # Calls ----------------------------------------------------------------------------------------
    def add_call(self, call: Call) -> Call:
        self.calls.setdefault(call.account_sid, Ordered()).add(call.key, call)
        if call.dial is not None or call.timeline[-1][1] not in FINAL:
            self._live[call.sid] = call
        return call

    def new_call(
        self,
        account: str,
        to: str,
        from_: str,
        direction: str,
        *,
        at: float | None = None,
        parent: Call | None = None,
        **extra: Any,
    ) -> Call:
        """A call on the standard clock: queued, ringing, in-progress, completed."""
        start = self.clock() if at is None else at
        s = self.step
        timeline = [(start, "queued"), (start + s, "ringing"), (start + 2 * s, "in-progress")]
        timeline.append((start + 2 * s + self.length, "completed"))
        call = Call(
            self.store._next(),
            new_sid("CA"),
            account,
            to,
            from_,
            direction,
            start,
            timeline,
            parent_call_sid=parent.sid if parent else None,
            updated=start,
            **extra,
        )
        return self.add_call(call)

    def find_call(self, account: str, sid: str) -> Call | None:
        ordered = self.calls.get(account)
        found: Call | None = ordered.get(sid) if ordered is not None else None
        return found

    def children(self, call: Call) -> list[Call]:
        ordered = self.calls.get(call.account_sid)
        if ordered is None:
            return []
        return [c for c in ordered.values() if c.parent_call_sid == call.sid]

    def refresh(self) -> None:
        """Creates the Dial legs of calls answered by now; forgets calls that can no longer change."""
        now = self.clock()
        for listener in self.listeners:
            listener()
        for call in list(self._live.values()):
            answered = call.reached("in-progress", now)
            if call.dial is not None and answered is not None:
                self._dial(call, call.dial, answered)
                call.dial = None
            if call.dial is None and call.ended(now) is not None:
                del self._live[call.sid]

    def _dial(self, parent: Call, number: str, at: float) -> Call:
        leg = self.new_call(parent.account_sid, number, parent.from_, "outbound-dial", at=at, parent=parent)
        leg.timeline = [(at, "ringing"), (at + self.step, "in-progress")]
        parent_end = next((t for t, s in parent.timeline if s in FINAL), None)
        if parent_end is not None:
            leg.end_at(parent_end, "completed" if parent_end > at + self.step else "canceled")
        return leg

    def hang_up(self, call: Call, status: str | None = None, at: float | None = None) -> None:
        """Ends a live call (now, or ``at``): in progress → completed; queued or ringing → canceled.
        A call not yet dialed is canceled whatever was asked: it has no start time, which every
        completed call has (the spec: "Empty if the call has not yet been dialed")."""
        now = self.clock() if at is None else at
        if call.ended(now) is not None:
            return
        answered = call.reached("in-progress", now) is not None
        dialed = answered or call.reached("ringing", now) is not None
        call.end_at(now, (status if dialed else None) or ("completed" if answered else "canceled"))
        for child in self.children(call):
            self.hang_up(child, at=now)

    def redirect(self, call: Call, url: str, method: str) -> None:
        """New TwiML for a live call; its live Dial legs end (change-call-state.md)."""
        call.url, call.method, call.updated = url, method, self.clock()
        for child in self.children(call):
            self.hang_up(child, "completed")

    def delete_call(self, call: Call) -> None:
        self.calls[call.account_sid].remove(call.key)
        self._live.pop(call.sid, None)

    def log(self, call: Call, kind: str, at: float, **data: Any) -> Entry:
        """Adds a recording (``kind="recordings"``) or notification to a call."""
        prefix = "RE" if kind == "recordings" else "NO"
        entry = Entry(self.store._next(), new_sid(prefix), call, at, data)
        table: Ordered = getattr(call, kind)
        table.add(entry.seq, entry)
        return entry

    # Conferences ----------------------------------------------------------------------------------
    def add_conference(self, account: str, name: str, at: float | None = None) -> Conference:
        start = self.clock() if at is None else at
        conference = Conference(self.store._next(), new_sid("CF"), account, name, start, updated=start)
        self.conferences.setdefault(account, Ordered()).add(conference.key, conference)
        return conference

    def find_conference(self, account: str, sid: str) -> Conference | None:
        ordered = self.conferences.get(account)
        found: Conference | None = ordered.get(sid) if ordered is not None else None
        return found

    def join(
        self, conference: Conference, call: Call, *, at: float | None = None, **flags: bool
    ) -> Participant:
        when = self.clock() if at is None else at
        member = Participant(self.store._next(), call, conference.sid, when, updated=when, **flags)
        conference.participants.add(member.seq, member)
        if member.start_conference_on_enter and conference.status == "init":
            conference.status, conference.updated = "in-progress", when
        return member

    def kick(self, member: Participant, conference: Conference) -> None:
        conference.participants.remove(member.seq)
        self.hang_up(member.call, "completed")
        if member.end_conference_on_exit:
            self.end(conference, "participant-with-end-conference-on-exit-kicked", member.call.sid)
        elif not len(conference.participants):
            self.end(conference, "last-participant-kicked", member.call.sid)

    def end(
        self, conference: Conference, reason: str, by: str | None = None, at: float | None = None
    ) -> None:
        """Ends a conference (now, or ``at``): every participant leaves and its call ends."""
        if conference.status == "completed":
            return
        when = self.clock() if at is None else at
        for member in list(conference.participants.values()):
            conference.participants.remove(member.seq)
            self.hang_up(member.call, "completed", at=when)
        conference.status, conference.reason, conference.ending_call = "completed", reason, by
        conference.updated = when


def started(call: Call, now: float) -> float | None:
    """The call's start time: when it rang (or, not having rung, was answered), if it has by ``now``."""
    return call.reached("ringing", now) or call.reached("in-progress", now)


def duration(call: Call, now: float) -> str | None:
    """An answered call's length is its end time less its start time as they are shown (whole
    seconds), as in every example."""
    end = call.ended(now)
    if end is None:
        return None
    answered = call.reached("in-progress", now)
    begun = started(call, now)
    return str(int(end) - int(begun)) if answered is not None and begun is not None else "0"


def price(call: Call, now: float) -> str | None:
    seconds = duration(call, now)
    if seconds is None:
        return None
    minutes = math.ceil(int(seconds) / 60)
    return f"-{PRICE_PER_MINUTE * minutes:.5f}" if minutes else "0.00000"
