"""Where in an account's calls (newest first by creation) a ``Status`` or ``StartTime`` filter can
match, so that a filtered page looks at that stretch of the list rather than at every call.

Bounds on the creation instant, derived from every call's timeline and kept until a list changes
(``Ordered.changes``): a call starts (rings) at most ``latest`` seconds after it was created, and at
least ``earliest``; a call that was not over when the bounds were taken was created at ``live`` or
later (calls only end as time passes, so that stays true). A status that is not final can only
match a call that was not over; a final one only a call created at ``live`` or later or one that
had that status when the bounds were taken (an ended call keeps its status).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from .store import Ordered, Span
from .voice import FINAL, Call
from .voice_api import _window


@dataclass(frozen=True, slots=True)
class Bounds:
    changes: int
    earliest: float
    latest: float
    live: float
    ended: dict[str, list[Key]]
    """By final status: the keys of the calls created at ``live`` or later, then those of the older
    calls (all over) that ended in it, in list order."""


def dialed(call: Call) -> float | None:
    """When the call's timeline has it ring (or answer), whether or not that instant has come."""
    return next((at for at, status in call.timeline if status in ("ringing", "in-progress")), None)


Key = tuple[float, int]


def _ended(ordered: Ordered, live: float, now: float) -> dict[str, list[Key]]:
    keys: list[Key] = ordered.seqs
    young = bisect_right(keys, (-live, math.inf))  # created at ``live`` or later: the list's head
    ended: dict[str, list[Key]] = {status: keys[:young] for status in FINAL}
    for key in keys[young:]:
        status = ordered.items[key].status(now)
        for listed in (ended[status],) if status in ended else ended.values():
            listed.append(key)
    return ended


class CallIndex:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._bounds: dict[int, Bounds] = {}

    def bounds(self, ordered: Ordered) -> Bounds:
        found = self._bounds.get(id(ordered))
        if found is not None and found.changes == Ordered.changes:
            return found
        now = self.clock()
        waits = [at - call.created for call in ordered.values() if (at := dialed(call)) is not None]
        unsettled = [
            call.created for call in ordered.values() if call.dial is not None or call.ended(now) is None
        ]
        live = min(unsettled, default=math.inf)
        ended = _ended(ordered, live, now)
        found = Bounds(Ordered.changes, min(waits, default=0.0), max(waits, default=0.0), live, ended)
        self._bounds[id(ordered)] = found
        return found

    def among(self, ordered: Ordered, given: list[tuple[str, str]]) -> list[Key] | None:
        """The keys a final ``Status`` filter can keep, in list order; ``None``: any key."""
        wanted = [value for key, value in given if key == "Status"]
        if len(wanted) != 1 or wanted[0] not in FINAL:
            return None
        return self.bounds(ordered).ended[wanted[0]]

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
                first, last = _window(value, key[len(name) :] or "=")
                low = max(low, first - bounds.latest - 1)
                high = min(high, last + 1 - min(bounds.earliest, 0.0) + 1)
        if (low, high) == (-math.inf, math.inf):
            return None
        return (-high, -math.inf), (-low, math.inf)
