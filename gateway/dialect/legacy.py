"""Turn a raw 2008-08-01 request into a plain :class:`LegacyRequest`.

Accepted forms that real legacy clients send: ``POST …?_method=PUT|DELETE`` (also in the form body);
an optional ``.xml``/``.json``/``.csv``/``.html`` suffix; duplicate slashes (``//2008-08-01/…``); a bare
trailing ``?``; empty POST bodies; form parameters in the body of a GET. Parameter names are
case-sensitive. Query parameters come first, body parameters after them; for a name given twice the
last value wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode

from gateway.errors import BadRequest, NotFound, UnsupportedMediaType
from gateway.resources import LEGACY_PREFIX, SUFFIXES

FORMATS = ("xml", "json", "csv", "html")
_SLASHES = re.compile(r"/{2,}")
_SUFFIX = re.compile(r"\.([A-Za-z0-9]+)$")
_OVERRIDES = ("PUT", "DELETE")
_FORM_TYPES = ("", "application/x-www-form-urlencoded")


@dataclass(frozen=True, slots=True)
class LegacyRequest:
    method: str
    path: str
    """Below the legacy prefix, no suffix: ``/Accounts/AC…/OutgoingCallerIds``."""
    fmt: str
    explicit: bool
    """Whether the client wrote the suffix (page URIs keep it)."""
    params: dict[str, str]
    authorization: str | None = None
    suffix: str | None = None
    """A suffix that some instance answers other than as a document (``wav``, ``mp3``, ``txt``)."""
    range: str | None = None
    """The client's ``Range`` header (passed up with recording audio)."""
    if_range: str | None = None
    """The client's ``If-Range`` header (passed up with ``Range``)."""

    def uri(self, query: list[tuple[str, str]] | None = None) -> str:
        """A gateway URI in the legacy form for this path, keeping the client's suffix."""
        uri = LEGACY_PREFIX + self.path + (f".{self.fmt}" if self.explicit else "")
        return uri + ("?" + urlencode(query) if query else "")


def normalise_path(raw: str) -> str:
    return _SLASHES.sub("/", raw)


def check_segments(raw_path: str) -> None:
    """Refuse what a server or proxy further on could read as another path: ``.`` and ``..``
    segments, plain or percent-encoded, and encoded slashes or backslashes inside a segment."""
    for segment in raw_path.split("/"):
        if "." in segment or "%" in segment or "\\" in segment:
            decoded = unquote(segment)
            if decoded in (".", "..") or "/" in decoded or "\\" in decoded:
                raise BadRequest("The request path must not contain '.' or '..' segments or encoded slashes")


def account_of(path: str) -> str | None:
    """The AccountSid a legacy path addresses (``/2008-08-01/Accounts/{sid}[.fmt][/…]``), else ``None``."""
    parts = path[len(LEGACY_PREFIX) :].split("/", 3)
    if not path.startswith(LEGACY_PREFIX + "/") or len(parts) < 3 or parts[1] != "Accounts":
        return None
    return suffix(parts[2])[0] if len(parts) == 3 else parts[2]


def suffix(path: str) -> tuple[str, str | None]:
    """``…/OutgoingCallerIds.json`` → (``…/OutgoingCallerIds``, ``json``); any suffix, never raises."""
    last = path.rsplit("/", 1)[-1]
    found = _SUFFIX.search(last)
    if found is None:
        return path, None
    return path[: found.start() + len(path) - len(last)], found.group(1).lower()


def split_format(path: str) -> tuple[str, str, bool]:
    """``…/OutgoingCallerIds.json`` → (``…/OutgoingCallerIds``, ``json``, explicit)."""
    below, fmt = suffix(path)
    if fmt is None:
        return path, "xml", False
    if fmt not in FORMATS:
        raise NotFound(f"The requested format .{fmt} is not supported")
    return below, fmt, True


def _decode_pairs(raw: bytes | str, where: str) -> list[tuple[str, str]]:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return parse_qsl(text, keep_blank_values=True, strict_parsing=False, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest(f"The {where} is not valid UTF-8") from None


def parse_params(query: bytes | str, body: bytes, content_type: str) -> list[tuple[str, str]]:
    pairs = _decode_pairs(query, "query string") if query else []
    if body:
        media = content_type.split(";", 1)[0].strip().lower()
        if media not in _FORM_TYPES:
            raise UnsupportedMediaType()
        pairs.extend(_decode_pairs(body, "request body"))
    return pairs


def effective_method(method: str, params: dict[str, str]) -> str:
    override = params.pop("_method", None)
    if override is None or override.upper() == method:
        return method
    upper = override.upper()
    if method != "POST" or upper not in _OVERRIDES:
        raise BadRequest(f"_method={override} is not allowed; use POST with _method=PUT or DELETE")
    return upper


def parse(
    method: str,
    raw_path: str,
    query: bytes | str,
    body: bytes,
    content_type: str = "",
    authorization: str | None = None,
    range_: str | None = None,
    if_range: str | None = None,
) -> LegacyRequest:
    path = normalise_path(raw_path)
    if not path.startswith(LEGACY_PREFIX + "/"):
        raise NotFound()
    below, other = suffix(path[len(LEGACY_PREFIX) :].rstrip("/"))
    if other in SUFFIXES:
        fmt, explicit = "xml", False
    else:
        below, fmt, explicit = split_format(path[len(LEGACY_PREFIX) :].rstrip("/"))
        other = None
    params = dict(parse_params(query, body, content_type))
    verb = effective_method(method.upper(), params)
    return LegacyRequest(verb, below, fmt, explicit, params, authorization, other, range_, if_range)
