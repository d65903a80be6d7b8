"""The sandbox store: bulk seeding and pages that read only what they return."""

from __future__ import annotations

from gateway.phone import pretty
from gateway.sandbox.store import Store
from tests.conftest import ACCOUNT, TOKEN


def test_seeding_makes_distinct_well_formed_caller_ids() -> None:
    store = Store({ACCOUNT: TOKEN})
    store.seed_caller_ids(ACCOUNT, 20_000)
    store.seed_caller_ids(ACCOUNT, 3, first=442071838750)
    items = list(store.caller_ids[ACCOUNT].values())
    assert len(items) == 20_003 and len({item.sid for item in items}) == 20_003
    assert all(len(item.sid) == 34 and item.sid.startswith("PN") for item in items)
    for item in items[:3] + items[-5:]:
        assert item.friendly_name == pretty(item.phone_number)
    assert items[0].phone_number == "+12025550000" and items[-1].phone_number == "+442071838752"
    assert [item.seq for item in items] == sorted(item.seq for item in items)


def test_pages_follow_tokens_both_ways_with_a_filter() -> None:
    store = Store({ACCOUNT: TOKEN})
    store.seed_caller_ids(ACCOUNT, 2500)
    ordered = store.caller_ids[ACCOUNT]
    odd = lambda item: item.seq % 2 == 1  # noqa: E731
    page = store.page(ordered, 500, None, odd)
    assert page is not None
    seen = list(page.items)
    while page.next_token:
        page = store.page(ordered, 500, page.next_token, odd)
        assert page is not None
        seen += page.items
    assert seen == [item for item in ordered.values() if odd(item)]
    assert page.previous_token is not None
    back = store.page(ordered, 500, page.previous_token, odd)
    assert back is not None and back.items == seen[-500 - len(page.items) : -len(page.items)]
