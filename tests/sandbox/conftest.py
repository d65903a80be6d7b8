from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.sandbox import Simulation
from tests.conftest import ACCOUNT, TOKEN
from tests.sandbox.twiml_app import TwimlApp


@pytest.fixture
async def api(sandbox_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A 2010 client of the sandbox, as the first account."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox.test", auth=(ACCOUNT, TOKEN)
    ) as client:
        yield client


@pytest.fixture
def app() -> TwimlApp:
    """The application the sandbox's webhooks reach (``twiml_app.app_config``)."""
    return TwimlApp()


@pytest.fixture
def simulation() -> Simulation:
    return Simulation()
