"""Embedded tiny image-prompt components: an IP-Adapter and a captioner + CLIP for /describe.

Like the tiny SD model (tiny.py): real transformers/diffusers classes with small configs and
seeded random weights, written with `save_pretrained` (or as safetensors) and loaded back from
the folder by the same code that loads real weights. Folders:

- `models/tiny-ip-adapter/` laid out like the `h94/IP-Adapter` repository:
  `models/image_encoder/` (a CLIPVisionModelWithProjection) and `models/ip-adapter_sd15.safetensors`
  (`image_proj.*` and `ip_adapter.*` keys), sized for the tiny model's UNet.
- `models/tiny-describe/captioner/` (BlipForConditionalGeneration + BlipProcessor with a small
  WordPiece vocabulary) and `models/tiny-describe/clip/` (CLIPModel + CLIPProcessor with the
  byte-level tokenizer of tiny.py).

Outputs are meaningless (random weights); they exist so tests exercise the real loading and
calling paths offline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from bot.engine.tiny import build_once

__all__ = [
    "TINY_CAPTION_WORDS",
    "TINY_IP_ADAPTER_WEIGHT",
    "build_tiny_describe_models",
    "build_tiny_ip_adapter",
]

log = logging.getLogger(__name__)

TINY_REFERENCES_VERSION = 1
TINY_IP_ADAPTER_WEIGHT = "models/ip-adapter_sd15.safetensors"
_MARKER = "tiny_version.json"
_SEED = 20261129
_IMAGE_SIZE = 32
_EMBED_DIM = 32
# The captioner's vocabulary: the words its (random) captions are made of.
TINY_CAPTION_WORDS = [
    "a",
    "photo",
    "of",
    "the",
    "cat",
    "dog",
    "house",
    "tree",
    "river",
    "mountain",
    "city",
    "street",
    "woman",
    "man",
    "child",
    "flower",
    "boat",
    "car",
    "bird",
    "field",
    "forest",
    "lake",
    "sky",
    "night",
    "morning",
    "garden",
    "table",
    "window",
    "door",
    "lamp",
]


def _build_atomically(folder: Path, write: Callable[[Path], None]) -> Path:
    """Run `write(staging)` in a temporary sibling and rename it into place (safe for races)."""
    return build_once(folder, _MARKER, {"version": TINY_REFERENCES_VERSION}, write)


def _vision_config():
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=_IMAGE_SIZE,
        patch_size=8,
        projection_dim=_EMBED_DIM,
    )


# ---- IP-Adapter ----------------------------------------------------------------------------


def _ip_adapter_state(unet_config: dict) -> dict:
    """`image_proj.*` + `ip_adapter.<n>.to_k_ip/to_v_ip` weights for a UNet of this config."""
    import torch
    from diffusers import UNet2DConditionModel

    unet = UNet2DConditionModel.from_config(unet_config)
    cross = unet.config.cross_attention_dim
    blocks = list(unet.config.block_out_channels)
    state: dict[str, torch.Tensor] = {
        "image_proj.proj.weight": torch.randn(4 * cross, _EMBED_DIM) * 0.3,
        "image_proj.proj.bias": torch.zeros(4 * cross),
        "image_proj.norm.weight": torch.ones(cross),
        "image_proj.norm.bias": torch.zeros(cross),
    }
    key_id = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        if name.startswith("mid_block"):
            hidden = blocks[-1]
        elif name.startswith("up_blocks"):
            hidden = list(reversed(blocks))[int(name[len("up_blocks.")])]
        else:
            hidden = blocks[int(name[len("down_blocks.")])]
        # Strong on purpose: with random weights a weak adapter would barely move the images.
        state[f"ip_adapter.{key_id}.to_k_ip.weight"] = torch.randn(hidden, cross) * 0.5
        state[f"ip_adapter.{key_id}.to_v_ip.weight"] = torch.randn(hidden, cross) * 2.0
        key_id += 2
    return state


def build_tiny_ip_adapter(folder: Path, unet_config: dict) -> Path:
    """Build an IP-Adapter folder laid out like `h94/IP-Adapter` for a UNet of `unet_config`."""

    def write(staging: Path) -> None:
        import torch
        from safetensors.torch import save_file
        from transformers import CLIPVisionModelWithProjection

        torch.manual_seed(_SEED)
        encoder = CLIPVisionModelWithProjection(_vision_config())
        encoder.save_pretrained(staging / "models" / "image_encoder", safe_serialization=True)
        state = {key: value.contiguous() for key, value in _ip_adapter_state(unet_config).items()}
        save_file(state, str(staging / TINY_IP_ADAPTER_WEIGHT))

    return _build_atomically(folder, write)


# ---- /describe: captioner and CLIP ---------------------------------------------------------


def _write_captioner(target: Path) -> None:
    import torch
    from transformers import (
        BertTokenizer,
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessor,
        BlipProcessor,
    )

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]"]
    vocab = target / "vocab.txt"
    target.mkdir(parents=True, exist_ok=True)
    vocab.write_text("\n".join([*specials, *TINY_CAPTION_WORDS]) + "\n")
    tokenizer = BertTokenizer(str(vocab), bos_token="[DEC]", model_max_length=32)
    vocab.unlink()
    size = len(tokenizer)
    config = BlipConfig(
        text_config={
            "vocab_size": size,
            "hidden_size": 32,
            "encoder_hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "max_position_embeddings": 32,
            "bos_token_id": tokenizer.convert_tokens_to_ids("[DEC]"),
            "eos_token_id": tokenizer.sep_token_id,
            "sep_token_id": tokenizer.sep_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "image_size": _IMAGE_SIZE,
            "patch_size": 8,
            "projection_dim": _EMBED_DIM,
        },
        projection_dim=_EMBED_DIM,
    )
    torch.manual_seed(_SEED + 1)
    model = BlipForConditionalGeneration(config)
    model.save_pretrained(target, safe_serialization=True)
    processor = BlipProcessor(
        image_processor=BlipImageProcessor(size={"height": _IMAGE_SIZE, "width": _IMAGE_SIZE}),
        tokenizer=tokenizer,
    )
    processor.save_pretrained(target)


def _write_clip(target: Path) -> None:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    from bot.engine.tiny import build_tokenizer, tiny_text_config

    tokenizer = build_tokenizer()
    config = CLIPConfig(
        text_config=tiny_text_config(len(tokenizer)).to_dict(),
        vision_config=_vision_config().to_dict(),
        projection_dim=_EMBED_DIM,
    )
    torch.manual_seed(_SEED + 2)
    CLIPModel(config).save_pretrained(target, safe_serialization=True)
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": _IMAGE_SIZE}, crop_size={"height": _IMAGE_SIZE, "width": _IMAGE_SIZE}
    )
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(target)


def build_tiny_describe_models(folder: Path) -> Path:
    """Build `folder/captioner` (BLIP) and `folder/clip` (CLIP) for /describe."""

    def write(staging: Path) -> None:
        _write_captioner(staging / "captioner")
        _write_clip(staging / "clip")

    return _build_atomically(folder, write)
