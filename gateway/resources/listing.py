"""How the upstream pages, filters and orders a resource's list: the part of the vocabulary the list
engine (:mod:`gateway.lists`) reads to walk and count it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class DatePartition:
    """An upstream inequality filter pair on a date (``StartTime>`` on or after, ``StartTime<`` on or before)
    and the item field it reads (``start_time``), for a list the upstream sorts newest first by that
    date: it is then counted in date ranges concurrently (docs/paging.md). Items older than ``since``
    are counted in one range with no lower bound."""

    param: str
    field: str
    since: str = "2008-01-01T00:00:00Z"
    unit: Literal["second", "day"] = "second"
    """The filter's resolution: ``day`` where the upstream takes only ``YYYY-MM-DD`` (Conferences'
    ``DateCreated``, Notifications' ``MessageDate``); a day with more than a page is read page by page."""


@dataclass(frozen=True)
class StatusPartition:
    """An upstream filter on an item's status (``Status``) whose statuses follow a lifecycle, for a
    list the upstream sorts by a date it cannot filter on: the list is then counted status by status
    (docs/paging.md, Calls). ``stages`` lists every status the upstream has, in lifecycle order: an
    item only ever moves to a status of a later stage, never within its stage, and the statuses of
    the last stage are final (an item never leaves them). Stages are read one after the other; the
    parts of one stage at once. ``dated`` names, for final statuses whose items all carry a date the
    upstream can filter on and that never changes once the status is reached, that date filter: such
    a status is counted in date ranges, concurrently."""

    param: str
    field: str
    stages: tuple[tuple[str, ...], ...]
    dated: tuple[tuple[str, DatePartition], ...] = ()
    settled: tuple[tuple[str, DatePartition], ...] = ()
    """Final statuses whose items all carry the date they reached it (never changed after), with
    that date's filter: items that reached it before the count began cannot move during it, so those
    dated a day before the list's newest ``created`` or earlier are counted at once, alongside the
    stages; the newer ones with their stage."""
    created: str | None = None
    """The items' creation date: the newest one the list's first page shows is an instant the
    upstream had reached when the count began."""

    def __post_init__(self) -> None:
        final = set(self.stages[-1]) if self.stages else set()
        if not all(status in final for status, _ in (*self.dated, *self.settled)):
            raise ValueError("only final statuses can be counted in date ranges")
        if self.settled and self.created is None:
            raise ValueError("settled statuses need the items' creation date")

    @property
    def statuses(self) -> tuple[str, ...]:
        return tuple(status for stage in self.stages for status in stage)

    def final(self, status: str) -> bool:
        return status in self.stages[-1]

    def date_of(self, status: str) -> DatePartition | None:
        return next((partition for name, partition in self.dated if name == status), None)

    def settled_by(self, status: str) -> DatePartition | None:
        return next((partition for name, partition in self.settled if name == status), None)


@dataclass(frozen=True)
class Paging:
    """How the upstream pages a list: 2010's flat body or v1's ``meta`` object; ``partition`` when the
    upstream can filter the list by the date it sorts it by (newest first); ``statuses`` when it can
    filter it by a status with a lifecycle instead."""

    style: Literal["flat", "meta"]
    items_key: str
    partition: DatePartition | None = None
    statuses: StatusPartition | None = None

    def items(self, body: object) -> object:
        """The page's items; ``None`` when ``body`` is not an object (a 204 or empty answer)."""
        return body.get(self.items_key) if isinstance(body, Mapping) else None

    def next_url(self, body: object) -> object:
        if not isinstance(body, Mapping):
            return None
        if self.style == "flat":
            return body.get("next_page_uri")
        meta = body.get("meta")
        return meta.get("next_page_url") if isinstance(meta, Mapping) else None


@dataclass(frozen=True)
class Order:
    """The upstream's list order, by a legacy field: merged fan-out lists keep it."""

    legacy: str
    descending: bool = True
    identity: tuple[str, ...] = ("Sid",)
    """Legacy fields that name one item (an item met twice in merged lists is kept once)."""
