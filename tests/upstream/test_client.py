"""The upstream client: error mapping, retries, Retry-After, breaker, host allow-list — with
``httpx.MockTransport`` so attempts can be counted exactly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.errors import (
    BadGateway,
    GatewayTimeout,
    Unauthorized,
    UpstreamRestError,
)
from gateway.settings import Settings
from gateway.upstream.breaker import Breaker
from gateway.upstream.client import Upstream, decode, retry_after
from tests.conftest import ACCOUNT, OTHER, OTHER_TOKEN, PREFIX, TOKEN, parse_xml, serving, upstream_fixture

BASE = "http://up.test"
SETTINGS = Settings(upstream=BASE, trunking_upstream="http://trunk.test", retries=2, retry_backoff=0.0)


class Recorder:
    def __init__(self, handler: Callable[[httpx.Request, int], httpx.Response]) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request, len(self.requests))


def make(
    handler: Callable[[httpx.Request, int], httpx.Response], settings: Settings = SETTINGS
) -> tuple[Upstream, Recorder, list[float]]:
    recorder = Recorder(handler)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    upstream = Upstream(settings, httpx.MockTransport(recorder), sleep=sleep, rand=lambda: 1.0)
    return upstream, recorder, slept


async def call(upstream: Upstream, method: str = "GET", target: str = "/x") -> Any:
    return decode(await upstream.send("api", method, target, endpoint="test", authorization="Basic eA=="))


async def test_get_is_retried_on_503_then_succeeds() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        return httpx.Response(503) if n < 3 else httpx.Response(200, json={"ok": 1})

    upstream, recorder, slept = make(handler)
    assert await call(upstream) == {"ok": 1}
    assert len(recorder.requests) == 3
    assert len(slept) == 2


async def test_post_is_never_retried() -> None:
    upstream, recorder, _ = make(lambda request, n: httpx.Response(503))
    with pytest.raises(BadGateway):
        await call(upstream, "POST")
    assert len(recorder.requests) == 1


async def test_post_is_not_retried_on_connect_error() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    upstream, recorder, _ = make(handler)
    with pytest.raises(BadGateway):
        await call(upstream, "POST")
    assert len(recorder.requests) == 1


async def test_delete_is_retried_on_connect_errors() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        if n == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(204)

    upstream, recorder, _ = make(handler)
    assert await call(upstream, "DELETE") is None
    assert len(recorder.requests) == 2


async def test_retries_are_bounded() -> None:
    upstream, recorder, _ = make(lambda request, n: httpx.Response(502))
    with pytest.raises(BadGateway):
        await call(upstream)
    assert len(recorder.requests) == 3


async def test_4xx_is_not_retried() -> None:
    body = {"code": 20404, "message": "nope", "more_info": "https://x/20404", "status": 404}
    upstream, recorder, _ = make(lambda request, n: httpx.Response(404, json=body))
    with pytest.raises(UpstreamRestError) as caught:
        await call(upstream)
    assert (caught.value.status, caught.value.code, caught.value.message) == (404, 20404, "nope")
    assert caught.value.more_info == "https://x/20404"
    assert len(recorder.requests) == 1


async def test_retry_after_is_honoured() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": "1.5"}) if n == 1 else httpx.Response(204)

    upstream, _, slept = make(handler, SETTINGS.replace(retry_backoff=0.01))
    await call(upstream)
    assert slept == [1.5]


def test_retry_after_parses_seconds_and_dates() -> None:
    assert retry_after(httpx.Headers({"Retry-After": "3"})) == 3.0
    assert retry_after(httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after(httpx.Headers({"Retry-After": "soon"})) is None
    assert retry_after(httpx.Headers()) is None


async def test_backoff_doubles_and_is_capped() -> None:
    settings = SETTINGS.replace(retries=4, retry_backoff=0.1, retry_max_backoff=0.3)
    upstream, _, slept = make(lambda request, n: httpx.Response(503), settings)
    with pytest.raises(BadGateway):
        await call(upstream)
    assert slept == pytest.approx([0.1, 0.2, 0.3, 0.3])


async def test_jitter_draws_below_the_ceiling() -> None:
    recorder = Recorder(lambda request, n: httpx.Response(503))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    upstream = Upstream(
        SETTINGS.replace(retry_backoff=0.2), httpx.MockTransport(recorder), sleep=sleep, rand=lambda: 0.25
    )
    with pytest.raises(BadGateway):
        await call(upstream)
    assert slept == pytest.approx([0.05, 0.1])


async def test_read_timeout_is_504() -> None:
    def handler(request: httpx.Request, n: int) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    upstream, recorder, _ = make(handler)
    with pytest.raises(GatewayTimeout):
        await call(upstream)
    assert len(recorder.requests) == 1


async def test_non_json_success_is_502() -> None:
    upstream, _, _ = make(lambda request, n: httpx.Response(200, text="<html>oops</html>"))
    with pytest.raises(BadGateway):
        await call(upstream)


async def test_json_that_is_not_an_object_is_502() -> None:
    upstream, _, _ = make(lambda request, n: httpx.Response(200, json=[1, 2]))
    with pytest.raises(BadGateway):
        await call(upstream)


async def test_401_maps_to_unauthorized() -> None:
    body = {"code": 20003, "message": "Authenticate", "more_info": "x", "status": 401}
    upstream, _, _ = make(lambda request, n: httpx.Response(401, json=body))
    with pytest.raises(Unauthorized):
        await call(upstream)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.test/2010-04-01/next",
        "http://up.test:8443/x",
        "https://up.test/x",
        "//evil.test/x",
        "http://user:pw@evil.test/x",
    ],
)
async def test_links_to_other_hosts_are_never_followed(target: str) -> None:
    upstream, recorder, _ = make(lambda request, n: httpx.Response(200, json={}))
    with pytest.raises(BadGateway):
        await call(upstream, target=target)
    assert recorder.requests == []


async def test_absolute_links_to_the_configured_host_are_followed() -> None:
    upstream, recorder, _ = make(lambda request, n: httpx.Response(200, json={}))
    await call(upstream, target="http://up.test/next?PageToken=PA1")
    assert str(recorder.requests[0].url) == "http://up.test/next?PageToken=PA1"


async def test_request_id_and_auth_are_forwarded() -> None:
    upstream, recorder, _ = make(lambda request, n: httpx.Response(200, json={}))
    await upstream.send("api", "GET", "/x", endpoint="t", authorization="Basic eA==", request_id="r-1")
    assert recorder.requests[0].headers["authorization"] == "Basic eA=="
    assert recorder.requests[0].headers["x-request-id"] == "r-1"


async def test_breaker_fails_fast_through_the_app() -> None:
    settings = Settings(
        upstream=BASE, trunking_upstream=BASE, retries=0, breaker_threshold=2, breaker_cooldown=60
    )
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    app = create_app(settings, httpx.MockTransport(handler))
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        statuses = [
            (await client.get(f"{PREFIX}/OutgoingCallerIds/PN" + "a" * 32)).status_code for _ in range(4)
        ]
        response = await client.get(f"{PREFIX}/OutgoingCallerIds/PN" + "a" * 32)
    assert statuses == [502, 502, 503, 503]
    assert len(calls) == 2
    exc = parse_xml(response.content)[0]
    assert exc.findtext("Status") == "503"


@pytest.mark.parametrize(
    ("handler", "status"),
    [
        (lambda request: (_ for _ in ()).throw(httpx.ConnectError("x", request=request)), 502),
        (lambda request: (_ for _ in ()).throw(httpx.ReadTimeout("x", request=request)), 504),
        (lambda request: httpx.Response(200, text="not json"), 502),
        (lambda request: httpx.Response(500, text="boom"), 502),
    ],
)
async def test_upstream_failures_become_rest_exceptions(handler: Any, status: int) -> None:
    app = create_app(SETTINGS.replace(retries=0), httpx.MockTransport(handler))
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        response = await client.get(f"{PREFIX}/OutgoingCallerIds")
    assert response.status_code == status
    exc = parse_xml(response.content)[0]
    assert exc.tag == "RestException"
    assert exc.findtext("Status") == str(status)


async def test_one_accounts_errors_do_not_open_the_breaker_for_the_others() -> None:
    """A 500 about one account's request (with or without a Twilio error body) says nothing about the
    host: other accounts keep being served."""
    settings = Settings(upstream=BASE, trunking_upstream=BASE, retries=0, breaker_threshold=2)
    other_fetch = f"/2008-08-01/Accounts/{OTHER}/OutgoingCallerIds/PN" + "a" * 32

    def handler(request: httpx.Request) -> httpx.Response:
        if ACCOUNT in request.url.path:
            if "PNb" in request.url.path:
                return httpx.Response(500, text="boom")
            error = {"code": 20500, "message": "Internal server error", "status": 500}
            return httpx.Response(500, json=error)
        return httpx.Response(
            200, json={**upstream_fixture("FetchOutgoingCallerId.fetch")["body"], "account_sid": OTHER}
        )

    app = create_app(settings, httpx.MockTransport(handler))
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        failed = [
            (await client.get(f"{PREFIX}/OutgoingCallerIds/PN" + letter * 32)).status_code
            for letter in "ababab"
        ]
    async with serving(app, auth=(OTHER, OTHER_TOKEN)) as client:
        served = await client.get(other_fetch)
    assert failed == [500, 502] * 3
    assert served.status_code == 200


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_host_failures_still_open_the_breaker(status: int) -> None:
    settings = Settings(upstream=BASE, trunking_upstream=BASE, retries=0, breaker_threshold=2)
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(status, text="gateway trouble")

    app = create_app(settings, httpx.MockTransport(handler))
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        statuses = [
            (await client.get(f"{PREFIX}/OutgoingCallerIds/PN" + "a" * 32)).status_code for _ in range(3)
        ]
    assert statuses == [502, 502, 503]
    assert len(calls) == 2


@pytest.mark.parametrize("path", ["send", "stream"])
async def test_a_cancelled_trial_call_does_not_hold_the_breaker(path: str) -> None:
    settings = Settings(upstream=BASE, trunking_upstream=BASE, retries=0, breaker_threshold=1)
    mode = ["fail"]
    hang = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if mode[0] == "hang":
            await hang.wait()
        return httpx.Response(503) if mode[0] == "fail" else httpx.Response(200, json={})

    upstream = Upstream(settings, httpx.MockTransport(handler))
    upstream.breakers["api"] = Breaker(threshold=1, cooldown=30, first_wait=0.0, probes=1)
    with pytest.raises(BadGateway):  # the failure that opens it
        await call(upstream)
    mode[0] = "hang"
    if path == "send":
        trial: asyncio.Task[Any] = asyncio.create_task(call(upstream))
    else:
        trial = asyncio.create_task(upstream.stream("api", "/audio", endpoint="test"))
    await asyncio.sleep(0.05)
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial
    mode[0] = "ok"
    assert await call(upstream) == {}  # the next call is the trial, not a 503
    await upstream.aclose()


async def test_the_gateway_serves_again_half_a_second_after_the_host_is_back() -> None:
    """GATEWAY_BREAKER_COOLDOWN (60 s here) is the cap of the wait, not the wait: a short outage is
    refused for about its own length."""
    settings = Settings(
        upstream=BASE, trunking_upstream=BASE, retries=0, breaker_threshold=2, breaker_cooldown=60
    )
    down = [True]
    body = upstream_fixture("FetchOutgoingCallerId.fetch")["body"]

    def handler(request: httpx.Request) -> httpx.Response:
        if down[0]:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={**body, "account_sid": ACCOUNT})

    app = create_app(settings, httpx.MockTransport(handler))
    path = f"{PREFIX}/OutgoingCallerIds/PN" + "a" * 32
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        failed = [(await client.get(path)).status_code for _ in range(3)]
        down[0] = False
        refused = (await client.get(path)).status_code
        await asyncio.sleep(0.6)
        served = (await client.get(path)).status_code
    assert failed == [502, 502, 503]
    assert (refused, served) == (503, 200)
