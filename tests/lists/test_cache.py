"""The list-view stores: the in-process LRUs, and Redis (a real redis-server on loopback) shared by
replicas, keyed without credentials, expiring, and never failing a legacy request when it is down."""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from gateway import observability as obs
from gateway.edge.app import create_app
from gateway.lists.cache import FallbackStore, MemoryStore, RedisStore
from gateway.settings import Secret
from tests.conftest import ACCOUNT, PREFIX, TOKEN, CountingTransport, parse_xml, serving
from tests.servers import free_port, redis_server

LIST = f"{PREFIX}/OutgoingCallerIds"


# In process ---------------------------------------------------------------------------------------
async def test_memory_store_bounds_and_expiry() -> None:
    now = [0.0]
    store = MemoryStore(max_views=2, max_items=100, clock=lambda: now[0])
    for name in ("a", "b", "c"):
        await store.put("view", name, b"x", ttl=10)
    assert await store.get("view", "a", 10) is None  # least recently used went first
    assert await store.get("view", "c", 10) == b"x"
    await store.put("block", "1", b"y" * 10, ttl=10, weight=60)
    await store.put("block", "2", b"y" * 10, ttl=10, weight=60)
    assert store.size("block")[:2] == (1, 60)
    await store.put("block", "huge", b"z", ttl=10, weight=101)
    assert await store.get("block", "huge", 10) is None
    now[0] = 9
    assert await store.get("view", "c", 10) == b"x"  # a read pushes the expiry back
    now[0] = 18
    assert await store.get("view", "c", 10) == b"x"
    now[0] = 40
    assert await store.get("view", "c", 10) is None
    assert await store.generation(ACCOUNT) == 0
    await store.bump(ACCOUNT)
    assert await store.generation(ACCOUNT) == 1


async def test_memory_marks_expire_and_are_bounded() -> None:
    store = MemoryStore(max_views=2, max_items=100)
    store.max_marks = 3
    await store.mark(ACCOUNT, "NO1", until=100.0)
    await store.mark("ACother", "NO1", until=50.0)
    assert await store.marked(ACCOUNT, ["NO1", "NO2"], now=99.0) == {"NO1"}
    assert await store.marked(ACCOUNT, ["NO1"], now=100.0) == set()  # until is exclusive
    assert await store.marked("ACother", ["NO1"], now=60.0) == set()
    for sid in ("NO2", "NO3", "NO4"):
        await store.mark(ACCOUNT, sid, until=100.0)
    assert await store.marked(ACCOUNT, ["NO1", "NO2", "NO3", "NO4"], now=0.0) == {"NO2", "NO3", "NO4"}


async def test_memory_add_stores_only_once_and_hooks_survive_list_blocks() -> None:
    now = [0.0]
    store = MemoryStore(max_views=2, max_items=100, clock=lambda: now[0])
    assert await store.add("hook", "seen", b"1", ttl=10) is True
    assert await store.add("hook", "seen", b"2", ttl=10) is False
    for index in range(200):  # a walk's blocks fill their own bound, not the callbacks'
        await store.put("block", str(index), b"y", ttl=10, weight=60)
    assert await store.get("hook", "seen", 10) == b"1"
    now[0] = 30
    assert await store.add("hook", "seen", b"3", ttl=10) is True  # expired: new again


def fallbacks() -> float:
    return sum(
        sample.value
        for metric in obs.CACHE_FALLBACK.collect()
        for sample in metric.samples
        if sample.name.endswith("_total")
    )


# Redis --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with redis_server() as (url, _):
        yield url


@pytest.fixture
def shared(redis_url: str) -> Iterator[str]:
    yield redis_url
    redis.Redis.from_url(redis_url).flushdb()


