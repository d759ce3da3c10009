"""Vary (Region) in Discord, with no setup: pick grid cells on an ephemeral copy of the image.

1. Vary (Region) → an ephemeral reply: the image under a labelled 4x4 grid (A1 … D4), a
   multi-select of cells and a Submit button.
2. Choosing cells redraws the reply with the mask preview (the feathered area tinted) — no GPU
   time is spent until Submit.
3. Submit → the REGION job, whose mask is the chosen cells, with the image's own prompt; with the
   member's Remix on (as Midjourney), a prompt modal (pre-filled) first. Submit with no cell is a
   clear error and makes no job.

With PUBLIC_URL set, the reply also carries a signed, single-use link to the browser editor
(bot/web/editor.py: rectangle and lasso tools), for areas the grid cannot express.

State lives only in custom ids (`mjcells:<job>:<n>` on the select, `mjregion:<job>:<n>:<cells>`
on the button, cells as a 16-bit mask in hex), so the reply keeps working after a restart.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

import discord
from PIL import Image, ImageDraw, ImageFont

from bot.discord.exts.actions._editing import open_region_prompt, parent_picture, repaint_region
from bot.discord.replies import report_unexpected, send_error
from bot.engine.canvas import GRID_SIZE, cell_label, cell_mask, cells_of_labels, feather
from bot.errors import InvalidParameter, UserFacingError

if TYPE_CHECKING:
    from bot.discord.exts.actions._cog import Actions
    from bot.jobs.ports import WebPages

__all__ = [
    "GRID",
    "RegionCells",
    "RegionSubmit",
    "cells_from_bits",
    "cells_to_bits",
    "editor_link",
    "region_overlay",
    "region_view",
]

GRID = GRID_SIZE
_PREVIEW_SIDE = 512
_TINT = (255, 64, 64)
_SELECT_PATTERN = r"mjcells:(?P<job>[0-9a-f-]{36}):(?P<n>\d)"
_SUBMIT_PATTERN = r"mjregion:(?P<job>[0-9a-f-]{36}):(?P<n>\d):(?P<cells>[0-9a-f]{4})"


def cells_to_bits(cells: list[int]) -> str:
    return f"{sum(1 << cell for cell in set(cells)):04x}"


def cells_from_bits(bits: str) -> list[int]:
    value = int(bits, 16)
    return [cell for cell in range(GRID * GRID) if value >> cell & 1]


def region_overlay(image: Image.Image, cells: list[int]) -> Image.Image:
    """The image (512 px on its long side) under the labelled grid, chosen cells tinted through the
    feathered mask the job will use — what the member sees before any GPU time is spent."""
    scale = _PREVIEW_SIDE / max(image.size)  # small images grow too, so the labels stay legible
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    picture = image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    if cells:
        soft = feather(cell_mask(picture.size, cells, GRID, GRID)).point(lambda value: value * 6 // 10)
        picture = Image.composite(Image.new("RGB", picture.size, _TINT), picture, soft)
    draw = ImageDraw.Draw(picture)
    width, height = picture.size
    for line in range(1, GRID):
        x, y = round(line * width / GRID), round(line * height / GRID)
        draw.line([(x, 0), (x, height)], fill=(255, 255, 255), width=2)
        draw.line([(0, y), (width, y)], fill=(255, 255, 255), width=2)
    font = ImageFont.load_default(size=max(10, min(width, height) // 14))
    for cell in range(GRID * GRID):
        row, column = divmod(cell, GRID)
        position = (round(column * width / GRID) + 4, round(row * height / GRID) + 2)
        draw.text(
            position,
            cell_label(cell, GRID),
            fill=(255, 255, 255),
            font=font,
            stroke_width=2,
            stroke_fill=(0, 0, 0),
        )
    return picture


def region_view(job_id: str, index: int, cells: list[int]) -> discord.ui.View:
    """The cell multi-select (current choice pre-selected) and Submit."""
    view = discord.ui.View(timeout=None)
    select = RegionCells(job_id, index, cells)
    select.item.row = 0
    view.add_item(select)
    submit = RegionSubmit(job_id, index, cells)
    submit.item.row = 1
    view.add_item(submit)
    return view


def region_content(cells: list[int], link: str = "") -> str:
    """The picker's text: what is chosen, and the browser editor's link when there is one."""
    if not cells:
        text = "**Vary (Region)**: choose the cells to repaint, then press Submit."
    else:
        chosen = ", ".join(cell_label(cell, GRID) for cell in cells)
        text = f"**Vary (Region)**: {chosen} will be repainted (tinted below). Press Submit to go on."
    return f"{text}\nOr draw the area in your browser: <{link}>" if link else text


def editor_link(pages: WebPages | None, job_id: str, index: int, user_id: int) -> str:
    """The browser editor's signed link for image `index` (1-based), or "" without PUBLIC_URL."""
    if pages is None or not pages.public:
        return ""
    return pages.editor_url(job_id, index - 1, user_id)


