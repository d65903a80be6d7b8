"""The callbacks' wiring: start-up with and without a public URL, the endpoint's door (methods, GET
callbacks, hooks of accounts no longer held), the app's timeout, what is never wrapped twice, and the
host lookups the app's requests remember."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.hooks.relay import CachedResolver
from gateway.hooks.urls import Hook, HookKeys
from gateway.settings import Settings
from tests.conftest import ACCOUNT, OTHER, PREFIX, TOKEN, CountingTransport, serving
from tests.hooks.conftest import KEY, PUBLIC, hooked, sent_form, twilio, voice_params
from tests.hooks.legacy_app import LegacyApp, Script, signature_2008

App = tuple[LegacyApp, str]


async def test_without_a_public_url_nothing_is_wrapped_and_start_up_says_so(
    settings: Settings, upstream: CountingTransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "gateway.hooks")
    async with serving(create_app(settings, upstream)) as client:
        made = await client.post(
            f"{PREFIX}/Calls",
            data={"Caller": "6465550000", "Called": "4155551212", "Url": "http://a.legacy.test/v"},
        )
        assert made.status_code == 201
        assert sent_form(upstream, "/Calls.json")["Url"] == "http://a.legacy.test/v"
        assert (await client.post("/hooks/voice/anything", auth=None)).status_code == 404
    assert [r.getMessage() for r in caplog.records if "callbacks: off" in r.getMessage()] != []


def hook_url(app_url: str, account: str = ACCOUNT, kind: str = "voice", method: str = "POST") -> str:
    return HookKeys([KEY]).mint(PUBLIC, Hook(kind, account, app_url, method))


async def test_twilio_may_request_a_hook_with_get_and_other_methods_are_refused(
    gw: httpx.AsyncClient, legacy_app: App
) -> None:
    app, base = legacy_app
    url = hook_url(f"{base}/voice")
    query = urlencode(voice_params())
    signed = signature_2008(f"{url}?{query}", None, TOKEN)
    answer = await gw.get(f"{urlsplit(url).path}?{query}", headers={"X-Twilio-Signature": signed}, auth=None)
    assert answer.status_code == 200, answer.text
    assert app.seen[-1].signed and app.seen[-1].params["Caller"] == "6465550000"
    refused = await gw.put(urlsplit(url).path, headers={"X-Twilio-Signature": signed}, auth=None)
    assert refused.status_code == 405 and len(app.seen) == 1


async def test_a_hook_of_an_account_whose_token_is_not_held_opens_to_nothing(
    gw: httpx.AsyncClient, legacy_app: App
) -> None:
    app, base = legacy_app
    assert (await twilio(gw, hook_url(f"{base}/voice", account=OTHER), voice_params())).status_code == 404
    assert app.seen == []


async def test_an_app_slower_than_the_timeout_gets_twilio_a_502(
    settings: Settings, upstream: CountingTransport, legacy_app: App
) -> None:
    app, base = legacy_app

    def slow(_: Any) -> Script:
        time.sleep(0.6)  # the app's server thread, not the gateway's loop
        return Script("<Response/>")

    app.answer("/slow", slow)
    async with serving(create_app(hooked(settings).replace(callback_timeout=0.2), upstream)) as gw:
        started = asyncio.get_running_loop().time()
        answer = await twilio(gw, hook_url(f"{base}/slow"), voice_params())
        assert answer.status_code == 502
        assert asyncio.get_running_loop().time() - started < 0.55


async def test_a_transcription_is_relayed_and_its_answer_ignored(
    gw: httpx.AsyncClient, legacy_app: App
) -> None:
    app, base = legacy_app
    app.answer("/transcribed", Script("not even xml", status=500))
    params = voice_params(TranscriptionText="hello world", TranscriptionStatus="completed")
    answer = await twilio(gw, hook_url(f"{base}/transcribed", kind="transcribe"), params)
    assert answer.status_code == 204
    assert app.seen[-1].params["TranscriptionText"] == "hello world" and app.seen[-1].signed


async def test_hook_urls_cleared_urls_and_urls_the_upstream_refuses_are_never_wrapped(
    gw: httpx.AsyncClient, upstream: CountingTransport
) -> None:
    listing = (await gw.get(f"{PREFIX}/IncomingPhoneNumbers")).text
    sid = listing.split("<Sid>", 1)[1].split("<", 1)[0]
    existing = hook_url("https://app.example/v")
    await gw.post(
        f"{PREFIX}/IncomingPhoneNumbers/{sid}",
        data={"Url": existing, "SmsUrl": "", "VoiceFallbackUrl": "ftp://x"},
    )
    form = sent_form(upstream, f"/IncomingPhoneNumbers/{sid}.json")
    assert form["VoiceUrl"] == existing  # already a hook: not wrapped again
    assert form["SmsUrl"] == "" and form["VoiceFallbackUrl"] == "ftp://x"


async def test_lookups_are_remembered_for_a_while_and_addresses_need_none() -> None:
    asked: list[str] = []
    now = [0.0]

    async def resolve(host: str, port: int) -> Sequence[str]:
        asked.append(host)
        return ["93.184.215.14"]

    cached = CachedResolver(resolve, ttl=30, size=2, clock=lambda: now[0])
    assert await cached("10.0.0.1", 80) == ["10.0.0.1"] and await cached("::1", 80) == ["::1"]
    assert asked == []
    for _ in range(3):
        assert await cached("App.Example", 443) == ["93.184.215.14"]
    assert asked == ["App.Example"]
    now[0] = 31
    await cached("app.example", 443)
    await cached("b.example", 443)
    await cached("c.example", 443)  # the oldest is forgotten: at most two names kept
    await cached("app.example", 443)
    assert asked == ["App.Example", "app.example", "b.example", "c.example", "app.example"]


@pytest.mark.parametrize(
    "url", ["http://app.example/voice?Dial=4155550100", "https://x.example.com/v", "http://a.invalid/"]
)
async def test_placeholder_urls_on_names_reserved_for_examples_are_left_as_they_are(
    gw: httpx.AsyncClient, upstream: CountingTransport, url: str
) -> None:
    made = await gw.post(f"{PREFIX}/Calls", data={"Caller": "6465550000", "Called": "4155551212", "Url": url})
    assert made.status_code == 201
    form = sent_form(upstream, "/Calls.json")
    assert form["Url"] == url and "StatusCallback" not in form


def test_several_workers_share_the_hook_keys_the_sandbox_made() -> None:
    """``serve --sandbox --workers 2``: the key made at start reaches every worker, so a hook minted by
    one worker opens in the other (reads show the app's URL whichever worker answers)."""
    from tests.e2e.test_e2e import start_cli

    process, port = start_cli("--sandbox", "--workers", "2")
    try:
        base = f"http://127.0.0.1:{port}{PREFIX}/IncomingPhoneNumbers"
        with httpx.Client(auth=(ACCOUNT, TOKEN), timeout=10) as client:
            sid = client.get(base).text.split("<Sid>", 1)[1].split("<", 1)[0]
            for index in range(6):
                url = f"https://app.legacy.test/v{index}"
                client.post(f"{base}/{sid}", data={"Url": url})
                shown = {
                    client.get(f"{base}/{sid}").text.split("<Url>", 1)[1].split("<", 1)[0] for _ in range(4)
                }
                assert shown == {url}
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)


def test_the_tokens_held_are_the_callback_accounts_and_an_injected_account_not_a_key() -> None:
    from gateway.hooks.wrap import Tokens
    from gateway.settings import ClientCredential, Secret

    listed = (ClientCredential(OTHER, Secret("other-token"), (OTHER,)),)
    sidecar = Settings(
        upstream_account_sid=ACCOUNT, upstream_auth_token=Secret(TOKEN), callback_accounts=listed
    )
    tokens = Tokens(sidecar)
    assert (tokens.get(ACCOUNT), tokens.get(OTHER), len(tokens)) == (TOKEN, "other-token", 2)
    keyed = Tokens(Settings(upstream_account_sid="SK" + "1" * 32, upstream_auth_token=Secret("key-secret")))
    assert len(keyed) == 0 and keyed.get("SK" + "1" * 32) is None
