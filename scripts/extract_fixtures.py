"""Write the fixtures that come from outside material, once; fixtures/README.md names each one's source.

python scripts/extract_fixtures.py [SPECS]
    Copy the response examples of the official OpenAPI specs (default: gateway/sandbox/specs) into
    fixtures/upstream/.
python scripts/extract_fixtures.py --legacy-pages DIR
    Read the 2008-08-01 documentation pages in DIR (one markdown file per page, named as in PAGES) and write
    the facts the tests need into fixtures/legacy-2008-08-01/ and fixtures/golden/calls.csv.txt. The pages
    themselves stay out of the repository: only tables, examples and digests are written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
LEGACY = FIXTURES / "legacy-2008-08-01"
SPECS = ("twilio_api_v2010.outgoing_caller_ids.json", "twilio_trunking_v1.phone_numbers.json")
DOCS = "https://www.twilio.com/docs/api/2008-08-01/"
PAGES = {
    "accounts.md": DOCS + "rest/account",
    "calls.md": DOCS + "rest/call",
    "change-call-state.md": DOCS + "rest/change-call-state",
    "conferences.md": DOCS + "rest/conference",
    "incoming-phone-numbers.md": DOCS + "rest/incoming-phone-numbers",
    "index.md": DOCS + "rest",
    "making-calls.md": DOCS + "rest/making-calls",
    "notifications.md": DOCS + "rest/notification",
    "outgoing-caller-ids.md": DOCS + "rest/outgoing-caller-ids",
    "recordings.md": DOCS + "rest/recording",
    "request.md": DOCS + "rest/request",
    "response.md": DOCS + "rest/response",
    "sending-sms.md": DOCS + "rest/sending-sms",
    "short-codes.md": DOCS + "rest/short-codes",
    "sms.md": DOCS + "rest/sms",
    "tips.md": DOCS + "rest/tips",
    "transcriptions.md": DOCS + "rest/transcription",
    "twiml-request.md": DOCS + "twiml/twilio_request",
    "twiml-sms-request.md": DOCS + "twiml/sms/twilio_request",
}
"""The pages read, by the file name of their markdown source, and where each was published."""

# The surface: a section's URIs, its method headings, and whether a method's text says "Not supported".
_URI = re.compile(
    r"^(?:>\s*)?(?:(GET|POST|PUT|DELETE)\s+)?(?:https://api\.twilio\.com)?(/2008-08-01/\S+?)(?:\s+HTTP/1\.1)?\s*$"
)
_SECTION = re.compile(r"^#{2,3}\s+(.*)$")
_HEADING = re.compile(r"^#{1,6}\s")
_METHOD_HEADING = re.compile(
    r"^#{4,5}\s+(?:HTTP\s+)?((?:GET|POST|PUT|DELETE)(?:\s+or\s+(?:GET|POST|PUT|DELETE))?)\s*(?:\{#[^}]*\})?\s*$"
)
_NOT_SUPPORTED = re.compile(r"not\s+supported", re.IGNORECASE)

# Prose fingerprints: runs of SHINGLE words, winnowed over WINDOW consecutive runs, so that any copied run of
# SHINGLE + WINDOW - 1 words or more contains at least one fingerprint.
SHINGLE = 10
WINDOW = 16
_FENCE = re.compile(r"^\s*(?:~~~|```)")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass
class Section:
    page: str
    title: str
    uris: list[str] = field(default_factory=list)
    methods: dict[str, bool] = field(default_factory=dict)
    """Method → supported (False: the page says "Not supported")."""
    examples: list[tuple[str, str]] = field(default_factory=list)


def sections(page: str, text: str) -> list[Section]:
    """A page's sections that name a URI or a method: its ``> /2008-08-01/…`` lines and method headings."""
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


def surface(pages: Mapping[str, str]) -> dict[str, object]:
    listed = [
        {"page": name, "address": PAGES[name], "names_an_account_uri": "/2008-08-01/Accounts" in text}
        for name, text in pages.items()
    ]
    found = [asdict(s) for name, text in pages.items() for s in sections(name, text)]
    return {"pages": listed, "sections": found}


def notification_properties(text: str) -> list[str]:
    """The first column of notifications.md's property table, in its order."""
    rows = [line for line in text.splitlines() if line.startswith("| ") and "Property" not in line]
    return [row.split("|")[1].strip() for row in rows]


