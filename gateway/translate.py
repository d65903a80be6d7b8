"""Upstream JSON objects → legacy records, driven by a resource's :class:`~gateway.resources.Shape`.

Per field kind: ``phone`` NANP E.164 → ten digits (others unchanged, see :mod:`gateway.phone`);
``date`` ISO 8601 → RFC 2822 keeping the offset (RFC 2822 input passes through; what parses as neither
passes through unchanged and is logged); ``bool`` → ``true``/``false``; ``nested`` → child elements;
``self_uri`` → the gateway's own legacy URI of the item; numbers → their decimal text; null → ``None``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime

import orjson

from .document import Record, Value
from .errors import BadGateway
from .phone import to_legacy
from .resources import Field, Resource, Shape

log = logging.getLogger("gateway.translate")

Converter = Callable[[object, Mapping[str, str]], Value]


def scalar(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


@functools.lru_cache(maxsize=4096)
def rfc2822(value: str) -> str:
    """``2010-12-10T17:27:34Z`` → ``Fri, 10 Dec 2010 17:27:34 +0000``."""
    if not value or value[0].isalpha():
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        log.warning("date not in ISO 8601, passed through unchanged: %r", value[:64])
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return format_datetime(parsed.replace(microsecond=0))


def _date(value: object, _: Mapping[str, str]) -> Value:
    return rfc2822(value) if isinstance(value, str) else scalar(value)


def _phone(value: object, _: Mapping[str, str]) -> Value:
    return to_legacy(value) if isinstance(value, str) else scalar(value)


def _text(value: object, _: Mapping[str, str]) -> Value:
    return scalar(value)


def _converter(field: Field, resource: Resource | None) -> Converter:
    if field.kind == "phone":
        return _phone
    if field.kind == "date":
        return _date
    if field.kind == "nested":
        children = _compile(field.children, resource)

        def nested(value: object, context: Mapping[str, str]) -> Value:
            if not isinstance(value, Mapping):
                return scalar(value)
            return children(value, context)

        return nested
    if field.kind == "self_uri" and resource is not None:
        owner = resource

        def self_uri(value: object, context: Mapping[str, str]) -> Value:
            sid = context.get("Sid")
            return owner.instance_uri(context) if sid else scalar(value)

        return self_uri
    return _text


def _compile(
    fields: tuple[Field, ...], resource: Resource | None
) -> Callable[[Mapping[str, object], Mapping[str, str]], Record]:
    plan = tuple((f.upstream, f.legacy, _converter(f, resource)) for f in fields)

    def convert(item: Mapping[str, object], context: Mapping[str, str]) -> Record:
        return tuple((legacy, conv(item.get(key), context)) for key, legacy, conv in plan)

    return convert


class Translator:
    """Compiled once per (resource, shape); turns upstream objects into records."""

    def __init__(self, resource: Resource, shape: Shape) -> None:
        self.resource = resource
        self.shape = shape
        self._needs_sid = any(f.kind == "self_uri" for f in shape.fields)
        self._convert = _compile(shape.fields, resource)

    def record(self, item: object, context: Mapping[str, str]) -> Record:
        if not isinstance(item, Mapping):
            raise BadGateway("The upstream API answered with an unexpected body")
        if self._needs_sid:
            context = {**context, "Sid": str(item.get("sid") or "")}
        return self._convert(item, context)

    @functools.cached_property
    def columns(self) -> tuple[str, ...]:
        names: list[str] = []
        for f in self.shape.fields:
            if f.kind == "nested":
                names.extend(f"{f.legacy}.{child.legacy}" for child in f.children)
            else:
                names.append(f.legacy)
        return tuple(names)


@functools.cache
def translator(resource: Resource, shape: Shape | None = None) -> Translator:
    return Translator(resource, shape or resource.item)
