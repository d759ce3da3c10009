"""/settings Personalization through simcord: the panel's 🧬 toggle and `/settings profile:CODE`
(stored with the member's settings), `--p` then added at admission to every prompt, `--p` in a
remix, and recipes that record the codes used (a bare `--p` as the member's own code)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config
from bot.engine.interface import GenerationInputs, Operation
from bot.engine.references import ReferenceImage, ReferenceKind
from bot.engine.style_codes import style_swatch
from bot.governance.personalization import Personalization
from bot.prompt import PromptContext, expand_prompt
from tests.discord.conftest import GatedEngine
from tests.discord.helpers import is_result
from tests.discord.test_settings_panel import green, open_panel
from tests.tiny_env import tiny_env

CONTEXT_PROMPT = "x"


@pytest.fixture(scope="module")
def reference_engine(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The tiny engine with the tiny IP-Adapter (style embeddings for codes)."""
    from bot.engine.loader import load_engine

    env = tiny_env(tiny_model_dir, tmp_path_factory.mktemp("data"))
    env.update(IP_ADAPTER="tiny")
    return load_engine(Config.from_env(env))


@pytest.fixture
def engine(reference_engine: Any) -> GatedEngine:
    return GatedEngine(reference_engine)


@pytest.fixture
async def codes(world: Any, reference_engine: Any) -> dict[str, str]:
    """Personalization on the world's bot (the tiny adapter): a moodboard code of Bob's and
    Alice's own profile code."""
    from bot.engine.family import TINY

    async def embed(pictures):
        refs = tuple(ReferenceImage(ReferenceKind.STYLE, picture, 1.0) for picture in pictures)
        request = expand_prompt(CONTEXT_PROMPT, PromptContext(family=TINY))[0].to_generation(
            seed=0, batch_size=1
        )
        result = await asyncio.to_thread(
            reference_engine.generate, Operation.STYLE_EMBED, request, GenerationInputs(references=refs)
        )
        return result.details["embeddings"]

    repository = world.service.repository
    service = Personalization(
        repository, reference_engine.image_prompts.adapter_id, world.settings.images_dir, embed
    )
    world.env.bot.services.admission._personalization = service
    board = await service.save_moodboard(world.bob.id, "sea", [style_swatch(3), style_swatch(4)], ["a", "b"])
    own = await service.save_moodboard(world.alice.id, "own", [style_swatch(5)], ["c"])
    await repository.set_member_profile(world.alice.id, own.code, 20)
    return {"board": board.code, "own": own.code}


async def test_the_panel_toggle_turns_p_on_for_every_prompt_and_the_recipe_records_the_code(world, codes):
    """🧬 Personalization on: `/imagine a fox` is made with `--p` = Alice's own code (recorded);
    off again: no profile."""
    panel = await open_panel(world, world.alice)
    assert "Personalization: off" in panel.content
    clicked = await world.alice.click(panel, label="Personalization")
    assert "Personalization" in green(clicked.response.message)
    assert "`--p`" in clicked.response.content
    saved = await world.service.repository.get_user_settings(world.alice.id)
    assert (saved.personalize, saved.profile) == (True, "")
    await world.alice.slash(world.channel, "imagine", prompt="a fox")
    grid = await world.wait_for(is_result)
    job = await world.job_of(grid)
    assert job.generation_request.extra["profiles"] == [[codes["own"], 1.0]]
    await world.alice.click(panel, label="Personalization")
    assert not (await world.service.repository.get_user_settings(world.alice.id)).personalize
    await world.alice.slash(world.channel, "imagine", prompt="a cat")
    plain = await world.job_of(await world.wait_for(is_result, after=grid.id))
    assert "profiles" not in plain.generation_request.extra


async def test_settings_profile_code_is_the_default_and_a_typed_p_wins(world, codes):
    """`/settings profile:CODE` stores Bob's moodboard code as Alice's default; a typed `--p` wins."""
    shown = await world.alice.slash(world.channel, "settings", profile=codes["board"])
    assert shown.ephemeral and f"`--p {codes['board']}`" in shown.response.content
    await world.alice.slash(world.channel, "imagine", prompt="a boat")
    first = await world.wait_for(is_result)
    assert (await world.job_of(first)).generation_request.extra["profiles"] == [[codes["board"], 1.0]]
    await world.alice.slash(world.channel, "imagine", prompt=f"a boat --p {codes['own']}")
    second = await world.wait_for(is_result, after=first.id)
    assert (await world.job_of(second)).generation_request.extra["profiles"] == [[codes["own"], 1.0]]


async def test_an_unknown_code_or_no_profile_is_refused_in_words(world, codes):
    """An unknown code, or Personalization on without a profile, answers like Midjourney; nothing is saved."""
    shown = await world.bob.slash(world.channel, "settings", profile="zzzzzzz")
    (embed,) = shown.response.embeds
    assert (
        embed.title == "Invalid parameter"
        and "Unknown profile or moodboard code `zzzzzzz`" in embed.description
    )
    panel = await open_panel(world, world.bob)
    refused = await world.bob.click(panel, label="Personalization")
    (embed,) = refused.response.embeds
    assert "no personalization profile yet" in embed.description
    assert not (await world.service.repository.get_user_settings(world.bob.id)).personalize


async def test_p_works_in_a_remix(world, codes):
    """Remix on: V1 with `--p CODE` in the new prompt makes variations with that code recorded."""
    await world.bob.slash(world.channel, "imagine", prompt="a red fox")
    grid = await world.wait_for(is_result)
    panel = await open_panel(world, world.bob)
    await world.bob.click(panel, label="Remix mode")
    shown = await world.bob.click(grid, label="V1")
    field = shown.modal["components"][0]["components"][0]
    await world.bob.submit_modal(shown, {field["custom_id"]: f"a red fox at night --p {codes['board']}"})
    remixed = await world.wait_for(lambda m: "at night" in m.content and bool(m.attachments), after=grid.id)
    job = await world.job_of(remixed)
    assert job.generation_request.extra["profiles"] == [[codes["board"], 1.0]]
