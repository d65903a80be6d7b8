"""The whole 2008-08-01 REST surface, read from the reference pages themselves: every resource URI and
every method they name is served by the gateway (not its own 404, not 405), and every method a page
marks "Not supported" answers 405.

The pages are parsed, not transcribed: a section's URIs are its ``> /2008-08-01/…`` lines (templates
with ``{…}`` placeholders, or examples with sids), its methods are its ``GET``/``PUT or POST``/``HTTP
DELETE`` headings, and a method whose text says "Not supported" must be refused. Placeholders and the
docs' (often shortened) sids become well-formed sids of the same kind; the account is ours. A 404 counts
as served only when the gateway asked the upstream (the item is unknown there), never when the gateway
itself did not know the path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import httpx
import pytest

from tests.conftest import ACCOUNT, REFERENCE, CountingTransport

_URI = re.compile(
    r"^(?:>\s*)?(?:(GET|POST|PUT|DELETE)\s+)?(?:https://api\.twilio\.com)?(/2008-08-01/\S+?)(?:\s+HTTP/1\.1)?\s*$"
)
_SECTION = re.compile(r"^#{2,3}\s+(.*)$")
_HEADING = re.compile(r"^#{1,6}\s")
_METHOD_HEADING = re.compile(
    r"^#{4,5}\s+(?:HTTP\s+)?((?:GET|POST|PUT|DELETE)(?:\s+or\s+(?:GET|POST|PUT|DELETE))?)\s*(?:\{#[^}]*\})?\s*$"
)
_NOT_SUPPORTED = re.compile(r"not\s+supported", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"^\{(\w+)\}(.*)$")
_DOCS_SID = re.compile(r"^([A-Z]{2})[0-9a-fA-F]+(?:\.\.\.)?(\.[a-z0-9]+)?$")
PLACEHOLDER_KINDS = {
    "YourAccountSid": "AC",
    "AccountSid": "AC",
    "CallSid": "CA",
    "YourCallSid": "CA",
    "CallSegmentSid": "CA",
    "ConferenceSid": "CF",
    "RecordingSid": "RE",
    "TranscriptionSid": "TR",
    "NotificationSid": "NO",
    "SMSMessageSid": "SM",
    "ShortCodeSid": "SC",
    "OutgoingCallerIdSid": "PN",
    "IncomingPhoneNumberSid": "PN",
}
"""What each placeholder of the pages names; a new one fails the walk until it is added here."""


@dataclass
class Section:
    page: str
    title: str
    uris: list[str] = field(default_factory=list)
    methods: dict[str, bool] = field(default_factory=dict)
    """Method → supported (False: the page says "Not supported")."""
    examples: list[tuple[str, str]] = field(default_factory=list)


def sections(page: str, text: str) -> list[Section]:
    found = [Section(page, "")]
    lines = text.splitlines()
    for index, line in enumerate(lines):
        title = _SECTION.match(line)
        if title:
            found.append(Section(page, title.group(1).strip()))
            continue
        heading = _METHOD_HEADING.match(line)
        if heading:
            body = []
            for following in lines[index + 1 :]:
                if _HEADING.match(following):
                    break
                body.append(following)
            supported = _NOT_SUPPORTED.search("\n".join(body)) is None
            for method in heading.group(1).split(" or "):
                found[-1].methods[method] = supported
            continue
        uri = _URI.match(line.strip())
        if uri:
            path = uri.group(2).split("?", 1)[0]
            if uri.group(1):  # an example request keeps its query (``?_method=DELETE``)
                found[-1].examples.append((uri.group(1), uri.group(2)))
            if path not in found[-1].uris:
                found[-1].uris.append(path)
    return [s for s in found if s.uris or s.methods]


def _instance_of_list(section: Section, everything: list[Section]) -> str:
    """A page's instance section that names no URI (conferences.md): its list's URI + ``/{XSid}``."""
    word = section.title.split()[0]
    for other in everything:
        if other.title.startswith((word + " List", word + "s List")) and other.uris:
            return f"{other.uris[0]}/{{{word}Sid}}"
    raise AssertionError(f"{section.page}: {section.title!r} names no URI and has no list section")


def expectations() -> list[tuple[str, str, str, int | None]]:
    """(page, method, URI, 405 or None for "served"), each once."""
    seen: dict[tuple[str, str], tuple[str, int | None]] = {}
    for path in sorted(REFERENCE.glob("*.md")):
        parsed = sections(path.name, path.read_text())
        for section in parsed:
            primary = section.uris[0] if section.uris else _instance_of_list(section, parsed)
            wanted = [(m, primary, None if ok else 405) for m, ok in section.methods.items()]
            wanted += [("GET", u, None) for u in section.uris if u != primary or "GET" not in section.methods]
            wanted += [(m, uri, None) for m, uri in section.examples]
            for method, uri, status in wanted:
                key = (method, concrete(uri))
                if key not in seen or status == 405:
                    seen[key] = (section.page, status)
    return [(page, method, uri, status) for (method, uri), (page, status) in sorted(seen.items())]


def concrete(uri: str) -> str:
    """Placeholders and the docs' (often shortened) sids → well-formed sids of the same kind."""
    path, mark, query = uri.partition("?")
    return "/".join(_segment(part) for part in path.split("/")) + mark + query


