"""Counting Calls by status (gateway/lists/tally.py) through the whole app, on the sandbox with a test clock:
an exact total, every call once in the upstream's order, calls that move on during the count, the
client's own Status filter, a page far into a counted list, and views shared through Redis."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
import redis

from gateway.edge.app import create_app
from gateway.lists.tally import begun, count, known, plan
from gateway.lists.walk import Cursor, Walker
from gateway.resources.calls import LIFECYCLE
from gateway.sandbox import SandboxConfig
from gateway.settings import Secret
from tests.conftest import (
    ACCOUNT,
    ANCIENT,
    OURS,
    PREFIX,
    Clock,
    CountingTransport,
    legacy_walk,
    parse_xml,
    partitioned,
    serving,
)
from tests.servers import redis_server

DAY = 86400.0
CALLS = f"{PREFIX}/Calls"


@pytest.fixture
def sandbox_config(voice_config: SandboxConfig) -> SandboxConfig:
    return voice_config


class SteppingTransport(CountingTransport):
    """Runs ``after(request)`` once each upstream answer is in: the upstream moves on mid-count."""

    def __init__(self, inner: httpx.AsyncBaseTransport, after: Callable[[httpx.Request], None]) -> None:
        super().__init__(inner)
        self.after = after

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        self.after(request)
        return response


def finished(voice: Any, at: float, outcome: str, dialed: bool = True) -> Any:
    """A call created at ``at`` that ended in ``outcome`` (not dialed: failed or canceled while
    queued, so without a start time)."""
    call = voice.new_call(ACCOUNT, "+14155550100", OURS, "outbound-api", at=at)
    if outcome == "completed":
        call.timeline = [(at, "queued"), (at + 1, "ringing"), (at + 3, "in-progress"), (at + 60, outcome)]
    elif dialed:
        call.timeline = [(at, "queued"), (at + 1, "ringing"), (at + 20, outcome)]
    else:
        call.timeline = [(at, "queued"), (at + 1, outcome)]
    call.updated = call.timeline[-1][0]
    return call


def history(voice: Any, now: float, spread: int = 1500, crowd: int = 1300) -> None:
    """Calls in every status: a spread over six months, a crowd of completed calls on one day (more
    than an upstream page), calls that were never dialed, Dial legs, calls from 2004, live calls."""
    rng = random.Random(29)
    outcomes = ("completed", "completed", "completed", "busy", "no-answer", "failed", "canceled")
    instants = sorted(now - rng.uniform(120, 180 * DAY) for _ in range(spread))
    crowd_day = math.floor(now / DAY) * DAY - 9 * DAY
    for at in sorted([*instants, *(crowd_day + 3600 + i * 30 for i in range(crowd))]):
        outcome = "completed" if crowd_day <= at < crowd_day + DAY else rng.choice(outcomes)
        call = finished(
            voice, at, outcome, dialed=outcome in ("completed", "busy", "no-answer") or rng.random() < 0.5
        )
        if outcome == "completed" and rng.random() < 0.2:
            leg = voice.new_call(ACCOUNT, "+14155550199", OURS, "outbound-dial", at=at + 3, parent=call)
            leg.timeline = [(at + 3, "ringing"), (at + 5, "in-progress"), (at + 60, "completed")]
    for i in range(5):
        finished(voice, ANCIENT + i * 100, "completed")
    for age in (0.0, 3.0, 10.0):  # queued, ringing, in progress
        voice.new_call(ACCOUNT, "+14155550123", OURS, "outbound-api", at=now - age)


def listed(sandbox: Any) -> list[str]:
    """The sandbox's Calls list (its order), without Dial legs."""
    return [c.sid for c in sandbox.voice.calls[ACCOUNT].values() if c.parent_call_sid is None]


def by_status(upstream: CountingTransport) -> list[dict[str, str]]:
    return [dict(r.url.params) for r in upstream.requests if "Status" in r.url.params]


async def assert_walk(client: httpx.AsyncClient, first: str, expected: list[str]) -> None:
    head, sids = await legacy_walk(client, first)
    num = int(dict(parse_qsl(urlsplit(first).query))["num"])
    assert (head.get("total"), head.get("numpages")) == (
        str(len(expected)),
        str(math.ceil(len(expected) / num)),
    )
    assert sids == expected


