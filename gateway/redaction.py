"""Credentials out of text: URLs, headers and parameters in log lines (:func:`redact`), AuthToken values
in recorded documents (:func:`redact_auth_tokens`), and the credential a request was sent with wherever
an answer echoes it, plainly or spelled with escapes (:func:`credentials_in`, :func:`scrub`).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import csv
import functools
import io
import re

_USERINFO = re.compile(r"(?<=//)[^/@\s]+@")
_AUTH_HEADER = re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(basic|bearer)?\s*[^\s\"',}]+")
_TOKEN_PARAM = re.compile(r"(?i)(authtoken|auth_token|password|token)=([^&\s\"']+)")


def redact(text: str) -> str:
    """Remove URL userinfo, Authorization values and token parameters from a string."""
    if "@" in text:
        text = _USERINFO.sub("****@", text)
    lowered = text.lower()
    if "authorization" in lowered:
        text = _AUTH_HEADER.sub(lambda m: m.group(1) + "****", text)
    if "token" in lowered or "password" in lowered:
        text = _TOKEN_PARAM.sub(lambda m: m.group(1) + "=****", text)
    return text


_AUTH_TOKEN_NAME = re.compile(r"(?i)auth[-_]?token")
_AUTH_TOKEN_MARKUP = (
    re.compile(r"(?is)(<(auth_?token)\b[^>/]*>)(.*?)(</\2\s*>)"),  # XML, also a CDATA section
    re.compile(r"""(?is)(<(\w+)\b[^>]*\bclass\s*=\s*["']auth-token["'][^>]*>)(.*?)(</\2\s*>)"""),  # HTML
)
_AUTH_TOKEN_JSON = re.compile(r'(?i)("auth_?token"\s*:\s*)("(?:[^"\\]|\\.)*")')
_AUTH_TOKEN_HEADER = re.compile(r'(?i)(?:^|,)"?auth_?token"?(?:,|\r?$)')


def redact_auth_tokens(text: str) -> str:
    """Every non-empty AuthToken value in a document written as XML (``<AuthToken>``), HTML
    (``class="auth-token"``), JSON (``"AuthToken"``/``"auth_token"``) or CSV (an ``AuthToken`` column)
    replaced by ``****``: an account list carries its subaccounts' tokens, not only the caller's own."""
    if ("k" not in text and "K" not in text) or _AUTH_TOKEN_NAME.search(text) is None:
        return text  # a case-blind search is slow; a search for one character is not
    if "<" in text:
        for pattern in _AUTH_TOKEN_MARKUP:
            text = pattern.sub(lambda m: m[1] + ("****" if m[3] else "") + m[4], text)
    if '"' in text:
        text = _AUTH_TOKEN_JSON.sub(lambda m: m[1] + ('"****"' if m[2] != '""' else m[2]), text)
    if _AUTH_TOKEN_HEADER.search(text.partition("\n")[0]):
        text = _csv_without_tokens(text)
    return text


def _csv_without_tokens(text: str) -> str:
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return text
    columns = {i for i, name in enumerate(rows[0]) if _AUTH_TOKEN_NAME.fullmatch(name.strip())}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(rows[0])
    writer.writerows(
        ["****" if i in columns and value else value for i, value in enumerate(row)] for row in rows[1:]
    )
    return out.getvalue()


_SHORTEST_SECRET = 8
"""Parts shorter than this are not scrubbed on their own: they would match ordinary text."""


@functools.lru_cache(maxsize=256)
def credentials_in(authorization: str | None) -> tuple[bytes, ...]:
    """What an echo of an ``Authorization`` value could carry, longest first: the raw value, its
    credentials part (the base64 of ``sid:token``) and, for Basic, the decoded pair and the token."""
    if not authorization:
        return ()
    raw = authorization.strip()
    found = {raw}
    scheme, _, credentials = raw.partition(" ")
    credentials = credentials.strip()
    found.add(credentials)
    if scheme.lower() == "basic":
        try:
            pair = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            pair = ""
        found.update((pair, pair.partition(":")[2]))
    variants = {text.replace("/", "\\/") for text in found} | found  # JSON may escape '/'
    parts = (text.encode() for text in variants if len(text) >= _SHORTEST_SECRET)
    return tuple(sorted(parts, key=len, reverse=True))


def scrub(body: bytes, secrets: tuple[bytes, ...]) -> bytes:
    """``body`` with every secret replaced by ``****`` (the same object when none occurs), also one
    spelled with escapes (JSON ``\\u0054``, ``\\/``; XML ``&#84;``, ``&#x54;``): the
    search also runs over the body with those decoded, and each escape a secret touches goes with it."""
    if not secrets:
        return body
    if b"\\u" in body or b"\\/" in body or b"&#" in body:
        return _scrub_escaped(body, secrets)
    for secret in secrets:
        if secret in body:
            body = body.replace(secret, b"****")
    return body


_MARKERS = (b"\\u", b"\\/", b"&#")
_ESCAPE = re.compile(rb"\\u([0-9a-fA-F]{4})|\\(/)|&#[xX]([0-9a-fA-F]{1,6});|&#([0-9]{1,7});")


def _escapes_in(body: bytes) -> list[re.Match[bytes]]:
    """The escapes in ``body``, in order; found with ``find`` (a regex scan of every byte is slow)."""
    found = []
    for marker in _MARKERS:
        at = body.find(marker)
        while at >= 0:
            match = _ESCAPE.match(body, at)
            if match is not None:
                found.append(match)
            at = body.find(marker, at + 1)
    return sorted(found, key=lambda match: match.start())


def _unescaped(match: re.Match[bytes]) -> bytes | None:
    """The bytes an escape stands for (``None`` for one that cannot hide a secret: a surrogate)."""
    json_code, solidus, xml_hex, xml_decimal = match.groups()
    if solidus:
        return b"/"
    code = int(json_code or xml_hex, 16) if (json_code or xml_hex) else int(xml_decimal)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code).encode()


