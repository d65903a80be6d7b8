"""A CI-safe regression guard for the translation step (JSON bytes in → legacy XML bytes out), measured
against a baseline run in the same process on the same input: the naive build (stdlib json +
xmltodict.unparse). It fails only on a large regression relative to that baseline, never on an absolute
time. bench/ holds the real benchmarks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
import xmltodict

from gateway.dialect.document import Listing
from gateway.dialect.render import to_xml
from gateway.dialect.translate import translator
from gateway.lists.paging import Window
from gateway.resources import RESOURCES
from gateway.upstream.client import Reply, decode

CALLER_IDS = RESOURCES[0]
CONTEXT = {"AccountSid": "AC" + "a" * 32}
ALLOWED = 0.5
"""Ours must stay under half the naive baseline's time (measured here: about a fifth; see
docs/performance.md). A slip past a half means the hot path lost most of its lead."""


def body(count: int) -> bytes:
    items = [
        {
            "sid": f"PN{i:032x}",
            "account_sid": CONTEXT["AccountSid"],
            "friendly_name": f"Line <{i}> & co" if i % 10 == 0 else f"(415) 555-{i:04d}",
            "phone_number": f"+1415555{i:04d}",
            "date_created": "Fri, 21 Aug 2009 00:11:24 +0000",
            "date_updated": "Fri, 21 Aug 2009 00:11:24 +0000",
            "uri": f"/2010-04-01/Accounts/AC/OutgoingCallerIds/PN{i:032x}.json",
        }
        for i in range(count)
    ]
    return json.dumps({"outgoing_caller_ids": items, "next_page_uri": None, "page": 0}).encode()


def ours(raw: bytes) -> bytes:
    data = decode(Reply(200, {}, raw))
    tr = translator(CALLER_IDS)
    records = [tr.record(item, CONTEXT) for item in CALLER_IDS.paging.items(data)]  # type: ignore[union-attr]
    window = Window(0, 1000, len(records))
    return to_xml(Listing("OutgoingCallerIds", "OutgoingCallerId", window.attrs(), records))


def naive(raw: bytes) -> bytes:
    data = json.loads(raw)
    items = []
    for item in data["outgoing_caller_ids"]:
        number = item["phone_number"]
        items.append(
            {
                "Sid": item["sid"],
                "AccountSid": item["account_sid"],
                "FriendlyName": item["friendly_name"],
                "PhoneNumber": number[2:] if number.startswith("+1") and len(number) == 12 else number,
                "DateCreated": item["date_created"],
                "DateUpdated": item["date_updated"],
            }
        )
    attrs = {f"@{k}": v for k, v in Window(0, 1000, len(items)).attrs()}
    document = {"TwilioResponse": {"OutgoingCallerIds": {**attrs, "OutgoingCallerId": items}}}
    return str(xmltodict.unparse(document)).encode()


def best(function: Callable[[bytes], bytes], raw: bytes, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        function(raw)
        timings.append(time.perf_counter() - started)
    return min(timings)


@pytest.mark.parametrize(("count", "repeats"), [(50, 200), (1000, 20)])
def test_translation_stays_well_ahead_of_the_naive_baseline(count: int, repeats: int) -> None:
    raw = body(count)
    assert xmltodict.parse(ours(raw)) == xmltodict.parse(naive(raw))  # same document, so a fair race
    ratios = []
    for _ in range(3):  # interleaved rounds: a noisy neighbour slows both sides alike
        ratios.append(best(ours, raw, repeats) / best(naive, raw, repeats))
    assert min(ratios) < ALLOWED, f"translation took {min(ratios):.2f}× the naive baseline"
