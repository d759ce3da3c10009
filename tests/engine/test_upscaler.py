"""Super-resolution: an upscaler file is optional; without a usable one, Lanczos does the job."""

from __future__ import annotations

import logging

import torch
from PIL import Image

from bot.engine.upscaler import find_upscaler, super_resolve


def test_find_upscaler_takes_the_first_model_file(tmp_path):
    """Only model files in models/upscalers count, first by name."""
    assert find_upscaler(tmp_path) is None
    folder = tmp_path / "upscalers"
    folder.mkdir()
    (folder / "notes.txt").write_text("x")
    assert find_upscaler(tmp_path) is None
    (folder / "b-4x.pth").write_bytes(b"")
    (folder / "a-2x.safetensors").write_bytes(b"")
    assert find_upscaler(tmp_path).name == "a-2x.safetensors"


def test_unusable_upscaler_falls_back_to_lanczos(tmp_path, caplog):
    """A broken (or unloadable) upscaler logs a warning and the image is still exactly 2x."""
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not a model")
    image = Image.new("RGB", (40, 24), (200, 30, 30))
    with caplog.at_level(logging.WARNING):
        result = super_resolve(image, 2, broken, torch.device("cpu"))
    assert result.size == (80, 48)
    assert result.getpixel((10, 10)) == (200, 30, 30)
    assert "broken.pth" in caplog.text


def test_no_upscaler_is_lanczos():
    """Without a model the result is the Lanczos enlargement."""
    image = Image.new("RGB", (16, 8), (10, 20, 30))
    assert (
        super_resolve(image, 2, None, torch.device("cpu")).tobytes()
        == image.resize((32, 16), Image.Resampling.LANCZOS).tobytes()
    )
