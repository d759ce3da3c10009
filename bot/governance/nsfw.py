"""The NSFW policy: what every front (Discord, web, CLI) does with images the checker flagged.

The checker itself (bot/engine/safety_checker.py) runs in the GPU worker when NSFW_FILTER is on;
its verdicts are stored with the job (`job.meta["nsfw"]`, one bool per image, True: flagged)
before the job is done. The fronts only read them, through `NsfwPolicy`; nothing here loads a
model. With NSFW_FILTER:

- `off`: nothing is checked or hidden.
- `spoiler`: a flagged image is shown as a spoiler (Discord: a `SPOILER_` file name; web and CLI:
  blurred until asked for).
- `block`: a flagged image is not shown (a grid shows a plain tile in its place; a single image
  is replaced by a short notice).

With the filter on, a job without stored verdicts (finished while the filter was off or before
the checker moved into the worker, or whose check failed) counts as flagged, unless the operator
set NSFW_NO_VERDICT=show. The files on disk are never changed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageFilter

from bot.engine.safety_checker import checker_source

if TYPE_CHECKING:
    from bot.config import Config
    from bot.jobs.models import Job

__all__ = [
    "BLOCKED_NOTICE",
    "PLACEHOLDER_GREY",
    "NsfwFilter",
    "NsfwPolicy",
    "blur_flagged",
    "hide_flagged",
]

log = logging.getLogger(__name__)

BLOCKED_NOTICE = "Hidden by this server's content filter."
PLACEHOLDER_GREY = (54, 57, 63)
# Strong enough that nothing can be made out at any size (relative to the picture's short side).
BLUR_FRACTION = 0.08


class NsfwFilter(StrEnum):
    OFF = "off"
    SPOILER = "spoiler"
    BLOCK = "block"


def hide_flagged(images: Sequence[Image.Image], flagged: Sequence[bool]) -> list[Image.Image]:
    """The images with each flagged one replaced by a plain tile of the same size."""
    return [
        Image.new("RGB", image.size, PLACEHOLDER_GREY) if flag else image
        for image, flag in zip(images, flagged, strict=True)
    ]


def blur_flagged(images: Sequence[Image.Image], flagged: Sequence[bool]) -> list[Image.Image]:
    """The images with each flagged one blurred beyond recognition (same size)."""
    return [
        image.convert("RGB").filter(ImageFilter.GaussianBlur(max(4.0, min(image.size) * BLUR_FRACTION)))
        if flag
        else image
        for image, flag in zip(images, flagged, strict=True)
    ]


@dataclass(frozen=True)
class NsfwPolicy:
    """NSFW_FILTER as the fronts apply it to the verdicts stored with each job."""

    mode: NsfwFilter = NsfwFilter.OFF
    # NSFW_NO_VERDICT: whether images without a stored verdict count as flagged ("flag") or not.
    no_verdict_flagged: bool = True

    @classmethod
    def from_settings(cls, settings: Config) -> NsfwPolicy:
        """The policy NSFW_FILTER asks for; ConfigError when the filter's checker cannot be had."""
        checker_source(settings)  # validates; the model itself is the GPU worker's
        return cls(NsfwFilter(settings.nsfw_filter), settings.nsfw_no_verdict == "flag")

    @property
    def active(self) -> bool:
        return self.mode is not NsfwFilter.OFF

    def flagged(self, job: Job, count: int) -> list[bool]:
        """Which of the job's `count` images (by index) to treat as flagged: all False with the
        filter off; the stored verdicts; NSFW_NO_VERDICT's answer when the job has none (see the module doc)."""
        if not self.active:
            return [False] * count
        stored = job.meta.get("nsfw")
        if isinstance(stored, list) and len(stored) == count:
            return [bool(flag) for flag in stored]
        if count:
            verdict = "flagged" if self.no_verdict_flagged else "safe (NSFW_NO_VERDICT=show)"
            log.info(
                "job %s has no NSFW verdicts for its %d images; they count as %s", job.id, count, verdict
            )
        return [self.no_verdict_flagged] * count

    def spoilers(self, flagged: Sequence[bool]) -> bool:
        """Whether a picture showing these images goes out as a spoiler."""
        return self.mode is NsfwFilter.SPOILER and any(flagged)

    def blocks(self, flagged: Sequence[bool]) -> bool:
        """Whether some of these images must not be shown at all."""
        return self.mode is NsfwFilter.BLOCK and any(flagged)

    def covered(self, pictures: Sequence[Image.Image], flagged: Sequence[bool]) -> list[Image.Image]:
        """The pictures as shown without a deliberate click (web pages, the CLI's output): flagged
        ones blurred (spoiler) or blanked (block); all as they are with the filter off."""
        if self.mode is NsfwFilter.SPOILER:
            return blur_flagged(pictures, flagged)
        if self.mode is NsfwFilter.BLOCK:
            return hide_flagged(pictures, flagged)
        return list(pictures)

    def covered_picture(self, paths: Sequence[Path], flagged: Sequence[bool]) -> Image.Image:
        """The grid (one path: the picture) of these image files as `covered` shows them.
        Blocking (reads the files): run it in a thread."""
        from bot.grid import render_grid

        pictures = []
        for path in paths:
            with Image.open(path) as opened:
                pictures.append(opened.convert("RGB"))
        return render_grid(self.covered(pictures, flagged))
