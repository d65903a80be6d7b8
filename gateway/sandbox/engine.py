"""Spec-driven endpoints: generic list / create / fetch / update / delete over a resource's state.

The spec says which methods a path has, which query and form parameters it takes (required ones,
enums, integers, dates), the path sids' patterns, the list key and the item's properties (every property
the spec has, in its order, ``null`` when the resource has no value for it unless the spec forbids null)
and the success status. A :class:`Behaviour` says only
what is specific to a resource with state: where its items live, how one renders, how each filter
matches, and what creating, updating and deleting do. Paging is the sandbox's (opaque tokens, the 2010
envelope with ``next_page_uri``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api import ApiError, not_found, read_form
from .host import Host
from .spec import Spec
from .store import Ordered

Filter = Callable[[Any, str], bool]


class Behaviour(Protocol):
    """What a resource with state adds to the spec. Methods a resource lacks answer 405."""

    filters: Mapping[str, Filter]

    def refresh(self) -> None:
        """Bring time-driven state up to the sandbox's clock (called before every request)."""

    def scope(self, path: Mapping[str, str]) -> Ordered | None: ...

    def find(self, path: Mapping[str, str]) -> Any | None: ...

    def render(self, item: Any) -> dict[str, Any]: ...


class Creates(Protocol):
    def create(self, path: Mapping[str, str], form: dict[str, str]) -> Any: ...


class Updates(Protocol):
    def update(self, item: Any, form: dict[str, str]) -> Any: ...


class Deletes(Protocol):
    def delete(self, item: Any) -> None: ...


