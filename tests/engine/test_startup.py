"""Start-up loads what the first job needs and nothing else: the pipeline's own models, their
weights memory-mapped from the safetensors files (no second copy), no warm-up generation on an
eager CPU; the upscaler, captioner, IP-Adapter, segmenter and video models wait for first use.

Timing is benchmarks/startup.py's business; these tests pin the causes it found."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
import torch

from bot.config import Config
from bot.engine.warmup import needs_warm_up


def safetensors_mappings() -> list[tuple[int, int, str]]:
    """This process' memory mappings of .safetensors files: (start, end, path)."""
    mappings = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[5].endswith(".safetensors"):
            start, end = (int(value, 16) for value in fields[0].split("-"))
            mappings.append((start, end, fields[5]))
    return mappings


@pytest.fixture
def recorded_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The class name of every diffusers/transformers model loaded by `from_pretrained`."""
    from diffusers.models.modeling_utils import ModelMixin
    from transformers import PreTrainedModel

    loads: list[str] = []
    for base in (ModelMixin, PreTrainedModel):
        original = base.from_pretrained.__func__

        def recording(cls, *args, _original=original, **kwargs):
            loads.append(cls.__name__)
            return _original(cls, *args, **kwargs)

        monkeypatch.setattr(base, "from_pretrained", classmethod(recording))
    return loads


def test_only_an_accelerator_or_a_compiled_unet_is_warmed_up():
    """cuDNN's per-shape kernels and a compiled graph are built at start; an eager CPU has none."""
    assert needs_warm_up(torch.device("cuda"), compiled=False)
    assert needs_warm_up(torch.device("cpu"), compiled=True)
    assert not needs_warm_up(torch.device("cpu"), compiled=False)


def test_cpu_start_loads_the_pipeline_and_nothing_else(
    tiny_settings: Config,
    recorded_loads: list[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
):
    """load_engine on the CPU loads the UNet, VAE and text encoder once each, runs no generation
    (no warm-up), and leaves the upscaler and the video model unloaded."""
    from bot.engine.engine import DiffusersEngine
    from bot.engine.loader import load_engine

    generations: list[object] = []
    original_run = DiffusersEngine._run

    def recording_run(self, pipe, request, *args, **kwargs):
        generations.append(request)
        return original_run(self, pipe, request, *args, **kwargs)

    monkeypatch.setattr(DiffusersEngine, "_run", recording_run)
    with caplog.at_level(logging.INFO, logger="bot.engine"):
        engine = load_engine(tiny_settings)
    assert sorted(recorded_loads) == ["AutoencoderKL", "CLIPTextModel", "UNet2DConditionModel"]
    assert generations == []
    assert any(r.getMessage().startswith("No warm-up on the CPU") for r in caplog.records)
    assert engine.upscaler.loads == 0
    assert engine.video is not None and not engine.video.loaded


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_weights_stay_memory_mapped_from_their_files(tiny_settings: Config):
    """Every weight of the UNet, VAE and text encoder lies in a mapping of its own safetensors
    file: no dtype conversion, `.to()` or state-dict copy made a second one (img2img and inpaint
    share these same tensors: tests/engine/test_engine.py)."""
    from bot.engine.loader import load_engine

    engine = load_engine(tiny_settings)
    mappings = safetensors_mappings()
    for name in ("unet", "vae", "text_encoder"):
        parameters = list(getattr(engine.txt2img_pipe, name).parameters())
        files = {
            path
            for parameter in parameters
            for start, end, path in mappings
            if start <= parameter.data_ptr() < end
        }
        inside = [
            any(start <= parameter.data_ptr() < end for start, end, _ in mappings) for parameter in parameters
        ]
        assert all(inside), f"{name}: {inside.count(False)} of {len(parameters)} weights were copied"
        assert {Path(path).parent.name for path in files} == {name}
