"""``<Dial>`` as the sandbox runs it.

Each ``<Number>`` (or the verb's text) is a child leg (``outbound-dial``, ``parent_call_sid``) that
rings at once, all together: the simulation says who answers (busy and failed numbers end at once, a
no-answer number rings until ``timeout``; anyone else answers one call step later — or not before
``timeout``, which is then a no-answer). The first to answer is bridged; the others are canceled. The
bridge lasts until the callee hangs up (``call_length`` after answering), ``timeLimit``, or the caller's
end, whichever first. ``<Conference>`` joins the call to the account's live conference of that name (or
a new one) until the call ends; leaving, it ends the conference if it was the last participant or had
``endConferenceOnExit``.

With an ``action``, it is requested with ``DialCallStatus`` (``completed``, ``answered`` for a
conference, ``busy``, ``no-answer``, ``failed``, ``canceled``), ``DialCallSid`` and
``DialCallDuration`` (the leg's duration as the API shows it; in a conference, the time in it) — also
after the caller hung up, its answer then ignored; without one the
document goes on with its next verb.
"""

from __future__ import annotations

import math

from .api import ApiError
from .call_run import STOP, Doc, Run, Step, resolve
from .twiml import Verb
from .values import e164
from .voice import Call, Conference, Participant, Voice, duration

INVALID_NUMBER = 13223
Outcome = tuple[str, str | None, int]
"""DialCallStatus, DialCallSid, DialCallDuration."""


async def dial(run: Run, verb: Verb, url: str | None) -> Step:
    rooms = [c for c in verb.children if c.name == "Conference"]
    numbers = [c.text for c in verb.children if c.name == "Number"] or ([verb.text] if verb.text else [])
    if rooms:
        outcome = await _conference(run, rooms[0])
    elif numbers:
        outcome = await _bridge(run, verb, numbers)
    else:
        return None
    if outcome is None:
        return STOP
    status, leg, seconds = outcome
    extra = {"DialCallStatus": status, "DialCallDuration": str(seconds)}
    if leg is not None:
        extra["DialCallSid"] = leg
    if not verb["action"]:
        return STOP if run.over() else None
    action = Doc(resolve(url, verb["action"]), verb["method"], extra, "action")
    if run.over():
        await run.request(action.url, action.method, {**run.params(), **extra}, "action")
        return STOP
    return action


def _numbers(run: Run, raw: list[str]) -> list[str]:
    found = []
    for text in raw:
        try:
            found.append(e164(text, INVALID_NUMBER))
        except ApiError:
            run.notify(INVALID_NUMBER, f"Dial: Invalid phone number format: {text!r}", level="1")
    return found


def _leg(run: Run, number: str, caller: str, timeout: float) -> Call:
    voice, start = run.services.voice, run.at
    leg = voice.new_call(run.call.account_sid, number, caller, "outbound-dial", at=start, parent=run.call)
    outcome = run.services.simulation.outcome(number)
    if outcome in ("busy", "failed"):
        leg.timeline = [(start, outcome)]
    elif outcome == "no-answer" or voice.step >= timeout:
        leg.timeline = [(start, "ringing"), (start + timeout, "no-answer")]
    else:
        leg.timeline = [(start, "ringing"), (start + voice.step, "in-progress")]
        leg.running = True
    return leg


async def _bridge(run: Run, verb: Verb, raw: list[str]) -> Outcome | None:
    services, timeout = run.services, float(verb["timeout"])
    numbers = _numbers(run, raw)
    if not numbers:
        return "failed", None, 0
    with services.lock:
        legs = [_leg(run, n, verb["callerId"] or run.call.from_, timeout) for n in numbers]
    answering = [leg for leg in legs if leg.running]
    if not answering:
        return await _unanswered(run, legs, timeout)
    winner = answering[0]
    answered = next(at for at, status in winner.timeline if status == "in-progress")
    if not await run.advance(answered):
        return _hang_up(run, legs, "canceled", winner)
    with services.lock:
        for leg in legs:
            if leg is not winner:
                services.voice.hang_up(leg, "canceled", at=answered)
                leg.running = False
    await run.advance(answered + min(services.voice.length, float(verb["timeLimit"])))
    outcome = _hang_up(run, [winner], "completed", winner)
    return None if outcome is None else (outcome[0], outcome[1], int(duration(winner, run.at) or 0))


async def _unanswered(run: Run, legs: list[Call], timeout: float) -> Outcome | None:
    statuses = [leg.timeline[-1][1] for leg in legs]
    if "no-answer" not in statuses:
        return ("busy" if "busy" in statuses else "failed"), legs[0].sid, 0
    if not await run.spend(timeout):
        return _hang_up(run, legs, "canceled", legs[0])
    return "no-answer", legs[0].sid, 0


def _hang_up(run: Run, legs: list[Call], status: str, named: Call) -> Outcome | None:
    """Ends the legs where the dial stopped; None when a redirect through the API stopped it."""
    with run.services.lock:
        for leg in legs:
            if not run.interrupted():
                run.services.voice.hang_up(leg, at=run.at)
            leg.running = False
    return None if run.interrupted() else (status, named.sid, 0)


async def _conference(run: Run, noun: Verb) -> Outcome | None:
    voice, call = run.services.voice, run.call
    with run.services.lock:
        room = _room(voice, call.account_sid, noun.text) or voice.add_conference(
            call.account_sid, noun.text, at=run.at
        )
        member = voice.join(
            room,
            call,
            at=run.at,
            muted=noun["muted"],
            start_conference_on_enter=noun["startConferenceOnEnter"],
            end_conference_on_exit=noun["endConferenceOnExit"],
        )
    start = run.at
    await run.advance(math.inf)
    left = max(run.at, run.redirect_at) if run.interrupted() else run.at
    with run.services.lock:
        if room.participants.get(call.sid) is member:
            _leave(voice, room, member, left)
    return None if run.interrupted() else ("answered", None, int(run.at - start))


def _room(voice: Voice, account: str, name: str) -> Conference | None:
    rooms = voice.conferences.get(account)
    live = (c for c in rooms.values() if c.friendly_name == name and c.status != "completed") if rooms else ()
    return next(iter(live), None)


def _leave(voice: Voice, room: Conference, member: Participant, at: float) -> None:
    room.participants.remove(member.seq)
    if member.end_conference_on_exit:
        voice.end(room, "participant-with-end-conference-on-exit-left", member.call.sid, at)
    elif not len(room.participants):
        voice.end(room, "last-participant-left", member.call.sid, at)
