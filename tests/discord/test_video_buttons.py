"""Video in Discord (issue 21): Animate under single images, clips posted as MP4s, Extend under a clip."""

from __future__ import annotations

import dataclasses
import io

import av

from bot.jobs.models import JobKind
from tests.discord.helpers import button_labels, is_result
from tests.discord.test_payload_spec import checked_operations
from tests.discord_spec import assert_valid_request

# Tiny clips: 5 frames at 64 px, 2 steps (the tiny Wan model).
VIDEO = {"video_frames": 5, "video_steps": 2, "video_extend_frames": 4, "video_fps": 8}


def frames_of(data: bytes) -> int:
    with av.open(io.BytesIO(data)) as container:
        return sum(1 for _ in container.decode(video=0))


def is_clip_message(message) -> bool:
    return bool(message.attachments) and all(a.filename.endswith(".mp4") for a in message.attachments)


async def single_image(world):
    world.service.settings = dataclasses.replace(world.service.settings, **VIDEO)
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    grid = await world.wait_for(is_result)
    await world.alice.click(grid, label="U1")
    return await world.wait_for(lambda m: "Image #1" in m.content, after=grid.id)


async def test_animate_posts_clips_and_extend_makes_them_longer(world):
    """Animate (Low motion) makes an ANIMATE job whose message carries its MP4s (U1-U4 🔄); U1
    posts one clip with Extend (Low/High motion), 🔄 and ❤️; Extend (High motion) adds frames.
    Every posted payload passes Discord's OpenAPI description."""
    single = await single_image(world)
    assert {"Animate (Low motion)", "Animate (High motion)"} <= set(button_labels(single))

    await world.alice.click(single, label="Animate (Low motion)")
    clips = await world.wait_for(lambda m: "Animate (Low motion) by" in m.content, after=single.id)
    job = await world.job_of(clips)
    assert job.kind is JobKind.ANIMATE and job.mode == "low"
    assert is_clip_message(clips) and len(clips.attachments) == 4
    assert button_labels(clips) == ["U1", "U2", "U3", "U4", None]
    assert frames_of(world.attachment_bytes(clips, 0)) == 5

    await world.alice.click(clips, label="U1")
    clip = await world.wait_for(lambda m: "Image #1" in m.content, after=clips.id)
    assert is_clip_message(clip) and len(clip.attachments) == 1
    assert button_labels(clip)[:3] == ["Extend (Low motion)", "Extend (High motion)", None]
    assert len(clip.attachments[0].filename) and clip.attachments[0].size <= 10 * 2**20

    await world.alice.click(clip, label="Extend (High motion)")
    longer = await world.wait_for(lambda m: "Extend (High motion) by" in m.content, after=clip.id)
    extended = await world.job_of(longer)
    assert extended.kind is JobKind.EXTEND and extended.parent_id == job.id
    assert frames_of(world.attachment_bytes(longer, 0)) == 5 + 4

    # /show posts a video job again as its clips, not as a message without them.
    await world.alice.slash(world.channel, "show", job_id=extended.id)
    shown = await world.wait_for(is_clip_message, after=longer.id)
    assert len(shown.attachments) == 4 and frames_of(world.attachment_bytes(shown, 0)) == 5 + 4

    posts = checked_operations(world)[("POST", "/channels/{channel_id}/messages")]
    for body in posts:
        assert_valid_request("POST", "/channels/1/messages", body)
    clip_bodies = [
        body for body in posts if any(a["filename"].endswith(".mp4") for a in body.get("attachments", []))
    ]
    assert len(clip_bodies) == 4  # the Animate job's clips, U1's clip, the Extend job's clips, /show


async def test_animate_with_remix_asks_for_the_motion_prompt(world):
    """With Remix on, Animate (High motion) opens the prompt form first ("Manual")."""
    single = await single_image(world)
    await world.service.repository.update_user_settings(world.alice.id, remix=True)
    shown = await world.alice.click(single, label="Animate (High motion)")
    assert shown.modal is not None
