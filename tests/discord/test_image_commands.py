"""/blend, /describe and /shorten through simcord, on the tiny model with the tiny IP-Adapter and
describe models: grids, suggestions, the buttons that imagine them (also after a restart)."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.config import Config
from bot.discord.pending import AGAIN_TEXT, RESUMED_TEXT
from bot.discord.render import CONFIRM_OVER, confirm_content
from bot.engine.references import FALLBACK_METHOD, IP_ADAPTER_METHOD
from bot.jobs.image_jobs import INPUT_FILE
from bot.jobs.models import JobKind
from tests.discord.conftest import GatedEngine
from tests.discord.helpers import GRID_LABELS, button_labels, is_result
from tests.discord.test_pending_interactions import _all_answered, _answer_of, _stopped_at
from tests.tiny_env import tiny_env


def png(colour: tuple[int, int, int], size: tuple[int, int] = (48, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


RED = ("red.png", png((220, 20, 20)))
BLUE = ("blue.png", png((20, 20, 220)))


@pytest.fixture(scope="module")
def reference_engine(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The tiny engine with the tiny IP-Adapter and the tiny captioner + CLIP."""
    from bot.engine.loader import load_engine

    env = tiny_env(tiny_model_dir, tmp_path_factory.mktemp("data"))
    env.update(IP_ADAPTER="tiny", DESCRIBE_MODEL="tiny", DESCRIBE_CLIP="tiny")
    return load_engine(Config.from_env(env))


@pytest.fixture
def engine(reference_engine: Any) -> GatedEngine:
    return GatedEngine(reference_engine)


def starts(text: str):
    return lambda message: message.content.startswith(text)


async def test_blend_of_two_images_is_a_grid_with_buttons(world) -> None:
    """/blend image1 image2 → `**<links> --ar 3:2** - @user (fast)` with a grid and U/🔄/V."""
    result = await world.alice.slash(world.channel, "blend", image1=RED, image2=BLUE, dimensions="landscape")
    assert result.acknowledged
    grid = await world.wait_for(is_result)
    assert "--ar 3:2**" in grid.content and grid.content.count("<https://") == 2
    assert button_labels(grid) == GRID_LABELS
    job = await world.job_of(grid)
    assert job.kind is JobKind.BLEND
    assert job.meta["result"]["method"] == IP_ADAPTER_METHOD
    width, height = job.request["width"], job.request["height"]
    assert width > height  # landscape


async def test_blend_without_ip_adapter_names_the_fallback(world) -> None:
    """Without IP-Adapter the blend still mixes, and the message says how."""
    prompts = world.engine._engine.image_prompts
    adapter, prompts.adapter = prompts.adapter, None
    try:
        await world.alice.slash(world.channel, "blend", image1=RED, image2=BLUE)
        grid = await world.wait_for(is_result)
    finally:
        prompts.adapter = adapter
    assert f"· mixed by {FALLBACK_METHOD} (fast)" in grid.content


async def test_blend_needs_two_images(world) -> None:
    """/blend with one image is refused (image2 is required, as on Midjourney)."""
    with pytest.raises(Exception, match="image2"):
        await world.alice.slash(world.channel, "blend", image1=RED)
    assert sum((await world.service.repository.count_jobs()).values()) == 0


def shown_picture(world, message) -> Image.Image:
    """The picture a message's embed shows: its `attachment://` image, uploaded with it."""
    (embed,) = message.embeds
    (attachment,) = message.attachments
    assert embed.image.url == f"attachment://{attachment.filename}"
    return Image.open(io.BytesIO(world.attachment_bytes(message)))


