"""/edit through simcord: an uploaded picture is posted as the member's upload job with the
single-image buttons (Remove Background among them), and those buttons work on it."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from bot.jobs.models import JobKind, JobStatus
from tests.discord.helpers import SINGLE_LABELS, button, button_labels, is_result


def png(size: tuple[int, int], colour: tuple[int, int, int] = (200, 60, 30)) -> bytes:
    buffer = io.BytesIO()
    picture = Image.new("RGB", size, colour)
    picture.paste((20, 40, 220), (0, 0, size[0] // 2, size[1]))
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


async def test_edit_posts_the_upload_with_the_single_image_buttons_that_work_on_it(world) -> None:
    """/edit image prompt → `**prompt** - @alice` with Vary/Upscale/Zoom/Pan/Remove Background;
    the upload is a done job of Alice with no GPU time; Vary (Subtle) starts from its pixels."""
    await world.alice.slash(world.channel, "edit", image=("wall.png", png((96, 64))), prompt="a painted wall")
    posted = await world.wait_for(
        lambda m: m.content.startswith("**a painted wall**") and bool(m.attachments)
    )
    assert posted.content == f"**a painted wall** - <@{world.alice.id}> (fast)"
    assert button_labels(posted) == SINGLE_LABELS
    job = await world.job_of(posted)
    assert (job.kind, job.status, job.user_id, job.gpu_seconds) == (
        JobKind.UPLOAD,
        JobStatus.DONE,
        world.alice.id,
        0.0,
    )
    shown = Image.open(io.BytesIO(world.attachment_bytes(posted))).convert("RGB")
    stored = Image.open((await world.service.repository.get_image(job.id, 0)).path).convert("RGB")
    assert np.array_equal(np.asarray(shown), np.asarray(stored))

    await world.alice.click(posted, custom_id=button(posted, "Vary (Subtle)").custom_id)
    varied = await world.wait_for(lambda m: is_result(m) and "Variations (Subtle)" in m.content)
    child = await world.job_of(varied)
    assert (child.kind, child.parent_id, child.status) == (JobKind.VARIATION, job.id, JobStatus.DONE)


async def test_edit_refuses_what_is_not_a_picture_and_banned_prompts(world) -> None:
    """Not an image: `Invalid link`; a banned word: `Banned prompt detected`; nothing stored."""
    result = await world.alice.slash(world.channel, "edit", image=("notes.png", b"just some text"))
    assert [embed.title for embed in result.response.embeds] == ["Invalid link"]
    result = await world.alice.slash(
        world.channel, "edit", image=("a.png", png((64, 64))), prompt="a nsfw cat"
    )
    assert [embed.title for embed in result.response.embeds] == ["Banned prompt detected"]
    assert sum((await world.service.repository.count_jobs()).values()) == 0
