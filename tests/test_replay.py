"""Record a real session through the gateway, replay it against a fresh gateway on its sandbox."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.__main__ import main
from gateway.app import create_app
from gateway.replay import SidMap, is_write
from tests.conftest import ACCOUNT, PREFIX, TOKEN, CountingTransport, serving

LIST = f"{PREFIX}/OutgoingCallerIds"


@pytest.fixture
async def recorded(tmp_path: Path, upstream: CountingTransport, settings: Any) -> Path:
    path = tmp_path / "session.har"
    app = create_app(settings.replace(record=str(path)), upstream)
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        await client.post(LIST, data={"PhoneNumber": "(415) 867-5309", "FriendlyName": "Home"})
        await client.post(LIST, data={"PhoneNumber": "415-555-1212 x 5"})
        listing = await client.get(LIST)
        sid = ET.fromstring(listing.content)[0][0].findtext("Sid")
        await client.get(f"{LIST}.json", params={"num": 1, "page": 1})
        await client.get(LIST, params={"PhoneNumber": "415-867-5309"})
        await client.get(f"{LIST}/{sid}")
        await client.post(f"{LIST}/{sid}", data={"FriendlyName": "Office"})
        await client.get(f"{LIST}/{sid}.csv")
        await client.get(f"{LIST}.html")
        await client.get(f"{LIST}/PN123")
        await client.post(LIST, data={"PhoneNumber": "555-1212"})
        await client.put(LIST)
        await client.post(f"{LIST}/{sid}?_method=DELETE")
        await client.get(LIST)
    return path


def run(*args: str) -> int:
    return main(["replay", *args])


def test_a_recorded_session_replays_with_zero_differences(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit, page = tmp_path / "junit.xml", tmp_path / "report.html"
    status = run(str(recorded), "--allow-writes", "--report", str(junit), "--report", str(page))
    out = capsys.readouterr().out
    assert status == 0, out
    assert out.startswith("replayed 14, skipped 0 (writes), same 14, different 0, differences 0")
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("14", "0", "0")
    assert "same 14" in page.read_text()


def test_without_allow_writes_writes_are_skipped(recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = run(str(recorded))
    out = capsys.readouterr().out
    # The reads that depended on state the skipped writes would have made now differ.
    assert "replayed 8, skipped 6 (writes)" in out.splitlines()[0]
    assert status == 1


def doctor(source: Path, target: Path) -> None:
    document = json.loads(source.read_text())
    entries = document["log"]["entries"]
    fetch = next(
        e
        for e in entries
        if e["request"]["url"].endswith("/OutgoingCallerIds") and e["request"]["method"] == "GET"
    )
    fetch["response"]["content"]["text"] = (
        fetch["response"]["content"]["text"]
        .replace("<FriendlyName>Home</FriendlyName>", "<FriendlyName>Hone</FriendlyName>")
        .replace('total="2"', 'total="7"')
    )
    error = next(e for e in entries if e["request"]["url"].endswith("/PN123"))
    error["response"]["status"] = 400
    target.write_text(json.dumps(document))


def test_a_doctored_har_yields_exactly_those_three_differences(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doctored = tmp_path / "doctored.har"
    doctor(recorded, doctored)
    junit, page = tmp_path / "junit.xml", tmp_path / "report.html"
    status = run(str(doctored), "--allow-writes", "--report", str(junit), "--report", str(page))
    out = capsys.readouterr().out
    assert status == 1
    assert "different 2, differences 3" in out.splitlines()[0]
    assert (
        "/TwilioResponse/OutgoingCallerIds/OutgoingCallerId[0]/FriendlyName"
        " → expected 'Hone' vs actual 'Home'" in out
    )
    assert "/TwilioResponse/OutgoingCallerIds/@total → expected '7' vs actual '2'" in out
    assert "status → expected '400' vs actual '404'" in out
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "2"
    failures = [case.find("failure") for case in suite if case.find("failure") is not None]
    assert sum(len((f.text or "").splitlines()) for f in failures if f is not None) == 3
    html = page.read_text()
    assert html.count('class="different"') == 2 and "Hone" in html


def test_user_masks_hide_a_difference(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doctored = tmp_path / "doctored.har"
    doctor(recorded, doctored)
    status = run(str(doctored), "--allow-writes", "--mask", "name:FriendlyName|total")
    assert "differences 1" in capsys.readouterr().out.splitlines()[0]
    assert status == 1


def test_credentials_come_from_the_environment_for_other_targets(
    recorded: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REPLAY_ACCOUNT_SID", raising=False)
    assert run(str(recorded), "--against", "http://127.0.0.1:9") == 2
    assert "REPLAY_ACCOUNT_SID" in capsys.readouterr().err


def test_requests_carry_the_environments_credentials_not_the_files(
    recorded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[httpx.Request] = []
    from gateway import replay as module

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404)

    monkeypatch.setenv("REPLAY_ACCOUNT_SID", "AC" + "e" * 32)
    monkeypatch.setenv("REPLAY_AUTH_TOKEN", "from-the-env")
    entries = json.loads(recorded.read_text())["log"]["entries"]
    auth = module.credentials(embedded=False)
    assert auth == ("AC" + "e" * 32, "from-the-env")
    module.replay(
        entries, "http://target.test", auth, module.diff.Masks(), True, httpx.MockTransport(handler)
    )
    assert len(seen) == 14
    expected = httpx.BasicAuth(*auth)._auth_header
    assert {r.headers["authorization"] for r in seen} == {expected}


def test_is_write_sees_method_overrides() -> None:
    assert is_write({"method": "POST", "queryString": []})
    assert is_write({"method": "GET", "queryString": [{"name": "_method", "value": "delete"}]}) is True
    assert not is_write({"method": "GET", "queryString": []})


def test_sid_map() -> None:
    sids = SidMap()
    sids.learn("<a>PN" + "1" * 32 + "</a>", "<a>PN" + "2" * 32 + "</a>")
    assert sids.rewrite("/x/PN" + "1" * 32 + "?y") == "/x/PN" + "2" * 32 + "?y"
