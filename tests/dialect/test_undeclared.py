"""Parameters a 2008 write does not declare never reach the upstream: every write operation of the
registry, given its declared parameters and undeclared ones besides (``AccountSid``, ``OwnerAccountSid``
among them), sends the upstream only the declared ones; each dropped one is counted and logged once."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from gateway import sandbox
from gateway.dialect import undeclared
from gateway.edge.app import create_app
from gateway.observability import REGISTRY
from gateway.resources import RESOURCES, Operation, Param, Resource
from gateway.resources.model import PATH_SIDS
from gateway.settings import Settings
from tests.conftest import ACCOUNT, OTHER, serving

SPECS = Path(sandbox.__file__).parent / "specs"
BASE = "http://up.test"
STRANGER = OTHER
MARK = "http://undeclared.test/"
UNDECLARED = {
    "AccountSid": STRANGER,
    "OwnerAccountSid": STRANGER,
    "VoiceUrl": MARK,  # 2010's name of a 2008 parameter, given under the 2010 name
    "StatusCallback": MARK,  # declared by one operation (SMS) only
    "Record": "true",
    "X-Unheard-Of": MARK,
}


def sample(param: Param) -> str:
    """A value the gateway accepts for the parameter."""
    if param.phone:
        return "4158675309"
    if param.pattern is not None:
        return next(code for code in ("415", "800") if re.fullmatch(param.pattern, code))
    if param.values is not None:
        return next(iter(param.values.reverse))
    return "http://app.test/" if param.name.endswith("Url") else "1"


def writes() -> Iterator[tuple[Resource, bool, str, Operation]]:
    for resource in RESOURCES:
        for instance, table in ((False, resource.list_ops), (True, resource.instance_ops)):
            for method, operation in table.items():
                if operation.writes:
                    yield resource, instance, method, operation


WRITES = list(writes())


def legacy_path(resource: Resource, instance: bool) -> tuple[str, dict[str, str]]:
    path = {name: prefix + "1" * 32 for name, prefix in PATH_SIDS.items()} | {"AccountSid": ACCOUNT}
    uri = "/2008-08-01" + resource.legacy_path.format(**path)
    if instance:
        path["Sid"] = resource.sid_prefix + "2" * 32
        uri += "/" + path["Sid"]
    return uri, path


def upstream(seen: list[httpx.Request], resource: Resource, path: dict[str, str]) -> httpx.MockTransport:
    """Answers any request with an item the request's own (owners as the path says)."""
    item: dict[str, Any] = {"sid": path.get("Sid", resource.sid_prefix + "3" * 32), "account_sid": ACCOUNT}
    item |= {field: path[name] for field, name in resource.owned_by}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "DELETE":
            return httpx.Response(204)
        return httpx.Response(201 if request.method == "POST" else 200, json=item)

    return httpx.MockTransport(handler)


def count(resource: str, operation: str, param: str) -> float:
    labels = {"resource": resource, "operation": operation, "param": param}
    return REGISTRY.get_sample_value("gateway_undeclared_params_total", labels) or 0.0


@pytest.mark.parametrize(
    ("resource", "instance", "method", "operation"),
    WRITES,
    ids=[f"{r.name}-{'instance' if i else 'list'}-{m}" for r, i, m, _ in WRITES],
)
async def test_no_undeclared_parameter_of_any_write_reaches_the_upstream(
    resource: Resource, instance: bool, method: str, operation: Operation
) -> None:
    uri, path = legacy_path(resource, instance)
    given = {param.name: sample(param) for param in operation.params}
    extra = {name: value for name, value in UNDECLARED.items() if name not in given}
    labels = [undeclared.label(name) for name in extra]
    before = {label: count(resource.name, operation.action, label) for label in labels}
    seen: list[httpx.Request] = []
    settings = Settings(upstream=BASE, trunking_upstream=BASE, retries=0)
    app = create_app(settings, upstream(seen, resource, path))
    async with serving(app) as client:
        if method == "DELETE":
            answer = await client.delete(uri, params=extra)
        else:
            answer = await client.request(method, uri, data={**extra, **given})
    assert answer.status_code < 300, answer.text
    assert [request.method for request in seen][-1] == operation.upstream_method  # the write went out
    allowed = {param.target for param in operation.params} | {
        param.split_extension_to for param in operation.params if param.split_extension_to
    }
    for request in seen:
        sent = request.url.query.decode() + "&" + request.content.decode()
        assert STRANGER not in sent and "undeclared" not in sent and "Record" not in sent
        assert {name for name, _ in parse_qsl(request.content.decode())} <= allowed
    for label in labels:  # OwnerAccountSid and X-Unheard-Of share the label "other"
        assert count(resource.name, operation.action, label) - before[label] == labels.count(label)


def test_a_label_names_only_parameters_the_gateway_knows() -> None:
    assert undeclared.label("AccountSid") == "AccountSid"  # 2010's: moves a number to another account
    assert undeclared.label("Caller") == "Caller"  # a 2008 name (of another operation)
    assert undeclared.label("OwnerAccountSid") == "other"
    assert undeclared.label("x" * 10_000) == "other"


def test_the_2010_names_are_the_request_bodies_of_the_operations_the_registry_writes_to() -> None:
    """The table in gateway/dialect/undeclared.py against the specifications the sandbox serves."""

    def shape(template: str) -> str:
        return re.sub(r"\{\w+\}", "{}", template)

    targets = {
        shape(operation.upstream or (resource.upstream_instance if instance else resource.upstream_list))
        for resource, instance, _, operation in WRITES
        if operation.action != "delete"
    }
    names: set[str] = set()
    reached: set[str] = set()
    for spec in SPECS.glob("*.json"):
        for template, methods in json.loads(spec.read_text())["paths"].items():
            body = methods.get("post", {}).get("requestBody")
            if shape(template) in targets and body is not None:
                reached.add(shape(template))
                names |= set(body["content"]["application/x-www-form-urlencoded"]["schema"]["properties"])
    assert reached == targets
    assert names == undeclared.UPSTREAM_WRITE_PARAMS


def test_each_name_is_logged_once_without_its_value(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(undeclared, "_logged", set())
    with caplog.at_level(logging.WARNING, logger="gateway.params"):
        undeclared.drop("incoming_phone_numbers", "update", {"AccountSid": "AC-secret-value"})
        undeclared.drop("account", "update", ["AccountSid", "OwnerAccountSid"])
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert "'AccountSid'" in lines[0] and "incoming_phone_numbers.update" in lines[0]
    assert "'OwnerAccountSid'" in lines[1]
    assert not any("secret" in line for line in lines)


def test_the_names_remembered_for_the_log_are_bounded(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(undeclared, "_logged", set())
    names = [f"p{index}" * 40 for index in range(undeclared.LOGGED_NAMES + 50)]
    with caplog.at_level(logging.WARNING, logger="gateway.params"):
        undeclared.drop("calls", "create", names)
    assert len(caplog.records) == undeclared.LOGGED_NAMES + 1  # and one line saying so
    assert len(undeclared._logged) == undeclared.LOGGED_NAMES + 1
    assert all(len(record.getMessage()) < 300 for record in caplog.records)
