"""Small readers of what the bot showed in a simcord world."""

from __future__ import annotations

import io
from typing import Any

import discord
from PIL import Image

GRID_LABELS = ["U1", "U2", "U3", "U4", None, "V1", "V2", "V3", "V4"]
VARY_LABELS = ["Vary (Strong)", "Vary (Subtle)", "Vary (Region)"]
UPSCALE_LABELS = ["Upscale (Subtle)", "Upscale (Creative)"]
PAN_LABELS = [None, None, None, None]  # ⬅️ ➡️ ⬆️ ⬇️ (emoji only)
EDITOR_LABELS = ["Retexture", "Edit", "Remove Background"]  # the editor's row; ❤️ and Web ↗ share it
HEART = [None]  # ❤️, in the web row after the job's buttons
# A single non-square image: Make Square takes Zoom Out 1.5x's place, as on Midjourney.
# Under one image, before ❤️ (issue 21): the video buttons.
ANIMATE_LABELS = ["Animate (Low motion)", "Animate (High motion)"]
SINGLE_LABELS = [
    *VARY_LABELS,
    *UPSCALE_LABELS,
    *ANIMATE_LABELS,
    "Zoom Out 2x",
    "Make Square",
    "Custom Zoom",
    *PAN_LABELS,
    *EDITOR_LABELS,
    *HEART,
]
SQUARE_SINGLE_LABELS = [
    *VARY_LABELS,
    *UPSCALE_LABELS,
    *ANIMATE_LABELS,
    "Zoom Out 2x",
    "Zoom Out 1.5x",
    "Custom Zoom",
    *PAN_LABELS,
    *EDITOR_LABELS,
    *HEART,
]
# An upscaled image has no Upscale row.
UPSCALED_LABELS = [
    *VARY_LABELS,
    *ANIMATE_LABELS,
    "Zoom Out 2x",
    "Make Square",
    "Custom Zoom",
    *PAN_LABELS,
    *EDITOR_LABELS,
    *HEART,
]


def button_labels(message: discord.Message) -> list[str | None]:
    return [child.label for row in message.components for child in row.children]


def button(message: discord.Message, label: str | None = None, emoji: str | None = None) -> Any:
    for row in message.components:
        for child in row.children:
            if (label is not None and child.label == label) or (
                emoji is not None and str(child.emoji) == emoji
            ):
                return child
    raise AssertionError(f"no button {label or emoji} on {message.content!r}")


def image_of(world: Any, message: discord.Message, n: int = 0) -> Image.Image:
    return Image.open(io.BytesIO(world.attachment_bytes(message, n)))


def is_result(message: discord.Message) -> bool:
    """A finished job's message (ends with the speed) carrying an image."""
    return message.content.endswith("(fast)") and bool(message.attachments)


def patches_of(world: Any) -> list[dict[str, Any]]:
    """The JSON bodies of every message edit the bot made."""
    return [
        entry.json or {}
        for entry in world.env.http_requests
        if entry.method == "PATCH" and "/messages/" in entry.path
    ]
