"""The embedded tiny segmentation model (SEGMENT_MODEL=tiny): a real transformers `SamModel` with
a small config and seeded random weights, and a `SamProcessor` for 64 px inputs, written with
`save_pretrained` to `models/tiny-sam/` and loaded back by the same code that loads SlimSAM.
Its masks are meaningless; it exists so tests run the real loading and prompting paths offline.
Likewise the tiny ViTMatte (MATTE_MODEL=tiny, `models/tiny-vitmatte/`): a real
`VitMatteForImageMatting` on a small VitDet backbone, random weights."""

from __future__ import annotations

from pathlib import Path

from bot.engine.tiny_references import _build_atomically

__all__ = ["TINY_SAM_SIZE", "build_tiny_sam", "build_tiny_vitmatte"]

TINY_SAM_SIZE = 64
_SEED = 20261206


def _write(target: Path) -> None:
    import torch
    from transformers import SamConfig, SamModel, SamProcessor
    from transformers.models.sam.configuration_sam import (
        SamMaskDecoderConfig,
        SamPromptEncoderConfig,
        SamVisionConfig,
    )
    from transformers.models.sam.image_processing_pil_sam import SamImageProcessorPil

    vision = SamVisionConfig(
        hidden_size=32,
        output_channels=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=TINY_SAM_SIZE,
        patch_size=8,
        mlp_dim=64,
        global_attn_indexes=[1],
        window_size=4,
        num_pos_feats=8,
    )
    prompt = SamPromptEncoderConfig(
        hidden_size=16, image_size=TINY_SAM_SIZE, patch_size=8, mask_input_channels=4
    )
    decoder = SamMaskDecoderConfig(
        hidden_size=16, num_hidden_layers=2, num_attention_heads=2, mlp_dim=32, iou_head_hidden_dim=16
    )
    config = SamConfig(
        vision_config=vision.to_dict(),
        prompt_encoder_config=prompt.to_dict(),
        mask_decoder_config=decoder.to_dict(),
    )
    torch.manual_seed(_SEED)
    SamModel(config).eval().save_pretrained(target, safe_serialization=True)
    side = TINY_SAM_SIZE // 4
    processor = SamImageProcessorPil(
        size={"longest_edge": TINY_SAM_SIZE},
        pad_size={"height": TINY_SAM_SIZE, "width": TINY_SAM_SIZE},
        mask_size={"longest_edge": side},
        mask_pad_size={"height": side, "width": side},
    )
    SamProcessor(image_processor=processor).save_pretrained(target)


def build_tiny_sam(folder: Path) -> Path:
    """Build the tiny SAM into `folder` once (atomically; a second call returns at once)."""
    return _build_atomically(Path(folder), _write)


def _write_vitmatte(target: Path) -> None:
    import torch
    from transformers import VitDetConfig, VitMatteConfig, VitMatteForImageMatting, VitMatteImageProcessor

    backbone = VitDetConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        mlp_ratio=2,
        image_size=64,
        pretrain_image_size=64,
        patch_size=16,
        num_channels=4,  # RGB + the trimap
        out_features=["stage2"],
        window_block_indices=[],
        residual_block_indices=[],
        use_relative_position_embeddings=True,
    )
    config = VitMatteConfig(
        backbone_config=backbone,
        hidden_size=32,
        convstream_hidden_sizes=[8, 16, 16],
        fusion_hidden_sizes=[32, 16, 8, 8],
    )
    torch.manual_seed(_SEED + 1)
    VitMatteForImageMatting(config).eval().save_pretrained(target, safe_serialization=True)
    VitMatteImageProcessor().save_pretrained(target)


def build_tiny_vitmatte(folder: Path) -> Path:
    """Build the tiny ViTMatte into `folder` once (atomically; a second call returns at once)."""
    return _build_atomically(Path(folder), _write_vitmatte)
