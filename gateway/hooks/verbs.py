"""What changes in a 2008 TwiML document for today's Twilio, one row per verb (the 2008 verb pages'
attribute tables, reduced to what changes).

Every URL becomes a hook URL of its kind, resolved against the document's URL first; the verb's method
attribute becomes POST (the hook endpoint's method) and the app's method travels in the hook. A verb
whose URL defaults to the current document (Gather, Record, an empty Redirect) gets that default
written out, with the verb's method or POST (the pages' default). ``<Play>`` URLs are made absolute,
phone numbers E.164 where they parse, 2008-only attributes dropped; unknown verbs pass unchanged.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

import phonenumbers

from gateway.dialect import phone
from gateway.errors import InvalidPhoneNumber

from .urls import Kind

Mint = Callable[[str, str, str, tuple[tuple[str, str], ...]], str]
"""``mint(kind, absolute app URL, method, extra) → hook URL``."""


@dataclass(frozen=True, slots=True)
class Context:
    doc_url: str
    mint: Mint
    region: str = "US"

    def absolute(self, url: str | None) -> str | None:
        """``url`` resolved against the document's URL; ``None`` when absent or blank."""
        text = (url or "").strip()
        return urljoin(self.doc_url, text) if text else None


@dataclass(frozen=True, slots=True)
class Link:
    attr: str | None
    """The attribute holding the URL; ``None``: the element's text."""
    kind: Kind
    method_attr: str | None = "method"
    """The attribute naming its method; ``None``: always POST."""
    default_here: bool = False
    """Absent or blank, it is the current document."""
    keep_empty: bool = False
    """An empty value means something (``waitUrl=""``: no hold music) and stays."""
    sets: tuple[tuple[str, str], ...] = ()
    """Attributes set whenever the link is present."""


@dataclass(frozen=True, slots=True)
class Rule:
    links: tuple[Link, ...] = ()
    numbers: tuple[str, ...] = ()
    number_text: bool = False
    absolute_text: bool = False
    drop: tuple[str, ...] = ()


Rules = Mapping[str, Rule]

VOICE_RULES: Rules = {
    "Response": Rule(drop=("version",)),
    "Gather": Rule(links=(Link("action", Kind.GATHER, default_here=True),)),
    "Record": Rule(
        links=(
            Link("action", Kind.RECORD, default_here=True),
            # twiml-record.md: the transcribeCallback is always POSTed, and implies transcription.
            Link("transcribeCallback", Kind.TRANSCRIBE, method_attr=None, sets=(("transcribe", "true"),)),
        )
    ),
    "Dial": Rule(links=(Link("action", Kind.DIAL),), numbers=("callerId",), number_text=True),
    "Number": Rule(links=(Link("url", Kind.VOICE),), number_text=True),
    "Conference": Rule(links=(Link("waitUrl", Kind.REDIRECT, method_attr="waitMethod", keep_empty=True),)),
    "Redirect": Rule(links=(Link(None, Kind.REDIRECT, default_here=True),)),
    "Play": Rule(absolute_text=True),
}
SMS_RULES: Rules = {
    "Response": Rule(drop=("version",)),
    # twiml-sms-sms.md; <Sms> is renamed <Message> first. Its statusCallback is always POSTed.
    "Message": Rule(
        links=(Link("action", Kind.SMS_ACTION), Link("statusCallback", Kind.SMS_STATUS, method_attr=None)),
        numbers=("to", "from"),
    ),
    "Redirect": Rule(links=(Link(None, Kind.SMS, default_here=True),)),
}


def method_of(value: str | None) -> str:
    """GET or POST; anything else, absent included, is POST (the pages' default)."""
    return "GET" if (value or "").strip().upper() == "GET" else "POST"


def e164(value: str, region: str = "US") -> str:
    """A number in E.164 when it is a valid number, or at least a possible one (the pages dial
    ``415-123-4567``), without extension; otherwise ``value`` unchanged."""
    text = value.strip()
    if not text:
        return value
    try:
        parsed = phone.parse(text, region=region)
    except InvalidPhoneNumber:
        pass
    else:
        return value if parsed.extension else parsed.e164
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return value
    if number.extension or not phonenumbers.is_possible_number(number):
        return value
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def apply(element: ET.Element, rules: Rules, ctx: Context) -> None:
    """Rewrites ``element`` and everything under it (depth bounded by the parser)."""
    rule = rules.get(element.tag)
    if rule is not None:
        _rewrite(element, rule, ctx)
    for child in element:
        apply(child, rules, ctx)


def _rewrite(element: ET.Element, rule: Rule, ctx: Context) -> None:
    for name in rule.drop:
        element.attrib.pop(name, None)
    for link in rule.links:
        _link(element, link, ctx)
    for name in rule.numbers:
        if name in element.attrib:
            element.set(name, e164(element.attrib[name], ctx.region))
    leaf = len(element) == 0 and bool((element.text or "").strip())
    if rule.number_text and leaf:
        element.text = e164(element.text or "", ctx.region)
    if rule.absolute_text and leaf:
        element.text = ctx.absolute(element.text)


def _link(element: ET.Element, link: Link, ctx: Context) -> None:
    text = element.text if len(element) == 0 else None
    raw = text if link.attr is None else element.get(link.attr)
    target = ctx.absolute(raw)
    if target is None:
        if (raw is not None and link.keep_empty) or not link.default_here:
            return
        target = ctx.doc_url
    method = method_of(element.get(link.method_attr)) if link.method_attr else "POST"
    url = ctx.mint(link.kind, target, method, ())
    if link.attr is None:
        element.text = url
    else:
        element.set(link.attr, url)
    if link.method_attr is not None:
        element.set(link.method_attr, "POST")
    for name, value in link.sets:
        element.set(name, value)
