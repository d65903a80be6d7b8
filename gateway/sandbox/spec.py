"""The 2010-04-01 OpenAPI spec the sandbox serves, read for what the engine needs: parameters, request
schemas, list keys, item properties and success statuses."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

SPECS = Path(__file__).resolve().parent / "specs"
SPEC_FILE = SPECS / "twilio_api_v2010.legacy_surface.json"
AVAILABLE_FILE = SPECS / "twilio_api_v2010.available_phone_numbers.json"
"""The number searches (AvailablePhoneNumbers Local and TollFree), trimmed from the same spec."""
PAGING = ("PageSize", "Page", "PageToken")
FORM = "application/x-www-form-urlencoded"


class Spec:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.paths: dict[str, Any] = document["paths"]

    def resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            node = self.document["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
        return node

    def operation(self, path: str, method: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.paths.get(path, {}).get(method.lower())
        return found

    def methods(self, path: str) -> tuple[str, ...]:
        return tuple(m.upper() for m in self.paths.get(path, {}) if m in ("get", "post", "delete"))

    def parameters(self, path: str, method: str, where: str) -> dict[str, dict[str, Any]]:
        op = self.operation(path, method) or {}
        return {
            p["name"]: self.resolve(p.get("schema", {})) for p in op.get("parameters", ()) if p["in"] == where
        }

    def filters(self, path: str) -> tuple[str, ...]:
        """The list's query parameters other than paging, in the spec's order."""
        return tuple(name for name in self.parameters(path, "get", "query") if name not in PAGING)

    def form(self, path: str, method: str) -> tuple[tuple[str, ...], dict[str, dict[str, Any]]]:
        """(required names, property schemas) of the operation's form body."""
        op = self.operation(path, method) or {}
        schema = op.get("requestBody", {}).get("content", {}).get(FORM, {}).get("schema", {})
        props = {name: self.resolve(s) for name, s in schema.get("properties", {}).items()}
        return tuple(schema.get("required", ())), props

    def success(self, path: str, method: str) -> int:
        op = self.operation(path, method) or {}
        return min(int(code) for code in op.get("responses", {"200": None}) if code.startswith("2"))

    def _body_schema(self, path: str, method: str) -> dict[str, Any]:
        op = self.operation(path, method) or {}
        response = op["responses"][str(self.success(path, method))]
        resolved: dict[str, Any] = self.resolve(response["content"]["application/json"]["schema"])
        return resolved

    def items_key(self, path: str) -> str:
        props = self._body_schema(path, "get")["properties"]
        return str(next(name for name, schema in props.items() if schema.get("type") == "array"))

    def list_item_properties(self, path: str) -> tuple[tuple[str, bool], ...]:
        schema = self.resolve(self._body_schema(path, "get")["properties"][self.items_key(path)]["items"])
        return self._nullable(schema)

    def instance_properties(self, path: str, method: str) -> tuple[tuple[str, bool], ...]:
        return self._nullable(self._body_schema(path, method))

    def _nullable(self, schema: dict[str, Any]) -> tuple[tuple[str, bool], ...]:
        """(name, whether null is allowed) for each property, in the spec's order."""
        props = schema.get("properties", {})
        return tuple(
            (name, bool(self.resolve(s).get("nullable", s.get("nullable")))) for name, s in props.items()
        )

    def path_pattern(self, path: str, name: str) -> re.Pattern[str] | None:
        for method in self.methods(path):
            schema = self.parameters(path, method, "path").get(name)
            if schema and "pattern" in schema:
                return re.compile(schema["pattern"])
        return None


@functools.cache
def api_spec() -> Spec:
    return Spec(json.loads(SPEC_FILE.read_text()))


@functools.cache
def available_spec() -> Spec:
    return Spec(json.loads(AVAILABLE_FILE.read_text()))
