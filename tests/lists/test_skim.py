"""Pages read only to be counted (gateway/lists/skim.py): every field the count reads is kept, nothing
else is built, and a body that is not a list page is a 502 as it is on a full read."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson
import pytest

from gateway.errors import BadGateway
from gateway.lists.skim import parser
from gateway.lists.upstream_items import fields_read, identity, lister, order_key, owner
from gateway.lists.walk import Walker
from gateway.resources import RESOURCES, Resource
from gateway.upstream.client import decode


class Anything:
    """A value equal to every other and false: every check reads on to its last field."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __bool__(self) -> bool:
        return False

    def __hash__(self) -> int:
        return 0


class Reading(Mapping[str, Any]):
    """An item that remembers which of its fields were read."""

    def __init__(self, dates: set[str]) -> None:
        self.read: set[str] = set()
        self.dates = dates

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return "Fri, 27 Nov 2026 10:00:00 +0000" if key in self.dates else Anything()

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def get(self, key: str, default: Any = None) -> Any:
        return self[key]


LISTED = [resource for resource in RESOURCES if resource.upstream_list]


@pytest.mark.parametrize("resource", LISTED, ids=lambda resource: resource.name)
def test_every_field_a_count_reads_is_kept(resource: Resource) -> None:
    partition = resource.paging.partition
    item = Reading({partition.field} if partition is not None else set())
    path = {name: "X" for name in ("AccountSid", "CallSid", "ConferenceSid", "TrunkSid", "Sid")}
    assert lister(resource, path, ("AC1",))(item) and owner(resource, path, ("AC1",))(item)
    for check in (identity(resource), order_key(resource)):
        if check is not None:
            check(item)
    walker = Walker(fetch=_unused, keep=bool, partition=partition)
    if partition is not None:
        walker.date(item)
    statuses = resource.paging.statuses
    if statuses is not None:
        item.get(statuses.field)  # the head's statuses (tally.known) and the dates of ranges
        for _, partition in (*statuses.dated, *statuses.settled):
            item.get(partition.field)
        item.get(statuses.created or "")
    assert item.read <= set(fields_read(resource)), resource.name


async def _unused(target: str, params: Any) -> Any:
    raise AssertionError("no page is read")


CALLS = next(resource for resource in RESOURCES if resource.paging.statuses is not None)


def call(index: int) -> dict[str, Any]:
    return {
        "sid": f"CA{index:032x}",
        "account_sid": "AC1",
        "parent_call_sid": None,
        "status": "completed",
        "date_created": "Fri, 27 Nov 2026 10:00:00 +0000",
        "start_time": "Fri, 27 Nov 2026 10:00:01 +0000",
        "to": "+14155550100",
        "price": -0.013,
        "subresource_uris": {"recordings": f"/Calls/CA{index:032x}/Recordings.json"},
        "annotation": [{"deep": [1, 2, {"x": None}]}],
    }


def test_a_skimmed_page_is_the_full_page_with_the_counted_fields_alone() -> None:
    page: dict[str, Any] = {"calls": [call(i) for i in range(3)], "next_page_uri": "/next", "page": 0}
    body = orjson.dumps(page)
    kept = fields_read(CALLS)
    skimmed = parser(CALLS)(body)
    assert skimmed == {
        "calls": [{key: value for key, value in item.items() if key in kept} for item in page["calls"]],
        "next_page_uri": "/next",
    }
    assert {"sid", "status", "start_time", "date_created"} <= set(kept)
    assert "to" not in kept and "subresource_uris" not in kept


def test_items_that_are_not_objects_are_kept_as_a_full_read_keeps_them() -> None:
    body = b'{"calls": [5, "x", null, [1, {"sid": "CA1"}], true, {"sid": "CA2", "to": "+1"}]}'
    assert parser(CALLS)(body)["calls"] == [5, "x", None, [1, {"sid": "CA1"}], True, {"sid": "CA2"}]


def test_the_v1_envelope_keeps_its_paging_link() -> None:
    trunked = next(resource for resource in RESOURCES if resource.paging.style == "meta")
    key = trunked.paging.items_key
    body = orjson.dumps({key: [{"sid": "PN1", "friendly_name": "x"}], "meta": {"next_page_url": "https://n"}})
    skimmed = parser(trunked)(body)
    assert trunked.paging.next_url(skimmed) == "https://n"
    assert [set(item) for item in skimmed[key]] == [{"sid"} & set(fields_read(trunked)) or set()]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"calls": [{"sid": "CA1", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]}", "not JSON"),
        (b'{"calls": [], "meta": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "not JSON"),
        (b'{"calls": [{"sid": "CA1", "to": "+1', "not JSON"),
        (b'{"calls": [{"x": NaN}]}', "not JSON"),
        (b'{"calls": []} trailing', "not JSON"),
        (b'{"calls": [{"sid": "\xff"}]}', "not JSON"),
        (b'{"calls": {"sid": "CA1"}}', "unexpected list body"),
        (b'[{"sid": "CA1"}]', "unexpected list body"),
    ],
    ids=[
        "deep-in-a-skipped-field",
        "deep-in-the-envelope",
        "truncated",
        "nan",
        "trailing",
        "utf8",
        "items-not-a-list",
        "not-an-object",
    ],
)
def test_a_body_that_is_not_a_list_page_is_502(body: bytes, message: str) -> None:
    with pytest.raises(BadGateway, match=message):
        parser(CALLS)(body)


def test_a_skimmed_error_answer_is_still_the_upstreams_error() -> None:
    from gateway.errors import UpstreamRestError
    from gateway.upstream.client import Reply

    reply = Reply(404, {}, b'{"code": 20404, "message": "not found", "status": 404}')
    with pytest.raises(UpstreamRestError):
        decode(reply, parser(CALLS))
    assert decode(Reply(204, {}, b""), parser(CALLS)) is None