def _scrub_escaped(body: bytes, secrets: tuple[bytes, ...]) -> bytes:
    escapes = _Escapes(body)
    hidden = [escapes.widened(start, start + len(s)) for s in secrets for start in _occurrences(body, s)]
    if escapes.text is not body:
        hidden += (
            (escapes.raw(start)[0], escapes.raw(start + len(s) - 1)[1])
            for s in secrets
            for start in _occurrences(escapes.text, s)
        )
    if not hidden:
        return body
    out: list[bytes] = []
    kept = 0
    for first, last in sorted(hidden):
        if first > kept or not out:
            out += (body[kept:first], b"****")
        kept = max(kept, last)
    out.append(body[kept:])
    return b"".join(out)


class _Escapes:
    """A body with its escapes decoded (:attr:`text`), and where each decoded escape came from."""

    def __init__(self, body: bytes) -> None:
        self.starts: list[int] = []  # in the decoded text
        self.spans: list[tuple[int, int, int]] = []  # decoded end, raw start, raw end
        pieces: list[bytes] = []
        size = raw = 0
        for match in _escapes_in(body):
            plain = _unescaped(match)
            if plain is None:
                continue
            pieces += (body[raw : match.start()], plain)
            size += match.start() - raw
            self.starts.append(size)
            size += len(plain)
            self.spans.append((size, match.start(), match.end()))
            raw = match.end()
        self.text = b"".join([*pieces, body[raw:]]) if pieces else body

    def raw(self, index: int) -> tuple[int, int]:
        """The raw span the decoded byte at ``index`` came from: its escape, or the one byte."""
        at = bisect.bisect_right(self.starts, index) - 1
        if at < 0:
            return index, index + 1
        decoded_end, raw_start, raw_end = self.spans[at]
        if index < decoded_end:
            return raw_start, raw_end
        offset = raw_end + index - decoded_end
        return offset, offset + 1

    def widened(self, first: int, last: int) -> tuple[int, int]:
        """A raw span grown to take whole every escape it cuts into."""
        for _, raw_start, raw_end in self.spans:
            if raw_start < first < raw_end:
                first = raw_start
            if raw_start < last < raw_end:
                last = raw_end
        return first, last


def _occurrences(text: bytes, secret: bytes) -> list[int]:
    found, start = [], text.find(secret)
    while start >= 0:
        found.append(start)
        start = text.find(secret, start + 1)
    return found
