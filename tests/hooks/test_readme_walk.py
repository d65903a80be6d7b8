"""The README's callbacks walk, run as written against `serve --sandbox` (ports swapped for free ones):
a static 2008 app served by `python -m http.server` answers the sandbox's calls through the gateway."""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.e2e.test_e2e import free_port, start_cli


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk is written for curl")
def test_the_readme_callbacks_walk_runs(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Callbacks", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    assert "python -m http.server 8000" in block
    sandbox_port, app_port = free_port(), free_port()
    process, port = start_cli("--sandbox", "--sandbox-port", str(sandbox_port))
    script = "set -e\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n" + block.replace(
        "http.server 8000", f"http.server {app_port}"
    ).replace("&\n", "&\nsleep 1\n", 1).replace(":8000", f":{app_port}").replace(":8080", f":{port}").replace(
        ":8081", f":{sandbox_port}"
    )
    try:
        result = subprocess.run(
            ["bash", "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp_path
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    assert result.returncode == 0, result.stderr
    out, app_log = result.stdout, result.stderr  # http.server logs its requests to stderr
    assert '"kind": "voice"' in out or '"kind":"voice"' in out
    assert f"<Url>http://127.0.0.1:{app_port}/voice.xml</Url><Method>GET</Method>" in out
    requests = [line for line in app_log.splitlines() if '"GET /' in line]
    assert "Caller=6465550000&Called=4155551212" in requests[0] and "DialStatus=answered" in requests[0]
    assert requests[1].split('"GET ', 1)[1].startswith("/menu.xml?") and "Digits=1" in requests[1]
    assert "CallStatus=completed" in requests[2]
