"""``--latency-ms`` / ``SANDBOX_LATENCY_MS``: every sandbox answer is delayed, nothing else changes."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from gateway.__main__ import latency_ms
from gateway.cli import build_parser
from gateway.sandbox.latency import Latency, with_latency
from tests.conftest import ACCOUNT, TOKEN


async def test_every_answer_is_delayed(sandbox_app: Any) -> None:
    app = with_latency(sandbox_app, 60)
    assert isinstance(app, Latency) and app.state is sandbox_app.state
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as client:
        for path in (f"/2010-04-01/Accounts/{ACCOUNT}/OutgoingCallerIds.json", "/nowhere"):
            began = time.perf_counter()
            response = await client.get(path, auth=(ACCOUNT, TOKEN))
            assert time.perf_counter() - began >= 0.06
            assert response.status_code in (200, 404)


def test_no_latency_is_the_app_itself(sandbox_app: Any) -> None:
    assert with_latency(sandbox_app, 0) is sandbox_app


def test_flag_and_environment() -> None:
    args = build_parser().parse_args(["sandbox", "--latency-ms", "100"])
    assert latency_ms(args.latency_ms, {"SANDBOX_LATENCY_MS": "5"}) == 100
    assert latency_ms(None, {"SANDBOX_LATENCY_MS": "5"}) == 5
    assert latency_ms(None, {}) == 0
    with pytest.raises(ValueError):
        latency_ms(None, {"SANDBOX_LATENCY_MS": "-1"})
