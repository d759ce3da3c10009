"""The SDXL family: a tiny SDXL pipeline saved as a diffusers folder loads and generates."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bot.config import Config
from bot.engine.family import SDXL
from bot.engine.request import GenerationRequest, WeightedPrompt
from bot.engine.tiny import build_tokenizer, tiny_text_config


def build_tiny_sdxl(folder: Path) -> Path:
    """Two CLIP encoders, a text_time UNet and an 8x VAE, with seeded random weights."""
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    tokenizer = build_tokenizer()
    config = tiny_text_config(len(tokenizer))
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=32,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 1),
        projection_class_embeddings_input_dim=6 * 8 + 32,
        cross_attention_dim=64,
        norm_num_groups=16,
    )
    vae = AutoencoderKL(
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(16, 32, 32, 32),
        layers_per_block=1,
        latent_channels=4,
        norm_num_groups=16,
    )
    pipeline = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=CLIPTextModel(config),
        text_encoder_2=CLIPTextModelWithProjection(config),
        tokenizer=tokenizer,
        tokenizer_2=build_tokenizer(),
        unet=unet,
        scheduler=EulerDiscreteScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012),
    )
    pipeline.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def sdxl_engine(tmp_path_factory):
    """The tiny SDXL folder loaded through MODEL=<folder>, like a real downloaded model."""
    from bot.engine.loader import load_engine

    folder = build_tiny_sdxl(tmp_path_factory.mktemp("models") / "tiny-sdxl")
    return load_engine(Config.from_env({"MODEL": str(folder), "DEVICE": "cpu"}))


def test_sdxl_folder_is_detected_and_generates_a_grid(sdxl_engine):
    """An SDXL diffusers folder is the SDXL family and makes four reproducible images."""
    assert sdxl_engine.family == SDXL
    request = GenerationRequest(
        prompt="a fox::2 snow",
        weighted_prompts=(WeightedPrompt("a fox", 2.0), WeightedPrompt("snow", 1.0)),
        negative_prompt="blurry",
        width=64,
        height=64,
        seed=3,
        steps=2,
    )
    first = sdxl_engine.txt2img(request)
    again = sdxl_engine.txt2img(request)
    assert [image.size for image in first.images] == [(64, 64)] * 4
    assert first.images[3].tobytes() == again.images[3].tobytes()


def test_sdxl_img2img_shares_weights(sdxl_engine):
    """img2img on SDXL reuses the same UNet and both text encoders."""
    assert sdxl_engine.img2img_pipe.unet is sdxl_engine.txt2img_pipe.unet
    assert sdxl_engine.img2img_pipe.text_encoder_2 is sdxl_engine.txt2img_pipe.text_encoder_2
    source = sdxl_engine.txt2img(
        GenerationRequest(prompt="fox", width=64, height=64, seed=1, steps=2, batch_size=1)
    ).images[0]
    varied = sdxl_engine.img2img(
        GenerationRequest(prompt="fox", width=64, height=64, seed=2, steps=4, strength=0.5, batch_size=2),
        source,
    )
    assert len(varied.images) == 2