class ListResponse(JSONResponse):
    """A list page, encoded by orjson: the same JSON as the standard encoder's, several times faster
    on a 1000-item page (the sandbox should cost the gateway's benchmarks little beyond its latency)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


@dataclass
class Endpoints:
    """A 2010 list path and (optionally) its instance path, served from the spec and a behaviour."""

    spec: Spec
    list_path: str
    instance_path: str | None
    behaviour: Behaviour
    _frozen: dict[str, orjson.Fragment] = field(default_factory=dict)
    """The list JSON of settled items, by sid."""

    def routes(self, sandbox: Host) -> list[Route]:
        routes = []
        list_methods = [m for m in self.spec.methods(self.list_path) if self._implements(m, False)]
        if list_methods:
            routes.append(Route(self.list_path, self._handler(sandbox, False), methods=list_methods))
        if self.instance_path is not None:
            methods = [m for m in self.spec.methods(self.instance_path) if self._implements(m, True)]
            routes.append(Route(self.instance_path, self._handler(sandbox, True), methods=methods))
        return routes

    def _implements(self, method: str, instance: bool) -> bool:
        if method == "GET":
            return True
        if method == "POST":
            return hasattr(self.behaviour, "update" if instance else "create")
        return instance and hasattr(self.behaviour, "delete")

    def _handler(self, sandbox: Host, instance: bool) -> Callable[[Request], Any]:
        path = self.instance_path if instance else self.list_path
        assert path is not None

        async def endpoint(request: Request) -> Response:
            params = dict(request.path_params)
            user = sandbox.authenticate(request, params.get("AccountSid"))
            params.setdefault("AccountSid", user)  # a path without one (Accounts.json) acts for the caller
            for name, value in params.items():
                pattern = self.spec.path_pattern(path, name)
                if pattern is not None and not pattern.fullmatch(value):
                    raise not_found(request)
            form = await read_form(request) if request.method == "POST" else {}
            with sandbox.store.lock:
                self.behaviour.refresh()
                if not instance:
                    if request.method == "GET":
                        return self._list(sandbox, request, params)
                    return self._create(params, form)
                item = self.behaviour.find(params)
                if item is None:
                    raise not_found(request)
                return self._instance(request.method, path, item, form)

        return endpoint

    def _list(self, sandbox: Host, request: Request, params: Mapping[str, str]) -> Response:
        query = request.query_params
        given = [(name, query[name]) for name in self.spec.filters(self.list_path) if name in query]
        schemas = self.spec.parameters(self.list_path, "get", "query")
        for name, value in given:
            _check_value(name, value, schemas[name])
        tests = [
            (self.behaviour.filters[name], value) for name, value in given if name in self.behaviour.filters
        ]

        def keep(item: Any) -> bool:
            return all(test(item, value) for test, value in tests)

        if len(tests) == 1:  # the usual case, without a generator per item
            [(only, wanted)] = tests

            def keep(item: Any) -> bool:
                return only(item, wanted)

        props = self.spec.list_item_properties(self.list_path)
        scope = self.behaviour.scope(params)
        span = getattr(self.behaviour, "span", None)
        span_in = getattr(self.behaviour, "span_in", None)
        among = getattr(self.behaviour, "among", None)
        items, links = sandbox._list(
            request,
            scope,
            self._renderer(props),
            keep,
            given,
            span_in(scope, given)
            if span_in is not None and scope is not None
            else span(given)
            if span
            else None,
            among(scope, given) if among is not None and scope is not None else None,
        )
        return sandbox._flat(self.spec.items_key(self.list_path), items, links)

    def _renderer(self, props: tuple[tuple[str, bool], ...]) -> Callable[[Any], Any]:
        """An item of a list page; an item that can no longer change (``settled``) is encoded once,
        and not asked again whether it is settled."""
        settled = getattr(self.behaviour, "settled", None)
        render, frozen = self.behaviour.render, self._frozen

        def rendered(item: Any) -> Any:
            found = frozen.get(item.sid)
            if found is not None:
                return found
            if settled is None or not settled(item):
                return _complete(render(item), props)
            encoded = orjson.dumps(_complete(render(item), props))
            found = orjson.Fragment(bytes(memoryview(encoded)))  # orjson's own buffer holds ~8 KB
            frozen[item.sid] = found
            return found

        return rendered

    def prime(self) -> int:
        """Encodes every settled item now (seeded lists: each page is then assembled from encoded
        items). A behaviour that lists its items (``everything``) and can tell settled ones."""
        everything = getattr(self.behaviour, "everything", None)
        if everything is None or getattr(self.behaviour, "settled", None) is None:
            return 0
        rendered = self._renderer(self.spec.list_item_properties(self.list_path))
        for item in everything():
            rendered(item)
        return len(self._frozen)

    def warm(self) -> None:
        """Lets the behaviour take what it keeps until a list changes (the Calls index): after every
        list is primed, since priming one may build a list and so count as a change."""
        warm = getattr(self.behaviour, "warm", None)
        if warm is not None:
            warm()

    def _create(self, params: Mapping[str, str], form: dict[str, str]) -> Response:
        self._check_form(self.list_path, "post", form)
        creates: Creates = self.behaviour  # type: ignore[assignment]
        item = creates.create(params, form)
        body = _complete(self.behaviour.render(item), self.spec.instance_properties(self.list_path, "post"))
        return JSONResponse(body, status_code=self.spec.success(self.list_path, "post"))

    def _instance(self, method: str, path: str, item: Any, form: dict[str, str]) -> Response:
        if method == "DELETE":
            deletes: Deletes = self.behaviour  # type: ignore[assignment]
            deletes.delete(item)
            return Response(status_code=self.spec.success(path, "delete"))
        if method == "POST":
            self._check_form(path, "post", form)
            updates: Updates = self.behaviour  # type: ignore[assignment]
            item = updates.update(item, form)
        body = _complete(self.behaviour.render(item), self.spec.instance_properties(path, method))
        return JSONResponse(body, status_code=self.spec.success(path, method))

    def _check_form(self, path: str, method: str, form: Mapping[str, str]) -> None:
        required, props = self.spec.form(path, method)
        for name in required:
            if not form.get(name):
                raise ApiError(400, 21604, f"Required parameter {name} missing.")
        for name, value in form.items():
            if name in props:
                _check_value(name, value, props[name])


def _check_value(name: str, value: str, schema: Mapping[str, Any]) -> None:
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        raise ApiError(400, 20001, f"{name} must be one of {', '.join(map(str, enum))}")
    if schema.get("type") == "integer" and not value.lstrip("-").isdigit():
        raise ApiError(400, 20001, f"{name} must be an integer")
    form = schema.get("format")
    if form in ("date", "date-time") and not _is_date(value, form == "date"):
        raise ApiError(
            400, 20001, f"{name} must be a {'date (YYYY-MM-DD)' if form == 'date' else 'date-time'}"
        )


def _is_date(value: str, day_only: bool) -> bool:
    """``YYYY-MM-DD``; where a date-time is allowed, the API also takes a bare date."""
    if len(value) == 10:
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return True
    if day_only:
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _complete(body: dict[str, Any], properties: tuple[tuple[str, bool], ...]) -> dict[str, Any]:
    """Every property the spec lists, in the spec's order; ``null`` for those the resource lacks, except
    where the spec forbids null (an enum such as ``reason_conference_ended``, which the real API sends as
    null while a conference runs): such a property is left out."""
    return {name: body.get(name) for name, nullable in properties if nullable or body.get(name) is not None}
