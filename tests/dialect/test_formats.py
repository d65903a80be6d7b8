"""Goldens from the docs for both resources in every format, and errors in the format asked for.

The upstream here is a MockTransport answering with the docs' own data in the 2010/v1 JSON shape, so
the gateway's output can be compared with the legacy examples element for element."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.edge.app import create_app
from gateway.settings import Settings
from tests.conftest import FIXTURES, serving, upstream_fixture

DOC_ACCOUNT = "AC35542fc30a091bed0c1ed511e1d9935d"
DOC_SID = "PNe536dfda7c6184afab78d980cb8cdf43"
DOCS_ACCOUNT = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
DOCS_TRUNK = "TKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
DOCS_NUMBER = "PNaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
DOC_CALLER_ID = {
    "sid": DOC_SID,
    "account_sid": DOC_ACCOUNT,
    "friendly_name": "My Home Phone Number",
    "phone_number": "+14158675309",
    "date_created": "Tue, 01 Apr 2008 11:26:32 -0700",
    "date_updated": "Tue, 01 Apr 2008 11:26:32 -0700",
    "uri": f"/2010-04-01/Accounts/{DOC_ACCOUNT}/OutgoingCallerIds/{DOC_SID}.json",
}


def handler(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path.endswith(f"/OutgoingCallerIds/{DOC_SID}.json"):
        return httpx.Response(200, json=DOC_CALLER_ID)
    if path.endswith("/OutgoingCallerIds.json"):
        tricky = {**DOC_CALLER_ID, "friendly_name": 'Line, "one"\nand two'}
        return httpx.Response(
            200, json={"outgoing_caller_ids": [DOC_CALLER_ID, tricky], "next_page_uri": None}
        )
    if path == f"/v1/Trunks/{DOCS_TRUNK}/PhoneNumbers/{DOCS_NUMBER}":
        return httpx.Response(200, json=upstream_fixture("FetchPhoneNumber.fetch")["body"])
    if path == f"/v1/Trunks/{DOCS_TRUNK}/PhoneNumbers":
        return httpx.Response(200, json=upstream_fixture("ListPhoneNumber.readFull")["body"])
    return httpx.Response(
        404, json={"code": 20404, "message": "not found", "more_info": "https://x", "status": 404}
    )


@pytest.fixture
async def docs_client() -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(upstream="https://api.twilio.com", trunking_upstream="https://trunking.twilio.com")
    app = create_app(settings, httpx.MockTransport(handler))
    async with serving(app, auth=(DOC_ACCOUNT, "token")) as client:
        yield client


def tree(node: ET.Element) -> Any:
    return (node.tag, sorted(node.attrib.items()), (node.text or "").strip(), [tree(c) for c in node])


CALLER_ID = f"/2008-08-01/Accounts/{DOC_ACCOUNT}/OutgoingCallerIds/{DOC_SID}"
TRUNK_NUMBER = f"/2008-08-01/Accounts/{DOCS_ACCOUNT}/Trunks/{DOCS_TRUNK}/PhoneNumbers/{DOCS_NUMBER}"


async def test_caller_id_xml_equals_the_docs_example(docs_client: httpx.AsyncClient) -> None:
    response = await docs_client.get(CALLER_ID)
    assert tree(ET.fromstring(response.content)) == tree(
        ET.parse(FIXTURES / "golden" / "outgoing_caller_id.xml").getroot()
    )


async def test_trunk_number_xml_equals_the_hand_built_golden(docs_client: httpx.AsyncClient) -> None:
    response = await docs_client.get(TRUNK_NUMBER)
    golden = ET.parse(FIXTURES / "golden" / "trunk_phone_number.xml").getroot()
    assert tree(ET.fromstring(response.content)) == tree(golden)


async def test_caller_id_json_golden(docs_client: httpx.AsyncClient) -> None:
    response = await docs_client.get(CALLER_ID + ".json")
    assert response.headers["content-type"] == "application/json"
    assert response.json() == json.loads((FIXTURES / "golden" / "outgoing_caller_id.json").read_text())


async def test_trunk_number_json_matches_the_xml(docs_client: httpx.AsyncClient) -> None:
    body = (await docs_client.get(TRUNK_NUMBER + ".json")).json()["TwilioResponse"]["TrunkPhoneNumber"]
    golden = ET.parse(FIXTURES / "golden" / "trunk_phone_number.xml").getroot()[0]
    assert list(body) == [child.tag for child in golden]
    assert body["VoiceCallerIdLookup"] is None
    assert body["StatusCallback"] == ""
    assert body["Beta"] == "false"
    assert body["Capabilities"] == {"Voice": "true", "Sms": "true", "Mms": "true", "Fax": None}
    assert all(isinstance(v, str | dict) or v is None for v in body.values())


async def test_caller_id_csv_golden(docs_client: httpx.AsyncClient) -> None:
    response = await docs_client.get(CALLER_ID + ".csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert (
        response.content.replace(b"\r\n", b"\n")
        == (FIXTURES / "golden" / "outgoing_caller_id.csv").read_bytes()
    )


async def test_trunk_number_csv_has_every_element(docs_client: httpx.AsyncClient) -> None:
    rows = list(csv.reader(io.StringIO((await docs_client.get(TRUNK_NUMBER + ".csv")).text, newline="")))
    header, row = rows
    assert header[:5] == ["Sid", "AccountSid", "TrunkSid", "FriendlyName", "PhoneNumber"]
    assert "Capabilities.Voice" in header and "Uri" in header
    assert dict(zip(header, row, strict=True))["PhoneNumber"] == "4158675309"


async def test_list_csv_round_trips_commas_quotes_and_newlines(docs_client: httpx.AsyncClient) -> None:
    response = await docs_client.get(f"/2008-08-01/Accounts/{DOC_ACCOUNT}/OutgoingCallerIds.csv")
    rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
    assert [row["FriendlyName"] for row in rows] == ["My Home Phone Number", 'Line, "one"\nand two']
    assert rows[0]["DateCreated"] == "Tue, 01 Apr 2008 11:26:32 -0700"


async def test_list_json_carries_paging_as_string_members(docs_client: httpx.AsyncClient) -> None:
    body = (await docs_client.get(f"/2008-08-01/Accounts/{DOC_ACCOUNT}/OutgoingCallerIds.json")).json()
    response = body["TwilioResponse"]
    assert [item["OutgoingCallerId"]["Sid"] for item in response["OutgoingCallerIds"]] == [DOC_SID, DOC_SID]
    for name in ("page", "numpages", "pagesize", "total", "start", "end"):
        assert isinstance(response[name], str)
    assert (response["total"], response["end"]) == ("2", "1")


async def test_trunk_list_in_the_legacy_dialect(docs_client: httpx.AsyncClient) -> None:
    response = await docs_client.get(f"/2008-08-01/Accounts/{DOCS_ACCOUNT}/Trunks/{DOCS_TRUNK}/PhoneNumbers")
    listing = ET.fromstring(response.content)[0]
    assert listing.tag == "TrunkPhoneNumbers"
    assert listing.get("total") == "1"
    assert [child.tag for child in listing] == ["TrunkPhoneNumber"]
    assert listing[0].findtext("PhoneNumber") == "4158675309"


async def test_html_for_an_instance_and_a_list(docs_client: httpx.AsyncClient) -> None:
    instance = await docs_client.get(CALLER_ID + ".html")
    assert instance.headers["content-type"].startswith("text/html")
    assert '<body class="twilio-response"><div class="outgoing-caller-id">' in instance.text
    assert '<div class="phone-number">4158675309</div>' in instance.text
    listing = await docs_client.get(f"/2008-08-01/Accounts/{DOC_ACCOUNT}/OutgoingCallerIds.html")
    assert 'class="outgoing-caller-ids" data-page="0"' in listing.text
    assert "Line, &quot;one&quot;" in listing.text


@pytest.mark.parametrize(
    ("suffix", "content_type"),
    [
        ("", "application/xml"),
        (".xml", "application/xml"),
        (".json", "application/json"),
        (".csv", "text/csv"),
        (".html", "text/html"),
    ],
)
async def test_errors_keep_their_status_in_the_format_asked_for(
    docs_client: httpx.AsyncClient, suffix: str, content_type: str
) -> None:
    response = await docs_client.get(
        f"/2008-08-01/Accounts/{DOC_ACCOUNT}/OutgoingCallerIds/PN{'0' * 32}{suffix}"
    )
    assert response.status_code == 404
    assert response.headers["content-type"].startswith(content_type)
    if suffix == ".json":
        assert response.json()["TwilioResponse"]["RestException"]["Status"] == "404"
    elif suffix == ".csv":
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows[0][:2] == ["Status", "Message"] and rows[1][0] == "404"
    elif suffix == ".html":
        assert "<title>404</title>" in response.text and 'class="rest-exception"' in response.text
    else:
        assert ET.fromstring(response.content).findtext("RestException/Status") == "404"


async def test_other_suffixes_are_404_in_xml(docs_client: httpx.AsyncClient) -> None:
    response = await docs_client.get(CALLER_ID + ".yaml")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/xml"
