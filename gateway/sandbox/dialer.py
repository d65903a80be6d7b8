"""The sandbox dials: it plays Twilio's side of the calls it holds.

A call made through the API first meets its callee (:class:`.simulation.Simulation`): a busy or failed
number ends it one call step after it was made, a no-answer number after ringing for ``Timeout``
seconds (60 by default), and with ``MachineDetection`` a machine number answers as ``machine_start``
(``machine_end_beep`` with ``DetectMessageEnd``), anyone else as ``human``. When the call is answered the
sandbox requests its ``Url`` (or takes its ``Twiml``) and runs the document (:mod:`.verbs`); an inbound
call (:mod:`.control`) requests its number's ``VoiceUrl`` while it rings and runs it once answered.
Running out of verbs or ``<Hangup>`` ends the call; the callee hangs up ``call_length`` after answering.

A document that cannot be had — an answer other than 2xx, not TwiML (12300), TwiML that does not parse
(12100) or validate (12200) — leaves a notification, then the call's fallback URL is requested (with
``ErrorCode`` and ``ErrorUrl``), once; without one (or when it fails too) the call hangs up. A URL that
cannot be reached at all (no connection, a timeout, a placeholder host) leaves the call on its timeline,
as if nobody had answered the call's ``Url`` — the sandbox's behaviour before it dialed.

Status callbacks (``StatusCallback``, ``StatusCallbackMethod``, ``StatusCallbackEvent`` of
``initiated``, ``ringing``, ``answered``, ``completed``; 2010's default ``completed`` alone) carry
``CallbackSource``, ``SequenceNumber``, ``Timestamp`` and, at the end, ``CallDuration``; a call nobody
answered requests no document, only its final status callback.

Each call's run is one background task (:class:`.call_run.Run`) that waits on the sandbox's clock; its
requests are kept in a log that :meth:`Dialer.settle` and :meth:`Dialer.finished` let tests wait for.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import secrets
from collections import deque
from collections.abc import Mapping

from .call_run import HANGUP, INVALID_URL, Doc, Hook, Run, Services
from .recordings import RecordedCalls, Recordings
from .store import IncomingNumber
from .twiml import TwimlError, Verb, make, parse_voice
from .values import rfc2822
from .verbs import execute
from .voice import Call, Voice, duration
from .webhook import Exchange, placeholder, redact

log = logging.getLogger("gateway.sandbox")
EVENTS = ("initiated", "ringing", "answered", "completed")
XML_TYPES = ("text/xml", "application/xml", "text/html")
INVALID_CONTENT_TYPE = 12300
UNREACHABLE, ERROR = "unreachable", "error"
FINISH_POLL = 0.02
"""How often a wait for a run's end wakes the runs to look at the clock (a clock moved by hand)."""
DOCUMENTS_AT_ONE_INSTANT = 20
"""Documents run without the call's clock moving before the sandbox calls it a loop and hangs up."""
Verbs = list[Verb] | str


def planned(call: Call, status: str) -> float | None:
    return next((at for at, s in call.timeline if s == status), None)


def voice_document(exchange: Exchange) -> list[Verb]:
    """The verbs of an answer: TwiML, plain text (said), or audio (played); then the call hangs up."""
    kind = exchange.content_type.split(";", 1)[0].strip().lower()
    if kind in XML_TYPES or (not kind and exchange.body.lstrip().startswith(b"<")):
        return parse_voice(exchange.body)
    if kind == "text/plain":
        return [make("Say", exchange.text.strip())]
    if kind.startswith("audio/"):
        return [make("Play", exchange.url)]
    raise TwimlError(INVALID_CONTENT_TYPE, f"Invalid Content-Type: {kind or 'none'}")


def hook_of(url: str | None, method: str | None, events: str | None) -> Hook | None:
    if not url:
        return None
    wanted = frozenset(e for e in re.split(r"[\s,]+", (events or "").lower()) if e in EVENTS)
    return Hook(url, (method or "POST").upper(), wanted or frozenset({"completed"}))


