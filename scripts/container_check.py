"""Build the gateway's image with podman (no Docker engine needed) and check it as the Kubernetes example
runs it. Run it, as root on Debian or with podman, runc and debootstrap installed, before submitting a
change to the Dockerfile, deploy/ or the command line:

    python scripts/container_check.py [--base IMAGE] [--rebuild-base]

Not part of the unit suite (that runs on any machine with Python). Steps:

1. podman, runc and debootstrap (installed with apt-get when missing, as root on Debian);
   ``default_ulimits = []`` in /etc/containers/containers.conf (podman's defaults can exceed the host's
   hard limits).
2. The base: ``python:3.11-slim`` if it can be pulled, else a stand-in built once from Debian packages
   with debootstrap (python3.11, venv, the host's CA bundle) and imported into podman.
3. ``podman build --isolation=chroot --format docker`` (docker format keeps the HEALTHCHECK).
4. The image alone, locked down as the manifest's securityContext asks: non-root, read-only root
   filesystem, all capabilities dropped, no-new-privileges; /healthz and /readyz within 2 s;
   ``podman healthcheck run``; a legacy request on its sandbox; SIGTERM drains an in-flight request
   within the shutdown timeout; the exit status.
5. The sidecar: deploy/kubernetes/sidecar.yaml played with ``podman kube play`` (local image names, a
   stand-in legacy app making a 2008 client's requests with its own credentials on 127.0.0.1:8080, the
   gateway holding the injected credentials against its sandbox); the manifest's probes from outside
   the pod, on the pod IP, as the kubelet's; the API not reachable there.

Prints one line per check, then the figures (image size, the gateway's own layers, start-up time), then a
last line naming every check that failed. Exit status 0 when every check passed. podman runs with
``--runtime runc --cgroup-manager=cgroupfs``.

Timing checks are bounds, never races: each bound is stretched by the machine's load (the one-minute load
average per CPU, when above 1), and the drain check sends SIGTERM once the upstream has the request in
hand, not after a fixed sleep.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "localhost/twilio-legacy-gateway:check"
REAL_BASE = "docker.io/library/python:3.11-slim"
STANDIN = "localhost/twilio-legacy-gateway-base:bookworm-python3.11"
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"]
LOCKED_DOWN = ["--read-only", "--read-only-tmpfs=false", "--cap-drop=ALL", "--security-opt=no-new-privileges"]
SID, TOKEN = "AC" + "a" * 32, "0123456789abcdef0123456789abcdef"  # the sandbox's default account
LEGACY_TOKEN = "a-token-only-the-legacy-app-knows"
PREFIX = "check-gw"

# A 2008 client's request shapes, run in a second container sharing the gateway's network namespace.
LEGACY_APP = r"""
import base64, json, os, time, urllib.error, urllib.parse, urllib.request
base = os.environ["TWILIO_BASE_URL"] + "/2008-08-01/Accounts/" + os.environ["LEGACY_SID"]
def call(method, path, form=None, token=os.environ["LEGACY_TOKEN"]):
    pair = base64.b64encode((os.environ["LEGACY_SID"] + ":" + token).encode()).decode()
    data = urllib.parse.urlencode(form).encode() if form else None
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Authorization": "Basic " + pair})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
for attempt in range(100):
    try:
        urllib.request.urlopen(os.environ["TWILIO_BASE_URL"] + "/healthz", timeout=1)
        break
    except OSError:
        time.sleep(0.1)
