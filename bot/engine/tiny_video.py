"""The embedded tiny video model: a real Wan image-to-video pipeline with small configs.

Built offline and deterministically like the tiny image model (`tiny.py`): seeded random weights,
a T5 unigram tokenizer made in code (no sentencepiece file, no download), saved with
`save_pretrained` and loaded back with `WanImageToVideoPipeline.from_pretrained(folder)` like any
real model. It has the Wan 2.2-A14B image-to-video shape: the transformer takes the noisy latents
(16 channels) + the mask (4) + the start/end frame latents (16) as 36 input channels and there is
no CLIP image encoder, so `last_image` (end frames, `--loop`) works. Its frames are noise.
"""

from __future__ import annotations

import logging
import string
from pathlib import Path

from bot.engine.tiny import build_once

log = logging.getLogger(__name__)

__all__ = ["TINY_VIDEO_NAME", "build_tiny_video_model", "build_video_tokenizer"]

TINY_VIDEO_NAME = "tiny-video"
# Bump when the configs below change, so existing folders are rebuilt.
TINY_VIDEO_VERSION = 1
_MARKER = "tiny_video_version.json"
_SEED = 20261206
_TEXT_DIM = 32


def build_video_tokenizer():
    """A T5 unigram tokenizer over characters and a few common words (made in code)."""
    from transformers import T5Tokenizer

    specials = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    words = [
        "a",
        "an",
        "the",
        "of",
        "and",
        "in",
        "on",
        "at",
        "with",
        "to",
        "cat",
        "dog",
        "fox",
        "sky",
        "sea",
        "light",
        "moves",
        "slowly",
        "camera",
        "zoom",
    ]
    pieces = [("▁" + word, -2.0) for word in words]
    pieces += [("▁", -3.0)]
    pieces += [(char, -5.0) for char in string.ascii_lowercase + string.digits + string.punctuation]
    pieces += [(char, -6.0) for char in string.ascii_uppercase]
    return T5Tokenizer(vocab=specials + pieces, extra_ids=0)


def _build(folder: Path) -> None:
    import torch
    from diffusers import (
        AutoencoderKLWan,
        FlowMatchEulerDiscreteScheduler,
        WanImageToVideoPipeline,
        WanTransformer3DModel,
    )
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(_SEED)
    tokenizer = build_video_tokenizer()
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=len(tokenizer),
            d_model=_TEXT_DIM,
            d_kv=8,
            d_ff=64,
            num_layers=2,
            num_heads=4,
            relative_attention_num_buckets=8,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
    )
    vae = AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=36,
        out_channels=16,
        text_dim=_TEXT_DIM,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
    )
    pipeline = WanImageToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        transformer=transformer,
    )
    pipeline.save_pretrained(folder)


def build_tiny_video_model(folder: Path) -> Path:
    """Build the tiny video model into `folder` unless an up-to-date one is there; return it.

    Written to a temporary sibling and renamed (`tiny.build_once`), so a crash never leaves a
    half-built model.
    """
    return build_once(folder, _MARKER, {"version": TINY_VIDEO_VERSION}, _build)
