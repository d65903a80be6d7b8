"""Date ranges of one final status (gateway/lists/ranges.py): sized to fill their pages, and the slots a
page in flight holds."""

from __future__ import annotations

import asyncio

import pytest

from gateway.lists.ranges import RANGE_PAGES, Slots, sized


def test_ranges_are_sized_to_fill_their_pages() -> None:
    assert sized(50.0) == 18  # one page, 90 % full
    assert sized(490.0) == 5  # three pages, 82 % full (one day: 49 %, three days in two: 73 %)
    assert sized(5000.0) == 1  # a day of more than the pages a range may take: one day, read on
    assert all(sized(density) * density <= RANGE_PAGES * 1000 for density in (7.0, 333.0, 900.0, 2999.0))


async def test_a_page_in_flight_holds_a_slot_of_every_limit_and_gives_them_back() -> None:
    narrow, wide = asyncio.Semaphore(1), asyncio.Semaphore(2)
    slots = Slots(narrow, wide)
    async with slots:
        assert narrow.locked() and not wide.locked()
        waiting = asyncio.create_task(slots.acquire())
        await asyncio.sleep(0)
        assert not waiting.done()  # the narrow one is taken
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    assert not narrow.locked() and not wide.locked()
    async with wide, wide:
        blocked = asyncio.create_task(slots.acquire())
        await asyncio.sleep(0)
        assert narrow.locked() and not blocked.done()  # holds the narrow one while the wide one is full
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocked
        assert not narrow.locked()  # given back when cancelled half way