def _segment(part: str) -> str:
    found = _PLACEHOLDER.match(part)
    if found:
        kind = PLACEHOLDER_KINDS.get(found.group(1))
        assert kind is not None, f"placeholder {part} names no known kind of sid"
        return _sid(kind) + found.group(2)
    found = _DOCS_SID.match(part)
    return _sid(found.group(1)) + (found.group(2) or "") if found else part


def _sid(kind: str) -> str:
    return ACCOUNT if kind == "AC" else kind + "0" * 32


CASES = expectations()


def test_the_walk_covers_every_page_with_a_uri() -> None:
    for path in REFERENCE.glob("*.md"):
        named = "/2008-08-01/Accounts" in path.read_text()
        assert named == any(s.uris for s in sections(path.name, path.read_text())), path.name
    assert len(CASES) > 60
    assert ("accounts.md", "DELETE", f"/2008-08-01/Accounts/{ACCOUNT}", 405) in CASES
    assert ("calls.md", "PUT", "/2008-08-01/Accounts/" + ACCOUNT + "/Calls", 405) in CASES


def test_the_parser_reads_uris_methods_and_refusals() -> None:
    page = """### Thing Instance Resource
#### Resource URI
> /2008-08-01/Accounts/{YourAccountSid}/Things/{ThingSid}
##### GET
> GET /2008-08-01/Accounts/AC309475e5fede1b49e100272a8640f438/Things/TH12ab... HTTP/1.1
##### PUT or POST
Changes it.
#### HTTP DELETE {#delete}
Not Supported.
#### HTTP POST Variables
"""
    (thing,) = sections("things.md", page)
    assert thing.uris[0] == "/2008-08-01/Accounts/{YourAccountSid}/Things/{ThingSid}"
    assert thing.methods == {"GET": True, "PUT": True, "POST": True, "DELETE": False}
    assert thing.examples == [
        ("GET", "/2008-08-01/Accounts/AC309475e5fede1b49e100272a8640f438/Things/TH12ab...")
    ]
    assert concrete(thing.examples[0][1]) == f"/2008-08-01/Accounts/{ACCOUNT}/Things/TH{'0' * 32}"
    assert concrete("/2008-08-01/Accounts/{AccountSid}/Calls/{CallSid}.csv?num=5") == (
        f"/2008-08-01/Accounts/{ACCOUNT}/Calls/CA{'0' * 32}.csv?num=5"
    )


@pytest.mark.parametrize(
    ("page", "method", "uri", "status"),
    CASES,
    ids=[f"{page}:{method}:{uri[len('/2008-08-01') :]}" for page, method, uri, _ in CASES],
)
async def test_served_as_the_docs_say(
    client: httpx.AsyncClient,
    upstream: CountingTransport,
    page: str,
    method: str,
    uri: str,
    status: int | None,
) -> None:
    upstream.reset()
    response = await client.request(method, uri)
    if status == 405:
        assert response.status_code == 405, f"{page} says {method} {uri} is not supported"
        return
    assert response.status_code != 405, f"{page} names {method} {uri}; the gateway refuses the method"
    gateway_404 = response.status_code == 404 and upstream.count() == 0
    assert not gateway_404, f"{page} names {method} {uri}; the gateway does not serve it"
