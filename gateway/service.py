"""One legacy request through the registry: resource → operation → upstream → legacy document.

The only module that knows the data path as a whole; it never sees a framework object (it takes a
:class:`~gateway.dialect.legacy.LegacyRequest`, returns a status and a
:class:`~gateway.dialect.document.Document`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from typing import Any

from gateway import observability as obs
from gateway import resources
from gateway.auth import Authorizer
from gateway.call import Bare, Call, Outcome, route_template
from gateway.callbacks import Callbacks, Unchanged
from gateway.dialect import undeclared
from gateway.dialect.document import Instance, Listing
from gateway.dialect.legacy import LegacyRequest
from gateway.dialect.params import upstream_form, upstream_queries
from gateway.dialect.translate import translator
from gateway.errors import (
    BadGateway,
    BadRequest,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
    UpstreamRestError,
)
from gateway.lists import paging, skim, upstream_items
from gateway.lists.hidden import Hidden
from gateway.lists.views import Lists, ListSpec, list_key
from gateway.lists.walk import Cursor, Params, Walker
from gateway.redaction import credentials_in, scrub
from gateway.resources import Operation, Resource, Search
from gateway.settings import Settings
from gateway.upstream.client import Parse, Reply, Upstream, decode, error_of, parse_json
from gateway.upstream.media import PASSED_BACK, MediaReply

ERROR_BODY_LIMIT = 64 * 1024
"""The most of an upstream error body read while streaming media (errors are small JSON)."""
DAY = 86400.0
MEDIA_AUTH = (
    "This recording's account requires credentials for its media: send the account's credentials "
    "(HTTP Basic) with the request"
)


class Gateway:
    def __init__(self, settings: Settings, upstream: Upstream, lists: Lists) -> None:
        self.settings = settings
        self.upstream = upstream
        self.lists = lists
        self.auth = Authorizer(settings)
        self.hidden = Hidden(lists.store, settings.deleted_notification_days * DAY)
        self.callbacks: Callbacks = Unchanged()  # the edge sets the hooks' (gateway/callbacks.py)

    def resolve(self, request: LegacyRequest) -> Call:
        found = resources.match(request.path)
        if found is None:
            raise NotFound()
        resource, path = found
        instance = "Sid" in path
        obs.set_route(route_template(resource, instance))
        ops = resource.instance_ops if instance else resource.list_ops
        operation = _by_suffix(resource, request, instance) or ops.get(request.method)
        if operation is None:
            raise MethodNotAllowed(request.method, allowed(ops))
        for name, value in path.items():
            if not resource.valid(name, value):
                raise NotFound(f"The requested resource was not found: {value!r} is not a {name}")
        if not request.authorization and operation.public:
            anonymous = self.auth.anonymous(resource, path.get("AccountSid"))
            return Call(request, resource, operation, path, None, anonymous)
        authorization, bound = self.authorize(request.authorization)
        if bound is not None:
            self.auth.within(resource, path.get("AccountSid"), bound)
        return Call(request, resource, operation, path, authorization, bound)

    def authorize(self, authorization: str | None) -> tuple[str, tuple[str, ...] | None]:
        return self.auth.authorize(authorization)

    async def handle(self, request: LegacyRequest) -> Outcome:
        return await self.dispatch(self.resolve(request))

    async def dispatch(self, call: Call) -> Outcome:
        if call.operation.answer == "media":
            return await self.media(call)
        if call.operation.answer == "text":
            return await self.text(call)
        action = call.operation.action
        if not call.operation.writes:
            return await (self.listing(call) if action == "list" else self.fetch(call))
        try:
            return await (self.delete(call) if action == "delete" else self.write(call))
        finally:
            # After the write (even a failed one, which may have half happened): later pages without
            # a view id count afresh, and walks that overlapped the write are not reused (views.py).
            await self.lists.invalidate(call.account)
            await self.lists.invalidate("")  # the account list, which a write to an account changes

    async def _send(self, call: Call, method: str, target: str, **kwargs: Any) -> Reply:
        return await self.upstream.send(
            call.resource.host,
            method,
            target,
            endpoint=call.endpoint,
            authorization=call.authorization,
            request_id=_request_id(),
            **kwargs,
        )

    async def _call(self, call: Call, method: str, target: str, **kwargs: Any) -> Any:
        """Send and decode: the JSON object, ``None`` for 204, or the mapped legacy error."""
        return self._decode(call, target, await self._send(call, method, target, **kwargs))

    def _decode(self, call: Call, target: str, reply: Reply, parse: Parse = parse_json) -> Any:
        """:func:`decode`, with the upstream's errors speaking of the legacy resource: the client
        never asked for a 2010 path."""
        try:
            return decode(reply, parse)
        except UpstreamRestError as exc:
            raise exc.speaking_of(call.request.uri(), target) from None

    def _owned(self, call: Call, item: Mapping[str, object]) -> bool:
        return upstream_items.owner(call.resource, call.path, call.bound)(item)

    async def _embedded(self, call: Call, item: Any, cache: dict[str, object]) -> Any:
        """The item with the object its ``embed`` names (fetched once per sid per request or walk)."""
        embed = call.resource.embed
        if embed is None or not isinstance(item, Mapping):
            return item
        value = item.get(embed.key)
        if not isinstance(value, str) or not value:
            return item
        if value not in cache:
            try:
                cache[value] = await self._call(call, "GET", embed.upstream.format(**call.path, value=value))
            except NotFound:
                cache[value] = None
        return {**item, embed.name: cache[value]}

    def _visible(self, secrets: tuple[str, ...], item: Any) -> Any:
        """The item without its credentials when the gateway injects its own (sidecar mode): the
        upstream then answers with the injected account's secret, which no client may see."""
        if not secrets or self.auth.injected is None or not isinstance(item, Mapping):
            return item
        return {key: (None if key in secrets else value) for key, value in item.items()}

    async def _instance(self, call: Call, body: Any, status: int = 200) -> Outcome:
        if not isinstance(body, Mapping):
            raise BadGateway("The upstream API answered with an unexpected body")
        if not self._owned(call, body):
            raise NotFound()
        body = self.callbacks.incoming(call.resource, [body])[0]
        tr = translator(call.resource, call.operation.shape)
        body = self._visible(tr.secrets, await self._embedded(call, body, {}))
        return Outcome(status, Instance(tr.shape.element, tr.record(body, call.path)), tr.columns)

    async def fetch(self, call: Call) -> Outcome:
        target = call.resource.upstream_instance.format(**call.path)
        body = await self._call(call, "GET", target)
        if call.resource.hidden and await self.hidden.hidden(call.account, call.path["Sid"]):
            raise self._gone(call)
        return await self._instance(call, body)

    def _gone(self, call: Call) -> NotFound:
        """A hidden item's 404, in the words of the upstream's own (``UpstreamRestError.speaking_of``)."""
        return NotFound(f"The requested resource {call.request.uri()} was not found")

    async def media(self, call: Call) -> Outcome:
        """Upstream bytes, streamed: the app sends them as they come and closes the reply. Asked for
        without credentials (a public operation) the upstream is asked without any; if the account
        enforces them on its media, with the gateway's own, if it has them (sidecar mode), else 401."""
        reply = await self._stream(call, call.authorization)
        if reply.status == 401 and call.authorization is None:
            await reply.aclose()
            own = self.auth.media(call.account)
            if own is None:
                raise Unauthorized(MEDIA_AUTH)
            reply = await self._stream(call, own)
        if reply.status not in (200, 206, 416):
            try:
                body = await reply.read(ERROR_BODY_LIMIT)
            finally:
                await reply.aclose()
            if 200 <= reply.status < 300:
                raise BadGateway(f"The upstream API answered the media with status {reply.status}")
            body = scrub(body, credentials_in(call.authorization))  # as Upstream.send does
            raise error_of(Reply(reply.status, dict(reply.headers), body))
        encoded = "content-encoding" in reply.headers  # decoded on the way: its lengths no longer hold
        passed = tuple(
            (name, reply.headers[name])
            for name in PASSED_BACK
            if name in reply.headers and not (encoded and name in ("content-length", "content-range"))
        )
        content_type = call.operation.content_type or "application/octet-stream"
        if reply.status == 416:
            await reply.aclose()
            return Outcome(416, None, bare=Bare(content_type, headers=passed))
        return Outcome(reply.status, None, bare=Bare(content_type, stream=reply, headers=passed))

    async def _stream(self, call: Call, authorization: str | None) -> MediaReply:
        template = call.operation.upstream or call.resource.upstream_instance
        headers = {"Range": call.request.range} if call.request.range else {}
        if call.request.range and call.request.if_range:
            headers["If-Range"] = call.request.if_range
        return await self.upstream.stream(
            call.resource.host,
            template.format(**call.path),
            endpoint=call.endpoint,
            authorization=authorization,
            request_id=_request_id(),
            headers=headers,
        )

    async def text(self, call: Call) -> Outcome:
        """One field of the upstream item as the whole answer (a transcription's ``.txt``)."""
        body = await self._call(call, "GET", call.resource.upstream_instance.format(**call.path))
        if not isinstance(body, Mapping) or not self._owned(call, body):
            raise NotFound()
        value = body.get(call.operation.text or "")
        text = value if isinstance(value, str) else ""
        content_type = call.operation.content_type or "text/plain; charset=utf-8"
        return Outcome(200, None, bare=Bare(content_type, body=text.encode("utf-8")))

    async def delete(self, call: Call) -> Outcome:
        undeclared.drop(call.resource.name, call.operation.action, call.request.params)
        target = call.resource.upstream_instance.format(**call.path)
        if call.operation.hides:
            return await self.hide(call, target)
        if call.resource.owned_by:
            body = await self._call(call, "GET", target)
            if not isinstance(body, Mapping) or not self._owned(call, body):
                raise NotFound()
        await self._call(call, "DELETE", target)
        return Outcome(204, None)

    async def hide(self, call: Call, target: str) -> Outcome:
        """A DELETE the upstream cannot do: the item is read (404 if the upstream has none, or it is
        another account's, or hidden already), then hidden from this account's views."""
        body = await self._call(call, "GET", target)
        if not isinstance(body, Mapping) or body.get("account_sid") != call.account:
            raise self._gone(call)
        if not self._owned(call, body) or await self.hidden.hidden(call.account, call.path["Sid"]):
            raise self._gone(call)
        await self.hidden.hide(call.account, call.path["Sid"])
        return Outcome(204, None)

    async def write(self, call: Call) -> Outcome:
        given, added = await self.callbacks.outgoing(call, partial(self._call, call, "GET"))
        form = upstream_form(call.operation.params, given, self.settings.phone_region)
        undeclared.drop(call.resource.name, call.operation.action, given)  # never sent upstream
        form.update(added)  # the gateway's own (a call's status hook), never a client's
        path = call.operation.upstream
        if path is None:
            create = call.operation.action == "create"
            path = call.resource.upstream_list if create else call.resource.upstream_instance
        target = path.format(**call.path)
        search = call.operation.search
        if search is not None and search.unless not in form and search.param not in form:
            reply = await self._buy_found(call, search, target, form)
        else:
            reply = await self._send(call, call.operation.upstream_method, target, form=form)
        body = self._decode(call, target, reply)
        outcome = await self._instance(call, body, reply.status)
        if reply.status == 201 and call.operation.action == "create":
            return replace(outcome, location=created_uri(call, body))
        return outcome

    async def _buy_found(self, call: Call, search: Search, target: str, form: dict[str, str]) -> Reply:
        """Lists what is available, then buys the first listed; one bought by someone else since (the
        upstream says ``taken``) moves on to the next. Each purchase is a single POST."""
        listed = search.upstream.format(**call.path)
        found = await self._call(call, "GET", listed, params=list(search.query))
        for candidate in search.candidates(found):
            reply = await self._send(
                call, call.operation.upstream_method, target, form={**form, search.param: candidate}
            )
            refused = None if reply.status < 400 else error_of(reply)
            if not (isinstance(refused, UpstreamRestError) and refused.code in search.taken):
                return reply
        raise BadRequest(search.refusal, code=search.code)

    async def listing(self, call: Call) -> Outcome:
        given = dict(call.request.params)
        page, num = paging.requested(given)
        view = given.pop(paging.VIEW_PARAM, None)
        client_filters = list(given.items())
        fixed = [(name, value.format(**call.path)) for name, value in call.resource.upstream_query]
        queries = upstream_queries(call.resource.filters, given, self.settings.phone_region)
        if not queries:  # a filter nothing can match: the empty list, without asking the upstream
            return self._listed(call, paging.Window(page, num, 0), client_filters, None, [])
        merged: list[Params] = [(*fixed, *query, *given.items()) for query in queries]
        target = call.resource.upstream_list.format(**call.path)
        size = ("PageSize", str(paging.UPSTREAM_PAGE_SIZE))
        # A list some of whose items may be hidden is counted afresh after every write to the
        # account (a deletion among them), even by a client paging with a view id.
        writes = await self.lists.store.generation(call.account) if call.resource.hidden else None
        spec = ListSpec(
            key=list_key(
                call.resource.name,
                sorted(call.path.items()),
                paging.credentials_digest(call.authorization),
                call.bound,
                merged,
                writes,
            ),
            account=call.account,
            start=tuple(Cursor(target, (*query, size)) for query in merged),
        )
        skimmed = skim.parser(call.resource)
        walker = Walker(
            fetch=lambda target, params: self.walk(call, target, params),
            skim=lambda target, params: self.walk(call, target, params, skimmed),
            keep=upstream_items.lister(call.resource, call.path, call.bound),
            partition=call.resource.paging.partition,
            statuses=call.resource.paging.statuses,
            order=upstream_items.order_key(call.resource),
            identity=upstream_items.identity(call.resource),
            max_pages=self.settings.list_max_pages,
            concurrency=self.settings.list_count_concurrency,
        )
        found = await self.lists.page(spec, walker, view, page, num)
        embedded: dict[str, object] = {}
        items = [await self._embedded(call, item, embedded) for item in found.items]
        return self._listed(call, found.window, client_filters, found.view, items)

    def _listed(
        self,
        call: Call,
        window: paging.Window,
        filters: list[tuple[str, str]],
        view: str | None,
        items: list[Any],
    ) -> Outcome:
        attrs = window.attrs() + paging.page_uris(window, call.request.uri, filters, view)
        tr = translator(call.resource)
        records = [tr.record(item, call.path) for item in items]
        listing = Listing(call.resource.list_element, tr.shape.element, attrs, records)
        return Outcome(200, listing, tr.columns)

    async def walk(
        self, call: Call, target: str, params: Params | None, parse: Parse = parse_json
    ) -> tuple[list[Any], str | None]:
        """One upstream list page: its items and its next-page link (with :func:`skim.parser`, the
        items with the fields a count reads alone)."""
        reply = await self._send(call, "GET", target, params=list(params) if params else None)
        body = self._decode(call, target, reply, parse)
        if not isinstance(body, Mapping):
            raise BadGateway("The upstream API answered a list with no body")
        items = call.resource.paging.items(body)
        if not isinstance(items, list):
            raise BadGateway("The upstream API answered with an unexpected list body")
        if call.resource.hidden:  # before anything counts them
            items = await self.hidden.visible(call.account, items)
        secrets = translator(call.resource).secrets
        if secrets and self.auth.injected is not None:  # before any view keeps them
            items = [self._visible(secrets, item) for item in items]
        items = self.callbacks.incoming(call.resource, items)
        following = call.resource.paging.next_url(body)
        if following is not None and not isinstance(following, str):
            raise BadGateway("The upstream API answered with an unexpected next page")
        if following and (len(following) > paging.MAX_LINK_BYTES or not following.isascii()):
            raise BadGateway("The upstream API answered with an unusable next page link")
        return items, following or None


