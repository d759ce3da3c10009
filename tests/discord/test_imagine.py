"""/imagine through simcord: progress message, grid message, buttons, errors."""

from __future__ import annotations

import io

from PIL import Image

from tests.discord.conftest import World

GRID_LABELS = ["U1", "U2", "U3", "U4", None, "V1", "V2", "V3", "V4"]


def button_labels(message) -> list[str | None]:
    return [child.label for row in message.components for child in row.children]


def image_of(world: World, message, n: int = 0) -> Image.Image:
    return Image.open(io.BytesIO(world.attachment_bytes(message, n)))


async def test_imagine_posts_a_grid_with_nine_buttons(world: World):
    """/imagine → a progress message, then `**prompt** - @user (fast)` with the grid and U/🔄/V buttons."""
    result = await world.alice.slash(world.channel, "imagine", prompt="a lighthouse at dusk")
    assert result.acknowledged
    grid = await world.wait_for(lambda m: m.content.endswith("(fast)"))
    assert grid.content == f"**a lighthouse at dusk** - <@{world.alice.id}> (fast)"
    assert button_labels(grid) == GRID_LABELS
    assert len(grid.attachments) == 1
    assert image_of(world, grid).size == (256, 256)
