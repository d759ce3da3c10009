"""An optional NSFW check of finished images, set by NSFW_FILTER and NSFW_MODEL.

- `ImageChecker`: anything with `check(images) -> list[bool]` (True: flagged). Tests inject a fake.
- `SafetyCheckerModel`: diffusers' `StableDiffusionSafetyChecker` with transformers'
  `CLIPImageProcessorPil` (the PIL image processor: torchvision is not needed), loaded from
  NSFW_MODEL on the first check, not at start-up.
- `ImageScreen`: the filter mode and its checker, as the Discord front uses them. With the
  filter off nothing is checked or loaded. A flagged image is posted as a spoiler
  (`SPOILER_` file name) or not posted at all (a grid shows a blank tile in its place); the
  files on disk are never changed.

Nothing here imports torch or diffusers until a checker is actually used.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image

from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.config import Config

log = logging.getLogger(__name__)

BLOCKED_NOTICE = "Hidden by this server's content filter."
PLACEHOLDER_GREY = (54, 57, 63)


class NsfwFilter(StrEnum):
    OFF = "off"
    SPOILER = "spoiler"
    BLOCK = "block"


class ImageChecker(Protocol):
    def check(self, images: Sequence[Image.Image]) -> list[bool]:
        """One verdict per image: True when it is flagged as not safe for work."""
        ...


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


def hide_flagged(images: Sequence[Image.Image], flagged: Sequence[bool]) -> list[Image.Image]:
    """The images with each flagged one replaced by a plain tile of the same size."""
    return [
        Image.new("RGB", image.size, PLACEHOLDER_GREY) if flag else image
        for image, flag in zip(images, flagged, strict=True)
    ]


@dataclass
class ImageScreen:
    """The content filter of the Discord front: a mode and (unless off) the checker."""

    mode: NsfwFilter = NsfwFilter.OFF
    checker: ImageChecker | None = None

    @classmethod
    def from_settings(cls, settings: Config) -> ImageScreen:
        """The screen NSFW_FILTER / NSFW_MODEL ask for; ConfigError when a filter has no model."""
        mode = NsfwFilter(settings.nsfw_filter)
        if mode is NsfwFilter.OFF:
            return cls()
        if not settings.nsfw_model:
            raise ConfigError(
                f"NSFW_FILTER={mode.value} needs NSFW_MODEL: a folder or Hugging Face id of a "
                "StableDiffusionSafetyChecker (e.g. CompVis/stable-diffusion-safety-checker)"
            )
        return cls(mode, SafetyCheckerModel(settings.nsfw_model, settings.device))

    @property
    def active(self) -> bool:
        return self.mode is not NsfwFilter.OFF and self.checker is not None

    def check(self, images: Sequence[Image.Image]) -> list[bool]:
        """Verdicts for `images` (all False with the filter off). Blocking: run it in a thread."""
        if not self.active or not images:
            return [False] * len(images)
        assert self.checker is not None
        verdicts = list(self.checker.check(images))
        if len(verdicts) != len(images):
            raise ValueError(f"the NSFW checker gave {len(verdicts)} verdicts for {len(images)} images")
        return verdicts
