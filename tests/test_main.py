"""The command line (gateway/__main__.py): help text, credential printing, HTTPS serving."""

from __future__ import annotations

import re
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import trustme

from gateway.__main__ import main, print_credentials
from gateway.cli import build_parser
from gateway.migration import diff
from gateway.settings import SPECS, Settings
from tests.conftest import ACCOUNT, ROOT, TOKEN
from tests.e2e.test_e2e import DRAINED, free_port

MARKUP = re.compile(r"``|:(?:class|data|func|meth|mod):|\.\. \w+::")


def help_text(*command: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_top_level_help_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys=capsys)
    for command in ("serve", "sandbox", "replay"):
        assert re.search(rf"^\s+{command}\s+\w", text, re.M), command
    assert not MARKUP.search(text)


def test_serve_help_gives_each_flag_its_meaning_default_and_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = " ".join(help_text("serve", capsys=capsys).split())  # unwrap the columns
    assert not MARKUP.search(text)
    for spec in SPECS:
        entry = text[text.index(spec.flag + " ", text.index("options:")) :]
        entry = entry[: entry.index(f"[{spec.env}]")]
        assert spec.help in entry, spec.name
        assert f"Default: {spec.default or 'unset'}." in entry, spec.name
    assert "--upstream-client fast|httpx" in text and "one of fast, httpx" in text
    assert "--log-format json|text" in text and "one of json, text" in text
    assert "--log-level debug|info|warning|error" in text
    assert "--access-log [true|false]" in text and "the bare flag means true" in text
    assert "Allowed: 0 to 65535" in text  # ports
    assert " VALUE " not in text[text.index("options:") :]  # every kind of setting has its own metavar


def test_every_serve_action_has_help_with_a_default() -> None:
    parser = build_parser()
    serve = next(a for a in parser._subparsers._group_actions[0].choices.values() if a.prog.endswith("serve"))  # type: ignore[union-attr]
    for action in serve._actions:
        if action.dest != "help":
            assert action.help and "Default:" in action.help, action.dest


def test_sandbox_help_lists_every_sandbox_variable(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text("sandbox", capsys=capsys)
    source = "".join(p.read_text() for p in (ROOT / "gateway" / "sandbox").glob("*.py"))
    source += (ROOT / "gateway" / "__main__.py").read_text().split("SANDBOX_DESCRIPTION")[0]
    variables = set(re.findall(r"SANDBOX_[A-Z_]+", source)) | {"SANDBOX_HOST", "SANDBOX_PORT"}
    assert len(variables) >= 8
    for variable in variables:
        assert re.search(rf"^\s+{variable}\s+\S", text, re.M), variable
    assert "--verification success|fail" in text and "Default: 0." in text
    assert not MARKUP.search(text)


def test_replay_help_explains_masks_credentials_and_reports(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text("replay", capsys=capsys)
    for rule in diff.DEFAULT_MASKS:
        assert rule in text
    for needed in ("name:REGEX", "value:REGEX", "REPLAY_ACCOUNT_SID", "REPLAY_AUTH_TOKEN"):
        assert needed in text
    assert "TWILIO_ACCOUNT_SID" in text and "TWILIO_AUTH_TOKEN" in text
    assert ".xml" in text and ".html" in text and "--allow-writes" in text
    assert not MARKUP.search(text)


def test_the_default_sandbox_token_is_printed_an_operators_is_not(capsys: pytest.CaptureFixture[str]) -> None:
    print_credentials({})
    assert f"SANDBOX_AUTH_TOKEN={TOKEN}" in capsys.readouterr().out
    print_credentials({"SANDBOX_AUTH_TOKEN": "an-operators-own-token"})
    out = capsys.readouterr().out
    assert "SANDBOX_AUTH_TOKEN=****" in out and "an-operators-own-token" not in out


def test_half_the_tls_flags_is_refused_at_start(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    process = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--ssl-certfile", str(cert)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert process.returncode == 2
    assert "GATEWAY_SSL_KEYFILE" in process.stderr


def test_serves_https_with_its_own_certificate(tmp_path: Path) -> None:
    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    port = free_port()
    tls = ["--ssl-certfile", str(cert), "--ssl-keyfile", str(key)]
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--sandbox", "--port", str(port), *tls],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "SANDBOX_AUTH_TOKEN": TOKEN + "x"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    context = ssl.create_default_context()
    authority.configure_trust(context)
    try:
        with httpx.Client(verify=context, auth=(ACCOUNT, TOKEN + "x")) as client:
            for _ in range(200):
                try:
                    health = client.get(f"https://127.0.0.1:{port}/healthz", timeout=0.5)
                    break
                except httpx.TransportError:
                    if process.poll() is not None:
                        break
                    time.sleep(0.1)
            else:
                raise AssertionError("the gateway did not start")
            assert health.status_code == 200
            listing = client.get(f"https://127.0.0.1:{port}/2008-08-01/Accounts/{ACCOUNT}/OutgoingCallerIds")
            assert listing.status_code == 200 and b"<OutgoingCallerIds" in listing.content
        check = subprocess.run(  # the container's health check follows the settings to HTTPS
            [sys.executable, "-m", "gateway.health"],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "GATEWAY_PORT": str(port), "GATEWAY_SSL_CERTFILE": str(cert)}
            | {"GATEWAY_SSL_KEYFILE": str(key)},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert check.returncode == 0, check.stderr
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)  # no plain HTTP on that port
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    assert process.returncode in DRAINED, err
    assert f"gateway: https://127.0.0.1:{port}/2008-08-01/" in out
    assert "SANDBOX_AUTH_TOKEN=****" in out and TOKEN + "x" not in out


def test_workers_are_started_from_a_factory_that_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    from uvicorn.importer import import_from_string

    from gateway import __main__ as cli
    from gateway.edge import app as app_module

    seen: dict[str, object] = {}
    monkeypatch.setattr("uvicorn.run", lambda target, **options: seen.update(target=target, **options))
    monkeypatch.setattr("os.environ", {})  # the worker settings go to a throwaway environment
    cli.run_gateway(Settings(upstream="http://127.0.0.1:9", workers=2))
    assert seen["factory"] is True and seen["workers"] == 2
    assert import_from_string(seen["target"]) is app_module.app_from_env
