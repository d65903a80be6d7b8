"""Shadow reads: a sample of legacy GETs is also sent, unchanged, to a provider that still serves
2008-08-01, and its answer is compared with the gateway's (see :mod:`gateway.migration.diff`).

The client always gets the gateway's answer: the shadow call starts after that answer is sent, runs in
a background task with its own client and timeout, and never runs for writes. At most
``--shadow-max-in-flight`` shadow calls run at once; a sampled request beyond that is skipped, not
queued. Results go to ``gateway_shadow_diffs_total{route,result}`` (same, different, error, skipped)
and differences to a JSON-lines diff log (``--shadow-log``, else the ``gateway.shadow`` logger).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import httpx

from gateway import observability as obs
from gateway.migration import diff
from gateway.settings import Settings
from gateway.upstream.senders import sender
from gateway.upstream.transport import Oversized, Timeout, Unreachable

log = logging.getLogger("gateway.shadow")


class Shadow:
    def __init__(
        self,
        settings: Settings,
        transport: httpx.AsyncBaseTransport | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        assert settings.shadow_legacy_upstream is not None
        self.base = settings.shadow_legacy_upstream
        self.sample = settings.shadow_sample
        self.log_path = settings.shadow_log
        self.masks = diff.Masks()
        self.rand = rand
        self.timeout = settings.shadow_timeout
        self.max_in_flight = settings.shadow_max_in_flight
        self.sender = sender(
            transport,
            connect_timeout=self.timeout,
            read_timeout=self.timeout,
            limit=self.max_in_flight,
            keepalive=8,
            max_body=settings.max_upstream_body_bytes,
            use_httpx=settings.upstream_client == "httpx",
        )
        self.tasks: set[asyncio.Task[None]] = set()

    def maybe(
        self,
        method: str,
        target: str,
        authorization: str | None,
        answer: tuple[int, str, bytes],
        route: str,
        request_id: str,
    ) -> None:
        if method != "GET" or self.rand() >= self.sample:
            return
        if len(self.tasks) >= self.max_in_flight:  # shed, never queue: the primary path comes first
            obs.SHADOW_DIFFS.labels(route, "skipped").inc()
            return
        task = asyncio.get_running_loop().create_task(
            self._run(target, authorization, answer, route, request_id)
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(
        self,
        target: str,
        authorization: str | None,
        answer: tuple[int, str, bytes],
        route: str,
        request_id: str,
    ) -> None:
        headers = {"Authorization": authorization} if authorization else {}
        try:
            response = await self.sender.send(
                "GET",
                self.base + target,
                headers,
                None,
                deadline=time.monotonic() + self.timeout,
                timeout=self.timeout,
            )
        except (Timeout, Unreachable, Oversized) as exc:
            obs.SHADOW_DIFFS.labels(route, "error").inc()
            log.warning("shadow call failed: %s", type(exc).__name__)
            return
        legacy = (response.status, response.headers.get("content-type", ""), response.body)
        differences = diff.compare(legacy, answer, self.masks)
        obs.SHADOW_DIFFS.labels(route, "different" if differences else "same").inc()
        if differences:
            record = {
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "request_id": request_id,
                "route": route,
                "path": target.split("?", 1)[0],
                "differences": [
                    {"path": d.path, "legacy": d.expected, "gateway": d.actual} for d in differences
                ],
            }
            await self._log(record)

    async def _log(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False)
        if self.log_path is None:
            log.info(line)
            return
        path = self.log_path

        def append() -> None:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")

        await asyncio.to_thread(append)

    async def drain(self) -> None:
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    async def aclose(self) -> None:
        await self.drain()
        await self.sender.aclose()
