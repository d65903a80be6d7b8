"""Shared fixtures: the sandbox as an injected upstream transport (no sockets), the gateway app with its
lifespan, a legacy client, and helpers to read legacy XML."""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import random
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.sandbox import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, SandboxConfig, create_sandbox
from gateway.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SPECS = ROOT / "gateway" / "sandbox" / "specs"
LEGACY = FIXTURES / "legacy-2008-08-01"
"""Facts of the 2008-08-01 doc pages, written by scripts/extract_fixtures.py (fixtures/README.md)."""

ACCOUNT = DEFAULT_ACCOUNT_SID
TOKEN = DEFAULT_AUTH_TOKEN
OTHER = "ACbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
OTHER_TOKEN = "fedcba9876543210fedcba9876543210"
TRUNK = "TK" + "1" * 32
UPSTREAM = "http://sandbox.test"
PREFIX = f"/2008-08-01/Accounts/{ACCOUNT}"


def upstream_fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "upstream" / f"{name}.json").read_text())
    return data


def golden(name: str) -> ET.Element:
    return ET.fromstring((FIXTURES / "golden" / name).read_text())


def verbatim_sources(name: str) -> list[str]:
    """The doc pages that held the golden ``name`` verbatim when the fixtures were extracted; none if the
    golden's text has changed since."""
    found = json.loads((LEGACY / "verbatim-goldens.json").read_text()).get(name)
    text = (FIXTURES / "golden" / name).read_text()
    if found is None or hashlib.sha256(text.encode()).hexdigest() != found["sha256"]:
        return []
    return list(found["pages"])


class CountingTransport(httpx.AsyncBaseTransport):
    """Wraps another transport and remembers every request that went through it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    def count(self, method: str | None = None, contains: str = "") -> int:
        return sum(
            1 for r in self.requests if (method is None or r.method == method) and contains in r.url.path
        )

    def reset(self) -> None:
        self.requests.clear()


async def call_upstream(upstream: CountingTransport, form: dict[str, str]) -> dict[str, Any]:
    """A call made on the upstream itself (2010 parameters a legacy request cannot carry, ``Record``)."""
    async with httpx.AsyncClient(
        transport=upstream, base_url="http://sandbox.test", auth=(ACCOUNT, TOKEN)
    ) as api:
        answer = await api.post(f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json", data=form)
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


def get_scope(
    path: str,
    *,
    raw_path: bytes | None = None,
    password: str = TOKEN,
    headers: tuple[tuple[bytes, bytes], ...] = (),
    **extra: Any,
) -> dict[str, Any]:
    """The ASGI scope of a GET of ``path`` by the account (Basic credentials), for tests that drive
    the app's ASGI interface themselves."""
    credentials = httpx.BasicAuth(ACCOUNT, password)._auth_header.encode()
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode() if raw_path is None else raw_path,
        "query_string": b"",
        "headers": [(b"authorization", credentials), *headers],
        **extra,
    }


def elements(node: ET.Element) -> list[tuple[str, str]]:
    """Children of a legacy element as (tag, text), in order; empty elements give ''."""
    return [(child.tag, (child.text or "").strip()) for child in node]


def parse_xml(body: bytes) -> ET.Element:
    return ET.fromstring(body)


@contextlib.asynccontextmanager
async def serving(
    app: Any, auth: tuple[str, str] | None = (ACCOUNT, TOKEN)
) -> AsyncIterator[httpx.AsyncClient]:
    """Run a gateway app's lifespan and hand out a legacy client talking to it in-process."""
    async with (
        app.gateway_app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw.test", auth=auth
        ) as client,
    ):
        yield client


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(accounts={ACCOUNT: TOKEN, OTHER: OTHER_TOKEN}, incoming_numbers=5)


@pytest.fixture
def sandbox_app(sandbox_config: SandboxConfig) -> Any:
    return create_sandbox(sandbox_config)


@pytest.fixture
def sandbox(sandbox_app: Any) -> Any:
    """The sandbox behind ``sandbox_app`` (gateway/sandbox/app.py)."""
    return sandbox_app.state.sandbox


@pytest.fixture
def store(sandbox_app: Any) -> Any:
    return sandbox_app.state.sandbox.store


@pytest.fixture
def upstream(sandbox_app: Any) -> CountingTransport:
    return CountingTransport(httpx.ASGITransport(app=sandbox_app))


@pytest.fixture
def settings() -> Settings:
    return Settings(upstream=UPSTREAM, trunking_upstream=UPSTREAM, retry_backoff=0.0)


