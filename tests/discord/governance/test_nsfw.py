"""The NSFW policy in Discord, from the verdicts the GPU worker stored (a fake checker runs in
the world's worker): spoilers, blocked images, files kept, one check per job, none at delivery."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
from PIL import Image

import bot
from bot.engine import safety_checker
from bot.governance.nsfw import BLOCKED_NOTICE, PLACEHOLDER_GREY
from tests.discord.conftest import NsfwSetup
from tests.discord.helpers import button, image_of
from tests.tiny_checker import FakeChecker


def nsfw(mode: str, checker: FakeChecker | None) -> pytest.MarkDecorator:
    """Run the test in a world with NSFW_FILTER=mode and this checker in its GPU worker."""
    return pytest.mark.parametrize("nsfw", [NsfwSetup(mode, checker)], indirect=True, ids=[mode])


async def imagine(world, prompt="a beach"):
    await world.alice.slash(world.channel, "imagine", prompt=prompt)
    return await world.wait_for(lambda m: prompt in m.content and "(fast)" in m.content)


@nsfw("spoiler", FakeChecker({1}))
async def test_spoiler_mode_posts_flagged_results_as_spoilers(world, monkeypatch):
    """A flagged grid is uploaded as SPOILER_…; U2 (flagged) is a spoiler too, U1 is not; /show
    after a restart still spoilers it. One check, on the GPU worker thread; the bot never
    creates a checker model."""
    created = []
    monkeypatch.setattr(safety_checker.SafetyCheckerModel, "__init__", lambda *args: created.append(args))
    grid = await imagine(world)
    assert grid.attachments[0].filename.startswith("SPOILER_")
    await world.alice.click(grid, label="U2")
    second = await world.wait_for(lambda m: "Image #2" in m.content)
    assert second.attachments[0].filename.startswith("SPOILER_")
    await world.alice.click(grid, label="U1")
    first = await world.wait_for(lambda m: "Image #1" in m.content)
    assert not first.attachments[0].filename.startswith("SPOILER_")
    job = await world.job_of(grid)
    assert job.meta["nsfw"] == [False, True, False, False]
    await world.restart()
    await world.alice.slash(world.channel, "show", job_id=job.id)
    shown = await world.wait_for(lambda m: m.attachments and "(fast)" in m.content, after=first.id)
    assert shown.attachments[0].filename.startswith("SPOILER_")
    checker = world.nsfw.checker
    assert checker.calls == 1  # the verdicts are kept with the job: nobody checks again
    assert [thread.name for thread in checker.threads] == ["gpu-worker"]
    assert created == []


@nsfw("block", FakeChecker({1}))
async def test_block_mode_blanks_flagged_images_but_keeps_the_files(world):
    """Block: the grid shows a blank tile for image 2 and a notice; U2 posts only the notice; the PNG stays."""
    grid = await imagine(world)
    assert BLOCKED_NOTICE in grid.content
    picture = image_of(world, grid).convert("RGB")
    top_right = picture.getpixel((picture.width * 3 // 4, picture.height // 4))
    assert top_right == PLACEHOLDER_GREY
    job = await world.job_of(grid)
    stored = (await world.service.repository.get_images(job.id))[1]
    with Image.open(stored.path) as original:
        assert (
            original.convert("RGB").getpixel((original.width // 2, original.height // 2)) != PLACEHOLDER_GREY
        )
    await world.alice.click(grid, label="U2")
    second = await world.wait_for(lambda m: "Image #2" in m.content)
    assert BLOCKED_NOTICE in second.content
    assert second.attachments == []


@nsfw("block", FakeChecker({0, 1, 2, 3}))
async def test_block_mode_with_every_image_flagged_posts_no_image(world):
    """When all four are flagged, the result message is the notice alone, without image or buttons."""
    grid = await imagine(world)
    assert grid.attachments == []
    assert grid.components == []
    assert BLOCKED_NOTICE in grid.content


async def test_with_the_filter_off_nothing_is_checked(world):
    """NSFW_FILTER=off (the default): no verdicts are stored and plain files are posted."""
    grid = await imagine(world)
    assert not grid.attachments[0].filename.startswith("SPOILER_")
    assert "nsfw" not in (await world.job_of(grid)).meta
    button(grid, "U1")  # the grid's buttons are there


@nsfw("spoiler", FakeChecker(broken=True))
async def test_a_failing_checker_hides_the_images_but_the_job_is_done(world, error_log):
    """If the worker's checker breaks, the job still finishes; its images count as flagged (and
    the error is logged for the operator)."""
    grid = await imagine(world)
    assert grid.attachments[0].filename.startswith("SPOILER_")
    (record,) = error_log.take()
    assert "NSFW check" in record.getMessage()
    assert "nsfw" not in (await world.job_of(grid)).meta


@nsfw("block", None)
async def test_a_job_without_stored_verdicts_counts_as_flagged(world, caplog):
    """A job finished without verdicts (before the checker moved to the worker, or while the
    filter was off) is blocked once the filter is on: only the checker's word makes it safe."""
    with caplog.at_level(logging.INFO, logger="bot.governance.nsfw"):
        grid = await imagine(world)
    assert grid.attachments == [] and BLOCKED_NOTICE in grid.content
    assert "no NSFW verdicts" in caplog.text


def test_the_fronts_never_build_or_load_the_checker_model():
    """Only the GPU workers (bot/jobs) create the checker: no module of bot/discord, bot/web,
    bot/governance or bot/cli names SafetyCheckerModel or load_safety_checker."""
    root = Path(bot.__file__).parent
    offenders = []
    for folder in ("discord", "web", "governance", "cli"):
        for path in sorted((root / folder).rglob("*.py")):
            names = {
                node.id if isinstance(node, ast.Name) else node.name
                for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(node, ast.Name | ast.alias)
            }
            if names & {"SafetyCheckerModel", "load_safety_checker"}:
                offenders.append(str(path.relative_to(root)))
    assert offenders == []
