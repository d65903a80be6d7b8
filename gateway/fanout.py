"""One legacy list answered from several upstream lists, merged back into the upstream's own order.

A legacy filter value that means several upstream values (2008 call status 0, "not yet dialed", is
2010's ``queued`` and ``ringing``) is read as one upstream list per value. Each list arrives in the
upstream's order (the resource's :class:`~gateway.resources.model.Order`); the merge keeps that order
(ties: the earlier query first) and keeps an item once, at its first position, when it moved from one
list to another during the walk.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from email.utils import parsedate_to_datetime

from .document import Record
from .resources.model import Order


def instant(value: object) -> float:
    """An RFC 2822 or epoch-seconds legacy date as a number; unknown or empty sorts last."""
    if isinstance(value, str) and value:
        if value.isdigit():
            return float(value)
        try:
            return parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            pass
    return float("-inf")


def _field(record: Record, name: str) -> object:
    for key, value in record:
        if key == name:
            return value
    return None


def merge(lists: list[list[Record]], order: Order | None) -> list[Record]:
    if len(lists) == 1:
        return lists[0]
    merged: Iterable[Record]
    if order is None:
        merged = (record for records in lists for record in records)
    else:
        sign = -1.0 if order.descending else 1.0
        merged = heapq.merge(*lists, key=lambda record: sign * instant(_field(record, order.legacy)))
    identity = order.identity if order is not None else ("Sid",)
    seen: set[tuple[object, ...]] = set()
    out: list[Record] = []
    for record in merged:
        key = tuple(_field(record, name) for name in identity)
        if key not in seen:
            seen.add(key)
            out.append(record)
    return out