@pytest.fixture
async def gateway_app(settings: Settings, upstream: CountingTransport) -> AsyncIterator[Any]:
    app = create_app(settings, upstream)
    async with app.gateway_app.lifespan():
        yield app


@pytest.fixture
async def client(gateway_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gateway_app),
        base_url="http://gateway.test",
        auth=(ACCOUNT, TOKEN),
    ) as legacy_client:
        yield legacy_client


@pytest.fixture
def make_client(gateway_app: Any) -> Callable[..., httpx.AsyncClient]:
    def make(**kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gateway_app), base_url="http://gateway.test", **kwargs
        )

    return make


class Clock:
    """A sandbox clock that moves only when a test moves it (epoch seconds)."""

    def __init__(self, start: float = 1_795_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


STEP, LENGTH = 2.0, 20.0
"""The voice fixtures' call clock: queued 2 s, ringing 2 s, in progress 20 s."""
OURS = "+16465550000"
"""The sandbox's first pre-provisioned incoming number: a valid From for made calls."""


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clocked_config(clock: Clock) -> SandboxConfig:
    """Both accounts on the test clock, nothing else provisioned."""
    return SandboxConfig(accounts={ACCOUNT: TOKEN, OTHER: OTHER_TOKEN}, clock=clock)


@pytest.fixture
def voice_config(clock: Clock) -> SandboxConfig:
    return SandboxConfig(
        accounts={ACCOUNT: TOKEN, OTHER: OTHER_TOKEN},
        incoming_numbers=5,
        call_step=STEP,
        call_length=LENGTH,
        clock=clock,
    )


@pytest.fixture
def voice(sandbox_app: Any) -> Any:
    """The sandbox's calls and conferences (gateway/sandbox/voice.py)."""
    return sandbox_app.state.sandbox.voice


def shape(node: ET.Element) -> Any:
    """An element's structure with every value masked: tags, in order, all the way down."""
    return (node.tag, [shape(child) for child in node])


def tags(node: ET.Element) -> list[str]:
    return [child.tag for child in node]


DATED_AGES = (0.0, 0.25, 0.5, 0.999, 1.0, 1.5, 59.0, 60.0, 3600.0, 86400.0, 86400.5, 90 * 86400.0)
"""Seconds before the clock: whole seconds, fractions of the same second, and both sides of the
second edges a date-partitioned count splits at."""
ANCIENT = 1_100_000_000.0
"""2004: before the partitions' lower bound, counted in their last, open range."""


def dated_instants(now: float, crowd: int = 1300, spread: int = 1500) -> list[float]:
    """Instants for a date-partitioned list: a crowd in one second (more than an upstream page, so
    that second is read page by page), items on and around second edges, a spread over months, and
    a few items older than 2008."""
    rng = random.Random(13)
    crowd_second = math.floor(now) - 7 * 86400
    instants = [crowd_second + (i % 10) / 10 for i in range(crowd)]
    instants += [math.floor(now) - age for age in DATED_AGES]
    instants += [now - rng.uniform(0, 180 * 86400) for _ in range(spread)]
    instants += [math.floor(now) - rng.randrange(180 * 86400) for _ in range(spread // 3)]
    instants += [ANCIENT + i for i in range(5)]
    return instants


async def legacy_walk(client: httpx.AsyncClient, first: str) -> tuple[ET.Element, list[str]]:
    """The first page's list element and every Sid, following ``nextpageuri`` to the end."""
    response = await client.get(first)
    assert response.status_code == 200, response.text
    head = parse_xml(response.content)[0]
    listing, sids = head, []
    while True:
        sids += [dict(elements(item))["Sid"] for item in listing]
        uri = listing.get("nextpageuri") or ""
        if not uri:
            return head, sids
        listing = parse_xml((await client.get(uri)).content)[0]


def partitioned(upstream: CountingTransport, param: str) -> int:
    """Upstream list requests bounded by ``param`` on both sides: date-partitioned counting."""
    return sum(1 for r in upstream.requests if f"{param}>" in r.url.params and f"{param}<" in r.url.params)


async def assert_partitioned_walk(
    client: httpx.AsyncClient, upstream: CountingTransport, path: str, param: str, expected: list[str]
) -> None:
    """Walking ``path`` 1000 at a time is counted in date partitions on ``param`` and answers ``expected``,
    in order, with its total and page count."""
    upstream.reset()
    head, sids = await legacy_walk(client, f"{path}?num=1000")
    assert partitioned(upstream, param) > 1
    assert (head.get("total"), head.get("numpages")) == (
        str(len(expected)),
        str(math.ceil(len(expected) / 1000)),
    )
    assert sids == expected
