"""The Dockerfile (no Docker engine here): hadolint clean, and its install and CMD steps work when run the
same way, in the same order, in a fresh virtualenv. Plus the deployment examples' wiring."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from tests.conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str, str]]:
    """(stage, instruction, argument) with continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    out, stage = [], ""
    for line in joined.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        word, _, rest = line.strip().partition(" ")
        if word == "FROM":
            stage = rest.split(" AS ")[-1] if " AS " in rest else "final"
        out.append((stage, word, rest))
    return out


def test_hadolint_has_nothing_to_say() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_final_image_is_slim_non_root_and_checked() -> None:
    steps = instructions()
    final = [(word, rest) for stage, word, rest in steps if stage == "final"]
    assert any(word == "FROM" and rest.startswith("python:3.11-slim") for word, rest in final)
    user = [rest for word, rest in final if word == "USER"]
    assert user and not user[-1].startswith(("root", "0"))
    assert any(word == "HEALTHCHECK" and "/healthz" in rest for word, rest in final)
    assert any(word == "EXPOSE" for word, _ in final)
    assert not any(
        word == "RUN" and re.search(r"\b(gcc|build-essential|apt-get install)\b", rest)
        for word, rest in final
    )
    cmd = [rest for word, rest in final if word == "CMD"]
    assert json.loads(cmd[-1]) == ["python", "-m", "gateway", "serve"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_install_and_cmd_steps_work_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    steps = instructions()
    src, venv = tmp_path / "src", tmp_path / "venv"
    src.mkdir()
    for stage, word, rest in steps:
        if stage == "build" and word == "COPY":
            *sources, _ = rest.split()
            for name in sources:
                origin = ROOT / name.rstrip("/")
                target = src / name.rstrip("/")
                if origin.is_dir():
                    shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy(origin, target)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    for stage, word, rest in steps:
        if stage == "build" and word == "RUN":
            command = rest.replace("/opt/venv", str(venv)).replace("/src", str(src))
            command = command.replace("python -m venv", f"{sys.executable} -m venv")
            result = subprocess.run(
                ["bash", "-ec", command], cwd=src, env=env, capture_output=True, text=True, timeout=900
            )
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    final_env = dict(env)
    for stage, word, rest in steps:
        if stage == "final" and word == "ENV":
            for key, value in re.findall(r'(\w+)=("[^"]*"|\S+)', rest):
                final_env[key] = (
                    value.strip('"').replace("/opt/venv", str(venv)).replace("$PATH", env["PATH"])
                )
    port = free_port()
    final_env.update(GATEWAY_PORT=str(port), GATEWAY_HOST="127.0.0.1", GATEWAY_SANDBOX="true")
    cmd = json.loads([rest for stage, word, rest in steps if stage == "final" and word == "CMD"][-1])
    assert shutil.which(cmd[0], path=final_env["PATH"]) == str(venv / "bin" / "python")
    process = subprocess.Popen(
        cmd, cwd=tmp_path, env=final_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and process.poll() is None, (
                    process.stderr.read() if process.stderr else ""
                )
                time.sleep(0.2)
        assert response.status_code == 200
        imported = subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import gateway, sys; print(gateway.__file__)"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )
        assert str(venv) in imported.stdout  # the installed package, not this checkout
    finally:
        process.terminate()
        process.wait(20)


def test_kubernetes_sidecar_probes() -> None:
    documents = list(yaml.safe_load_all((ROOT / "deploy" / "kubernetes" / "sidecar.yaml").read_text()))
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    gateway = next(
        c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "twilio-gateway"
    )
    assert gateway["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert gateway["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gateway["securityContext"]["runAsUser"] == 10001
    assert {"secretRef": {"name": "twilio-gateway"}} in gateway["envFrom"]


def test_compose_runs_the_gateway_on_the_sandbox() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yaml").read_text())
    services = compose["services"]
    assert services["sandbox"]["command"][:4] == ["python", "-m", "gateway", "sandbox"]
    assert services["gateway"]["environment"]["GATEWAY_UPSTREAM"] == "http://sandbox:8081"
