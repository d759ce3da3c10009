"""The NSFW checker model: diffusers' `StableDiffusionSafetyChecker` with transformers'
`CLIPImageProcessorPil` (the PIL image processor: torchvision is not needed). The policy (off,
spoiler, block) is bot/governance/nsfw.py's."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from bot.errors import ConfigError

__all__ = ["SafetyCheckerModel"]

log = logging.getLogger(__name__)


class SafetyCheckerModel:
    """diffusers' Stable Diffusion safety checker, loaded from `source` on first use.

    `source` is a local folder or a Hugging Face id holding the checker and its image processor
    at the top (CompVis/stable-diffusion-safety-checker), or a pipeline folder with
    `safety_checker/` and `feature_extractor/` subfolders.
    """

    def __init__(self, source: str, device: str = "auto") -> None:
        self.source = source
        self.device = device
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any, Any] | None = None

    def _load(self) -> tuple[Any, Any, Any]:
        from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
        from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

        from bot.engine.device import pick_device

        device, dtype = pick_device(self.device)
        folder = Path(self.source).expanduser()
        split = (folder / "safety_checker").is_dir()
        model_from = folder / "safety_checker" if split else self.source
        processor_from = folder / "feature_extractor" if split else self.source
        log.info("loading the NSFW checker from %s", self.source)
        try:
            checker = StableDiffusionSafetyChecker.from_pretrained(str(model_from), torch_dtype=dtype)
            processor = CLIPImageProcessorPil.from_pretrained(str(processor_from))
        except (OSError, ValueError) as error:
            raise ConfigError(f"NSFW_MODEL={self.source!r} could not be loaded: {error}") from None
        return checker.to(device).eval(), processor, (device, dtype)

    def check(self, images: Sequence[Image.Image]) -> list[bool]:
        import numpy as np
        import torch

        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            checker, processor, (device, dtype) = self._loaded
            pictures = [image.convert("RGB") for image in images]
            pixels = processor(pictures, return_tensors="pt").pixel_values.to(device, dtype)
            # The checker blacks out flagged entries of `images`; only its verdicts are used here,
            # so it gets small stand-ins rather than copies of the pictures.
            stand_ins = [np.zeros((1, 1, 3), dtype=np.float32) for _ in pictures]
            with torch.inference_mode():
                _, flagged = checker(clip_input=pixels, images=stand_ins)
        return [bool(flag) for flag in flagged]
