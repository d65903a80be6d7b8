"""Upstream JSON objects → legacy records, driven by a resource's :class:`~gateway.resources.Shape`.

Per field kind: ``phone`` NANP E.164 → ten digits (others unchanged, see :mod:`gateway.dialect.phone`);
``date`` ISO 8601 → RFC 2822 keeping the offset (RFC 2822 input passes through; what parses as neither
passes through unchanged and is logged); ``bool`` → ``true``/``false``; ``nested`` → child elements;
``self_uri`` → the gateway's own legacy URI of the item; ``map`` → through the field's named value map;
``flags`` → the bitwise OR of the mapped values of several keys; ``price`` → five decimals, sign kept;
numbers → their decimal text; null →
``None``. A resource with ``date_style="epoch"`` writes its dates as unix epoch seconds. A dotted key
(``parent.direction``) reads an object the service embedded in the item.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import format_datetime, parsedate_to_datetime
from typing import cast

import orjson

from gateway.dialect.document import Record, Value
from gateway.dialect.phone import to_legacy
from gateway.errors import BadGateway
from gateway.resources.model import DateStyle, Field, Resource, Shape

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


@functools.lru_cache(maxsize=4096)
def epoch(value: str) -> str:
    """``Mon, 02 Mar 2009 09:38:05 +0000`` (or ISO 8601) → ``1235986685``."""
    try:
        parsed = parsedate_to_datetime(value) if value[:1].isalpha() else datetime.fromisoformat(value)
    except (ValueError, TypeError):
        log.warning("date neither RFC 2822 nor ISO 8601, passed through unchanged: %r", value[:64])
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return str(int(parsed.timestamp()))


def _epoch(value: object, _: Mapping[str, str]) -> Value:
    return epoch(value) if isinstance(value, str) and value else scalar(value)


def _price(value: object, _: Mapping[str, str]) -> Value:
    """``-0.03`` (a number or its text) → ``-0.03000``; what is not a number passes through."""
    text = scalar(value)
    if not text:
        return text
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return text
    return f"{amount:.5f}" if amount.is_finite() else text


def lookup(item: Mapping[str, object], key: str) -> object:
    """``item[key]``; a dotted key walks into embedded objects."""
    if "." not in key:
        return item.get(key)
    node: object = item
    for part in key.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _mapped(field: Field) -> Converter:
    values = field.values
    if values is None:
        raise ValueError(f"field {field.legacy} of kind map declares no value map")

    def convert(value: object, _: Mapping[str, str]) -> Value:
        return values.legacy(scalar(value))

    return convert


def _phone(value: object, _: Mapping[str, str]) -> Value:
    return to_legacy(value) if isinstance(value, str) else scalar(value)


def _text(value: object, _: Mapping[str, str]) -> Value:
    return scalar(value)


def _converter(field: Field, resource: Resource | None) -> Converter:
    if field.kind == "phone":
        return _phone
    if field.kind == "price":
        return _price
    if field.kind == "date":
        style: DateStyle = resource.date_style if resource is not None else "rfc2822"
        return _epoch if style == "epoch" else _date
    if field.kind in ("map", "flags"):
        return _mapped(field)
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


Reader = Callable[[Mapping[str, object]], object]


def _reader(field: Field) -> Reader | None:
    """How a field reads its value from an item: one key, or the fallback, only-if, only-when and flag
    rules."""
    key, fallback, only_if, only_when = field.upstream, field.fallback, field.only_if, field.only_when
    if field.kind == "flags":
        keys = (key, *field.also)
        values = field.values
        assert values is not None

        def flags(item: Mapping[str, object]) -> object:
            bits = 0
            for name in keys:
                mapped = values.legacy(scalar(lookup(item, name)))
                bits |= int(mapped) if mapped and mapped.isdigit() else 0
            return None if bits == 0 and lookup(item, key) is None else bits

        return flags
    if fallback is None and only_if is None and only_when is None and "." not in key:
        return None  # the common case, read inline by the compiled record

    def read(item: Mapping[str, object]) -> object:
        if only_if is not None and lookup(item, only_if) is None:
            return None
        if only_when is not None and scalar(lookup(item, only_when[0])) not in only_when[1]:
            return None
        value = lookup(item, key)
        return lookup(item, fallback) if value is None and fallback is not None else value

    return read


def _compile(
    fields: tuple[Field, ...], resource: Resource | None
) -> Callable[[Mapping[str, object], Mapping[str, str]], Record]:
    """One function per shape that reads and converts its fields in straight-line code, made once
    (a generator over the fields cost half as much again per item). The declarations' values are
    bound by name, never written into the source."""
    names: dict[str, object] = {"scalar": scalar}
    parts = []
    for index, f in enumerate(fields):
        read, convert = _reader(f), _text if f.kind == "flags" else _converter(f, resource)
        names.update({f"key{index}": f.upstream, f"read{index}": read, f"legacy{index}": f.legacy})
        names[f"convert{index}"] = convert
        value = f"get(key{index})" if read is None else f"read{index}(item)"
        call = f"scalar({value})" if convert is _text else f"convert{index}({value}, context)"
        parts.append(f"(legacy{index}, {call}), ")
    source = f"def convert(item, context):\n    get = item.get\n    return ({''.join(parts)})\n"
    exec(compile(source, f"<record of {resource.name if resource else 'nested'}>", "exec"), names)
    return cast(Callable[[Mapping[str, object], Mapping[str, str]], Record], names["convert"])


class Translator:
    """Compiled once per (resource, shape); turns upstream objects into records."""

    def __init__(self, resource: Resource, shape: Shape) -> None:
        self.resource = resource
        self.shape = shape
        self._needs_sid = any(f.kind == "self_uri" for f in shape.fields)
        self._convert = _compile(shape.fields, resource)

    def record(self, item: object, context: Mapping[str, str]) -> Record:
        if type(item) is not dict and not isinstance(item, Mapping):  # decoded objects: no ABC check
            raise BadGateway("The upstream API answered with an unexpected body")
        if self._needs_sid:
            context = {**context, "Sid": str(item.get("sid") or "")}
        return self._convert(item, context)

    @functools.cached_property
    def secrets(self) -> tuple[str, ...]:
        """Upstream keys of the fields declared ``secret`` (credentials)."""
        return tuple(f.upstream for f in self.shape.fields if f.secret)

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
