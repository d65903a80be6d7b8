"""The sandbox's in-memory state: accounts, outgoing caller ids, incoming numbers, trunk numbers.

A test double of the upstream, not a database. Every public method takes the lock, so it is safe under
concurrent requests from any thread. Lists keep creation order; a page token names the last (``PA``)
or first (``PB``) sid of the page it continues from, as the real API's tokens do, and stays valid
after that sid is deleted.
"""

from __future__ import annotations

import gc
import os
import secrets
import threading
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

FIRST_SEEDED_NUMBER = 12025550000
"""``--seed-caller-ids N`` creates +1 202 555 0000, +1 202 555 0001, … (then 202 556 …)."""
FIRST_INCOMING_NUMBER = 16465550000
"""Pre-provisioned incoming numbers: +1 646 555 0000 upward."""


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(slots=True)
class CallerId:
    seq: int
    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime


@dataclass
class IncomingNumber:
    seq: int
    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str
    date_created: datetime
    date_updated: datetime
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrunkNumber:
    seq: int
    sid: str
    trunk_sid: str
    number: IncomingNumber
    date_created: datetime
    date_updated: datetime


def status_at(timeline: list[tuple[float, str]], now: float) -> str:
    """The status a timeline of (instant, status) has reached at ``now`` (its first before it starts)."""
    last, status = timeline[-1]
    if last <= now:
        return status
    current = timeline[0][1]
    for at, status in timeline:
        if at > now:
            break
        current = status
    return current


def newest(item: Any) -> tuple[float, int]:
    """An item's key in a list kept newest first."""
    return (-item.created, -item.seq)


Span = tuple[Any, Any]
"""The first and last keys a list's filters can keep (the rest is not looked at)."""


@dataclass(frozen=True, slots=True)
class Among:
    """Some of a list's keys, sorted, holding every one a page's filters can keep: the first
    ``tested`` are kept if the filters keep them, the rest are kept without asking."""

    keys: list[Any]
    tested: int


class Ordered:
    """Items in the order of their keys (creation order: the ``seq``; newest first: a key such as
    ``(-created, -seq)``) with O(log n) lookup of a token's position."""

    changes = 0
    """Adds and removes in every ordered list: an index derived from other lists is current while
    this has not moved since it was built."""

    def __init__(self) -> None:
        self.seqs: list[Any] = []
        self.items: dict[Any, Any] = {}
        self.tokens: dict[str, Any] = {}
        """Every sid ever added → its position; kept after removal so page tokens stay valid."""

    def add(self, seq: Any, item: Any) -> None:
        if self.seqs and seq < self.seqs[-1]:
            insort(self.seqs, seq)
        else:
            self.seqs.append(seq)
        self.items[seq] = item
        self.tokens[item.sid] = seq
        Ordered.changes += 1

    def __len__(self) -> int:
        return len(self.seqs)

    def get(self, sid: str) -> Any:
        seq = self.tokens.get(sid)
        return None if seq is None else self.items.get(seq)

    def remove(self, seq: Any) -> None:
        index = bisect_left(self.seqs, seq)
        if index < len(self.seqs) and self.seqs[index] == seq:
            del self.seqs[index]
            del self.items[seq]
            Ordered.changes += 1

    def values(self) -> Iterable[Any]:
        return (self.items[seq] for seq in self.seqs)

    def mirror(self, current: Mapping[str, Any], key: Callable[[Any], Any]) -> None:
        """Makes the list hold exactly ``current`` (sid → item): drops what is gone, adds what is new."""
        for item in list(self.values()):
            if item.sid not in current:
                self.remove(key(item))
        for sid, item in current.items():
            if self.get(sid) is None:
                self.add(key(item), item)

    def _span(self, span: Span | None) -> tuple[int, int]:
        if span is None:
            return 0, len(self.seqs)
        return bisect_left(self.seqs, span[0]), bisect_right(self.seqs, span[1])

    def after(
        self,
        seq: Any,
        keep: Callable[[Any], bool],
        size: int,
        span: Span | None = None,
        among: Among | None = None,
    ) -> list[Any]:
        """Up to ``size`` kept items after ``seq`` (``None``: from the first), without copying the
        rest of the list; only keys within ``span`` are looked at, and only those in ``among``, if
        given."""
        found: list[Any] = []
        seqs = self.seqs if among is None else among.keys
        low, high = (0, len(seqs))
        if span is not None:
            low, high = bisect_left(seqs, span[0]), bisect_right(seqs, span[1])
        first = low if seq is None else max(low, bisect_right(seqs, seq))
        sure = high if among is None else max(first, min(high, among.tested))
        for index in range(first, sure):
            item = self.items[seqs[index]]
            if keep(item):
                found.append(item)
                if len(found) == size:
                    return found
        items = self.items
        return found + [items[key] for key in seqs[sure : min(high, sure + size - len(found))]]

    def before(self, seq: Any, keep: Callable[[Any], bool], size: int, span: Span | None = None) -> list[Any]:
        """Up to ``size`` kept items before ``seq``, in list order."""
        found = []
        low, high = self._span(span)
        for index in range(min(high, bisect_left(self.seqs, seq)) - 1, low - 1, -1):
            item = self.items[self.seqs[index]]
            if keep(item):
                found.append(item)
                if len(found) == size:
                    break
        return found[::-1]


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_token: str | None
    previous_token: str | None


