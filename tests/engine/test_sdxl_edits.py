"""The editor's SDXL paths on a tiny SDXL model built in code: Retexture through an SDXL ControlNet
(`StableDiffusionXLControlNetPipeline`) and instruction edits by LEDITS++ for SDXL."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bot.config import Config
from bot.engine.edits import EditModels, ImageEdits
from bot.engine.family import SDXL
from bot.engine.interface import GenerationInputs, Operation
from bot.engine.request import GenerationRequest
from tests.engine.test_sdxl import build_tiny_sdxl


@pytest.fixture(scope="module")
def sdxl_edits(tmp_path_factory):
    """The tiny SDXL loaded as MODEL=<folder>, with its own tiny ControlNet (built from its UNet)."""
    from bot.engine.loader import load_engine

    models = tmp_path_factory.mktemp("sdxl-models")
    engine = load_engine(
        Config.from_env({"MODEL": str(build_tiny_sdxl(models / "tiny-sdxl")), "DEVICE": "cpu"})
    )
    assert engine.family == SDXL
    return ImageEdits(engine, EditModels("tiny", "edges", models))


def _picture() -> Image.Image:
    picture = Image.new("RGB", (64, 64), (30, 60, 200))
    ImageDraw.Draw(picture).ellipse((12, 12, 44, 52), fill=(240, 200, 20))
    return picture


def _request(**changes) -> GenerationRequest:
    values = dict(prompt="a bronze statue", width=64, height=64, seed=4, steps=2, batch_size=2)
    return GenerationRequest(**{**values, **changes})


def _pixels(image: Image.Image) -> list:
    return np.asarray(image.convert("RGB")).tolist()


def test_sdxl_retexture_runs_the_xl_controlnet_pipeline_deterministically(sdxl_edits):
    """Retexture on SDXL: the XL ControlNet pipeline (shared UNet), 2 images, same seed same images."""
    from diffusers import StableDiffusionXLControlNetPipeline

    inputs = GenerationInputs(image=_picture())
    first = sdxl_edits.generate(Operation.RETEXTURE, _request(), inputs, None)
    again = sdxl_edits.generate(Operation.RETEXTURE, _request(), inputs, None)
    assert isinstance(sdxl_edits.controlnet_pipe, StableDiffusionXLControlNetPipeline)
    assert sdxl_edits.controlnet_pipe.unet is sdxl_edits.engine.txt2img_pipe.unet
    assert first.details["structure"] == "edges" and first.seeds == [4, 5]
    assert [image.size for image in first.images] == [(64, 64)] * 2
    assert [_pixels(i) for i in first.images] == [_pixels(i) for i in again.images]


def test_sdxl_instruction_edits_are_deterministic_and_change_the_input(sdxl_edits):
    """LEDITS++ for SDXL on the loaded weights: per-seed deterministic, not the input."""
    source = _picture()
    request = _request(prompt="red jacket", negative_prompt="blue")
    first = sdxl_edits.generate(Operation.INSTRUCT, request, GenerationInputs(image=source), None)
    again = sdxl_edits.generate(Operation.INSTRUCT, request, GenerationInputs(image=source), None)
    assert first.details == {"method": "ledits++"} and len(first.images) == 2
    assert [_pixels(i) for i in first.images] == [_pixels(i) for i in again.images]
    assert _pixels(first.images[0]) != _pixels(first.images[1])
    difference = np.abs(np.asarray(first.images[0], dtype=np.int16) - np.asarray(source, dtype=np.int16))
    assert difference.mean() > 1
