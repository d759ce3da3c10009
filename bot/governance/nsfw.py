"""An optional NSFW check of finished images, set by NSFW_FILTER and NSFW_MODEL.

- `ImageChecker`: anything with `check(images) -> list[bool]` (True: flagged). Tests inject a fake.
- `bot.engine.safety_checker.SafetyCheckerModel`: the model (diffusers' safety checker), loaded
  from NSFW_MODEL on the first check, not at start-up.
- `ImageScreen`: the filter mode and its checker, as the Discord front uses them. With the
  filter off nothing is checked or loaded. A flagged image is posted as a spoiler
  (`SPOILER_` file name) or not posted at all (a grid shows a blank tile in its place); the
  files on disk are never changed.

Nothing here imports torch or diffusers until a checker is actually used.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

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
        from bot.engine.safety_checker import SafetyCheckerModel

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
