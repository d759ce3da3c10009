"""The embedded tiny models of the transformer families: Stable Diffusion 3 and FLUX.1.

Real pipeline classes (`StableDiffusion3Pipeline`, `FluxPipeline`) with small configs and seeded
random weights, built offline, saved with `save_pretrained` and loaded with `from_pretrained` like
any real model (`MODEL=tiny-sd3`, `MODEL=tiny-flux`). Like `tiny.py`'s model their images are
noise; they exist so that tests and offline runs exercise every family's real code path.

- Text: byte-level CLIP encoders (tiny.py's tokenizer) and a T5 encoder whose tokenizer is built
  in code: a unigram vocabulary of the printable ASCII characters and a word list (no
  sentencepiece model file, no download).
- VAE: 16 latent channels (as SD 3.x / FLUX.1; SD 3 inpainting needs them), 8x like the real
  ones, made transparent as in tiny.py so images follow their latents.
- SD 3: an MMDiT `SD3Transformer2DModel` with 2x2 patches; FLUX: a `FluxTransformer2DModel`
  with guidance embedding (dev-style: the guidance value is an input) and packed 2x2 latents;
  `tiny-flux-fill` a `FluxFillPipeline` (FLUX.1 Fill's layout) for `INPAINT_MODEL`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.engine.tiny import build_once, build_tokenizer, tiny_text_config, tiny_vae

__all__ = ["TINY_FLOW_VERSION", "build_t5_tokenizer", "build_tiny_flow_model"]

log = logging.getLogger(__name__)

# Bump when a config below changes, so existing folders are rebuilt.
TINY_FLOW_VERSION = 1
_MARKER = "tiny_model_version.json"
_SEED = 20261206
# Whole-word pieces for the T5 vocabulary (characters cover every other word).
_WORDS = [
    "a",
    "an",
    "the",
    "of",
    "in",
    "on",
    "at",
    "with",
    "and",
    "or",
    "by",
    "to",
    "from",
    "is",
    "are",
    "cat",
    "dog",
    "bird",
    "lighthouse",
    "dusk",
    "sunset",
    "night",
    "city",
    "forest",
    "sea",
    "mountain",
    "portrait",
    "photo",
    "painting",
    "red",
    "green",
    "blue",
    "yellow",
    "black",
    "white",
    "golden",
    "light",
    "fog",
    "rain",
    "snow",
    "tree",
    "flower",
    "house",
    "car",
    "robot",
    "woman",
    "man",
    "girl",
    "boy",
    "old",
    "young",
    "big",
    "small",
]
T5_WIDTH = 64
_KINDS = ("sd3", "flux", "flux-fill")


def build_t5_tokenizer():
    """A T5 tokenizer made in code: `<pad>`, `</s>`, `<unk>`, printable characters and `▁word`s."""
    from transformers import T5Tokenizer

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -5.0)]
    vocab += [(chr(code), -10.0) for code in range(33, 127)]
    vocab += [("▁" + word, -1.0) for word in _WORDS]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=512)


def _t5_encoder(vocab_size: int):
    from transformers import T5Config, T5EncoderModel

    config = T5Config(
        vocab_size=vocab_size,
        d_model=T5_WIDTH,
        d_kv=16,
        d_ff=64,
        num_layers=2,
        num_heads=4,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    return T5EncoderModel(config)


def _vae():
    return tiny_vae(latent_channels=16, shift_factor=0.0)


def _build_sd3():
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel, StableDiffusion3Pipeline
    from transformers import CLIPTextModelWithProjection

    tokenizer, t5_tokenizer = build_tokenizer(), build_t5_tokenizer()
    torch.manual_seed(_SEED)
    transformer = SD3Transformer2DModel(
        sample_size=16,  # 16 latents x 8 = 128 px native
        patch_size=2,
        in_channels=16,
        out_channels=16,
        num_layers=2,
        attention_head_dim=8,
        num_attention_heads=4,
        joint_attention_dim=T5_WIDTH,
        caption_projection_dim=32,
        pooled_projection_dim=64,  # the two CLIP projections side by side
        pos_embed_max_size=96,
    )
    torch.manual_seed(_SEED + 1)
    vae = _vae()
    torch.manual_seed(_SEED + 2)
    text_encoder = CLIPTextModelWithProjection(tiny_text_config(len(tokenizer)))
    text_encoder_2 = CLIPTextModelWithProjection(tiny_text_config(len(tokenizer)))
    text_encoder_3 = _t5_encoder(len(t5_tokenizer))
    return StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        text_encoder_2=text_encoder_2,
        tokenizer_2=tokenizer,
        text_encoder_3=text_encoder_3,
        tokenizer_3=t5_tokenizer,
    )


def _build_flux(fill: bool = False):
    """FLUX.1 [dev]-style; `fill`: a FLUX.1 Fill model (its transformer also reads the masked
    image's latents and the mask: 64 + 64 + 256 input channels)."""
    import torch
    from diffusers import (
        FlowMatchEulerDiscreteScheduler,
        FluxFillPipeline,
        FluxPipeline,
        FluxTransformer2DModel,
    )
    from transformers import CLIPTextModel

    tokenizer, t5_tokenizer = build_tokenizer(), build_t5_tokenizer()
    torch.manual_seed(_SEED + 10)
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=384 if fill else 64,  # 16 latent channels packed 2x2 (+ masked image, mask)
        out_channels=64,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=T5_WIDTH,
        pooled_projection_dim=32,  # CLIP's pooled output
        guidance_embeds=True,
        axes_dims_rope=(4, 4, 8),
    )
    torch.manual_seed(_SEED + 11)
    vae = _vae()
    torch.manual_seed(_SEED + 12)
    text_encoder = CLIPTextModel(tiny_text_config(len(tokenizer)))
    text_encoder_2 = _t5_encoder(len(t5_tokenizer))
    scheduler = FlowMatchEulerDiscreteScheduler(
        shift=3.0,
        use_dynamic_shifting=True,
        base_shift=0.5,
        max_shift=1.15,
        base_image_seq_len=256,
        max_image_seq_len=4096,
    )
    return (FluxFillPipeline if fill else FluxPipeline)(
        transformer=transformer,
        scheduler=scheduler,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        text_encoder_2=text_encoder_2,
        tokenizer_2=t5_tokenizer,
    )


def build_tiny_flow_model(folder: Path, kind: str) -> Path:
    """Build the tiny `kind` ("sd3", "flux" or "flux-fill") model into `folder` unless it is there;
    return it. Built atomically (`tiny.build_once`)."""
    if kind not in _KINDS:
        raise ValueError(f"unknown tiny model kind {kind!r}: expected one of {', '.join(_KINDS)}")

    def write(staging: Path) -> None:
        pipeline = _build_sd3() if kind == "sd3" else _build_flux(fill=kind == "flux-fill")
        pipeline.save_pretrained(staging, safe_serialization=True)

    return build_once(folder, _MARKER, {"version": TINY_FLOW_VERSION, "kind": kind}, write)
