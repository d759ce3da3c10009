"""Retexture: keep the composition of an image, change its look with a prompt.

The structure of the input is a control image — a depth map from a depth estimator
(`DEPTH_MODEL`: Depth Anything V2 / DPT through transformers) or its edges (`DEPTH_MODEL=edges`,
no model) — that a ControlNet of the model's family (`CONTROLNET_MODEL`) feeds into a txt2img
pipeline made with `from_pipe` (the loaded UNet, VAE and text encoders: one copy of the weights).
Both models are loaded on the worker thread on first use, once.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PIL import Image, ImageFilter, ImageOps

from bot.errors import JobFailed

__all__ = ["EDGES", "StructureEstimator", "controlnet_pipeline", "edge_map"]

log = logging.getLogger(__name__)

# DEPTH_MODEL=edges: the structure is the input's edges, no model needed.
EDGES = "edges"


def edge_map(image: Image.Image) -> Image.Image:
    """The input's edges as a white-on-black RGB picture of the same size."""
    grey = ImageOps.grayscale(image).filter(ImageFilter.GaussianBlur(1))
    edges = ImageOps.autocontrast(grey.filter(ImageFilter.FIND_EDGES))
    return edges.point(lambda value: 255 if value >= 48 else 0).convert("RGB")


class StructureEstimator:
    """Turns an input picture into the control image (depth map or edges) of its size."""

    def __init__(self, model: str, device: Any, tiny_folder: Path | None = None) -> None:
        self.model = model
        self.device = device
        self.tiny_folder = tiny_folder  # DEPTH_MODEL=tiny: build the embedded estimator here first
        self._loaded: tuple[Any, Any] | None = None

    @property
    def method(self) -> str:
        """`edges` or `depth` (what the recipe names)."""
        return EDGES if self.model == EDGES else "depth"

    def control_image(self, image: Image.Image) -> Image.Image:
        """The control image of `image` (RGB, same size)."""
        picture = image.convert("RGB")
        if self.model == EDGES:
            return edge_map(picture)
        return self._depth(picture)

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            from transformers import AutoImageProcessor, AutoModelForDepthEstimation

            location = self.model
            if self.tiny_folder is not None:
                from bot.engine.tiny_editing import build_tiny_depth

                location = str(build_tiny_depth(self.tiny_folder))
            log.info("Loading depth estimator %s", location)
            try:
                processor = AutoImageProcessor.from_pretrained(location)
                model = AutoModelForDepthEstimation.from_pretrained(location).to(self.device).eval()
            except Exception as error:  # hub/IO errors come in many types; the member needs one line
                reason = " ".join(str(error).split())[:200] or type(error).__name__
                raise JobFailed(
                    f"Retexture could not load its depth model (DEPTH_MODEL={self.model!r}): {reason}"
                ) from None
            self._loaded = (processor, model)
        return self._loaded

    def _depth(self, picture: Image.Image) -> Image.Image:
        import torch

        processor, model = self._load()
        inputs = processor(images=picture, return_tensors="pt").to(self.device)
        with torch.inference_mode():
            depth = model(**inputs).predicted_depth  # (1, h, w): larger = nearer
        depth = torch.nn.functional.interpolate(
            depth[:, None].float(), size=(picture.height, picture.width), mode="bicubic", align_corners=False
        )[0, 0]
        low, high = depth.min(), depth.max()
        scaled = (depth - low) / (high - low) if high > low else torch.zeros_like(depth)
        grey = (scaled * 255).round().clamp(0, 255).to(torch.uint8).cpu().numpy()
        return Image.fromarray(grey, mode="L").convert("RGB")


def controlnet_pipeline(base: Any, model: str, *, is_sdxl: bool, tiny_folder: Path | None, dtype: Any) -> Any:
    """The ControlNet txt2img pipeline of `base` (shared weights) with the ControlNet `model`."""
    from diffusers import (
        ControlNetModel,
        StableDiffusionControlNetPipeline,
        StableDiffusionXLControlNetPipeline,
    )

    location = model
    if tiny_folder is not None:
        from bot.engine.tiny_editing import build_tiny_controlnet

        location = str(build_tiny_controlnet(tiny_folder, base.unet))
    log.info("Loading ControlNet %s", location)
    try:
        controlnet = ControlNetModel.from_pretrained(location, torch_dtype=dtype)
    except Exception as error:
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise JobFailed(
            f"Retexture could not load its ControlNet (CONTROLNET_MODEL={model!r}): {reason}"
        ) from None
    controlnet.to(base.unet.device)
    kind = StableDiffusionXLControlNetPipeline if is_sdxl else StableDiffusionControlNetPipeline
    pipe = kind.from_pipe(base, controlnet=controlnet)
    pipe.set_progress_bar_config(disable=True)
    return pipe
