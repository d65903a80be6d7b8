"""A recording's audio without credentials (gateway/resources/recordings.py ``public``, gateway/auth.py,
gateway/service.py ``media``): the complete 2008 Recordings page calls a recording's URL public, so apps
embed it in web pages and ``<Play>`` it. The gateway asks the upstream without credentials (2010's media
URLs are public unless the account enforces HTTP auth on them); for an account that does, with the
gateway's own in sidecar mode, else a 401 that says why. Nothing else answers without credentials."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway import observability as obs
from gateway.edge.app import create_app
from gateway.observability import JsonFormatter
from gateway.sandbox import SandboxConfig, audio, config_from_env, create_sandbox
from gateway.settings import ClientCredential, Secret, Settings
from tests.conftest import (
    ACCOUNT,
    OTHER,
    OTHER_TOKEN,
    OURS,
    PREFIX,
    TOKEN,
    UPSTREAM,
    Clock,
    CountingTransport,
    parse_xml,
    serving,
)

CLIENT = ("AC" + "c" * 32, "c" * 32)
INJECTED = "Basic " + base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
DIRECT = Settings(upstream=UPSTREAM, trunking_upstream=UPSTREAM, retry_backoff=0.0)


def sidecar(*accounts: str, hosts: tuple[str, ...] = ()) -> Settings:
    return DIRECT.replace(
        upstream_account_sid=ACCOUNT,
        upstream_auth_token=Secret(TOKEN),
        client_credentials=(ClientCredential(CLIENT[0], Secret(CLIENT[1]), accounts),),
        media_hosts=hosts,
    )


def upstream_of(clock: Clock, **config: Any) -> tuple[Any, CountingTransport]:
    """A sandbox on the test clock (both accounts) and a transport to it that counts."""
    sandbox_app = create_sandbox(
        SandboxConfig(accounts={ACCOUNT: TOKEN, OTHER: OTHER_TOKEN}, clock=clock, **config)
    )
    return sandbox_app.state.sandbox, CountingTransport(httpx.ASGITransport(app=sandbox_app))


def record(sandbox: Any, seconds: int, account: str = ACCOUNT) -> Any:
    voice = sandbox.voice
    call = voice.new_call(account, "+14158675309", OURS, "outbound-api", at=voice.clock() - 130)
    return sandbox.recordings.add(call, seconds, voice.clock() - 100)


def statuses(transport: CountingTransport) -> list[tuple[str, str | None]]:
    return [(r.url.host, r.headers.get("authorization")) for r in transport.requests]


@pytest.mark.parametrize(("suffix", "kind"), [("", "wav"), (".wav", "wav"), (".mp3", "mp3")])
async def test_the_audio_needs_no_credentials(clock: Clock, suffix: str, kind: Any) -> None:
    sandbox, transport = upstream_of(clock)
    made = record(sandbox, 3)
    async with serving(create_app(DIRECT, transport), auth=None) as anonymous:
        response = await anonymous.get(f"{PREFIX}/Recordings/{made.sid}{suffix}")
        head = await anonymous.head(f"{PREFIX}/Recordings/{made.sid}{suffix}")
        singular = await anonymous.get(f"/2008-08-01/Account/{ACCOUNT}/Recordings/{made.sid}{suffix}")
    assert (response.status_code, response.content) == (200, audio.body(kind, 3))
    assert response.headers["content-type"] == audio.CONTENT_TYPES[kind]
    assert (head.status_code, head.content) == (200, b"")
    assert singular.content == response.content  # recordings.md writes its RecordingUrls so
    assert all(r.headers.get("authorization") is None for r in transport.requests)
    assert {r.url.path for r in transport.requests} == {
        f"/2010-04-01/Accounts/{ACCOUNT}/Recordings/{made.sid}.{kind}"
    }


async def test_ranges_and_unknown_sids_as_with_credentials(clock: Clock) -> None:
    sandbox, transport = upstream_of(clock)
    made = record(sandbox, 3)
    theirs = record(sandbox, 3, account=OTHER)
    async with serving(create_app(DIRECT, transport), auth=None) as anonymous:
        part = await anonymous.get(f"{PREFIX}/Recordings/{made.sid}.wav", headers={"Range": "bytes=4-9"})
        assert (part.status_code, part.content) == (206, audio.body("wav", 3)[4:10])
        for sid in (f"RE{'0' * 32}", theirs.sid):  # the account in the path must have it
            missing = await anonymous.get(f"{PREFIX}/Recordings/{sid}.mp3")
            assert missing.status_code == 404 and parse_xml(missing.content)[0].findtext("Status") == "404"
        transport.reset()
        assert (await anonymous.get(f"{PREFIX}/Recordings/RE123.wav")).status_code == 404
        assert (await anonymous.get(f"/2008-08-01/Accounts/AC123/Recordings/{made.sid}")).status_code == 404
        assert transport.count() == 0


async def test_nothing_but_the_audio_answers_without_credentials(clock: Clock) -> None:
    """The page protects the list in so many words; the metadata (``.xml`` and the other document
    formats), DELETE and every other resource need credentials as before. The page's note speaks of
    the URLs handed out as RecordingUrl, which are the audio: that is the choice pinned here."""
    sandbox, transport = upstream_of(clock)
    made = record(sandbox, 3)
    refused = [
        ("GET", f"{PREFIX}/Recordings"),
        ("GET", f"{PREFIX}/Recordings.mp3"),
        ("GET", f"{PREFIX}/Recordings/{made.sid}.xml"),
        ("GET", f"{PREFIX}/Recordings/{made.sid}.json"),
        ("GET", f"{PREFIX}/Recordings/{made.sid}.csv"),
        ("DELETE", f"{PREFIX}/Recordings/{made.sid}"),
        ("POST", f"{PREFIX}/Recordings/{made.sid}?_method=DELETE"),
        ("GET", f"{PREFIX}/Recordings/{made.sid}/Transcriptions"),
        ("GET", f"{PREFIX}/Calls/{made.call.sid}/Recordings/{made.sid}"),
        ("GET", f"{PREFIX}/Calls/{made.call.sid}"),
        ("GET", f"{PREFIX}/Notifications"),
        ("GET", f"/2008-08-01/Accounts/{ACCOUNT}"),
    ]
    async with serving(create_app(DIRECT, transport), auth=None) as anonymous:
        for method, path in refused:
            response = await anonymous.request(method, path)
            assert response.status_code in (401, 404), (method, path)
            if response.status_code == 401:
                assert response.headers["www-authenticate"] == 'Basic realm="Twilio API"'
    assert transport.count() == 0
    assert len(made.call.recordings) == 1
    async with serving(create_app(sidecar(ACCOUNT), transport), auth=(CLIENT[0], "wrong")) as wrong:
        response = await wrong.get(f"{PREFIX}/Recordings/{made.sid}")
    assert response.status_code == 401  # credentials given are credentials checked, never skipped
    assert transport.count() == 0


async def test_an_account_that_enforces_media_auth_gets_a_401_that_says_why(clock: Clock) -> None:
    sandbox, transport = upstream_of(clock, media_auth=frozenset({ACCOUNT}))
    made = record(sandbox, 2)
    app = create_app(DIRECT, transport)
    async with serving(app, auth=None) as anonymous:
        refused = await anonymous.get(f"{PREFIX}/Recordings/{made.sid}.mp3")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Basic realm="Twilio API"'
    message = parse_xml(refused.content)[0].findtext("Message", "")
    assert "requires credentials for its media" in message
    assert statuses(transport) == [("sandbox.test", None)]  # the gateway holds no credentials to try
    async with serving(app) as client:
        allowed = await client.get(f"{PREFIX}/Recordings/{made.sid}.mp3")
    assert (allowed.status_code, allowed.content) == (200, audio.body("mp3", 2))


async def test_in_sidecar_mode_an_enforcing_account_is_read_with_the_injected_credentials(
    clock: Clock,
) -> None:
    sandbox, transport = upstream_of(clock, media_auth=frozenset({ACCOUNT}))
    made = record(sandbox, 2)
    async with serving(create_app(sidecar(ACCOUNT), transport), auth=None) as anonymous:
        response = await anonymous.get(f"{PREFIX}/Recordings/{made.sid}")
    assert (response.status_code, response.content) == (200, audio.body("wav", 2))
    assert statuses(transport) == [("sandbox.test", None), ("sandbox.test", INJECTED)]


async def test_in_sidecar_mode_a_public_account_is_read_without_any(clock: Clock) -> None:
    sandbox, transport = upstream_of(clock)
    made = record(sandbox, 2)
    async with serving(create_app(sidecar(ACCOUNT), transport), auth=None) as anonymous:
        assert (await anonymous.get(f"{PREFIX}/Recordings/{made.sid}")).status_code == 200
    assert statuses(transport) == [("sandbox.test", None)]


async def test_in_sidecar_mode_only_the_accounts_it_serves(clock: Clock) -> None:
    """An account no client credential is bound to is none of this gateway's business: 404, and
    neither the upstream nor the injected credentials are asked anything."""
    sandbox, transport = upstream_of(clock, media_auth=frozenset({OTHER}))
    theirs = record(sandbox, 2, account=OTHER)
    async with serving(create_app(sidecar(ACCOUNT), transport), auth=None) as anonymous:
        response = await anonymous.get(f"/2008-08-01/Accounts/{OTHER}/Recordings/{theirs.sid}")
    assert response.status_code == 404 and transport.count() == 0


@pytest.mark.parametrize("enforced", [False, True])
async def test_the_injected_credentials_never_leave_the_upstream(clock: Clock, enforced: bool) -> None:
    """Redirected to a storage host on GATEWAY_MEDIA_HOSTS, the audio is read there without them; to
    any other host, not at all."""
    accounts = frozenset({ACCOUNT}) if enforced else frozenset()
    sandbox, transport = upstream_of(clock, media_auth=accounts, media_redirect="http://media.storage.test")
    made = record(sandbox, 2)
    async with serving(
        create_app(sidecar(ACCOUNT, hosts=("media.storage.test",)), transport), auth=None
    ) as a:
        response = await a.get(f"{PREFIX}/Recordings/{made.sid}.mp3")
    assert (response.status_code, response.content) == (200, audio.body("mp3", 2))
    upstream_asks = (
        [("sandbox.test", None), ("sandbox.test", INJECTED)] if enforced else [("sandbox.test", None)]
    )
    assert statuses(transport) == [*upstream_asks, ("media.storage.test", None)]
    transport.reset()
    async with serving(create_app(sidecar(ACCOUNT), transport), auth=None) as anonymous:
        assert (await anonymous.get(f"{PREFIX}/Recordings/{made.sid}.mp3")).status_code == 502
    assert [host for host, _ in statuses(transport)] == ["sandbox.test"] * len(upstream_asks)


@pytest.fixture
def access_lines() -> Iterator[list[dict[str, Any]]]:
    lines: list[dict[str, Any]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(JsonFormatter().format(record)))

    handler, logger = Capture(), logging.getLogger("gateway")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)


async def test_logged_and_counted_like_any_request(clock: Clock, access_lines: list[dict[str, Any]]) -> None:
    sandbox, transport = upstream_of(clock)
    made = record(sandbox, 1)
    route = "/2008-08-01/Accounts/{AccountSid}/Recordings/{Sid}"
    counted = obs.REQUESTS.labels(route, "GET", "200")
    before = counted._value.get()
    async with serving(create_app(DIRECT, transport), auth=None) as anonymous:
        await anonymous.get(f"{PREFIX}/Recordings/{made.sid}", headers={"X-Request-Id": "rid-audio"})
    (line,) = [line for line in access_lines if line.get("logger") == "gateway.access"]
    assert (line["request_id"], line["route"], line["status"], line["upstream_calls"]) == (
        "rid-audio",
        route,
        200,
        1,
    )
    assert counted._value.get() == before + 1


def test_the_sandbox_setting() -> None:
    assert config_from_env({"SANDBOX_MEDIA_AUTH": f"{ACCOUNT}, {OTHER}"}).media_auth == {ACCOUNT, OTHER}
    assert config_from_env({}).media_auth == frozenset()
    with pytest.raises(ValueError, match="SANDBOX_MEDIA_AUTH"):
        config_from_env({"SANDBOX_MEDIA_AUTH": "ACshort"})