def _by_suffix(resource: Resource, request: LegacyRequest, instance: bool) -> Operation | None:
    """The operation a suffix (or its absence) selects for an instance GET; 404 for an unknown one."""
    key = request.suffix if request.suffix is not None else ("" if not request.explicit else None)
    if instance and request.method == "GET" and key is not None and key in resource.suffix_ops:
        return resource.suffix_ops[key]
    if request.suffix is not None:
        raise NotFound(f"The requested format .{request.suffix} is not supported")
    return None


def allowed(ops: Mapping[str, Operation]) -> tuple[str, ...]:
    """The methods for an ``Allow`` header: HEAD wherever GET is."""
    return tuple(name for method in ops for name in ((method, "HEAD") if method == "GET" else (method,)))


def created_uri(call: Call, body: Mapping[str, object]) -> str | None:
    """The legacy URI of what a create made (response.md: a 201 gives it in ``Location``), path-absolute
    as the pages write every URI, with the client's format suffix; ``None`` for a sid not of its kind."""
    sid = body.get("sid")
    if not isinstance(sid, str) or not call.resource.valid("Sid", sid):
        return None
    path = (call.operation.created or call.resource.legacy_path).format(**call.path)
    suffix = f".{call.request.fmt}" if call.request.explicit else ""
    return f"{resources.LEGACY_PREFIX}{path}/{sid}{suffix}"


def _request_id() -> str | None:
    exchange = obs.CURRENT.get()
    return exchange.request_id if exchange else None
