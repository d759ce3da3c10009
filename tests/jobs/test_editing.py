"""Zoom Out, Make Square, Pan and Vary (Region) as durable jobs on the real tiny engine."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.engine.canvas import cell_mask, feather_radius, output_size, prefill
from bot.engine.family import TINY
from bot.errors import InvalidParameter
from bot.jobs.backend import ThreadBackend
from bot.jobs.events import Finished
from bot.jobs.files import parse_a1111_parameters, read_png_parameters
from bot.jobs.models import JobKind, NewJob
from bot.jobs.service import MASK_FILE, JobService
from bot.store.repository import Repository
from tests.jobs.conftest import imagine, make_request, make_settings, outcome

pytestmark = pytest.mark.slow


@pytest.fixture
async def tiny_service(tmp_path: Path, tiny_engine):
    """A running JobService over the real tiny engine."""
    settings = make_settings(tmp_path / "data")
    repository = await Repository.open(settings.database_path, settings.images_dir)
    service = JobService(settings, repository, ThreadBackend(lambda: tiny_engine))
    await service.start()
    yield service
    await service.stop(5)
    await repository.close()


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float64)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def finished(service: JobService, new: NewJob) -> Finished:
    job = await service.submit(new)
    event = await outcome(service, job.id)
    assert isinstance(event, Finished), event
    return event


async def parent_grid(service: JobService, width: int = 64, height: int = 64) -> Finished:
    request = make_request("a lighthouse at dusk", steps=2)
    request = type(request)(**{**request.to_dict(), "width": width, "height": height, "weighted_prompts": ()})
    return await finished(service, imagine(1, "a lighthouse at dusk", request=request))


def edit(kind: JobKind, parent: Finished, index: int = 0, **fields) -> NewJob:
    return NewJob(
        kind=kind, user_id=2, prompt=parent.job.prompt, parent_id=parent.job.id, parent_index=index, **fields
    )


def placement(event: Finished) -> tuple[int, int, int, int]:
    return tuple(event.job.request["extra"]["placement"])


async def test_zoom_out_2x_keeps_the_original_in_the_centre(tiny_service: JobService) -> None:
    """Zoom Out 2x of a 1:1 image: four 1:1 images whose centre is the original scaled down
    (small MSE; exact inside the seam band) and whose border is newly painted (not the pre-fill); `Zoom: 2` in the PNG."""
    parent = await parent_grid(tiny_service)
    original = Image.open(parent.images[0].path).convert("RGB")
    zoomed = await finished(tiny_service, edit(JobKind.ZOOM, parent, mode="2"))
    assert len(zoomed.images) == 4 and zoomed.job.kind is JobKind.ZOOM
    left, top, right, bottom = placement(zoomed)
    for stored in zoomed.images:
        image = Image.open(stored.path).convert("RGB")
        assert image.width == image.height == TINY.native_size
        centre = pixels(image.crop((left, top, right, bottom)))
        scaled = pixels(original.resize((right - left, bottom - top), Image.Resampling.LANCZOS))
        assert ((centre - scaled) ** 2).mean() < 100  # only the thin seam band is repainted
        seam = feather_radius(image.size)
        assert np.array_equal(centre[seam:-seam, seam:-seam], scaled[seam:-seam, seam:-seam])
        border = pixels(image)[: top - 2]
        start = pixels(prefill(original, _layout(image, (left, top, right, bottom)), 0))[: top - 2]
        assert ((border - start) ** 2).mean() > 100
    fields = parse_a1111_parameters(read_png_parameters(zoomed.images[0].path))
    assert fields["Zoom"] == "2" and fields["Size"] == f"{TINY.native_size}x{TINY.native_size}"


def _layout(image: Image.Image, box: tuple[int, int, int, int]):
    from bot.engine.canvas import Layout

    return Layout(image.width, image.height, box)


async def test_zoom_of_a_wide_image_stays_wide_and_make_square_makes_it_square(
    tiny_service: JobService,
) -> None:
    """16:9 zoomed 1.5x stays 16:9; Make Square of 16:9 gives 1:1; Make Square of 1:1 is refused."""
    width, height = output_size(16 / 9, TINY)
    parent = await parent_grid(tiny_service, width, height)
    zoomed = await finished(tiny_service, edit(JobKind.ZOOM, parent, mode="1.5"))
    image = zoomed.images[0]
    assert abs(image.width / image.height / (16 / 9) - 1) < 0.03
    squared = await finished(tiny_service, edit(JobKind.ZOOM, parent, mode="square"))
    assert squared.images[0].width == squared.images[0].height
    square_parent = await parent_grid(tiny_service)
    with pytest.raises(InvalidParameter, match="already square"):
        await tiny_service.submit(edit(JobKind.ZOOM, square_parent, mode="square"))


async def test_pan_left_twice_widens_and_keeps_the_original_on_the_right(tiny_service: JobService) -> None:
    """⬅️ twice on 1:1: each result wider than the last; the right part is the previous image
    exactly (away from the repainted seam); `Pan: left` in the PNG."""
    parent = await parent_grid(tiny_service)
    widths = [parent.images[0].width]
    for _ in range(2):
        before = Image.open(parent.images[0].path).convert("RGB")
        panned = await finished(tiny_service, edit(JobKind.PAN, parent, mode="left"))
        left, top, right, bottom = placement(panned)
        image = Image.open(panned.images[0].path).convert("RGB")
        assert right == image.width and image.width > widths[-1]
        widths.append(image.width)
        seam = feather_radius(image.size)
        scaled = pixels(before.resize((right - left, bottom - top), Image.Resampling.LANCZOS))
        kept = pixels(image)[top:bottom, left + seam : right]
        assert np.array_equal(kept, scaled[:, seam:])
        assert parse_a1111_parameters(read_png_parameters(panned.images[0].path))["Pan"] == "left"
        parent = panned
    assert widths[1] > widths[0] and widths[2] > widths[1]


async def test_vary_region_changes_only_the_chosen_cells(tiny_service: JobService) -> None:
    """Pixels outside the selected cells are identical to the original; inside they differ.
    The mask may come at any size; it is kept as mask.png; `Mask:` in the PNG."""
    parent = await parent_grid(tiny_service)
    original = pixels(Image.open(parent.images[0].path))
    mask = cell_mask((256, 256), [5, 6])  # given at 4x the image's size
    region = await finished(tiny_service, edit(JobKind.REGION, parent, mask=png(mask)))
    assert (tiny_service.job_folder(region.job.id) / MASK_FILE).is_file()
    inside = np.asarray(mask.resize((64, 64), Image.Resampling.NEAREST)) == 255
    for stored in region.images:
        image = pixels(Image.open(stored.path))
        assert np.array_equal(image[~inside], original[~inside])
        assert np.abs(image[inside] - original[inside]).mean() > 1.0
    assert parse_a1111_parameters(read_png_parameters(region.images[0].path))["Mask"] == "12% box 16:16-48:32"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "no area was selected"),
        ({"mask": png(Image.new("L", (64, 64), 0))}, "no area was selected"),
        ({"mask": b"not a png"}, "not a readable PNG"),
    ],
)
async def test_vary_region_without_an_area_makes_no_job(tiny_service: JobService, fields, message) -> None:
    """No mask, an all-black mask or garbage: a clear error and no job stored."""
    parent = await parent_grid(tiny_service)
    before = await tiny_service.repository.count_jobs()
    with pytest.raises(InvalidParameter, match=message):
        await tiny_service.submit(edit(JobKind.REGION, parent, **fields))
    assert await tiny_service.repository.count_jobs() == before


async def test_a_reroll_of_an_edit_says_which_edit_it_re_ran(tiny_service: JobService) -> None:
    """🔄 of a Zoom Out 2x / Pan ⬅️ / Vary (Region) grid (and a 🔄 of that 🔄) re-runs the edit on
    the same canvas, and its PNGs carry the edit's `Zoom:` / `Pan:` / `Mask:` like the edit's own;
    a 🔄 of a plain /imagine grid gets none of them."""
    parent = await parent_grid(tiny_service)
    mask = png(cell_mask((64, 64), [5, 6]))
    edits = [
        (edit(JobKind.ZOOM, parent, mode="2"), "Zoom", "2"),
        (edit(JobKind.PAN, parent, mode="left"), "Pan", "left"),
        (edit(JobKind.REGION, parent, mask=mask), "Mask", "12% box 16:16-48:32"),
    ]
    for new, key, value in edits:
        edited = await finished(tiny_service, new)
        rerolled = await finished(tiny_service, edit(JobKind.REROLL, edited, index=None))
        again = await finished(tiny_service, edit(JobKind.REROLL, rerolled, index=None))
        for event in (rerolled, again):
            assert event.job.kind is JobKind.REROLL
            assert (event.images[0].width, event.images[0].height) == (
                edited.images[0].width,
                edited.images[0].height,
            )
            fields = parse_a1111_parameters(read_png_parameters(event.images[0].path))
            assert fields[key] == value, (key, fields)
            assert (
                fields["Seed"] != parse_a1111_parameters(read_png_parameters(edited.images[0].path))["Seed"]
            )
    plain = await finished(tiny_service, edit(JobKind.REROLL, parent, index=None))
    fields = parse_a1111_parameters(read_png_parameters(plain.images[0].path))
    assert not {"Zoom", "Pan", "Mask"} & set(fields)
