"""The sandbox's control endpoints: what the world outside Twilio does (a phone calls one of the
account's numbers, a caller presses keys, a handset sends an SMS), and what the sandbox asked of
applications, for tests. HTTP Basic auth as the account, Twilio's JSON errors, as the API.

- ``POST /sandbox/Calls`` (``From``, ``To``, ``Digits``): an inbound call to the account's number ``To``
  (:meth:`.dialer.Dialer.receive`); 201 with the call.
- ``POST /sandbox/Calls/{CallSid}/Digits`` (``Digits``): what the call's next ``<Gather>`` verbs get,
  one comma-separated entry each, replacing what was left.
- ``GET /sandbox/Calls/{CallSid}/Log``: the requests the sandbox made for the call, once its run is
  quiet (done, or waiting for the clock); ``Wait=finished`` waits for its end, ``Timeout`` (seconds,
  default 10, at most 60) bounds the wait. ``X-Sandbox-Run`` says ``finished``, ``waiting`` or ``none``.
- ``POST /sandbox/Messages`` (``From``, ``To``, ``Body``): an incoming SMS to the account's number or
  short code ``To`` (:mod:`.sms_hooks`); 201 with the message.
- ``GET /sandbox/Messages/{MessageSid}/Log``: the requests the sandbox made for the message (its
  delivery, actions and redirects, or its status callbacks), once the due ones are done.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api import ApiError, check_sid, not_found, read_form
from .host import Host
from .messaging import Message
from .simulation import digit_script
from .values import e164

DEFAULT_WAIT, MAX_WAIT = 10.0, 60.0


def control_routes(sandbox: Host) -> list[Route]:
    control = Control(sandbox)
    return [
        Route("/sandbox/Calls", control.call, methods=["POST"]),
        Route("/sandbox/Calls/{sid}/Digits", control.digits, methods=["POST"]),
        Route("/sandbox/Calls/{sid}/Log", control.call_log, methods=["GET"]),
        Route("/sandbox/Messages", control.message, methods=["POST"]),
        Route("/sandbox/Messages/{sid}/Log", control.message_log, methods=["GET"]),
    ]


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        raise ApiError(400, 21604, f"Required parameter {name} missing.")
    return value


def _script(raw: str) -> tuple[str, ...]:
    try:
        return digit_script(raw)
    except ValueError as exc:
        raise ApiError(400, 20001, str(exc)) from None


def _timeout(request: Request) -> float:
    raw = request.query_params.get("Timeout", str(DEFAULT_WAIT))
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= MAX_WAIT:
        raise ApiError(400, 20001, f"Timeout must be a number of seconds from 0 to {MAX_WAIT:g}")
    return value


class Control:
    def __init__(self, sandbox: Host) -> None:
        self.sandbox = sandbox

    async def call(self, request: Request) -> Response:
        sandbox = self.sandbox
        account = sandbox.authenticate(request, None)
        form = await read_form(request)
        to = e164(_required(form, "To"), 21211, "To")
        caller = e164(_required(form, "From"), 21212, "From")
        digits = _script(form["Digits"]) if "Digits" in form else None
        with sandbox.store.lock:
            numbers = sandbox.store.incoming.get(account)
            number = next((n for n in numbers.values() if n.phone_number == to), None) if numbers else None
            if number is None:
                raise ApiError(404, 20404, f"{to} is not an incoming phone number of this account")
            call = sandbox.dialer.receive(account, number, caller)
            if digits is not None:
                sandbox.dialer.give_digits(call, digits)
            status = call.status(sandbox.voice.clock())
        body = {"sid": call.sid, "account_sid": account, "from": caller, "to": to, "direction": "inbound"}
        return JSONResponse({**body, "status": status}, status_code=201)

    def _call(self, request: Request) -> Any:
        account = self.sandbox.authenticate(request, None)
        sid = request.path_params["sid"]
        check_sid(sid, "CA", request)
        call = self.sandbox.voice.find_call(account, sid)
        if call is None:
            raise not_found(request)
        return call

    async def digits(self, request: Request) -> Response:
        call = self._call(request)
        form = await read_form(request)
        if "Digits" not in form:
            raise ApiError(400, 21604, "Required parameter Digits missing.")
        entries = _script(form["Digits"])
        with self.sandbox.store.lock:
            self.sandbox.dialer.give_digits(call, entries)
        return JSONResponse({"sid": call.sid, "digits": list(entries)})

    async def call_log(self, request: Request) -> Response:
        call = self._call(request)
        timeout, dialer = _timeout(request), self.sandbox.dialer
        if request.query_params.get("Wait") == "finished":
            await dialer.finished(call.sid, timeout)
        else:
            await dialer.settle(call.sid, timeout)
        run = dialer.runs.get(call.sid)
        records = list(run.log) if run is not None else []
        return JSONResponse(records, headers={"X-Sandbox-Run": dialer.state(call.sid)})

    async def message(self, request: Request) -> Response:
        sandbox = self.sandbox
        account = sandbox.authenticate(request, None)
        form = await read_form(request)
        raw_to = _required(form, "To")
        to = raw_to if raw_to.isdigit() and 5 <= len(raw_to) <= 6 else e164(raw_to, 21211, "To")
        sender = e164(_required(form, "From"), 21212, "From")
        body = form.get("Body", "")
        if not body:
            raise ApiError(400, 21602, "Message body is required.")
        if len(body) > 1600:
            raise ApiError(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        with sandbox.store.lock:
            target = sandbox.sms.target(account, to)
            if target is None:
                raise ApiError(404, 20404, f"{to} is not a number or short code of this account")
            message = sandbox.sms.receive(account, to, sender, body, target)
            status = message.status(sandbox.messaging.clock())
        fields = {"sid": message.sid, "account_sid": account, "from": sender, "to": to, "body": body}
        return JSONResponse({**fields, "direction": "inbound", "status": status}, status_code=201)

    async def message_log(self, request: Request) -> Response:
        sandbox = self.sandbox
        account = sandbox.authenticate(request, None)
        sid = request.path_params["sid"]
        check_sid(sid, "SM", request)
        messages = sandbox.messaging.messages.get(account)
        message: Message | None = messages.get(sid) if messages is not None else None
        if message is None:
            raise not_found(request)
        await sandbox.sms.settle(_timeout(request))
        return JSONResponse(list(sandbox.messaging.logs.get(sid, [])))
