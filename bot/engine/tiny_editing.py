"""Embedded tiny models for the editor's operations: a Depth Anything estimator, a ControlNet and an
InstructPix2Pix pipeline.

Real transformers / diffusers classes with small configs and seeded random weights, built in code
and saved with `save_pretrained`, then loaded with `from_pretrained(folder)` like real weights
(`DEPTH_MODEL=tiny`, `CONTROLNET_MODEL=tiny`, `INSTRUCT_MODEL=tiny`). Their outputs are noise: they exist so that tests
and offline runs take the real code path.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

__all__ = ["build_tiny_controlnet", "build_tiny_depth", "build_tiny_instruct"]

log = logging.getLogger(__name__)

_SEED = 20261206
_MARKER = "tiny_editing_version.json"


def build_tiny_depth(folder: Path) -> Path:
    """A tiny Depth Anything (DINOv2 backbone, 56 px input) and its image processor in `folder`."""
    if (folder / _MARKER).is_file():
        return folder
    import torch
    from transformers import (
        DepthAnythingConfig,
        DepthAnythingForDepthEstimation,
        Dinov2Config,
        DPTImageProcessor,
    )

    torch.manual_seed(_SEED)
    backbone = Dinov2Config(
        hidden_size=16,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=32,
        image_size=56,
        patch_size=14,
        out_features=["stage1", "stage2", "stage3", "stage4"],
        reshape_hidden_states=False,
    )
    config = DepthAnythingConfig(
        backbone_config=backbone,
        reassemble_hidden_size=16,
        neck_hidden_sizes=[8, 16, 16, 16],
        fusion_hidden_size=16,
        head_hidden_size=8,
        patch_size=14,
    )
    processor = DPTImageProcessor(
        size={"height": 56, "width": 56},
        keep_aspect_ratio=True,
        ensure_multiple_of=14,
        image_mean=[0.485, 0.456, 0.406],
        image_std=[0.229, 0.224, 0.225],
    )
    folder.mkdir(parents=True, exist_ok=True)
    DepthAnythingForDepthEstimation(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    (folder / _MARKER).write_text('{"version": 1}\n')
    log.info("Built the tiny depth estimator in %s", folder)
    return folder


def build_tiny_controlnet(folder: Path, unet: Any) -> Path:
    """A tiny ControlNet copied from `unet` (`ControlNetModel.from_unet`) in `folder`."""
    if (folder / _MARKER).is_file():
        return folder
    import torch
    from diffusers import ControlNetModel

    torch.manual_seed(_SEED + 1)
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(8, 8, 16, 16))
    folder.mkdir(parents=True, exist_ok=True)
    controlnet.save_pretrained(folder)
    (folder / _MARKER).write_text('{"version": 1}\n')
    log.info("Built the tiny ControlNet in %s", folder)
    return folder


def build_tiny_instruct(folder: Path) -> Path:
    """A tiny `StableDiffusionInstructPix2PixPipeline` in `folder`: the tiny SD model's VAE, text
    encoder, tokenizer and scheduler (bot/engine/tiny.py) with a random UNet of the same shape that
    takes 8 input channels (noisy latents + the source image's latents), as InstructPix2Pix's does."""
    if (folder / _MARKER).is_file():
        return folder
    import torch
    from diffusers import StableDiffusionInstructPix2PixPipeline, UNet2DConditionModel

    from bot.engine.tiny import tiny_pipeline

    base = tiny_pipeline()
    torch.manual_seed(_SEED + 2)
    unet = UNet2DConditionModel.from_config({**base.unet.config, "in_channels": 8})
    pipe = StableDiffusionInstructPix2PixPipeline(
        vae=base.vae,
        text_encoder=base.text_encoder,
        tokenizer=base.tokenizer,
        unet=unet,
        scheduler=base.scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    folder.mkdir(parents=True, exist_ok=True)
    pipe.save_pretrained(folder, safe_serialization=True)
    (folder / _MARKER).write_text('{"version": 1}\n')
    log.info("Built the tiny InstructPix2Pix model in %s", folder)
    return folder