class Dialer:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.runs: dict[str, Run] = {}
        self.scripts: dict[str, deque[str]] = {}
        """Digits given for a call before it has a run."""
        self.tasks: set[asyncio.Task[None]] = set()
        services.voice.listeners.append(services.clockwork.nudge)

    @property
    def voice(self) -> Voice:
        return self.services.voice

    # Placing calls -----------------------------------------------------------------------------------
    def place(self, call: Call, form: Mapping[str, str]) -> None:
        """A call made through the API: its callee's answer, then its run (when it has a document to
        run, a fallback, or a status callback)."""
        self._answer(call, form.get("Timeout"), form.get("MachineDetection"))
        url, twiml = form.get("Url") or None, form.get("Twiml") or None
        first = Doc(url, form.get("Method", "POST").upper(), twiml=None if url else twiml)
        fallback = (
            (form["FallbackUrl"], form.get("FallbackMethod", "POST").upper())
            if form.get("FallbackUrl")
            else None
        )
        hook = hook_of(
            form.get("StatusCallback"), form.get("StatusCallbackMethod"), form.get("StatusCallbackEvent")
        )
        if twiml or (url and not placeholder(url)) or fallback or hook:
            self.start(call, first if url or twiml else None, fallback, hook)

    def _answer(self, call: Call, timeout: str | None, detection: str | None) -> None:
        outcome = self.services.simulation.outcome(call.to)
        ringing = planned(call, "ringing") or call.created
        seconds = max(1, int(timeout)) if timeout and timeout.isdigit() else 60
        if outcome in ("busy", "failed"):
            call.timeline = [(at, s) for at, s in call.timeline if s == "queued"]
            call.end_at(ringing, outcome)
        elif outcome == "no-answer" or self.voice.step >= seconds:
            call.timeline = [(at, s) for at, s in call.timeline if s in ("queued", "ringing")]
            call.end_at(ringing + seconds, "no-answer")
        elif detection:
            machine = "machine_end_beep" if detection == "DetectMessageEnd" else "machine_start"
            call.answered_by = machine if outcome == "machine" else "human"
        if planned(call, "in-progress") is None:
            call.dial, call.answered_by = None, None

    def receive(self, account: str, number: IncomingNumber, caller: str) -> Call:
        """An inbound call from ``caller`` to one of the account's incoming numbers: it rings one call step,
        then is answered, and the number's ``VoiceUrl`` is requested as it rings."""
        voice = self.voice
        call = voice.new_call(account, number.phone_number, caller, "inbound", phone_number_sid=number.sid)
        start, step = call.created, voice.step
        call.timeline = [
            (start, "ringing"),
            (start + step, "in-progress"),
            (start + step + voice.length, "completed"),
        ]
        settings = number.extra
        url = settings.get("voice_url") or None
        first = Doc(url, str(settings.get("voice_method") or "POST")) if url else None
        fallback_url = settings.get("voice_fallback_url")
        fallback = (
            (fallback_url, str(settings.get("voice_fallback_method") or "POST")) if fallback_url else None
        )
        hook = hook_of(settings.get("status_callback"), settings.get("status_callback_method"), None)
        if first or fallback or hook:
            self.start(call, first, fallback, hook)
        return call

    def start(
        self,
        call: Call,
        first: Doc | None,
        fallback: tuple[str, str] | None,
        hook: Hook | None,
        since: float = 0.0,
    ) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (a call made outside a request): it follows its timeline
        digits = self.scripts.pop(call.sid, None)
        run = Run(
            self.services, call, first, fallback, hook, digits or deque(self.services.simulation.digits)
        )
        run.since = since
        self.runs[call.sid] = run
        call.running = True
        task = loop.create_task(self._main(run))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def redirected(self, call: Call, url: str | None, twiml: str | None, method: str) -> None:
        """New TwiML for a live call through the API: its run fetches it now."""
        doc = Doc(url, method.upper(), twiml=None if url else twiml)
        run = self.runs.get(call.sid)
        if run is None or run.track.done:
            if twiml or (url and not placeholder(url)):
                self.start(call, doc, run.fallback if run else None, None, self.services.clockwork.clock())
            return
        run.redirect, run.redirect_at = doc, self.services.clockwork.clock()
        run.generation += 1
        self.services.clockwork.nudge()

    def give_digits(self, call: Call, entries: tuple[str, ...]) -> None:
        run = self.runs.get(call.sid)
        if run is not None:
            run.digits = deque(entries)
        else:
            self.scripts[call.sid] = deque(entries)

    # Waiting (tests, control endpoints) ---------------------------------------------------------------
    def state(self, sid: str) -> str:
        run = self.runs.get(sid)
        if run is None:
            return "none"
        return "finished" if all(t.done for t in run.tracks()) else "waiting"

    async def settle(self, sid: str, timeout: float = 10.0) -> str:
        """Waits until the call's run is quiet (done, or waiting for the clock); its state."""
        run = self.runs.get(sid)
        if run is not None:
            await self.services.clockwork.settle(run.tracks, timeout)
        return self.state(sid)

    async def finished(self, sid: str, timeout: float = 10.0) -> bool:
        """Waits until the call's run is over (the clock must get there); whether it is."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.state(sid) == "waiting" and loop.time() < deadline:
            await self.settle(sid, max(0.0, deadline - loop.time()))
            if self.state(sid) == "waiting":
                await asyncio.sleep(min(FINISH_POLL, max(0.0, deadline - loop.time())))
        return self.state(sid) != "waiting"

    # The run --------------------------------------------------------------------------------------------
    async def _main(self, run: Run) -> None:
        try:
            answered, prefetched = await self._progress(run)
            if answered:
                await self._script(run, prefetched)
            await self._finish(run)
        except Exception:
            log.exception("call %s: the sandbox's run failed", run.call.sid)
        finally:
            run.track.done = True
            run.call.running = False

    async def _progress(self, run: Run) -> tuple[bool, Verbs | None]:
        """Up to the answer: the progress events, and an inbound call's document, fetched as it rings.
        (Whether the call was answered, the document's verbs if fetched.)"""
        call = run.call
        run.at = call.created
        await self._event(run, "initiated", "initiated")
        ringing = planned(call, "ringing")
        prefetched: Verbs | None = None
        if ringing is not None and await run.reach(ringing, redirects=False):
            run.at = ringing
            await self._event(run, "ringing", "ringing")
            if call.direction == "inbound" and run.first is not None:
                prefetched = await self._document(run, run.first)
        answered = planned(call, "in-progress")
        if answered is None or not await run.reach(answered, redirects=False):
            return False, None
        run.at = max(run.at, answered)
        await self._event(run, "answered", "in-progress")
        return True, prefetched

    async def _script(self, run: Run, prefetched: Verbs | None) -> None:
        redirect = run.take_redirect()
        doc = redirect or run.first
        run.at = max(run.at, run.since)
        if doc is None:
            verbs: Verbs = UNREACHABLE
        elif prefetched is not None and redirect is None:
            verbs = prefetched
        else:
            verbs = await self._document(run, doc)
        same, last = 0, run.at
        while True:
            if verbs == ERROR:
                self._hang_up(run)
                return
            if isinstance(verbs, list) and doc is not None:
                with self.services.lock:
                    run.call.dial = None  # real TwiML runs: the Dial= stand-in gives way
                step = await execute(run, verbs, doc.url)
                if step == HANGUP:
                    self._hang_up(run)
                    return
                doc = step if isinstance(step, Doc) else run.take_redirect()
            else:
                doc = await self._idle(run)
            if doc is None:
                return
            same, last = (same + 1, last) if run.at == last else (0, run.at)
            if same >= DOCUMENTS_AT_ONE_INSTANT:
                run.notify(11215, "Too many documents at one instant: the call's TwiML loops without pause")
                self._hang_up(run)
                return
            verbs = await self._document(run, doc)

    async def _idle(self, run: Run) -> Doc | None:
        """No document: the call stays as its timeline has it until it ends or is redirected."""
        await run.reach(math.inf)
        return run.take_redirect()

    async def _document(self, run: Run, doc: Doc) -> Verbs:
        if doc.twiml is not None:
            try:
                return parse_voice(doc.twiml.encode("utf-8"))
            except TwimlError as exc:
                run.notify(exc.code, exc.text)
                return await self._fall_back(run, doc, exc.code, False)
        exchange = await run.request(doc.url, doc.method, {**run.params(), **doc.extra}, doc.kind)
        if exchange.ok:
            try:
                return voice_document(exchange)
            except TwimlError as exc:
                run.notify(exc.code, exc.text, exchange)
                return await self._fall_back(run, doc, exc.code, False)
        failure = exchange.failure()
        if failure is not None:
            run.notify(*failure, exchange=exchange)
        unreachable = exchange.status is None and exchange.code != INVALID_URL
        return await self._fall_back(run, doc, failure[0] if failure else 11200, unreachable)

    async def _fall_back(self, run: Run, doc: Doc, code: int, unreachable: bool) -> Verbs:
        if run.fallback is None or doc.fallback:
            return UNREACHABLE if unreachable else ERROR
        url, method = run.fallback
        extra = {**doc.extra, "ErrorCode": str(code), "ErrorUrl": redact(doc.url or "")}
        return await self._document(run, Doc(url, method, extra, "fallback", fallback=True))

    def _hang_up(self, run: Run) -> None:
        call = run.call
        with self.services.lock:
            answered = call.reached("in-progress", run.at)
            self.voice.hang_up(call, at=run.at)
            if answered == run.at and call.timeline[-1] == (run.at, "completed"):
                call.timeline.insert(-1, (run.at, "in-progress"))  # answered, and hung up at once

    async def _finish(self, run: Run) -> None:
        """At the call's end: its final status callback."""
        await run.reach(math.inf, redirects=False)
        end = run.end()
        run.at = end
        call = run.call
        await self._event(run, "completed", call.status(end), {"CallDuration": duration(call, end) or "0"})

    async def _event(self, run: Run, event: str, status: str, extra: dict[str, str] | None = None) -> None:
        hook = run.hook
        if hook is None or event not in hook.events:
            return
        params = {
            **run.params(status),
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(run.sequence),
            "Timestamp": rfc2822(run.at) or "",
            **(extra or {}),
        }
        run.sequence += 1
        token = secrets.token_hex(16)
        for _ in range(self.services.simulation.callback_repeats):
            exchange = await run.request(hook.url, hook.method, params, "status-callback", idempotency=token)
            failure = exchange.failure()
            if failure is not None:
                run.notify(*failure, exchange=exchange)


class DialedCalls(RecordedCalls):
    """The Calls behaviour, plus: the sandbox dials the calls made, and runs what a redirect gives."""

    def __init__(self, voice: Voice, recordings: Recordings, dialer: Dialer) -> None:
        super().__init__(voice, recordings)
        self.dialer = dialer

    def create(self, path: Mapping[str, str], form: dict[str, str]) -> Call:
        call = super().create(path, form)
        self.dialer.place(call, form)
        return call

    def update(self, call: Call, form: dict[str, str]) -> Call:
        call = super().update(call, form)
        url, twiml = form.get("Url") or None, form.get("Twiml") or None
        if (url or twiml) and call.ended(self.voice.clock()) is None:
            self.dialer.redirected(call, url, twiml, form.get("Method", "POST"))
        return call

    def settled(self, call: Call) -> bool:
        return not call.running and super().settled(call)