def picture_file(picture: Image.Image) -> discord.File:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    buffer.seek(0)
    return discord.File(buffer, filename="region.png")


async def open_region_editor(
    actions: Actions, interaction: discord.Interaction, job: Any, index: int
) -> None:
    """Vary (Region) was clicked on image `index` (1-based) of `job`: the ephemeral cell picker."""
    picture = await parent_picture(actions.bot.front, job, index)
    link = editor_link(actions.bot.pages, job.id, index, interaction.user.id)
    await interaction.response.send_message(
        content=region_content([], link),
        file=picture_file(region_overlay(picture, [])),
        view=region_view(job.id, index, []),
        ephemeral=True,
    )


def _actions(interaction: discord.Interaction) -> Actions | None:
    return interaction.client.get_cog("Actions")  # type: ignore[union-attr,return-value]


class RegionCells(discord.ui.DynamicItem[discord.ui.Select], template=_SELECT_PATTERN):
    """The multi-select of grid cells; choosing redraws the reply with the mask preview."""

    def __init__(self, job_id: str, index: int, cells: list[int] | None = None) -> None:
        chosen = set(cells or ())
        options = [
            discord.SelectOption(
                label=cell_label(cell, GRID), value=cell_label(cell, GRID), default=cell in chosen
            )
            for cell in range(GRID * GRID)
        ]
        super().__init__(
            discord.ui.Select(
                custom_id=f"mjcells:{job_id}:{index}",
                placeholder="Cells to repaint",
                min_values=0,
                max_values=len(options),
                options=options,
            )
        )
        self.job_id = job_id
        self.index = index

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Select, match: re.Match[str], /
    ) -> RegionCells:
        return cls(match["job"], int(match["n"]))

    async def callback(self, interaction: discord.Interaction) -> Any:
        actions = _actions(interaction)
        try:
            if actions is None:
                raise UserFacingError("The bot is starting up; try again in a moment.")
            values = (interaction.data or {}).get("values", [])  # type: ignore[union-attr]
            try:
                cells = cells_of_labels(list(values), GRID, GRID)
            except ValueError:
                raise InvalidParameter("Those cells are not on the grid.") from None
            job = await actions.bot.front.load_job(self.job_id)
            picture = await parent_picture(actions.bot.front, job, self.index)
            link = editor_link(actions.bot.pages, job.id, self.index, interaction.user.id)
            await interaction.response.edit_message(
                content=region_content(cells, link),
                attachments=[picture_file(region_overlay(picture, cells))],
                view=region_view(self.job_id, self.index, cells),
            )
        except UserFacingError as error:
            await send_error(interaction, error)
        except Exception as error:
            await report_unexpected(interaction, error)


class RegionSubmit(discord.ui.DynamicItem[discord.ui.Button], template=_SUBMIT_PATTERN):
    """Submit: the REGION job of the chosen cells (an error when none is chosen); with Remix on,
    the prompt modal first."""

    def __init__(self, job_id: str, index: int, cells: list[int]) -> None:
        super().__init__(
            discord.ui.Button(
                label="Submit",
                style=discord.ButtonStyle.primary,
                custom_id=f"mjregion:{job_id}:{index}:{cells_to_bits(cells)}",
            )
        )
        self.job_id = job_id
        self.index = index
        self.cells = cells

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> RegionSubmit:
        return cls(match["job"], int(match["n"]), cells_from_bits(match["cells"]))

    async def callback(self, interaction: discord.Interaction) -> Any:
        actions = _actions(interaction)
        try:
            if actions is None:
                raise UserFacingError("The bot is starting up; try again in a moment.")
            if not self.cells:
                raise InvalidParameter("Select at least one cell of the grid to repaint.")
            job = await actions.bot.front.load_job(self.job_id)
            user = await actions.bot.services.members.of(interaction.user.id)
            if user.remix:
                await open_region_prompt(actions, interaction, job, self.index, self.cells)
            else:
                await repaint_region(actions, interaction, job, self.index, self.cells, user.speed)
        except UserFacingError as error:
            await send_error(interaction, error)
        except Exception as error:
            await report_unexpected(interaction, error)
