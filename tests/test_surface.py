"""The whole 2008-08-01 REST surface as the reference pages give it: every resource URI and every method
they name is served by the gateway (not its own 404, not 405), and every method a page marks "Not
supported" answers 405. What a documented request creates (201) is named by its ``Location`` header,
which the gateway then serves.

The pages were parsed, not transcribed, by ``scripts/extract_fixtures.py`` into
``fixtures/legacy-2008-08-01/surface.json``: a section's URIs are its ``> /2008-08-01/…`` lines (templates
with ``{…}`` placeholders, or examples with sids), its methods are its ``GET``/``PUT or POST``/``HTTP
DELETE`` headings, and a method whose text says "Not supported" must be refused. Placeholders and the
docs' (often shortened) sids become well-formed sids of the same kind; the account is ours. A 404 counts
as served only when the gateway asked the upstream (the item is unknown there), never when the gateway
itself did not know the path.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from scripts.extract_fixtures import Section, sections
from tests.conftest import ACCOUNT, LEGACY, CountingTransport

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

SURFACE: dict[str, Any] = json.loads((LEGACY / "surface.json").read_text())


def page_sections() -> dict[str, list[Section]]:
    """Each page read, with its sections that name a URI or a method, in page order."""
    found: dict[str, list[Section]] = {entry["page"]: [] for entry in SURFACE["pages"]}
    for entry in SURFACE["sections"]:
        examples = [(method, uri) for method, uri in entry["examples"]]
        section = Section(entry["page"], entry["title"], entry["uris"], entry["methods"], examples)
        found[entry["page"]].append(section)
    return found


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
    pages = page_sections()
    for parsed in (pages[name] for name in sorted(pages)):
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


COMPLETE_PAGES = [
    (
        "notifications.md (complete copy)",
        "DELETE",
        f"/2008-08-01/Accounts/{ACCOUNT}/Notifications/NO{'0' * 32}",
        None,
    ),
]
"""What complete copies of pages the surface file has only in part state beyond that part: (page,
method, URI, 405 or None for "served"), checked as the walked ones are."""

CASES = expectations() + COMPLETE_PAGES


def test_the_walk_covers_every_page_with_a_uri() -> None:
    parsed = page_sections()
    for entry in SURFACE["pages"]:
        named = entry["names_an_account_uri"]
        assert named == any(s.uris for s in parsed[entry["page"]]), entry["page"]
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
    if response.status_code == 201:  # response.md: "Its URL is given in the http Location header"
        created = await client.get(response.headers["location"])
        assert created.status_code == 200, f"{method} {uri} created {response.headers['location']}"
