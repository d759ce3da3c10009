"""The embedded tiny model: a real Stable Diffusion 1.x pipeline with small configs.

Built offline and deterministically (seeded random weights, a byte-level CLIP tokenizer made in
code), saved with `save_pretrained` and loaded back with `from_pretrained(folder)` like any real
model. Its images are noise: it exists so that tests and offline runs exercise the real code path.
Native size 128 px (16 px latents, an 8x VAE like real SD, so the "divisible by 8" rules hold).

The VAE is not left random: a random decoder ignores its latents (its output is its own texture),
which would make img2img, inpaint, upscale and previews meaningless. Its weights are set so that
it is an 8x box-filter downsampler and a nearest-neighbour upsampler (per-image contrast
normalised by the GroupNorms), so decode(encode(x)) is a blurred x and images follow latents.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Bump when the configs below change, so existing folders are rebuilt.
TINY_MODEL_VERSION = 2
_MARKER = "tiny_model_version.json"
_SEED = 20261121


def _byte_symbols() -> list[str]:
    """GPT-2/CLIP's reversible byte → printable-unicode table, in byte order."""
    printable = list(range(ord("!"), ord("~") + 1))
    printable += list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    symbols: dict[int, str] = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in symbols:
            symbols[b] = chr(256 + extra)
            extra += 1
    return [symbols[b] for b in range(256)]


def build_tokenizer():
    """A byte-level CLIP tokenizer: 256 byte symbols, their `</w>` forms, start/end, no merges."""
    from transformers import CLIPTokenizer

    symbols = _byte_symbols()
    vocab = {symbol: i for i, symbol in enumerate(symbols)}
    vocab.update({symbol + "</w>": 256 + i for i, symbol in enumerate(symbols)})
    vocab["<|startoftext|>"] = 512
    vocab["<|endoftext|>"] = 513
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def _identity_conv(conv, taps: list[tuple[int, int, float]] | None = None, bias: float = 0.0) -> None:
    """Make a convolution copy channel c to channel c (for c < min(in, out)) through `taps`."""
    import torch

    kernel_h, kernel_w = conv.weight.shape[2:]
    taps = taps or [(kernel_h // 2, kernel_w // 2, 1.0)]
    with torch.no_grad():
        conv.weight.zero_()
        for channel in range(min(conv.in_channels, conv.out_channels)):
            for row, column, value in taps:
                conv.weight[channel, channel, row, column] = value
        if conv.bias is not None:
            conv.bias.fill_(bias)


def _make_vae_transparent(vae) -> None:
    """Turn a freshly built AutoencoderKL into a blur-and-restore autoencoder (see module doc)."""
    import torch
    from diffusers.models.attention_processor import Attention
    from diffusers.models.resnet import Downsample2D, ResnetBlock2D, Upsample2D

    with torch.no_grad():
        for module in vae.modules():
            if isinstance(module, ResnetBlock2D):  # residual branch off: the block is its shortcut
                module.conv2.weight.zero_()
                module.conv2.bias.zero_()
                if module.conv_shortcut is not None:
                    _identity_conv(module.conv_shortcut)
            elif isinstance(module, Attention):  # attention output off: identity through the residual
                module.to_out[0].weight.zero_()
                module.to_out[0].bias.zero_()
            elif isinstance(module, Downsample2D):  # 2x2 average (stride 2, pad right/bottom)
                _identity_conv(module.conv, [(0, 0, 0.25), (0, 1, 0.25), (1, 0, 0.25), (1, 1, 0.25)])
            elif isinstance(module, Upsample2D):  # nearest upsampling, then a pass-through conv
                _identity_conv(module.conv)
        # The final GroupNorm + SiLU work near x=3, where SiLU is almost linear; conv_out removes the 3.
        for coder, scale in ((vae.encoder, 1.0), (vae.decoder, 0.5)):
            _identity_conv(coder.conv_in)
            coder.conv_norm_out.weight.fill_(scale)
            coder.conv_norm_out.bias.fill_(3.0)
            _identity_conv(coder.conv_out, bias=-3.0)
        vae.encoder.conv_out.bias[vae.config.latent_channels :] = -20.0  # log-variance: almost none
        _identity_conv(vae.quant_conv)
        _identity_conv(vae.post_quant_conv)


def tiny_text_config(vocab_size: int):
    """A 2-layer, 32-wide CLIP text encoder config for the byte-level tokenizer."""
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=77,
        projection_dim=32,
        bos_token_id=512,
        eos_token_id=513,
        pad_token_id=513,
    )


def tiny_vae(latent_channels: int, **config: Any):
    """The tiny models' 8x VAE (4 latent channels for SD 1.x, 16 for SD 3 / FLUX), made
    transparent so that images follow their latents; `config`: more AutoencoderKL settings."""
    from diffusers import AutoencoderKL

    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(16, 32, 32, 32),
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=16,
        sample_size=128,
        scaling_factor=1.0,
        **config,
    )
    _make_vae_transparent(vae)
    return vae


