"""The gateway, on its real upstream client, in front of a hostile upstream (tests/hostile.py): every
misbehaviour ends in a legacy answer — the right status, a well-formed ``<RestException>``, in bounded
time — and never in another request's or another account's answer."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gateway.edge.app import create_app
from gateway.migration.har import load
from gateway.settings import Settings
from gateway.upstream.client import Upstream
from tests.conftest import ACCOUNT, OTHER, OTHER_TOKEN, TOKEN, get_scope, parse_xml, serving, upstream_fixture
from tests.hostile import HostileUpstream, Request, Script, gzip_bomb, json_response, response

CAP = 64 * 1024
CALLER = "PN" + "e" * 32
FETCH = re.compile(r"/2010-04-01/Accounts/(AC\w{32})/OutgoingCallerIds/(PN\w{32})\.json")
FETCH_PATH = "/2010-04-01/Accounts/{account}/OutgoingCallerIds/{sid}.json"
LIST = re.compile(r"/2010-04-01/Accounts/(AC\w{32})/OutgoingCallerIds\.json")


def caller_id(account: str) -> dict[str, Any]:
    body: dict[str, Any] = upstream_fixture("FetchOutgoingCallerId.fetch")["body"]
    return {**body, "account_sid": account, "sid": CALLER}


def listing(account: str, next_page: str | None = None) -> dict[str, Any]:
    return {"outgoing_caller_ids": [caller_id(account)], "next_page_uri": next_page, "page_size": 1000}


def fetched(request: Request) -> Script:
    """The well-behaved answer to anything."""
    found = FETCH.fullmatch(request.path) or LIST.fullmatch(request.path)
    if found is None:
        return [json_response(404, {"code": 20404, "message": "not found", "status": 404})]
    if request.method == "DELETE":
        return [response(204)]
    body = caller_id(found[1]) if FETCH.fullmatch(request.path) else listing(found[1])
    return [json_response(200, body)]


def once(first: Callable[[Request], Script]) -> Callable[[Request], Script]:
    """``first`` answers the first request, :func:`fetched` every later one."""
    count = [0]

    def handler(request: Request) -> Script:
        count[0] += 1
        return first(request) if count[0] == 1 else fetched(request)

    return handler


@contextlib.asynccontextmanager
async def gateway(
    handler: Callable[[Request], Script], **changes: Any
) -> AsyncIterator[tuple[HostileUpstream, Callable[..., Any]]]:
    async with HostileUpstream(handler).running() as upstream:
        settings = Settings(
            upstream=upstream.url,
            trunking_upstream=upstream.url,
            retries=0,
            retry_backoff=0.0,
            read_timeout=2,
            total_timeout=3,
            connect_timeout=1,
            max_upstream_body_bytes=CAP,
        ).replace(**changes)
        app = create_app(settings)
        async with app.gateway_app.lifespan():

            def client(auth: tuple[str, str] = (ACCOUNT, TOKEN)) -> httpx.AsyncClient:
                return httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://gw.test", auth=auth
                )

            yield upstream, client


def rest_exception(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, answer.text
    root = parse_xml(answer.content)
    assert root.tag == "TwilioResponse"
    exc = root[0]
    assert exc.tag == "RestException"
    assert exc.findtext("Status") == str(status)
    return exc.findtext("Message") or ""


def fetch_path(account: str = ACCOUNT) -> str:
    return f"/2008-08-01/Accounts/{account}/OutgoingCallerIds/{CALLER}"


def list_path(account: str = ACCOUNT) -> str:
    return f"/2008-08-01/Accounts/{account}/OutgoingCallerIds"


async def fetch_as(client: Callable[..., Any], account: str, token: str) -> httpx.Response:
    async with client((account, token)) as legacy:
        answer: httpx.Response = await legacy.get(fetch_path(account))
        return answer


@pytest.mark.parametrize("interim", ["100 Continue", "103 Early Hints"])
async def test_interim_answers_never_reach_a_client_nor_the_next_account(interim: str) -> None:
    head = f"HTTP/1.1 {interim}\r\nLink: </style.css>\r\n\r\n".encode()

    def handler(request: Request) -> Script:
        return [head, *fetched(request)]

    async with gateway(handler) as (upstream, client):
        first = await fetch_as(client, ACCOUNT, TOKEN)
        second = await fetch_as(client, OTHER, OTHER_TOKEN)
    assert first.status_code == second.status_code == 200
    assert parse_xml(first.content).findtext(".//AccountSid") == ACCOUNT
    assert parse_xml(second.content).findtext(".//AccountSid") == OTHER
    assert upstream.connections == 1  # one connection, still in step


@pytest.mark.parametrize("junk", [b"JUNK", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"])
async def test_bytes_after_an_answer_do_not_fail_the_next_request(junk: bytes) -> None:
    async with gateway(once(lambda request: [b"".join(map(bytes, fetched(request))) + junk])) as (_, client):
        first = await fetch_as(client, ACCOUNT, TOKEN)
        second = await fetch_as(client, OTHER, OTHER_TOKEN)
    assert (first.status_code, second.status_code) == (200, 200)
    assert parse_xml(second.content).findtext(".//AccountSid") == OTHER


async def test_a_204_with_a_body_does_not_fail_the_next_request() -> None:
    def handler(request: Request) -> Script:
        if request.method == "DELETE":
            return [response(204, headers=[("Content-Length", "4")], length=False) + b"BODY"]
        return fetched(request)

    async with gateway(handler) as (upstream, client):
        async with client() as legacy:
            deleted = await legacy.delete(fetch_path())
        after = await fetch_as(client, OTHER, OTHER_TOKEN)
    assert deleted.status_code == 204
    assert after.status_code == 200
    assert parse_xml(after.content).findtext(".//AccountSid") == OTHER
    assert [r.method for r in upstream.requests] == ["DELETE", "GET"]  # nothing sent twice


@pytest.mark.parametrize("version", ["HTTP/1.0", "HTTP/1.1"])
async def test_close_delimited_bodies_are_answered(version: str) -> None:
    def handler(request: Request) -> Script:
        body = orjson.dumps(caller_id(ACCOUNT))
        return [response(200, body, version=version, headers=[("Connection", "close")], length=False), None]

    async with gateway(handler) as (_, client):
        answer = await fetch_as(client, ACCOUNT, TOKEN)
    assert answer.status_code == 200
    assert parse_xml(answer.content).findtext(".//Sid") == CALLER


@pytest.mark.parametrize("declared", [True, False])
async def test_an_oversized_body_is_502(declared: bool) -> None:
    big = b'{"outgoing_caller_ids": [' + b" " * (16 * CAP) + b"]}"
    if declared:
        script: Script = [response(200, big)]
    else:
        script = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"]
        script = [*script, *(f"{CAP:x}\r\n".encode() + b" " * CAP + b"\r\n" for _ in range(16)), b"0\r\n\r\n"]
    async with gateway(once(lambda request: script)) as (_, client), client() as legacy:
        answer = await legacy.get(list_path())
        after = await legacy.get(list_path())
    assert "larger" in rest_exception(answer, 502)
    assert after.status_code == 200


async def test_a_gzip_bomb_is_not_inflated() -> None:
    bomb = gzip_bomb(32 * CAP)  # inflated it would pass the cap 32 times over; compressed it is under it
    assert len(bomb) < CAP
    script = [
        response(200, bomb, headers=[("Content-Encoding", "gzip"), ("Content-Type", "application/json")])
    ]
    async with gateway(lambda request: script) as (upstream, client):
        answer = await fetch_as(client, ACCOUNT, TOKEN)
    rest_exception(answer, 502)  # the raw bytes are not JSON
    assert upstream.requests[0].headers.get("accept-encoding") == "identity"


async def test_a_slow_drip_body_times_out_within_the_read_budget() -> None:
    drip: Script = [b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 600\r\n\r\n"]
    drip = [*drip, *(part for _ in range(600) for part in (0.02, b" "))]
    async with gateway(lambda request: drip, read_timeout=1, total_timeout=5) as (_, client):
        started = time.monotonic()
        answer = await fetch_as(client, ACCOUNT, TOKEN)
        elapsed = time.monotonic() - started
    rest_exception(answer, 504)
    assert elapsed < 1.8


@pytest.mark.parametrize("status", [999, 600, 302, 304, 101])
async def test_statuses_a_legacy_client_cannot_be_given_are_502(status: int) -> None:
    answer_bytes = response(status, b"", headers=[("Location", "http://elsewhere.test/")])
    async with gateway(once(lambda request: [answer_bytes])) as (upstream, client):
        answer = await fetch_as(client, ACCOUNT, TOKEN)
        after = await fetch_as(client, OTHER, OTHER_TOKEN)
    rest_exception(answer, 502)
    assert "location" not in answer.headers
    assert after.status_code == 200
    assert not any("elsewhere" in r.target for r in upstream.requests)


@pytest.mark.parametrize("status", [999, 302, 103])
async def test_passthrough_never_relays_a_1xx_3xx_or_invalid_status(status: int) -> None:
    interim = status == 103
    script: Script = [response(status, b"moved", headers=[("Location", "/x")])]
    if interim:  # a 1xx and then the connection closes: no final answer at all
        script = [b"HTTP/1.1 103 Early Hints\r\n\r\n", None]
    async with HostileUpstream(lambda request: script).running() as upstream:
        settings = Settings(
            upstream=upstream.url,
            trunking_upstream=upstream.url,
            legacy_upstream=upstream.url,
            retries=0,
            read_timeout=2,
            total_timeout=3,
        )
        app = create_app(settings)
        async with serving(app) as legacy:
            answer = await legacy.get(f"/2008-08-01/Accounts/{ACCOUNT}/Calls")
    rest_exception(answer, 502)


@pytest.mark.parametrize(
    "script",
    [
        [response(204)],
        [response(200, b"", headers=[("Content-Type", "application/json")])],
    ],
    ids=["204", "empty-body"],
)
async def test_a_list_answered_without_a_body_is_502(script: Script) -> None:
    async with gateway(lambda request: script) as (_, client), client() as legacy:
        answer = await legacy.get(list_path())
    rest_exception(answer, 502)


async def test_a_next_page_outside_ascii_is_502() -> None:
    page = listing(ACCOUNT, next_page=f"/2010-04-01/Accounts/{ACCOUNT}/OutgoingCallerIds.json?Page=é")
    async with gateway(lambda request: [json_response(200, page)]) as (upstream, client), client() as legacy:
        answer = await legacy.get(list_path())
        sent = len(upstream.requests)
    rest_exception(answer, 502)
    assert sent == 1


async def test_credentials_echoed_by_the_upstream_reach_neither_the_client_nor_the_har(
    tmp_path: Path,
) -> None:
    pair = f"{ACCOUNT}:{TOKEN}"
    encoded = base64.b64encode(pair.encode()).decode()

    def handler(request: Request) -> Script:
        echo = f"bad: {request.headers['authorization']} / {encoded} / {pair} / {TOKEN}"
        return [json_response(400, {"code": 20001, "message": echo, "status": 400})]

    record = tmp_path / "session.har"
    async with gateway(handler, record=str(record)) as (_, client), client() as legacy:
        answer = await legacy.get(fetch_path())
        posted = await legacy.post(list_path(), data={"PhoneNumber": "4158675309"})
    for text in (rest_exception(answer, 400), rest_exception(posted, 400)):
        assert text.startswith("bad: ")
        assert TOKEN not in text and encoded not in text
    recorded = record.read_text()
    assert len(load(str(record))) == 2
    assert TOKEN not in recorded and encoded not in recorded


async def test_waiting_for_the_pool_is_inside_the_deadline() -> None:
    slow: Script = [5.0, *fetched(Request("GET", fetch_path(), {}, b""))]
    async with gateway(lambda request: slow, pool_max_connections=4, read_timeout=1, total_timeout=1) as (
        _,
        client,
    ):
        started = time.monotonic()
        async with client() as legacy:
            answers = await asyncio.gather(*(legacy.get(fetch_path()) for _ in range(40)))
        elapsed = time.monotonic() - started
    assert elapsed < 1.8
    for answer in answers:
        rest_exception(answer, 504)


async def test_one_deadline_bounds_every_page_of_a_list_walk() -> None:
    def handler(request: Request) -> Script:
        page = int(request.target.partition("Page=")[2] or 0)
        following = f"/2010-04-01/Accounts/{ACCOUNT}/OutgoingCallerIds.json?Page={page + 1}"
        return [0.3, json_response(200, listing(ACCOUNT, next_page=following))]

    async with gateway(handler, read_timeout=1, total_timeout=1) as (upstream, client), client() as legacy:
        started = time.monotonic()
        answer = await legacy.get(list_path())
        elapsed = time.monotonic() - started
        pages = len(upstream.requests)
    rest_exception(answer, 504)
    assert elapsed < 1.6
    assert pages <= 4


async def test_credentials_echoed_in_a_media_error_do_not_reach_the_client() -> None:
    pair = f"{ACCOUNT}:{TOKEN}"
    encoded = base64.b64encode(pair.encode()).decode()

    def handler(request: Request) -> Script:
        echo = f"no audio for {request.headers['authorization']} ({TOKEN})"
        return [json_response(404, {"code": 20404, "message": echo, "status": 404})]

    recording = "RE" + "a" * 32
    async with gateway(handler) as (_, client), client() as legacy:
        answer = await legacy.get(f"/2008-08-01/Accounts/{ACCOUNT}/Recordings/{recording}")
    message = rest_exception(answer, 404)
    assert message.startswith("no audio for ")
    assert TOKEN not in message and encoded not in message


RECORDING = "RE" + "b" * 32
AUDIO = f"/2008-08-01/Accounts/{ACCOUNT}/Recordings/{RECORDING}"


async def test_media_streams_through_the_real_client_with_ranges_both_ways() -> None:
    audio = bytes(range(256)) * (CAP // 64)  # four times the API body cap: media is not capped

    def handler(request: Request) -> Script:
        head = response(
            206,
            headers=[
                ("Content-Type", "audio/x-wav"),
                ("Content-Length", str(len(audio))),
                ("Content-Range", f"bytes 0-{len(audio) - 1}/{len(audio) * 2}"),
                ("Accept-Ranges", "bytes"),
                ("ETag", '"v1"'),
                ("Last-Modified", "Tue, 01 Jul 2008 00:00:00 GMT"),
                ("Set-Cookie", "no=1"),
            ],
            length=False,
        )
        middle = len(audio) // 2
        return [b"HTTP/1.1 100 Continue\r\n\r\n", head, audio[:middle], 0.05, audio[middle:]]

    async with gateway(handler) as (upstream, client), client() as legacy:
        answer = await legacy.get(AUDIO, headers={"Range": "bytes=0-", "If-Range": '"v1"'})
    assert answer.status_code == 206
    assert answer.content == audio
    assert answer.headers["content-length"] == str(len(audio))
    assert answer.headers["content-range"] == f"bytes 0-{len(audio) - 1}/{len(audio) * 2}"
    assert (answer.headers["etag"], answer.headers["accept-ranges"]) == ('"v1"', "bytes")
    assert answer.headers["last-modified"] == "Tue, 01 Jul 2008 00:00:00 GMT"
    assert "set-cookie" not in answer.headers
    [sent] = upstream.requests
    assert (sent.headers["range"], sent.headers["if-range"]) == ("bytes=0-", '"v1"')
    assert sent.headers["authorization"].startswith("Basic ")
    assert sent.headers["accept-encoding"] == "identity"


async def test_a_media_body_that_stalls_is_cut_at_the_read_timeout() -> None:
    """Once the answer has started all that is left is to end it short: the server then closes the
    connection and the client sees a body shorter than its Content-Length."""

    def handler(request: Request) -> Script:
        return [response(200, headers=[("Content-Length", "1000")], length=False), b"RIFF", 30.0]

    sent: list[dict[str, Any]] = []
    scope = get_scope(AUDIO, headers=((b"host", b"gw.test"),))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    async with HostileUpstream(handler).running() as upstream:
        settings = Settings(upstream=upstream.url, trunking_upstream=upstream.url, read_timeout=0.5)
        app = create_app(settings)
        async with app.gateway_app.lifespan():
            started = time.monotonic()
            await asyncio.wait_for(app(scope, receive, send), 5)
            elapsed = time.monotonic() - started
    assert elapsed < 2
    assert sent[0]["type"] == "http.response.start" and sent[0]["status"] == 200
    bodies = [message for message in sent[1:] if message["type"] == "http.response.body"]
    assert b"".join(message["body"] for message in bodies) == b"RIFF"
    assert all(message.get("more_body") for message in bodies)  # never marked complete


async def test_media_redirected_to_a_listed_host_goes_there_without_credentials() -> None:
    def storage(request: Request) -> Script:
        return [response(200, b"RIFF-stored", headers=[("Content-Type", "audio/x-wav")])]

    async with HostileUpstream(storage).running() as store:
        store_port = store.url.rsplit(":", 1)[1]

        def handler(request: Request) -> Script:
            return [response(302, headers=[("Location", f"{store.url}/a.wav")])]

        hosts = (f"127.0.0.1:{store_port}",)
        async with gateway(handler, media_hosts=hosts) as (upstream, client), client() as legacy:
            answer = await legacy.get(AUDIO, headers={"X-Request-Id": "req-1", "Range": "bytes=0-"})
    assert (answer.status_code, answer.content) == (200, b"RIFF-stored")
    [first] = upstream.requests
    assert "authorization" in first.headers and first.headers["x-request-id"] == "req-1"
    [stored] = store.requests
    assert stored.path == "/a.wav" and stored.headers["range"] == "bytes=0-"
    assert not {"authorization", "x-request-id", "traceparent"} & set(stored.headers)


async def test_media_redirected_to_an_unlisted_host_is_a_502_and_never_fetched() -> None:
    async with HostileUpstream(lambda _: [response(200, b"x")]).running() as elsewhere:

        def handler(request: Request) -> Script:
            return [response(302, headers=[("Location", f"{elsewhere.url}/a.wav")])]

        async with gateway(handler) as (_, client), client() as legacy:
            answer = await legacy.get(AUDIO)
        assert elsewhere.requests == []
    rest_exception(answer, 502)


async def test_a_media_answer_that_never_comes_is_a_504_by_the_deadline() -> None:
    async with gateway(lambda _: [30.0], total_timeout=1, read_timeout=1) as (_, client), client() as legacy:
        started = time.monotonic()
        answer = await legacy.get(AUDIO)
        elapsed = time.monotonic() - started
    rest_exception(answer, 504)
    assert elapsed < 2


# Retries: only what provably never reached the upstream ------------------------------------------
@pytest.mark.parametrize("kind", ["fast", "httpx"])
async def test_a_delete_dropped_after_it_was_sent_is_not_repeated(kind: str) -> None:
    """The upstream read the DELETE (and may have carried it out), then closed the connection: a
    second DELETE would answer 404 for a delete that succeeded."""

    def handler(request: Request) -> Script:
        return [None] if request.method == "DELETE" else fetched(request)

    async with gateway(handler, retries=2, upstream_client=kind) as (upstream, client), client() as legacy:
        answer = await legacy.delete(fetch_path())
    rest_exception(answer, 502)
    assert [r.method for r in upstream.requests] == ["DELETE"]


@pytest.mark.parametrize("kind", ["fast", "httpx"])
async def test_a_hung_upstream_costs_one_call_and_one_read_timeout(kind: str) -> None:
    changes = {"retries": 2, "read_timeout": 1, "total_timeout": 5, "upstream_client": kind}
    async with gateway(lambda _: [30.0], **changes) as (upstream, client), client() as legacy:
        started = time.monotonic()
        answer = await legacy.delete(fetch_path())
        elapsed = time.monotonic() - started
    rest_exception(answer, 504)
    assert len(upstream.requests) == 1
    assert elapsed < 1.8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("kind", ["fast", "httpx"])
@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_a_refused_connection_is_retried(kind: str, method: str) -> None:
    """Nothing listens at the first attempt; the upstream starts during the backoff."""
    port = free_port()
    upstream = HostileUpstream(fetched)
    async with contextlib.AsyncExitStack() as stack:

        async def start_then_sleep(seconds: float) -> None:
            await stack.enter_async_context(upstream.running(port))

        settings = Settings(
            upstream=f"http://127.0.0.1:{port}",
            trunking_upstream=f"http://127.0.0.1:{port}",
            retries=2,
            connect_timeout=1,
            read_timeout=2,
            total_timeout=3,
            upstream_client=kind,
        )
        client = Upstream(settings, sleep=start_then_sleep)
        try:
            target = FETCH_PATH.format(account=ACCOUNT, sid=CALLER)
            reply = await client.send("api", method, target, endpoint="test", authorization="Basic eA==")
        finally:
            await client.aclose()
    assert reply.status == (204 if method == "DELETE" else 200)
    assert [r.method for r in upstream.requests] == [method]
