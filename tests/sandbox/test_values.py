"""The 2010 API's values as the sandbox writes and filters them."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from gateway.sandbox.api import ApiError
from gateway.sandbox.values import dated, e164, formatted, window

DAY = datetime(2026, 11, 27, tzinfo=UTC).timestamp()


def test_a_day_filter_keeps_its_whole_seconds_and_an_instant_only_itself() -> None:
    assert window("2026-11-27", "=") == (DAY, DAY + 86399)
    assert window("2026-11-27", "<") == (-math.inf, DAY + 86399)  # on or before
    assert window("2026-11-27", ">") == (DAY, math.inf)  # on or after
    assert window("2026-11-27T10:00:00Z", "=") == (DAY + 36000, DAY + 36000)


def test_date_filters_compare_the_whole_second_an_item_happened_in() -> None:
    tests = dated("StartTime", lambda at: at)
    assert tests["StartTime"](DAY + 86399.9, "2026-11-27")
    assert not tests["StartTime"](DAY + 86400, "2026-11-27")
    assert tests["StartTime>"](DAY, "2026-11-27") and not tests["StartTime<"](DAY + 86400, "2026-11-27")
    assert not tests["StartTime"](None, "2026-11-27")  # no date: no match


def test_numbers_are_written_as_the_api_writes_them_and_bad_ones_refused() -> None:
    assert formatted("+14155550100") == "(415) 555-0100"
    assert e164("(415) 555-0100", 21212) == "+14155550100"
    with pytest.raises(ApiError) as refused:
        e164("12", 21212, "From")
    assert (refused.value.status, refused.value.code) == (400, 21212)
    assert refused.value.message == "Invalid 'From' Phone Number: 12"
