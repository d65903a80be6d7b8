"""The official ``twilio`` 9.x client, pointed at the sandbox over loopback, cannot tell the difference."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from gateway.sandbox import create_sandbox
from tests.conftest import ACCOUNT, TOKEN, TRUNK
from tests.servers import serve


class LoopbackHttpClient(TwilioHttpClient):
    """Sends what the client addresses to api.twilio.com / trunking.twilio.com to the sandbox."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = urlsplit(base)
        self.urls: list[str] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        assert parts.hostname in ("api.twilio.com", "trunking.twilio.com", "127.0.0.1"), url
        rewritten = urlunsplit((self.base.scheme, self.base.netloc, parts.path, parts.query, ""))
        self.urls.append(rewritten)
        return super().request(method, rewritten, *args, **kwargs)


@pytest.fixture
def official(sandbox_config: Any) -> Iterator[tuple[Client, Any, LoopbackHttpClient]]:
    app = create_sandbox(sandbox_config)
    with serve(app, lifespan="off") as base:
        http = LoopbackHttpClient(base)
        yield Client(ACCOUNT, TOKEN, http_client=http), app.state.sandbox.store, http


def test_caller_ids_through_the_official_client(official: tuple[Client, Any, LoopbackHttpClient]) -> None:
    client, store, http = official
    request = client.validation_requests.create(phone_number="+14158675310", friendly_name="Home")
    assert request.phone_number == "+14158675310"
    assert request.friendly_name == "Home"
    assert len(request.validation_code) == 6
    store.seed_caller_ids(ACCOUNT, 130)
    listed = client.outgoing_caller_ids.list(limit=125, page_size=50)
    assert len(listed) == 125
    assert len({c.sid for c in listed}) == 125
    assert sum("PageToken=PA" in url for url in http.urls) == 2
    everything = client.outgoing_caller_ids.list(page_size=1000)
    assert len(everything) == 131
    home = client.outgoing_caller_ids.list(phone_number="+14158675310")
    assert [c.friendly_name for c in home] == ["Home"]
    sid = home[0].sid
    fetched = client.outgoing_caller_ids(sid).fetch()
    assert fetched.phone_number == "+14158675310"
    assert fetched.date_created.year >= 2026
    assert client.outgoing_caller_ids(sid).update(friendly_name="Office").friendly_name == "Office"
    assert client.outgoing_caller_ids(sid).delete() is True
    assert len(client.outgoing_caller_ids.list()) == 130


def test_trunk_numbers_through_the_official_client(official: tuple[Client, Any, LoopbackHttpClient]) -> None:
    client, _, _ = official
    incoming = client.incoming_phone_numbers.list()
    assert len(incoming) == 5
    trunk = client.trunking.v1.trunks(TRUNK)
    created = [trunk.phone_numbers.create(phone_number_sid=number.sid) for number in incoming[:3]]
    assert [c.trunk_sid for c in created] == [TRUNK] * 3
    assert created[0].date_created.year >= 2026
    listed = trunk.phone_numbers.list(page_size=2)
    assert [n.sid for n in listed] == [c.sid for c in created]
    assert trunk.phone_numbers(created[0].sid).fetch().phone_number == incoming[0].phone_number
    assert trunk.phone_numbers(created[0].sid).delete() is True
    assert len(trunk.phone_numbers.list()) == 2