async def test_describe_suggests_four_prompts_whose_buttons_imagine_them(world) -> None:
    """/describe → an embed with four distinct numbered prompts and the described picture as its
    image; 2️⃣ starts /imagine with suggestion 2, also after a restart."""
    green = (30, 140, 60)
    await world.alice.slash(world.channel, "describe", image=("wide.png", png(green, (96, 64))))
    described = await world.wait_for(starts("**Describe**"))
    assert described.content == f"**Describe** - <@{world.alice.id}>"
    job = await world.job_of(described)
    suggestions = job.meta["result"]["prompts"]
    assert len(suggestions) == 4 and len(set(suggestions)) == 4
    (embed,) = described.embeds
    for n, suggestion in enumerate(suggestions):
        assert f"{'1234'[n]}\ufe0f\u20e3 {suggestion}" in embed.description
    picture = shown_picture(world, described)
    assert picture.size == (96, 64) and picture.convert("RGB").getpixel((48, 32)) == green
    emoji = [str(child.emoji) for row in described.components for child in row.children if child.emoji]
    assert emoji == ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "🔄"]
    assert "Imagine all" in button_labels(described)

    await world.alice.click(described, custom_id=f"mjp:suggest:{job.id}:2")
    second = await world.wait_for(
        lambda m: is_result(m) and m.content.startswith(f"**{_bold(suggestions[1])}")
    )
    assert (await world.job_of(second)).prompt == suggestions[1]

    await world.restart()
    after = max(message.id for message in world.messages())
    await world.bob.click(described, custom_id=f"mjp:suggest:{job.id}:4")
    fourth = await world.wait_for(lambda m: is_result(m) and m.id > after)
    imagined = await world.job_of(fourth)
    assert imagined.prompt == suggestions[3] and imagined.user_id == world.bob.id


async def test_describe_again_gives_four_new_prompts(world) -> None:
    """🔄 describes the same picture again with a new seed."""
    await world.alice.slash(world.channel, "describe", image=RED)
    first = await world.wait_for(starts("**Describe**"))
    job = await world.job_of(first)
    await world.alice.click(first, custom_id=f"mjp:redescribe:{job.id}:0")
    second = await world.wait_for(starts("**Describe**"), after=first.id)
    again = await world.job_of(second)
    assert again.meta["result"]["prompts"] != job.meta["result"]["prompts"]


async def test_describe_with_a_bad_link_is_invalid_link(world) -> None:
    """A link that is not http(s) is refused before anything is queued."""
    result = await world.alice.slash(world.channel, "describe", link="ftp://example.com/cat.png")
    assert [embed.title for embed in result.response.embeds] == ["Invalid link"]
    assert sum((await world.service.repository.count_jobs()).values()) == 0


async def test_shorten_ranks_words_and_imagines_a_shorter_prompt(world) -> None:
    """/shorten → important tokens (with the prompt's commas), struck-out ones, numbered shorter
    prompts that keep the phrases; 1️⃣ imagines one with the parameters."""
    prompt = "a very very beautiful red dragon, flying over the misty mountains, soft light --ar 3:2"
    await world.alice.slash(world.channel, "shorten", prompt=prompt)
    analysis = await world.wait_for(starts("**Shorten**"))
    assert "**IMPORTANT TOKENS**" in analysis.content and "**SHORTENED PROMPTS**" in analysis.content
    tokens = analysis.content.split("**IMPORTANT TOKENS**\n")[1].split("\n")[0]
    assert tokens.count(",") == 2
    job = await world.job_of(analysis)
    shorter = job.meta["result"]["shorter"]
    assert 1 <= len(shorter) <= 5
    assert any(", " in text for text in shorter)
    assert all(text.count(",") <= 2 and ",," not in text.replace(" ", "") for text in shorter)
    assert all(not text.endswith(",") and not text.startswith(",") for text in shorter)
    assert "~~" in analysis.content  # the least important words are struck out
    await world.alice.click(analysis, custom_id=f"mjp:shortpick:{job.id}:1")
    imagined = await world.wait_for(
        lambda m: is_result(m) and m.content.startswith(f"**{shorter[0]} --ar 3:2**")
    )
    assert (await world.job_of(imagined)).request["width"] > (await world.job_of(imagined)).request["height"]


