from __future__ import annotations

from gateway.hooks.cookies import (
    CONVERSATION_TTL,
    MAX_COOKIES,
    CookieJar,
    call_key,
    conversation_key,
)
from gateway.hooks.dedupe import Dedupe
from gateway.lists.cache import MemoryStore

APP = "https://app.example.com/call.php"


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def jar() -> tuple[CookieJar, Clock, MemoryStore]:
    clock = Clock()
    store = MemoryStore(100, 10_000, clock=clock)
    return CookieJar(store, clock=clock), clock, store


async def test_cookies_come_back_on_the_next_request() -> None:
    cookies, _, _ = jar()
    key = call_key("CA1")
    assert await cookies.cookie_header(key, APP) is None
    await cookies.remember(key, ["session=abc; Path=/; HttpOnly", 'pref="x y"; Secure'], 3600, APP)
    assert await cookies.cookie_header(key, APP) == 'session=abc; pref="x y"'
    await cookies.remember(key, ["session=def"], 3600, APP)
    assert await cookies.cookie_header(key, APP) == 'pref="x y"; session=def'


async def test_jars_are_separate_per_key_and_cookies_per_host() -> None:
    cookies, _, _ = jar()
    await cookies.remember(call_key("CA1"), ["a=1"], 3600, APP)
    assert await cookies.cookie_header(call_key("CA2"), APP) is None
    assert await cookies.cookie_header(call_key("CA1"), "https://other.example.com/x") is None
    assert await cookies.cookie_header(call_key("CA1"), "https://APP.example.com/elsewhere") == "a=1"
    assert await cookies.cookie_header(call_key("CA1")) == "a=1"


async def test_max_age_and_expires_are_honoured() -> None:
    cookies, clock, _ = jar()
    key = call_key("CA1")
    await cookies.remember(key, ["short=1; Max-Age=60", "long=2", "gone=3; Max-Age=0"], 3600, APP)
    await cookies.remember(key, ["old=4; Expires=Wed, 21 Oct 2015 07:28:00 GMT"], 3600, APP)
    assert await cookies.cookie_header(key, APP) == "short=1; long=2"
    clock.now += 61
    assert await cookies.cookie_header(key, APP) == "long=2"
    await cookies.remember(key, ["long=2; Max-Age=-1"], 3600, APP)
    assert await cookies.cookie_header(key, APP) is None


async def test_conversation_forgotten_after_four_hours_without_a_message() -> None:
    cookies, clock, _ = jar()
    key = conversation_key("AC1", "+14158675309", "+14155551212")
    assert key == conversation_key("AC1", "+14155551212", "+14158675309")
    await cookies.remember(key, ["c=1"], CONVERSATION_TTL, APP)
    clock.now += CONVERSATION_TTL - 10
    assert await cookies.cookie_header(key, APP) == "c=1"  # a message: four more hours
    clock.now += CONVERSATION_TTL - 10
    assert await cookies.cookie_header(key, APP) == "c=1"
    clock.now += CONVERSATION_TTL + 1
    assert await cookies.cookie_header(key, APP) is None


async def test_hostile_set_cookie_headers() -> None:
    cookies, _, _ = jar()
    key = call_key("CA1")
    hostile = ["", ";;;", "=novalue", "bad name=1", "x=\x00\x01", "a=1; Expires=garbage", "b=2; Max-Age=abc"]
    await cookies.remember(key, hostile, 3600, APP)
    assert await cookies.cookie_header(key, APP) == "a=1; b=2"
    many = [f"c{i}=" + "v" * 100 for i in range(500)]
    await cookies.remember(key, many, 3600, APP)
    header = await cookies.cookie_header(key, APP)
    assert header is not None and len(header.split("; ")) <= MAX_COOKIES and len(header) < 9000
    assert header.endswith("c499=" + "v" * 100)


async def test_a_corrupt_jar_is_an_empty_one() -> None:
    cookies, _, store = jar()
    await cookies.remember(call_key("CA1"), ["a=1"], 3600, APP)
    ((name, _),) = store._kinds["block"].entries.items()
    await store.put("block", name, b"not json", 3600)
    assert await cookies.cookie_header(call_key("CA1"), APP) is None


async def test_store_names_are_digests_not_numbers() -> None:
    cookies, _, store = jar()
    await cookies.remember(conversation_key("AC1", "+14158675309", "+14155551212"), ["a=1"], 3600, APP)
    (name,) = store._kinds["block"].entries
    assert "4158675309" not in name and name.startswith("hooks:cookies:")


async def test_first_time_once_per_key_within_ttl() -> None:
    clock = Clock()
    seen = Dedupe(MemoryStore(10, 100, clock=clock))
    assert await seen.first_time("SM1:sent", 60)
    assert not await seen.first_time("SM1:sent", 60)
    assert await seen.first_time("SM1:failed", 60)
    assert await seen.first_time("SM2:sent", 60)
    clock.now += 61
    assert await seen.first_time("SM1:sent", 60)