results = {}
form = {"PhoneNumber": "415-555-1212", "FriendlyName": "Front desk"}
status, body = call("POST", "/OutgoingCallerIds", form)
results["validate"] = [status, "<ValidationRequest>" in body]
status, body = call("GET", "/OutgoingCallerIds?num=50&page=0")
results["list"] = [status, "<OutgoingCallerIds" in body]
status, body = call("GET", "/OutgoingCallerIds", token="not-my-token")
results["wrong-token"] = [status, "<RestException>" in body]
print("LEGACY-APP " + json.dumps(results), flush=True)
time.sleep(3600)
"""

# An upstream that takes 3 s to answer: the request in flight when SIGTERM arrives. It says when it
# has the request, so SIGTERM is sent then.
ARRIVED = "UPSTREAM-HAS-THE-REQUEST"
SLOW_UPSTREAM = r"""
import http.server, time
class Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/":
            print("UPSTREAM-HAS-THE-REQUEST", flush=True)
            time.sleep(3)
        body = b'{"code": 20404, "message": "The requested resource was not found", "status": 404}'
        self.send_response(404 if self.path != "/" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", 8099), Slow).serve_forever()
"""


class Report:
    def __init__(self) -> None:
        self.failed: list[str] = []
        self.figures: list[tuple[str, str]] = []

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        print(f"{'ok  ' if ok else 'FAIL'} {name}" + (f" ({detail})" if detail else ""), flush=True)
        if not ok:
            self.failed.append(name)
        return ok

    def figure(self, name: str, value: str) -> None:
        self.figures.append((name, value))
        print(f"     {name}: {value}", flush=True)

    def verdict(self) -> str:
        """The last line: every failing check by name."""
        if not self.failed:
            return "all checks passed"
        return f"{len(self.failed)} check(s) FAILED: " + "; ".join(self.failed)


def load_factor(load: float | None = None, cpus: int | None = None) -> float:
    """How much slower than idle the machine may run now: the one-minute load average per CPU, at
    least 1."""
    load = os.getloadavg()[0] if load is None else load
    return max(1.0, load / (cpus or os.cpu_count() or 1))


def within(seconds: float, bound: float, factor: float | None = None) -> tuple[bool, str]:
    """Whether ``seconds`` is inside ``bound`` stretched for the load, and the detail to print."""
    factor = load_factor() if factor is None else factor
    stretched = bound * factor
    detail = f"{seconds:.2f} s, bound {stretched:.1f} s" + (f" (load ×{factor:.1f})" if factor > 1 else "")
    return seconds < stretched, detail


def run(args: Sequence[str], *, check: bool = True, timeout: float = 600, **kwargs: Any) -> Any:
    result = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise SystemExit(f"{' '.join(args[:6])} …: exit {result.returncode}\n{result.stderr[-3000:]}")
    return result


def podman(*args: str, check: bool = True, timeout: float = 600) -> Any:
    return run([*PODMAN, *args], check=check, timeout=timeout)


def get(url: str, auth: tuple[str, str] | None = None, timeout: float = 5) -> tuple[int, str]:
    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


def in_logs(container: str, line: str, seconds: float) -> bool:
    """Whether ``line`` appears in the container's output within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if line in podman("logs", container, check=False).stdout:
            return True
        time.sleep(0.1)
    return False


def wait_for(url: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            if get(url, timeout=1)[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


# 1. Tools ---------------------------------------------------------------------------------------------


def ensure_tools() -> None:
    missing = [tool for tool in ("podman", "runc", "debootstrap") if shutil.which(tool) is None]
    if missing:
        if os.geteuid() != 0 or not Path("/etc/debian_version").exists():
            raise SystemExit(f"container_check: install {' '.join(missing)} (or run as root on Debian)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run(["apt-get", "update", "-q"], env=env)
        run(["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-q", *missing], env=env)
    conf = Path("/etc/containers/containers.conf")
    text = conf.read_text() if conf.exists() else ""
    if not any(line.strip().startswith("default_ulimits") for line in text.splitlines()):
        if os.geteuid() != 0:
            print("note: set default_ulimits = [] under [containers] in", conf)
            return
        if "[containers]" in text:
            text = text.replace("[containers]", "[containers]\ndefault_ulimits = []", 1)
        else:
            text += "\n[containers]\ndefault_ulimits = []\n"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(text)
        print(f"set default_ulimits = [] in {conf}")


# 2. Base ----------------------------------------------------------------------------------------------


def base_image(given: str | None, rebuild: bool, report: Report) -> str:
    if given:
        return given
    if podman("image", "exists", REAL_BASE, check=False).returncode == 0:
        return REAL_BASE
    try:
        if podman("pull", "-q", REAL_BASE, check=False, timeout=120).returncode == 0:
            return REAL_BASE
    except subprocess.TimeoutExpired:
        pass
    if not rebuild and podman("image", "exists", STANDIN, check=False).returncode == 0:
        print(f"base: {REAL_BASE} cannot be pulled; using the stand-in {STANDIN}")
        return STANDIN
    print(f"base: {REAL_BASE} cannot be pulled; building the stand-in {STANDIN} with debootstrap")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gateway-base-") as scratch:
        rootfs = Path(scratch) / "rootfs"
        run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3.11,python3.11-venv,python3-distutils,ca-certificates",
                "bookworm",
                str(rootfs),
                "http://deb.debian.org/debian",
            ],
            timeout=1800,
        )
        for name in ("python", "python3"):
            (rootfs / "usr/local/bin" / name).symlink_to("/usr/bin/python3.11")
        # pip inside the build must trust what the host trusts (a TLS-inspecting proxy, say).
        shutil.copy("/etc/ssl/certs/ca-certificates.crt", rootfs / "etc/ssl/certs/ca-certificates.crt")
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (rootfs / junk).glob("*"):
                if path.is_file():
                    path.unlink()
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            [*PODMAN, "import", "--message", "stand-in for python:3.11-slim", "-", STANDIN],
            stdin=tar.stdout,
            check=True,
            capture_output=True,
        )
        tar.wait()
    report.figure("stand-in base built in", f"{time.monotonic() - started:.0f} s")
    return STANDIN


# 3. Build ---------------------------------------------------------------------------------------------


def build(base: str, report: Report) -> None:
    started = time.monotonic()
    podman(
        "build",
        "--isolation=chroot",
        "--format",
        "docker",
        "--build-arg",
        f"BASE_IMAGE={base}",
        "-t",
        IMAGE,
        "-f",
        str(ROOT / "Dockerfile"),
        str(ROOT),
        timeout=1800,
    )
    report.figure("build time", f"{time.monotonic() - started:.1f} s")
    total = int(podman("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)
    below = int(podman("image", "inspect", "--format", "{{.Size}}", base).stdout)
    report.figure("image size", f"{total / 1e6:.1f} MB (base {base}: {below / 1e6:.1f} MB)")
    report.figure("the gateway's own layers", f"{(total - below) / 1e6:.1f} MB")
    inspected = json.loads(podman("image", "inspect", IMAGE).stdout)[0]
    healthcheck = inspected.get("Healthcheck") or {}
    report.check(
        "HEALTHCHECK kept in the image", healthcheck.get("Test", [])[1:] == ["python", "-m", "gateway.health"]
    )
    subpackages = [p.name for p in (ROOT / "gateway").iterdir() if (p / "__init__.py").exists()]
    contents = podman(
        "run",
        "--rm",
        IMAGE,
        "python",
        "-c",
        "import importlib.util as u, pathlib, gateway; "
        "print([m for m in ('pip', 'setuptools', 'tests') if u.find_spec(m)], "
        "sorted(p.name for p in pathlib.Path(gateway.__file__).parent.iterdir() if p.is_dir()), "
        "pathlib.Path('/src').exists())",
    ).stdout.strip()
    report.check(
        "no pip, setuptools, tests, docs or source tree in the image",
        contents == f"[] {sorted({'__pycache__', *subpackages})} False",
        contents,
    )


# 4. The image alone -----------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def status_of(container: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(podman("inspect", container).stdout)[0]
    return data


def started_at(container: str) -> float:
    """The container's start as a Unix time (podman prints nanoseconds; Python parses microseconds)."""
    stamp = status_of(container)["State"]["StartedAt"]
    match = re.fullmatch(r"(\S+T[\d:]+)(?:\.(\d+))?(Z|[+-][\d:]+)", stamp)
    if match is None:
        raise SystemExit(f"container_check: cannot read the start time {stamp!r}")
    whole, fraction, zone = match.groups()
    moment = datetime.datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    return moment.timestamp() + float("0." + (fraction or "0"))


def check_image(report: Report) -> None:
    name, port = f"{PREFIX}-image", free_port()
    podman("rm", "-f", name, check=False)
    started = time.monotonic()
    podman(
        "run", "-d", "--name", name, *LOCKED_DOWN, "-p", f"127.0.0.1:{port}:8080",
        "-e", "GATEWAY_SANDBOX=true", IMAGE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    healthy = wait_for(base + "/healthz", started + 10 * load_factor())
    healthz = time.monotonic() - started
    ready = healthy and wait_for(base + "/readyz", started + 10 * load_factor())
    readyz, answered = time.monotonic() - started, time.time()
    # The container's own start (its process exec'd), as podman recorded it: the gateway's start-up
    # without podman's set-up of the container.
    since_start = answered - started_at(name)
    report.figure("start-up (podman run → /healthz 200)", f"{healthz:.2f} s")
    report.figure("start-up (podman run → /readyz 200)", f"{readyz:.2f} s")
    report.figure("start-up (container started → /readyz 200)", f"{since_start:.2f} s")
    quick, detail = within(since_start, 2.0)
    report.check("/healthz and /readyz answer within 2 s of the container's start", ready and quick, detail)
    inside = podman("exec", name, "cat", "/proc/1/status").stdout
    fields = dict(line.split(":\t", 1) for line in inside.splitlines() if ":\t" in line)
    report.check("runs as uid 10001", fields["Uid"].split()[:2] == ["10001", "10001"], fields["Uid"])
    report.check("all capabilities dropped", int(fields["CapEff"], 16) == int(fields["CapBnd"], 16) == 0)
    report.check("no-new-privileges", fields["NoNewPrivs"].strip() == "1")
    write = podman("exec", name, "python", "-c", "open('/opt/venv/probe', 'w')", check=False)
    report.check("root filesystem read-only", "Read-only file system" in write.stderr)
    report.check("podman healthcheck run", podman("healthcheck", "run", name, check=False).returncode == 0)
    status, body = get(f"{base}/2008-08-01/Accounts/{SID}/OutgoingCallerIds", auth=(SID, TOKEN))
    report.check(
        "a legacy request on the sandbox", status == 200 and "<OutgoingCallerIds" in body, str(status)
    )
    stopping = time.monotonic()
    podman("kill", "--signal", "TERM", name)
    code = podman("wait", name, timeout=60).stdout.strip()
    report.figure("stop after SIGTERM (idle)", f"{time.monotonic() - stopping:.2f} s, exit status {code}")
    report.check("exit status after SIGTERM is clean", code in ("0", "143"), code)
    podman("rm", "-f", name, check=False)


def check_drain(report: Report) -> None:
    pod, port, timeout = f"{PREFIX}-drain", free_port(), 10
    podman("pod", "rm", "-f", pod, check=False)
    podman("pod", "create", "--name", pod, "-p", f"127.0.0.1:{port}:8080")
    podman("run", "-d", "--pod", pod, "--name", f"{pod}-upstream", IMAGE, "python", "-c", SLOW_UPSTREAM)
    gateway = f"{pod}-gateway"
    podman(
        "run", "-d", "--pod", pod, "--name", gateway, *LOCKED_DOWN,
        "-e", "GATEWAY_UPSTREAM=http://127.0.0.1:8099", "-e", "GATEWAY_TRUNKING_UPSTREAM=http://127.0.0.1:8099",
        "-e", f"GATEWAY_SHUTDOWN_TIMEOUT={timeout}", "-e", "GATEWAY_RETRIES=0", IMAGE,
    )  # fmt: skip
    try:
        if not report.check(
            "gateway up in front of a slow upstream",
            wait_for(f"http://127.0.0.1:{port}/healthz", time.monotonic() + 20 * load_factor()),
        ):
            return
        answer: list[Any] = []

        def client() -> None:
            started = time.monotonic()
            try:
                answer.append(
                    (
                        *get(
                            f"http://127.0.0.1:{port}/2008-08-01/Accounts/{SID}/OutgoingCallerIds",
                            (SID, TOKEN),
                            30,
                        ),
                        time.monotonic() - started,
                    )
                )
            except OSError as exc:
                answer.append((0, repr(exc), time.monotonic() - started))

        thread = threading.Thread(target=client)
        thread.start()
        if not report.check(
            "the request reached the slow upstream", in_logs(f"{pod}-upstream", ARRIVED, 20 * load_factor())
        ):
            return
        stopping = time.monotonic()
        podman("kill", "--signal", "TERM", gateway)
        code = podman("wait", gateway, timeout=60).stdout.strip()
        stopped = time.monotonic() - stopping
        thread.join(30)
        status, body, took = answer[0] if answer else (0, "no answer", 0.0)
        report.check(
            "SIGTERM drains the request in flight", status == 404 and "<RestException>" in body,
            f"answered {status} after {took:.1f} s",
        )  # fmt: skip
        report.check(f"stopped within the shutdown timeout ({timeout} s)", *within(stopped, timeout))
        report.check("exit status after draining is clean", code in ("0", "143"), code)
        report.figure("stop after SIGTERM with a request in flight", f"{stopped:.2f} s, exit status {code}")
    finally:
        podman("pod", "rm", "-f", pod, check=False)


# 5. The sidecar ---------------------------------------------------------------------------------------


def sidecar_manifest() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """deploy/kubernetes/sidecar.yaml with local images, one replica, a stand-in legacy app and the
    gateway on its sandbox holding the injected credentials (the Secret's placeholders are not sids)."""
    documents = list(yaml.safe_load_all((ROOT / "deploy/kubernetes/sidecar.yaml").read_text()))
    secret = next(d for d in documents if d["kind"] == "Secret")
    values = {
        "GATEWAY_UPSTREAM_ACCOUNT_SID": SID,
        "GATEWAY_UPSTREAM_AUTH_TOKEN": TOKEN,
        "GATEWAY_CLIENT_CREDENTIALS": f"{SID}:{LEGACY_TOKEN}",
    }
    assert set(secret.pop("stringData")) == set(values)
    # podman 4.3 reads a Secret's data only, not stringData.
    secret["data"] = {key: base64.b64encode(value.encode()).decode() for key, value in values.items()}
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    deployment["metadata"]["name"] = PREFIX + "-sidecar"
    deployment["spec"]["replicas"] = 1
    containers = deployment["spec"]["template"]["spec"]["containers"]
    gateway = next(c for c in containers if c["name"] == "twilio-gateway")
    app = next(c for c in containers if c["name"] == "legacy-app")
    gateway["image"] = app["image"] = IMAGE
    gateway["env"].append({"name": "GATEWAY_SANDBOX", "value": "true"})
    # One line: podman's YAML reader stumbles over long multi-line strings in a command.
    script = base64.b64encode(LEGACY_APP.encode()).decode()
    app["command"] = ["python", "-c", f"import base64; exec(base64.b64decode('{script}'))"]
    app["env"] += [{"name": "LEGACY_SID", "value": SID}, {"name": "LEGACY_TOKEN", "value": LEGACY_TOKEN}]
    return documents, gateway


def check_sidecar(report: Report) -> None:
    documents, gateway = sidecar_manifest()
    secret = next(d for d in documents if d["kind"] == "Secret")
    # podman 4.3's kube play stores a Secret document as YAML but reads a secret back as a JSON map of
    # base64 values: create it so, and play the rest.
    podman("secret", "rm", secret["metadata"]["name"], check=False)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(secret["data"], handle)
    podman("secret", "create", secret["metadata"]["name"], handle.name)
    os.unlink(handle.name)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        yaml.safe_dump_all([d for d in documents if d is not secret], handle)
    podman("kube", "down", handle.name, check=False)
    started = time.monotonic()
    played = podman("kube", "play", handle.name, check=False)
    try:
        if not report.check(
            "podman kube play deploy/kubernetes/sidecar.yaml",
            played.returncode == 0,
            "" if played.returncode == 0 else played.stderr.strip()[-300:],
        ):
            return
        lines = played.stdout.split()
        pod_id = lines[lines.index("Pod:") + 1]
        inspected = json.loads(podman("pod", "inspect", pod_id).stdout)
        inspected = inspected[0] if isinstance(inspected, list) else inspected
        pod, infra_id = inspected["Name"], inspected["InfraContainerID"]
        networks = status_of(infra_id)["NetworkSettings"]["Networks"]
        pod_ip = next(iter(networks.values()))["IPAddress"]
        report.figure("pod IP", pod_ip)
        health = next(p["containerPort"] for p in gateway["ports"] if p["name"] == "health")
        up = wait_for(f"http://{pod_ip}:{health}/healthz", time.monotonic() + 20 * load_factor())
        report.figure(
            "start-up in the pod (kube play → /healthz on the pod IP)", f"{time.monotonic() - started:.2f} s"
        )
        for probe in ("livenessProbe", "readinessProbe"):
            spec = gateway[probe]["httpGet"]
            port = spec["port"] if isinstance(spec["port"], int) else health
            status = get(f"http://{pod_ip}:{port}{spec['path']}")[0] if up else 0
            report.check(f"{probe} {spec['path']} on the pod IP, as the kubelet", status == 200, str(status))
        status, metrics = get(f"http://{pod_ip}:{health}/metrics") if up else (0, "")
        report.check("Prometheus scrape on the pod IP", status == 200 and "gateway_requests_total" in metrics)
        try:
            get(f"http://{pod_ip}:8080/healthz", timeout=2)
            closed = False
        except OSError:
            closed = True
        report.check("the API (injected credentials) is not reachable on the pod IP", closed)
        deadline, line = time.monotonic() + 20 * load_factor(), ""
        while time.monotonic() < deadline and not line:
            logs = podman("logs", f"{pod}-legacy-app", check=False).stdout
            line = next((x for x in logs.splitlines() if x.startswith("LEGACY-APP ")), "")
            time.sleep(0.2)
        results = json.loads(line.split(" ", 1)[1]) if line else {}
        report.check(
            "the legacy app reaches 127.0.0.1:8080 with its own credentials",
            results.get("list") == [200, True] and results.get("validate") == [200, True],
            json.dumps(results),
        )
        report.check(
            "a token other than the legacy app's is refused", results.get("wrong-token") == [401, True]
        )
        inside = podman("exec", f"{pod}-twilio-gateway", "cat", "/proc/1/status").stdout
        locked = status_of(f"{pod}-twilio-gateway")["HostConfig"]["ReadonlyRootfs"]
        report.check(
            "the manifest's securityContext applied (uid 10001, no caps, no-new-privileges, read-only)",
            all(f in inside for f in ("Uid:\t10001", "CapEff:\t0000000000000000", "NoNewPrivs:\t1"))
            and locked,
        )
    finally:
        podman("kube", "down", handle.name, check=False)
        podman("secret", "rm", secret["metadata"]["name"], check=False)
        os.unlink(handle.name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base", help="base image to build on (default: python:3.11-slim, else a stand-in)")
    parser.add_argument("--rebuild-base", action="store_true", help="build the stand-in base again")
    args = parser.parse_args(argv)
    report = Report()
    ensure_tools()
    steps: list[Callable[[Report], None]] = [check_image, check_drain, check_sidecar]
    build(base_image(args.base, args.rebuild_base, report), report)
    for step in steps:
        step(report)
    print()
    for name, value in report.figures:
        print(f"{name}: {value}")
    print(report.verdict())
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
