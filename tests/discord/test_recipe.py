"""Pictures members download keep their recipe: sd-parsers (what SD tools use) reads the prompt
and seed from the posted grid, a posted U-n image, an upscale, and a WebP forced by the limit."""

from __future__ import annotations

import io

import pytest
import simcord
from PIL import Image
from sd_parsers import ParserManager

from bot.jobs.files import GRID_FILE, read_png_parameters
from tests.discord.helpers import is_result

PROMPT = "a red fox in snow"


def recipe(data: bytes) -> tuple[str, str]:
    """(prompt, seed) as sd-parsers reads them from an uploaded file."""
    info = ParserManager().parse(Image.open(io.BytesIO(data)))
    assert info is not None, "sd-parsers found no recipe"
    return info.prompts[0].value, str(info.samplers[0].parameters["seed"])


async def test_grid_single_image_and_upscale_carry_prompt_and_seed(world):
    """The grid (its first image's seed), U2 (its own seed) and an upscale of it."""
    await world.alice.slash(world.channel, "imagine", prompt=f"{PROMPT} --seed 1234")
    grid = await world.wait_for(is_result)
    assert grid.attachments[0].filename.endswith(".png")
    assert recipe(world.attachment_bytes(grid)) == (PROMPT, "1234")
    job = await world.job_of(grid)
    assert read_png_parameters(world.service.job_folder(job.id) / GRID_FILE).startswith(PROMPT)

    await world.alice.click(grid, label="U2")
    single = await world.wait_for(lambda m: "Image #2" in m.content, after=grid.id)
    assert recipe(world.attachment_bytes(single)) == (PROMPT, "1235")

    await world.alice.click(single, label="Upscale (Subtle)")
    upscaled = await world.wait_for(is_result, after=single.id)
    prompt, _seed = recipe(world.attachment_bytes(upscaled))
    assert prompt == PROMPT


@pytest.fixture
def small_upload_limit(monkeypatch):
    """Interactions report a 3 kB upload limit: the grid must go as WebP."""
    original = simcord.interactions.base_payload

    def with_small_limit(*args, **kwargs):
        record, payload = original(*args, **kwargs)
        payload["attachment_size_limit"] = 3_000
        return record, payload

    monkeypatch.setattr(simcord.interactions, "base_payload", with_small_limit)


async def test_a_webp_forced_by_the_upload_limit_carries_the_recipe_in_exif(world, small_upload_limit):
    """The WebP has the recipe in EXIF UserComment, as AUTOMATIC1111 writes it."""
    await world.alice.slash(world.channel, "imagine", prompt=f"{PROMPT} --seed 77")
    grid = await world.wait_for(is_result)
    assert grid.attachments[0].filename.endswith(".webp")
    assert recipe(world.attachment_bytes(grid)) == (PROMPT, "77")
