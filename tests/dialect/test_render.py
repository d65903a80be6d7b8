"""The renderers: XML well-formedness for any string (property tests, and equality with xmltodict's
output on the documents xmltodict can write), the 2008 JSON shape, RFC 4180 CSV, the tips.md HTML."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

import orjson
import xmltodict
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.dialect.document import Instance, Listing, Problem, Record
from gateway.dialect.render import dash, render, to_csv, to_html, to_json, to_xml
from tests.conftest import FIXTURES

NAMES = st.sampled_from(["Sid", "FriendlyName", "PhoneNumber", "DateCreated", "Voice", "Beta"])
ANY_TEXT = st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF))
SAFE_TEXT = st.text(
    alphabet=st.characters(
        codec="utf-8", min_codepoint=0x20, max_codepoint=0xFFFD, exclude_categories=("Cs",)
    )
).filter(lambda s: s.strip() == s)
ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def records(text: st.SearchStrategy[str]) -> st.SearchStrategy[Record]:
    scalar = st.one_of(st.none(), text)
    nested = st.lists(st.tuples(NAMES, scalar), max_size=3).map(tuple)
    return st.lists(st.tuples(NAMES, st.one_of(scalar, nested)), max_size=6).map(tuple)


def expected_text(value: str) -> str:
    return ILLEGAL.sub("\ufffd", value)


def compare(record: Record, node: ET.Element) -> None:
    children = list(node)
    assert [c.tag for c in children] == [name for name, _ in record]
    for (_, value), child in zip(record, children, strict=True):
        if isinstance(value, tuple):
            compare(value, child)
        else:
            assert (child.text or "") == expected_text(value or "")


@settings(max_examples=300, deadline=None)
@given(records(ANY_TEXT))
def test_xml_is_well_formed_for_any_string(record: Record) -> None:
    body = to_xml(Instance("OutgoingCallerId", record))
    root = ET.fromstring(body)
    compare(record, root[0])


@settings(max_examples=200, deadline=None)
@given(st.lists(records(ANY_TEXT), max_size=4), st.lists(st.tuples(NAMES, ANY_TEXT), max_size=3))
def test_xml_attributes_are_well_formed_for_any_string(
    items: list[Record], attrs: list[tuple[str, str]]
) -> None:
    unique = tuple({name.lower(): (name.lower(), value) for name, value in attrs}.values())
    body = to_xml(Listing("OutgoingCallerIds", "OutgoingCallerId", unique, items))
    listing = ET.fromstring(body)[0]
    assert {k: v for k, v in listing.attrib.items()} == {k: expected_text(v) for k, v in unique}
    assert len(listing) == len(items)


def as_xmltodict(record: Record) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, value in record:
        out[name] = as_xmltodict(value) if isinstance(value, tuple) else value
    return out


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(NAMES, st.one_of(st.none(), SAFE_TEXT), max_size=6))
def test_xml_equals_xmltodict_on_documents_it_can_write(fields: dict[str, str | None]) -> None:
    record: Record = tuple(fields.items())
    ours = to_xml(Instance("OutgoingCallerId", record))
    theirs = xmltodict.unparse(
        {"TwilioResponse": {"OutgoingCallerId": as_xmltodict(record)}}, short_empty_elements=True
    )
    assert xmltodict.parse(ours) == xmltodict.parse(theirs)


def test_xmltodict_cannot_write_control_characters_but_we_can() -> None:
    record: Record = (("FriendlyName", "bell\x07 and \x01"),)
    theirs = xmltodict.unparse({"TwilioResponse": {"X": {"FriendlyName": "bell\x07 and \x01"}}})
    try:
        ET.fromstring(theirs)
        raise AssertionError("xmltodict's output unexpectedly parsed")
    except ET.ParseError:
        pass
    node = ET.fromstring(to_xml(Instance("X", record)))[0]
    assert node.findtext("FriendlyName") == "bell\ufffd and \ufffd"


def test_xml_escapes_markup_and_keeps_carriage_returns_and_emoji() -> None:
    value = '<a href="x">&\'</a>\r\n😀'
    body = to_xml(Instance("X", (("FriendlyName", value), ("Empty", ""), ("Null", None))))
    assert b"<Empty/><Null/>" in body
    assert b"&#13;" in body
    assert ET.fromstring(body)[0].findtext("FriendlyName") == value


def test_rest_exception_matches_response_md() -> None:
    golden = ET.fromstring((FIXTURES / "golden" / "rest_exception_404.xml").read_text())
    ours = ET.fromstring(to_xml(Problem(404, "The requested resource was not found")))
    assert [(c.tag, (c.text or "").strip()) for c in ours[0]] == [
        (c.tag, (c.text or "").strip()) for c in golden[0]
    ]


def test_json_follows_the_tips_md_shape() -> None:
    # tips.md's example is not valid JSON (one brace too many); this pins that disagreement.
    text = (FIXTURES / "golden" / "calls.json.txt").read_text()
    try:
        json.loads(text)
        raise AssertionError("the tips.md example unexpectedly parsed")
    except json.JSONDecodeError:
        pass
    fixed = json.loads(text.replace("}}]", "}]", 1))
    calls = fixed["TwilioResponse"]["Calls"]
    record: Record = tuple((k, v) for k, v in calls[0]["Call"].items())
    listing = Listing("Calls", "Call", (("page", "0"), ("total", "2")), [record, record])
    ours = orjson.loads(to_json(listing))
    assert ours["TwilioResponse"]["Calls"] == [{"Call": calls[0]["Call"]}, {"Call": calls[0]["Call"]}]
    assert ours["TwilioResponse"]["page"] == "0"
    assert ours["TwilioResponse"]["total"] == "2"
    assert ours["TwilioResponse"]["Calls"][0]["Call"]["Annotation"] is None
    assert ours["TwilioResponse"]["Calls"][0]["Call"]["CallSegmentSid"] == ""


def test_json_instance_error_and_nested() -> None:
    record: Record = (("Sid", "PN1"), ("Capabilities", (("Voice", "true"), ("Fax", None))))
    assert orjson.loads(to_json(Instance("TrunkPhoneNumber", record))) == {
        "TwilioResponse": {"TrunkPhoneNumber": {"Sid": "PN1", "Capabilities": {"Voice": "true", "Fax": None}}}
    }
    assert orjson.loads(to_json(Problem(400, "bad", 21401, "https://x"))) == {
        "TwilioResponse": {
            "RestException": {"Status": "400", "Message": "bad", "Code": "21401", "MoreInfo": "https://x"}
        }
    }


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(exclude_categories=("Cs",))), min_size=1, max_size=5))
def test_csv_round_trips_any_text(names: list[str]) -> None:
    rows = [(("Sid", f"PN{i}"), ("FriendlyName", name), ("Null", None)) for i, name in enumerate(names)]
    body, content_type = render(Listing("L", "I", (), rows), "csv", 200)
    assert content_type.startswith("text/csv")
    parsed = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    assert parsed[0] == ["Sid", "FriendlyName", "Null"]
    assert parsed[1:] == [[f"PN{i}", name, ""] for i, name in enumerate(names)]


def test_csv_quotes_commas_quotes_and_newlines() -> None:
    body = to_csv(Instance("X", (("FriendlyName", 'a, "b"\nc'),)))
    assert body == b'FriendlyName\r\n"a, ""b""\nc"\r\n'


def test_csv_flattens_nested_and_keeps_a_header_for_empty_lists() -> None:
    record: Record = (("Sid", "PN1"), ("Capabilities", (("Voice", "true"), ("Sms", "false"))))
    body = to_csv(Listing("L", "I", (), [record]))
    assert body.splitlines()[0] == b"Sid,Capabilities.Voice,Capabilities.Sms"
    assert to_csv(Listing("L", "I", (), []), ("Sid", "FriendlyName")) == b"Sid,FriendlyName\r\n"


def test_dash_notation() -> None:
    assert dash("AccountSid") == "account-sid"
    assert dash("OutgoingCallerIds") == "outgoing-caller-ids"
    assert dash("StatusText") == "status-text"
    assert dash("RestException") == "rest-exception"


def test_html_follows_tips_md() -> None:
    golden = (FIXTURES / "golden" / "account.html").read_text()
    classes = re.findall(r"class=[\"']([a-z-]+)[\"']", golden)
    record: Record = (
        ("Sid", "AC35542fc30a091bed0c1ed511e1d9935d"),
        ("DateCreated", "Sat, 07 Feb 2009 13:15:19 -0800"),
        ("DateUpdated", "Sat, 07 Feb 2009 13:15:19 -0800"),
        ("FriendlyName", "Friendly Account 1"),
        ("Status", "1"),
        ("StatusText", "Inactive"),
        ("DateCreated", "Tue, 01 Apr 2008 11:26:32 -0700"),
        ("DateUpdated", "Tue, 01 Apr 2008 11:26:32 -0700"),
        ("AuthToken", "47a2f3c53df26a8b9d79bdf84406527a"),
    )
    ours = to_html(Instance("Account", record), 200).decode()
    assert re.findall(r"class=[\"']([a-z-]+)[\"']", ours) == classes
    assert "<title>200</title>" in ours


def test_html_escapes_every_value() -> None:
    ours = to_html(Instance("X", (("FriendlyName", "<script>alert('x')</script>"),)), 200).decode()
    assert "<script>" not in ours
    assert "&lt;script&gt;" in ours


def html_leaves(page: ET.Element) -> list[str]:
    element = page.find("body/div")
    assert element is not None
    return [div.text or "" for div in element]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(NAMES, st.one_of(st.none(), ANY_TEXT)), max_size=6).map(tuple),
    st.lists(st.tuples(NAMES, ANY_TEXT), max_size=3),
)
def test_html_is_well_formed_for_any_string(record: Record, attrs: list[tuple[str, str]]) -> None:
    """As the XML writer: what XML 1.0 cannot carry becomes U+FFFD, and every value reads back exactly."""
    page = ET.fromstring(to_html(Instance("SMSMessage", record), 200))
    assert html_leaves(page) == [expected_text(value or "") for _, value in record]
    unique = tuple({name.lower(): (name.lower(), value) for name, value in attrs}.values())
    listing = ET.fromstring(to_html(Listing("SMSMessages", "SMSMessage", unique, [record]), 200))
    attributes = listing.find("body/div")
    assert attributes is not None
    assert dict(attributes.attrib) == {"class": "sms-messages"} | {
        f"data-{k}": expected_text(v) for k, v in unique
    }


def test_html_writes_control_characters_as_the_xml_writer_does() -> None:
    body = to_html(Instance("SMSMessage", (("Body", "bell\x07 nul\x00 cr\r ok"),)), 200)
    assert b'<div class="body">bell\xef\xbf\xbd nul\xef\xbf\xbd cr&#13; ok</div>' in body
    ET.fromstring(body)


FORMULAS = ['=HYPERLINK("http://x","y")', "+1-2", "-2+3", "@SUM(A1)", "\tx", "\r=1", "=1"]


def test_csv_keeps_2008s_bytes_by_default() -> None:
    body = to_csv(Listing("L", "I", (), [(("Body", value),) for value in FORMULAS]))
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    assert [row[0] for row in rows[1:]] == FORMULAS
    assert b"\r\n=1\r\n" in body


def test_csv_formula_escape_defuses_formulas_and_leaves_numbers() -> None:
    plain = ["+14158675309", "-0.75", "Hello", "", "a=b"]
    record = [(("Body", value), ("From", "+14158675309")) for value in FORMULAS + plain]
    body = to_csv(Listing("L", "I", (), record), formula_escape=True)
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    assert [row[0] for row in rows[1:]] == ["'" + value for value in FORMULAS] + plain
    assert {row[1] for row in rows[1:]} == {"+14158675309"}
    lines = body.decode().split("\r\n")
    assert lines[1] == '"\'=HYPERLINK(""http://x"",""y"")","+14158675309"'  # quoted, as OWASP asks
    assert lines[-2] == "a=b,+14158675309"  # a row with nothing to defuse: as without the setting
