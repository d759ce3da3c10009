"""Editing a single image in Discord (simcord): Zoom Out, Make Square, Custom Zoom, Pan, Vary (Region)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bot.engine.canvas import cell_mask
from bot.jobs.files import parse_a1111_parameters, read_png_parameters
from bot.jobs.models import JobKind
from tests.discord.helpers import (
    GRID_LABELS,
    SINGLE_LABELS,
    SQUARE_SINGLE_LABELS,
    button,
    button_labels,
    image_of,
    is_result,
)


async def single_image(world, prompt: str):
    """alice's /imagine grid, then U1: the single image message."""
    after = max((message.id for message in world.messages()), default=0)
    await world.alice.slash(world.channel, "imagine", prompt=prompt)
    grid = await world.wait_for(is_result, after=after)
    await world.alice.click(grid, label="U1")
    return await world.wait_for(lambda m: "Image #1" in m.content, after=grid.id)


async def test_single_image_rows_follow_midjourney(world):
    """Square image: Vary ×3 / Upscale ×2 / Zoom Out 2x, 1.5x, Custom Zoom / ⬅️➡️⬆️⬇️ (≤5 rows of ≤5);
    then the ❤️ row; a wide one has Make Square in Zoom Out 1.5x's place."""
    square = await single_image(world, "a red fox")
    assert button_labels(square) == SQUARE_SINGLE_LABELS
    assert len(square.components) == 5 and all(len(row.children) <= 5 for row in square.components)
    assert [str(child.emoji) for child in square.components[3].children] == ["⬅️", "➡️", "⬆️", "⬇️"]
    wide = await single_image(world, "a wide fox --ar 16:9")
    assert button_labels(wide) == SINGLE_LABELS


EDITS = [
    # (prompt, button label or emoji, result wording, kind, mode)
    ("a red fox", "Zoom Out 2x", "Zoom Out by", JobKind.ZOOM, "2"),
    ("a red fox", "Zoom Out 1.5x", "Zoom Out by", JobKind.ZOOM, "1.5"),
    ("a red fox --ar 3:2", "Make Square", "Make Square by", JobKind.ZOOM, "square"),
    ("a red fox", "⬅️", "Pan Left by", JobKind.PAN, "left"),
    ("a red fox", "⬇️", "Pan Down by", JobKind.PAN, "down"),
]


@pytest.mark.parametrize(("prompt", "label", "words", "kind", "mode"), EDITS)
async def test_edit_buttons_work_after_a_restart(world, prompt, label, words, kind, mode):
    """Each Zoom / Make Square / Pan button, clicked after a restart, makes bob's job and a 2x2
    grid `**prompt** - Zoom Out by @bob (fast)` with U/V/🔄."""
    single = await single_image(world, prompt)
    await world.restart()
    if label.isascii():
        await world.bob.click(single, label=label)
    else:
        await world.bob.click(single, custom_id=button(single, emoji=label).custom_id)
    result = await world.wait_for(is_result, after=single.id)
    assert result.content == f"**{prompt}** - {words} <@{world.bob.id}> (fast)"
    assert button_labels(result) == GRID_LABELS
    job = await world.job_of(result)
    assert (job.kind, job.mode, job.user_id) == (kind, mode, world.bob.id)
    images = await world.service.repository.get_images(job.id)
    assert len(images) == 4
    if mode == "square":
        assert images[0].width == images[0].height
    if kind is JobKind.PAN:
        assert (images[0].width > images[0].height) == (mode == "left")


async def test_custom_zoom_modal_changes_the_shape(world):
    """Custom Zoom: a modal with the prompt, the image's --ar and --zoom 2; sent with --ar 16:9
    --zoom 1.5 it makes a 16:9 zoom job; --zoom 3 is an Invalid parameter and no job."""
    single = await single_image(world, "a red fox --ar 3:2")
    shown = await world.alice.click(single, label="Custom Zoom")
    field = shown.modal["components"][0]["components"][0]
    assert field["value"] == "a red fox --ar 3:2 --zoom 2"
    jobs_before = await world.service.repository.count_jobs()
    refused = await world.alice.submit_modal(shown, {field["custom_id"]: "a red fox --zoom 3"})
    assert refused.ephemeral and "Invalid parameter" in refused.response.embeds[0].title
    assert await world.service.repository.count_jobs() == jobs_before
    # bob (alice's same click again within a second is ignored by the click guard)
    shown = await world.bob.click(single, label="Custom Zoom")
    field = shown.modal["components"][0]["components"][0]
    await world.bob.submit_modal(shown, {field["custom_id"]: "a red fox --ar 16:9 --zoom 1.5"})
    result = await world.wait_for(is_result, after=single.id)
    assert result.content == f"**a red fox --ar 16:9 --zoom 1.5** - Zoom Out by <@{world.bob.id}> (fast)"
    job = await world.job_of(result)
    assert (job.kind, job.mode) == (JobKind.ZOOM, "1.5 16:9")
    image = (await world.service.repository.get_images(job.id))[0]
    assert abs(image.width / image.height / (16 / 9) - 1) < 0.03


