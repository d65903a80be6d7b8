"""Calls and Segments through the whole app, on the sandbox (injected transport, a test clock)."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from gateway.sandbox import SandboxConfig
from tests.conftest import (
    ACCOUNT,
    FIXTURES,
    OURS,
    PREFIX,
    Clock,
    CountingTransport,
    elements,
    golden,
    parse_xml,
    shape,
    tags,
    verbatim_sources,
)

CALL_ORDER = [
    "Sid",
    "DateCreated",
    "DateUpdated",
    "CallSegmentSid",
    "AccountSid",
    "Called",
    "Caller",
    "PhoneNumberSid",
    "Status",
    "StartTime",
    "EndTime",
    "Duration",
    "Price",
    "Flags",
]


@pytest.fixture
def sandbox_config(voice_config: SandboxConfig) -> SandboxConfig:
    return voice_config


def call_of(response: httpx.Response) -> dict[str, str]:
    assert response.status_code in (200, 201), response.text
    node = parse_xml(response.content)[0]
    assert node.tag == "Call"
    return dict(elements(node))


def sent_form(upstream: CountingTransport, method: str, path_end: str) -> dict[str, str]:
    (request,) = [r for r in upstream.requests if r.method == method and r.url.path.endswith(path_end)]
    return dict(parse_qsl(request.content.decode()))


def queries(upstream: CountingTransport, path_end: str) -> list[dict[str, str]]:
    return [dict(r.url.params) for r in upstream.requests if r.url.path.endswith(path_end)]


async def make(client: httpx.AsyncClient, **form: str) -> dict[str, str]:
    data = {"Caller": "646-555-0000", "Called": "(415) 555-1212", "Url": "http://app.example/voice", **form}
    return call_of(await client.post(f"{PREFIX}/Calls", data=data))


# Goldens: every XML example of calls.md, making-calls.md and change-call-state.md ----------------------


@pytest.mark.parametrize(
    ("name", "page"),
    [
        ("call.xml", "calls.md"),
        ("calls.xml", "calls.md"),
        ("call_made_post.xml", "making-calls.md"),
        ("call_made_get.xml", "making-calls.md"),
        ("call_made_send_digits.xml", "making-calls.md"),
        ("call_redirect.xml", "change-call-state.md"),
    ],
)
def test_goldens_are_verbatim_copies_of_the_doc_pages(name: str, page: str) -> None:
    assert page in verbatim_sources(name)


async def test_fetch_has_the_element_order_of_calls_md(client: httpx.AsyncClient, voice: Any) -> None:
    call = voice.new_call(ACCOUNT, "+14159633717", "+14156767925", "inbound", at=voice.clock() - 100)
    response = await client.get(f"{PREFIX}/Calls/{call.sid}")
    node = parse_xml(response.content)[0]
    assert shape(node) == shape(golden("call.xml")[0])
    assert tags(node) == CALL_ORDER
    values = dict(elements(node))
    assert (values["Sid"], values["CallSegmentSid"], values["Status"], values["Flags"]) == (
        call.sid,
        "",
        "2",
        "1",
    )
    assert (values["Called"], values["Caller"]) == ("4159633717", "4156767925")
    assert values["Duration"] == "22" and values["Price"] == "-0.01300"  # 2 s ringing, 20 s talking
    for name in ("DateCreated", "DateUpdated", "StartTime", "EndTime"):
        assert values[name].endswith(" +0000") and values[name][3:5] == ", ", name


async def test_list_has_the_shape_of_calls_md(client: httpx.AsyncClient, voice: Any) -> None:
    for offset in (300, 200):
        voice.new_call(ACCOUNT, "+14159633717", "+14156767925", "inbound", at=voice.clock() - offset)
    listing = parse_xml((await client.get(f"{PREFIX}/Calls")).content)[0]
    expected = golden("calls.xml")[0]
    assert listing.tag == expected.tag == "Calls"
    assert set(expected.attrib) <= set(listing.attrib)
    assert [shape(child) for child in listing] == [shape(child) for child in expected]
    assert (listing.get("total"), listing.get("end")) == ("2", "1")


@pytest.mark.parametrize("name", ["call_made_post.xml", "call_made_get.xml", "call_made_send_digits.xml"])
async def test_a_made_call_answers_a_call_element_the_examples_abridge(
    client: httpx.AsyncClient, name: str
) -> None:
    """making-calls.md shows <Call> without DateCreated, DateUpdated and Duration; calls.md, the
    resource's own page, has them: the gateway answers calls.md's element, and the examples' elements
    come in the same order within it."""
    response = await client.post(
        f"{PREFIX}/Calls", data={"Caller": "646-555-0000", "Called": "4155551212", "Url": "http://a.example/"}
    )
    node = parse_xml(response.content)[0]
    example = tags(golden(name)[0])
    assert [tag for tag in tags(node) if tag in example] == example
    assert set(tags(node)) - set(example) == {"DateCreated", "DateUpdated", "Duration"}
    values = dict(elements(node))
    assert (values["Status"], values["EndTime"], values["Price"], values["CallSegmentSid"]) == (
        "0",
        "",
        "",
        "",
    )
    # The examples say Flags 1 (inbound) for a call made through the API; calls.md says 2. 2 it is.
    assert golden(name)[0].findtext("Flags") == "1" and values["Flags"] == "2"


async def test_a_redirect_answers_the_examples_call_element(client: httpx.AsyncClient, clock: Clock) -> None:
    made = await make(client)
    clock.advance(5)
    response = await client.post(f"{PREFIX}/Calls/{made['Sid']}", data={"CurrentUrl": "http://app.example/b"})
    node = parse_xml(response.content)[0]
    example = tags(golden("call_redirect.xml")[0])
    assert [tag for tag in tags(node) if tag in example] == example
    values = dict(elements(node))
    assert (values["Status"], values["EndTime"]) == (golden("call_redirect.xml")[0].findtext("Status"), "")


# Making calls and redirecting them --------------------------------------------------------------------


@pytest.mark.parametrize(
    "called", ["4155551212", "415-555-1212", "(415) 555-1212", "1 415 555 1212", "+14155551212"]
)
async def test_make_a_call_renames_and_normalises(
    client: httpx.AsyncClient, upstream: CountingTransport, called: str
) -> None:
    made = await make(
        client, Called=called, Method="GET", SendDigits="1234#", IfMachine="Continue", Timeout="15"
    )
    assert (made["Called"], made["Caller"], made["Status"]) == ("4155551212", "6465550000", "0")
    form = sent_form(upstream, "POST", "/Calls.json")
    assert form == {
        "From": "+16465550000",
        "To": "+14155551212",
        "Url": "http://app.example/voice",
        "Method": "GET",
        "SendDigits": "1234#",
        "MachineDetection": "Enable",
        "Timeout": "15",
    }


async def test_if_machine_hangup_becomes_machine_detection(
    client: httpx.AsyncClient, upstream: CountingTransport
) -> None:
    await make(client, IfMachine="Hangup")
    assert sent_form(upstream, "POST", "/Calls.json")["MachineDetection"] == "Enable"


@pytest.mark.parametrize(
    ("form", "status", "code"),
    [
        ({"Caller": ""}, 400, None),
        ({"Called": "555-1212"}, 400, 21401),
        ({"Url": ""}, 400, None),
        ({"IfMachine": "Maybe"}, 400, None),
        ({"Caller": "415-555-0000"}, 400, 21210),
    ],
)
async def test_make_a_call_refuses_bad_input(
    client: httpx.AsyncClient, form: dict[str, str], status: int, code: int | None
) -> None:
    data = {"Caller": "646-555-0000", "Called": "4155551212", "Url": "http://a.example/", **form}
    response = await client.post(f"{PREFIX}/Calls", data=data)
    assert response.status_code == status, response.text
    problem = parse_xml(response.content)[0]
    assert problem.tag == "RestException"
    if code is not None:
        assert problem.findtext("Code") == str(code)


async def test_status_integers_follow_the_call(client: httpx.AsyncClient, clock: Clock) -> None:
    made = await make(client)
    seen = []
    for step in (2, 2, 10, 10, 1):
        seen.append(call_of(await client.get(f"{PREFIX}/Calls/{made['Sid']}"))["Status"])
        clock.advance(step)
    assert seen == ["0", "0", "1", "1", "2"]


@pytest.mark.parametrize(
    ("final", "legacy"),
    [("completed", "2"), ("busy", "3"), ("failed", "4"), ("no-answer", "5"), ("canceled", "5")],
)
async def test_final_statuses_map_to_integers(
    client: httpx.AsyncClient, voice: Any, final: str, legacy: str
) -> None:
    call = voice.new_call(ACCOUNT, "+14155551212", OURS, "outbound-api", at=voice.clock() - 100)
    call.end_at(call.created + 3, final)
    assert call_of(await client.get(f"{PREFIX}/Calls/{call.sid}"))["Status"] == legacy


@pytest.mark.parametrize("final", ["busy", "failed", "no-answer", "canceled"])
async def test_an_unsuccessful_call_has_no_end_time_or_duration(
    client: httpx.AsyncClient, voice: Any, final: str
) -> None:
    """calls.md: both are empty for a call that did not complete successfully, in every format."""
    call = voice.new_call(ACCOUNT, "+14155551212", OURS, "outbound-api", at=voice.clock() - 100)
    call.end_at(call.created + 3, final)
    fetched = call_of(await client.get(f"{PREFIX}/Calls/{call.sid}"))
    assert (fetched["EndTime"], fetched["Duration"]) == ("", "")
    listed = parse_xml((await client.get(f"{PREFIX}/Calls")).content)[0]
    assert [(c.findtext("EndTime"), c.findtext("Duration")) for c in listed] == [("", "")]
    as_json = json.loads((await client.get(f"{PREFIX}/Calls/{call.sid}.json")).content)
    assert {name: as_json["TwilioResponse"]["Call"][name] for name in ("EndTime", "Duration")} == {
        "EndTime": None,
        "Duration": None,
    }
    (row,) = csv.DictReader(io.StringIO((await client.get(f"{PREFIX}/Calls.csv")).text))
    assert (row["EndTime"], row["Duration"]) == ("", "")
    html = (await client.get(f"{PREFIX}/Calls/{call.sid}.html")).text
    assert '<div class="end-time"></div><div class="duration"></div>' in html


async def test_a_completed_call_keeps_end_time_and_duration(client: httpx.AsyncClient, voice: Any) -> None:
    call = voice.new_call(ACCOUNT, "+14155551212", OURS, "outbound-api", at=voice.clock() - 100)
    call.end_at(call.created + 3, "completed")
    fetched = call_of(await client.get(f"{PREFIX}/Calls/{call.sid}"))
    assert fetched["EndTime"].endswith("+0000") and fetched["Duration"] != ""


async def test_redirect_renames_current_url_and_method(
    client: httpx.AsyncClient, upstream: CountingTransport, clock: Clock
) -> None:
    made = await make(client)
    clock.advance(5)
    redirected = await client.post(
        f"{PREFIX}/Calls/{made['Sid']}",
        data={"CurrentUrl": "http://app.example/hold", "CurrentMethod": "GET"},
    )
    assert call_of(redirected)["Status"] == "1"
    assert sent_form(upstream, "POST", f"/Calls/{made['Sid']}.json") == {
        "Url": "http://app.example/hold",
        "Method": "GET",
    }


async def test_redirect_errors(client: httpx.AsyncClient, clock: Clock) -> None:
    made = await make(client)
    missing = await client.post(f"{PREFIX}/Calls/{made['Sid']}", data={"CurrentMethod": "GET"})
    assert missing.status_code == 400 and "CurrentUrl" in missing.text
    clock.advance(60)
    over = await client.post(f"{PREFIX}/Calls/{made['Sid']}", data={"CurrentUrl": "http://a.example/"})
    assert over.status_code == 400 and parse_xml(over.content)[0].findtext("Code") == "21220"
    for method in ("PUT", "DELETE"):
        refused = await client.request(method, f"{PREFIX}/Calls/{made['Sid']}")
        assert refused.status_code == 405
    assert (await client.put(f"{PREFIX}/Calls")).status_code == 405
    assert (await client.get(f"{PREFIX}/Calls/CA123")).status_code == 404


# Lists and filters -----------------------------------------------------------------------------------


async def test_filters_are_renamed_and_normalised(
    client: httpx.AsyncClient, upstream: CountingTransport, voice: Any
) -> None:
    voice.new_call(ACCOUNT, "+14155551212", OURS, "outbound-api", at=voice.clock() - 10)
    voice.new_call(ACCOUNT, "+14155550000", OURS, "outbound-api", at=voice.clock() - 5)
    response = await client.get(
        f"{PREFIX}/Calls", params={"Called": "(415) 555-1212", "Caller": "646.555.0000"}
    )
    listing = parse_xml(response.content)[0]
    assert [c.findtext("Called") for c in listing] == ["4155551212"]
    (query,) = queries(upstream, "/Calls.json")
    assert (query["To"], query["From"]) == ("+14155551212", "+16465550000")
    assert "Called=%28415%29+555-1212" in listing.get("uri", "")


@pytest.mark.parametrize(
    ("raw", "upstream_name", "count"),
    [
        ("StartTime=2026-11-18", "StartTime", 2),
        ("StartTime>=2026-11-18", "StartTime>", 2),
        ("StartTime%3E%3D2026-11-18", None, None),
        ("StartTime%3E%3D=2026-11-18", "StartTime>", 2),
        ("StartTime<=2026-11-17", "StartTime<", 1),
        ("StartTime>=2026-11-17&StartTime<=2026-11-17", "StartTime<", 1),
    ],
)
async def test_start_time_in_each_form_of_the_docs(
    client: httpx.AsyncClient,
    upstream: CountingTransport,
    voice: Any,
    raw: str,
    upstream_name: str | None,
    count: int | None,
) -> None:
    for offset in (86400, 100, 50):  # one call the day before the clock's day, two on it
        call = voice.new_call(ACCOUNT, "+14155551212", OURS, "outbound-api", at=voice.clock() - offset)
        call.end_at(call.created + 30, "completed")
    response = await client.get(f"{PREFIX}/Calls?{raw}")
    if upstream_name is None:  # "StartTime%3E%3D2026-11-18" has no "=": no filter at all, passed on
        assert response.status_code == 200
        return
    listing = parse_xml(response.content)[0]
    assert len(listing) == count, response.text
    (query,) = queries(upstream, "/Calls.json")
    assert upstream_name in query


async def test_a_start_time_that_is_not_a_date_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{PREFIX}/Calls?StartTime>=yesterday")
    assert response.status_code == 400 and "StartTime>" in parse_xml(response.content)[0].findtext(
        "Message", ""
    )


async def test_status_0_fans_out_and_merges_in_upstream_order_paged_exactly(
    client: httpx.AsyncClient, upstream: CountingTransport, voice: Any, clock: Clock
) -> None:
    made = [
        voice.new_call(ACCOUNT, f"+1415555{i:04d}", OURS, "outbound-api", at=clock() - 100 + i)
        for i in range(23)
    ]
    for index, call in enumerate(made):  # queued and ringing interleaved, plus some in progress
        start = clock() - (1.0 if index % 3 == 0 else 3.0 if index % 3 == 1 else 5.0)
        call.timeline = [(start, "queued"), (start + 2, "ringing"), (start + 4, "in-progress")]
    statuses = {c.sid: c.status(clock()) for c in made}
    expected = [
        c.sid
        for c in sorted(made, key=lambda c: c.created, reverse=True)
        if statuses[c.sid] in ("queued", "ringing")
    ]
    assert {statuses[s] for s in expected} == {"queued", "ringing"}
    seen: list[str] = []
    page = 0
    while True:
        listing = parse_xml(
            (
                await client.get(f"{PREFIX}/Calls", params={"Status": "0", "num": "4", "page": str(page)})
            ).content
        )[0]
        assert listing.get("total") == str(len(expected))
        seen.extend(c.findtext("Sid") or "" for c in listing)
        if not listing.get("nextpageuri"):
            break
        page += 1
    assert seen == expected
    assert sorted(q["Status"] for q in queries(upstream, "/Calls.json")) == ["queued", "ringing"]


async def test_status_5_fans_out_to_no_answer_and_canceled(
    client: httpx.AsyncClient, upstream: CountingTransport, voice: Any
) -> None:
    for final in ("no-answer", "canceled", "busy"):
        call = voice.new_call(ACCOUNT, "+14155551212", OURS, "outbound-api", at=voice.clock() - 100)
        call.end_at(call.created + 3, final)
    listing = parse_xml((await client.get(f"{PREFIX}/Calls?Status=5")).content)[0]
    assert [c.findtext("Status") for c in listing] == ["5", "5"]
    assert [q["Status"] for q in queries(upstream, "/Calls.json")] == ["no-answer", "canceled"]
    assert (await client.get(f"{PREFIX}/Calls?Status=7")).status_code == 400


async def test_calls_csv_has_the_call_columns(client: httpx.AsyncClient, voice: Any) -> None:
    voice.new_call(ACCOUNT, "+14155551212", OURS, "outbound-api", at=voice.clock() - 100)
    response = await client.get(f"{PREFIX}/Calls.csv")
    header, row = response.text.strip().splitlines()
    assert header.split(",") == CALL_ORDER
    assert ",4155551212,6465550000," in row


# Segments ----------------------------------------------------------------------------------------------


async def test_segments_are_the_dial_legs(client: httpx.AsyncClient, voice: Any, clock: Clock) -> None:
    made = await make(client, Url="http://app.example/voice?Dial=4155550100")
    clock.advance(5)
    listing = parse_xml((await client.get(f"{PREFIX}/Calls/{made['Sid']}/Segments")).content)[0]
    assert listing.tag == "Calls"
    (segment,) = listing
    values = dict(elements(segment))
    assert tags(segment) == CALL_ORDER
    assert values["Sid"] == made["Sid"] and values["CallSegmentSid"].startswith("CA")
    assert values["CallSegmentSid"] != made["Sid"]
    assert (values["Called"], values["Flags"], values["Status"]) == ("4155550100", "6", "0")
    one = call_of(await client.get(f"{PREFIX}/Calls/{made['Sid']}/Segments/{values['CallSegmentSid']}"))
    assert one == values
    # The Calls list shows the call once: its leg is a segment, not another call.
    calls = parse_xml((await client.get(f"{PREFIX}/Calls")).content)[0]
    assert [(c.findtext("Sid"), c.findtext("CallSegmentSid")) for c in calls] == [(made["Sid"], "")]
    # The leg's own sid, fetched as a call, answers as the segment it is.
    assert call_of(await client.get(f"{PREFIX}/Calls/{values['CallSegmentSid']}")) == values


async def test_a_segment_of_another_call_is_404(client: httpx.AsyncClient, voice: Any, clock: Clock) -> None:
    first = await make(client, Url="http://app.example/voice?Dial=4155550100")
    second = await make(client)
    clock.advance(5)
    leg = parse_xml((await client.get(f"{PREFIX}/Calls/{first['Sid']}/Segments")).content)[0][0]
    response = await client.get(f"{PREFIX}/Calls/{second['Sid']}/Segments/{leg.findtext('CallSegmentSid')}")
    assert response.status_code == 404
    assert len(parse_xml((await client.get(f"{PREFIX}/Calls/{second['Sid']}/Segments")).content)[0]) == 0


async def test_inbound_calls_dial_legs_have_flags_5(client: httpx.AsyncClient, voice: Any) -> None:
    parent = voice.new_call(ACCOUNT, OURS, "+14155551212", "inbound", at=voice.clock() - 100)
    voice.new_call(ACCOUNT, "+14155550100", OURS, "outbound-dial", at=voice.clock() - 90, parent=parent)
    segment = parse_xml((await client.get(f"{PREFIX}/Calls/{parent.sid}/Segments")).content)[0][0]
    assert segment.findtext("Flags") == "5"


# Call-scoped Recordings and Notifications ---------------------------------------------------------------


async def test_call_recordings_and_notifications(client: httpx.AsyncClient, voice: Any) -> None:
    from gateway.sandbox.call_logs import notification, recording

    call = voice.new_call(ACCOUNT, "+14155551212", OURS, "outbound-api", at=voice.clock() - 100)
    rec = recording(voice, call.sid, ACCOUNT, voice.clock() - 50, 15)
    note = notification(voice, call.sid, ACCOUNT, voice.clock() - 40, 11200, "HTTP retrieval failure")
    recordings = parse_xml((await client.get(f"{PREFIX}/Calls/{call.sid}/Recordings")).content)[0]
    assert recordings.tag == "Recordings"
    (item,) = recordings
    assert tags(item) == ["Sid", "AccountSid", "CallSid", "Duration", "DateCreated", "DateUpdated"]
    assert (item.findtext("Sid"), item.findtext("CallSid"), item.findtext("Duration")) == (
        rec.sid,
        call.sid,
        "15",
    )
    notes = parse_xml((await client.get(f"{PREFIX}/Calls/{call.sid}/Notifications")).content)[0]
    (entry,) = notes
    assert entry.tag == "Notification"
    assert (entry.findtext("Sid"), entry.findtext("Log"), entry.findtext("ErrorCode")) == (
        note.sid,
        "0",
        "11200",
    )
    assert tags(entry)[:6] == ["Sid", "DateCreated", "DateUpdated", "AccountSid", "CallSid", "Log"]
    warnings = parse_xml((await client.get(f"{PREFIX}/Calls/{call.sid}/Notifications?Log=1")).content)[0]
    assert len(warnings) == 0


def test_the_docs_call_list_is_sorted_newest_first() -> None:
    """calls.md: "sorted by DateUpdated, with newest calls first"; 2010 lists calls newest first too, by
    creation; the gateway keeps the upstream's order (docs/translation.md)."""
    example = ET.fromstring((FIXTURES / "golden" / "calls.xml").read_text())[0]
    starts = [c.findtext("StartTime") for c in example]
    assert starts == ["Thu, 03 Apr 2008 04:36:33 -0400", "Thu, 03 Apr 2008 01:37:05 -0400"]


