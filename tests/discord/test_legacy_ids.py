"""Buttons already posted and interactions recorded by the version before the action table keep
working: their literal custom ids and pending rows (as that version wrote them) resolve to the
same actions and make the same jobs."""

from __future__ import annotations

import asyncio
import json
import time

from bot.discord.buttons import describe_view, grid_view, progress_view, shorten_view, single_view
from bot.jobs.models import JobKind, PendingInteraction
from tests.discord.helpers import button, is_result

J = "12345678-1234-1234-1234-123456789012"


def _ids(view) -> list[str]:
    return [getattr(child, "item", child).custom_id for child in view.children]


def test_new_views_carry_the_custom_ids_posted_before():
    """The ids the previous version posted under grids, images, progress and /describe, /shorten."""
    assert _ids(grid_view(J, draft=True)) == [
        *(f"mj:pick:{J}:{n}" for n in range(1, 5)),
        f"mj:reroll:{J}:0",
        *(f"mj:vary:{J}:{n}" for n in range(1, 5)),
        f"mj:enhance:{J}:0",
    ]
    assert _ids(single_view(J, 2)) == [
        f"mj:strong:{J}:2", f"mj:subtle:{J}:2", f"mj:region:{J}:2",
        f"mj:upsubtle:{J}:2", f"mj:upcreative:{J}:2",
        f"mj:anilow:{J}:2", f"mj:anihigh:{J}:2",  # issue 21: new buttons beside Upscale
        f"mj:zoomtwo:{J}:2", f"mj:zoomonefive:{J}:2", f"mj:zoomcustom:{J}:2",
        f"mj:panleft:{J}:2", f"mj:panright:{J}:2", f"mj:panup:{J}:2", f"mj:pandown:{J}:2",
        # issue 22: the editor's buttons in the last row (❤️ and Web ↗ join them)
        f"mj:retexture:{J}:2", f"mj:instruct:{J}:2", f"mj:rembg:{J}:2",
    ]  # fmt: skip
    assert f"mj:square:{J}:3" in _ids(single_view(J, 3, upscale=False, square=False))
    assert _ids(progress_view(J)) == [f"mj:cancel:{J}:0"]
    assert _ids(describe_view(J)) == [
        *(f"mjp:suggest:{J}:{n}" for n in range(1, 5)),
        f"mjp:redescribe:{J}:0",
        f"mjp:suggestall:{J}:0",
    ]
    assert _ids(shorten_view(J, 2)) == [f"mjp:shortpick:{J}:1", f"mjp:shortpick:{J}:2"]


async def test_old_custom_ids_on_posted_messages_still_work(world):
    """Clicking a grid's and an image's buttons by their literal old ids makes the same jobs."""
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    grid = await world.wait_for(is_result)
    job = button(grid, "U1").custom_id.split(":")[2]
    await world.alice.click(grid, custom_id=f"mj:vary:{job}:2")
    await world.wait_for(lambda m: is_result(m) and "Variations" in m.content, after=grid.id)
    await world.alice.click(grid, custom_id=f"mj:pick:{job}:1")
    single = await world.wait_for(lambda m: "Image #1" in m.content, after=grid.id)
    await world.alice.click(single, custom_id=f"mj:zoomtwo:{job}:1")
    await world.wait_for(lambda m: is_result(m) and "Zoom Out" in m.content, after=single.id)
    made = {(j.kind, j.mode, j.parent_index) for j in await world.service.repository.child_jobs(job)}
    assert (JobKind.ZOOM, "2", 0) in made and any(
        kind is JobKind.VARIATION and index == 1 for kind, _, index in made
    )


async def test_interactions_recorded_by_the_previous_version_are_finished(world):
    """Pending rows exactly as the previous version recorded them (button, remix, Custom Zoom,
    Vary (Region)) are submitted after a restart with the same kinds and modes."""
    await world.alice.slash(world.channel, "imagine", prompt="a red fox")
    grid = await world.wait_for(is_result)
    job = button(grid, "U1").custom_id.split(":")[2]
    rows = [
        ("button", "", {"action": "strong", "job_id": job, "index": 1}),
        ("button", "", {"action": "upsubtle", "job_id": job, "index": 2}),
        ("button", "", {"action": "panleft", "job_id": job, "index": 3}),
        ("remix", "a blue fox", {"action": "zoomtwo", "job_id": job, "index": 4}),
        ("customzoom", "a fox --ar 1:1 --zoom 1.5", {"job_id": job, "index": 1}),
        ("region", "", {"job_id": job, "index": 2, "cells": [0, 1], "remix": False}),
    ]
    repository = world.service.repository
    for number, (command, prompt, details) in enumerate(rows, start=1):
        await repository.record_interaction(
            PendingInteraction(
                id=900 + number,
                token=f"old-{number}",
                application_id=world.env.bot.application_id or 1,
                user_id=world.alice.id,
                guild_id=world.guild.id,
                channel_id=world.channel.id,
                parent_channel_id=None,
                command=command,
                prompt=prompt,
                upload_limit=None,
                received_at=time.time(),
                details=json.dumps({**details, "answer": "followup"}),
            )
        )
    await world.restart()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while await repository.pending_interactions():
        assert loop.time() < deadline, "the recorded interactions were never dealt with"
        await asyncio.sleep(0.05)
    made = sorted(
        (j.kind.value, j.mode or "", j.parent_index, j.prompt) for j in await repository.child_jobs(job)
    )
    assert made == sorted(
        [
            ("variation", "strong", 0, "a red fox"),
            ("upscale", "subtle", 1, "a red fox"),
            ("pan", "left", 2, "a red fox"),
            ("zoom", "2", 3, "a blue fox"),
            ("zoom", "1.5 1:1", 0, "a fox --ar 1:1 --zoom 1.5"),
            ("region", "", 1, "a red fox"),
        ]
    )
