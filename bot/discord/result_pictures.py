"""The pictures and messages of finished jobs, as delivery and `/show` post them: `ResultPost`,
the grid (saved, or rendered again with NSFW-flagged images blanked) and single images, each
carrying its A1111 `parameters`."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import discord
from PIL import Image

from bot.governance.nsfw import hide_flagged
from bot.jobs.models import JobImage, JobKind

__all__ = [
    "DESCRIBED_SIDE",
    "GRID_KINDS",
    "ResultPost",
    "grid_hiding",
    "grid_of",
    "open_picture",
    "open_rgb",
    "thumbnail",
]

# The described picture is shown at most this large under /describe's suggestions.
DESCRIBED_SIDE = 1024

GRID_KINDS = (
    JobKind.IMAGINE,
    JobKind.VARIATION,
    JobKind.REROLL,
    JobKind.BLEND,
    JobKind.ZOOM,
    JobKind.PAN,
    JobKind.REGION,
    JobKind.RETEXTURE,
    JobKind.INSTRUCT,
)


@dataclass
class ResultPost:
    """A finished job's message, ready for `JobFront.send_image` (picture None: text only;
    with `embed`, the picture is the embed's image)."""

    content: str
    picture: Image.Image | None
    stem: str
    view: discord.ui.View | None
    embed: discord.Embed | None = None
    # A video job's clips as (MP4 path, attachment name): sent instead of `picture`.
    clips: list[tuple[Path, str]] = field(default_factory=list)


def thumbnail(path: Path) -> Image.Image | None:
    """The stored picture at most `DESCRIBED_SIDE` pixels wide and high; None if it is gone."""
    try:
        with Image.open(path) as image:
            picture = image.convert("RGB")
    except OSError:
        return None
    picture.thumbnail((DESCRIBED_SIDE, DESCRIBED_SIDE), Image.Resampling.LANCZOS)
    return picture


def open_picture(path: Path) -> Image.Image:
    """A single image as posted: RGBA when it has transparency (Remove Background), else RGB."""
    with Image.open(path) as opened:
        return opened.convert("RGBA" if opened.mode in ("RGBA", "LA") else "RGB")


def open_rgb(path: Path) -> Image.Image:
    """The picture as RGB, its `parameters` (recipe) kept in `.info` for the upload."""
    with Image.open(path) as opened:
        return opened.convert("RGB")


def _with_recipe(grid: Image.Image, images: list[JobImage]) -> Image.Image:
    """A grid carries its first image's `parameters`, as AUTOMATIC1111's grids do."""
    if "parameters" not in grid.info and images:
        first = min(images, key=lambda item: item.index)
        with contextlib.suppress(OSError), Image.open(first.path) as opened:
            if "parameters" in opened.info:
                grid.info["parameters"] = opened.info["parameters"]
    return grid


def grid_hiding(_grid_path: Path, images: list[JobImage], flagged: list[bool]) -> Image.Image:
    """A grid of the images with the flagged ones blanked (the files on disk stay as they are)."""
    from bot.grid import render_grid

    ordered = sorted(images, key=lambda item: item.index)
    return _with_recipe(
        render_grid(hide_flagged([open_rgb(image.path) for image in ordered], flagged)), images
    )


def grid_of(grid_path: Path, images: list[JobImage], _flagged: list[bool] | None = None) -> Image.Image:
    """The grid the job service saved, or one rendered from the images if it is missing."""
    if grid_path.is_file():
        return _with_recipe(open_rgb(grid_path), images)
    from bot.grid import render_grid

    ordered = sorted(images, key=lambda item: item.index)
    return _with_recipe(render_grid([open_rgb(image.path) for image in ordered]), images)