def tips_csv_row() -> list[str]:
    lines = (FIXTURES / "golden" / "calls.csv.txt").read_text().splitlines()
    return next(csv.reader(io.StringIO("".join(lines[1:]).strip())))


async def test_calls_csv_and_json_follow_calls_md_not_the_tips_trailing_fields(
    client: httpx.AsyncClient, voice: Any
) -> None:
    """tips.md's Calls CSV row has calls.md's fourteen values in calls.md's order, then two empty fields;
    its JSON adds "Annotation": null. Neither is on calls.md or in 2010: the gateway writes the fourteen."""
    example = [value for _, value in elements(golden("call.xml")[0])]
    assert tips_csv_row()[:14] == example and tips_csv_row()[14:] == ["", ""]
    tips_json = json.loads((FIXTURES / "golden" / "calls.json.txt").read_text().replace("}}]", "}]", 1))
    assert list(tips_json["TwilioResponse"]["Calls"][0]["Call"]) == [*CALL_ORDER, "Annotation"]
    voice.new_call(ACCOUNT, "+14155551212", OURS, "outbound-api", at=voice.clock() - 100)
    body = (await client.get(f"{PREFIX}/Calls.json")).json()["TwilioResponse"]
    assert list(body["Calls"][0]["Call"]) == CALL_ORDER
    assert body["total"] == "1"


async def test_a_2008_timeout_above_2010s_maximum_is_sent_unchanged(
    client: httpx.AsyncClient, upstream: CountingTransport
) -> None:
    await make(client, Timeout="999")
    assert sent_form(upstream, "POST", "/Calls.json")["Timeout"] == "999"
