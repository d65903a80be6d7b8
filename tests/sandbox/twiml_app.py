"""An application on the other side of the sandbox's webhooks, for tests: it answers each path with the
TwiML it was given, and remembers every request — its parameters and whether its
``X-Twilio-Signature`` is valid, as the official helper library's validator checks it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from gateway.sandbox import SandboxConfig
from tests.conftest import ACCOUNT, OTHER, OTHER_TOKEN, OURS, TOKEN, Clock

BASE = "http://app.test"


@dataclass
class Seen:
    path: str
    method: str
    params: dict[str, str]
    signed: bool
    headers: dict[str, str]


class TwimlApp:
    def __init__(self, token: str = TOKEN) -> None:
        self.answers: dict[str, tuple[int, str, str, dict[str, str]]] = {}
        self.seen: list[Seen] = []
        self.validator = RequestValidator(token)
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=["GET", "POST"])])

    def answer(
        self,
        path: str,
        body: str,
        status: int = 200,
        content_type: str = "text/xml",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.answers[path] = (status, content_type, body, headers or {})

    def transport(self) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=self.app)

    async def handle(self, request: Request) -> Response:
        form = (
            dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
            if request.method == "POST"
            else {}
        )
        params = form if request.method == "POST" else dict(request.query_params)
        signed = self.validator.validate(
            str(request.url), form, request.headers.get("x-twilio-signature", "")
        )
        self.seen.append(Seen(request.url.path, request.method, params, signed, dict(request.headers)))
        status, kind, body, headers = self.answers.get(request.url.path, (200, "text/xml", "<Response/>", {}))
        return Response(body, status_code=status, media_type=kind, headers=headers)

    def paths(self) -> list[str]:
        return [seen.path for seen in self.seen]

    def at(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    def one(self, path: str) -> dict[str, str]:
        (found,) = self.at(path)
        assert found.signed, f"{path}: X-Twilio-Signature does not validate"
        return found.params


def twiml(*verbs: str) -> str:
    return "<?xml version='1.0' encoding='UTF-8'?><Response>" + "".join(verbs) + "</Response>"


def form(**values: Any) -> dict[str, str]:
    return {name: str(value) for name, value in values.items()}


NUMBERS = f"/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers"


def app_config(clock: Clock, app: TwimlApp, **options: Any) -> SandboxConfig:
    """A sandbox of both accounts whose webhooks reach ``app``, on ``clock``."""
    return SandboxConfig(
        accounts={ACCOUNT: TOKEN, OTHER: OTHER_TOKEN},
        clock=clock,
        webhook_transport=app.transport(),
        **options,
    )


async def configure(api: httpx.AsyncClient, **settings: str) -> None:
    """Sets the account's first number's URLs (``VoiceUrl=…``, ``SmsUrl=…``)."""
    (number,) = (await api.get(f"{NUMBERS}.json", params={"PhoneNumber": OURS})).json()[
        "incoming_phone_numbers"
    ]
    response = await api.post(f"{NUMBERS}/{number['sid']}.json", data=settings)
    assert response.status_code == 200, response.text
