"""Cross-cutting behaviour: request ids, access log, metrics, redaction, size limits, sidecar credentials."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.edge.app import create_app
from gateway.observability import JsonFormatter, configure_logging, write_access
from gateway.redaction import redact
from gateway.settings import Settings
from tests.conftest import ACCOUNT, PREFIX, TOKEN, UPSTREAM, CountingTransport, parse_xml, serving

SECRET = "0123456789abcdef0123456789abcdef"  # the sandbox token the client sends


def metric_samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


async def test_request_id_is_generated_echoed_and_forwarded(
    client: httpx.AsyncClient, upstream: CountingTransport
) -> None:
    response = await client.get(f"{PREFIX}/OutgoingCallerIds")
    generated = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert upstream.requests[-1].headers["x-request-id"] == generated


async def test_client_request_id_is_honoured(client: httpx.AsyncClient, upstream: CountingTransport) -> None:
    response = await client.get(f"{PREFIX}/OutgoingCallerIds", headers={"X-Request-Id": "legacy-app-42"})
    assert response.headers["x-request-id"] == "legacy-app-42"
    assert upstream.requests[-1].headers["x-request-id"] == "legacy-app-42"


async def test_unsafe_request_ids_are_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{PREFIX}/OutgoingCallerIds", headers={"X-Request-Id": 'a b"<script>'})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_errors_carry_a_request_id_too(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["x-request-id"]


async def test_metrics_after_real_requests(client: httpx.AsyncClient, store: Any) -> None:
    item = store.add_caller_id(ACCOUNT, "+14158675309", "Mine")
    await client.get(f"{PREFIX}/OutgoingCallerIds")
    await client.get(f"{PREFIX}/OutgoingCallerIds", params={"page": 1})  # from the first page's view
    await client.get(f"{PREFIX}/OutgoingCallerIds/{item.sid}")
    await client.get(f"{PREFIX}/OutgoingCallerIds/PN" + "0" * 32)
    text = (await client.get("/metrics")).text
    samples = metric_samples(text)
    names = {name for name, _, _ in samples}
    for expected in (
        "gateway_requests_total",
        "gateway_request_duration_seconds_bucket",
        "gateway_upstream_requests_total",
        "gateway_upstream_duration_seconds_bucket",
        "gateway_translation_errors_total",
        "gateway_list_cache_total",
    ):
        assert expected in names, expected
    routes = {labels.get("route") for name, labels, _ in samples if name == "gateway_requests_total"}
    assert "/2008-08-01/Accounts/{AccountSid}/OutgoingCallerIds/{Sid}" in routes
    upstream = {
        (labels["endpoint"], labels["status"])
        for name, labels, _ in samples
        if name == "gateway_upstream_requests_total"
    }
    assert ("outgoing_caller_ids.fetch", "404") in upstream
    assert ("outgoing_caller_ids.list", "200") in upstream
    cache = {labels["result"] for name, labels, v in samples if name == "gateway_list_cache_total" and v}
    assert {"hit", "miss"} <= cache
    label_values = " ".join(str(labels) for _, labels, _ in samples)
    assert "PN" + "0" * 32 not in label_values and item.sid not in label_values
    assert ACCOUNT not in label_values and "4158675309" not in label_values


@pytest.fixture
def captured() -> Any:
    records: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(JsonFormatter().format(record))

    handler = Capture()
    loggers = [logging.getLogger(name) for name in ("gateway", "uvicorn.error")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield records
    for logger in loggers:
        logger.removeHandler(handler)


async def test_one_json_access_line_per_request(client: httpx.AsyncClient, captured: list[str]) -> None:
    await client.get(f"{PREFIX}/OutgoingCallerIds", headers={"X-Request-Id": "rid-1"})
    lines = [json.loads(line) for line in captured if '"gateway.access"' in line]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "rid-1"
    assert line["method"] == "GET" and line["status"] == 200
    assert line["route"] == "/2008-08-01/Accounts/{AccountSid}/OutgoingCallerIds"
    assert line["upstream_calls"] == 1
    assert line["duration_ms"] >= line["upstream_ms"] > 0
    assert "time" in line


async def test_tokens_never_reach_logs_errors_or_metrics(
    client: httpx.AsyncClient, make_client: Any, captured: list[str]
) -> None:
    await client.get(f"{PREFIX}/OutgoingCallerIds")
    await client.get(f"{PREFIX}/OutgoingCallerIds/PN" + "0" * 32)
    bodies = [(await client.post(f"{PREFIX}/OutgoingCallerIds", data={"PhoneNumber": "1"})).text]
    async with make_client(auth=(ACCOUNT, "wrong-" + SECRET)) as bad:
        bodies.append((await bad.get(f"{PREFIX}/OutgoingCallerIds")).text)
    logging.getLogger("gateway.test").error(
        f"failed https://{ACCOUNT}:{SECRET}@api.twilio.com/x AuthToken={SECRET}"
    )
    bodies.append((await client.get("/metrics")).text)
    encoded = base64.b64encode(f"{ACCOUNT}:{SECRET}".encode()).decode()
    everything = "\n".join(captured + bodies)
    assert captured
    assert SECRET not in everything
    assert encoded not in everything


def test_redact() -> None:
    assert redact("https://AC1:tok@api.twilio.com/x") == "https://****@api.twilio.com/x"
    assert redact("Authorization: Basic QUM6dG9r") == "Authorization: ****"
    assert redact("AuthToken=abc&x=1") == "AuthToken=****&x=1"
    assert redact("{'authorization': 'Basic QUM6dG9r'}") == "{'authorization': '****'}"


@pytest.fixture
async def limited(upstream: CountingTransport) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        upstream=UPSTREAM,
        trunking_upstream=UPSTREAM,
        max_body_bytes=100,
        max_url_bytes=200,
        max_header_bytes=2000,
    )
    app = create_app(settings, upstream)
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        yield client


async def test_413_from_content_length(limited: httpx.AsyncClient, upstream: CountingTransport) -> None:
    response = await limited.post(f"{PREFIX}/OutgoingCallerIds", data={"FriendlyName": "x" * 200})
    assert response.status_code == 413
    assert parse_xml(response.content)[0].findtext("Status") == "413"
    assert upstream.count() == 0


async def test_413_while_streaming_without_reading_to_the_end(limited: httpx.AsyncClient) -> None:
    pulled: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for i in range(1000):
            pulled.append(i)
            yield b"FriendlyName=" + b"x" * 50

    response = await limited.post(f"{PREFIX}/OutgoingCallerIds", content=body())
    assert response.status_code == 413
    assert len(pulled) < 1000


async def test_414_and_431(limited: httpx.AsyncClient) -> None:
    long = await limited.get(f"{PREFIX}/OutgoingCallerIds", params={"FriendlyName": "x" * 300})
    assert long.status_code == 414
    assert parse_xml(long.content)[0].findtext("Status") == "414"
    big = await limited.get(f"{PREFIX}/OutgoingCallerIds", headers={"X-Filler": "y" * 3000})
    assert big.status_code == 431
    assert parse_xml(big.content)[0].findtext("Status") == "431"


# Sidecar credential injection ----------------------------------------------------------------------
@pytest.fixture
async def sidecar(upstream: CountingTransport) -> AsyncIterator[Any]:
    settings = Settings.load(
        {
            "GATEWAY_UPSTREAM": UPSTREAM,
            "GATEWAY_TRUNKING_UPSTREAM": UPSTREAM,
            "GATEWAY_UPSTREAM_ACCOUNT_SID": ACCOUNT,
            "GATEWAY_UPSTREAM_AUTH_TOKEN": TOKEN,
            "GATEWAY_CLIENT_CREDENTIALS": f"{ACCOUNT}:legacy-app-token,AC{'9' * 32}:other",
        }
    )
    app = create_app(settings, upstream)
    async with app.gateway_app.lifespan():
        yield app


@pytest.mark.parametrize(
    ("auth", "status"),
    [
        ((ACCOUNT, "legacy-app-token"), 200),
        ((ACCOUNT, TOKEN), 401),  # the real token is not on the allow-list
        ((ACCOUNT, "legacy-app-tokeN"), 401),
        (("AC" + "9" * 32, "legacy-app-token"), 401),
        (None, 401),
    ],
)
async def test_sidecar_checks_clients_and_injects_upstream_credentials(
    sidecar: Any, upstream: CountingTransport, auth: Any, status: int
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sidecar), base_url="http://g", auth=auth
    ) as client:
        response = await client.get(f"{PREFIX}/OutgoingCallerIds")
    assert response.status_code == status
    if status == 200:
        injected = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        assert upstream.requests[-1].headers["authorization"] == injected
    else:
        assert upstream.count() == 0
        assert parse_xml(response.content)[0].findtext("Code") == "20003"


async def test_operational_endpoints_have_their_own_route_label(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    await client.get("/readyz")
    await client.get("/metrics")
    text = (await client.get("/metrics")).text
    routes = {
        labels.get("route") for name, labels, _ in metric_samples(text) if name == "gateway_requests_total"
    }
    assert {"/healthz", "/readyz", "/metrics"} <= routes


@pytest.mark.parametrize(
    ("declared", "status"),
    [(b"\xb2", 200), (b"\xd9\xa1", 200), (b"9" * 5000, 413), (b"0" * 30 + b"7", 200), (b"2000000", 413)],
    ids=["superscript two", "arabic-indic one", "5000 digits", "leading zeros", "over the limit"],
)
async def test_a_content_length_that_is_no_ascii_number_is_not_a_500(
    gateway_app: Any, declared: bytes, status: int
) -> None:
    app = gateway_app
    sent: list[dict[str, Any]] = []
    auth = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode())
    scope = {
        "type": "http",
        "method": "GET",
        "path": f"{PREFIX}/OutgoingCallerIds",
        "raw_path": f"{PREFIX}/OutgoingCallerIds".encode(),
        "query_string": b"",
        "headers": [(b"content-length", declared), (b"authorization", b"Basic " + auth)],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == status


async def test_a_client_that_left_mid_body_is_logged_499_and_nothing_is_sent(
    gateway_app: Any, upstream: CountingTransport, captured: list[str]
) -> None:
    sent: list[dict[str, Any]] = []
    messages = [
        {"type": "http.request", "body": b"PhoneNumber=4158675309&Friendly", "more_body": True},
        {"type": "http.disconnect"},
    ]
    scope = {
        "type": "http",
        "method": "POST",
        "path": f"{PREFIX}/OutgoingCallerIds",
        "raw_path": f"{PREFIX}/OutgoingCallerIds".encode(),
        "query_string": b"",
        "headers": [
            (b"authorization", b"Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode())),
            (b"content-type", b"application/x-www-form-urlencoded"),
        ],
    }

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await gateway_app(scope, receive, send)
    assert sent == [] and upstream.count() == 0
    (line,) = [json.loads(line) for line in captured if '"gateway.access"' in line]
    assert line["status"] == 499


@pytest.fixture
def configured() -> Any:
    """The process's own logging set-up (``configure_logging``), restored afterwards."""
    loggers = [logging.getLogger(name) for name in ("gateway", "uvicorn.error")]
    saved = [(logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    yield configure_logging
    for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


ACCESS_FIELDS: dict[str, object] = {
    "request_id": "rid-9",
    "method": "GET",
    "route": "/2008-08-01/Accounts/{AccountSid}/Calls",
    "status": 200,
    "duration_ms": 1.25,
    "upstream_calls": 1,
    "upstream_ms": 0.5,
}


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_access_lines_written_without_a_record_read_as_a_record_would(
    configured: Any, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    configured("info", fmt)
    assert write_access(dict(ACCESS_FIELDS))
    (line,) = capsys.readouterr().err.splitlines()
    record = logging.makeLogRecord({"name": "gateway.access", "levelno": logging.INFO, "levelname": "INFO"})
    record.access = dict(ACCESS_FIELDS)
    expected = logging.getLogger("gateway").handlers[0].format(record)
    if fmt == "text":
        assert line == expected
        return
    written, formatted = json.loads(line), json.loads(expected)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(written.pop("time")))
    formatted.pop("time")
    assert list(written) == list(formatted) and written == formatted
    assert written["logger"] == "gateway.access" and written["request_id"] == "rid-9"


def test_access_lines_go_through_records_when_logging_is_set_up_otherwise(
    configured: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    configured("info", "json")
    gateway_logger = logging.getLogger("gateway")
    gateway_logger.addHandler(logging.NullHandler())  # another handler: it must see the record
    assert not write_access(dict(ACCESS_FIELDS))
    gateway_logger.handlers[1:] = []
    gateway_logger.handlers[0].addFilter(lambda record: True)
    assert not write_access(dict(ACCESS_FIELDS))
    assert capsys.readouterr().err == ""
