"""COMPILE=1 for real (inductor, g++) on the tiny model: the compiled engine makes the eager
engine's images (PRECISION=fp32, same seeds) for a txt2img grid, a 16:9 job, img2img and a draft
sampler; LoRA and --tile jobs run on the uncompiled UNet (same pixels as eager) and leave the
compiled one clean. The compile time is logged.

`slow`: the compile at start takes minutes on a loaded 2-core machine (dynamo tracing alone is
about a minute). Measured in benchmarks/compile.py.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from bot.config import Config
from bot.engine.compiled import is_compiled
from bot.engine.request import GenerationRequest
from tests.engine.test_lora import build_tiny_lora, pixels

# A cold inductor compile on a busy 2-core box takes minutes: more than the suite-wide 600 s.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

REQUEST = GenerationRequest(prompt="a red fox", width=128, height=128, seed=9, steps=3, batch_size=4)
WIDE = replace(REQUEST, width=224, height=128, batch_size=2)  # --ar 16:9: another latent shape
TILED = replace(REQUEST, tile=True)
TOLERANCE = 2  # of 255: inductor's fused fp32 kernels round differently from eager's


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(scope="module")
def engines(tiny_settings: Config, tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """(eager, compiled, the compiled engine's start-up log lines), fp32, `sparkle` in models/loras/."""
    from bot.engine.loader import load_engine

    models = tmp_path_factory.mktemp("models")
    (models / "tiny-sd").symlink_to(tiny_model_dir)
    build_tiny_lora(tiny_model_dir, models / "loras")
    settings = replace(tiny_settings, models_dir=models, precision="fp32")
    lines = _Lines()
    logger = logging.getLogger("bot.engine")
    logger.addHandler(lines)
    previous = logger.level
    logger.setLevel(logging.INFO)
    torch._dynamo.reset()
    try:
        with torch._dynamo.config.patch(suppress_errors=False):
            compiled = load_engine(replace(settings, compile=True))
            yield load_engine(settings), compiled, lines.lines
    finally:
        logger.removeHandler(lines)
        logger.setLevel(previous)
        torch._dynamo.reset()


def _differs(first, second) -> int:
    return int(np.abs(pixels(first) - pixels(second)).max())


def test_the_compiled_engine_makes_the_eager_engines_images(engines):
    eager, compiled, lines = engines
    unet = compiled.txt2img_pipe.unet
    assert is_compiled(unet)
    assert compiled.img2img_pipe.unet is compiled.inpaint_pipe.unet is unet
    assert any(line.startswith("Compiled the UNet (torch.compile) and warmed up in") for line in lines)
    source = eager.txt2img(REQUEST).images[0]
    for run in (
        lambda engine: engine.txt2img(REQUEST),
        lambda engine: engine.txt2img(WIDE),
        lambda engine: engine.img2img(replace(REQUEST, strength=0.6), source),
        lambda engine: engine.txt2img(replace(REQUEST, sampler="lcm", guidance_scale=1.0)),
    ):
        assert _differs(run(compiled), run(eager)) <= TOLERANCE


def test_lora_and_tile_jobs_run_uncompiled_and_leave_the_compiled_unet_clean(engines, caplog):
    eager, compiled, _ = engines
    unet = compiled.txt2img_pipe.unet
    styled = replace(REQUEST, loras=(("sparkle", 0.8),))
    with caplog.at_level(logging.INFO, logger="bot.engine.compiled"):
        assert _differs(compiled.txt2img(styled), eager.txt2img(styled)) == 0
        assert _differs(compiled.txt2img(TILED), eager.txt2img(TILED)) == 0
    assert [r.getMessage() for r in caplog.records if r.name == "bot.engine.compiled"] == [
        "COMPILE: a job with LoRAs runs on the uncompiled UNet",
        "COMPILE: a --tile job runs on the uncompiled UNet",
    ]
    assert compiled.txt2img_pipe.unet is compiled.img2img_pipe.unet is unet
    assert not any("lora" in name for name, _ in unet.named_modules())
    assert _differs(compiled.txt2img(REQUEST), eager.txt2img(REQUEST)) <= TOLERANCE
