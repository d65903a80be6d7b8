"""The vocabulary of the declarations: a resource is data in these terms, never a code path.

A :class:`Resource` says where a 2008 resource lives in the legacy URL space and upstream, which methods
it takes and what they become (:class:`Operation`), how each upstream field is named, ordered and
converted in the legacy document (:class:`Field`, :class:`Shape`, :class:`ValueMap`), which parameters
a request may carry and how they are renamed, mapped or compared (:class:`Param`), and how the upstream
pages, orders and scopes its lists (:class:`Paging`, :class:`Order`, ``upstream_query``, ``owned_by``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from gateway.resources.listing import Order, Paging

LEGACY_PREFIX = "/2008-08-01"

PATH_SIDS: Mapping[str, str] = MappingProxyType(
    {
        "AccountSid": "AC",
        "TrunkSid": "TK",
        "CallSid": "CA",
        "ConferenceSid": "CF",
        "RecordingSid": "RE",
    }
)
"""The sid prefix of every named path parameter; a resource's own ``{Sid}`` has ``Resource.sid_prefix``."""


def sid_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(prefix + r"[0-9a-fA-F]{32}")


SID_PATTERNS: Mapping[str, re.Pattern[str]] = MappingProxyType(
    {name: sid_pattern(prefix) for name, prefix in PATH_SIDS.items()}
)

Kind = Literal["text", "phone", "date", "bool", "nested", "self_uri", "map", "flags", "price"]
"""``map``: through the field's :class:`ValueMap`; ``flags``: the bitwise OR of the mapped values of
``upstream`` and every key in ``also``; ``price``: an amount with five decimals, sign kept (2008's
``-0.03000``); the rest as in :mod:`gateway.dialect.translate`."""
Action = Literal["fetch", "update", "delete", "list", "create"]
DateStyle = Literal["rfc2822", "epoch"]
"""How a resource writes its dates: RFC 2822 (every 2008 resource) or unix epoch seconds (transcriptions)."""
Answer = Literal["document", "media", "text"]
"""What an operation answers: a legacy document, upstream bytes streamed through (recording audio), or
one field of the upstream item as bare text (a transcription's ``.txt``)."""
Compare = Literal["=", ">=", "<="]
COMPARE_SUFFIX: Mapping[str, str] = MappingProxyType({"=": "", ">=": ">", "<=": "<"})
"""``StartTime>=D`` arrives (form-decoded) as the name ``StartTime>``; 2010 spells it the same way."""


@dataclass(frozen=True)
class ValueMap:
    """A named two-way map between upstream and legacy values.

    ``out`` turns an upstream value into its legacy one (``default`` for one not in the map; ``None``
    passes it through). ``into`` turns a legacy value into one or more upstream values (several: the
    legacy value fans out to several upstream queries); without ``into`` it is ``out`` inverted, in
    ``out``'s order. A legacy value in neither is refused, unless ``otherwise`` names its upstream value.
    """

    name: str
    out: Mapping[str, str]
    into: Mapping[str, tuple[str, ...]] | None = None
    default: str | None = None
    otherwise: tuple[str, ...] | None = None

    def legacy(self, value: str | None) -> str | None:
        if value is None:
            return None
        return self.out.get(value, self.default if self.default is not None else value)

    def upstream(self, value: str) -> tuple[str, ...] | None:
        found = self.reverse.get(value)
        return found if found is not None else self.otherwise

    @property
    def reverse(self) -> Mapping[str, tuple[str, ...]]:
        if self.into is not None:
            return self.into
        inverted: dict[str, tuple[str, ...]] = {}
        for upstream, legacy in self.out.items():
            inverted[legacy] = (*inverted.get(legacy, ()), upstream)
        return inverted


@dataclass(frozen=True)
class Field:
    upstream: str
    """The upstream key; a dotted key reads an embedded object (``parent.direction``)."""
    legacy: str
    kind: Kind = "text"
    children: tuple[Field, ...] = ()
    values: ValueMap | None = None
    also: tuple[str, ...] = ()
    fallback: str | None = None
    """Upstream key read when ``upstream`` is null or absent."""
    only_if: str | None = None
    """The value is shown only when this upstream key is set; otherwise the element is empty."""
    only_when: tuple[str, tuple[str, ...]] | None = None
    """(upstream key, values): the value is shown only when the key has one of these values; otherwise
    the element is empty, whatever the upstream sends (a call's EndTime: only for a completed call)."""
    secret: bool = False
    """A credential (an account's AuthToken): answered as an empty element whenever the gateway sends
    its own injected upstream credentials, so the injected secret never reaches a client."""


