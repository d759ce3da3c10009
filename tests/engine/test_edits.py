"""Retexture (ControlNet on the input's structure) and instruction edits (LEDITS++) on the tiny model."""

from __future__ import annotations

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
