"""The deployment examples, run for real: the Kubernetes sidecar with the manifest's own environment,
probed from another loopback address standing in for the pod IP as the kubelet would; the Grafana
dashboard's queries against the metrics the gateway exports."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from gateway import observability as obs
from tests.conftest import ACCOUNT, PREFIX, ROOT, TOKEN, serving
from tests.test_container import free_port

POD_IP = "127.0.0.2"  # another loopback address: the pod IP, as seen by the kubelet and Prometheus
MANIFEST = ROOT / "deploy" / "kubernetes" / "sidecar.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "gateway.json"


def manifest() -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """The pod template, the gateway container, and the gateway's environment (env and Secret)."""
    documents = list(yaml.safe_load_all(MANIFEST.read_text()))
    secret = next(d for d in documents if d["kind"] == "Secret")
    template = next(d for d in documents if d["kind"] == "Deployment")["spec"]["template"]
    gateway = next(c for c in template["spec"]["containers"] if c["name"] == "twilio-gateway")
    env = {item["name"]: item["value"] for item in gateway["env"]}
    assert gateway["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    env.update(secret["stringData"])
    return template, gateway, env


def container_port(gateway: dict[str, Any], port: int | str) -> int:
    if isinstance(port, int):
        return port
    return int(next(p["containerPort"] for p in gateway["ports"] if p["name"] == port))


class Running:
    def __init__(self, process: subprocess.Popen[bytes], ports: dict[int, int]) -> None:
        self.process = process
        self.ports = ports  # the manifest's port → the free port used here

    def url(self, host: str, manifest_port: int, path: str) -> str:
        return f"http://{host}:{self.ports[manifest_port]}{path}"


def wait_until_up(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = process.stderr.read().decode() if process.stderr else ""
                raise AssertionError(f"the gateway did not start: {stderr[-2000:]}") from None
            time.sleep(0.1)


@pytest.fixture
def pod(request: pytest.FixtureRequest) -> Iterator[Running]:
    """``python -m gateway serve`` with the manifest's environment; the ports moved to free ones."""
    _, _, env = manifest()
    extra: dict[str, str] = getattr(request, "param", {})
    ports = {int(env["GATEWAY_PORT"]): free_port(), int(env["GATEWAY_HEALTH_PORT"]): free_port()}
    env = {**env, **extra}
    env["GATEWAY_PORT"] = str(ports[int(env["GATEWAY_PORT"])])
    env["GATEWAY_HEALTH_PORT"] = str(ports[int(env["GATEWAY_HEALTH_PORT"])])
    arguments = ["--sandbox"] if "GATEWAY_UPSTREAM" not in extra else []
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", *arguments],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    running = Running(process, ports)
    try:
        wait_until_up(process, f"http://{POD_IP}:{env['GATEWAY_HEALTH_PORT']}/healthz")
        yield running
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


LEGACY_APP = (ACCOUNT, "a-token-only-the-legacy-app-knows")


def real_looking_credentials() -> dict[str, str]:
    """The Secret's placeholders are not sids: the sandbox holds the injected pair instead, and the legacy
    app presents its own."""
    return {
        "GATEWAY_UPSTREAM_ACCOUNT_SID": ACCOUNT,
        "GATEWAY_UPSTREAM_AUTH_TOKEN": TOKEN,
        "GATEWAY_CLIENT_CREDENTIALS": ":".join(LEGACY_APP),
    }


@pytest.mark.parametrize("pod", [real_looking_credentials()], indirect=True)
def test_kubelet_probes_and_the_scrape_reach_the_gateway_on_the_pod_ip(pod: Running) -> None:
    template, gateway, env = manifest()
    for probe in ("livenessProbe", "readinessProbe"):
        get = gateway[probe]["httpGet"]
        response = httpx.get(pod.url(POD_IP, container_port(gateway, get["port"]), get["path"]), timeout=5)
        assert response.status_code == 200, (probe, response.text)
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    scrape = httpx.get(
        pod.url(POD_IP, int(annotations["prometheus.io/port"]), annotations["prometheus.io/path"]), timeout=5
    )
    assert scrape.status_code == 200 and "gateway_requests_total" in scrape.text
    deep = httpx.get(pod.url(POD_IP, int(env["GATEWAY_HEALTH_PORT"]), "/readyz"), timeout=5)
    assert deep.json() == {"status": "ready", "upstreams": {"api": "reachable", "trunking": "reachable"}}
    # The health listener serves nothing else, and the API (with its injected credentials) stays on
    # loopback: the pod IP does not reach it.
    legacy_path = f"{PREFIX}/OutgoingCallerIds"
    other = httpx.get(pod.url(POD_IP, int(env["GATEWAY_HEALTH_PORT"]), legacy_path), timeout=5)
    assert other.status_code == 404 and b"<RestException>" in other.content
    with pytest.raises(httpx.ConnectError):
        httpx.get(pod.url(POD_IP, int(env["GATEWAY_PORT"]), "/healthz"), timeout=5)


@pytest.mark.parametrize("pod", [real_looking_credentials()], indirect=True)
def test_the_legacy_app_in_the_pod_uses_its_own_credentials_on_loopback(pod: Running) -> None:
    template, _, env = manifest()
    legacy_app = next(c for c in template["spec"]["containers"] if c["name"] == "legacy-app")
    base = next(item["value"] for item in legacy_app["env"] if item["name"] == "TWILIO_BASE_URL")
    assert base == f"http://127.0.0.1:{env['GATEWAY_PORT']}"
    sid, token = LEGACY_APP
    url = pod.url("127.0.0.1", int(env["GATEWAY_PORT"]), f"/2008-08-01/Accounts/{sid}/OutgoingCallerIds")
    answer = httpx.get(url, auth=(sid, token), timeout=10)
    assert answer.status_code == 200, answer.text
    assert b"<OutgoingCallerIds" in answer.content
    # The injected upstream token is not a credential the pod's clients can use.
    refused = httpx.get(url, auth=(sid, TOKEN), timeout=10)
    assert refused.status_code == 401
    pod.process.send_signal(signal.SIGTERM)
    assert pod.process.wait(float(env["GATEWAY_SHUTDOWN_TIMEOUT"])) in (0, -signal.SIGTERM)


@pytest.mark.parametrize(
    "pod",
    [{"GATEWAY_UPSTREAM": "http://127.0.0.1:9", "GATEWAY_TRUNKING_UPSTREAM": "http://127.0.0.1:9"}],
    indirect=True,
)
def test_an_upstream_outage_does_not_take_the_pod_out_of_service(pod: Running) -> None:
    _, gateway, env = manifest()
    readiness = gateway["readinessProbe"]["httpGet"]
    port = container_port(gateway, readiness["port"])
    assert httpx.get(pod.url(POD_IP, port, readiness["path"]), timeout=5).status_code == 200
    deep = httpx.get(pod.url(POD_IP, int(env["GATEWAY_HEALTH_PORT"]), "/readyz"), timeout=5)
    assert deep.status_code == 503
    assert deep.json()["upstreams"] == {"api": "unreachable", "trunking": "unreachable"}


# Grafana ----------------------------------------------------------------------------------------------

PROMQL_WORDS = frozenset(
    [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "and",
        "or",
        "unless",
        "offset",
        "inf",
        "nan",
    ]
)


def queries(dashboard: dict[str, Any]) -> list[str]:
    found = []
    for panel in dashboard["panels"]:
        found.extend(target["expr"] for target in panel.get("targets", []))
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        if isinstance(query, dict):
            query = query.get("query")
        if variable.get("type") == "query" and isinstance(query, str):
            found.append(re.sub(r"^label_values\((.*),\s*\w+\)$", r"\1", query))
    return found


def selectors(expr: str) -> list[tuple[str, set[str]]]:
    """Each metric a PromQL expression reads, with the label names it matches or groups on."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    grouped = set()
    for clause in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
        grouped.update(name.strip() for name in clause.split(",") if name.strip())
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    found = []
    for match in re.finditer(r"(?<![\w:.])([a-zA-Z_:][\w:]*)\s*(\{[^}]*\})?\s*(\()?", expr):
        name, matchers, call = match.groups()
        if call or name in PROMQL_WORDS or re.fullmatch(r"\d+\w*", name):
            continue
        labels = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers or ""))
        found.append((name, labels))
    return [(name, labels | grouped) for name, labels in found]


def exported() -> dict[str, set[str]]:
    """Every sample name in the gateway's registry, with its label names."""
    names: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(generate_latest(obs.REGISTRY).decode()):
        for sample in family.samples:
            names.setdefault(sample.name, set()).update(sample.labels)
    return names


async def test_every_dashboard_query_names_a_metric_the_gateway_exports(
    gateway_app: Any, upstream: Any
) -> None:
    async with serving(gateway_app) as legacy:
        for page in (0, 1, 0):
            listed = await legacy.get(f"{PREFIX}/OutgoingCallerIds", params={"page": page, "num": 2})
            assert listed.status_code == 200
        missing = await legacy.get(f"{PREFIX}/OutgoingCallerIds/PN{'0' * 32}")
        assert missing.status_code == 404
    names = exported()
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = queries(dashboard)
    assert len(expressions) >= 8
    for expr in expressions:
        read = selectors(expr)
        assert read, expr
        for name, labels in read:
            assert name in names, f"{name} in {expr!r} is not exported"
            assert labels <= names[name] | {"le", "instance", "job"}, (expr, labels - names[name])
    read_names = {name for expr in expressions for name, _ in selectors(expr)}
    for wanted in (
        "gateway_requests_total",
        "gateway_request_duration_seconds_bucket",
        "gateway_upstream_requests_total",
        "gateway_translation_errors_total",
        "gateway_list_cache_total",
    ):
        assert wanted in read_names


def test_the_query_parser_finds_names_and_labels() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le, route) (rate(gateway_request_duration_seconds_bucket"
        '{job=~"$job", route!="x{y}"}[5m]))) / on(instance) gateway_up'
    )
    assert selectors(expr) == [
        ("gateway_request_duration_seconds_bucket", {"job", "route", "le", "instance"}),
        ("gateway_up", {"le", "route", "instance"}),
    ]


def test_dashboard_is_importable_grafana_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["title"] and dashboard["uid"] and dashboard["schemaVersion"] >= 30
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel.get("targets", []):
            assert target["refId"] and target["expr"]