@dataclass(frozen=True)
class Shape:
    """A legacy element and its fields, in legacy order."""

    element: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Param:
    """A request parameter (form field, or list filter) and what it becomes upstream."""

    name: str
    required: bool = False
    phone: bool = False
    split_extension_to: str | None = None
    upstream: str | None = None
    """The upstream name when 2010 renamed it (``Caller`` → ``From``)."""
    values: ValueMap | None = None
    compare: tuple[Compare, ...] = ("=",)
    """Filters only: the comparisons accepted (``StartTime>=…`` is the name ``StartTime>``)."""
    date: bool = False
    """Filters only: the value is a ``YYYY-MM-DD`` date."""
    short_code: bool = False
    """With ``phone``: a five- or six-digit short code is taken as it is (sending-sms.md: To may be one)."""
    pattern: str | None = None
    """Form parameters only: the value must match this regular expression, else 400 with ``code``
    and ``refusal`` (``{value}`` is the value given)."""
    code: int | None = None
    refusal: str = "{value!r} is not accepted here"
    blank_absent: bool = False
    """A blank value is taken as not given (a 2008 library sends ``AreaCode=`` unless told one)."""
    missing: tuple[int, str] | None = None
    """Required parameters: the code and message when it is absent or blank, where a 2008 page gives
    them (response.md: no ``Called`` is 21201); otherwise 20001 and a message naming it."""

    @property
    def target(self) -> str:
        return self.upstream or self.name


@dataclass(frozen=True)
class Search:
    """How a create finds what to buy when the client names neither ``unless`` nor ``param``: one GET of
    an upstream list of what is available (``upstream`` with ``query``), whose items' ``field`` are
    bought in turn as the form parameter ``param``. Each purchase is one POST, never repeated; one the
    upstream refuses with a code in ``taken`` (that item went meanwhile) moves on to the next item. None
    found, or every one gone: 400 with ``code`` and ``refusal``."""

    unless: str
    upstream: str
    items_key: str
    field: str
    param: str
    taken: tuple[int, ...]
    code: int
    refusal: str
    query: tuple[tuple[str, str], ...] = ()

    def candidates(self, body: object) -> list[str]:
        """The values to buy by, in the upstream's order (none from a body not of the expected shape)."""
        items = body.get(self.items_key) if isinstance(body, Mapping) else None
        if not isinstance(items, list):
            return []
        found = [item.get(self.field) for item in items if isinstance(item, Mapping)]
        return [value for value in found if isinstance(value, str) and value]


@dataclass(frozen=True)
class AppUrl:
    """A request parameter holding a URL of the tenant's app that Twilio requests later. With callbacks
    on (docs/callbacks.md), a write puts a hook URL of ``kind`` in its place, which the gateway answers
    for the app; reads show the app's URL and method again."""

    param: str
    kind: str
    """The hook kind (``voice``, ``sms-status`` …: :class:`gateway.hooks.urls.Kind`)."""
    method: str | None = None
    """The legacy parameter naming the method the app wants (GET or POST)."""
    field: str | None = None
    """The upstream item field that shows the URL (``voice_url``)."""
    method_field: str | None = None
    carries: tuple[tuple[str, str], ...] = ()
    """(legacy parameter, hook extra name): values the hook keeps for its callbacks (IfMachine)."""
    status: str | None = None
    """A 2010 parameter set to a status hook that carries this URL (the call's ``StatusCallback``)."""


@dataclass(frozen=True)
class Operation:
    action: Action
    upstream_method: str
    params: tuple[Param, ...] = ()
    shape: Shape | None = None
    writes: bool = False
    answer: Answer = "document"
    content_type: str | None = None
    """``media`` and ``text``: the Content-Type of the answer (the 2008 one: ``audio/x-wav``)."""
    upstream: str | None = None
    """The upstream path template when not the resource's own: ``media``, the bytes; a write, where
    it posts (buying a local number posts to the generic ``IncomingPhoneNumbers.json``)."""
    text: str | None = None
    """``text``: the upstream key whose value is the whole answer."""
    search: Search | None = None
    """``create``: where to find what to buy when the client does not say (buying a number anywhere)."""
    created: str | None = None
    """``create``: the legacy list path whose instance the new item is, when not the resource's own (a
    number bought from ``/Local`` is ``/IncomingPhoneNumbers/{Sid}``): the 201's ``Location``."""
    public: bool = False
    """Answered without credentials too (the complete 2008 Recordings page: a recording's audio URL is
    public, so an app can embed it in a page or ``<Play>`` it): the upstream is asked without any, and
    only if the account enforces credentials on its media, with the gateway's own
    (:meth:`gateway.auth.Authorizer.media`)."""
    hides: bool = False
    """A DELETE the upstream cannot do (2010 keeps its notification log read-only): the gateway reads
    the item (404 if the upstream has none) and hides it from then on, from its instance and from
    every list of the account (:mod:`gateway.lists.hidden`)."""


