"""A legacy app as 2008 wrote them, for the callback tests and the benchmark: a plain ASGI app that

- checks every request's ``X-Twilio-Signature`` the 2008 way, with its own code (HMAC-SHA1 over the URL
  it was requested at, then for a POST each parameter's name and value sorted by name; base64);
- checks that only 2008 parameters arrive (its own query parameters are lower case), phone numbers as
  ten digits;
- answers what the test scripted for the path (2008 TwiML, text, a status), and sets cookies;
- writes down every request (:attr:`LegacyApp.seen`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

VOICE_2008 = frozenset(
    {
        "CallSid", "AccountSid", "Caller", "Called", "CallStatus", "DialStatus", "Digits",
        "RecordingUrl", "Duration", "TranscriptionText", "TranscriptionStatus", "TranscriptionUrl",
        "SmsSid", "SmsStatus",
        *(f"{who}{part}" for who in ("Caller", "Called") for part in ("City", "State", "Zip", "Country")),
    }
)  # fmt: skip
SMS_2008 = frozenset(
    {
        "SmsSid", "SmsMessageSid", "SmsStatus", "AccountSid", "From", "To", "Body",
        *(f"{who}{part}" for who in ("From", "To") for part in ("City", "State", "Zip", "Country")),
    }
)  # fmt: skip
NUMBERS = ("Caller", "Called", "From", "To")
TEN_DIGITS = re.compile(r"\d{10}")


def signature_2008(url: str, params: dict[str, str] | None, token: str) -> str:
    data = url + "".join(f"{name}{params[name]}" for name in sorted(params or {}))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


@dataclass
class Seen:
    method: str
    path: str
    params: dict[str, str]
    cookies: str
    signed: bool
    problems: list[str]


@dataclass
class Script:
    body: bytes | str = b""
    content_type: str = "text/xml"
    status: int = 200
    cookies: tuple[str, ...] = ()


Answer = Script | Callable[[Seen], Script]


@dataclass
class LegacyApp:
    token: str
    routes: dict[str, Answer] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def answer(self, path: str, answer: Answer | str) -> None:
        self.routes[path] = Script(answer) if isinstance(answer, str) else answer

    def at(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        query = scope["query_string"].decode()
        method = scope["method"]
        params = dict(parse_qsl(body.decode() if method == "POST" else query, keep_blank_values=True))
        url = f"{scope['scheme']}://{headers['host']}{scope['path']}" + (f"?{query}" if query else "")
        expected = signature_2008(url, params if method == "POST" else None, self.token)
        seen = Seen(
            method,
            scope["path"],
            params,
            headers.get("cookie", ""),
            hmac.compare_digest(expected, headers.get("x-twilio-signature", "")),
            _problems(scope["path"], params),
        )
        self.seen.append(seen)
        route = self.routes.get(scope["path"], Script(b"<Response/>"))
        script = route(seen) if callable(route) else route
        payload = script.body.encode() if isinstance(script.body, str) else script.body
        out = [(b"content-type", script.content_type.encode())]
        out += [(b"set-cookie", cookie.encode()) for cookie in script.cookies]
        await send({"type": "http.response.start", "status": script.status, "headers": out})
        await send({"type": "http.response.body", "body": payload})


def _problems(path: str, params: dict[str, str]) -> list[str]:
    allowed = SMS_2008 if path.startswith("/sms") else VOICE_2008
    # The app's own query parameters are lower case; Twilio's are capitalised.
    problems = [
        f"{name} is not a 2008 parameter" for name in params if name[:1].isupper() and name not in allowed
    ]
    for name in NUMBERS:
        if name in params and not TEN_DIGITS.fullmatch(params[name]):
            problems.append(f"{name}={params[name]} is not ten digits")
    return problems