async def test_redis_store_round_trip(shared: str) -> None:
    store = RedisStore(shared)
    try:
        await store.put("view", "v1", b"data", ttl=30)
        assert await store.get("view", "v1", 30) == b"data"
        assert await store.get("view", "missing", 30) is None
        await store.bump(ACCOUNT)
        await store.bump(ACCOUNT)
        assert await store.generation(ACCOUNT) == 2
        replicas = [RedisStore(shared) for _ in range(8)]
        firsts = await asyncio.gather(*(replica.add("hook", "sm", b"1", 30) for replica in replicas))
        assert sorted(firsts) == [False] * 7 + [True]  # replicas at once: one of them only
        await asyncio.gather(*(replica.aclose() for replica in replicas))
    finally:
        await store.aclose()


async def test_replicas_serve_one_walk_from_one_view(
    shared: str, settings: Any, upstream: CountingTransport, store: Any
) -> None:
    total = 3500
    store.seed_caller_ids(ACCOUNT, total)
    expected = [item.sid for item in store.caller_ids[ACCOUNT].values()]
    configured = settings.replace(cache_url=Secret(shared))
    replicas = [create_app(configured, upstream) for _ in range(3)]
    async with serving(replicas[0]) as a, serving(replicas[1]) as b, serving(replicas[2]) as c:
        clients = [a, b, c]
        seen: list[str] = []
        uri = f"{LIST}?num=50"
        turn = 0
        while uri:
            response = await clients[turn % 3].get(uri)
            assert response.status_code == 200
            listing = parse_xml(response.content)[0]
            assert listing.get("total") == str(total)
            seen += [child.findtext("Sid") or "" for child in listing]
            uri = listing.get("nextpageuri") or ""
            turn += 1
    assert seen == expected
    assert upstream.count("GET", "/OutgoingCallerIds.json") <= 2 * math.ceil(total / 1000) + 4


async def test_keys_carry_no_credentials_and_all_expire(
    shared: str, settings: Any, upstream: CountingTransport, store: Any
) -> None:
    store.seed_caller_ids(ACCOUNT, 1200)
    app = create_app(settings.replace(cache_url=Secret(shared)), upstream)
    async with serving(app) as client:
        first = parse_xml((await client.get(LIST)).content)[0]
        await client.get(first.get("lastpageuri") or "")
        await client.post(LIST, data={"PhoneNumber": "4158675309"})
    direct = redis.Redis.from_url(shared)
    keys = list(direct.scan_iter("*"))
    assert {key.split(b":")[2] for key in keys} >= {b"view", b"newest", b"block", b"generation"}
    secrets = (TOKEN.encode(), base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()))
    for key in keys:
        value = direct.get(key) or b""
        assert not any(secret in key or secret in value for secret in secrets)
        assert direct.pttl(key) > 0


async def test_redis_marks_expire_with_their_key(shared: str) -> None:
    store = RedisStore(shared)
    direct = redis.Redis.from_url(shared)
    try:
        now = time.time()
        await store.mark(ACCOUNT, "NO1", now + 60)
        await store.mark(ACCOUNT, "NO2", now + 30)  # a later, shorter mark keeps the key for the longer
        await store.mark(ACCOUNT, "NO3", now - 1)  # already over: never found
        assert await store.marked(ACCOUNT, ["NO1", "NO2", "NO3", "NO4"], now) == {"NO1", "NO2"}
        assert await store.marked(ACCOUNT, ["NO2"], now + 31) == set()
        assert await store.marked(ACCOUNT, [], now) == set()
        (key,) = list(direct.scan_iter("*marks*"))
        assert key == f"gateway:list:marks:{ACCOUNT}".encode()
        assert 55_000 < direct.pttl(key) <= 61_000
        assert direct.zcard(key) == 2  # the one over is dropped by the next mark
    finally:
        await store.aclose()


