"""The sandbox store: bulk seeding and pages that read only what they return."""

from __future__ import annotations

from typing import Any

from gateway.dialect.phone import pretty
from gateway.sandbox.store import Among, Store
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


def test_a_span_narrows_what_is_looked_at_both_ways_and_keeps_every_kept_item() -> None:
    store = Store({ACCOUNT: TOKEN})
    store.seed_caller_ids(ACCOUNT, 2500)
    ordered = store.caller_ids[ACCOUNT]
    looked: list[int] = []

    def even(item: Any) -> bool:
        looked.append(item.seq)
        return item.seq % 2 == 0

    span = (700, 1900)
    expected = [item.seq for item in ordered.values() if 700 <= item.seq <= 1900 and item.seq % 2 == 0]
    seen: list[int] = []
    token = None
    while True:
        page = store.page(ordered, 100, token, even, span)
        assert page is not None
        seen += [item.seq for item in page.items]
        if page.next_token is None:
            break
        token = page.next_token
    assert seen == expected and min(looked) >= 700 and max(looked) <= 1900
    last = store.page(ordered, 100, token, even, span)
    assert last is not None and last.previous_token is not None
    first_shown = expected.index(last.items[0].seq)
    looked.clear()
    earlier = store.page(ordered, 100, last.previous_token, even, span)
    assert earlier is not None
    assert [item.seq for item in earlier.items] == expected[max(0, first_shown - 100) : first_shown]
    assert min(looked) >= 700


def test_among_asks_the_filter_only_about_its_tested_keys() -> None:
    store = Store({ACCOUNT: TOKEN})
    store.seed_caller_ids(ACCOUNT, 100)
    ordered = store.caller_ids[ACCOUNT]
    looked: list[int] = []

    def small(item: Any) -> bool:
        looked.append(item.seq)
        return item.seq < 5

    among = Among([2, 3, 7, 9, 40, 41, 42, 43, 44, 60], tested=4)
    seen: list[int] = []
    token = None
    while True:
        page = store.page(ordered, 3, token, small, among=among)
        assert page is not None
        seen += [item.seq for item in page.items]
        if page.next_token is None:
            break
        token = page.next_token
    assert seen == [2, 3, 40, 41, 42, 43, 44, 60]
    assert sorted(set(looked)) == [2, 3, 7, 9]
    spanned = store.page(ordered, 10, None, small, (3, 42), among)
    assert spanned is not None and [item.seq for item in spanned.items] == [3, 40, 41, 42]
