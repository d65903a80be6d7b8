from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import ACCOUNT, TOKEN


@pytest.fixture
async def api(sandbox_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A 2010 client of the sandbox, as the first account."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox.test", auth=(ACCOUNT, TOKEN)
    ) as client:
        yield client