def _build_pipeline(turbo: bool = False):
    import torch
    from diffusers import (
        DPMSolverMultistepScheduler,
        EulerDiscreteScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel

    tokenizer = build_tokenizer()
    torch.manual_seed(_SEED)
    unet = UNet2DConditionModel(
        sample_size=16,
        in_channels=4,
        out_channels=4,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=4,
        norm_num_groups=16,
    )
    torch.manual_seed(_SEED + 1)
    vae = tiny_vae(latent_channels=4)
    torch.manual_seed(_SEED + 2)
    text_encoder = CLIPTextModel(tiny_text_config(len(tokenizer)))
    schedule = {
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "num_train_timesteps": 1000,
    }
    if turbo:  # the scheduler config SD-Turbo ships: Euler with trailing timesteps
        scheduler = EulerDiscreteScheduler(**schedule, timestep_spacing="trailing")
    else:
        scheduler = DPMSolverMultistepScheduler(**schedule, steps_offset=1, use_karras_sigmas=True)
    return StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def tiny_pipeline(turbo: bool = False):
    """The tiny SD pipeline, built in memory (the embedded editor models reuse its parts)."""
    return _build_pipeline(turbo)


def is_stamped(folder: Path, marker: str, stamp: dict[str, Any]) -> bool:
    """True when `folder/marker` holds every key of `stamp` with its value (an up-to-date build)."""
    try:
        built = json.loads((folder / marker).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(built, dict) and all(built.get(key) == value for key, value in stamp.items())


def build_once(folder: Path, marker: str, stamp: dict[str, Any], write: Callable[[Path], None]) -> Path:
    """Unless `folder` is stamped already, run `write(staging)` in a temporary sibling, stamp it
    and rename it into place; return `folder`. Concurrent builders and interrupted builds never
    leave a half-written model behind (the embedded tiny models and components all build so)."""
    folder = Path(folder)
    if is_stamped(folder, marker, stamp):
        return folder
    from bot.engine.device import quiet_libraries

    quiet_libraries()
    folder.parent.mkdir(parents=True, exist_ok=True)
    log.info("Building the embedded tiny model %s", folder)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        write(staging)
        (staging / marker).write_text(json.dumps(stamp))
        if is_stamped(folder, marker, stamp):  # another process won the race
            return folder
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def build_tiny_model(folder: Path, *, turbo: bool = False) -> Path:
    """Build the tiny model into `folder` unless an up-to-date build is there; return the folder.

    `turbo` builds the distilled variant: the same weights with a turbo family's scheduler config
    (Euler, trailing timesteps), detected as the `tiny-turbo` family from that config. Built
    atomically (`build_once`).
    """
    return build_once(
        folder,
        _MARKER,
        {"version": TINY_MODEL_VERSION, "turbo": turbo},
        lambda staging: _build_pipeline(turbo).save_pretrained(staging, safe_serialization=True),
    )
