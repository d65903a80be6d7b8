"""The circuit breaker of one upstream host: a short outage is refused for about as long as it lasts.

Closed, every call goes through; ``threshold`` consecutive host failures open it. Open, calls are
refused (503) for a wait that starts at :data:`FIRST_WAIT` and doubles each time the breaker opens
again without having closed, up to ``cooldown`` (``GATEWAY_BREAKER_COOLDOWN``, the cap). After the wait
it is half-open: up to :data:`PROBES` calls go through at once and the others are still refused at
once. The first probe the host answers closes it (the wait starts again at :data:`FIRST_WAIT`); the
first that fails opens it again, for twice the wait.

A call carries a ticket from :meth:`Breaker.before` to its outcome: a probe's is the round it probes
(each opening is a round); a call made while the breaker was closed has none. Only a probe of the
current round counts for or against that round, so a late failure of a call that started before the
breaker opened, or of a probe of an earlier round, never prolongs the wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from gateway.errors import ServiceUnavailable

FIRST_WAIT = 0.5
"""Seconds the breaker stays open the first time (at most ``cooldown``)."""
PROBES = 3
"""Calls let through at once while half-open."""

Ticket = int | None
State = Literal["closed", "open", "half-open"]


class Breaker:
    def __init__(
        self,
        threshold: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        first_wait: float = FIRST_WAIT,
        probes: int = PROBES,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.first_wait = min(first_wait, cooldown)
        self.probes = probes
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.wait = self.first_wait
        self.round = 0
        self.probing = 0

    @property
    def state(self) -> State:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.clock() - self.opened_at >= self.wait else "open"

    def before(self) -> Ticket:
        """The call's ticket; :class:`ServiceUnavailable` when it may not go through."""
        state = self.state
        if state == "closed":
            return None
        if state == "open" or self.probing >= self.probes:
            raise ServiceUnavailable()
        self.probing += 1
        return self.round

    def success(self, ticket: Ticket = None) -> None:
        """The host answered: closed, whatever the ticket."""
        self.failures = 0
        self.opened_at = None
        self.wait = self.first_wait
        self.probing = 0

    def failure(self, ticket: Ticket = None) -> None:
        if self.opened_at is None:
            self.failures += 1
            if self.failures >= self.threshold:
                self._open(self.first_wait)
        elif self._current(ticket):
            self._open(min(self.wait * 2, self.cooldown))

    def abandon(self, ticket: Ticket = None) -> None:
        """The call never reached the host: it says nothing about it (its probe slot is free again)."""
        if self._current(ticket):
            self.probing -= 1

    def _current(self, ticket: Ticket) -> bool:
        return ticket is not None and ticket == self.round and self.opened_at is not None

    def _open(self, wait: float) -> None:
        self.opened_at = self.clock()
        self.wait = wait
        self.round += 1
        self.probing = 0
