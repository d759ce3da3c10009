"""Editing a single image from Discord: Custom Zoom's modal and Vary (Region)'s last step.

Zoom Out 2x / 1.5x, Make Square and Pan are plain job buttons (see `bot/jobs/actions.py`). Custom
Zoom always asks for a prompt, Vary (Region) only with the member's Remix on (as Midjourney): that
prompt is read by the admission like a remix (banned words, channel rules, the member's settings
and options), as one job. With Remix off, Vary (Region) repaints with the image's own prompt.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from PIL import Image

from bot.discord.origin import Origin, origin_of
from bot.discord.pending import recorded, with_interaction_ids
from bot.discord.replies import report_unexpected, send_error
from bot.engine.canvas import GRID_SIZE, cell_label, cell_mask
from bot.errors import JobNotFound, UserFacingError
from bot.jobs.custom_zoom import custom_zoom_mode, custom_zoom_prompt, image_aspect
from bot.jobs.library import library_of
from bot.jobs.models import Job, JobKind, PendingInteraction
from bot.prompt import ImagineRequest

if TYPE_CHECKING:
    from bot.discord.delivery import JobFront
    from bot.discord.exts.actions._cog import Actions
    from bot.governance.admission import Place

__all__ = [
    "PromptModal",
    "open_custom_zoom",
    "open_region_prompt",
    "parent_picture",
    "read_edit_prompt",
    "region_mask",
    "repaint_region",
    "resume_custom_zoom",
    "resume_region",
]

MAX_PROMPT = 4000

PromptCallback = Callable[[discord.Interaction, str], Awaitable[None]]


class PromptModal(discord.ui.Modal):
    """One prompt box, pre-filled; calls `on_prompt(interaction, text)` when sent."""

    def __init__(self, title: str, label: str, prompt: str, on_prompt: PromptCallback) -> None:
        super().__init__(title=title, timeout=600)
        self.prompt = discord.ui.TextInput(
            label=label, style=discord.TextStyle.paragraph, default=prompt[:MAX_PROMPT], max_length=MAX_PROMPT
        )
        self.add_item(self.prompt)
        self.on_prompt = on_prompt

    async def on_submit(self, interaction: discord.Interaction) -> None:
        try:
            await self.on_prompt(interaction, self.prompt.value)
        except UserFacingError as error:
            await send_error(interaction, error)
        except Exception as error:
            await report_unexpected(interaction, error)


async def parent_picture(front: JobFront, job: Job, index: int) -> Image.Image:
    """Image `index` (1-based) of `job`, from disk."""
    stored = await library_of(front.jobs).image(job.id, index - 1)
    if stored is None:
        raise JobNotFound(f"Image #{index} of job `{job.id}` is no longer stored.")
    return await asyncio.to_thread(_open_rgb, stored.path)


def _open_rgb(path) -> Image.Image:
    with Image.open(path) as picture:
        return picture.convert("RGB")


async def read_edit_prompt(
    actions: Actions, place: Place, text: str, *, custom_zoom: bool = False
) -> ImagineRequest:
    """The one job an edit's prompt asks for, read by the same admission as /imagine and Remix."""
    (request,) = await actions.bot.admission.read(text, place, most=1, custom_zoom=custom_zoom)
    return request


async def submit_edit(
    actions: Actions,
    origin: Origin,
    parent: Job,
    kind: JobKind,
    index: int,
    mode: str | None,
    request: ImagineRequest | None,
    mask: bytes | None = None,
    *,
    speed: str | None = None,
) -> Job:
    """Submit the edit job of image `index` (1-based) of `parent`, owned by the member (its id
    comes from the interaction: bot/discord/pending.py). `request` None: the parent's own prompt,
    at the member's `speed`."""
    new_job = actions.bot.admission.derived_job(
        parent, kind, index, mode, origin.place, speed=speed, request=request, meta=origin.meta
    )
    (new_job,) = with_interaction_ids(origin.interaction_id, [dataclasses.replace(new_job, mask=mask)])
    return await actions.bot.front.submit(origin.channel, new_job)


def region_mask(size: tuple[int, int], cells: list[int]) -> bytes:
    """Vary (Region)'s mask (PNG, white = repaint) of `cells` on a picture of `size`."""
    mask = io.BytesIO()
    cell_mask(size, cells, GRID_SIZE, GRID_SIZE).save(mask, format="PNG")
    return mask.getvalue()


