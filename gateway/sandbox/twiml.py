"""TwiML as the sandbox reads it: a voice document's verbs and a messaging document's, checked against a
table of each verb's attributes (name, parser, default) and the elements it may hold.

A document that is not XML, has a DTD (parsed by defusedxml, which refuses them), or whose root is not
``<Response>`` is a parse failure (Twilio's error 12100); a verb or noun the table does not have, one
where it may not be, or an attribute value its parser refuses is a schema failure (12200). Attributes
the table does not list are ignored, as Twilio ignores them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

PARSE_FAILURE = 12100
SCHEMA_FAILURE = 12200


class TwimlError(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


@dataclass(frozen=True)
class Verb:
    """A verb (or noun): its name, its attributes parsed, its text and the elements it holds."""

    name: str
    attrs: Mapping[str, Any]
    text: str = ""
    children: tuple[Verb, ...] = field(default_factory=tuple)

    def __getitem__(self, name: str) -> Any:
        return self.attrs[name]


def method(value: str) -> str:
    upper = value.strip().upper()
    if upper not in ("GET", "POST"):
        raise ValueError("must be GET or POST")
    return upper


def integer(low: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        number = int(value.strip())
        if number < low:
            raise ValueError(f"must be an integer of at least {low}")
        return number

    return parse


def boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise ValueError("must be true or false")
    return lowered == "true"


def keys(allowed: str, single: bool) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if any(c not in allowed for c in value) or (single and len(value) > 1):
            raise ValueError(f"must be {'one' if single else 'some'} of {allowed} (or empty)")
        return value

    return parse


def text(value: str) -> str:
    return value.strip()


URL = (text, None)
METHOD = (method, "POST")
Attribute = tuple[Callable[[str], Any], Any]

VOICE: Mapping[str, tuple[Mapping[str, Attribute], tuple[str, ...]]] = {
    "Say": ({"voice": (text, "man"), "language": (text, "en"), "loop": (integer(0), 1)}, ()),
    "Play": ({"loop": (integer(0), 1)}, ()),
    "Pause": ({"length": (integer(0), 1)}, ()),
    "Gather": (
        {
            "action": URL,
            "method": METHOD,
            "timeout": (integer(1), 5),
            "finishOnKey": (keys("0123456789#*", True), "#"),
            "numDigits": (integer(1), None),
        },
        ("Say", "Play", "Pause"),
    ),
    "Record": (
        {
            "action": URL,
            "method": METHOD,
            "timeout": (integer(1), 5),
            "finishOnKey": (keys("0123456789#*", False), "1234567890*#"),
            "maxLength": (integer(1), 3600),
            "transcribe": (boolean, False),
            "transcribeCallback": URL,
            "playBeep": (boolean, True),
        },
        (),
    ),
    "Dial": (
        {
            "action": URL,
            "method": METHOD,
            "timeout": (integer(1), 30),
            "hangupOnStar": (boolean, False),
            "timeLimit": (integer(1), 14400),
            "callerId": (text, None),
        },
        ("Number", "Conference"),
    ),
    "Number": ({"sendDigits": (text, ""), "url": URL}, ()),
    "Conference": (
        {
            "muted": (boolean, False),
            "beep": (boolean, True),
            "startConferenceOnEnter": (boolean, True),
            "endConferenceOnExit": (boolean, False),
            "waitUrl": URL,
            "waitMethod": METHOD,
        },
        (),
    ),
    "Redirect": ({"method": METHOD}, ()),
    "Hangup": ({}, ()),
}
"""Each voice element: its attributes (parser, default) and the elements it may hold."""
VOICE_TOP = ("Say", "Play", "Pause", "Gather", "Record", "Dial", "Redirect", "Hangup")

MESSAGING: Mapping[str, tuple[Mapping[str, Attribute], tuple[str, ...]]] = {
    "Message": (
        {"to": (text, None), "from": (text, None), "action": URL, "method": METHOD, "statusCallback": URL},
        ("Body", "Media"),
    ),
    "Body": ({}, ()),
    "Media": ({}, ()),
    "Redirect": ({"method": METHOD}, ()),
}
"""``<Sms>`` (2010's verb) reads as ``<Message>``."""
MESSAGING_TOP = ("Message", "Redirect")
ALIASES = {"Sms": "Message"}


def make(name: str, text: str = "") -> Verb:
    """A voice verb with its defaults (what a text or audio answer stands for)."""
    return Verb(name, {attr: default for attr, (_, default) in VOICE[name][0].items()}, text)


def parse_voice(body: bytes) -> list[Verb]:
    return _parse(body, VOICE, VOICE_TOP, {})


def parse_messaging(body: bytes) -> list[Verb]:
    return _parse(body, MESSAGING, MESSAGING_TOP, ALIASES)


def _parse(
    body: bytes,
    table: Mapping[str, tuple[Mapping[str, Attribute], tuple[str, ...]]],
    top: tuple[str, ...],
    aliases: Mapping[str, str],
) -> list[Verb]:
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException:
        raise TwimlError(PARSE_FAILURE, "Document parse failure: a DTD is not allowed") from None
    except ET.ParseError as exc:
        raise TwimlError(PARSE_FAILURE, f"Document parse failure: {exc}") from None
    if root.tag != "Response":
        raise TwimlError(
            PARSE_FAILURE, f"Document parse failure: the root element is <{root.tag}>, not <Response>"
        )
    return [_element(child, table, top, aliases) for child in root]


def _element(
    node: ET.Element,
    table: Mapping[str, tuple[Mapping[str, Attribute], tuple[str, ...]]],
    allowed: tuple[str, ...],
    aliases: Mapping[str, str],
) -> Verb:
    name = aliases.get(node.tag, node.tag)
    if name not in allowed or name not in table:
        raise TwimlError(SCHEMA_FAILURE, f"Schema validation failure: <{node.tag}> is not allowed here")
    attributes, nested = table[name]
    attrs: dict[str, Any] = {}
    for attr, (parse, default) in attributes.items():
        raw = node.get(attr)
        try:
            attrs[attr] = default if raw is None else parse(raw)
        except ValueError as exc:
            raise TwimlError(
                SCHEMA_FAILURE, f"Schema validation failure: <{node.tag} {attr}={raw!r}>: {exc}"
            ) from None
    children = tuple(_element(child, table, nested, aliases) for child in node)
    return Verb(name, attrs, (node.text or "").strip(), children)
