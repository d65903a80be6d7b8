"""The sandbox upstream: the 2010-04-01 OutgoingCallerIds / IncomingPhoneNumbers endpoints and Trunking
v1 PhoneNumbers (hand-written here), the number searches (:mod:`.available_api`), and the spec-driven
endpoints listed in :mod:`.endpoints` (Calls, Conferences, Participants, a call's Recordings and
Notifications), as the official OpenAPI specs in ``specs/`` describe them.

It deliberately does not help the gateway: no ``total``/``num_pages``, opaque page tokens, relative
``*_page_uri`` on 2010 lists and absolute ``meta`` URLs on v1 lists, Twilio's JSON errors.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import available_api, media, messaging, notifications, numbers_api, recordings, seed, views
from .accounts_api import AccountsBehaviour
from .api import ApiError, check_sid, not_found, page_index, page_size, read_form
from .call_run import Services
from .calls import Callbacks, Verification
from .clockwork import Clockwork
from .control import control_routes
from .dialer import Dialer
from .endpoints import spec_endpoints
from .engine import ListResponse
from .simulation import Simulation
from .sms_hooks import SmsHooks
from .store import Among, CallerId, Ordered, Span, Store, new_sid
from .values import e164
from .voice import Voice
from .webhook import Requester

log = logging.getLogger("gateway.sandbox")

DEFAULT_ACCOUNT_SID = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
DEFAULT_AUTH_TOKEN = "0123456789abcdef0123456789abcdef"
API = "/2010-04-01/Accounts/{account}"


@dataclass
class SandboxConfig:
    accounts: Mapping[str, str]
    verification: str = "success"
    incoming_numbers: int = 5
    seed_caller_ids: int = 0
    available_numbers: int = 5
    """Numbers to buy per area code (:mod:`gateway.sandbox.numbers_api`)."""
    seed: Mapping[str, int] = field(default_factory=dict)
    """Seed data by name (``calls``, ``conferences``, …): see :mod:`gateway.sandbox.seed`."""
    call_step: float = 2.0
    """Seconds a made call spends queued, then ringing."""
    call_length: float = 20.0
    """Seconds a made call stays in progress before it completes."""
    message_step: float = 1.0
    """Seconds a sent message spends queued, then sending."""
    unreachable_numbers: frozenset[str] = frozenset({"+15005550009"})
    """Messages to these numbers fail (30003, unreachable handset)."""
    short_codes: int = 2
    """Short codes each account has (67898, 68009, …)."""
    media_redirect: str | None = None
    """Base URL recording audio is redirected to (a storage host), if set."""
    media_auth: frozenset[str] = frozenset()
    """Accounts that enforce HTTP auth on their recordings' media URLs (2010's account setting); the
    others' are public, as 2010's are by default."""
    simulation: Simulation = field(default_factory=Simulation)
    """Who answers, what callers press and say, how applications are called (:mod:`.simulation`)."""
    webhook_transport: httpx.AsyncBaseTransport | None = None
    """Where requests to applications go (tests: an ASGI app or a mock); None: the network."""
    clock: Callable[[], float] = time.time


class Sandbox:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = Store(dict(config.accounts))
        self.callbacks = Callbacks()
        self.voice = Voice(self.store, config.clock, config.call_step, config.call_length)
        self.accounts = AccountsBehaviour(self.store)
        self.inventory = numbers_api.Inventory(config.available_numbers)
        self.notifications = notifications.Notifications(self.store, self.voice)
        simulated = config.simulation
        self.requester = Requester(self.store.accounts, config.webhook_transport, simulated.webhook_timeout)
        self.webhooks = notifications.Webhooks(
            self.callbacks, self.notifications, self.store.lock, self.requester
        )
        receipts = (simulated.delivery_receipts, simulated.message_callbacks, simulated.callback_repeats)
        self.messaging = messaging.Messaging(
            self.store,
            config.clock,
            self.webhooks,
            config.message_step,
            config.unreachable_numbers,
            *receipts,
        )
        self.recordings = recordings.Recordings(
            self.store, self.voice, self.webhooks, config.call_step, config.media_redirect
        )
        self.clockwork = Clockwork(config.clock)
        parts = (self.voice, self.recordings, self.notifications, self.requester, self.clockwork)
        self.dialer = Dialer(Services(*parts, simulated, self.store.lock))
        self.sms = SmsHooks(
            self.messaging, self.requester, self.notifications, self.callbacks, self.store.lock
        )
        for account in config.accounts:
            self.messaging.provision(account, config.short_codes)
        for account in config.accounts:
            self.store.provision_incoming(account, config.incoming_numbers)
            self.store.seed_caller_ids(account, config.seed_caller_ids)
        seed.apply(self, config.seed)

    # Authentication --------------------------------------------------------------------------
    def authenticate(self, request: Request, account: str | None) -> str:
        header = request.headers.get("authorization", "")
        user = password = ""
        if header[:6].lower() == "basic ":
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user = password = ""
        if not self.store.check(user, password):
            raise ApiError(401, 20003, "Authenticate")
        if account is not None and account != user:
            raise not_found(request)
        return user

    # Paging ------------------------------------------------------------------------------------
    def _list(
        self,
        request: Request,
        ordered: Ordered | None,
        render: Callable[[Any], dict[str, Any]],
        keep: Callable[[Any], bool],
        filters: list[tuple[str, str]],
        span: Span | None = None,
        among: Among | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        size, index = page_size(request), page_index(request)
        token = request.query_params.get("PageToken")
        if index > 0 and not token:
            raise ApiError(400, 20001, "PageToken is required for paging.")
        page = self.store.page(ordered, size, token, keep, span, among)
        if page is None:
            raise ApiError(400, 20001, "Invalid PageToken")

        def uri(at: int, page_token: str | None) -> str:
            query = [*filters, ("PageSize", str(size)), ("Page", str(at))]
            if page_token:
                query.append(("PageToken", page_token))
            return request.url.path + "?" + urlencode(query)

        start = index * size
        links = {
            "first": uri(0, None),
            "next": uri(index + 1, page.next_token) if page.next_token else None,
            "previous": uri(index - 1, page.previous_token) if page.previous_token else None,
            "self": uri(index, token),
            "page": index,
            "size": size,
            "start": start,
            "end": start + max(len(page.items) - 1, 0),
        }
        return [render(item) for item in page.items], links

    def _flat(self, key: str, items: list[dict[str, Any]], links: dict[str, Any]) -> JSONResponse:
        return ListResponse(
            {
                "first_page_uri": links["first"],
                "end": links["end"],
                "previous_page_uri": links["previous"],
                "uri": links["self"],
                "page_size": links["size"],
                "start": links["start"],
                "next_page_uri": links["next"],
                "page": links["page"],
                key: items,
            }
        )

    # 2010-04-01 OutgoingCallerIds ------------------------------------------------------------
    async def list_caller_ids(self, request: Request) -> Response:
        account = self.authenticate(request, request.path_params["account"])
        query = request.query_params
        filters = [(name, query[name]) for name in ("PhoneNumber", "FriendlyName") if name in query]
        wanted = dict(filters)

        def keep(item: CallerId) -> bool:
            return all(
                getattr(item, "phone_number" if name == "PhoneNumber" else "friendly_name") == value
                for name, value in wanted.items()
            )

        items, links = self._list(request, self.store.caller_ids.get(account), views.caller_id, keep, filters)
        return self._flat("outgoing_caller_ids", items, links)

    async def create_validation(self, request: Request) -> Response:
        account = self.authenticate(request, request.path_params["account"])
        form = await read_form(request)
        raw = str(form.get("PhoneNumber") or "")
        if not raw:
            raise ApiError(400, 21604, "Required parameter PhoneNumber missing.")
        number = e164(raw, 21401)
        friendly = str(form.get("FriendlyName") or "")
        if len(friendly) > 64:
            raise ApiError(400, 21409, "FriendlyName must be 64 characters or fewer")
        raw_delay = str(form.get("CallDelay") or "0")
        if not raw_delay.isdigit() or not 0 <= int(raw_delay) <= 60:
            raise ApiError(400, 21454, "CallDelay must be an integer between 0 and 60")
        callback = str(form.get("StatusCallback") or "")
        if callback and urlsplit(callback).scheme not in ("http", "https"):
            raise ApiError(400, 21609, "StatusCallback must be an http or https URL")
        method = str(form.get("StatusCallbackMethod") or "POST").upper()
        if method not in ("GET", "POST"):
            raise ApiError(400, 20001, "StatusCallbackMethod must be GET or POST")
        if self.store.caller_id_by_number(account, number) is not None:
            raise ApiError(400, 21450, "Phone number is already verified.")
        from gateway.dialect.phone import pretty

        friendly = friendly or pretty(number)
        call_sid = new_sid("CA")
        code = f"{random.SystemRandom().randrange(10**6):06d}"
        verify = Verification(
            self.store,
            self.webhooks,
            self.config.verification == "success",
            account,
            number,
            friendly,
            call_sid,
            callback,
            method,
        )
        delay = int(raw_delay)
        if delay == 0:
            verify.complete()
        else:
            asyncio.get_running_loop().call_later(delay, verify.complete)
        body = {
            "account_sid": account,
            "call_sid": call_sid,
            "friendly_name": friendly,
            "phone_number": number,
            "validation_code": code,
        }
        return JSONResponse(body, status_code=200)

    def _caller_id_or_404(self, request: Request) -> CallerId:
        account = self.authenticate(request, request.path_params["account"])
        check_sid(request.path_params["sid"], "PN", request)
        item = self.store.find_caller_id(account, request.path_params["sid"])
        if item is None:
            raise not_found(request)
        return item

    async def caller_id_instance(self, request: Request) -> Response:
        item = self._caller_id_or_404(request)
        if request.method == "DELETE":
            self.store.delete_caller_id(item)
            return Response(status_code=204)
        if request.method == "POST":
            form = await read_form(request)
            name = form.get("FriendlyName")
            if name is not None:
                if len(str(name)) > 64:
                    raise ApiError(400, 21409, "FriendlyName must be 64 characters or fewer")
                self.store.rename_caller_id(item, str(name))
        return JSONResponse(views.caller_id(item))

    # Trunking v1 PhoneNumbers ----------------------------------------------------------------
    def _base(self, request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    async def trunk_numbers(self, request: Request) -> Response:
        account = self.authenticate(request, None)
        trunk = request.path_params["trunk"]
        check_sid(trunk, "TK", request)
        base = self._base(request)
        if request.method == "POST":
            form = await read_form(request)
            sid = str(form.get("PhoneNumberSid") or "")
            if not sid:
                raise ApiError(400, 21604, "Required parameter PhoneNumberSid missing.")
            number = self.store.incoming_number(account, sid)
            if number is None:
                raise ApiError(400, 21421, f"PhoneNumberSid {sid} is not an incoming number of this account")
            attached = self.store.attach(account, trunk, number)
            if attached is None:
                raise ApiError(409, 21223, "The phone number is already associated with this trunk")
            return JSONResponse(views.trunk_number(attached, base), status_code=201)
        items, links = self._list(
            request,
            self.store.trunks.get((account, trunk)),
            lambda item: views.trunk_number(item, base),
            lambda _: True,
            [],
        )
        meta = {
            "first_page_url": base + links["first"],
            "key": "phone_numbers",
            "next_page_url": base + links["next"] if links["next"] else None,
            "page": links["page"],
            "page_size": links["size"],
            "previous_page_url": base + links["previous"] if links["previous"] else None,
            "url": base + links["self"],
        }
        return JSONResponse({"meta": meta, "phone_numbers": items})

    async def trunk_number_instance(self, request: Request) -> Response:
        account = self.authenticate(request, None)
        trunk, sid = request.path_params["trunk"], request.path_params["sid"]
        check_sid(trunk, "TK", request)
        check_sid(sid, "PN", request)
        item = self.store.trunk_number(account, trunk, sid)
        if item is None:
            raise not_found(request)
        if request.method == "DELETE":
            self.store.detach(account, item)
            return Response(status_code=204)
        return JSONResponse(views.trunk_number(item, self._base(request)))


def create_sandbox(config: SandboxConfig) -> Starlette:
    sandbox = Sandbox(config)
    served = spec_endpoints(sandbox)
    for endpoints in served:
        endpoints.prime()
    for endpoints in served:
        endpoints.warm()

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def on_404(request: Request, exc: Exception) -> Response:
        return not_found(request).response()

    async def on_405(request: Request, exc: Exception) -> Response:
        return ApiError(405, 20004, "Method not allowed").response()

    app = Starlette(
        routes=[
            Route(
                API + "/OutgoingCallerIds.json",
                _dispatch(sandbox.list_caller_ids, sandbox.create_validation),
                methods=["GET", "POST"],
            ),
            Route(
                API + "/OutgoingCallerIds/{sid}.json",
                sandbox.caller_id_instance,
                methods=["GET", "POST", "DELETE"],
            ),
            Route("/v1/Trunks/{trunk}/PhoneNumbers", sandbox.trunk_numbers, methods=["GET", "POST"]),
            Route(
                "/v1/Trunks/{trunk}/PhoneNumbers/{sid}",
                sandbox.trunk_number_instance,
                methods=["GET", "DELETE"],
            ),
        ]
        + [route for endpoints in served for route in endpoints.routes(sandbox)]
        + available_api.routes(sandbox)
        + media.media_routes(sandbox)
        + control_routes(sandbox),
        exception_handlers={ApiError: on_api_error, 404: on_404, 405: on_405},
    )
    app.state.sandbox = sandbox
    app.state.endpoints = served
    return app


def _dispatch(get: Callable[[Request], Any], post: Callable[[Request], Any]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        handler = post if request.method == "POST" else get
        response: Response = await handler(request)
        return response

    return endpoint
