"""Where in an account's calls (newest first by creation) a ``Status`` or ``StartTime`` filter can
match, so that a filtered page looks at that stretch of the list rather than at every call.

Bounds on the creation instant, derived from every call's timeline and kept until a list changes
(``Ordered.changes``): a call starts (rings) at most ``latest`` seconds after it was created, and at
least ``earliest``; a call that was not over when the bounds were taken was created at ``live`` or
later (calls only end as time passes, so that stays true). A status that is not final can only
match a call that was not over.
"""

from __future__ import annotations

import math
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


def dialed(call: Call) -> float | None:
    """When the call's timeline has it ring (or answer), whether or not that instant has come."""
    return next((at for at, status in call.timeline if status in ("ringing", "in-progress")), None)


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
        found = Bounds(
            Ordered.changes,
            min(waits, default=0.0),
            max(waits, default=0.0),
            min(unsettled, default=math.inf),
        )
        self._bounds[id(ordered)] = found
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
                first, last = _window(value, key[len(name) :] or "=")
                low = max(low, first - bounds.latest - 1)
                high = min(high, last + 1 - min(bounds.earliest, 0.0) + 1)
        if (low, high) == (-math.inf, math.inf):
            return None
        return (-high, -math.inf), (-low, math.inf)
