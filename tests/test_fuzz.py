"""Hostile clients: generated paths, queries, bodies and headers, straight through the ASGI interface (the
raw path exactly as generated), on the sandbox and on the sidecar passthrough.

Whatever arrives: never a 500 (the gateway's own failure), an error is a ``<RestException>`` in the format
asked for (well-formed), HEAD and 204 have no body, and every answer comes within a bounded time.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote, urlencode

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gateway.edge.app import create_app
from gateway.sandbox import SandboxConfig, create_sandbox
from gateway.settings import Settings
from tests.conftest import ACCOUNT, OTHER, OTHER_TOKEN, TOKEN, TRUNK

CALLER = "PN" + "c" * 32
ANSWER_SECONDS = 5.0
EXAMPLES = 250

# Building blocks, biased towards what the gateway parses ---------------------------------------
TEXT = st.text(max_size=12)
DIGITS = st.sampled_from(["0", "1", "50", "1000", "1001", "²", "١٢", "１", "-1", "1e3", " 7 ", "9" * 4400])
SID = st.one_of(
    st.sampled_from([ACCOUNT, OTHER, CALLER, TRUNK, "PN" + "0" * 32, "AC", "PN123", ACCOUNT.lower()]),
    TEXT,
)
SEGMENT = st.one_of(
    st.sampled_from(
        ["OutgoingCallerIds", "Trunks", "PhoneNumbers", "Calls", "Accounts", "", ".", "..", "%2e%2e", "%2F"]
    ),
    SID,
    TEXT.map(lambda text: quote(text, safe="")),
)
SUFFIX = st.sampled_from(["", "", "", "", ".xml", ".json", ".csv", ".html", ".yaml", ".JSON", "."])
NAME = st.one_of(
    st.sampled_from(
        ["num", "page", "Page", "PhoneNumber", "FriendlyName", "_method", "CallDelay", "Extension"]
    ),
    TEXT,
)
VALUE = st.one_of(DIGITS, TEXT, st.sampled_from(["PUT", "DELETE", "GET", "(415) 867-5309", "+14158675309"]))
PAIRS = st.lists(st.tuples(NAME, VALUE), max_size=5)
RAW_BYTES = st.binary(max_size=64)


@st.composite
def raw_paths(draw: st.DrawFn) -> str:
    declared = st.sampled_from(
        [
            f"/2008-08-01/Accounts/{ACCOUNT}/OutgoingCallerIds",
            f"/2008-08-01/Accounts/{ACCOUNT}/OutgoingCallerIds/{CALLER}",
            f"/2008-08-01/Accounts/{ACCOUNT}/Trunks/{TRUNK}/PhoneNumbers",
        ]
    )
    elsewhere = st.sampled_from(
        [
            f"/2008-08-01/Accounts/{OTHER}/OutgoingCallerIds",
            f"//2008-08-01/Accounts/{ACCOUNT}",
            "/2008-08-01/Accounts",
            "/2008-08-01",
            "/",
            "/healthz",
        ]
    )
    head = draw(declared if draw(st.integers(0, 9)) < 7 else elsewhere)
    tail = draw(st.lists(SEGMENT, min_size=1, max_size=2)) if draw(st.integers(0, 3)) == 0 else []
    path = "/".join([head, *tail]) + draw(SUFFIX) + ("/" if draw(st.integers(0, 3)) == 0 else "")
    return path


@st.composite
def queries(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(RAW_BYTES)
    return urlencode(draw(PAIRS)).encode()


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, bytes | None]:
    kind = draw(st.sampled_from(["none", "none", "form", "form", "bytes", "json"]))
    if kind == "none":
        return b"", draw(st.sampled_from([None, b"application/x-www-form-urlencoded"]))
    if kind == "form":
        types = [
            b"application/x-www-form-urlencoded",
            b"application/x-www-form-urlencoded; charset=utf-8",
            None,
        ]
        return urlencode(draw(PAIRS)).encode(), draw(st.sampled_from(types))
    if kind == "json":
        return orjson.dumps(dict(draw(PAIRS))), b"application/json"
    return draw(RAW_BYTES), draw(
        st.one_of(st.none(), st.just(b"application/x-www-form-urlencoded"), RAW_BYTES)
    )


def basic(user: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())


AUTH = st.one_of(
    st.just(basic(ACCOUNT, TOKEN)),
    st.sampled_from(
        [
            basic(OTHER, OTHER_TOKEN),
            basic(ACCOUNT, "wrong"),
            basic("", ""),
            b"Basic !!!",
            b"Basic " + base64.b64encode(b"\xff\xfe:\x00"),
            b"Bearer x",
        ]
    ),
    RAW_BYTES,
    st.none(),
)
EXTRA_HEADERS = st.lists(
    st.tuples(
        st.sampled_from([b"content-length", b"x-request-id", b"accept", b"content-encoding", b"x-anything"]),
        st.one_of(RAW_BYTES, st.sampled_from([b"\xb2", b"12", b"-1", b"99999999999999999999", b"gzip"])),
    ),
    max_size=3,
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    body, content_type = draw(bodies())
    headers = draw(EXTRA_HEADERS)
    auth = draw(AUTH)
    if auth is not None:
        headers.append((b"authorization", auth))
    if content_type is not None:
        headers.append((b"content-type", content_type))
    return {
        "method": draw(
            st.sampled_from(["GET"] * 3 + ["POST"] * 2 + ["PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"])
        ),
        "raw_path": draw(raw_paths()).encode("utf-8"),
        "query_string": draw(queries()),
        "headers": headers,
        "body": body,
        "chunks": draw(st.integers(1, 3)),
    }


# Driving the app -------------------------------------------------------------------------------
class Harness:
    """One app and its lifespan on one event loop, for every example of a test; ``caller`` is the sid of
    a caller id that exists (it replaces the placeholder one in the generated paths)."""

    def __init__(self, app: Any, caller: str = CALLER) -> None:
        self.app = app
        self.caller = caller.encode()
        self.loop = asyncio.new_event_loop()
        self.stack = contextlib.AsyncExitStack()
        self.loop.run_until_complete(self.stack.enter_async_context(app.gateway_app.lifespan()))

    def close(self) -> None:
        self.loop.run_until_complete(self.stack.aclose())
        self.loop.close()

    def run(self, request: dict[str, Any]) -> tuple[int, dict[bytes, bytes], bytes]:
        return self.loop.run_until_complete(asyncio.wait_for(self.call(request), ANSWER_SECONDS))

    async def call(self, request: dict[str, Any]) -> tuple[int, dict[bytes, bytes], bytes]:
        raw_path: bytes = request["raw_path"].replace(CALLER.encode(), self.caller)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request["method"],
            "scheme": "http",
            "path": unquote(raw_path.decode("ascii", "replace")),
            "raw_path": raw_path,
            "query_string": request["query_string"],
            "headers": request["headers"],
            "client": ("127.0.0.1", 1234),
            "server": ("127.0.0.1", 8080),
        }
        body: bytes = request["body"]
        size = -(-len(body) // request["chunks"]) or 1
        parts = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
        messages = [
            {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
            for i, part in enumerate(parts)
        ]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await asyncio.sleep(3600)  # a server sends nothing more until the client leaves
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        assert sent, "no answer at all"
        start, *rest = sent
        assert start["type"] == "http.response.start"
        assert all(message["type"] == "http.response.body" for message in rest)
        assert not rest[-1].get("more_body", False)
        return start["status"], dict(start["headers"]), b"".join(message.get("body", b"") for message in rest)


def check(request: dict[str, Any], status: int, headers: dict[bytes, bytes], body: bytes) -> None:
    event(f"status {status}")  # --hypothesis-show-statistics: how deep the examples get
    assert 200 <= status < 600
    assert status != 500, body
    if request["method"] == "HEAD" or status == 204:
        assert body == b""
        return
    assert headers[b"content-length"] == str(len(body)).encode()
    media = headers.get(b"content-type", b"").decode().split(";")[0]
    if media in ("application/xml", "text/xml"):
        root = ET.fromstring(body)
        assert root.tag == "TwilioResponse"
        if status >= 400:
            (exception,) = list(root)
            assert exception.tag == "RestException"
            assert exception.findtext("Status") == str(status)
            assert exception.findtext("Message")
    elif media == "application/json":
        document = orjson.loads(body)
        if status >= 400 and "TwilioResponse" in document:
            assert document["TwilioResponse"]["RestException"]["Status"] == str(status)
        else:
            assert status < 400 or request["raw_path"] in (b"/healthz", b"/readyz")
    elif media == "text/csv":
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
        if status >= 400:
            assert rows[0][:2] == ["Status", "Message"] or "Status" in rows[0]
    elif media == "text/html":
        text = body.decode("utf-8")
        assert text.startswith("<html>") and text.endswith("</html>")
        if status >= 400:
            assert 'class="rest-exception"' in text or "RestException" in text
    else:
        raise AssertionError(f"unexpected content type {media!r} for {status}")


@pytest.fixture(scope="module")
def sandbox_harness() -> Iterator[Harness]:
    sandbox = create_sandbox(SandboxConfig(accounts={ACCOUNT: TOKEN, OTHER: OTHER_TOKEN}, incoming_numbers=3))
    store = sandbox.state.sandbox.store
    store.seed_caller_ids(ACCOUNT, 3)
    caller = store.add_caller_id(ACCOUNT, "+14158675309", "Front desk").sid
    settings_ = Settings(upstream="http://sandbox.test", trunking_upstream="http://sandbox.test", retries=0)
    app = create_app(settings_.replace(access_log=False), httpx.ASGITransport(app=sandbox))
    harness = Harness(app, caller)
    yield harness
    harness.close()


@pytest.fixture(scope="module")
def sidecar_harness() -> Iterator[Harness]:
    def legacy_provider(request: httpx.Request) -> httpx.Response:
        if request.url.host == "legacy.test":
            return httpx.Response(
                200, content=b"<TwilioResponse><Call/></TwilioResponse>", headers={"Content-Type": "text/xml"}
            )
        return httpx.Response(404, json={"code": 20404, "message": "not here", "status": 404})

    env = {
        "GATEWAY_UPSTREAM": "http://api.test",
        "GATEWAY_TRUNKING_UPSTREAM": "http://api.test",
        "GATEWAY_LEGACY_UPSTREAM": "http://legacy.test",
        "GATEWAY_UPSTREAM_ACCOUNT_SID": ACCOUNT,
        "GATEWAY_UPSTREAM_AUTH_TOKEN": "master",
        "GATEWAY_CLIENT_CREDENTIALS": f"{ACCOUNT}:{TOKEN},{OTHER}:{OTHER_TOKEN}",
        "GATEWAY_ACCESS_LOG": "false",
        "GATEWAY_RETRIES": "0",
    }
    harness = Harness(create_app(Settings.load(env), httpx.MockTransport(legacy_provider)))
    yield harness
    harness.close()


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=ANSWER_SECONDS * 1000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(request=requests())
def test_hostile_requests_on_the_sandbox(sandbox_harness: Harness, request: dict[str, Any]) -> None:
    check(request, *sandbox_harness.run(request))


@FUZZ
@given(request=requests())
def test_hostile_requests_on_the_sidecar_passthrough(
    sidecar_harness: Harness, request: dict[str, Any]
) -> None:
    status, headers, body = sidecar_harness.run(request)
    check(request, status, headers, body)
    if status == 200 and headers.get(b"content-type") == b"text/xml":
        # forwarded: only ever for the two bound accounts, and never with a dot segment
        path = unquote(request["raw_path"].decode())
        assert f"/Accounts/{ACCOUNT}" in path or f"/Accounts/{OTHER}" in path
        assert "/../" not in path + "/" and "/./" not in path + "/"
