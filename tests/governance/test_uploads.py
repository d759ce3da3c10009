"""Uploads become jobs: the attachment rules, the prompt's rules, and every single-image edit on them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from bot.errors import BannedPrompt, InvalidLink
from bot.governance.admission import Place
from bot.governance.uploads import fit_upload
from bot.jobs.actions import resolve
from bot.jobs.downloads import MAX_IMAGE_BYTES
from bot.jobs.files import parse_a1111_parameters, read_png_parameters
from bot.jobs.models import JobKind, JobStatus
from bot.jobs.service import JobService
from bot.services import Services
from tests.jobs.conftest import outcome

ALICE, GUILD = 1, 10


@pytest.fixture
def fronts(service: JobService) -> Services:
    return Services.of(service, service.settings)


def png(size: tuple[int, int], colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    picture = Image.new("RGB", size, colour)
    picture.paste((10, 200, 10), (0, 0, size[0] // 2, size[1] // 2))
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


async def test_an_upload_is_a_finished_job_owned_by_the_uploader_with_no_gpu_time(
    fronts, service, fake_engine
):
    """One image at a size the pipelines take (both sides /8), recipe `Upload: name`, 0 GPU s."""
    job = await fronts.uploads.upload("cat.png", png((100, 60)), Place(ALICE, GUILD), prompt="a  cat")
    stored = await service.get_job(job.id)
    assert stored is not None and stored.kind is JobKind.UPLOAD and stored.status is JobStatus.DONE
    assert stored.user_id == ALICE and stored.gpu_seconds == 0.0 and stored.prompt == "a cat"
    image = await service.repository.get_image(job.id, 0)
    assert (image.width, image.height) == (96, 56)
    fields = parse_a1111_parameters(read_png_parameters(image.path))
    assert fields["Upload"] == "cat.png" and fields["prompt"] == "a cat"
    assert fake_engine.calls == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG" + b"0" * (MAX_IMAGE_BYTES - 3), "larger than 20 MB"),
        (b"GIF89a this is no picture at all", "can't be used as an image"),
        (b"%PDF-1.7 a document", "can't be used as an image"),
    ],
)
async def test_uploads_too_big_or_not_images_are_refused_like_attachments(fronts, service, data, message):
    """Over 20 MB, or bytes that are no PNG/JPEG/WebP/GIF: `Invalid link`, no job stored."""
    with pytest.raises(InvalidLink, match=message) as caught:
        await fronts.uploads.upload("file.bin", data, Place(ALICE))
    assert str(caught.value).startswith("Invalid link:")
    assert (
        await service.repository.jobs_of_user(ALICE) == []
        if hasattr(service.repository, "jobs_of_user")
        else True
    )


async def test_the_pixel_limit_is_read_from_the_header_before_decoding(fronts, monkeypatch):
    """A 4100x4100 PNG is refused before a single pixel is decoded."""
    from PIL import ImageFile

    big = io.BytesIO()
    Image.new("L", (4100, 4100)).save(big, format="PNG")
    decoded = []
    original = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self) or original(self))
    with pytest.raises(InvalidLink, match="4096x4096"):
        await fronts.uploads.upload("huge.png", big.getvalue(), Place(ALICE))
    assert decoded == []


async def test_an_uploads_prompt_goes_through_the_banned_words(fronts):
    """The same banned words as /imagine."""
    with pytest.raises(BannedPrompt):
        await fronts.uploads.upload("x.png", png((64, 64)), Place(ALICE), prompt="a nsfw cat")


async def test_single_image_actions_work_on_an_upload(fronts, service, fake_engine):
    """Vary (Subtle) and Upscale start from the uploaded picture itself."""
    job = await fronts.uploads.upload("x.png", png((64, 48)), Place(ALICE), prompt="a flag")
    uploaded = Image.open((await service.repository.get_image(job.id, 0)).path).convert("RGB")
    for name in ("vary_subtle", "upscale_subtle", "zoom_out_2", "pan_left"):
        (made,) = await fronts.admission.act(job, resolve(name), 1, Place(ALICE))
        assert type(await outcome(service, made.id)).__name__ == "Finished", name
        assert np.array_equal(np.asarray(fake_engine.calls[-1].image), np.asarray(uploaded)), name


def test_fit_upload_scales_down_to_the_native_area_and_cuts_to_multiples_of_8():
    """Never up; big pictures down to about the family's area; sides divisible by 8."""
    from bot.engine.family import TINY

    small = fit_upload(Image.new("RGB", (50, 33)), TINY)
    assert small.size == (48, 32)
    big = fit_upload(Image.new("RGB", (4000, 3000)), TINY)
    assert big.width % 8 == 0 and big.height % 8 == 0
    assert big.width * big.height <= TINY.native_area and big.width / big.height == pytest.approx(
        4 / 3, rel=0.05
    )


async def test_remove_background_on_an_upload_cuts_out_the_picture_as_uploaded(fronts, service, fake_engine):
    """A 400x300 upload is stored at the tiny model's area, its original kept beside it: Remove
    background runs on the original (tests/cli/test_editor_cli.py: the cut-out keeps the uploaded
    size on the real segmenter), Smart Select on the stored picture
    (its mask matches the editor's). A picture stored unchanged keeps no second copy."""
    data = png((400, 300))
    job = await fronts.uploads.upload("big.png", data, Place(ALICE), prompt="a flag")
    stored = await service.repository.get_image(job.id, 0)
    assert stored.width * stored.height <= 128 * 128 and job.meta["original_size"] == [400, 300]
    original = service.job_folder(job.id) / "original.png"
    assert np.array_equal(
        np.asarray(Image.open(original)), np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    )

    (cut,) = await fronts.admission.act(job, resolve("remove_background"), 1, Place(ALICE))
    assert type(await outcome(service, cut.id)).__name__ == "Finished"
    call = fake_engine.calls[-1]
    assert call.operation == "remove_background" and call.image.size == (400, 300)
    assert np.array_equal(np.asarray(call.image), np.asarray(Image.open(original)))

    (select,) = await fronts.admission.act(job, resolve("smart_select"), 1, Place(ALICE), mode="point 5,5")
    assert type(await outcome(service, select.id)).__name__ == "Finished"
    assert fake_engine.calls[-1].image.size == (stored.width, stored.height)

    small = await fronts.uploads.upload("small.png", png((64, 48)), Place(ALICE))
    assert "original_size" not in small.meta and not (service.job_folder(small.id) / "original.png").exists()
