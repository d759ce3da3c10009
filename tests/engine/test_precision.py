"""The precision policy: what each device runs in, bf16 autocast on the CPU, the warm-up at start."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from bot.config import Config
from bot.engine.device import cpu_flags, cpu_has_native_bf16, pick_precision
from bot.engine.request import GenerationRequest
from bot.errors import ConfigError

CPU = torch.device("cpu")
NATIVE = frozenset({"sse2", "avx512f", "avx512_bf16"})
OLD = frozenset({"sse2", "avx2"})

CPU_CASES = [
    # (flags, PRECISION, name, weights, autocast)
    (NATIVE, "auto", "bf16", torch.float32, torch.bfloat16),
    (frozenset({"amx_bf16"}), "auto", "bf16", torch.float32, torch.bfloat16),
    (OLD, "auto", "fp32", torch.float32, None),
    (NATIVE, "fp32", "fp32", torch.float32, None),
    (OLD, "bf16", "bf16", torch.float32, torch.bfloat16),
]


@pytest.mark.parametrize(("flags", "requested", "name", "weights", "autocast"), CPU_CASES)
def test_cpu_precision_follows_native_bf16(flags, requested, name, weights, autocast):
    """CPU: bf16 autocast over fp32 weights only with native bf16 (or when asked); fp32 otherwise."""
    precision = pick_precision(CPU, requested, flags=flags)
    assert (precision.name, precision.weights, precision.autocast) == (name, weights, autocast)
    assert precision.reason in precision.describe()


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path):
    """The flags line of /proc/cpuinfo decides; a missing file means no native bf16."""
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512_bf16 amx_tile\n")
    assert "avx512_bf16" in cpu_flags(cpuinfo)
    assert cpu_has_native_bf16(cpu_flags(cpuinfo))
    assert cpu_flags(tmp_path / "missing") == frozenset()
    assert not cpu_has_native_bf16(frozenset())


def test_bad_precision_is_one_config_line():
    """PRECISION=fp8 stops start-up naming the variable."""
    with pytest.raises(ConfigError, match="PRECISION='fp8'"):
        Config.from_env({"PRECISION": "fp8"})


@pytest.fixture(scope="module")
def engines(tiny_settings: Config):
    """The tiny model loaded twice: PRECISION=fp32 and PRECISION=bf16 (autocast on the CPU)."""
    from dataclasses import replace

    from bot.engine.loader import load_engine

    return {name: load_engine(replace(tiny_settings, precision=name)) for name in ("fp32", "bf16")}


def _pixels(result) -> np.ndarray:
    return np.stack([np.asarray(image, dtype=np.int16) for image in result.images])


def test_bf16_autocast_changes_the_arithmetic_not_the_picture(engines):
    """bf16 autocast runs (the pixels differ from fp32) yet stays within a few levels of fp32."""
    request = GenerationRequest(prompt="a red fox", width=128, height=128, seed=11, steps=3)
    full = _pixels(engines["fp32"].txt2img(request))
    half = _pixels(engines["bf16"].txt2img(request))
    difference = np.abs(full - half)
    assert difference.max() > 0
    assert difference.mean() < 4
    assert engines["bf16"].precision.autocast is torch.bfloat16
    assert engines["fp32"].precision.autocast is None


def test_bf16_autocast_is_deterministic(engines):
    """The same request in bf16 gives the same pixels twice (seeds still mean something)."""
    request = GenerationRequest(prompt="a lighthouse", width=128, height=128, seed=5, steps=2, batch_size=2)
    first = _pixels(engines["bf16"].txt2img(request))
    second = _pixels(engines["bf16"].txt2img(request))
    assert np.array_equal(first, second)


def test_start_warms_up_and_logs_the_precision(
    tiny_settings: Config, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    """Loading logs the precision in one line and asks for a warm-up, which on the CPU is none
    (tests/engine/test_startup.py: no generation at start)."""
    from dataclasses import replace

    import bot.engine.loader as loader
    from bot.engine.warmup import warm_up

    warmed: list[object] = []

    def recording_warm_up(engine, **kwargs):
        warmed.append(engine)
        return warm_up(engine, **kwargs)

    monkeypatch.setattr(loader, "warm_up", recording_warm_up)
    with caplog.at_level(logging.INFO):
        engine = loader.load_engine(replace(tiny_settings, precision="fp32"))
    lines = [record.getMessage() for record in caplog.records]
    assert sum("precision fp32 (float32 weights): PRECISION=fp32" in line for line in lines) == 1
    assert any(line.startswith("No warm-up on the CPU") for line in lines)
    assert warmed == [engine]


def test_compile_compiles_the_shared_unet_once_and_logs_the_time(
    tiny_settings: Config, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    """COMPILE=1: one torch.compile of the UNet, shared by every pipeline, warmed up and timed at start.

    torch.compile itself is replaced by a recorder here; tests/engine/test_compile.py (slow)
    compiles for real.
    """
    from dataclasses import replace

    from bot.engine.loader import load_engine

    compiled: list[torch.nn.Module] = []

    def recording_compile(module, **kwargs):
        compiled.append(module)
        return module

    monkeypatch.setattr(torch, "compile", recording_compile)
    with caplog.at_level(logging.INFO), torch._dynamo.config.patch(suppress_errors=False):
        engine = load_engine(replace(tiny_settings, compile=True))
        assert torch._dynamo.config.suppress_errors  # a failing recompile runs eagerly, never fails a job
    assert compiled == [engine.txt2img_pipe.unet]
    assert not any(parameter.requires_grad for parameter in compiled[0].parameters())
    assert engine.img2img_pipe.unet is engine.inpaint_pipe.unet is engine.txt2img_pipe.unet
    assert any("Compiled the UNet (torch.compile) and warmed up in" in r.getMessage() for r in caplog.records)
