"""What a list request asks of each upstream item: is it the client's to see and on the legacy list,
where is it in the upstream's order, what names it. Each is made once per request, as a closure over
what the resource declares: a count asks them of every item it reads."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

from gateway.lists import fanout
from gateway.resources import Resource

Bound = tuple[str, ...] | None
"""Sidecar mode: the accounts the client's credential is bound to; ``None`` otherwise."""


def upstream_field(resource: Resource, legacy: str) -> str | None:
    return next((f.upstream for f in resource.item.fields if f.legacy == legacy), None)


def owner(
    resource: Resource, path: Mapping[str, str], bound: Bound
) -> Callable[[Mapping[str, object]], bool]:
    """Whether an upstream item is the request's to see: owned by the path's account and, in sidecar
    mode, by one the credential is bound to (``bound``)."""
    return _filter(resource, path, bound, ())


def lister(resource: Resource, path: Mapping[str, str], bound: Bound) -> Callable[[object], bool]:
    """Whether an upstream item belongs on the legacy list: the request's to see, and none of
    ``skip_if`` set."""
    check = _filter(resource, path, bound, resource.skip_if)

    def listed(item: object) -> bool:
        if type(item) is dict or isinstance(item, Mapping):  # decoded objects are dicts: no ABC check
            return check(item)
        return True  # the translator answers 502 for it

    return listed


def _filter(
    resource: Resource, path: Mapping[str, str], bound: Bound, skip: tuple[str, ...]
) -> Callable[[Mapping[str, object]], bool]:
    account_of = resource.account_of
    owners = tuple((field, path.get(name)) for field, name in resource.owned_by)

    def kept(item: Mapping[str, object]) -> bool:
        if bound is not None and account_of is not None and item.get(account_of) not in bound:
            return False
        for field, value in owners:
            if item.get(field) != value:
                return False
        for key in skip:  # noqa: SIM110 - asked of every item counted; a generator each costs twice
            if item.get(key):
                return False
        return True

    return kept


def identity(resource: Resource) -> Callable[[Any], Hashable] | None:
    """What names one upstream item (the order's identity fields), for merged queries."""
    if resource.order is None:
        return None
    names = _identity_fields(resource)
    if len(names) == 1:
        (only,) = names

        def sid(item: Any) -> Hashable:
            if type(item) is not dict and not isinstance(item, Mapping):  # decoded objects are dicts
                return id(item)
            return str(item.get(only))

        return sid

    def named(item: Any) -> Hashable:
        if type(item) is not dict and not isinstance(item, Mapping):
            return id(item)
        return tuple([str(item.get(name)) for name in names])

    return named


def _identity_fields(resource: Resource) -> list[str]:
    order = resource.order
    return [upstream_field(resource, legacy) or legacy for legacy in order.identity] if order else []


def order_key(resource: Resource) -> Callable[[Any], float] | None:
    """The upstream's list order (a legacy field, :class:`~gateway.resources.model.Order`) as a key
    on upstream items, larger first, for merging the lists of several queries."""
    order = resource.order
    if order is None:
        return None
    name = upstream_field(resource, order.legacy)
    if name is None:
        return None
    sign = 1.0 if order.descending else -1.0

    def key(item: Any) -> float:
        return sign * fanout.instant(item.get(name) if isinstance(item, Mapping) else None)

    return key


def fields_read(resource: Resource) -> tuple[str, ...]:
    """Every upstream field of an item that the checks above, a walk's merge and a count read: the
    fields of a page decoded only to be counted (:mod:`gateway.lists.skim`)."""
    names = {field for field, _ in resource.owned_by} | set(resource.skip_if)
    if resource.hidden:
        names.add("sid")  # what a hidden item is known by (:mod:`gateway.lists.hidden`)
    names.update(_identity_fields(resource))
    if resource.account_of is not None:
        names.add(resource.account_of)
    if resource.order is not None and (ordered := upstream_field(resource, resource.order.legacy)):
        names.add(ordered)
    paging = resource.paging
    if paging.partition is not None:
        names.add(paging.partition.field)
    statuses = paging.statuses
    if statuses is not None:
        names.add(statuses.field)
        names.update(partition.field for _, partition in (*statuses.dated, *statuses.settled))
        names.update([statuses.created] if statuses.created else [])
    return tuple(sorted(names))
