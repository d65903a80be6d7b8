"""The merge key of fanned-out lists: dates read as numbers, in either of the API's styles."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from gateway.lists.fanout import instant

STAMPS = st.integers(0, 4_102_444_800)  # 1970 … 2100, whole seconds as the API writes them


def test_instant_reads_both_date_styles() -> None:
    assert instant("1235986685") == 1235986685.0
    assert instant("Mon, 02 Mar 2009 09:38:05 +0000") == 1235986685.0
    assert instant("") == instant(None) == instant("garbage") == float("-inf")


@given(STAMPS)
def test_both_styles_of_one_instant_read_the_same(stamp: int) -> None:
    rfc2822 = format_datetime(datetime.fromtimestamp(stamp, UTC))
    assert instant(rfc2822) == instant(str(stamp)) == float(stamp)


@given(st.lists(STAMPS, max_size=40))
def test_sorting_by_instant_is_sorting_by_time(stamps: list[int]) -> None:
    written = [format_datetime(datetime.fromtimestamp(stamp, UTC)) for stamp in stamps]
    assert [instant(text) for text in sorted(written, key=instant, reverse=True)] == sorted(
        map(float, stamps), reverse=True
    )
