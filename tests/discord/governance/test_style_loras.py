"""Style presets that carry LoRAs: /style add … loras:, /styles show, refused when unknown or
incompatible, applied only to the jobs of that style."""

from __future__ import annotations

import pytest

from tests.discord.governance.conftest import error_title
from tests.discord.governance.test_styles import imagine_job
from tests.engine.test_lora import build_tiny_lora


@pytest.fixture
def sparkle(tiny_model_dir):
    """models/loras/sparkle-style.safetensors next to the tiny model (built in code once)."""
    loras = tiny_model_dir.parent / "loras"
    path = loras / "sparkle-style.safetensors"
    if not path.is_file():
        build_tiny_lora(tiny_model_dir, loras, name="sparkle-style")
    return path


async def test_a_style_carries_loras_and_only_its_jobs_use_them(world, admin, sparkle):
    """`/style add … loras: sparkle-style:0.8` is stored and shown; its jobs carry the LoRA, others don't."""
    added = await admin.slash(
        world.channel,
        "style add",
        name="sparkly",
        template="{prompt}, glitter",
        loras="sparkle-style:0.8",
    )
    assert added.ephemeral and "added" in added.response.content
    shown = await world.bob.slash(world.channel, "styles show", name="sparkly")
    fields = {field.name: field.value for field in shown.response.embeds[0].fields}
    assert fields["LoRAs"] == "`sparkle-style` at 0.8"
    (preset,) = await world.service.repository.get_guild_presets(world.guild.id)
    assert preset.loras == (("sparkle-style", 0.8),)

    styled, _ = await imagine_job(world, world.bob, "a fox --style sparkly")
    plain, _ = await imagine_job(world, world.bob, "a cat")
    assert styled.generation_request.loras == (("sparkle-style", 0.8),)
    assert plain.generation_request.loras == ()


@pytest.mark.parametrize(
    ("loras", "words"),
    [("nothing-here:0.5", "no LoRA `nothing-here`"), ("sparkle-style:9", "from -2 to 2")],
)
async def test_unknown_or_bad_loras_are_refused_when_the_style_is_saved(world, admin, sparkle, loras, words):
    """An unknown LoRA or a weight out of range is an `Invalid parameter` at /style add; nothing is stored."""
    result = await admin.slash(world.channel, "style add", name="broken", template="{prompt}", loras=loras)
    assert result.ephemeral
    assert error_title(result) == "Invalid parameter"
    assert words in result.response.embeds[0].description
    assert await world.service.repository.get_guild_presets(world.guild.id) == []
