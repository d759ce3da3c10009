"""The NSFW checker (NSFW_CHECKER): NudeNet's detector (bot/engine/nudenet.py, the default when
installed), or diffusers' `StableDiffusionSafetyChecker` with transformers' `CLIPImageProcessorPil`
(the PIL image processor: torchvision is not needed).

It runs in the GPU worker (the thread backend's worker thread, or each Ray replica), loaded once
per worker when it starts (one that cannot load is said then, once), and checks every finished image; the verdicts travel back with the
result (`GenerationResult.nsfw`) and are stored with the job. What the fronts then do with a
flagged image (spoiler, block) is bot/governance/nsfw.py's policy.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image

from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.config import Config

__all__ = [
    "CheckerUnavailable",
    "ImageChecker",
    "SafetyCheckerModel",
    "UnavailableChecker",
    "checker_kind",
    "checker_source",
    "load_safety_checker",
]

log = logging.getLogger(__name__)


class ImageChecker(Protocol):
    def check(self, images: Sequence[Image.Image]) -> list[bool]:
        """One verdict per image: True when it is flagged as not safe for work."""
        ...


class CheckerUnavailable(Exception):
    """The worker's checker could not be loaded (said once, at start): its images get no verdict
    and NSFW_NO_VERDICT decides, with no log line per job."""


class UnavailableChecker:
    """Stands in for a checker that failed to load: every check raises `CheckerUnavailable`."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def check(self, images: Sequence[Image.Image]) -> list[bool]:
        raise CheckerUnavailable(self.reason)


def checker_kind(settings: Config) -> str:
    """The checker NSFW_CHECKER names. `auto`: `safety-checker` when NSFW_MODEL names its weights,
    else `nudenet` when the nudenet package is installed (its detector ships in the wheel), else
    `safety-checker` (which then asks for NSFW_MODEL)."""
    if settings.nsfw_checker != "auto":
        return settings.nsfw_checker
    if settings.nsfw_model:
        return "safety-checker"
    from bot.engine.nudenet import nudenet_model_path

    return "nudenet" if nudenet_model_path() is not None else "safety-checker"


def checker_source(settings: Config) -> str | None:
    """What the checker loads when NSFW_FILTER is on (NudeNet's `.onnx` file, or NSFW_MODEL), None
    when it is off; ConfigError when the chosen checker has nothing to load (said once, at start)."""
    if settings.nsfw_filter == "off":
        return None
    if checker_kind(settings) == "nudenet":
        from bot.engine.nudenet import nudenet_model_path

        path = nudenet_model_path()
        if path is None or importlib.util.find_spec("onnxruntime") is None:
            raise ConfigError(
                "NSFW_CHECKER=nudenet needs the nudenet and onnxruntime packages: pip install '.[realweights]'"
            )
        return str(path)
    if not settings.nsfw_model:
        raise ConfigError(
            f"NSFW_FILTER={settings.nsfw_filter} needs NSFW_MODEL (NSFW_CHECKER=safety-checker): a folder "
            "or Hugging Face id of a StableDiffusionSafetyChecker (e.g. CompVis/stable-diffusion-safety-checker); "
            "or NSFW_CHECKER=nudenet (pip install '.[realweights]')"
        )
    return settings.nsfw_model


def load_safety_checker(settings: Config) -> ImageChecker | None:
    """The worker's checker (call it on the worker, once); None with NSFW_FILTER=off.

    Both load now (the first job needs them; NudeNet's detector takes about 0.2 s). ConfigError
    when the chosen checker cannot be had (no package, no NSFW_MODEL, diffusers' checker fails to
    load): the worker does not start. A NudeNet detector that is installed but fails to load is
    said once, here, in one line; the worker starts and its images get no verdict
    (NSFW_NO_VERDICT decides what members see), without a log line per job.
    """
    source = checker_source(settings)
    if source is None:
        return None
    if checker_kind(settings) == "nudenet":
        from bot.engine.nudenet import NudeNetChecker

        checker = NudeNetChecker(Path(source))
        try:
            checker.load()
        except Exception as error:
            reason = " ".join(str(error).split())[:300] or type(error).__name__
            treated = "flagged" if settings.nsfw_no_verdict == "flag" else "safe"
            log.error(
                "NSFW checker: NudeNet's detector (%s) could not be loaded: %s. Images get no verdict; "
                "NSFW_NO_VERDICT=%s treats them as %s.",
                source,
                reason,
                settings.nsfw_no_verdict,
                treated,
            )
            return UnavailableChecker(reason)
        log.info("NSFW checker: NudeNet (%s)", source)
        return checker
    checker = SafetyCheckerModel(source, settings.device)
    checker.load()
    return checker


class SafetyCheckerModel:
    """diffusers' Stable Diffusion safety checker, loaded from `source` by `load` (or the first check).

    `source` is a local folder or a Hugging Face id holding the checker and its image processor
    at the top (CompVis/stable-diffusion-safety-checker), or a pipeline folder with
    `safety_checker/` and `feature_extractor/` subfolders.
    """

    def __init__(self, source: str, device: str = "auto") -> None:
        self.source = source
        self.device = device
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any, Any] | None = None

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def load(self) -> None:
        """Load the model now (blocking; ConfigError if it cannot be loaded). Idempotent."""
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()

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
        """One verdict per image (True: flagged). Blocking: call it on the worker thread."""
        import numpy as np
        import torch

        self.load()
        with self._lock:
            assert self._loaded is not None
            checker, processor, (device, dtype) = self._loaded
            pictures = [image.convert("RGB") for image in images]
            pixels = processor(pictures, return_tensors="pt").pixel_values.to(device, dtype)
            # The checker blacks out flagged entries of `images`; only its verdicts are used here,
            # so it gets small stand-ins rather than copies of the pictures.
            stand_ins = [np.zeros((1, 1, 3), dtype=np.float32) for _ in pictures]
            with torch.inference_mode():
                _, flagged = checker(clip_input=pixels, images=stand_ins)
        return [bool(flag) for flag in flagged]
