"""What the simulated world around the sandbox does: how callees answer, what callers press and say, and
how the sandbox calls applications back. Read from ``SANDBOX_*`` variables (:func:`from_env`).

- ``SANDBOX_BUSY_NUMBERS`` (``+15005550010``), ``SANDBOX_NO_ANSWER_NUMBERS`` (``+15005550011``),
  ``SANDBOX_FAILED_NUMBERS`` (``+15005550012``), ``SANDBOX_MACHINE_NUMBERS`` (``+15005550013``): E.164
  numbers, comma-separated, that answer busy, ring until the call's ``Timeout``, cannot be reached, or
  are picked up by an answering machine; anyone else is a person who answers.
- ``SANDBOX_DIGITS``: what callers press, one comma-separated entry per ``<Gather>`` (default none).
- ``SANDBOX_RECORD_LENGTH``: seconds a caller speaks into a ``<Record>`` (5).
- ``SANDBOX_WEBHOOK_TIMEOUT``: seconds the sandbox waits for an application (5).
- ``SANDBOX_CALLBACK_REPEATS``: times each status callback is posted, 2 standing for a retry (1).
- ``SANDBOX_MESSAGE_CALLBACKS``: the statuses of a sent message that post its ``StatusCallback``
  (``sent,failed,delivered,undelivered``: 2010's one callback at the end).
- ``SANDBOX_DELIVERY_RECEIPTS``: ``true`` makes a sent message ``delivered`` one step later (``false``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

KEYS = re.compile(r"[0-9#*]*")
MESSAGE_STATUSES = ("queued", "sending", "sent", "delivered", "undelivered", "failed")


@dataclass(frozen=True)
class Simulation:
    busy: frozenset[str] = frozenset({"+15005550010"})
    no_answer: frozenset[str] = frozenset({"+15005550011"})
    failed: frozenset[str] = frozenset({"+15005550012"})
    machine: frozenset[str] = frozenset({"+15005550013"})
    digits: tuple[str, ...] = ()
    """Each ``<Gather>`` of a call takes the next entry (none left, or an empty one: no input)."""
    record_length: float = 5.0
    webhook_timeout: float = 5.0
    callback_repeats: int = 1
    message_callbacks: frozenset[str] = frozenset({"sent", "failed", "delivered", "undelivered"})
    delivery_receipts: bool = False

    def outcome(self, number: str) -> str:
        """``busy``, ``no-answer``, ``failed``, ``machine`` or ``human``: who picks up at ``number``."""
        for name, numbers in (
            ("busy", self.busy),
            ("no-answer", self.no_answer),
            ("failed", self.failed),
            ("machine", self.machine),
        ):
            if number in numbers:
                return name
        return "human"


def digit_script(raw: str) -> tuple[str, ...]:
    """``1234#,,9`` → ``("1234#", "", "9")``; anything but digits, ``#`` and ``*`` is refused."""
    entries = tuple(part.strip() for part in raw.split(",")) if raw.strip() else ()
    if any(not KEYS.fullmatch(entry) for entry in entries):
        raise ValueError("digits must be keys 0-9, # and *, one entry per Gather, comma-separated")
    return entries


def numbers(raw: str, name: str) -> frozenset[str]:
    found = frozenset(filter(None, (part.strip() for part in raw.split(","))))
    if any(not (n.startswith("+") and n[1:].isdigit()) for n in found):
        raise ValueError(f"{name} must be E.164 numbers, comma-separated")
    return found


def from_env(env: Mapping[str, str]) -> Simulation:
    default = Simulation()
    lists = {
        field: numbers(env[var], var) if var in env else getattr(default, field)
        for field, var in (
            ("busy", "SANDBOX_BUSY_NUMBERS"),
            ("no_answer", "SANDBOX_NO_ANSWER_NUMBERS"),
            ("failed", "SANDBOX_FAILED_NUMBERS"),
            ("machine", "SANDBOX_MACHINE_NUMBERS"),
        )
    }
    statuses = frozenset(
        s.strip()
        for s in env.get("SANDBOX_MESSAGE_CALLBACKS", ",".join(default.message_callbacks)).split(",")
    ) - {""}
    if not statuses <= set(MESSAGE_STATUSES):
        raise ValueError(f"SANDBOX_MESSAGE_CALLBACKS must name statuses among {', '.join(MESSAGE_STATUSES)}")
    receipts = env.get("SANDBOX_DELIVERY_RECEIPTS", "false").strip().lower()
    if receipts not in ("true", "false"):
        raise ValueError("SANDBOX_DELIVERY_RECEIPTS must be true or false")
    try:
        digits = digit_script(env.get("SANDBOX_DIGITS", ""))
    except ValueError as exc:
        raise ValueError(f"SANDBOX_DIGITS: {exc}") from None
    return Simulation(
        **lists,
        digits=digits,
        record_length=_number(env, "SANDBOX_RECORD_LENGTH", default.record_length, 3600),
        webhook_timeout=_number(env, "SANDBOX_WEBHOOK_TIMEOUT", default.webhook_timeout, 60),
        callback_repeats=int(_number(env, "SANDBOX_CALLBACK_REPEATS", default.callback_repeats, 10, 1)),
        message_callbacks=statuses,
        delivery_receipts=receipts == "true",
    )


def _number(env: Mapping[str, str], name: str, default: float, most: float, least: float = 0) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number") from None
    if not least <= value <= most:
        raise ValueError(f"{name} must be between {least:g} and {most:g}")
    return value
