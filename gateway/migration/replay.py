"""``python -m gateway replay FILE.har``: replay recorded legacy requests against a gateway and diff the
answers semantically (:mod:`gateway.migration.diff`).

Credentials come from the environment (``REPLAY_ACCOUNT_SID``/``REPLAY_AUTH_TOKEN``, else
``TWILIO_ACCOUNT_SID``/``TWILIO_AUTH_TOKEN``; against the embedded sandbox they default to the sandbox's),
never from the file. Without ``--against`` a fresh gateway on its sandbox is started in this process.
Writes (POST/PUT/DELETE and ``_method`` overrides) are skipped unless ``--allow-writes``, and so is the
verdict on a later read of the same resource whose answer differs: it reflects the write that did not
happen. Entries always replay one at a time in recorded order. Sids the target hands out in
place of recorded ones are learned from each answer and substituted into later requests, so a recorded
create-then-fetch sequence replays against a fresh upstream.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from gateway.migration import diff, har

SID = re.compile(r"\b(?:PN|CA|TK|AP)[0-9a-fA-F]{32}\b")
WRITES = frozenset({"POST", "PUT", "DELETE"})
ANY_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")
SKIPPED_WRITE = "write not replayed without --allow-writes"
AFTER_WRITE = "differs after a skipped write to the same resource"
REPORTS = {".xml": "junit", ".html": "html", ".htm": "html"}


@dataclass
class Result:
    index: int
    method: str
    path: str
    skipped: str | None = None
    error: str | None = None
    differences: list[diff.Difference] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"#{self.index} {self.method} {self.path}"

    @property
    def failed(self) -> bool:
        return not self.skipped and (bool(self.differences) or self.error is not None)


def collection(path: str) -> str:
    """The list a legacy path belongs to: format suffix and a trailing instance sid removed."""
    path = re.sub(r"\.(xml|json|csv|html)$", "", path.rstrip("/"))
    head, _, last = path.rpartition("/")
    return head if ANY_SID.fullmatch(last) else path


def is_write(request: dict[str, Any]) -> bool:
    method = str(request["method"]).upper()
    overrides = [q["value"].upper() for q in request.get("queryString", []) if q["name"] == "_method"]
    return method in WRITES or any(value in WRITES for value in overrides)


class SidMap:
    def __init__(self) -> None:
        self.known: dict[str, str] = {}

    def learn(self, recorded: str, replayed: str) -> None:
        before, after = SID.findall(recorded), SID.findall(replayed)
        if len(before) == len(after):
            self.known.update({a: b for a, b in zip(before, after, strict=True) if a != b})

    def rewrite(self, text: str) -> str:
        return SID.sub(lambda m: self.known.get(m.group(0), m.group(0)), text) if self.known else text


def replay(
    entries: Sequence[dict[str, Any]],
    base: str,
    auth: tuple[str, str],
    masks: diff.Masks,
    allow_writes: bool,
    transport: httpx.BaseTransport | None = None,
) -> list[Result]:
    results: list[Result] = []
    sids = SidMap()
    unreplayed: set[str] = set()
    with httpx.Client(base_url=base, auth=auth, transport=transport, timeout=60, trust_env=False) as client:
        for index, item in enumerate(entries, 1):
            request, recorded = item["request"], item["response"]
            parts = urlsplit(request["url"])
            target = sids.rewrite(parts.path + ("?" + parts.query if parts.query else ""))
            result = Result(index, request["method"], parts.path)
            results.append(result)
            if is_write(request) and not allow_writes:
                result.skipped = SKIPPED_WRITE
                unreplayed.add(collection(parts.path))
                continue
            post = request.get("postData")
            headers = {"Content-Type": post["mimeType"]} if post else {}
            body = sids.rewrite(post["text"]).encode() if post else None
            try:
                response = client.request(request["method"], target, content=body, headers=headers)
            except httpx.HTTPError as exc:
                result.error = f"{type(exc).__name__}: {exc}"
                continue
            expected_text = recorded["content"].get("text", "")
            expected = (recorded["status"], recorded["content"].get("mimeType", ""), expected_text.encode())
            actual = (response.status_code, response.headers.get("content-type", ""), response.content)
            result.differences = diff.compare(expected, actual, masks)
            if result.differences and collection(parts.path) in unreplayed:
                result.skipped = AFTER_WRITE
            sids.learn(expected_text, response.text)
    return results


def summary(results: Sequence[Result]) -> str:
    writes = [r for r in results if r.skipped == SKIPPED_WRITE]
    after = [r for r in results if r.skipped == AFTER_WRITE]
    failed = [r for r in results if r.failed]
    same = len(results) - len(writes) - len(after) - len(failed)
    line = (
        f"replayed {len(results) - len(writes)}, skipped {len(writes)} (writes), same {same}, "
        f"different {len(failed)}, differences {sum(len(r.differences) for r in failed)}"
    )
    if after:
        line += f"; skipped {len(after)} reads that differ after a skipped write"
    lines = [line]
    for result in after:
        lines.append(f"{result.name} (skipped: {AFTER_WRITE})")
    for result in failed:
        lines.append(result.name)
        if result.error:
            lines.append(f"  error: {result.error}")
        lines.extend(f"  {difference}" for difference in result.differences)
    return "\n".join(lines)


def junit(results: Sequence[Result]) -> bytes:
    suite = ET.Element(
        "testsuite",
        name="gateway-replay",
        tests=str(len(results)),
        failures=str(sum(1 for r in results if r.failed and not r.error)),
        errors=str(sum(1 for r in results if r.failed and r.error)),
        skipped=str(sum(1 for r in results if r.skipped)),
    )
    for result in results:
        case = ET.SubElement(suite, "testcase", classname="replay", name=result.name)
        if result.skipped:
            skipped = ET.SubElement(case, "skipped", message=result.skipped)
            skipped.text = "\n".join(str(d) for d in result.differences) or None
        elif result.error:
            ET.SubElement(case, "error", message=result.error)
        elif result.differences:
            failure = ET.SubElement(case, "failure", message=f"{len(result.differences)} differences")
            failure.text = "\n".join(str(d) for d in result.differences)
    body: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return body


def html_report(results: Sequence[Result]) -> bytes:
    rows = []
    for result in results:
        state = (
            "skipped"
            if result.skipped
            else "error"
            if result.error
            else "different"
            if result.differences
            else "same"
        )
        details = "".join(
            f"<li><code>{html.escape(d.path)}</code>: expected <code>{html.escape(repr(d.expected))}</code>"
            f" vs actual <code>{html.escape(repr(d.actual))}</code></li>"
            for d in result.differences
        )
        if result.error:
            details += f"<li>{html.escape(result.error)}</li>"
        rows.append(
            f'<tr class="{state}"><td>{result.index}</td><td>{html.escape(result.method)}</td>'
            f"<td><code>{html.escape(result.path)}</code></td><td>{state}</td><td><ul>{details}</ul></td></tr>"
        )
    text = summary(results).splitlines()[0]
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Replay report</title><style>"
        "body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px}"
        ".different td,.error td{background:#fdd}.skipped td{color:#888}</style></head><body>"
        f"<h1>Replay report</h1><p>{html.escape(text)}</p><table><tr><th>#</th><th>Method</th>"
        f"<th>Path</th><th>Result</th><th>Differences</th></tr>{''.join(rows)}</table></body></html>"
    )
    return page.encode("utf-8")


class UsageError(ValueError):
    pass


@dataclass(frozen=True)
class Local:
    """The gateway replayed against without ``--against``: how to start it on a fresh sandbox, for as
    long as a block runs, and the sandbox's account."""

    start: Callable[[], AbstractContextManager[str]]
    account: tuple[str, str]