@dataclass(frozen=True)
class Embed:
    """Another upstream object an item refers to, fetched and read as ``{name}.{key}`` by its fields."""

    key: str
    name: str
    upstream: str
    """Path template; ``{value}`` is the item's ``key``, the other names come from the legacy path."""


@dataclass(frozen=True, eq=False)
class Resource:
    name: str
    legacy_path: str
    list_element: str
    item: Shape
    host: Literal["api", "trunking"]
    upstream_list: str
    upstream_instance: str
    paging: Paging
    list_ops: Mapping[str, Operation]
    instance_ops: Mapping[str, Operation]
    filters: tuple[Param, ...] = ()
    sid_prefix: str = "PN"
    aliases: tuple[str, ...] = ()
    """Other legacy list paths of the same resource (the docs' singular ``/Conference/``)."""
    upstream_query: tuple[tuple[str, str], ...] = ()
    """Fixed upstream list parameters, templated from the legacy path (``ParentCallSid={CallSid}``)."""
    owned_by: tuple[tuple[str, str], ...] = ()
    """(item field, path parameter) pairs that must be equal, else 404 and left out of lists."""
    account_of: str | None = None
    """Sidecar mode: the item field naming the account an item is (the account list: ``sid``), for a
    resource whose path names no ``{AccountSid}``; items of other accounts are left out."""
    skip_if: tuple[str, ...] = ()
    """Items with any of these upstream fields set are left out of lists."""
    embed: Embed | None = None
    order: Order | None = None
    date_style: DateStyle = "rfc2822"
    suffix_ops: Mapping[str, Operation] = field(default_factory=lambda: MappingProxyType({}))
    """An instance GET by the suffix the client wrote (``""``: none) answered by this operation instead
    of a document (recordings.md: no suffix and ``.wav`` are the audio, ``.mp3`` too, ``.xml`` the
    ``<Recording>``). A suffix that is neither here nor a document format is 404."""
    app_urls: tuple[AppUrl, ...] = ()
    """The app URLs its writes set (wrapped) and its items show (unwrapped)."""
    _patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _sid: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        patterns = []
        for path in (self.legacy_path, *self.aliases):
            regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
            patterns.append(re.compile(regex + r"(?:/(?P<Sid>[^/]+))?"))
        object.__setattr__(self, "_patterns", tuple(patterns))
        object.__setattr__(self, "_sid", sid_pattern(self.sid_prefix))

    def match(self, path: str) -> dict[str, str] | None:
        """The path's parameters, or ``None``; a resource without instances claims no instance path."""
        for pattern in self._patterns:
            found = pattern.fullmatch(path)
            if found is not None and (found.group("Sid") is None or self.instance_ops):
                return {key: value for key, value in found.groupdict().items() if value is not None}
        return None

    def valid(self, name: str, value: str) -> bool:
        pattern = self._sid if name == "Sid" else SID_PATTERNS.get(name)
        return pattern is not None and pattern.fullmatch(value) is not None

    @property
    def hidden(self) -> bool:
        """Items of this resource can be hidden by the gateway (a DELETE the upstream cannot do)."""
        return any(operation.hides for operation in self.instance_ops.values())

    def instance_uri(self, params: Mapping[str, str]) -> str:
        return LEGACY_PREFIX + self.legacy_path.format(**params) + "/" + params["Sid"]


def field_(upstream: str, legacy: str, kind: Kind = "text") -> Field:
    return Field(upstream, legacy, kind)


def ops(table: Mapping[str, Operation]) -> Mapping[str, Operation]:
    return MappingProxyType(dict(table))


LIST = Operation("list", "GET")
FETCH = Operation("fetch", "GET")
DELETE = Operation("delete", "DELETE", writes=True)
HIDE = Operation("delete", "GET", writes=True, hides=True)
"""DELETE of an item the upstream keeps read-only: a deletion the gateway keeps (``hides``)."""
LIST_ONLY = ops({"GET": LIST})
"""A list that 2008 only reads."""
FETCH_ONLY = ops({"GET": FETCH})
"""An instance that 2008 only reads."""


BOOL_DIGIT = ValueMap("bool_digit", {"true": "1", "false": "0"})
"""2010 booleans as the 2008 ``1``/``0`` (StartConferenceOnEnter)."""
LENIENT_BOOL = ValueMap(
    "lenient_bool",
    {"true": "true", "false": "false"},
    into={"true": ("true",), "1": ("true",), "false": ("false",), "0": ("false",)},
    otherwise=("false",),
)
"""A 2008 boolean parameter: true/1 is true, anything else false (conferences.md, Muted)."""
