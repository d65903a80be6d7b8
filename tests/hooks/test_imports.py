"""The hooks library stays small in what it leans on: the bottom layer, the phone helpers and the view
cache's Store."""

from __future__ import annotations

from tests.test_layers import graph, group_of

MAY_USE = frozenset({"gateway.dialect.phone", "gateway.lists.cache"})
WIRING = frozenset({"gateway.hooks.wrap", "gateway.hooks.relay", "gateway.hooks.endpoint"})
"""The modules that put the library to work (the service's seam, the endpoint and its requests) may use any
lower layer; the layer test (tests/test_layers.py) still holds them to it."""


def test_hooks_import_only_the_bottom_layer_the_phone_module_and_the_cache() -> None:
    for name, targets in graph().items():
        if not name.startswith("gateway.hooks") or name in WIRING:
            continue
        for target in targets:
            if target.startswith("gateway.hooks") or target in MAY_USE:
                continue
            assert group_of(target)[0] == 0, f"{name} imports {target}"