async def open_custom_zoom(actions: Actions, interaction: discord.Interaction, job: Job, index: int) -> None:
    """Custom Zoom: a modal with the prompt, `--ar` (change it to change the shape) and `--zoom`."""
    picture = await parent_picture(actions.bot.front, job, index)

    async def zoom(modal_interaction: discord.Interaction, text: str) -> None:
        origin = origin_of(modal_interaction)
        chosen = await read_edit_prompt(actions, origin.place, text, custom_zoom=True)
        await modal_interaction.response.defer()  # the progress message follows in the channel
        # Recorded until submitted: a restart in between submits it (bot/discord/pending.py).
        async with recorded(actions.bot, modal_interaction, "customzoom", text, job_id=job.id, index=index):
            await submit_edit(actions, origin, job, JobKind.ZOOM, index, custom_zoom_mode(chosen), chosen)

    text = custom_zoom_prompt(job.prompt, image_aspect(job, picture.size))
    await interaction.response.send_modal(
        PromptModal("Custom Zoom", "Prompt, --ar and --zoom (1-2)", text, zoom)
    )


async def open_region_prompt(
    actions: Actions, interaction: discord.Interaction, job: Job, index: int, cells: list[int]
) -> None:
    """Vary (Region)'s Submit with Remix on: the prompt modal; sending it submits the REGION job."""
    picture = await parent_picture(actions.bot.front, job, index)

    async def repaint(modal_interaction: discord.Interaction, text: str) -> None:
        origin = origin_of(modal_interaction)
        chosen = await read_edit_prompt(actions, origin.place, text)
        chosen_cells = ", ".join(cell_label(cell, GRID_SIZE) for cell in cells)
        await modal_interaction.response.edit_message(
            content=f"**Vary (Region)**: repainting {chosen_cells}…", attachments=[], view=None
        )
        # Recorded until submitted: a restart in between submits it (bot/discord/pending.py).
        details = {"job_id": job.id, "index": index, "cells": cells}
        async with recorded(actions.bot, modal_interaction, "region", text, remix=True, **details):
            mask = region_mask(picture.size, cells)
            await submit_edit(actions, origin, job, JobKind.REGION, index, None, chosen, mask)

    await interaction.response.send_modal(
        PromptModal("Vary (Region)", "Prompt for the area", job.prompt, repaint)
    )


async def repaint_region(
    actions: Actions,
    interaction: discord.Interaction,
    job: Job,
    index: int,
    cells: list[int],
    speed: str | None,
) -> None:
    """Vary (Region)'s Submit with Remix off: no prompt asked, the REGION job repaints the cells
    with the image's own prompt at the member's `speed`."""
    chosen_cells = ", ".join(cell_label(cell, GRID_SIZE) for cell in cells)
    await interaction.response.edit_message(
        content=f"**Vary (Region)**: repainting {chosen_cells}…", attachments=[], view=None
    )
    origin = origin_of(interaction)
    # Recorded until submitted: a restart in between submits it (bot/discord/pending.py).
    details = {"job_id": job.id, "index": index, "cells": cells}
    async with recorded(actions.bot, interaction, "region", remix=False, **details):
        picture = await parent_picture(actions.bot.front, job, index)
        mask = region_mask(picture.size, cells)
        await submit_edit(actions, origin, job, JobKind.REGION, index, None, None, mask, speed=speed)


async def resume_custom_zoom(actions: Actions, origin: Origin, pending: PendingInteraction) -> str | None:
    """A Custom Zoom form sent just before a restart: its prompt read again, the job submitted."""
    arguments = pending.arguments
    job = await actions.bot.front.load_job(str(arguments["job_id"]))
    chosen = await read_edit_prompt(actions, origin.place, pending.prompt, custom_zoom=True)
    index = int(arguments["index"])
    await submit_edit(actions, origin, job, JobKind.ZOOM, index, custom_zoom_mode(chosen), chosen)
    return None


async def resume_region(actions: Actions, origin: Origin, pending: PendingInteraction) -> str | None:
    """A Vary (Region) Submit (Remix off) or prompt (Remix on) sent just before a restart: the same
    cells repainted, with the typed prompt or the image's own."""
    arguments = pending.arguments
    job = await actions.bot.front.load_job(str(arguments["job_id"]))
    index, cells = int(arguments["index"]), [int(cell) for cell in arguments["cells"]]
    picture = await parent_picture(actions.bot.front, job, index)
    mask = region_mask(picture.size, cells)
    if arguments.get("remix", True):  # records made before Remix-off existed had a prompt
        chosen = await read_edit_prompt(actions, origin.place, pending.prompt)
        await submit_edit(actions, origin, job, JobKind.REGION, index, None, chosen, mask)
    else:
        user = await actions.bot.services.members.of(origin.place.user_id)
        await submit_edit(actions, origin, job, JobKind.REGION, index, None, None, mask, speed=user.speed)
    return None