async def test_a_calls_list_is_counted_by_status_exactly_and_walked_in_order(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport, clock: Clock
) -> None:
    history(sandbox.voice, clock())
    expected = listed(sandbox)
    upstream.reset()
    await assert_walk(client, f"{CALLS}?num=1000", expected)
    met = by_status(upstream)
    assert {query["Status"] for query in met} == set(LIFECYCLE.statuses)
    assert partitioned(upstream, "EndTime") > 3 and not partitioned(upstream, "StartTime")
    ranged = [q for q in met if "EndTime>" in q or "EndTime<" in q]
    assert {q["Status"] for q in ranged} == {"completed"}  # busy, no-answer: less than a page, read whole
    today = datetime.fromtimestamp(clock(), UTC).date()
    settling = (today - timedelta(days=1)).isoformat()
    before = met[: [q["Status"] for q in met].index("in-progress")]
    early = [q for q in before if q["Status"] == "completed"]
    assert early and all(q["EndTime<"] < settling for q in early)  # ended before yesterday: at once
    late = [q for q in met if q.get("EndTime>", "") >= settling]
    assert len(late) == 2 and met.index(late[0]) > met.index(before[-1])  # with their stage


async def test_calls_that_move_on_or_arrive_during_the_count_are_counted_once(
    sandbox_app: Any, sandbox: Any, settings: Any, clock: Clock
) -> None:
    """Between stages every live call takes its next step (queued → ringing → in progress →
    completed): each is met in two stages and counted once. A call created during the count is not
    in the walk, and not in the total."""
    history(sandbox.voice, clock(), spread=1200, crowd=0)
    voice = sandbox.voice
    live = [voice.new_call(ACCOUNT, "+14155550124", OURS, "outbound-api", at=clock() - 1) for _ in range(30)]
    long = voice.new_call(ACCOUNT, "+14155550126", OURS, "outbound-api", at=clock() - 3 * DAY)
    begun = clock() - 3 * DAY
    long.timeline = [(begun, "queued"), (begun + 1, "ringing"), (begun + 3, "in-progress")]
    long.timeline.append((clock() + 3, "completed"))  # three days in progress, over before its stage
    expected = listed(sandbox)
    steps = {"queued": 2.0, "ringing": 2.0, "in-progress": 30.0}
    made: list[Any] = []

    def after(request: httpx.Request) -> None:
        status = request.url.params.get("Status")
        if status in steps and "PageToken" not in request.url.params:
            clock.advance(steps.pop(status))
            made.append(voice.new_call(ACCOUNT, "+14155550125", OURS, "outbound-api"))

    upstream = SteppingTransport(httpx.ASGITransport(app=sandbox_app), after)
    async with serving(create_app(settings, upstream)) as client:
        await assert_walk(client, f"{CALLS}?num=500", expected)
    assert all(call.status(clock()) == "completed" for call in [*live, long]) and len(made) == 3
    met = [q["Status"] for q in by_status(upstream)]
    assert met.index("queued") < met.index("ringing") < met.index("in-progress")
    after_live = met[met.index("in-progress") + 1 :]  # before it: first pages, and calls long over
    assert set(after_live) == set(LIFECYCLE.stages[-1])


async def test_the_clients_status_filter_is_counted_within_it(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport, clock: Clock
) -> None:
    history(sandbox.voice, clock(), spread=600)
    calls = [c for c in sandbox.voice.calls[ACCOUNT].values() if c.parent_call_sid is None]
    completed = [c.sid for c in calls if c.status(clock()) == "completed"]
    upstream.reset()
    await assert_walk(client, f"{CALLS}?num=50&Status=2", completed)
    assert {q["Status"] for q in by_status(upstream)} == {"completed"} and partitioned(
        upstream, "EndTime"
    ) > 1
    unanswered = [c.sid for c in calls if c.status(clock()) in ("no-answer", "canceled")]
    upstream.reset()
    await assert_walk(client, f"{CALLS}?num=50&Status=5", unanswered)
    assert {q["Status"] for q in by_status(upstream)} == {"no-answer", "canceled"}
    day = datetime.fromtimestamp(clock() - 30 * DAY, UTC).replace(hour=0, minute=0, second=0)
    started = [c.sid for c in calls if (c.reached("ringing", clock()) or 0) >= day.timestamp()]
    upstream.reset()
    await assert_walk(client, f"{CALLS}?num=50&StartTime>={day:%Y-%m-%d}", started)
    assert not by_status(upstream)  # the client's own bound on the date: counted by the walk


