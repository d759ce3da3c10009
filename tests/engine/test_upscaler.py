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


def test_make_upscaler_reads_the_upscaler_setting(tmp_path):
    """UPSCALER: auto is Real-ESRGAN x4plus with the realweights extra (else lanczos here, with
    no model file); lanczos uses no model; a file name in models/upscalers is a spandrel model;
    anything else is a one-line ConfigError. Nothing is loaded by making one."""
    import pytest

    from bot.config import Config
    from bot.engine.realesrgan import package_models_dir
    from bot.engine.upscaler import make_upscaler
    from bot.errors import ConfigError

    def settings(value: str) -> Config:
        return Config.from_env({"UPSCALER": value, "MODELS_DIR": str(tmp_path), "DEVICE": "cpu"})

    auto = make_upscaler(settings("auto"))
    assert auto.name == ("realesrgan-x4plus" if package_models_dir() is not None else "lanczos")
    assert auto.loads == 0
    assert not make_upscaler(settings("lanczos")).uses_model
    (tmp_path / "upscalers").mkdir()
    (tmp_path / "upscalers" / "4x-Mine.pth").write_bytes(b"")
    assert make_upscaler(settings("4x-Mine.pth")).name == "4x-Mine.pth"
    with pytest.raises(ConfigError, match=r"UPSCALER='4x-Nope\.pth' is not a model file"):
        make_upscaler(settings("4x-Nope.pth"))


def test_the_upscaler_autocast_per_device():
    """bf16 on a CPU with native bf16 (fp32 without), fp16 on CUDA, fp32 elsewhere (MPS)."""
    from bot.engine.upscaler import upscaler_autocast

    assert upscaler_autocast(torch.device("cpu"), flags=frozenset({"avx512_bf16"})) is torch.bfloat16
    assert upscaler_autocast(torch.device("cpu"), flags=frozenset({"amx_bf16", "avx2"})) is torch.bfloat16
    assert upscaler_autocast(torch.device("cpu"), flags=frozenset({"avx2"})) is None
    assert upscaler_autocast(torch.device("cuda")) is torch.float16
    assert upscaler_autocast(torch.device("mps")) is None


class _OverflowsUnderAutocast(torch.nn.Module):
    """2x nearest enlargement, as a model whose activations pass fp16's range would give: inf
    whenever autocast is on."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[bool] = []

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        under_autocast = torch.is_autocast_enabled(pixels.device.type)
        self.calls.append(under_autocast)
        enlarged = torch.nn.functional.interpolate(pixels, scale_factor=2, mode="nearest")
        return enlarged * float("inf") if under_autocast else enlarged


def test_an_overflow_under_autocast_reruns_in_fp32_and_stays_there(caplog):
    """Non-finite pixels under autocast (fp16 on CUDA can overflow): the image is computed again
    in fp32, one warning says so, and later images skip autocast."""
    from bot.engine.upscaler import SuperResolutionModel, Upscaler

    module = _OverflowsUnderAutocast()
    upscaler = Upscaler("overflowing", lambda: SuperResolutionModel(module, 2), autocast=torch.bfloat16)
    image = Image.new("RGB", (12, 8), (200, 30, 30))
    with caplog.at_level(logging.WARNING):
        first = upscaler.run(image)
        second = upscaler.run(image)
    assert first.size == (24, 16) and first.getpixel((5, 5)) == (200, 30, 30)
    assert second.tobytes() == first.tobytes()
    assert module.calls == [True, False, False]
    assert upscaler.autocast is None
    assert [r.getMessage() for r in caplog.records] == [
        "Upscaler overflowing overflowed under bfloat16 autocast; running it in fp32 from now on"
    ]
