"""The legacy app's answer → TwiML for today's Twilio.

What the app answers, as the 2008 pages read it (twiml-your-response.md, twiml-sms-your-response.md):
XML (``text/xml``, ``application/xml``, ``text/html``, ``*+xml``; with no Content-Type, a body that
starts with ``<``) is TwiML; ``text/plain`` is said and hung up on (voice) or sent back as one message
(SMS); ``audio/*`` is played and hung up on (voice). An empty answer to an SMS sends nothing. Anything
else, XML that does not parse, or a root other than ``<Response>`` raises :class:`TwimlError`: the
gateway then answers Twilio with an error status, so Twilio turns to the fallback URL.

Parsing is defusedxml's (no DTD at all, hence no entity expansion and no external entity), bounded
here too: the caller refuses bodies over :data:`MAX_BYTES` (64 KB) before reading further, and this
module refuses them again, and refuses nesting deeper than :data:`MAX_DEPTH` (TwiML needs 3) while
parsing, before any tree is walked. Output is always well-formed UTF-8 XML.

What changes is declared in :mod:`gateway.hooks.verbs`, one row per verb; everything else passes.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from email.message import Message as _Header

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from .urls import Kind
from .verbs import SMS_RULES, VOICE_RULES, Context, Mint, apply, e164, method_of

MAX_BYTES = 64 * 1024
MAX_DEPTH = 16
CONTENT_TYPE = "text/xml; charset=utf-8"
_XML_TYPES = ("text/xml", "application/xml", "text/html")
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class TwimlError(ValueError):
    """The app's answer is not TwiML the gateway can pass on."""


@dataclass(frozen=True, slots=True)
class Message:
    """An ``<Sms>`` of a voice document, for the gateway to send through Messages.json.

    ``to``/``from_`` in E.164 when they parse, ``None`` when the app left them out (twiml-sms.md: to the
    caller of an incoming call, the called party of an outgoing one; from the other). ``action`` is the
    app's absolute URL (not a hook: the call continues there through the gateway, with SmsSid and
    SmsStatus), ``method`` its method; ``status_callback`` a hook URL (kind ``sms-status``)."""

    body: str
    to: str | None = None
    from_: str | None = None
    action: str | None = None
    method: str = "POST"
    status_callback: str | None = None


@dataclass(frozen=True, slots=True)
class Rewritten:
    body: bytes
    messages: tuple[Message, ...] = ()
    content_type: str = CONTENT_TYPE


def document(*verbs: ET.Element) -> bytes:
    root = ET.Element("Response")
    root.extend(verbs)
    return _serialize(root)


def _verb(tag: str, text: str | None = None) -> ET.Element:
    element = ET.Element(tag)
    element.text = None if text is None else _NOT_XML_CHAR.sub("", text)
    return element


def rewrite_voice(
    body: bytes, content_type: str, doc_url: str, doc_method: str, mint: Mint, *, region: str = "US"
) -> Rewritten:
    """``doc_method`` is how the document was fetched; a verb's own URL defaults to the document's URL
    but to POST, whatever fetched it (twiml-gather.md, twiml-record.md, twiml-redirect.md)."""
    media = _media(body, content_type)
    if media == "text":
        text = _text(body, content_type).strip()
        verbs = [_verb("Say", text)] if text else []
        return Rewritten(document(*verbs, _verb("Hangup")))
    if media == "audio":
        return Rewritten(document(_verb("Play", doc_url), _verb("Hangup")))
    if media != "xml":
        raise TwimlError(f"a voice answer of type {content_type[:80]!r} is not TwiML")
    root = _parse(body)
    ctx = Context(doc_url=doc_url, mint=mint, region=region)
    messages = _take_messages(root, ctx)
    apply(root, VOICE_RULES, ctx)
    return Rewritten(_serialize(root), messages)


def rewrite_sms(
    body: bytes, content_type: str, doc_url: str, doc_method: str, mint: Mint, *, region: str = "US"
) -> Rewritten:
    """The answer to an incoming SMS (or to an SMS ``<Redirect>``) as Messaging TwiML."""
    if not body.strip():
        return Rewritten(EMPTY)
    media = _media(body, content_type)
    if media == "text":
        text = _text(body, content_type).strip()
        return Rewritten(document(_verb("Message", text)) if text else EMPTY)
    if media != "xml":
        raise TwimlError(f"an SMS answer of type {content_type[:80]!r} is not TwiML")
    root = _parse(body)
    for element in root.iter("Sms"):
        element.tag = "Message"
    apply(root, SMS_RULES, Context(doc_url=doc_url, mint=mint, region=region))
    return Rewritten(_serialize(root))


def _header(content_type: str) -> _Header:
    header = _Header()
    header["Content-Type"] = content_type
    return header


def _media(body: bytes, content_type: str) -> str:
    if not content_type.strip():
        return "xml" if body.lstrip().startswith(b"<") else "text"
    kind = _header(content_type).get_content_type()
    if kind in _XML_TYPES or kind.endswith("+xml"):
        return "xml"
    if kind == "text/plain":
        return "text"
    return "audio" if kind.startswith("audio/") else "other"


def _text(body: bytes, content_type: str) -> str:
    if len(body) > MAX_BYTES:
        raise TwimlError(f"an answer over {MAX_BYTES} bytes")
    charset = _header(content_type).get_content_charset() or "utf-8"
    try:
        text = body.decode(charset, "replace")
    except LookupError:
        text = body.decode("utf-8", "replace")
    return _NOT_XML_CHAR.sub("", text)


def _parse(body: bytes) -> ET.Element:
    if len(body) > MAX_BYTES:
        raise TwimlError(f"an answer over {MAX_BYTES} bytes")
    depth = 0
    root: ET.Element | None = None
    try:
        for event, element in SafeET.iterparse(io.BytesIO(body), ("start", "end"), forbid_dtd=True):
            if event == "end":
                depth -= 1
                continue
            depth += 1
            root = element if root is None else root
            if depth > MAX_DEPTH:
                raise TwimlError(f"TwiML nested deeper than {MAX_DEPTH}")
    except DefusedXmlException:
        raise TwimlError("TwiML with a DTD or entities is refused") from None
    except ET.ParseError as exc:
        raise TwimlError(f"not well-formed XML (line {exc.position[0]})") from None
    if root is None or root.tag != "Response":
        raise TwimlError("the root element is not <Response>")
    return root


def _serialize(root: ET.Element) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="unicode")).encode()


HANGUP = document(_verb("Hangup"))
EMPTY = document()


def _take_messages(root: ET.Element, ctx: Context) -> tuple[Message, ...]:
    """Takes the top-level ``<Sms>`` out of a voice document; after one with an action nothing else
    runs (twiml-sms.md: the call continues at the action)."""
    messages: list[Message] = []
    children = list(root)
    for index, element in enumerate(children):
        if element.tag != "Sms":
            continue
        root.remove(element)
        messages.append(_message(element, ctx))
        if messages[-1].action is not None:
            for rest in children[index + 1 :]:
                root.remove(rest)
            break
    return tuple(messages)


def _message(element: ET.Element, ctx: Context) -> Message:
    to, from_ = element.get("to"), element.get("from")
    callback = ctx.absolute(element.get("statusCallback"))
    return Message(
        body="".join(element.itertext()).strip(),
        to=e164(to, ctx.region) if to and to.strip() else None,
        from_=e164(from_, ctx.region) if from_ and from_.strip() else None,
        action=ctx.absolute(element.get("action")),
        method=method_of(element.get("method")),
        status_callback=None if callback is None else ctx.mint(Kind.SMS_STATUS, callback, "POST", ()),
    )
