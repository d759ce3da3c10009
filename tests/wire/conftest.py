"""The local fake of Discord's REST + gateway that the wire tests run `python -m bot` against."""

from __future__ import annotations

import pytest

from tests.wire.fake_discord import FakeDiscord


@pytest.fixture
async def fake_discord():
    fake = FakeDiscord()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()
