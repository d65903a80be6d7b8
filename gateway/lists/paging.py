"""Legacy paging (``page``/``num`` windows with totals) over token-paged, total-less upstream lists:
the request's paging parameters, the window arithmetic and the page URIs. The walk itself — views,
block cursors, counting — is :mod:`gateway.lists.views` over :mod:`gateway.lists.walk` (docs/paging.md).

Window semantics (docs/paging.md): ``start = page × pagesize``, ``end = start + count − 1``,
``numpages = ceil(total / pagesize)``. An empty list, or a page past the end, is a 200 with no items,
the same formulas (so ``end = start − 1``), an empty ``nextpageuri`` and ``lastpageuri`` on page
``max(numpages − 1, 0)``. While a very long list is still being counted (``more``), ``total`` is
the count so far and ``numpages`` has one page more than it covers, so no client stops early.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from gateway.errors import BadRequest

DEFAULT_NUM = 50
MAX_NUM = 1000
UPSTREAM_PAGE_SIZE = 1000
MAX_LINK_BYTES = 4096
"""An upstream next-page link longer than this is refused (502): a link growing on every page."""
VIEW_PARAM = "view"
"""The query parameter of the page URIs naming the walk's view (docs/paging.md)."""


@dataclass(frozen=True, slots=True)
class Window:
    page: int
    pagesize: int
    total: int
    more: bool = False
    """The list goes on past ``total`` (still being counted)."""

    @property
    def numpages(self) -> int:
        return -(-self.total // self.pagesize) + (1 if self.more else 0)

    @property
    def start(self) -> int:
        return self.page * self.pagesize

    @property
    def count(self) -> int:
        return max(0, min(self.pagesize, self.total - self.start))

    @property
    def end(self) -> int:
        return self.start + self.count - 1

    @property
    def last_page(self) -> int:
        return max(self.numpages - 1, 0)

    def attrs(self) -> tuple[tuple[str, str], ...]:
        return (
            ("page", str(self.page)),
            ("numpages", str(self.numpages)),
            ("pagesize", str(self.pagesize)),
            ("total", str(self.total)),
            ("start", str(self.start)),
            ("end", str(self.end)),
        )


MAX_DIGITS = 9
"""``page`` and ``num`` above 999,999,999 are refused (and never reach ``int``, which refuses 4,300+
digits with a ValueError)."""


def _whole(name: str, raw: str) -> int:
    """ASCII digits only: ``str.isdigit`` also takes ``²`` and ``١٢``."""
    text = raw.strip(" \t")
    significant = text.lstrip("0")
    if not (text.isascii() and text.isdigit()) or len(significant) > MAX_DIGITS:
        least = 1 if name == "num" else 0
        raise BadRequest(f"{name} must be a whole number from {least} to {10**MAX_DIGITS - 1}")
    return int(significant or "0")


def requested(params: dict[str, str]) -> tuple[int, int]:
    """Pops ``page`` (or ``Page``) and ``num`` from the parameters: (page, num)."""
    raw_page = params.pop("page", None)
    alias = params.pop("Page", None)
    raw_page = raw_page if raw_page is not None else alias
    raw_num = params.pop("num", None)
    page = _whole("page", raw_page) if raw_page not in (None, "") else 0
    num = _whole("num", raw_num) if raw_num not in (None, "") else DEFAULT_NUM
    if num < 1:
        raise BadRequest("num must be a whole number of at least 1")
    return page, min(num, MAX_NUM)


def page_uris(
    window: Window,
    uri: Callable[[list[tuple[str, str]]], str],
    filters: list[tuple[str, str]],
    view: str | None = None,
) -> tuple[tuple[str, str], ...]:
    tail = [(VIEW_PARAM, view)] if view else []

    def at(page: int) -> str:
        return uri([("num", str(window.pagesize)), ("page", str(page)), *filters, *tail])

    has_next = window.page < window.numpages - 1
    return (
        ("uri", at(window.page)),
        ("firstpageuri", at(0)),
        ("previouspageuri", at(min(window.page, window.last_page + 1) - 1) if window.page else ""),
        ("nextpageuri", at(window.page + 1) if has_next else ""),
        ("lastpageuri", at(window.last_page)),
    )


def credentials_digest(authorization: str | None) -> str:
    return hashlib.sha256((authorization or "").encode()).hexdigest()
