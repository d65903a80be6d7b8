"""Seed data: ``--seed calls=N,conferences=N`` (or ``SANDBOX_SEED``), one seeder per name.

A seeder is a function ``(sandbox, account, count, rng)`` registered in :data:`SEEDERS` under its name;
adding a kind of seed data is one entry. Seeds are deterministic (the random generator is seeded with
the spec string) and spread over the :data:`SPAN` before the sandbox's clock.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable, Mapping

from . import call_logs
from .host import Host
from .seed_messaging import SEEDERS as MESSAGING
from .voice import Call, Voice

SPAN = 180 * 86400.0
"""Seeded history reaches back about six months."""
Seeder = Callable[[Host, str, int, random.Random], None]


def parse(spec: str) -> dict[str, int]:
    """``calls=2000,conferences=10`` → ``{"calls": 2000, "conferences": 10}``; unknown names refused."""
    counts: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, raw = part.partition("=")
        name = name.strip()
        if not sep or not raw.strip().isdigit():
            raise ValueError(f"seed {part!r} is not name=N")
        if name not in SEEDERS:
            raise ValueError(f"unknown seed {name!r}; known: {', '.join(sorted(SEEDERS))}")
        counts[name] = int(raw)
    return counts


def apply(sandbox: Host, counts: Mapping[str, int]) -> None:
    """No garbage collection passes over the growing state meanwhile (seeding makes no cycles to
    collect): 100,000 calls in 10.2 s instead of 11.7 s."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        for account in sandbox.config.accounts:
            for name, count in counts.items():
                SEEDERS[name](sandbox, account, count, random.Random(f"{name}={count}:{account}"))
    finally:
        if collecting:
            gc.enable()


def _number(rng: random.Random) -> str:
    return f"+1{rng.choice((415, 212, 646, 312, 206, 617, 512, 303))}{rng.randrange(2000000, 9999999)}"


OUTCOMES = (("completed", 70), ("no-answer", 10), ("busy", 8), ("failed", 5), ("canceled", 4))
LIVE_SHARE = 0.03
"""The newest few percent of seeded calls are still live (queued, ringing or in progress)."""


def _history(voice: Voice, call: Call, outcome: str, rng: random.Random) -> None:
    """A finished call's timeline: rang a few seconds, then the outcome."""
    start = call.created
    ring = start + rng.uniform(0.5, 3)
    if outcome == "completed":
        answer = ring + rng.uniform(2, 20)
        call.timeline = [(start, "queued"), (ring, "ringing"), (answer, "in-progress")]
        call.timeline.append((answer + rng.lognormvariate(4.5, 1.0), "completed"))
    elif outcome in ("failed", "canceled") and rng.random() < 0.5:
        call.timeline = [(start, "queued"), (ring, outcome)]
    else:
        call.timeline = [(start, "queued"), (ring, "ringing"), (ring + rng.uniform(5, 30), outcome)]
    call.updated = call.timeline[-1][0]


def _logs(voice: Voice, call: Call, outcome: str, rng: random.Random) -> None:
    """Some answered calls were recorded; some failed ones left a notification."""
    end = call.timeline[-1][0]
    answered = call.reached("in-progress", end)
    if answered is not None and rng.random() < 0.15:
        call_logs.recording(voice, call.sid, call.account_sid, end, int(end - answered))
    if outcome == "failed":
        text = "An attempt to retrieve content from the call's Url returned an HTTP 500 response"
        call_logs.notification(voice, call.sid, call.account_sid, end, 11200, text)


def seed_calls(sandbox: Host, account: str, count: int, rng: random.Random) -> None:
    """Inbound and API calls over six months, a quarter of the answered ones with a Dial leg."""
    voice = sandbox.voice
    now = voice.clock()
    ours = sandbox.store.numbers(account) or ["+16465550000"]
    starts = sorted(now - rng.uniform(60, SPAN) for _ in range(count))
    live = max(0, round(count * LIVE_SHARE))
    for index, start in enumerate(starts):
        inbound = rng.random() < 0.45
        mine, theirs = rng.choice(ours), _number(rng)
        to, from_ = (mine, theirs) if inbound else (theirs, mine)
        direction = "inbound" if inbound else "outbound-api"
        sid = sandbox.store.number_sid(account, mine)
        if index >= count - live:
            at = now - rng.uniform(0, 2 * voice.step + voice.length)
            voice.new_call(account, to, from_, direction, at=at, phone_number_sid=sid)
            continue
        call = voice.new_call(account, to, from_, direction, at=start, phone_number_sid=sid)
        outcome = rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
        _history(voice, call, outcome, rng)
        answered = call.reached("in-progress", now)
        _logs(voice, call, outcome, rng)
        if answered is not None and rng.random() < 0.25:
            leg = voice.new_call(account, _number(rng), from_, "outbound-dial", at=answered, parent=call)
            end = call.timeline[-1][0]
            leg.timeline = [(answered, "ringing"), (answered + rng.uniform(1, 10), "in-progress")]
            leg.end_at(max(end, leg.timeline[-1][0] + 1), "completed")
    voice.refresh()


def seed_conferences(sandbox: Host, account: str, count: int, rng: random.Random) -> None:
    """Conferences over six months with two to five participants; the newest one or two still live."""
    voice = sandbox.voice
    now = voice.clock()
    ours = sandbox.store.numbers(account) or ["+16465550000"]
    starts = sorted(now - rng.uniform(3600, SPAN) for _ in range(count))
    live = min(count, 2)
    for index, start in enumerate(starts):
        is_live = index >= count - live
        at = now - rng.uniform(10, 600) if is_live else start
        room = voice.add_conference(account, f"Room {rng.randrange(100, 9999)}", at=at)
        for seat in range(rng.randint(2, 5)):
            joined = at + seat * rng.uniform(1, 30)
            call = voice.new_call(account, rng.choice(ours), _number(rng), "inbound", at=joined - 5)
            call.timeline = [(joined - 5, "queued"), (joined - 4, "ringing"), (joined, "in-progress")]
            voice.join(room, call, at=joined, end_conference_on_exit=seat == 0 and rng.random() < 0.3)
        if not is_live:
            voice.end(room, "last-participant-left", at=at + rng.uniform(600, 3600))


SEEDERS: dict[str, Seeder] = {
    "calls": seed_calls,
    "conferences": seed_conferences,
    **MESSAGING,
}
