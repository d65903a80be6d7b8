"""Record a real session through the gateway, replay it against a fresh gateway on its sandbox."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.__main__ import embedded_gateway, main
from gateway.edge.app import create_app
from gateway.migration import replay as replay_module
from gateway.migration.replay import SidMap, is_write
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


def test_without_allow_writes_writes_are_skipped(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "junit.xml"
    status = run(str(recorded), "--report", str(junit))
    out = capsys.readouterr().out
    # The reads of the caller ids after the first skipped create cannot agree: reported as skipped too.
    assert out.splitlines()[0] == (
        "replayed 8, skipped 6 (writes), same 1, different 0, differences 0;"
        " skipped 7 reads that differ after a skipped write"
    )
    assert status == 0
    suite = ET.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("skipped"), suite.get("failures")) == ("14", "13", "0")
    messages = {case.find("skipped").get("message") for case in suite if case.find("skipped") is not None}
    assert messages == {"write not replayed without --allow-writes", replay_module.AFTER_WRITE}


def test_a_read_of_another_resource_after_a_skipped_write_still_counts(tmp_path: Path) -> None:
    document = {"log": {"entries": []}}
    created = f"{PREFIX}/OutgoingCallerIds"
    entries = [
        ("POST", created, 200, "<TwilioResponse/>"),
        ("GET", f"{PREFIX}/Trunks/TK{'1' * 32}/PhoneNumbers/PN{'2' * 32}", 200, "<TwilioResponse/>"),
    ]
    for method, path, status, text in entries:
        document["log"]["entries"].append(
            {
                "request": {"method": method, "url": "http://gw.test" + path, "queryString": []},
                "response": {"status": status, "content": {"mimeType": "application/xml", "text": text}},
            }
        )
    results = replay_module.replay(
        document["log"]["entries"],
        "http://target.test",
        (ACCOUNT, TOKEN),
        replay_module.diff.Masks(),
        False,
        httpx.MockTransport(lambda request: httpx.Response(404, text="<TwilioResponse/>")),
    )
    assert [bool(r.skipped) for r in results] == [True, False]
    assert results[1].failed


def test_collection_of_a_path() -> None:
    assert (
        replay_module.collection(f"{PREFIX}/OutgoingCallerIds/PN{'a' * 32}.csv")
        == f"{PREFIX}/OutgoingCallerIds"
    )
    assert replay_module.collection(f"{PREFIX}/OutgoingCallerIds.json") == f"{PREFIX}/OutgoingCallerIds"
    assert (
        replay_module.collection(f"{PREFIX}/OutgoingCallerIds/PN123") == f"{PREFIX}/OutgoingCallerIds/PN123"
    )


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


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("REPLAY_ACCOUNT_SID", "REPLAY_AUTH_TOKEN", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_credentials_come_from_the_environment_for_other_targets(
    recorded: Path, no_credentials: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(str(recorded), "--against", "http://127.0.0.1:9") == 2
    err = capsys.readouterr().err
    assert "REPLAY_ACCOUNT_SID" in err and "TWILIO_ACCOUNT_SID" in err


def test_twilio_helper_library_variables_are_accepted(no_credentials: pytest.MonkeyPatch) -> None:
    no_credentials.setenv("TWILIO_ACCOUNT_SID", "AC" + "f" * 32)
    no_credentials.setenv("TWILIO_AUTH_TOKEN", "twilio-token")
    assert replay_module.credentials(embedded=False) == ("AC" + "f" * 32, "twilio-token")
    # a real account is not the sandbox's
    assert replay_module.credentials(embedded=True, sandbox=(ACCOUNT, TOKEN)) == (ACCOUNT, TOKEN)
    no_credentials.setenv("REPLAY_ACCOUNT_SID", "AC" + "e" * 32)
    no_credentials.setenv("REPLAY_AUTH_TOKEN", "replay-token")
    assert replay_module.credentials(embedded=False) == ("AC" + "e" * 32, "replay-token")


def test_half_a_credential_pair_is_refused(
    recorded: Path, no_credentials: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_credentials.setenv("TWILIO_ACCOUNT_SID", "AC" + "f" * 32)
    assert run(str(recorded), "--against", "http://127.0.0.1:9") == 2
    assert "TWILIO_AUTH_TOKEN is not set" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", ["", "/", "/2008-08-01", "/2008-08-01/"])
def test_against_takes_the_root_or_the_legacy_base_url(
    recorded: Path, suffix: str, no_credentials: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_credentials.setenv("REPLAY_ACCOUNT_SID", ACCOUNT)
    no_credentials.setenv("REPLAY_AUTH_TOKEN", TOKEN)
    with embedded_gateway() as base:
        status = run(str(recorded), "--allow-writes", "--against", base + suffix)
    assert capsys.readouterr().out.startswith("replayed 14, skipped 0 (writes), same 14, different 0")
    assert status == 0


def test_against_a_prefix_is_where_the_recorded_paths_go() -> None:
    assert replay_module.target_base("https://proxy.test/legacy/") == "https://proxy.test/legacy"
    assert replay_module.target_base("https://proxy.test/legacy/2008-08-01") == "https://proxy.test/legacy"


@pytest.mark.parametrize(
    ("against", "message"),
    [
        ("http://127.0.0.1:9/2008-08-01/Accounts", "not a path inside the legacy API"),
        ("127.0.0.1:8080", "must be an http(s) URL"),
        ("http://u:p@127.0.0.1:8080", "no query, fragment or credentials"),
    ],
)
def test_against_with_a_wrong_url_is_refused_clearly(
    recorded: Path, against: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(str(recorded), "--against", against) == 2
    assert message in capsys.readouterr().err


def test_report_kind_follows_the_extension_and_others_are_refused(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "report.txt"
    assert run(str(recorded), "--report", str(text)) == 2
    assert "--report" in capsys.readouterr().err and not text.exists()
    junit, page = tmp_path / "JUNIT.XML", tmp_path / "report.htm"
    assert run(str(recorded), "--allow-writes", "--report", str(junit), "--report", str(page)) == 0
    assert ET.parse(junit).getroot().tag == "testsuite"
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_requests_carry_the_environments_credentials_not_the_files(
    recorded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[httpx.Request] = []
    from gateway.migration import replay as module

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


@pytest.fixture
async def recorded_account(tmp_path: Path, upstream: CountingTransport, settings: Any) -> Path:
    """The account read in every format: the recorder writes its AuthToken as ****."""
    path = tmp_path / "account.har"
    app = create_app(settings.replace(record=str(path)), upstream)
    async with serving(app, auth=(ACCOUNT, TOKEN)) as client:
        for suffix in ("", ".json", ".csv", ".html"):
            assert (await client.get(f"{PREFIX}{suffix}")).status_code == 200
    assert TOKEN not in path.read_text()
    return path


def test_a_replayed_account_read_shows_the_auth_token_nowhere(
    recorded_account: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit, page = tmp_path / "junit.xml", tmp_path / "report.html"
    status = run(str(recorded_account), "--report", str(junit), "--report", str(page))
    out = capsys.readouterr().out
    assert TOKEN not in out and TOKEN not in junit.read_text() and TOKEN not in page.read_text()
    assert out.startswith("replayed 4, skipped 0 (writes), same 4, different 0"), out
    assert status == 0


def test_the_auth_token_mask_stays_without_the_default_masks(
    recorded_account: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the dates are the sandbox's start, which a replay's fresh sandbox may begin a second later
    assert run(str(recorded_account), "--no-default-masks", "--mask", "name:DateCreated|DateUpdated") == 0
    out = capsys.readouterr().out
    assert TOKEN not in out and "same 4" in out
