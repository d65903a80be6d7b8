"""Seed data for messaging and logs: ``messages=N``, ``recordings=N``, ``transcriptions=N``,
``notifications=N`` (registered in :data:`gateway.sandbox.seed.SEEDERS`).

Spread over the same six months as the calls: messages in every direction (mostly sent or received, a
few failed, the newest still queued or sending), with some long and some non-GSM bodies; recordings of
the account's answered calls when it has any (otherwise of calls made for them); transcriptions of its
recordings; notifications at both log levels, some about its calls.
"""

from __future__ import annotations

import random

from .host import Host
from .voice import Call, Entry

SPAN = 180 * 86400.0
BODIES = (
    "Hi there Jenny! Why didn't you call me back?",
    "The judge said you can't text me anymore.",
    "Your code is 482913",
    "Grüße aus Köln! ¿Qué tal? 👋",
    "配達は明日です",
    "Reminder: " + "the meeting moved to 3pm, bring the quarterly numbers and the signed contracts. " * 3,
)
DIRECTIONS = (("inbound", 40), ("outbound-api", 45), ("outbound-reply", 10), ("outbound-call", 5))
ERRORS = (
    (11200, "HTTP retrieval failure"),
    (11205, "HTTP connection failure"),
    (12100, "Document parse failure"),
    (13224, "Dial: Invalid phone number format"),
    (21211, "Invalid 'To' Phone Number"),
)


def _number(rng: random.Random) -> str:
    return f"+1{rng.choice((415, 212, 646, 312, 206, 617))}{rng.randrange(2000000, 9999999)}"


def seed_messages(sandbox: Host, account: str, count: int, rng: random.Random) -> None:
    messaging = sandbox.messaging
    now = messaging.clock()
    ours = sandbox.store.numbers(account) or ["+16465550000"]
    for start in sorted(now - rng.uniform(60, SPAN) for _ in range(count)):
        direction = rng.choices([d for d, _ in DIRECTIONS], [w for _, w in DIRECTIONS])[0]
        mine, theirs = rng.choice(ours), _number(rng)
        to, from_ = (mine, theirs) if direction == "inbound" else (theirs, mine)
        message = messaging.add_message(account, to, from_, rng.choice(BODIES), direction, at=start)
        if direction != "inbound" and rng.random() < 0.04:
            message.timeline[-1] = (message.timeline[-1][0], "failed")
    for _ in range(min(count, 2)):  # the newest, still on their way
        messaging.add_message(
            account, _number(rng), ours[0], BODIES[0], "outbound-api", at=now - rng.random()
        )


def _answered_calls(sandbox: Host, account: str) -> list[Call]:
    voice = sandbox.voice
    now = voice.clock()
    ordered = voice.calls.get(account)
    calls = list(ordered.values()) if ordered is not None else []
    return [c for c in calls if c.ended(now) is not None and c.reached("in-progress", now) is not None]


def seed_recordings(sandbox: Host, account: str, count: int, rng: random.Random) -> None:
    recordings = sandbox.recordings
    calls = _answered_calls(sandbox, account)
    now = sandbox.voice.clock()
    ours = sandbox.store.numbers(account) or ["+16465550000"]
    for _ in range(count):
        if calls:
            call = rng.choice(calls)
        else:
            at = now - rng.uniform(3600, SPAN)
            call = sandbox.voice.new_call(account, _number(rng), ours[0], "outbound-api", at=at)
        end = call.ended(now) or call.timeline[-1][0]
        answered = call.reached("in-progress", now) or call.created
        recordings.add(call, max(1, min(120, int(end - answered))), end)


def seed_transcriptions(sandbox: Host, account: str, count: int, rng: random.Random) -> None:
    recordings = sandbox.recordings
    made: list[Entry] = list(recordings.sync(account).values())
    if not made:
        seed_recordings(sandbox, account, count, rng)
        made = list(recordings.sync(account).values())
    for _ in range(count):
        recording = rng.choice(made)
        recordings.transcribe(recording, recording.created + rng.uniform(5, 60))


def seed_notifications(sandbox: Host, account: str, count: int, rng: random.Random) -> None:
    log = sandbox.notifications
    now = log.clock()
    calls = _answered_calls(sandbox, account)
    for at in sorted(now - rng.uniform(60, SPAN) for _ in range(count)):
        code, text = rng.choice(ERRORS)
        call = rng.choice(calls).sid if calls and rng.random() < 0.6 else None
        level = "0" if rng.random() < 0.7 else "1"
        log.add(account, call, code, text, at=at, level=level, request_url="https://example.com/twiml")


SEEDERS = {
    "messages": seed_messages,
    "recordings": seed_recordings,
    "transcriptions": seed_transcriptions,
    "notifications": seed_notifications,
}
