"""Remove background's soft edges (MATTE_MODEL): the trimap made from the segmentation mask, the
embedded tiny ViTMatte (real VitMatteForImageMatting, random weights) matting only the edge band."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from bot.engine.interface import GenerationInputs, Operation
from bot.engine.matting import UNKNOWN, Matter, combine, matte_model_missing, trimap_of
from bot.engine.request import GenerationRequest
from bot.engine.segment import Segmenter
from bot.engine.tiny_segment import build_tiny_sam, build_tiny_vitmatte
from bot.errors import JobFailed
from tests.jobs.conftest import make_settings


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    build_tiny_sam(folder / "tiny-sam")
    build_tiny_vitmatte(folder / "tiny-vitmatte")
    return folder


@pytest.fixture
def picture() -> Image.Image:
    image = Image.new("RGB", (96, 72), (20, 80, 200))
    ImageDraw.Draw(image).ellipse((30, 16, 70, 56), fill=(240, 200, 30))
    return image


def ellipse_mask() -> Image.Image:
    mask = Image.new("L", (96, 72), 0)
    ImageDraw.Draw(mask).ellipse((28, 14, 72, 58), fill=255)
    return mask


def test_the_trimap_is_sure_inside_and_outside_and_unknown_along_the_edge():
    """255 deep inside the mask, 0 far outside, UNKNOWN on the edge; combine keeps the sure parts."""
    trimap = np.asarray(trimap_of(ellipse_mask()))
    assert trimap[36, 50] == 255 and trimap[2, 2] == 0 and trimap[36, 28] == UNKNOWN
    assert set(np.unique(trimap)) == {0, UNKNOWN, 255}
    band = trimap == UNKNOWN
    assert 0 < band.mean() < 0.3  # a band, not the picture
    matte = Image.new("L", (96, 72), 77)
    alpha = np.asarray(combine(Image.fromarray(trimap), matte))
    assert (alpha[band] == 77).all() and np.array_equal(alpha[~band], trimap[~band])


def test_vitmatte_mattes_only_the_band_and_gets_the_trimap(models, picture, monkeypatch):
    """The model's input carries the trimap as its 4th channel; the alpha is the model's in the
    band and the mask's exactly elsewhere (soft values only there)."""
    from transformers import VitMatteForImageMatting

    seen = []
    forward = VitMatteForImageMatting.forward

    def recording(self, pixel_values=None, **kwargs):
        seen.append(pixel_values)
        return forward(self, pixel_values=pixel_values, **kwargs)

    monkeypatch.setattr(VitMatteForImageMatting, "forward", recording)
    matter = Matter(str(models / "tiny-vitmatte"), torch.device("cpu"))
    mask = ellipse_mask()
    alpha = np.asarray(matter.refine(picture, mask))
    trimap = trimap_of(mask)
    (pixels,) = seen
    handed = (pixels[0, 3, :72, :96].numpy() * 255).round()
    assert np.array_equal(handed, np.asarray(trimap).astype(np.float32))
    band = np.asarray(trimap) == UNKNOWN
    assert np.array_equal(alpha[~band], np.asarray(trimap)[~band])
    assert np.array_equal(alpha[band], np.asarray(matter.matte(picture, trimap))[band])


def test_remove_background_with_a_matte_model_uses_the_refined_mask(models, picture):
    """Segmenter + Matter: alpha = the matte of the segmentation model's own mask; RGB kept."""
    matter = Matter(str(models / "tiny-vitmatte"), torch.device("cpu"), setting="tiny")
    segmenter = Segmenter(str(models / "tiny-sam"), torch.device("cpu"), matter=matter)
    request = GenerationRequest(prompt="", width=96, height=72, seed=5, steps=1, batch_size=1)
    result = segmenter.generate(Operation.REMOVE_BACKGROUND, request, GenerationInputs(picture))
    (cut,) = result.images
    expected = matter.refine(picture, segmenter.foreground(picture))
    assert np.array_equal(np.asarray(cut)[..., 3], np.asarray(expected))
    assert np.array_equal(np.asarray(cut)[..., :3], np.asarray(picture))
    assert result.details["matte_model"] == "tiny"


def test_a_missing_or_unloadable_matte_model_is_told_clearly(tmp_path, picture):
    """A folder that does not exist: refused before queueing; one that holds no model: the job
    fails naming MATTE_MODEL (no exception text), once."""
    settings = make_settings(tmp_path / "data", MATTE_MODEL=str(tmp_path / "nowhere"))
    assert "MATTE_MODEL" in matte_model_missing(settings)
    for fine in ("", "tiny", "hustvl/vitmatte-small-composition-1k"):
        assert matte_model_missing(make_settings(tmp_path / "data", MATTE_MODEL=fine)) is None
    empty = tmp_path / "empty"
    empty.mkdir()
    matter = Matter(str(empty), torch.device("cpu"))
    for _ in range(2):
        with pytest.raises(JobFailed) as failed:
            matter.refine(picture, ellipse_mask())
        assert f"MATTE_MODEL `{empty}`" in failed.value.message and "Error" not in failed.value.message
