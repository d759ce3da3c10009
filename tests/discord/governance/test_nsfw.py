"""The NSFW screen at delivery, with a fake checker: spoilers, blocked images, files kept."""

from __future__ import annotations

from PIL import Image

from bot.governance.nsfw import BLOCKED_NOTICE, PLACEHOLDER_GREY, ImageScreen, NsfwFilter
from tests.discord.helpers import button, image_of


class FakeChecker:
    """Flags the images at the given grid positions (0-based); counts its calls."""

    def __init__(self, flagged: set[int], *, broken: bool = False) -> None:
        self.flagged = flagged
        self.broken = broken
        self.calls = 0

    def check(self, images):
        self.calls += 1
        if self.broken:
            raise RuntimeError("the checker model is missing")
        return [n in self.flagged for n in range(len(images))]


async def imagine(world, prompt, mode, flagged, **checker):
    fake = FakeChecker(flagged, **checker)
    world.front.screen = ImageScreen(mode, fake)
    await world.alice.slash(world.channel, "imagine", prompt=prompt)
    grid = await world.wait_for(lambda m: prompt in m.content and "(fast)" in m.content)
    return grid, fake


async def test_spoiler_mode_posts_flagged_results_as_spoilers(world):
    """A flagged grid is uploaded as SPOILER_…; U2 (flagged) is a spoiler too, U1 is not; one check."""
    grid, fake = await imagine(world, "a beach", NsfwFilter.SPOILER, {1})
    assert grid.attachments[0].filename.startswith("SPOILER_")
    await world.alice.click(grid, label="U2")
    second = await world.wait_for(lambda m: "Image #2" in m.content)
    assert second.attachments[0].filename.startswith("SPOILER_")
    await world.alice.click(grid, label="U1")
    first = await world.wait_for(lambda m: "Image #1" in m.content)
    assert not first.attachments[0].filename.startswith("SPOILER_")
    assert fake.calls == 1  # the verdicts are kept with the job


async def test_block_mode_blanks_flagged_images_but_keeps_the_files(world):
    """Block: the grid shows a blank tile for image 2 and a notice; U2 posts only the notice; the PNG stays."""
    grid, _ = await imagine(world, "a beach", NsfwFilter.BLOCK, {1})
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


async def test_block_mode_with_every_image_flagged_posts_no_image(world):
    """When all four are flagged, the result message is the notice alone, without image or buttons."""
    grid, _ = await imagine(world, "a beach", NsfwFilter.BLOCK, {0, 1, 2, 3})
    assert grid.attachments == []
    assert grid.components == []
    assert BLOCKED_NOTICE in grid.content


async def test_with_the_filter_off_nothing_is_checked(world):
    """NSFW_FILTER=off (the default) never calls a checker and posts plain files."""
    grid, fake = await imagine(world, "a beach", NsfwFilter.OFF, {0, 1, 2, 3})
    assert fake.calls == 0
    assert not grid.attachments[0].filename.startswith("SPOILER_")
    button(grid, "U1")  # the grid's buttons are there


async def test_a_failing_checker_hides_the_images(world, error_log):
    """If the checker breaks, images count as flagged (and the error is logged for the operator)."""
    grid, _ = await imagine(world, "a beach", NsfwFilter.SPOILER, set(), broken=True)
    assert grid.attachments[0].filename.startswith("SPOILER_")
    (record,) = error_log.take()
    assert "NSFW check" in record.getMessage()
