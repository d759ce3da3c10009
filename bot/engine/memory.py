"""GPU memory settings for big models: CPU offload, quantization and dropping SD 3's T5.

| family            | bf16 weights | fits in                                                        |
|-------------------|--------------|----------------------------------------------------------------|
| SD 1.x / 2.x      | ~2–3 GB      | 4 GB                                                           |
| SDXL              | ~7 GB        | 10 GB                                                          |
| SD 3.5 Medium     | ~16 GB (T5 9)| 12 GB with DROP_T5=1 or OFFLOAD=model                          |
| SD 3.5 Large      | ~28 GB (T5 9)| 24 GB with OFFLOAD=model; 16 GB with QUANTIZE=8bit + OFFLOAD   |
| FLUX.1 schnell/dev| ~33 GB (T5 9)| 24 GB with OFFLOAD=model; 12–16 GB with QUANTIZE=4bit          |

`OFFLOAD=model` keeps each component on the CPU until it runs (diffusers'
`enable_model_cpu_offload`), `sequential` streams layer by layer. `QUANTIZE=8bit|4bit` loads the
transformer and the T5 encoder through diffusers' bitsandbytes backend (CUDA, the
`bitsandbytes` package). Every misfit is one `ConfigError` line.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from bot.engine.family import ModelFamily
from bot.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from bot.config import Config

__all__ = ["apply_offload", "load_options", "quantization_config", "quantized_components"]

# The T5 encoder's component name per architecture.
_T5 = {"sd3": "text_encoder_3", "flux": "text_encoder_2"}


def load_options(
    settings: Config, family: ModelFamily, device_type: str, compute_dtype: torch.dtype | None = None
) -> dict[str, Any]:
    """Extra `from_pretrained` arguments for QUANTIZE and DROP_T5 (none for SD 1.x/2.x/SDXL);
    `compute_dtype` (the precision's weight dtype) is what 4-bit layers compute in."""
    options: dict[str, Any] = {}
    if settings.drop_t5:
        if family.architecture != "sd3":
            raise ConfigError(f"DROP_T5=1 is for Stable Diffusion 3.x models; MODEL is {family.name}")
        options.update(text_encoder_3=None, tokenizer_3=None)
    if settings.quantize != "off":
        if not family.is_flow:
            raise ConfigError(
                f"QUANTIZE={settings.quantize} is for SD 3.x and FLUX models; MODEL is {family.name}"
            )
        if device_type != "cuda":
            raise ConfigError(f"QUANTIZE={settings.quantize} needs a CUDA GPU (bitsandbytes)")
        if importlib.util.find_spec("bitsandbytes") is None:
            raise ConfigError(
                f"QUANTIZE={settings.quantize} needs the bitsandbytes package (pip install bitsandbytes)"
            )
        options["quantization_config"] = quantization_config(
            settings.quantize, family, settings.drop_t5, compute_dtype
        )
    return options


def quantized_components(family: ModelFamily, drop_t5: bool) -> list[str]:
    """The components QUANTIZE loads in 8/4 bit: the transformer and (unless dropped) the T5."""
    return ["transformer"] + ([] if drop_t5 else [_T5[family.architecture]])


def quantization_config(
    mode: str, family: ModelFamily, drop_t5: bool = False, compute_dtype: torch.dtype | None = None
) -> Any:
    """diffusers' `PipelineQuantizationConfig` for QUANTIZE=`mode` ("8bit" or "4bit" nf4) on an
    SD 3 / FLUX pipeline: the bitsandbytes backend for the transformer and the T5 encoder; the
    CLIP encoders and the VAE (small, precision-sensitive) stay in bf16. 4-bit layers compute in
    `compute_dtype` (bf16 or fp16 by PRECISION; bitsandbytes' default is fp32, twice the work)."""
    from diffusers import PipelineQuantizationConfig

    if mode == "8bit":
        backend, kwargs = "bitsandbytes_8bit", {"load_in_8bit": True}
    else:
        backend, kwargs = "bitsandbytes_4bit", {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4"}
        if compute_dtype is not None:
            kwargs["bnb_4bit_compute_dtype"] = compute_dtype
    return PipelineQuantizationConfig(
        quant_backend=backend,
        quant_kwargs=kwargs,
        components_to_quantize=quantized_components(family, drop_t5),
    )


def apply_offload(pipeline: Any, mode: str, device: torch.device) -> bool:
    """Turn on OFFLOAD `mode` for `pipeline`; True when it is on (then never `.to(device)` it)."""
    if mode == "off":
        return False
    if device.type != "cuda":
        raise ConfigError(
            f"OFFLOAD={mode} moves weights to a CUDA GPU while they run; DEVICE is {device.type}"
        )
    if mode == "model":
        pipeline.enable_model_cpu_offload(device=device)
    else:
        pipeline.enable_sequential_cpu_offload(device=device)
    return True
