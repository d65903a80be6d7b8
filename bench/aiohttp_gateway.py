"""The gateway with aiohttp as its hot-path upstream client, for comparison only (bench/run.py
``--aiohttp``): ``python bench/aiohttp_gateway.py`` takes the environment ``python -m gateway serve``
takes. Not a supported mode — aiohttp fails a request when bytes follow a complete answer
(docs/performance.md) — but it is the next-fastest well-kept client, so the gap is measured.

The sender keeps the gateway's promises as far as the benchmark touches them: at most ``limit``
requests in flight, one budget per attempt for the answer and its whole body, the body cap, no
decompression, no redirects.
"""

from __future__ import annotations

import asyncio
import runpy
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.upstream import client as upstream
from gateway.upstream import transport


class AiohttpSender:
    def __init__(self, *, limit: int, keepalive: int, max_body: int, read_timeout: float) -> None:
        self.session: aiohttp.ClientSession | None = None
        self.limit = limit
        self.max_body = max_body
        self.read_timeout = read_timeout

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None:  # made on the serving loop
            connector = aiohttp.TCPConnector(limit=self.limit, keepalive_timeout=4)
            self.session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, headers=transport.IDENTITY
            )
        return self.session

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        deadline: float,
        timeout: float,
    ) -> transport.RawResponse:
        budget = min(timeout, deadline - time.monotonic())
        if budget <= 0:
            raise transport.Busy()
        try:
            async with (
                asyncio.timeout(budget),
                self._session().request(
                    method, url, headers=dict(headers), data=body, allow_redirects=False
                ) as response,
            ):
                declared = response.content_length
                if declared is not None and declared > self.max_body:
                    raise transport.Oversized(self.max_body)
                content = await response.content.read(self.max_body + 1)
                if len(content) > self.max_body:
                    raise transport.Oversized(self.max_body)
                kept = {
                    name: value for name in transport.KEPT_HEADERS if (value := response.headers.get(name))
                }
                return transport.RawResponse(response.status, kept, content)
        except TimeoutError:
            raise transport.Timeout("the upstream did not answer in time", connecting=False) from None
        except aiohttp.ClientConnectorError as exc:
            raise transport.Unreachable(str(exc), connecting=True) from None
        except aiohttp.ClientError as exc:
            raise transport.Unreachable(str(exc), connecting=False) from None

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()


def _sender(_: Any, **settings: Any) -> Any:
    return AiohttpSender(
        limit=settings["limit"],
        keepalive=settings["keepalive"],
        max_body=settings["max_body"],
        read_timeout=settings["read_timeout"],
    )


if __name__ == "__main__":
    upstream.sender = _sender  # type: ignore[assignment]
    sys.argv = ["gateway", "serve"]
    runpy.run_module("gateway", run_name="__main__")
