"""Semantic comparison of two legacy answers, aware of the legacy shapes (used by replay and shadow).

XML is compared element by element: tag, attributes (order ignored), stripped text, children in order
(the legacy API defines element order). JSON by key and index, CSV by row and column, anything else as
text; the status code always. Volatile values are masked on both sides before comparing:

    name:REGEX   mask every value whose element, attribute, key or column name fully matches REGEX
    value:REGEX  mask every value that fully matches REGEX

:data:`DEFAULT_MASKS` covers what differs between two runs of the same traffic: sids, dates,
validation codes, the Uri element and the page URIs (which carry the format and the page only).
:data:`SECRET_MASKS` are applied whatever the rules: an ``AuthToken`` is a credential (a recording holds
``****``, the live answer the token), so no difference report ever shows one.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from gateway.redaction import redact_auth_tokens

DEFAULT_MASKS = (
    "name:Sid|CallSid|DateCreated|DateUpdated|ValidationCode|Uri",
    "name:uri|firstpageuri|previouspageuri|nextpageuri|lastpageuri",
    "value:(PN|CA|AC|TK|AP)[0-9a-fA-F]{32}",
)
SECRET_MASKS = ("name:AuthToken",)
MASKED = "<masked>"


@dataclass(frozen=True)
class Mask:
    kind: str
    pattern: re.Pattern[str]

    @classmethod
    def parse(cls, rule: str) -> Mask:
        kind, sep, regex = rule.partition(":")
        if not sep or kind not in ("name", "value"):
            raise ValueError(f"mask rule {rule!r} must be name:REGEX or value:REGEX")
        try:
            return cls(kind, re.compile(regex))
        except re.error as exc:
            raise ValueError(f"mask rule {rule!r}: {exc}") from None


@dataclass(frozen=True)
class Difference:
    path: str
    expected: str | None
    actual: str | None

    def __str__(self) -> str:
        return f"{self.path} → expected {self.expected!r} vs actual {self.actual!r}"


class Masks:
    def __init__(self, rules: Sequence[str] = DEFAULT_MASKS) -> None:
        self.rules = [Mask.parse(rule) for rule in (*SECRET_MASKS, *rules)]

    def apply(self, name: str, value: str | None) -> str | None:
        if value is None:
            return None
        for rule in self.rules:
            subject = name if rule.kind == "name" else value
            if rule.pattern.fullmatch(subject):
                return MASKED
        return value


def compare(
    expected: tuple[int, str, bytes], actual: tuple[int, str, bytes], masks: Masks
) -> list[Difference]:
    """Each side is (status, content type, body)."""
    differences: list[Difference] = []
    if expected[0] != actual[0]:
        differences.append(Difference("status", str(expected[0]), str(actual[0])))
    kind = _kind(expected[1])
    if kind != _kind(actual[1]):
        differences.append(Difference("content-type", expected[1], actual[1]))
        return differences
    try:
        differences.extend(_BODY[kind](expected[2], actual[2], masks))
    except (ET.ParseError, json.JSONDecodeError, UnicodeDecodeError, csv.Error):
        differences.extend(_text(expected[2], actual[2], masks))
    return differences


def _kind(content_type: str) -> str:
    media = content_type.split(";", 1)[0].strip().lower()
    if media.endswith("xml") or media == "text/html":
        return "xml"  # the legacy HTML rendering is well-formed; if a page is not, it is compared as text
    if media.endswith("json"):
        return "json"
    if media == "text/csv":
        return "csv"
    return "text"


def _text(expected: bytes, actual: bytes, masks: Masks) -> Iterator[Difference]:
    """Bodies that could not be read as their kind are reported whole, without AuthToken values."""
    if expected != actual:
        left, right = (redact_auth_tokens(side.decode("utf-8", "replace")) for side in (expected, actual))
        yield Difference("body", left, right)


def _xml(expected: bytes, actual: bytes, masks: Masks) -> Iterator[Difference]:
    if not expected.strip() and not actual.strip():
        return
    left, right = ET.fromstring(expected), ET.fromstring(actual)
    yield from _xml_node(left, right, "/" + left.tag, masks)


def _child_paths(parent: str, children: list[ET.Element]) -> list[str]:
    counts: dict[str, int] = {}
    for child in children:
        counts[child.tag] = counts.get(child.tag, 0) + 1
    seen: dict[str, int] = {}
    paths = []
    for child in children:
        index = seen.get(child.tag, 0)
        seen[child.tag] = index + 1
        suffix = f"[{index}]" if counts[child.tag] > 1 else ""
        paths.append(f"{parent}/{child.tag}{suffix}")
    return paths


def _legacy_name(node: ET.Element) -> str:
    """The legacy element name, also for the HTML rendering (``<div class="date-created">``)."""
    css = node.get("class")
    if node.tag == "div" and css:
        return "".join(part.capitalize() for part in css.split("-"))
    return node.tag


def _xml_node(a: ET.Element, b: ET.Element, path: str, masks: Masks) -> Iterator[Difference]:
    if a.tag != b.tag:
        yield Difference(path, a.tag, b.tag)
        return
    for name in sorted(set(a.attrib) | set(b.attrib)):
        plain = name.removeprefix("data-")
        left, right = masks.apply(plain, a.get(name)), masks.apply(plain, b.get(name))
        if left != right:
            yield Difference(f"{path}/@{name}", left, right)
    children_a, children_b = list(a), list(b)
    if not children_a and not children_b:
        name = _legacy_name(a)
        left_text = masks.apply(name, (a.text or "").strip())
        right_text = masks.apply(name, (b.text or "").strip())
        if left_text != right_text:
            yield Difference(path, left_text, right_text)
        return
    paths_a, paths_b = _child_paths(path, children_a), _child_paths(path, children_b)
    for index in range(max(len(children_a), len(children_b))):
        if index >= len(children_a):
            yield Difference(paths_b[index], None, "present")
        elif index >= len(children_b):
            yield Difference(paths_a[index], "present", None)
        else:
            yield from _xml_node(children_a[index], children_b[index], paths_a[index], masks)


def _json(expected: bytes, actual: bytes, masks: Masks) -> Iterator[Difference]:
    yield from _json_value(json.loads(expected or b"null"), json.loads(actual or b"null"), "$", "", masks)


def _json_value(a: object, b: object, path: str, name: str, masks: Masks) -> Iterator[Difference]:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in b:
                yield Difference(f"{path}.{key}", "present", None)
            elif key not in a:
                yield Difference(f"{path}.{key}", None, "present")
            else:
                yield from _json_value(a[key], b[key], f"{path}.{key}", key, masks)
    elif isinstance(a, list) and isinstance(b, list):
        for index in range(max(len(a), len(b))):
            if index >= len(a) or index >= len(b):
                yield Difference(
                    f"{path}[{index}]",
                    "present" if index < len(a) else None,
                    "present" if index < len(b) else None,
                )
            else:
                yield from _json_value(a[index], b[index], f"{path}[{index}]", name, masks)
    else:
        left = masks.apply(name, None if a is None else str(a))
        right = masks.apply(name, None if b is None else str(b))
        masked = MASKED in (left, right)
        if left != right or (not masked and type(a) is not type(b)):
            yield Difference(path, left, right)


def _csv(expected: bytes, actual: bytes, masks: Masks) -> Iterator[Difference]:
    rows_a = list(csv.reader(io.StringIO(expected.decode("utf-8"), newline="")))
    rows_b = list(csv.reader(io.StringIO(actual.decode("utf-8"), newline="")))
    header_a = rows_a[0] if rows_a else []
    header_b = rows_b[0] if rows_b else []
    if header_a != header_b:
        yield Difference("header", ",".join(header_a), ",".join(header_b))
        return
    for index in range(1, max(len(rows_a), len(rows_b))):
        if index >= len(rows_a) or index >= len(rows_b):
            yield Difference(
                f"row[{index}]",
                "present" if index < len(rows_a) else None,
                "present" if index < len(rows_b) else None,
            )
            continue
        for column, left, right in zip(header_a, rows_a[index], rows_b[index], strict=False):
            if masks.apply(column, left) != masks.apply(column, right):
                yield Difference(f"row[{index}].{column}", left, right)


_BODY = {"xml": _xml, "json": _json, "csv": _csv, "text": _text}
