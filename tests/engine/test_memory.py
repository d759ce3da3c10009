"""GPU memory settings for big models (OFFLOAD, QUANTIZE, DROP_T5): what each family accepts,
one ConfigError line for every misfit, and SD 3 running without its T5 encoder."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Config
from bot.engine.family import FLUX_DEV, SD3, SDXL
from bot.engine.memory import apply_offload, load_options
from bot.errors import ConfigError


def settings(**env: str) -> Config:
    return Config.from_env({"MODEL": "tiny", **{key.upper(): value for key, value in env.items()}})


@pytest.mark.parametrize(
    ("env", "family", "device", "message"),
    [
        ({"drop_t5": "1"}, FLUX_DEV, "cuda", "DROP_T5=1 is for Stable Diffusion 3.x"),
        ({"quantize": "8bit"}, SDXL, "cuda", "is for SD 3.x and FLUX"),
        ({"quantize": "4bit"}, FLUX_DEV, "cpu", "needs a CUDA GPU"),
    ],
)
def test_misfits_are_one_line(env: dict[str, str], family, device: str, message: str) -> None:
    """A memory setting that does not fit the model or device stops start-up with one line."""
    with pytest.raises(ConfigError, match=message):
        load_options(settings(**env), family, device)


def test_defaults_change_nothing() -> None:
    """OFFLOAD=off, QUANTIZE=off, DROP_T5=0: no extra loading arguments, no offload."""
    import torch

    assert load_options(settings(), SD3, "cuda") == {}
    assert apply_offload(object(), "off", torch.device("cpu")) is False


def test_offload_needs_cuda() -> None:
    """OFFLOAD=model on a CPU is a one-line error, not a silent no-op."""
    import torch

    with pytest.raises(ConfigError, match="OFFLOAD=model"):
        apply_offload(object(), "model", torch.device("cpu"))


def test_sd3_runs_without_its_t5_encoder(tmp_path: Path) -> None:
    """DROP_T5=1: the tiny SD 3 loads without T5 and still renders a grid (CLIP reads the prompt)."""
    from bot.engine.interface import Operation
    from bot.engine.loader import load_engine
    from bot.engine.request import GenerationRequest

    engine = load_engine(
        Config.from_env(
            {
                "MODEL": "tiny-sd3",
                "DROP_T5": "1",
                "MODELS_DIR": str(tmp_path),
                "DEVICE": "cpu",
                "PRECISION": "fp32",
            }
        )
    )
    assert engine.txt2img_pipe.text_encoder_3 is None
    result = engine.generate(Operation.TXT2IMG, GenerationRequest("a lighthouse", 64, 64, seed=1, steps=2))
    assert len(result.images) == 4
