"""The README's curl walk-through, run as written against `serve --sandbox` (ports swapped for free ones)."""

from __future__ import annotations

import shutil
import signal
import subprocess

import pytest

from tests.conftest import ROOT
from tests.e2e.test_e2e import free_port, start_cli


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through is written for curl")
def test_the_readme_walk_through_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```sh\nAUTH=", 1)[1].split("```", 1)[0]
    sandbox_port = free_port()
    start = readme.split("Start `", 1)[1].split("`", 1)[0]
    assert start.startswith("SANDBOX_SEED=calls=200,conferences=2 python -m gateway serve --sandbox")
    env = {"SANDBOX_SEED": "calls=200,conferences=2"}
    process, port = start_cli("--sandbox", "--sandbox-port", str(sandbox_port), env=env)
    try:
        script = ("set -e\nAUTH=" + block).replace(":8080", f":{port}").replace(":8081", f":{sandbox_port}")
        result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert out.count("<ValidationRequest>") == 2
    assert "<PhoneNumber>4155551212</PhoneNumber>" in out
    assert 'numpages="2" pagesize="1"' in out
    assert "<FriendlyName>My Second Line</FriendlyName>" in out
    assert "<FriendlyName>Home again</FriendlyName>" in out
    assert out.count("HTTP/1.1 204") == 4
    assert "<Status>0</Status>" in out and "<Status>1</Status>" in out
    assert "<Called>4155551212</Called><Caller>6465550000</Caller>" in out
    assert "<CallSegmentSid>CA" in out and "<Flags>6</Flags>" in out
    assert out.count("<Body>Hi Jenny! Grüße</Body>") == 2 and "<Flags>4</Flags>" in out
    assert "<ShortCode>67898</ShortCode>" in out
    assert '<Calls page="3"' in out
    assert "Sid,DateCreated,DateUpdated,CallSegmentSid,AccountSid,Called,Caller" in out
    assert "<Muted>true</Muted>" in out
    assert "HTTP/1.1 405" in out
    assert '{"TwilioResponse":' in out
    assert "Sid,AccountSid,FriendlyName,PhoneNumber,DateCreated,DateUpdated" in out
    assert '<body class="twilio-response">' in out
    assert "<TrunkPhoneNumbers " in out and "<TrunkPhoneNumber>" in out
    assert "<Code>21401</Code>" in out and "<Status>404</Status>" in out and "<Code>20003</Code>" in out
    assert "<FriendlyName>My Nicer Twilio Account</FriendlyName>" in out
    assert "<Accounts " in out and "<StatusText>Active</StatusText>" in out
    assert "<PhoneNumber>8667770100</PhoneNumber>" in out
    assert "<PhoneNumber>2027770100</PhoneNumber>" in out  # bought without an AreaCode: anywhere
    assert "<Url>http://example.com/b</Url>" in out and "<Method>GET</Method>" in out
    assert "<Code>21452</Code>" in out
