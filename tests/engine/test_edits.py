"""Retexture (ControlNet on the input's structure) and instruction edits (LEDITS++) on the tiny model."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bot.engine.edits import EditModels, ImageEdits
from bot.engine.interface import GenerationInputs, Operation
from bot.engine.request import GenerationRequest
from bot.engine.retexture import edge_map
from bot.errors import JobFailed


def _request(**changes: Any) -> GenerationRequest:
    values = dict(prompt="a bronze statue", width=64, height=64, seed=11, steps=2, batch_size=2)
    return GenerationRequest(**{**values, **changes})


def _picture(shift: int = 0) -> Image.Image:
    picture = Image.new("RGB", (64, 64), (30, 60, 200))
    ImageDraw.Draw(picture).ellipse((8 + shift, 12, 40 + shift, 52), fill=(240, 200, 20))
    return picture


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.int16)


class _Recorder:
    """The ControlNet pipeline, with what it was called with recorded."""

    def __init__(self, pipe: Any) -> None:
        self._pipe = pipe
        self.calls: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipe, name)

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return self._pipe(**kwargs)


@pytest.fixture(scope="module")
def edits(tiny_engine, tiny_model_dir: Path) -> ImageEdits:
    """The editor operations with the tiny ControlNet and depth estimator (its own object: the
    shared engine is not changed)."""
    return ImageEdits(tiny_engine, EditModels("tiny", "tiny", tiny_model_dir.parent))


def test_retexture_hands_the_pipeline_a_control_image_computed_from_the_input(edits):
    """The ControlNet gets the depth map of the input (not the input), and a different input gives a
    different control image; the same seed gives the same images."""
    recorder = _Recorder(edits.controlnet_pipe)
    edits._controlnet_pipe = recorder
    try:
        inputs = GenerationInputs(image=_picture())
        first = edits.generate(Operation.RETEXTURE, _request(), inputs, None)
        again = edits.generate(Operation.RETEXTURE, _request(), inputs, None)
        edits.generate(Operation.RETEXTURE, _request(), GenerationInputs(image=_picture(20)), None)
    finally:
        edits._controlnet_pipe = recorder._pipe
    handed = recorder.calls[0]["image"]
    assert _pixels(handed).tolist() == _pixels(edits.structure.control_image(_picture())).tolist()
    assert _pixels(handed).tolist() != _pixels(_picture()).tolist()
    assert _pixels(recorder.calls[2]["image"]).tolist() != _pixels(handed).tolist()
    assert first.details["structure"] == "depth"
    assert len(first.images) == 2 and first.seeds == [11, 12]
    assert [_pixels(i).tolist() for i in first.images] == [_pixels(i).tolist() for i in again.images]


def test_edges_follow_the_input():
    """DEPTH_MODEL=edges: white where the input has an edge, black in flat areas."""
    edges = np.asarray(edge_map(_picture()).convert("L"))
    assert edges[32, 8] == 255 or edges[32, 9] == 255 or edges[32, 7] == 255  # the ellipse's left rim
    assert edges[2, 60] == 0 and edges[32, 24] == 0  # flat background, inside the ellipse


def test_instruction_edits_are_deterministic_per_seed_and_change_the_input(edits):
    """The same seed gives the same edit, another seed another one, and the edit is not the input."""
    source = _picture()
    request = _request(prompt="red jacket", negative_prompt="blue")
    first = edits.generate(Operation.INSTRUCT, request, GenerationInputs(image=source), None)
    again = edits.generate(Operation.INSTRUCT, request, GenerationInputs(image=source), None)
    assert first.seeds == [11, 12] and len(first.images) == 2
    assert [_pixels(i).tolist() for i in first.images] == [_pixels(i).tolist() for i in again.images]
    assert _pixels(first.images[0]).tolist() != _pixels(first.images[1]).tolist()
    assert np.abs(_pixels(first.images[0]) - _pixels(source)).mean() > 1


def test_retexture_without_a_controlnet_fails_clearly(tiny_engine, tiny_model_dir):
    """CONTROLNET_MODEL empty: a Midjourney-style error naming the setting, not a crash."""
    bare = ImageEdits(tiny_engine, EditModels("", "edges", tiny_model_dir.parent))
    with pytest.raises(JobFailed, match="CONTROLNET_MODEL"):
        bare.generate(Operation.RETEXTURE, _request(), GenerationInputs(image=_picture()), None)


# ---- INSTRUCT_MODEL: an InstructPix2Pix pipeline instead of LEDITS++ ---------------------------


@pytest.fixture(scope="module")
def pix2pix(tiny_engine, tiny_model_dir: Path) -> ImageEdits:
    """Instruction edits by the embedded tiny InstructPix2Pix model (INSTRUCT_MODEL=tiny)."""
    return ImageEdits(tiny_engine, EditModels("", "", tiny_model_dir.parent, instruct="tiny"))


def test_instruct_model_edits_are_deterministic_per_seed_and_get_the_source_image(pix2pix):
    """INSTRUCT_MODEL set: the StableDiffusionInstructPix2PixPipeline (8-channel UNet) gets the
    source picture; the same seed gives the same edit, another seed another; not the input."""
    from diffusers import StableDiffusionInstructPix2PixPipeline

    source = _picture()
    request = _request(prompt="make it red", negative_prompt="blue")
    first = pix2pix.generate(Operation.INSTRUCT, request, GenerationInputs(image=source), None)
    recorder = _Recorder(pix2pix._pix2pix_pipe)
    pix2pix._pix2pix_pipe = recorder
    try:
        again = pix2pix.generate(Operation.INSTRUCT, request, GenerationInputs(image=source), None)
    finally:
        pix2pix._pix2pix_pipe = recorder._pipe
    assert isinstance(recorder._pipe, StableDiffusionInstructPix2PixPipeline)
    assert recorder._pipe.unet.config.in_channels == 8
    (call,) = recorder.calls
    assert call["prompt"] == "make it red" and call["negative_prompt"] == "blue"
    assert _pixels(call["image"]).tolist() == _pixels(source).tolist()
    assert first.details == {"method": "instructpix2pix"} and first.seeds == [11, 12]
    assert [_pixels(i).tolist() for i in first.images] == [_pixels(i).tolist() for i in again.images]
    assert _pixels(first.images[0]).tolist() != _pixels(first.images[1]).tolist()
    assert np.abs(_pixels(first.images[0]) - _pixels(source)).mean() > 1
    second = dataclasses.replace(request, seed=12, batch_size=1)
    alone = pix2pix.generate(Operation.INSTRUCT, second, GenerationInputs(image=source), None)
    assert _pixels(alone.images[0]).tolist() == _pixels(first.images[1]).tolist()  # per seed, not per batch


def test_an_unloadable_instruct_model_fails_clearly_once(tiny_engine, tmp_path, monkeypatch):
    """A folder that is no model: the job fails with one line naming INSTRUCT_MODEL (no exception
    text), and the next edit fails at once without loading again."""
    from diffusers import StableDiffusionInstructPix2PixPipeline

    loads = []
    real = StableDiffusionInstructPix2PixPipeline.from_pretrained

    def counted(*args, **kwargs):
        loads.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(StableDiffusionInstructPix2PixPipeline, "from_pretrained", counted)
    edits = ImageEdits(tiny_engine, EditModels("", "", tmp_path, instruct=str(tmp_path)))
    for _ in range(2):
        with pytest.raises(JobFailed) as failed:
            edits.generate(Operation.INSTRUCT, _request(), GenerationInputs(image=_picture()), None)
        assert f"INSTRUCT_MODEL `{tmp_path}`" in failed.value.message
        assert "Error" not in failed.value.message and "model_index" not in failed.value.message
    assert loads == [str(tmp_path)]


def test_instruct_model_problems_are_told_before_loading(tiny_model_dir, tmp_path):
    """Empty (LEDITS++), `tiny`, a repo id not cached: fine; a missing folder, or a model whose UNet
    is not InstructPix2Pix's (the tiny SD: 4 channels): one sentence naming the setting."""
    from bot.engine.instruct_pix2pix import instruct_model_problem

    for fine in ("", "tiny", "some-org/not-cached-here"):
        assert instruct_model_problem(fine, tmp_path) is None
    missing = instruct_model_problem(str(tmp_path / "nowhere"), tmp_path)
    assert "does not exist" in missing and "INSTRUCT_MODEL" in missing
    wrong = instruct_model_problem(str(tiny_model_dir), tmp_path)
    assert "not an InstructPix2Pix model" in wrong and "4 input channels" in wrong
