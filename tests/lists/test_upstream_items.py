"""What a list request asks of each upstream item: seen, listed, ordered, named."""

from __future__ import annotations

from gateway.lists.upstream_items import identity, lister, order_key, owner
from gateway.resources.accounts import ACCOUNTS
from gateway.resources.calls import CALLS, SEGMENTS

PARENT = "CA" + "1" * 32
CHILD = "CA" + "2" * 32


def test_a_list_leaves_out_items_of_another_parent_and_those_it_skips() -> None:
    legs = lister(SEGMENTS, {"AccountSid": "AC1", "CallSid": PARENT}, None)
    assert legs({"sid": CHILD, "parent_call_sid": PARENT})
    assert not legs({"sid": CHILD, "parent_call_sid": "CA" + "3" * 32})
    calls = lister(CALLS, {"AccountSid": "AC1"}, None)
    assert calls({"sid": PARENT, "parent_call_sid": None})
    assert not calls({"sid": CHILD, "parent_call_sid": PARENT})  # a Dial leg: listed as a segment
    assert calls(["not", "an", "object"])  # passed on: the translator answers 502 for it


def test_in_sidecar_mode_only_the_bound_accounts_are_seen() -> None:
    seen = owner(ACCOUNTS, {}, ("AC1", "AC2"))
    assert seen({"sid": "AC2"}) and not seen({"sid": "AC9"})
    assert owner(ACCOUNTS, {}, None)({"sid": "AC9"})  # no binding: the upstream decides


def test_items_are_named_and_ordered_as_the_upstream_lists_them() -> None:
    named, key = identity(CALLS), order_key(CALLS)
    assert named is not None and key is not None
    leg = {"sid": CHILD, "parent_call_sid": PARENT}
    assert named(leg) == (PARENT, CHILD) and named({"sid": PARENT}) == ("None", PARENT)
    newer = {"date_created": "Fri, 27 Nov 2026 10:00:01 +0000"}
    older = {"date_created": "Fri, 27 Nov 2026 10:00:00 +0000"}
    assert key(newer) > key(older)  # newest first: larger keys first