async def test_replicas_share_a_deleted_notification(
    shared: str, settings: Any, upstream: CountingTransport, sandbox: Any
) -> None:
    """A notification deleted through one replica is gone from the others: instance, list, totals."""
    now = sandbox.voice.clock()
    notes = [
        sandbox.notifications.add(ACCOUNT, None, 11200, "HTTP retrieval failure", at=now - i)
        for i in range(3)
    ]
    configured = settings.replace(cache_url=Secret(shared))
    a_app, b_app = create_app(configured, upstream), create_app(configured, upstream)
    async with serving(a_app) as a, serving(b_app) as b:
        listing = parse_xml((await b.get(f"{PREFIX}/Notifications?num=2")).content)[0]
        assert listing.get("total") == "3"
        assert (await a.delete(f"{PREFIX}/Notifications/{notes[0].sid}")).status_code == 204
        assert (await b.get(f"{PREFIX}/Notifications/{notes[0].sid}")).status_code == 404
        later = parse_xml((await b.get(listing.get("nextpageuri") or "")).content)[0]
        assert (later.get("total"), later.get("numpages")) == ("2", "1")
        first = parse_xml((await b.get(f"{PREFIX}/Notifications")).content)[0]
        assert [child.findtext("Sid") for child in first] == [notes[1].sid, notes[2].sid]


async def test_an_unreachable_redis_degrades_to_in_process(
    settings: Any, upstream: CountingTransport, store: Any, caplog: Any
) -> None:
    store.seed_caller_ids(ACCOUNT, 120)
    before = fallbacks()
    app = create_app(settings.replace(cache_url=Secret(f"redis://127.0.0.1:{free_port()}/0")), upstream)
    caplog.set_level(logging.WARNING, "gateway.cache")
    async with serving(app) as client:
        first = parse_xml((await client.get(LIST)).content)[0]
        assert first.get("total") == "120"
        again = await client.get(first.get("nextpageuri") or "")
        assert again.status_code == 200
    assert fallbacks() > before
    lines = [r for r in caplog.records if "Redis failed" in r.getMessage()]
    assert len(lines) == 1


async def test_redis_going_away_mid_walk_fails_no_request(
    settings: Any, upstream: CountingTransport, store: Any
) -> None:
    store.seed_caller_ids(ACCOUNT, 2200)
    expected = [item.sid for item in store.caller_ids[ACCOUNT].values()]
    with redis_server() as (url, process):
        app = create_app(settings.replace(cache_url=Secret(url)), upstream)
        async with serving(app) as client:
            listing = parse_xml((await client.get(f"{LIST}?num=500")).content)[0]
            seen = [child.findtext("Sid") or "" for child in listing]
            process.terminate()
            process.wait(10)
            uri = listing.get("nextpageuri") or ""
            while uri:
                response = await client.get(uri)
                assert response.status_code == 200
                listing = parse_xml(response.content)[0]
                seen += [child.findtext("Sid") or "" for child in listing]
                uri = listing.get("nextpageuri") or ""
    assert seen == expected


async def test_a_mark_made_while_redis_fails_is_kept_in_process(shared: str) -> None:
    down = FallbackStore(RedisStore(f"redis://127.0.0.1:{free_port()}/0"), MemoryStore(2, 100))
    await down.mark(ACCOUNT, "NO1", time.time() + 60)
    assert await down.marked(ACCOUNT, ["NO1"], time.time()) == {"NO1"}
    await down.aclose()
    up = FallbackStore(RedisStore(shared), down.fallback)  # Redis answers again: both are read
    await up.mark(ACCOUNT, "NO2", time.time() + 60)
    assert await up.marked(ACCOUNT, ["NO1", "NO2"], time.time()) == {"NO1", "NO2"}
    await up.aclose()
    alone = RedisStore(shared)
    assert await alone.marked(ACCOUNT, ["NO1", "NO2"], time.time()) == {"NO2"}
    await alone.aclose()


def test_cache_url_setting() -> None:
    from gateway.settings import ConfigError, Settings

    loaded = Settings.load({"GATEWAY_CACHE_URL": "redis://:pw@127.0.0.1:6379/2"})
    assert isinstance(loaded.cache_url, Secret) and "pw" not in repr(loaded)
    with pytest.raises(ConfigError):
        Settings.load({"GATEWAY_CACHE_URL": "http://127.0.0.1:6379"})
