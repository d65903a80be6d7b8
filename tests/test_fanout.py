"""Several upstream lists merged back into the upstream's order, each item once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.document import Record
from gateway.fanout import instant, merge
from gateway.resources.model import Order


def rec(sid: str, date: str, segment: str = "") -> Record:
    return (("Sid", sid), ("CallSegmentSid", segment), ("DateCreated", date))


DAY = "Mon, 06 Jul 2009 10:00:{:02d} +0000"


def test_newest_first_lists_merge_newest_first_and_ties_keep_query_order() -> None:
    queued = [rec("a", DAY.format(50)), rec("c", DAY.format(30)), rec("e", DAY.format(10))]
    ringing = [rec("b", DAY.format(40)), rec("d", DAY.format(30)), rec("f", DAY.format(5))]
    merged = merge([queued, ringing], Order("DateCreated", identity=("Sid", "CallSegmentSid")))
    assert [dict(r)["Sid"] for r in merged] == ["a", "b", "c", "d", "e", "f"]


def test_an_item_met_twice_is_kept_at_its_first_place() -> None:
    first = [rec("a", DAY.format(50)), rec("b", DAY.format(40))]
    second = [rec("b", DAY.format(40)), rec("c", DAY.format(30))]
    assert [dict(r)["Sid"] for r in merge([first, second], Order("DateCreated"))] == ["a", "b", "c"]
    segments = [rec("p", DAY.format(50), "x"), rec("p", DAY.format(40), "y")]
    kept = merge([segments, []], Order("DateCreated", identity=("Sid", "CallSegmentSid")))
    assert len(kept) == 2


def test_ascending_order_and_a_single_list() -> None:
    one = [rec("a", DAY.format(1))]
    assert merge([one], None) is one
    up = merge([[rec("a", "100")], [rec("b", "50"), rec("c", "200")]], Order("DateCreated", descending=False))
    assert [dict(r)["Sid"] for r in up] == ["b", "a", "c"]


def test_instant_reads_both_date_styles() -> None:
    assert instant("1235986685") == 1235986685.0
    assert instant("Mon, 02 Mar 2009 09:38:05 +0000") == 1235986685.0
    assert instant("") == instant(None) == instant("garbage") == float("-inf")


@given(st.lists(st.tuples(st.integers(0, 59), st.integers(0, 2)), max_size=60))
def test_merge_equals_a_stable_sort_of_the_disjoint_lists(items: list[tuple[int, int]]) -> None:
    lists: list[list[Record]] = [[], [], []]
    for index, (second, which) in enumerate(items):
        lists[which].append(rec(f"CA{index}", DAY.format(second)))
    for records in lists:  # each upstream list newest first, as the upstream sends it
        records.sort(key=lambda r: dict(r)["DateCreated"] or "", reverse=True)
    merged = merge(lists, Order("DateCreated"))
    expected = sorted(
        (r for records in lists for r in records),
        key=lambda r: dict(r)["DateCreated"] or "",
        reverse=True,
    )
    assert [dict(r)["DateCreated"] for r in merged] == [dict(r)["DateCreated"] for r in expected]
    assert sorted(dict(r)["Sid"] or "" for r in merged) == sorted(f"CA{i}" for i in range(len(items)))
