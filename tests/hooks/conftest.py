"""Callbacks in process: the gateway (with callbacks on) over the sandbox as an injected transport, a
legacy app as a real server on loopback (the gateway fetches it over TCP), and Twilio played by the
test: it posts 2010 parameters to hook URLs, signed with the account's token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.settings import ClientCredential, Secret, Settings
from tests.conftest import ACCOUNT, TOKEN, CountingTransport, serving
from tests.hooks.legacy_app import LegacyApp, signature_2008
from tests.servers import serve

PUBLIC = "http://gw.test"
"""The public URL: the in-process client's base URL, so hook URLs are requested as minted."""
KEY = "a-hook-key-for-the-tests-0123456789"
CALL = "CA" + "c" * 32
CALLER, CALLED = "+16465550000", "+14155551212"


def hooked(settings: Settings, **changes: Any) -> Settings:
    return settings.replace(
        public_url=PUBLIC,
        hook_keys=(Secret(KEY),),
        callback_accounts=(ClientCredential(ACCOUNT, Secret(TOKEN), (ACCOUNT,)),),
        callback_hosts=("127.0.0.0/8",),
        callback_timeout=2.0,
        **changes,
    )


@pytest.fixture
def legacy_app() -> Iterator[tuple[LegacyApp, str]]:
    app = LegacyApp(TOKEN)
    with serve(app, lifespan="off") as base:
        yield app, base


@pytest.fixture
async def gw(settings: Settings, upstream: CountingTransport) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(create_app(hooked(settings), upstream)) as client:
        yield client


def sent_form(upstream: CountingTransport, contains: str) -> dict[str, str]:
    """The form of the last POST upstream whose path contains ``contains``."""
    request = [r for r in upstream.requests if r.method == "POST" and contains in r.url.path][-1]
    return dict(parse_qsl(request.content.decode(), keep_blank_values=True))


def voice_params(**extra: str) -> dict[str, str]:
    """What Twilio sends with a call's request today (2010-04-01)."""
    return {
        "CallSid": CALL,
        "AccountSid": ACCOUNT,
        "From": CALLER,
        "To": CALLED,
        "Caller": CALLER,
        "Called": CALLED,
        "CallStatus": "in-progress",
        "Direction": "outbound-api",
        "ApiVersion": "2010-04-01",
        "FromCity": "NEW YORK",
        "ToState": "CA",
        **extra,
    }


async def twilio(
    client: httpx.AsyncClient, hook_url: str, params: dict[str, str], token: str = TOKEN
) -> httpx.Response:
    """Twilio's POST to a hook URL, signed as Twilio signs it."""
    assert hook_url.startswith(PUBLIC + "/hooks/"), hook_url
    signed = signature_2008(hook_url, params, token)
    return await client.post(
        urlsplit(hook_url).path, data=params, headers={"X-Twilio-Signature": signed}, auth=None
    )
