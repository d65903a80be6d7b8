"""Where in an account's calls (newest first by creation) a ``Status``, ``StartTime`` or ``EndTime``
filter can match, so that a filtered page looks at that stretch of the list rather than at every call.

Bounds on the creation instant, derived from every call's timeline and kept until a list changes
(``Ordered.changes``): a call starts (rings) at most ``latest`` seconds after it was created, and at
least ``earliest``; a call that was not *settled* when the bounds were taken was created at ``live``
or later. A settled call (over, with nothing left on its timeline and no Dial pending) keeps its
status, start and end time as time passes, so a page filtered by a final status and start (or end)
times is exact without asking the filters about it: those calls are kept by their start second, and by
their end second, sorted. A call ends no earlier than it was created. A
status that is not final can only match a call that was not settled; a final one only a call
created at ``live`` or later or a settled one that had that status when the bounds were taken.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field

from .store import Among, Ordered, Span
from .values import window
from .voice import FINAL, Call, started

Key = tuple[float, int]
DATES = ("StartTime", "EndTime")
COVERED = frozenset({"Status", *(name + op for name in DATES for op in ("", "<", ">"))})
"""The filters the bounds answer exactly for settled calls (with a final ``Status``), one of the two
dates at a time."""
WINDOWS = 256
"""Start-time windows whose keys are kept between pages (a range is read page after page)."""


@dataclass(frozen=True, slots=True)
class Ended:
    """The settled calls that ended in one final status."""

    keys: list[Key]
    """In list order."""
    seconds: dict[str, list[int]]
    """Per date (``StartTime``, ``EndTime``): the seconds of those that have it, ascending."""
    by_second: dict[str, list[Key]]
    """Their keys, in the order of ``seconds``."""


@dataclass(frozen=True, slots=True)
class Bounds:
    changes: int
    earliest: float
    latest: float
    live: float
    young: list[Key]
    """The keys of the calls created at ``live`` or later: the list's head."""
    ended: dict[str, Ended]
    windows: dict[tuple[str, str, float, float], list[Key]] = field(default_factory=dict)


def dialed(call: Call) -> float | None:
    """When the call's timeline has it ring (or answer), whether or not that instant has come."""
    return next((at for at, status in call.timeline if status in ("ringing", "in-progress")), None)


def settled(call: Call, now: float) -> bool:
    """Over, with nothing left on its timeline, no Dial pending and no TwiML running: its status and
    start time stay."""
    last, status = call.timeline[-1]
    return call.dial is None and not call.running and last <= now and status in FINAL


def _ended(ordered: Ordered, young: int, now: float) -> dict[str, Ended]:
    keys: dict[str, list[Key]] = {status: [] for status in FINAL}
    dated: dict[tuple[str, str], list[tuple[int, Key]]] = {(s, d): [] for s in FINAL for d in DATES}
    for key in ordered.seqs[young:]:
        call = ordered.items[key]
        status = call.timeline[-1][1]  # settled: its last, which has come
        keys[status].append(key)
        for name, at in zip(DATES, (started(call, now), call.ended(now)), strict=True):
            if at is not None:
                dated[(status, name)].append((math.floor(at), key))
    found = {}
    for status in FINAL:
        pairs = {name: sorted(dated[(status, name)]) for name in DATES}
        seconds = {name: [second for second, _ in pairs[name]] for name in DATES}
        found[status] = Ended(
            keys[status], seconds, {name: [key for _, key in pairs[name]] for name in DATES}
        )
    return found


class CallIndex:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._bounds: dict[int, Bounds] = {}

    def bounds(self, ordered: Ordered) -> Bounds:
        found = self._bounds.get(id(ordered))
        if found is not None and found.changes == Ordered.changes:
            return found
        now = self.clock()
        waits, live = [], math.inf
        for call in ordered.values():
            if (at := dialed(call)) is not None:
                waits.append(at - call.created)
            if call.created < live and not settled(call, now):
                live = call.created
        young = bisect_right(ordered.seqs, (-live, math.inf))  # created at ``live`` or later
        found = Bounds(
            Ordered.changes,
            min(waits, default=0.0),
            max(waits, default=0.0),
            live,
            ordered.seqs[:young],
            _ended(ordered, young, now),
        )
        self._bounds[id(ordered)] = found
        return found

    def among(self, ordered: Ordered, given: list[tuple[str, str]]) -> Among | None:
        """The keys a final ``Status`` filter can keep, in list order (those of settled calls kept
        without asking the filters, when the bounds answer all of them); ``None``: any key."""
        wanted = [value for key, value in given if key == "Status"]
        if len(wanted) != 1 or wanted[0] not in FINAL:
            return None
        bounds = self.bounds(ordered)
        dates = {key.rstrip("<>") for key, _ in given if key != "Status"}
        if any(key not in COVERED for key, _ in given) or len(dates) > 1:
            keys = self._kept(bounds, wanted[0], DATES[0], -math.inf, math.inf)
            return Among(keys, len(keys))
        low, high = -math.inf, math.inf
        for key, value in given:
            if key != "Status":
                found = window(value, key[len(key.rstrip("<>")) :] or "=")
                low, high = max(low, found[0]), min(high, found[1])
        date = next(iter(dates), DATES[0])
        return Among(self._kept(bounds, wanted[0], date, low, high), len(bounds.young))

    def _kept(self, bounds: Bounds, status: str, date: str, low: float, high: float) -> list[Key]:
        """The young keys, then those of the settled calls in ``status`` whose ``date`` is within
        ``[low, high]`` (any, without that date too, if the window is unbounded), in list order."""
        found = bounds.windows.get((status, date, low, high))
        if found is None:
            ended = bounds.ended[status]
            if (low, high) == (-math.inf, math.inf):
                found = bounds.young + ended.keys
            else:
                seconds = ended.seconds[date]
                first, last = bisect_left(seconds, low), bisect_right(seconds, high)
                found = bounds.young + sorted(ended.by_second[date][first:last])
            if len(bounds.windows) >= WINDOWS:
                bounds.windows.clear()
            bounds.windows[(status, date, low, high)] = found
        return found

    def span(self, ordered: Ordered, given: list[tuple[str, str]]) -> Span | None:
        """The keys ``(-created, -seq)`` the filters can keep; ``None``: the whole list."""
        low, high = -math.inf, math.inf
        bounds: Bounds | None = None
        for key, value in given:
            name = key.rstrip("<>")
            if name == "Status" and value not in FINAL:
                bounds = bounds or self.bounds(ordered)
                low = max(low, bounds.live)
            elif name == "StartTime":
                bounds = bounds or self.bounds(ordered)
                first, last = window(value, key[len(name) :] or "=")
                low = max(low, first - bounds.latest - 1)
                high = min(high, last + 1 - min(bounds.earliest, 0.0) + 1)
            elif name == "EndTime":
                high = min(high, window(value, key[len(name) :] or "=")[1] + 1)
        if (low, high) == (-math.inf, math.inf):
            return None
        return (-high, -math.inf), (-low, math.inf)