async def test_a_page_far_into_a_counted_list_extends_the_walk(
    client: httpx.AsyncClient, sandbox: Any, upstream: CountingTransport, clock: Clock
) -> None:
    history(sandbox.voice, clock())
    expected = listed(sandbox)
    first = parse_xml((await client.get(f"{CALLS}?num=50")).content)[0]
    assert first.get("total") == str(len(expected))
    view = dict(parse_qsl(urlsplit(first.get("nextpageuri") or "").query))["view"]
    upstream.reset()
    page = (len(expected) - 60) // 50
    far = parse_xml((await client.get(f"{CALLS}?num=50&page={page}&view={view}")).content)[0]
    assert [c.findtext("Sid") for c in far] == expected[page * 50 : page * 50 + 50]
    walked = [r for r in upstream.requests if "Status" not in r.url.params]
    raw = [c.sid for c in sandbox.voice.calls[ACCOUNT].values()]  # the upstream's pages hold Dial legs too
    last_block = raw.index(expected[page * 50 + 49]) // 1000
    assert len(walked) == last_block + 1  # each block after the head walked once, the last read again
    past = parse_xml((await client.get(f"{CALLS}?num=50&page={page + 5}&view={view}")).content)[0]
    assert len(past) == 0 and past.get("total") == str(len(expected))


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as (url, _):
        yield url


