"""Reading a list page that is only counted: its items with the fields a count reads, no others.

A count reads every page of a list once to learn how many items it holds and where each block
starts, never to answer with them. A page of 1000 calls is about 2 MB of JSON, and building every
field of every item costs more than everything else the count does. Here the page is decoded
(msgspec, docs/performance.md) into its envelope's items and paging link, each item an object of
:func:`gateway.lists.upstream_items.fields_read` alone; the other fields are checked as JSON and skipped.
An item that is not an object is kept as decoded, as a full read keeps it.
"""

from __future__ import annotations

from functools import cache, partial
from typing import Any, TypedDict

import msgspec

from gateway.errors import BadGateway
from gateway.lists.upstream_items import fields_read
from gateway.resources import Resource
from gateway.upstream.client import Parse

JSON_VALUE = list[Any] | str | int | float | bool | None


def parser(resource: Resource) -> Parse:
    """The reader of the resource's list pages, one per items key and set of fields."""
    return _parser(resource.paging.items_key, fields_read(resource))


@cache
def _parser(items_key: str, fields: tuple[str, ...]) -> Parse:
    shape: Any = TypedDict  # a type built from the declaration at run time
    item = shape("item", dict.fromkeys(fields, Any), total=False)
    items: Any = list[item | JSON_VALUE]  # type: ignore[valid-type]
    envelope = {items_key: items, "next_page_uri": Any, "meta": Any}
    decoder = msgspec.json.Decoder(shape("page", envelope, total=False))
    return partial(skim, decoder=decoder)


def skim(body: bytes, decoder: msgspec.json.Decoder[Any]) -> Any:
    """The page as ``decoder`` reads it, or :class:`BadGateway` for a body that is not a list page.
    Deep nesting ends in ``RecursionError``, and text that is not UTF-8 in a kept field in
    ``UnicodeDecodeError``: both are answers no upstream should give."""
    try:
        return decoder.decode(body)
    except msgspec.ValidationError:
        raise BadGateway("The upstream API answered with an unexpected list body") from None
    except (msgspec.DecodeError, ValueError, RecursionError):
        raise BadGateway("The upstream API answered with a body that is not JSON") from None
