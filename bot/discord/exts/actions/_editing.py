"""Editing a single image from Discord: Custom Zoom's modal and Vary (Region)'s prompt step.

Zoom Out 2x / 1.5x, Make Square and Pan are plain job buttons (see `_cog.JOB_ACTIONS`); these
two need a prompt first, read by the admission like a remix (banned words, channel rules, the
member's settings and options), as one job.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import math
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord
from PIL import Image

from bot.discord.delivery import channel_of, place_of, upload_meta
from bot.discord.replies import report_unexpected, send_error
from bot.engine.canvas import GRID_SIZE, cell_label, cell_mask
from bot.errors import JobNotFound, UserFacingError
from bot.jobs.models import Job, JobKind
from bot.prompt import ImagineRequest

if TYPE_CHECKING:
    from bot.discord.delivery import JobFront
    from bot.discord.exts.actions._cog import Actions

__all__ = ["PromptModal", "open_custom_zoom", "open_region_prompt", "parent_picture", "read_edit_prompt"]

MAX_PROMPT = 4000
DEFAULT_CUSTOM_ZOOM = 2
_ASPECT_PARAMETER = re.compile(r"(?<!\S)(?:--|—)(?:ar|aspect)\s+\S+", re.IGNORECASE)

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
    stored = await front.jobs.repository.get_image(job.id, index - 1)
    if stored is None:
        raise JobNotFound(f"Image #{index} of job `{job.id}` is no longer stored.")
    return await asyncio.to_thread(_open_rgb, stored.path)


def _open_rgb(path) -> Image.Image:
    with Image.open(path) as picture:
        return picture.convert("RGB")


async def read_edit_prompt(
    actions: Actions, interaction: discord.Interaction, text: str, *, custom_zoom: bool = False
) -> ImagineRequest:
    """The one job an edit's prompt asks for, read by the same admission as /imagine and Remix."""
    (request,) = await actions.bot.admission.read(
        text, place_of(interaction), most=1, custom_zoom=custom_zoom
    )
    return request


async def submit_edit(
    actions: Actions,
    interaction: discord.Interaction,
    parent: Job,
    kind: JobKind,
    index: int,
    mode: str | None,
    request: ImagineRequest,
    mask: bytes | None = None,
) -> Job:
    """Submit the edit job of image `index` (1-based) of `parent`, owned by the member."""
    new_job = actions.bot.admission.derived_job(
        parent, kind, index, mode, place_of(interaction), request=request, meta=upload_meta(interaction)
    )
    return await actions.bot.front.submit(channel_of(interaction), dataclasses.replace(new_job, mask=mask))


def image_aspect(job: Job, size: tuple[int, int]) -> str:
    """The image's `--ar`: the job's own (`16:9`) when the image has that shape, else its size
    reduced (`23:11` after a pan)."""
    recorded = str(job.request.get("extra", {}).get("aspect", ""))
    width, _, height = recorded.partition(":")
    known = width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0
    if known and abs(math.log(int(width) / int(height) * size[1] / size[0])) < math.log(1.03):
        return recorded
    divisor = math.gcd(*size)
    return f"{size[0] // divisor}:{size[1] // divisor}"


def custom_zoom_prompt(prompt: str, aspect: str) -> str:
    """The Custom Zoom modal's text: the prompt with the image's `--ar` and `--zoom 2`."""
    text = " ".join(_ASPECT_PARAMETER.sub(" ", prompt).split())
    return f"{text} --ar {aspect} --zoom {DEFAULT_CUSTOM_ZOOM}"


async def open_custom_zoom(actions: Actions, interaction: discord.Interaction, job: Job, index: int) -> None:
    """Custom Zoom: a modal with the prompt, `--ar` (change it to change the shape) and `--zoom`."""
    picture = await parent_picture(actions.bot.front, job, index)

    async def zoom(modal_interaction: discord.Interaction, text: str) -> None:
        chosen = await read_edit_prompt(actions, modal_interaction, text, custom_zoom=True)
        factor = chosen.zoom if chosen.zoom is not None else 1.0
        mode = f"{factor:g} {chosen.aspect[0]}:{chosen.aspect[1]}"
        await modal_interaction.response.defer()  # the progress message follows in the channel
        await submit_edit(actions, modal_interaction, job, JobKind.ZOOM, index, mode, chosen)

    text = custom_zoom_prompt(job.prompt, image_aspect(job, picture.size))
    await interaction.response.send_modal(
        PromptModal("Custom Zoom", "Prompt, --ar and --zoom (1-2)", text, zoom)
    )


async def open_region_prompt(
    actions: Actions, interaction: discord.Interaction, job: Job, index: int, cells: list[int]
) -> None:
    """Vary (Region)'s Submit: the prompt modal; sending it submits the REGION job."""
    picture = await parent_picture(actions.bot.front, job, index)

    async def repaint(modal_interaction: discord.Interaction, text: str) -> None:
        chosen = await read_edit_prompt(actions, modal_interaction, text)
        mask = io.BytesIO()
        cell_mask(picture.size, cells, GRID_SIZE, GRID_SIZE).save(mask, format="PNG")
        chosen_cells = ", ".join(cell_label(cell, GRID_SIZE) for cell in cells)
        await modal_interaction.response.edit_message(
            content=f"**Vary (Region)**: repainting {chosen_cells}…", attachments=[], view=None
        )
        await submit_edit(
            actions, modal_interaction, job, JobKind.REGION, index, None, chosen, mask.getvalue()
        )

    await interaction.response.send_modal(
        PromptModal("Vary (Region)", "Prompt for the area", job.prompt, repaint)
    )
