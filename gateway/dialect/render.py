"""Legacy documents in each format: XML (default), JSON, CSV and HTML. The only place that knows escaping.

XML policy: output is always well-formed XML 1.0 in UTF-8. ``&``, ``<``, ``>`` are escaped in text, and
``"`` too in attributes. A carriage return is written as ``&#13;`` (and tab and newline in attributes as
``&#9;``/``&#10;``) so parsers hand back the exact string. Characters XML 1.0 cannot carry at all (C0
controls other than tab/newline/return, lone surrogates, U+FFFE, U+FFFF) are replaced by U+FFFD, the
Unicode replacement character; ``xmltodict.unparse`` would write them verbatim and produce a document no
parser accepts. Empty and null values are written ``<Tag/>``. The HTML rendering replaces the same
characters the same way: it is well-formed XML too.

CSV cells are written as they are, as 2008 did; with ``formula_escape`` (``GATEWAY_CSV_FORMULA_ESCAPE``)
a cell a spreadsheet would take for a formula — one that begins with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return and is not a plain number such as ``+14158675309`` — gets a ``'`` in front and quotes
around it (OWASP's advice on CSV injection): an inbound SMS body is written by whoever texts the number.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterable
from typing import cast

import orjson

from gateway.dialect.document import Document, Instance, Listing, Record, Value

XML_PROLOG = '<?xml version="1.0" encoding="UTF-8"?>\n'
CONTENT_TYPES = {
    "xml": "application/xml",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
}

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT_SPECIAL = re.compile("[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ATTR_SPECIAL = re.compile('[&<>"\t\n\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')


def xml_text(value: str) -> str:
    if _TEXT_SPECIAL.search(value) is None:
        return value
    value = _ILLEGAL.sub("\ufffd", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def xml_attr(value: str) -> str:
    if _ATTR_SPECIAL.search(value) is None:
        return value
    value = xml_text(value).replace('"', "&quot;")
    return value.replace("\t", "&#9;").replace("\n", "&#10;")


def _xml_record(out: list[str], record: Record) -> None:
    for name, value in record:
        if value is None or value == "":
            out.append(f"<{name}/>")
        elif isinstance(value, str):
            out.append(f"<{name}>{xml_text(value)}</{name}>")
        else:
            out.append(f"<{name}>")
            _xml_record(out, value)
            out.append(f"</{name}>")


def xml_item(element: str, record: Record) -> str:
    parts: list[str] = []
    texts: list[Value] = []
    for name, value in record:  # one pass: the element as if nothing needed escaping, and its texts
        if value:
            texts.append(value)
            parts.append(f"<{name}>{value}</{name}>")
        else:
            parts.append(f"<{name}/>")
    try:
        plain = _TEXT_SPECIAL.search("".join(cast(list[str], texts))) is None
    except TypeError:  # a nested record: take the general path
        plain = False
    if plain:  # the common case, one regex search per item instead of one per value
        return f"<{element}>{''.join(parts)}</{element}>"
    out: list[str] = [f"<{element}>"]
    _xml_record(out, record)
    out.append(f"</{element}>")
    return "".join(out)


def to_xml(doc: Document) -> bytes:
    out: list[str] = [XML_PROLOG, "<TwilioResponse>"]
    if isinstance(doc, Listing):
        attrs = "".join(f' {name}="{xml_attr(value)}"' for name, value in doc.attrs)
        if doc.records:
            out.append(f"<{doc.element}{attrs}>")
            out.extend(xml_item(doc.item, record) for record in doc.records)
            out.append(f"</{doc.element}>")
        else:
            out.append(f"<{doc.element}{attrs}/>")
    elif isinstance(doc, Instance):
        out.append(xml_item(doc.element, doc.record))
    else:
        out.append(xml_item("RestException", doc.record))
    out.append("</TwilioResponse>\n")
    return "".join(out).encode("utf-8")


def _json_value(value: Value) -> object:
    if value is None or isinstance(value, str):
        return value
    return {name: _json_value(child) for name, child in value}


def _json_record(record: Record) -> dict[str, object]:
    return {name: _json_value(value) for name, value in record}


def to_json(doc: Document) -> bytes:
    body: dict[str, object]
    if isinstance(doc, Listing):
        body = {doc.element: [{doc.item: _json_record(record)} for record in doc.records]}
        body.update(doc.attrs)
    elif isinstance(doc, Instance):
        body = {doc.element: _json_record(doc.record)}
    else:
        body = {"RestException": _json_record(doc.record)}
    return orjson.dumps({"TwilioResponse": body})


def _flat_names(record: Record, prefix: str = "") -> Iterable[str]:
    for name, value in record:
        if isinstance(value, tuple):
            yield from _flat_names(value, f"{prefix}{name}.")
        else:
            yield prefix + name


def _flat_values(record: Record) -> Iterable[str]:
    for _, value in record:
        if isinstance(value, tuple):
            yield from _flat_values(value)
        else:
            yield "" if value is None else value


_FORMULA_LEADERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")


def formula_safe(value: str) -> str:
    """A cell a spreadsheet would evaluate, defused: ``'`` in front (the writer quotes it)."""
    if value.startswith(_FORMULA_LEADERS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def to_csv(doc: Document, columns: tuple[str, ...] = (), formula_escape: bool = False) -> bytes:
    """Header row of legacy element names (nested ones as ``Parent.Child``), one row per item."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    records: list[Record]
    if isinstance(doc, Listing):
        records = doc.records
    elif isinstance(doc, Instance):
        records = [doc.record]
    else:
        records = [doc.record]
    header = list(_flat_names(records[0])) if records else list(columns)
    writer.writerow(header)
    rows = (list(_flat_values(record)) for record in records)
    if not formula_escape:
        writer.writerows(rows)
        return buffer.getvalue().encode("utf-8")
    quoted = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    for row in rows:
        safe = [formula_safe(value) for value in row]
        (quoted if safe != row else writer).writerow(safe)
    return buffer.getvalue().encode("utf-8")


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def dash(name: str) -> str:
    """``AccountSid`` → ``account-sid``; ``OutgoingCallerIds`` → ``outgoing-caller-ids``."""
    return _CAMEL.sub("-", name).lower()


def html_text(value: str) -> str:
    """HTML-escaped, and what XML 1.0 cannot carry replaced as :func:`xml_text` does (a carriage
    return written ``&#13;``): the page stays well-formed."""
    if _TEXT_SPECIAL.search(value) is None and '"' not in value and "'" not in value:
        return value
    return html.escape(_ILLEGAL.sub("\ufffd", value)).replace("\r", "&#13;")


def html_attr(value: str) -> str:
    return html_text(value).replace("\t", "&#9;").replace("\n", "&#10;")


def _html_record(out: list[str], element: str, record: Record, attrs: str = "") -> None:
    out.append(f'<div class="{dash(element)}"{attrs}>')
    for name, value in record:
        if isinstance(value, tuple):
            _html_record(out, name, value)
        else:
            text = "" if value is None else html_text(value)
            out.append(f'<div class="{dash(name)}">{text}</div>')
    out.append("</div>")


def to_html(doc: Document, status: int) -> bytes:
    out = [f'<html><head><title>{status}</title></head><body class="twilio-response">']
    if isinstance(doc, Listing):
        attrs = "".join(f' data-{name}="{html_attr(value)}"' for name, value in doc.attrs)
        out.append(f'<div class="{dash(doc.element)}"{attrs}>')
        for record in doc.records:
            _html_record(out, doc.item, record)
        out.append("</div>")
    elif isinstance(doc, Instance):
        _html_record(out, doc.element, doc.record)
    else:
        _html_record(out, "RestException", doc.record)
    out.append("</body></html>")
    return "".join(out).encode("utf-8", "replace")


def render(
    doc: Document, fmt: str, status: int, columns: tuple[str, ...] = (), *, formula_escape: bool = False
) -> tuple[bytes, str]:
    if fmt == "json":
        body = to_json(doc)
    elif fmt == "csv":
        body = to_csv(doc, columns, formula_escape)
    elif fmt == "html":
        body = to_html(doc, status)
    else:
        body = to_xml(doc)
        fmt = "xml"
    return body, CONTENT_TYPES[fmt]
