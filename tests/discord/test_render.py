"""Pure message helpers: Midjourney's wording, Discord's limits, upload-sized images."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from bot.discord.buttons import MAX_CUSTOM_ID, custom_id, parse_custom_id
from bot.discord.render import (
    MAX_CONTENT,
    encode_to_fit,
    ended_content,
    progress_content,
    result_content,
    single_image_content,
    upload_budget,
)

JOB = "0b4f7a4e-52a8-4d5e-9a43-0e8f0b9b1c2d"

CONTENT_CASES = [
    (progress_content("a cat", 7), "**a cat** - <@7> (Waiting to start)"),
    (progress_content("a cat", 7, position=2), "**a cat** - <@7> (Waiting to start, 2 ahead in queue)"),
    (progress_content("a cat", 7, percent=42), "**a cat** - <@7> (42%)"),
    (result_content("imagine", "a cat", 7), "**a cat** - <@7> (fast)"),
    (result_content("reroll", "a cat", 7, speed="relax"), "**a cat** - <@7> (relax)"),
    (
        result_content("variation", "a cat", 7, mode="strong"),
        "**a cat** - Variations (Strong) by <@7> (fast)",
    ),
    (
        result_content("variation", "a cat", 7, mode="subtle"),
        "**a cat** - Variations (Subtle) by <@7> (fast)",
    ),
    (
        result_content("upscale", "a cat", 7, mode="creative"),
        "**a cat** - Upscaled (Creative) by <@7> (fast)",
    ),
    (single_image_content("a cat", 2, 7), "**a cat** - Image #2 <@7>"),
    (ended_content("a cat", 7, "Cancelled"), "**a cat** - <@7> (Cancelled)"),
    (progress_content("two  spaces\nand a line", 7), "**two spaces and a line** - <@7> (Waiting to start)"),
    (progress_content("a *bold* cat", 7), "**a \\*bold\\* cat** - <@7> (Waiting to start)"),
]


@pytest.mark.parametrize(("content", "expected"), CONTENT_CASES)
def test_message_texts_read_like_midjourney(content, expected):
    """Progress and result texts follow Midjourney's `**prompt** - ...` shapes."""
    assert content == expected


def test_a_long_prompt_is_shortened_to_fit_one_message():
    """A 6000-character prompt still gives a message within Discord's 2000 characters, ending intact."""
    content = result_content("variation", "word " * 1200, 123456789012345678, mode="strong")
    assert len(content) <= MAX_CONTENT
    assert content.endswith("** - Variations (Strong) by <@123456789012345678> (fast)")
    assert "…**" in content


@pytest.mark.parametrize(
    "action", ["pick", "vary", "reroll", "strong", "subtle", "upsubtle", "upcreative", "cancel"]
)
def test_custom_ids_round_trip_within_the_limit(action):
    """Every button's custom id fits in 100 characters and parses back to (action, job, index)."""
    value = custom_id(action, JOB, 3)
    assert len(value) <= MAX_CUSTOM_ID
    assert parse_custom_id(value) == (action, JOB, 3)


@pytest.mark.parametrize("value", ["mj:u:not-a-job:1", f"mj:U:{JOB}:1", f"mj:u:{JOB}:12", f"other:u:{JOB}:1"])
def test_foreign_custom_ids_are_not_job_buttons(value):
    """Ids of other shapes are not mistaken for job buttons."""
    assert parse_custom_id(value) is None


def noise(width: int, height: int) -> Image.Image:
    rng = random.Random(1)
    return Image.frombytes(
        "RGB", (width, height), bytes(rng.randrange(256) for _ in range(width * height * 3))
    )


ENCODE_CASES = [
    # (limit, expected suffix, smaller than the original)
    (None, ".png", False),
    (40_000, ".png", False),
    (20_000, ".webp", False),
    (6_000, ".webp", True),
]


@pytest.mark.parametrize(("limit", "suffix", "shrunk"), ENCODE_CASES)
def test_images_are_encoded_to_fit_the_upload_limit(limit, suffix, shrunk):
    """PNG when it fits, else WebP, else a smaller WebP; never over the budget."""
    image = noise(128, 96)
    encoded = encode_to_fit(image, limit, "grid")
    assert encoded.filename == f"grid{suffix}"
    assert len(encoded.data) <= upload_budget(limit)
    decoded = Image.open(io.BytesIO(encoded.data))
    assert decoded.size == (encoded.width, encoded.height)
    assert (decoded.size != image.size) == shrunk
    if suffix == ".png":
        assert decoded.convert("RGB").tobytes() == image.tobytes()