class Store:
    def __init__(self, accounts: dict[str, str]) -> None:
        self.accounts = dict(accounts)
        self.lock = threading.RLock()
        self._seq = 0
        self.caller_ids: dict[str, Ordered] = {}
        self.incoming: dict[str, Ordered] = {}
        self.trunks: dict[tuple[str, str], Ordered] = {}

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def check(self, account: str, token: str) -> bool:
        expected = self.accounts.get(account)
        return expected is not None and secrets.compare_digest(expected, token)

    # Outgoing caller ids ---------------------------------------------------------------------
    def add_caller_id(self, account: str, phone_number: str, friendly_name: str) -> CallerId:
        with self.lock:
            sid = new_sid("PN")
            stamp = now()
            item = CallerId(self._next(), sid, account, phone_number, friendly_name, stamp, stamp)
            self.caller_ids.setdefault(account, Ordered()).add(item.seq, item)
            return item

    def find_caller_id(self, account: str, sid: str) -> CallerId | None:
        with self.lock:
            ordered = self.caller_ids.get(account)
            return ordered.get(sid) if ordered is not None else None

    def caller_id_by_number(self, account: str, phone_number: str) -> CallerId | None:
        with self.lock:
            ordered = self.caller_ids.get(account)
            if ordered is None:
                return None
            return next((c for c in ordered.values() if c.phone_number == phone_number), None)

    def rename_caller_id(self, item: CallerId, friendly_name: str) -> None:
        with self.lock:
            item.friendly_name = friendly_name
            item.date_updated = now()

    def delete_caller_id(self, item: CallerId) -> None:
        with self.lock:
            self.caller_ids[item.account_sid].remove(item.seq)

    def seed_caller_ids(self, account: str, count: int, first: int = FIRST_SEEDED_NUMBER) -> None:
        """A million in seconds: one timestamp, one batch of random sids, NANP names formatted
        directly, one lock, and no garbage collection passes over the growing store meanwhile."""
        from gateway.dialect.phone import pretty

        randomness = os.urandom(16 * count).hex()
        collecting = gc.isenabled()
        gc.disable()
        try:
            with self.lock:
                stamp = now()
                ordered = self.caller_ids.setdefault(account, Ordered())
                for offset in range(count):
                    digits = str(first + offset)
                    if len(digits) == 11 and digits[0] == "1" and digits[1] not in "01":
                        name = f"({digits[1:4]}) {digits[4:7]}-{digits[7:]}"
                    else:
                        name = pretty("+" + digits)
                    seq = self._next()
                    sid = "PN" + randomness[32 * offset : 32 * offset + 32]
                    ordered.add(seq, CallerId(seq, sid, account, "+" + digits, name, stamp, stamp))
        finally:
            if collecting:
                gc.enable()

    def numbers(self, account: str) -> list[str]:
        """The account's incoming numbers, E.164."""
        with self.lock:
            ordered = self.incoming.get(account)
            return [n.phone_number for n in ordered.values()] if ordered is not None else []

    def number_sid(self, account: str, phone_number: str) -> str | None:
        """The sid of the account's incoming number or verified caller id with this number."""
        with self.lock:
            for table in (self.incoming, self.caller_ids):
                ordered = table.get(account)
                found = ordered and next(
                    (n for n in ordered.values() if n.phone_number == phone_number), None
                )
                if found:
                    return str(found.sid)
            return None

    # Incoming numbers and trunks ---------------------------------------------------------------
    def provision_incoming(
        self, account: str, count: int, first: int = FIRST_INCOMING_NUMBER
    ) -> list[IncomingNumber]:
        from gateway.dialect.phone import pretty

        made = []
        with self.lock:
            for offset in range(count):
                sid = new_sid("PN")
                e164 = f"+{first + offset}"
                stamp = now()
                number = IncomingNumber(self._next(), sid, account, e164, pretty(e164), stamp, stamp)
                self.incoming.setdefault(account, Ordered()).add(number.seq, number)
                made.append(number)
        return made

    def add_incoming(self, account: str, phone_number: str, friendly_name: str) -> IncomingNumber:
        with self.lock:
            stamp = now()
            number = IncomingNumber(
                self._next(), new_sid("PN"), account, phone_number, friendly_name, stamp, stamp
            )
            self.incoming.setdefault(account, Ordered()).add(number.seq, number)
            return number

    def release_incoming(self, number: IncomingNumber) -> None:
        """Off the account, and off every trunk it was on."""
        with self.lock:
            self.incoming[number.account_sid].remove(number.seq)
            for (account, _), ordered in self.trunks.items():
                attached = ordered.get(number.sid) if account == number.account_sid else None
                if attached is not None:
                    ordered.remove(attached.seq)

    def incoming_number(self, account: str, sid: str) -> IncomingNumber | None:
        with self.lock:
            ordered = self.incoming.get(account)
            return ordered.get(sid) if ordered is not None else None

    def attach(self, account: str, trunk: str, number: IncomingNumber) -> TrunkNumber | None:
        """``None`` when the number is on this trunk already."""
        with self.lock:
            ordered = self.trunks.setdefault((account, trunk), Ordered())
            if ordered.get(number.sid) is not None:
                return None
            stamp = now()
            item = TrunkNumber(self._next(), number.sid, trunk, number, stamp, stamp)
            ordered.add(item.seq, item)
            return item

    def trunk_number(self, account: str, trunk: str, sid: str) -> TrunkNumber | None:
        with self.lock:
            ordered = self.trunks.get((account, trunk))
            if ordered is None:
                return None
            found: TrunkNumber | None = ordered.get(sid)
            return found

    def detach(self, account: str, item: TrunkNumber) -> None:
        with self.lock:
            self.trunks[(account, item.trunk_sid)].remove(item.seq)

    def seed_trunk(self, account: str, trunk: str, count: int, first: int) -> None:
        for number in self.provision_incoming(account, count, first):
            self.attach(account, trunk, number)

    # Paging --------------------------------------------------------------------------------------
    def page(
        self,
        ordered: Ordered | None,
        size: int,
        token: str | None,
        keep: Callable[[Any], bool] = lambda _: True,
        span: Span | None = None,
        among: Among | None = None,
    ) -> Page | None:
        """``None`` when the token does not decode."""
        with self.lock:
            if ordered is None:
                return Page([], None, None) if token is None else None
            if token is None:
                after = ordered.after(None, keep, size + 1, span, among)
                items, more, earlier = after[:size], len(after) > size, False
            else:
                seq = ordered.tokens.get(token[2:]) if token[:2] in ("PA", "PB") else None
                if seq is None:
                    return None
                if token.startswith("PA"):
                    after = ordered.after(seq, keep, size + 1, span, among)
                    items, more, earlier = after[:size], len(after) > size, True
                else:
                    before = ordered.before(seq, keep, size + 1, span)
                    items, more, earlier = before[-size:], True, len(before) > size
            return Page(
                items,
                "PA" + items[-1].sid if more and items else None,
                "PB" + items[0].sid if earlier and items else None,
            )
