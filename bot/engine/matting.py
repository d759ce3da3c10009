"""Soft edges for Remove background (`MATTE_MODEL`): ViTMatte refines the segmentation model's mask.

SAM's mask is hard (0 or 255) and coarse at the edges (hair, fur, lace). With MATTE_MODEL set, a
trimap is made from it — sure foreground well inside the mask, sure background well outside, an
unknown band along its edge — and transformers' `VitMatteForImageMatting` estimates the alpha in
that band. The model runs at a working size (long side at most `MATTE_SIDE`, a ViT's tokens grow
with the area); its alpha is scaled back to the picture, and the sure regions stay exactly 255 / 0,
so the cut-out never gains or loses anything away from the edge. Loaded on the worker thread on
first use, once; `tiny` builds an embedded tiny one (random weights) for tests.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageFilter

from bot.errors import JobFailed

if TYPE_CHECKING:
    from bot.config import Config

__all__ = ["MATTE_SIDE", "Matter", "combine", "matte_model_missing", "matter_for", "trimap_of"]

log = logging.getLogger(__name__)

# The long side ViTMatte works at (its alpha is scaled back to the picture).
MATTE_SIDE = 1024
# The unknown band's half-width, as a share of the picture's short side (at least 2 px).
_BAND_SHARE = 0.015
OFF = frozenset({"", "off", "none"})
UNKNOWN = 128


def _band(size: tuple[int, int]) -> int:
    return max(2, round(min(size) * _BAND_SHARE))


def trimap_of(mask: Image.Image) -> Image.Image:
    """The trimap of a hard mask: 255 sure foreground, 0 sure background, `UNKNOWN` within about
    the band's width of the mask's edge (a blur thresholded: linear time at any size)."""
    hard = mask.convert("L").point(lambda value: 255 if value >= 128 else 0)
    blurred = np.asarray(hard.filter(ImageFilter.BoxBlur(_band(hard.size))))
    trimap = np.full(blurred.shape, UNKNOWN, dtype=np.uint8)
    trimap[blurred >= 254] = 255
    trimap[blurred <= 1] = 0
    return Image.fromarray(trimap, mode="L")


def combine(trimap: Image.Image, matte: Image.Image) -> Image.Image:
    """The alpha: the trimap's sure regions as they are, the model's matte in the unknown band."""
    known = np.asarray(trimap)
    alpha = np.where(known == UNKNOWN, np.asarray(matte.convert("L")), known).astype(np.uint8)
    return Image.fromarray(alpha, mode="L")


class Matter:
    """MATTE_MODEL on one device, loaded on first use."""

    def __init__(
        self, source: str, device: Any, *, setting: str = "", tiny_folder: Path | None = None
    ) -> None:
        self.source = source
        self.setting = setting or source
        self.device = device
        self.tiny_folder = tiny_folder
        self._loaded: tuple[Any, Any] | None = None
        self._failed: JobFailed | None = None

    def _load(self) -> tuple[Any, Any]:
        if self._failed is not None:
            raise self._failed
        if self._loaded is None:
            from transformers import VitMatteForImageMatting, VitMatteImageProcessor

            if self.tiny_folder is not None:
                from bot.engine.tiny_segment import build_tiny_vitmatte

                build_tiny_vitmatte(self.tiny_folder)
            started = time.perf_counter()
            try:
                processor = VitMatteImageProcessor.from_pretrained(self.source)
                model = VitMatteForImageMatting.from_pretrained(self.source).to(self.device).eval()
            except Exception as error:  # hub/IO errors come in many types: the reason goes to the log
                log.warning("MATTE_MODEL=%s could not be loaded: %s", self.source, error)
                self._failed = JobFailed(
                    f"Remove background could not load its matting model (MATTE_MODEL `{self.setting}`). "
                    "Its operator can fix the setting or leave it empty (hard edges)."
                )
                raise self._failed from None
            self._loaded = (processor, model)
            log.info("Matting model %s loaded in %.1f s", self.source, time.perf_counter() - started)
        return self._loaded

    def matte(self, image: Image.Image, trimap: Image.Image) -> Image.Image:
        """The model's alpha for `image` and `trimap`, at the picture's size ("L")."""
        import torch

        processor, model = self._load()
        scale = min(1.0, MATTE_SIDE / max(image.size))
        work = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        picture = image.convert("RGB").resize(work, Image.Resampling.LANCZOS)
        small = trimap.resize(work, Image.Resampling.NEAREST)
        inputs = processor(images=picture, trimaps=small, return_tensors="pt").to(self.device)
        with torch.inference_mode():
            alphas = model(**inputs).alphas  # (1, 1, padded h, padded w), 0–1
        alpha = alphas[0, 0, : work[1], : work[0]].float().clamp(0, 1).cpu().numpy()
        matte = Image.fromarray((alpha * 255).round().astype(np.uint8), mode="L")
        return matte.resize(image.size, Image.Resampling.BILINEAR)

    def refine(self, image: Image.Image, mask: Image.Image) -> Image.Image:
        """Remove background's alpha: `mask` (hard) with its edge band matted by the model."""
        trimap = trimap_of(mask)
        if not (np.asarray(trimap) == UNKNOWN).any():
            return trimap
        return combine(trimap, self.matte(image, trimap))


def _resolve(name: str, models_dir: Path) -> tuple[str, Path | None]:
    if name.lower() == "tiny":
        folder = models_dir / "tiny-vitmatte"
        return str(folder), folder
    if not Path(name).expanduser().is_dir() and (models_dir / name).is_dir():
        return str(models_dir / name), None
    return name, None


def matter_for(settings: Config, device: Any) -> Matter | None:
    """The Matter MATTE_MODEL names (None when off); nothing is loaded yet."""
    name = settings.matte_model.strip()
    if name.lower() in OFF:
        return None
    source, tiny = _resolve(name, settings.models_dir)
    return Matter(source, device, setting=name, tiny_folder=tiny)


def matte_model_missing(settings: Config) -> str | None:
    """Why MATTE_MODEL cannot be used (checked before a Remove background job is queued), or None.
    A repo id is taken on trust here: the worker downloads it on first use."""
    name = settings.matte_model.strip()
    if name.lower() in OFF or name.lower() == "tiny":
        return None
    path = Path(name).expanduser()
    looks_local = path.is_absolute() or name.startswith((".", "~")) or name.count("/") != 1
    if looks_local and not path.is_dir() and not (settings.models_dir / name).is_dir():
        return f"Remove background is not available: the MATTE_MODEL folder `{name}` does not exist."
    return None
