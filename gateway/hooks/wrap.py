"""App URLs on the REST path: wrapped in hook URLs on the way up, unwrapped on the way back.

:class:`Wrap` is the service's :class:`gateway.callbacks.Callbacks`. A write that sets an app URL a
resource declares (:class:`gateway.resources.AppUrl`) sends a hook URL of its kind upstream instead,
with POST as its method; the app's URL, method and the values it carries travel inside the hook.
A call's URL (and a number's voice URL) also gets the call's status hook. Reads show the app's URL and
method again, wherever a hook URL that opens shows up; a URL set outside the gateway shows as it is.

Only accounts whose auth token the gateway holds are wrapped (:class:`Tokens`): the token checks
Twilio's signature on the hook and signs the gateway's request to the app. Other accounts' writes
pass unchanged, with one log line per account saying why.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from gateway.call import Call
from gateway.callbacks import Outgoing, Read
from gateway.resources import AppUrl, Resource
from gateway.settings import Secret, Settings

from .urls import SEGMENT, Hook, HookKeys, Kind
from .verbs import method_of

log = logging.getLogger("gateway.hooks")
RESERVED = ("example", "invalid", "example.com", "example.net", "example.org")
"""Names reserved for examples (RFC 2606): no app lives there. A URL on one is left as it is — a
placeholder (the sandbox reads it so: never requested), not a hook that would only fail."""
MAX_TOLD = 10_000
"""Accounts remembered as told about (one log line each); past that, no more lines."""


class Tokens:
    """The auth tokens the gateway holds, by account: GATEWAY_CALLBACK_ACCOUNTS, and in sidecar mode the
    injected account (when it is an account, not an API key: a key's secret signs nothing)."""

    def __init__(self, settings: Settings) -> None:
        held: dict[str, Secret] = {}
        sid, token = settings.upstream_account_sid, settings.upstream_auth_token
        if sid and sid.startswith("AC") and token:
            held[sid] = token
        for credential in settings.callback_accounts:
            held[credential.sid] = credential.token
        self._held = held

    def get(self, account: str) -> str | None:
        token = self._held.get(account)
        return token.get() if token is not None else None

    def __contains__(self, account: object) -> bool:
        return account in self._held

    def __len__(self) -> int:
        return len(self._held)


class Wrap:
    def __init__(self, keys: HookKeys, base_url: str, tokens: Tokens) -> None:
        self.keys = keys
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self._told: set[str] = set()

    def mint(self, hook: Hook) -> str:
        return self.keys.mint(self.base_url, hook)

    async def outgoing(self, call: Call, read: Read) -> Outgoing:
        params = dict(call.request.params)
        resource, account = call.resource, call.account
        declared = {param.name for param in call.operation.params}
        urls = [
            url
            for url in resource.app_urls
            if url.param in declared and (url.param in params or (url.method or "") in params)
        ]
        if not urls:
            return params, {}
        if account not in self.tokens:
            self._tell(account)
            return params, {}
        current = (
            partial(read, resource.upstream_instance.format(**call.path)) if "Sid" in call.path else None
        )
        out, added = dict(params), {}
        item: Mapping[str, Any] | None = None
        for url in urls:
            target = params.get(url.param)
            method = params.get(url.method) if url.method else None
            if (target is None or method is None) and url.field and current is not None:
                # An update keeps what it does not set, as the upstream does: read what is there now.
                item = item if item is not None else await _read(current)
                before = self._open(item.get(url.field))
                if target is None and before is None:
                    continue  # not a hook: the method goes upstream as given
                target = target if target is not None else before.url if before else None
                if method is None:
                    method = before.method if before else _text(item.get(url.method_field or ""))
            if target is not None:
                added.update(self._wrap(out, url, account, target, method))
        return out, added

    def _wrap(
        self, out: dict[str, str], url: AppUrl, account: str, target: str, method: str | None
    ) -> dict[str, str]:
        """Puts the hook in ``out``; the upstream parameters the gateway adds for it (its status hook)."""
        if not target.strip() or not target.lower().startswith(("http://", "https://")):
            return {}  # cleared, or not a URL the upstream takes: it answers as it would
        if _reserved(target):
            return {}
        if self.keys.open(target) is not None:
            return {}  # already a hook (copied from a read made elsewhere): never wrapped twice
        app_method = method_of(method)
        extra = tuple((name, out[param]) for param, name in url.carries if out.get(param))
        out[url.param] = self.mint(Hook(url.kind, account, target, app_method, extra))
        if url.method:
            out[url.method] = "POST"
        if not url.status:
            return {}
        status = self.mint(Hook(Kind.STATUS, account, target, app_method, extra))
        return {url.status: status, url.status + "Method": "POST"}

    def _unwrapped(self, item: Mapping[str, Any], url: AppUrl) -> str | None:
        value = item.get(url.field) if url.field else None
        hook = self._open(value)
        return hook.url if hook is not None else None

    def _open(self, value: object) -> Hook | None:
        if not isinstance(value, str) or f"/{SEGMENT}/" not in value:
            return None
        return self.keys.open(value)

    def incoming(self, resource: Resource, items: list[Any]) -> list[Any]:
        if not resource.app_urls:
            return items
        return [self._shown(resource, item) if isinstance(item, Mapping) else item for item in items]

    def _shown(self, resource: Resource, item: Mapping[str, Any]) -> Mapping[str, Any]:
        shown: dict[str, Any] | None = None
        for url in resource.app_urls:
            if url.field is None:
                continue
            hook = self._open(item.get(url.field))
            if hook is None:
                continue
            shown = dict(item) if shown is None else shown
            shown[url.field] = hook.url
            if url.method_field:
                shown[url.method_field] = hook.method
        return item if shown is None else shown

    def _tell(self, account: str) -> None:
        if account in self._told or len(self._told) >= MAX_TOLD:
            return
        self._told.add(account)
        log.warning(
            "callbacks: app URLs of account %s pass unwrapped: the gateway holds no auth token for it "
            "(GATEWAY_CALLBACK_ACCOUNTS), so it could neither check Twilio's signature nor sign for the app",
            account,
        )


async def _read(current: Callable[[], Awaitable[Any]]) -> Mapping[str, Any]:
    found = await current()
    return found if isinstance(found, Mapping) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _reserved(url: str) -> bool:
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    return any(host == name or host.endswith("." + name) for name in RESERVED)