async def test_shorten_refuses_banned_words(world) -> None:
    """/shorten goes through the banned-word check like /imagine."""
    await world.service.repository.add_banned_word(world.guild.id, "dragon", added_by=1)
    result = await world.alice.slash(world.channel, "shorten", prompt="a red dragon")
    assert [embed.title for embed in result.response.embeds] == ["Banned prompt detected"]


def _bold(text: str) -> str:
    return text.replace("*", "\\*")


async def test_show_reposts_a_describe_result_with_its_buttons(world) -> None:
    """/show of a /describe job posts its embed (suggestions and the described picture) and its
    buttons again."""
    await world.alice.slash(world.channel, "describe", image=RED)
    described = await world.wait_for(starts("**Describe**"))
    job = await world.job_of(described)
    await world.alice.slash(world.channel, "show", job_id=job.id)
    shown = await world.wait_for(starts("**Describe**"), after=described.id)
    assert shown.content == described.content
    assert shown.embeds[0].description == described.embeds[0].description
    assert shown_picture(world, shown).tobytes() == shown_picture(world, described).tobytes()
    emoji = [str(child.emoji) for row in shown.components for child in row.children if child.emoji]
    assert emoji == ["1️⃣", "2️⃣", "3️⃣", "4️⃣", "🔄"]


async def _imagine_jobs(world, user_id: int) -> list:
    return [
        job for job in await world.service.repository.user_jobs(user_id, 100) if job.kind is JobKind.IMAGINE
    ]


async def test_imagine_all_asks_first_when_it_makes_more_than_five_jobs(world) -> None:
    """With a /prefer suffix of `--r 2`, "Imagine all" makes 8 jobs: it asks "submit 8 prompts?"
    (the /imagine question) first; No queues nothing, Yes queues all 8."""
    await world.alice.slash(world.channel, "describe", image=RED)
    described = await world.wait_for(starts("**Describe**"))
    job = await world.job_of(described)
    await world.alice.slash(world.channel, "prefer suffix", text="--r 2")
    asked = await world.alice.click(described, custom_id=f"mjp:suggestall:{job.id}:0")
    assert asked.ephemeral and asked.response.content == confirm_content(8)
    assert await _imagine_jobs(world, world.alice.id) == []
    await world.alice.click(asked.response, label="No")
    assert await _imagine_jobs(world, world.alice.id) == []

    asked = await world.alice.click(described, custom_id=f"mjp:suggestall:{job.id}:0")
    await world.alice.click(asked.response, label="Yes")
    await world.wait_until(lambda: len([m for m in world.messages() if is_result(m)]) == 8)
    imagined = await _imagine_jobs(world, world.alice.id)
    suggestions = job.meta["result"]["prompts"]
    assert sorted(j.prompt for j in imagined) == sorted(f"{s} --r 2" for s in suggestions for _ in "ab")


async def test_imagine_all_of_four_jobs_does_not_ask(world) -> None:
    """Four suggestions, four jobs: at most `CONFIRM_OVER`, so "Imagine all" submits at once."""
    await world.alice.slash(world.channel, "describe", image=RED)
    described = await world.wait_for(starts("**Describe**"))
    job = await world.job_of(described)
    await world.alice.click(described, custom_id=f"mjp:suggestall:{job.id}:0")
    await world.wait_until(lambda: len([m for m in world.messages() if is_result(m)]) == 4)
    assert len(await _imagine_jobs(world, world.alice.id)) == 4 <= CONFIRM_OVER


async def test_imagine_all_counts_against_the_members_waiting_limit(world) -> None:
    """ "Imagine all" goes through admission: with this server's limit of 2 waiting jobs, two are
    queued and the member is told `Queue full`."""
    await world.alice.slash(world.channel, "describe", image=RED)
    described = await world.wait_for(starts("**Describe**"))
    job = await world.job_of(described)
    world.engine.gate.clear()
    await world.alice.slash(world.channel, "imagine", prompt="first")  # running, held at the gate
    await world.wait_until(lambda: world.service.running_job_id is not None)
    rules = await world.service.repository.get_guild_rules(world.guild.id)
    await world.service.repository.set_guild_rules(dataclasses.replace(rules, max_jobs_per_user=2))
    result = await world.alice.click(described, custom_id=f"mjp:suggestall:{job.id}:0")
    assert [embed.title for embed in result.response.embeds] == ["Queue full"]
    imagined = [j for j in await _imagine_jobs(world, world.alice.id) if j.prompt != "first"]
    assert sorted(j.prompt for j in imagined) == sorted(job.meta["result"]["prompts"][:2])
    world.engine.gate.set()


