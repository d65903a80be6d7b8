"""The package's layers, read from the modules' imports with ``ast``: no import circles, and every import
runs down (or stays inside its own package). Type-only and function-level imports count too."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gateway"

RANKS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        0,
        (
            "gateway",
            "gateway.errors",
            "gateway.settings",
            "gateway.settings_values",
            "gateway.observability",
            "gateway.redaction",
            "gateway.tracing",
            "gateway.asgi",
            "gateway.resources",
        ),
    ),
    (1, ("gateway.dialect", "gateway.upstream")),
    (2, ("gateway.lists",)),
    (3, ("gateway.service", "gateway.auth", "gateway.call", "gateway.callbacks")),
    (4, ("gateway.hooks", "gateway.migration", "gateway.sandbox")),
    (5, ("gateway.edge",)),
    (6, ("gateway.__main__", "gateway.cli", "gateway.health")),
)
"""Each group and the modules or packages in it; a module belongs to the longest name that prefixes it
(``gateway`` itself names the package's ``__init__`` alone, so a new top-level module must be placed)."""

SEALED = frozenset({1, 4})
"""Layers whose packages are siblings that never import each other (the others are single modules)."""

SANDBOX_MAY_USE = frozenset({"gateway.dialect.phone"})
"""The sandbox is an emulator of the upstream: of the gateway it shares only the phone helpers."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: Iterable[str]) -> set[str]:
    """The gateway modules ``name`` imports anywhere in its body (relative imports resolved)."""
    known = set(known)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
    return {target for target in found if target in known and target != name}


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, found) for name, path in found.items()}


def group_of(name: str) -> tuple[int, str]:
    best: tuple[int, str] = (-1, "")
    for rank, members in RANKS:
        for member in members:
            inside = name == member or (name.startswith(member + ".") and member != "gateway")
            if inside and len(member) > len(best[1]):
                best = (rank, member)
    assert best[0] >= 0, f"{name} is in no layer: add it to RANKS"
    return best


def circles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def upward(edges: Mapping[str, set[str]]) -> list[str]:
    """Imports that run up a layer, or across to a sibling package of the same layer."""
    wrong = []
    for source, targets in sorted(edges.items()):
        rank, group = group_of(source)
        for target in sorted(targets):
            target_rank, target_group = group_of(target)
            if group == "gateway.sandbox" and target_group != group and target not in SANDBOX_MAY_USE:
                wrong.append(f"{source} -> {target} (the sandbox shares only {sorted(SANDBOX_MAY_USE)})")
            elif target_rank > rank or (target_rank == rank and target_group != group and rank in SEALED):
                wrong.append(f"{source} -> {target}")
    return wrong


def test_no_import_circles() -> None:
    assert circles(graph()) == []


def test_imports_run_down() -> None:
    assert upward(graph()) == []


def test_every_module_has_a_layer() -> None:
    for name in modules():
        group_of(name)
    with pytest.raises(AssertionError, match="in no layer"):
        group_of("gateway.unplaced")


def test_every_package_says_what_it_is_and_may_import() -> None:
    for init in PACKAGE.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc, f"{init} has no docstring"


def test_the_checks_find_a_circle_and_an_upward_import() -> None:
    edges = {"gateway.lists.tally": {"gateway.lists.ranges"}, "gateway.lists.ranges": {"gateway.lists.tally"}}
    assert circles(edges) == [["gateway.lists.ranges", "gateway.lists.tally"]]
    assert upward({"gateway.dialect.render": {"gateway.service"}}) == [
        "gateway.dialect.render -> gateway.service"
    ]
    assert upward({"gateway.sandbox.app": {"gateway.errors"}}) != []
    assert upward({"gateway.service": {"gateway.lists.views"}}) == []
    assert upward({"gateway.migration.replay": {"gateway.hooks.urls"}}) != []


def test_type_only_and_local_imports_count(tmp_path: Path) -> None:
    module = tmp_path / "gateway" / "lists" / "ranges.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .tally import Tally\n"
        "def f():\n    from gateway.edge import app\n"
    )
    known = {"gateway.lists.ranges", "gateway.lists.tally", "gateway.edge.app", "gateway.edge"}
    assert imports_of("gateway.lists.ranges", module, known) == {"gateway.lists.tally", "gateway.edge.app"}
