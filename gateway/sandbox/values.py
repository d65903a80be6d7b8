"""The 2010 API's values as the sandbox writes and filters them: RFC 2822 dates, formatted and E.164
numbers, and the date filters (``Name``, ``Name<``, ``Name>``) of its lists, shared by every behaviour."""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import phonenumbers

from gateway.dialect.phone import pretty

from .api import ApiError


def rfc2822(at: float | None) -> str | None:
    return None if at is None else _rfc2822(int(at))


DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@functools.lru_cache(maxsize=65536)
def _rfc2822(second: int) -> str:
    """``email.utils.format_datetime`` of the UTC instant, a third of its cost."""
    t = time.gmtime(second)
    clock = f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    return f"{DAYS[t.tm_wday]}, {t.tm_mday:02d} {MONTHS[t.tm_mon - 1]} {t.tm_year:04d} {clock} +0000"


def formatted(e164: str) -> str:
    """``(415) 555-1212``: a NANP number directly (what ``pretty`` answers for every ``+1`` number of
    ten digits that starts with 2–9), others through phonenumbers, cached: the sandbox renders the same
    numbers again and again, and seeded lists hold a hundred thousand different ones."""
    digits = e164[2:]
    if e164[:2] == "+1" and len(digits) == 10 and digits.isdigit() and digits[0] not in "01":
        return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    return _formatted(e164)


_formatted = functools.lru_cache(maxsize=65536)(pretty)


def _instant(value: str) -> tuple[datetime, bool]:
    """A filter value: ``YYYY-MM-DD`` (a whole day) or an ISO 8601 date-time."""
    try:
        if len(value) == 10:
            return datetime.fromisoformat(value).replace(tzinfo=UTC), True
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, 20001, f"{value!r} is not a date (YYYY-MM-DD) or an ISO 8601 date-time") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)), False


@functools.lru_cache(maxsize=1024)
def window(value: str, op: str) -> tuple[float, float]:
    """The whole seconds ``[low, high]`` a filter keeps (an item shows, and is compared by, the whole
    second it happened in): parsed once per value, not once per item."""
    bound, whole_day = _instant(value)
    start = bound.timestamp()
    last = start + 86399 if whole_day else start
    low = -math.inf if op == "<" else (start if whole_day else math.ceil(start))
    high = math.inf if op == ">" else (last if whole_day else math.floor(last))
    return low, high


def when(read: Callable[[Any], float | None], op: str) -> Callable[[Any, str], bool]:
    """``Name`` (that day, or that instant), ``Name<`` (on or before), ``Name>`` (on or after)."""

    def test(item: Any, value: str) -> bool:
        at = read(item)
        if at is None:
            return False
        low, high = window(value, op)
        return low <= math.floor(at) <= high

    return test


def newest_first(name: str) -> Callable[[list[tuple[str, str]]], tuple[Any, Any] | None]:
    """The keys a ``name`` filter can keep in a list keyed ``(-created, -seq)`` (newest first) by the
    date it filters: a page of a date range looks at that range, not at the list before it."""

    def span(given: list[tuple[str, str]]) -> tuple[Any, Any] | None:
        low, high = -math.inf, math.inf
        for key, value in given:
            if key.rstrip("<>") == name:
                found = window(value, key[len(name) :] or "=")
                low, high = max(low, found[0]), min(high, found[1])
        if (low, high) == (-math.inf, math.inf):
            return None
        return (-(high + 1), -math.inf), (-low, math.inf)

    return span


def dated(name: str, read: Callable[[Any], float | None]) -> dict[str, Callable[[Any, str], bool]]:
    return {name + op: when(read, op) for op in ("", "<", ">")}


def boolean(value: str) -> bool:
    return value.strip().lower() == "true"


def e164(raw: str, code: int, name: str | None = None) -> str:
    """``raw`` in E.164 (US by default), else 400 with ``code`` (naming the parameter ``name``, if given)."""
    try:
        number = phonenumbers.parse(raw, "US")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ApiError(
            400, code, f"Invalid '{name}' Phone Number: {raw}" if name else f"Invalid Phone Number: {raw}"
        )
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