def tips_csv(text: str) -> str:
    """tips.md's Calls CSV example (header line, then one record over several lines), quote marks removed."""
    block = text.split("Would return: \n\n", 1)[1].split("\n\n", 1)[0]
    lines = [line.removeprefix(">") for line in block.splitlines()]
    return "\n".join(lines) + "\n"


def verbatim_goldens(pages: Mapping[str, str]) -> dict[str, dict[str, object]]:
    """Each golden found verbatim in a page: the pages holding it and the digest of its text."""
    found: dict[str, dict[str, object]] = {}
    for path in sorted((FIXTURES / "golden").iterdir()):
        text = path.read_text()
        holders = [name for name, page in pages.items() if text in page]
        if holders:
            found[path.name] = {"pages": holders, "sha256": hashlib.sha256(text.encode()).hexdigest()}
    return found


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def shingles(text: str) -> list[str]:
    """A digest of every run of SHINGLE consecutive words of the text."""
    found = words(text)
    runs = (" ".join(found[i : i + SHINGLE]) for i in range(len(found) - SHINGLE + 1))
    return [hashlib.blake2b(run.encode(), digest_size=8).hexdigest() for run in runs]


def prose(text: str) -> str:
    """A page without its fenced examples and its lines of markup or quoted requests."""
    kept, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and not line.strip().startswith(("<", ">")):
            kept.append(line)
    return "\n".join(kept)


def fingerprints(pages: Iterable[str], allowed: Iterable[str]) -> list[str]:
    """The winnowed shingles of the pages' prose, less any that also occur in the allowed texts."""
    chosen: set[str] = set()
    for text in pages:
        runs = shingles(prose(text))
        chosen.update(min(runs[i : i + WINDOW]) for i in range(max(len(runs) - WINDOW + 1, 0)))
    for text in allowed:
        chosen.difference_update(shingles(text))
    return sorted(chosen)


def read_pages(folder: Path) -> dict[str, str]:
    missing = [name for name in PAGES if not (folder / name).is_file()]
    if missing:
        raise SystemExit(f"{folder}: missing pages {', '.join(missing)}")
    return {name: (folder / name).read_text() for name in sorted(PAGES)}


def allowed_texts() -> list[str]:
    """Text the repository may share with the pages: the fixtures and Twilio's MIT-licensed specs."""
    folders = [FIXTURES / "golden", LEGACY, ROOT / "gateway" / "sandbox" / "specs"]
    return [path.read_text() for folder in folders for path in sorted(folder.glob("*")) if path.is_file()]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(path.relative_to(ROOT))


def write_json(path: Path, data: object) -> None:
    write(path, json.dumps(data, indent=2) + "\n")


def extract_legacy(folder: Path) -> None:
    pages = read_pages(folder)
    write_json(LEGACY / "surface.json", surface(pages))
    write_json(LEGACY / "notification-properties.json", notification_properties(pages["notifications.md"]))
    write(FIXTURES / "golden" / "calls.csv.txt", tips_csv(pages["tips.md"]))
    write_json(LEGACY / "verbatim-goldens.json", verbatim_goldens(pages))
    digests = fingerprints(pages.values(), allowed_texts())
    write(LEGACY / "prose-fingerprints.txt", "".join(d + "\n" for d in digests))


def extract_spec_examples(specs: Path) -> None:
    out = FIXTURES / "upstream"
    for name in SPECS:
        spec = json.loads((specs / name).read_text())
        for path, item in spec["paths"].items():
            for method, operation in item.items():
                if not isinstance(operation, dict) or "operationId" not in operation:
                    continue
                for status, response in operation["responses"].items():
                    content = response.get("content", {}).get("application/json", {})
                    for example, body in content.get("examples", {}).items():
                        payload = {
                            "source": f"{name} {method.upper()} {path} {status} {example}",
                            "status": int(status),
                            "body": body["value"],
                        }
                        write_json(out / f"{operation['operationId']}.{example}.json", payload)


def main() -> None:
    layout = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=layout)
    parser.add_argument("specs", nargs="?", type=Path, default=ROOT / "gateway" / "sandbox" / "specs")
    parser.add_argument("--legacy-pages", type=Path, metavar="DIR", help="folder of the 2008-08-01 pages")
    arguments = parser.parse_args()
    if arguments.legacy_pages:
        extract_legacy(arguments.legacy_pages)
    else:
        extract_spec_examples(arguments.specs)


if __name__ == "__main__":
    main()