def credentials(embedded: bool, sandbox: tuple[str, str] | None = None) -> tuple[str, str] | None:
    """REPLAY_* first, then (for another gateway) the Twilio helper libraries' TWILIO_* variables, then
    (for the embedded gateway) the sandbox's account."""
    prefixes = ("REPLAY",) if embedded else ("REPLAY", "TWILIO")
    for prefix in prefixes:
        sid, token = os.environ.get(f"{prefix}_ACCOUNT_SID"), os.environ.get(f"{prefix}_AUTH_TOKEN")
        if sid and token:
            return sid, token
        if sid or token:
            missing = f"{prefix}_AUTH_TOKEN" if sid else f"{prefix}_ACCOUNT_SID"
            raise UsageError(f"{missing} is not set (its pair is)")
    return sandbox if embedded else None


def target_base(against: str) -> str:
    """The URL the recorded paths (``/2008-08-01/…``) are appended to."""
    parts = urlsplit(against)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--against {against!r} must be an http(s) URL such as http://127.0.0.1:8080")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise UsageError(f"--against {against!r} must have no query, fragment or credentials")
    prefix = parts.path.rstrip("/")
    if prefix.endswith("/2008-08-01"):  # the base URL a legacy client is configured with
        prefix = prefix[: -len("/2008-08-01")]
    if "/2008-08-01/" in prefix + "/":
        raise UsageError(
            f"--against {against!r}: give the gateway's root URL (the recorded paths start with "
            "/2008-08-01/), not a path inside the legacy API"
        )
    return f"{parts.scheme}://{parts.netloc}{prefix}"


def report_kinds(paths: Sequence[str]) -> list[tuple[str, str]]:
    kinds = []
    for path in paths:
        kind = REPORTS.get(os.path.splitext(path)[1].lower())
        if kind is None:
            raise UsageError(f"--report {path!r}: name a .xml file (JUnit) or an .html file (HTML report)")
        kinds.append((path, kind))
    return kinds


def main(args: argparse.Namespace, local: Local) -> int:
    try:
        reports = report_kinds(args.report)
        base = target_base(args.against) if args.against else None
        auth = credentials(embedded=base is None, sandbox=local.account)
        if auth is None:
            raise UsageError(
                "set REPLAY_ACCOUNT_SID and REPLAY_AUTH_TOKEN (or TWILIO_ACCOUNT_SID and "
                "TWILIO_AUTH_TOKEN) to replay --against another gateway"
            )
        masks = diff.Masks(([] if args.no_default_masks else list(diff.DEFAULT_MASKS)) + list(args.mask))
        entries = [
            e for e in har.load(args.har) if urlsplit(e["request"]["url"]).path.startswith("/2008-08-01/")
        ]
    except (OSError, ValueError, KeyError) as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    if base is not None:
        results = replay(entries, base, auth, masks, args.allow_writes)
    else:
        with local.start() as embedded:
            results = replay(entries, embedded, auth, masks, args.allow_writes)
    print(summary(results))
    for path, kind in reports:
        with open(path, "wb") as handle:
            handle.write(html_report(results) if kind == "html" else junit(results))
    return 1 if any(result.failed for result in results) else 0