async def _described(world):
    await world.alice.slash(world.channel, "describe", image=RED)
    described = await world.wait_for(starts("**Describe**"))
    return described, await world.job_of(described)


async def _yes_to_imagine_all(world) -> None:
    """ "Yes" under "submit 8 prompts?", stopped before its first submit."""
    described, job = await _described(world)
    await world.alice.slash(world.channel, "prefer suffix", text="--r 2")
    asked = await world.alice.click(described, custom_id=f"mjp:suggestall:{job.id}:0")
    await _stopped_at(world, "submit")
    await world.alice.click(asked.response, label="Yes")


async def _imagine_all_unasked(world) -> None:
    """ "Imagine all" of 8 jobs, stopped while reading the prompts (before it could ask)."""
    described, job = await _described(world)
    await world.alice.slash(world.channel, "prefer suffix", text="--r 2")
    await _stopped_at(world, "read")
    await world.alice.click(described, custom_id=f"mjp:suggestall:{job.id}:0")


@pytest.mark.parametrize(
    ("interact", "command", "count", "answer"),
    [
        (_yes_to_imagine_all, "suggestyes", 8, RESUMED_TEXT),
        (_imagine_all_unasked, "suggestall", 0, f"{AGAIN_TEXT} without asking you first."),
    ],
    ids=["yes-to-imagine-all", "imagine-all-not-yet-asked"],
)
async def test_imagine_all_stopped_before_its_submit(world, interact, command, count, answer) -> None:
    """After a restart, a "Yes" to "submit 8 prompts?" queues the 8 jobs once; an "Imagine all"
    that had not asked yet queues nothing and tells the member to click again."""
    await interact(world)
    (pending,) = await world.service.repository.pending_interactions()
    assert pending.command == command
    assert await _imagine_jobs(world, world.alice.id) == []
    await world.restart()
    await _all_answered(world)
    assert _answer_of(world, pending).startswith(answer)
    assert len(await _imagine_jobs(world, world.alice.id)) == count


async def test_show_of_a_describe_job_whose_picture_is_gone_shows_the_suggestions(world) -> None:
    """Without the stored picture (erased), /show still posts the embed with the suggestions, no image."""
    described, job = await _described(world)
    (world.service.job_folder(job.id) / INPUT_FILE).unlink()
    await world.alice.slash(world.channel, "show", job_id=job.id)
    shown = await world.wait_for(starts("**Describe**"), after=described.id)
    assert shown.embeds[0].description == described.embeds[0].description
    assert shown.attachments == [] and shown.embeds[0].image.url is None


async def test_blend_and_describe_attachments_are_scaled_down_like_links(world) -> None:
    """Issue 19 item 5: 1536² attachments are decoded by the image-link decoder (one at a time)
    and stored at the working size (1024²), not at full size."""
    big_red = ("big-red.png", png((220, 20, 20), (1536, 1536)))
    big_blue = ("big-blue.png", png((20, 20, 220), (1536, 1536)))
    await world.alice.slash(world.channel, "blend", image1=big_red, image2=big_blue)
    job = await world.job_of(await world.wait_for(is_result))
    with Image.open(world.service.job_folder(job.id) / "ref-0.png") as stored:
        assert stored.size == (1024, 1024)
    await world.alice.slash(world.channel, "describe", image=big_red)
    describe_job = await world.job_of(await world.wait_for(starts("**Describe**")))
    with Image.open(world.service.job_folder(describe_job.id) / INPUT_FILE) as stored:
        assert stored.size == (1024, 1024)
