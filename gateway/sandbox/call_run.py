"""One call's run: the state of the TwiML the sandbox runs for a call, and what every verb uses — the
script's own instant (``at``, which each verb moves on by the time it takes), waits on the sandbox clock
that stop early when the call ends or is redirected through the API, and requests to the application
that are signed, logged for the control endpoints, and leave a notification when they fail.

The call ends at the first final status on its timeline: the callee hanging up ``call_length`` after it
answered, unless the script or the API ends it first. Verbs never run past it.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx

from .clockwork import Clockwork, Track
from .notifications import Notifications
from .params import call_params
from .recordings import Recordings
from .simulation import Simulation
from .voice import FINAL, Call, Voice
from .webhook import Exchange, Requester

log = logging.getLogger("gateway.sandbox")
INVALID_URL = 11100
HANGUP = "hangup"
STOP = "stop"


@dataclass
class Doc:
    """A TwiML document to run next: fetched from ``url`` (with ``extra`` parameters), or given inline."""

    url: str | None
    method: str = "POST"
    extra: dict[str, str] = field(default_factory=dict)
    kind: str = "voice"
    twiml: str | None = None
    fallback: bool = False


@dataclass(frozen=True)
class Hook:
    """Where a call's status callbacks go, and for which events (2010's default: ``completed`` only)."""

    url: str
    method: str = "POST"
    events: frozenset[str] = frozenset({"completed"})


@dataclass
class Services:
    voice: Voice
    recordings: Recordings
    notifications: Notifications
    requester: Requester
    clockwork: Clockwork
    simulation: Simulation
    lock: Any


Step = Doc | str | None
"""What follows a verb: the next verb (None), a document to fetch, :data:`HANGUP` or :data:`STOP` (the
call ended or was redirected through the API)."""


def resolve(base: str | None, url: str | None) -> str | None:
    """A verb's URL against the document's (``None`` when there is nothing to resolve against)."""
    if not url:
        return base
    joined = urljoin(base or "", url.strip())
    return joined if urlsplit(joined).scheme in ("http", "https") else None


@dataclass
class Run:
    services: Services
    call: Call
    first: Doc | None
    fallback: tuple[str, str] | None = None
    hook: Hook | None = None
    digits: deque[str] = field(default_factory=deque)
    log: list[dict[str, Any]] = field(default_factory=list)
    cookies: httpx.Cookies = field(default_factory=httpx.Cookies)
    at: float = 0.0
    generation: int = 0
    seen: int = 0
    since: float = 0.0
    """The first document is not fetched before this instant (a run a redirect started)."""
    redirect: Doc | None = None
    redirect_at: float = 0.0
    sequence: int = 0
    track: Track = field(default_factory=Track)
    sides: list[Track] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # The clock ------------------------------------------------------------------------------------------
    def clock(self) -> float:
        return self.services.clockwork.clock()

    def end(self) -> float:
        """When the call ends as its timeline stands (infinity while nothing ends it)."""
        return next((at for at, status in self.call.timeline if status in FINAL), math.inf)

    def interrupted(self) -> bool:
        """Redirected through the API since the current document started."""
        return self.generation != self.seen

    def take_redirect(self) -> Doc | None:
        if not self.interrupted():
            return None
        self.seen, self.at = self.generation, max(self.at, self.redirect_at)
        return self.redirect

    async def reach(self, at: float, redirects: bool = True) -> bool:
        """Waits until the clock reaches ``at``: False if the call ends first, or (``redirects``) is
        redirected through the API."""
        while True:
            if redirects and self.interrupted():
                return False
            end = self.end()
            target = min(at, end)
            if self.clock() >= target:
                return at < end
            await self.services.clockwork.nap(target, self.track)

    async def advance(self, at: float) -> bool:
        """Moves the script to ``at`` (or to where the call ended or was redirected)."""
        reached = await self.reach(at)
        if reached:
            self.at = at
        elif not self.interrupted():
            self.at = max(self.at, min(at, self.end()))
        return reached

    async def spend(self, seconds: float) -> bool:
        return await self.advance(self.at + seconds)

    def over(self) -> bool:
        return self.end() <= self.at

    # Requests ---------------------------------------------------------------------------------------------
    def params(self, status: str | None = None) -> dict[str, str]:
        return call_params(self.call, status or self.call.status(self.at))

    async def request(
        self,
        url: str | None,
        method: str,
        params: dict[str, str],
        kind: str,
        *,
        idempotency: str | None = None,
        at: float | None = None,
    ) -> Exchange:
        """A logged request (at the script's instant, unless ``at``); a URL that does not resolve fails
        as 11100."""
        when = self.at if at is None else at
        if url is None:
            exchange = Exchange(kind, "", method, params, when, error="no absolute URL", code=INVALID_URL)
        else:
            exchange = await self.services.requester.request(
                self.call.account_sid,
                url,
                method,
                params,
                kind=kind,
                at=when,
                cookies=self.cookies,
                idempotency=idempotency,
            )
        self.log.append(exchange.record())
        return exchange

    def notify(
        self,
        code: int,
        text: str,
        exchange: Exchange | None = None,
        level: str = "0",
        at: float | None = None,
    ) -> None:
        extra: dict[str, Any] = {"at": self.at if at is None else at, "level": level}
        if exchange is not None:
            extra.update(
                request_url=exchange.url,
                request_method=exchange.method,
                request_variables=urlencode(exchange.params),
                response_headers="&".join(urlencode({k: v}) for k, v in exchange.headers),
                response_body=exchange.text[:4096],
            )
        log.warning("call %s: error %s: %s", self.call.sid, code, text)
        with self.services.lock:
            self.services.notifications.add(self.call.account_sid, self.call.sid, code, text, **extra)

    def spawn(self, work: Callable[[Track], Coroutine[Any, Any, None]]) -> None:
        """A side task of the run (a transcription's callback), tracked with it."""
        track = Track()
        self.sides.append(track)

        async def tracked() -> None:
            try:
                await work(track)
            except Exception:
                log.exception("call %s: a side task failed", self.call.sid)
            finally:
                track.done = True

        task = asyncio.get_running_loop().create_task(tracked())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def until(self, at: float, track: Track) -> None:
        """Waits for ``at`` on the clock, whatever happens to the call (for side tasks)."""
        while self.clock() < at:
            await self.services.clockwork.nap(at, track)

    def tracks(self) -> list[Track]:
        return [self.track, *self.sides]