async def test_a_counted_view_is_shared_through_redis(
    redis_url: str, settings: Any, sandbox: Any, upstream: CountingTransport, clock: Clock
) -> None:
    history(sandbox.voice, clock())
    expected = listed(sandbox)
    configured = settings.replace(cache_url=Secret(redis_url))
    try:
        async with (
            serving(create_app(configured, upstream)) as a,
            serving(create_app(configured, upstream)) as b,
        ):
            first = parse_xml((await a.get(f"{CALLS}?num=50")).content)[0]
            uri = (first.get("nextpageuri") or "").replace("page=1", f"page={len(expected) // 50 - 1}")
            upstream.reset()
            later = parse_xml((await b.get(uri)).content)[0]
            assert later.get("total") == str(len(expected))
            start = (len(expected) // 50 - 1) * 50
            assert [c.findtext("Sid") for c in later] == expected[start : start + 50]
            assert not by_status(upstream)  # replica b answered from a's view: no count of its own
    finally:
        redis.Redis.from_url(redis_url).flushdb()


# The plan -----------------------------------------------------------------------------------------
TARGET = "/2010-04-01/Accounts/AC1/Calls.json"


def cursor(*params: tuple[str, str]) -> Cursor:
    return Cursor(TARGET, (*params, ("PageSize", "1000")))


def test_the_plan_reads_every_status_in_lifecycle_stages() -> None:
    stages = plan(LIFECYCLE, (cursor(("To", "+14155550100")),))
    assert stages is not None
    assert [[part.status for part in stage] for stage in stages] == [list(s) for s in LIFECYCLE.stages]
    dated = {part.status for stage in stages for part in stage if part.dated is not None}
    assert dated == {"completed", "busy", "no-answer"}
    assert all(("To", "+14155550100") in (part.cursor.params or ()) for stage in stages for part in stage)


def test_the_plan_keeps_to_what_is_exact() -> None:
    only = plan(LIFECYCLE, (cursor(("Status", "completed")),))
    assert only is not None and [[p.status for p in stage] for stage in only] == [["completed"]]
    assert plan(LIFECYCLE, (cursor(("Status", "queued")), cursor(("Status", "ringing")))) is None
    assert plan(LIFECYCLE, (cursor(("Status", "parked")),)) is None
    bounded = plan(LIFECYCLE, (cursor(("StartTime>", "2026-01-01")),))
    assert bounded is None  # no status left to count in date ranges: the walk counts
    assert plan(LIFECYCLE, (cursor(), cursor(("To", "x")))) is None


def test_a_status_the_declaration_does_not_know_means_the_walk_counts() -> None:
    assert known(LIFECYCLE, [{"status": "completed"}, {"status": "queued"}])
    assert not known(LIFECYCLE, [{"status": "completed"}, {"status": "parked"}])


class DatedCalls:
    """An upstream of finished calls, newest created first, filtered by ``Status`` and by ``StartTime``
    day bounds, 1000 to a page: how many pages a count by status reads."""

    def __init__(self, count: int, days: int, gap: tuple[int, int] = (0, 0), ended: bool = False) -> None:
        """``ended``: calls carry their creation and end dates too (``EndTime`` filters them), and
        each page takes a moment, so that pages overlap."""
        self.ended, self.in_flight, self.peak = ended, 0, 0
        rng, lengths = random.Random(7), random.Random(11)
        now = datetime(2026, 11, 27, tzinfo=UTC).timestamp()
        statuses = ("completed",) * 7 + ("busy", "no-answer", "failed")
        self.calls = []
        for index, created in enumerate(
            sorted((now - rng.uniform(0, days * DAY) for _ in range(count)), reverse=True)
        ):
            if now - gap[1] * DAY <= created < now - gap[0] * DAY:
                continue
            stamp = datetime.fromtimestamp(created + 2, UTC)
            self.calls.append(
                {
                    "sid": f"CA{index:032d}",
                    "status": rng.choice(statuses),
                    "start_time": stamp,
                    "created": created,
                    "to": "+14155550100",
                    "end_time": stamp + timedelta(seconds=lengths.uniform(5, 3 * DAY)),
                }
            )
        self.asked: list[tuple[tuple[str, str], ...]] = []
        self.skimmed: list[tuple[tuple[str, str], ...]] = []

    async def count(self, concurrency: int = 8) -> Any:
        """The whole list counted by status, as the gateway counts it."""
        walker = Walker(
            self.fetch,
            lambda item: True,
            skim=self.skim,
            order=lambda item: float(item["created"]),
            identity=lambda item: str(item["sid"]),
            statuses=LIFECYCLE,
            concurrency=concurrency,
        )
        return await count(walker, (Cursor("/Calls.json", (("PageSize", "1000"),)),), math.inf)

    async def skim(
        self, target: str, params: tuple[tuple[str, str], ...] | None
    ) -> tuple[list[Any], str | None]:
        """A page read only to be counted: without the fields a count does not read."""
        items, link = await self.fetch(target, params)
        self.skimmed.append(self.asked[-1])
        return [{key: value for key, value in item.items() if key != "to"} for item in items], link

    async def fetch(
        self, target: str, params: tuple[tuple[str, str], ...] | None
    ) -> tuple[list[Any], str | None]:
        query = tuple(parse_qsl(urlsplit(target).query)) if params is None else params
        self.asked.append(query)
        if self.ended:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            try:
                await asyncio.sleep(0.002)
            finally:
                self.in_flight -= 1
        given = dict(query)
        offset = int(given.get("Offset", "0"))
        found = [
            call
            for call in self.calls
            if call["status"] == given.get("Status", call["status"])
            and all(self._within(call, name, given) for name in ("start_time", "end_time"))
        ]
        page = found[offset : offset + 1000]
        items = [self._shown(call) for call in page]
        following = [(k, v) for k, v in query if k != "Offset"] + [("Offset", str(offset + 1000))]
        return items, ("/Calls.json?" + urlencode(following)) if offset + 1000 < len(found) else None

    @staticmethod
    def _within(call: dict[str, Any], name: str, given: dict[str, str]) -> bool:
        param = "StartTime" if name == "start_time" else "EndTime"
        low, high, day = given.get(param + ">"), given.get(param + "<"), call[name].date().isoformat()
        return (low is None or day >= low) and (high is None or day <= high)

    def _shown(self, call: dict[str, Any]) -> dict[str, Any]:
        shown = {**call, "start_time": format_datetime(call["start_time"])}
        del shown["end_time"]
        if self.ended:
            shown["end_time"] = format_datetime(call["end_time"])
            shown["date_created"] = format_datetime(datetime.fromtimestamp(call["created"], UTC))
        return shown


@pytest.mark.parametrize(
    ("gap", "pages"),
    [((0, 0), 50), ((3, 20), 46)],
)
async def test_a_count_by_status_reads_few_pages_more_than_the_list_holds(
    gap: tuple[int, int], pages: int
) -> None:
    """350 completed calls a day, 50 busy, 50 unanswered over 60 days (none in the gap: the first
    empty range asks the rest as one, found long, and split again)."""
    upstream = DatedCalls(30_000, 60, gap)
    counted = await upstream.count()
    assert counted.total == len(upstream.calls)
    assert counted.first.items[0]["to"]  # the head is answered: read whole, the rest skimmed
    assert len(upstream.skimmed) == len(upstream.asked) - 1
    first_pages = [query for query in upstream.asked if "Offset" not in dict(query)]
    assert len(first_pages) == len(set(first_pages))  # no range asked twice: one a little long is read on
    assert len(upstream.asked) <= pages  # 30 pages of calls, 7 for the head, stages and sizing (was 63)
    alone = [dict(query) for query in first_pages if ("StartTime<", "2007-12-31") in query]
    assert len(alone) == (1 if gap[1] else 0)  # only a split open range asks the years before 2008 alone


def test_the_count_begins_at_the_newest_call_on_the_first_page_unless_a_completed_one_has_no_end() -> None:
    """A creation date later than the gateway's own clock (an upstream ahead of it, or lying) is taken as
    the clock: it only moves more completed calls to their stage."""
    created = ["Fri, 27 Nov 2026 10:00:00 +0000", "Thu, 26 Nov 2026 09:00:00 +0000"]
    head = [
        {"status": "in-progress", "date_created": created[0], "end_time": None},
        {"status": "completed", "date_created": created[1], "end_time": "Thu, 26 Nov 2026 09:05:00 +0000"},
        {"status": "busy", "date_created": created[1], "end_time": None},  # not settled by its end
        "not an object",
    ]
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    assert begun(LIFECYCLE, head, now) == datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert begun(LIFECYCLE, head, datetime(2026, 11, 27, 9, tzinfo=UTC)) == datetime(
        2026, 11, 27, 9, tzinfo=UTC
    )
    unended = [*head, {"status": "completed", "date_created": created[1], "end_time": ""}]
    assert begun(LIFECYCLE, unended, now) is None  # its like would be in no EndTime range: with its stage
    assert begun(LIFECYCLE, [], now) is None


async def test_completed_calls_long_over_are_counted_alongside_the_stages_within_the_limit() -> None:
    """Calls that ended over 60 days, each page a moment long: the completed calls that ended before
    the day before the newest call was made are counted in EndTime ranges while the stages are read,
    the rest after them; never more than the limit's pages in flight, and the total exact."""
    upstream = DatedCalls(20_000, 60, ended=True)
    counted = await upstream.count(concurrency=4)
    assert counted.total == len(upstream.calls)
    assert upstream.peak <= 4
    asked = [dict(query) for query in upstream.asked]
    stages = [asked.index({"PageSize": "1000", "Status": status}) for status in ("ringing", "in-progress")]
    early = [i for i, q in enumerate(asked) if "EndTime<" in q and "EndTime>" not in q]
    assert early and min(early) < stages[0]  # begun before the second stage, alongside the first
    newest = datetime.fromtimestamp(max(call["created"] for call in upstream.calls), UTC)
    settling = (newest.date() - timedelta(days=1)).isoformat()
    assert all(asked[i]["EndTime<"] < settling for i in early)
    late = [i for i, q in enumerate(asked) if q.get("EndTime>", "") >= settling]
    assert len(late) == 2 and min(late) > stages[1]
    assert not any("StartTime>" in q and q["Status"] == "completed" for q in asked)
