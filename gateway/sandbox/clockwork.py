"""Waiting on the sandbox's clock from background tasks, and knowing when they are all quiet.

The sandbox's clock is ``time.time`` when it serves, and a clock a test moves by hand in the test suite.
A task that waits for an instant naps until then (at most :data:`NAP` seconds at a time, so a clock
moved by hand is noticed) or until :meth:`Clockwork.nudge` wakes every napping task at once — which the
API does on every request and a test does after moving its clock. Each task keeps a :class:`Track`, so
a test (or a control endpoint) can wait until every task it cares about is *quiet*: done, or napping
until an instant the clock has not reached, having looked at the clock since the last nudge.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass

NAP = 1.0
"""The longest a task naps before it looks at the clock again."""
POLL = 0.002


@dataclass
class Track:
    """A background task's progress: napping until ``until``, busy (``until`` None), or ``done``."""

    until: float | None = None
    pulse: int = -1
    """The nudge count when it last looked at the clock."""
    done: bool = False


class Clockwork:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.pulse = 0
        self._wake: asyncio.Future[None] | None = None

    def nudge(self) -> None:
        """Wakes every napping task to look at the clock again."""
        self.pulse += 1
        wake, self._wake = self._wake, None
        if wake is not None and not wake.done():
            wake.set_result(None)

    async def nap(self, until: float, track: Track) -> None:
        """Returns at ``until`` on the clock, at a nudge, or after :data:`NAP` seconds, whichever first."""
        now = self.clock()
        if now >= until:
            return
        if self._wake is None or self._wake.done():
            self._wake = asyncio.get_running_loop().create_future()
        track.until, track.pulse = until, self.pulse
        try:
            await asyncio.wait([self._wake], timeout=min(until - now, NAP))
        finally:
            track.until = None

    def quiet(self, tracks: Iterable[Track]) -> bool:
        now = self.clock()
        return all(
            t.done or (t.until is not None and t.pulse == self.pulse and t.until > now) for t in tracks
        )

    async def settle(self, tracks: Callable[[], Iterable[Track]], timeout: float) -> bool:
        """Nudges, then waits until the tracks (read afresh each time) are quiet; False on timeout."""
        self.nudge()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.quiet(tracks()):
            if loop.time() > deadline:
                return False
            await asyncio.sleep(POLL)
        return True
