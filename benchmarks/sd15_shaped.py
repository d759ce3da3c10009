"""An SD 1.5-shaped model with random weights, built in code (no download): full widths and depths
(UNet 320/640/1280/1280 with 2 layers per block and 768-wide cross-attention, a 12-layer 768-wide
CLIP text encoder, the 128/256/512/512 VAE), so that time and memory behave like the real model.

    python benchmarks/sd15_shaped.py FOLDER      # build it (about 4 GB in fp32) unless it is there

The tokenizer is the tiny model's byte-level one (the text encoder keeps CLIP's vocabulary size).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MARKER = "sd15_shaped.json"
VERSION = 1


def build_sd15_shaped(folder: Path, *, narrow: int = 1) -> Path:
    """Build the model into `folder` (a diffusers folder) unless a build of this version is there.

    `narrow` divides every width (4: UNet 80/160/320/320, a 192-wide 12-layer text encoder, VAE
    32/64/128/128 — SD 1.5's layout, a sixteenth of the work per layer).
    """
    folder = Path(folder)
    marker = folder / MARKER
    built = {"version": VERSION, "narrow": narrow}
    if marker.is_file() and json.loads(marker.read_text()) == built:
        return folder
    import torch
    from diffusers import (
        AutoencoderKL,
        DPMSolverMultistepScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel

    from bot.engine.tiny import build_tokenizer

    torch.manual_seed(15)
    groups = 32 // narrow if narrow <= 2 else 16
    text_width = 768 // narrow
    unet = UNet2DConditionModel(
        sample_size=64,
        block_out_channels=tuple(width // narrow for width in (320, 640, 1280, 1280)),
        layers_per_block=2,
        cross_attention_dim=text_width,
        attention_head_dim=8,
        norm_num_groups=groups,
    )
    vae = AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=tuple(width // narrow for width in (128, 256, 512, 512)),
        layers_per_block=2,
        latent_channels=4,
        norm_num_groups=groups,
        sample_size=512,
        scaling_factor=0.18215,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=49408,
            hidden_size=text_width,
            intermediate_size=4 * text_width,
            num_hidden_layers=12,
            num_attention_heads=12,
            max_position_embeddings=77,
            projection_dim=text_width,
            bos_token_id=512,
            eos_token_id=513,
            pad_token_id=513,
        )
    )
    # Random weights make huge activations; scale them down so the arithmetic stays finite.
    with torch.no_grad():
        for module in (unet, vae, text_encoder):
            for parameter in module.parameters():
                if parameter.dim() > 1:
                    parameter.mul_(0.5)
    scheduler = DPMSolverMultistepScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        num_train_timesteps=1000,
        steps_offset=1,
    )
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=build_tokenizer(),
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(folder, safe_serialization=True)
    marker.write_text(json.dumps(built))
    return folder


if __name__ == "__main__":
    print(build_sd15_shaped(Path(sys.argv[1])))