async def test_pan_with_remix_edits_the_prompt_first(world):
    """With Remix on, ➡️ opens the prompt modal; the edited prompt is the pan job's."""
    single = await single_image(world, "a red fox")
    await world.service.repository.update_user_settings(world.alice.id, remix=True)
    shown = await world.alice.click(single, custom_id=button(single, emoji="➡️").custom_id)
    field = shown.modal["components"][0]["components"][0]
    await world.alice.submit_modal(shown, {field["custom_id"]: "a red fox by the sea"})
    result = await world.wait_for(is_result, after=single.id)
    assert result.content == f"**a red fox by the sea** - Pan Right by <@{world.alice.id}> (fast)"
    job = await world.job_of(result)
    assert job.kind is JobKind.PAN and job.generation_request.prompt == "a red fox by the sea"


async def test_vary_region_picks_cells_previews_then_repaints_only_them(world):
    """Vary (Region) with Remix on: an ephemeral grid picker; choosing cells shows the mask preview
    and spends no GPU time; Submit with no cell is an error; Submit → prompt → a region grid whose
    pixels outside the cells are exactly the original's."""
    single = await single_image(world, "a red fox")
    parent = await world.job_of(single)
    await world.service.repository.update_user_settings(world.alice.id, remix=True)
    shown = await world.alice.click(single, label="Vary (Region)")
    assert shown.ephemeral and shown.response.attachments
    picker = shown.response
    jobs_before = await world.service.repository.count_jobs()

    refused = await world.alice.click(picker, label="Submit")
    assert "Select at least one cell" in refused.response.embeds[0].description

    before = world.attachment_bytes(picker.message)
    chosen = await world.alice.select(picker, ["B2", "B3"])
    updated = chosen.response
    assert "B2, B3 will be repainted" in updated.content
    assert world.attachment_bytes(updated.message) != before
    assert await world.service.repository.count_jobs() == jobs_before

    prompt = await world.alice.click(updated, label="Submit")
    field = prompt.modal["components"][0]["components"][0]
    assert field["value"] == "a red fox"
    await world.alice.submit_modal(prompt, {field["custom_id"]: "a red fox with a hat"})
    result = await world.wait_for(is_result, after=single.id)
    assert result.content == f"**a red fox with a hat** - Variations (Region) by <@{world.alice.id}> (fast)"
    job = await world.job_of(result)
    assert job.kind is JobKind.REGION and job.parent_id == parent.id
    original = np.asarray(image_of(world, single).convert("RGB"))
    mask = np.asarray(cell_mask((original.shape[1], original.shape[0]), [5, 6])) == 255
    for stored in await world.service.repository.get_images(job.id):
        repainted = np.asarray(Image.open(stored.path).convert("RGB"))
        assert np.array_equal(repainted[~mask], original[~mask])
        assert not np.array_equal(repainted[mask], original[mask])


async def test_vary_region_without_remix_asks_no_prompt(world):
    """Remix off (the default), as Midjourney: Submit on the picker makes the region job at once
    with the image's own prompt (no modal; the picker says it is repainting), and only the chosen
    cells change."""
    single = await single_image(world, "a red fox")
    parent = await world.job_of(single)
    assert not (await world.service.repository.get_user_settings(world.alice.id)).remix
    picker = (await world.alice.click(single, label="Vary (Region)")).response
    chosen = (await world.alice.select(picker, ["A1", "D4"])).response
    submitted = await world.alice.click(chosen, label="Submit")
    assert submitted.modal is None
    assert "repainting A1, D4" in submitted.response.content
    result = await world.wait_for(is_result, after=single.id)
    assert result.content == f"**a red fox** - Variations (Region) by <@{world.alice.id}> (fast)"
    job = await world.job_of(result)
    assert (job.kind, job.parent_id, job.prompt) == (JobKind.REGION, parent.id, "a red fox")
    original = np.asarray(image_of(world, single).convert("RGB"))
    mask = np.asarray(cell_mask((original.shape[1], original.shape[0]), [0, 15])) == 255
    for stored in await world.service.repository.get_images(job.id):
        repainted = np.asarray(Image.open(stored.path).convert("RGB"))
        assert np.array_equal(repainted[~mask], original[~mask])
        assert not np.array_equal(repainted[mask], original[mask])


async def test_a_reroll_of_an_edit_grid_is_worded_and_recorded_as_that_edit(world):
    """🔄 on a Pan Left grid (and 🔄 on that re-roll) re-runs the pan: the message says
    `**prompt** - Pan Left by @bob` as Midjourney's does, and the PNGs carry `Pan: left`."""
    single = await single_image(world, "a red fox")
    await world.alice.click(single, custom_id=button(single, emoji="⬅️").custom_id)
    source = await world.wait_for(is_result, after=single.id)
    panned = await world.job_of(source)
    for _ in range(2):
        await world.bob.click(source, custom_id=button(source, emoji="🔄").custom_id)
        result = await world.wait_for(is_result, after=source.id)
        assert result.content == f"**a red fox** - Pan Left by <@{world.bob.id}> (fast)"
        assert button_labels(result) == GRID_LABELS
        job = await world.job_of(result)
        assert (job.kind, job.user_id) == (JobKind.REROLL, world.bob.id)
        (stored, *_) = await world.service.repository.get_images(job.id)
        assert parse_a1111_parameters(read_png_parameters(stored.path))["Pan"] == "left"
        assert (stored.width, stored.height) == (panned.request["width"], panned.request["height"])
        source = result
