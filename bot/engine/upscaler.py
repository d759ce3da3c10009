"""Super-resolution before the img2img refine pass of Upscale (Subtle/Creative).

An ESRGAN-family model in `models/upscalers/` is used through spandrel when spandrel is
installed (it is optional: it needs torchvision); otherwise Lanczos. Either way the result is
exactly `factor` times the input size.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from PIL import Image

log = logging.getLogger(__name__)

UPSCALER_SUFFIXES = (".safetensors", ".pth", ".pt")


def find_upscaler(models_dir: Path) -> Path | None:
    """The first upscaler file in `models/upscalers/`, in name order, or None."""
    folder = models_dir / "upscalers"
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.iterdir() if p.suffix in UPSCALER_SUFFIXES and p.is_file())
    return files[0] if files else None


def _spandrel_upscale(image: Image.Image, path: Path, device: torch.device) -> Image.Image:
    import numpy as np
    from spandrel import ModelLoader  # optional dependency, imported only when a model is present

    model = ModelLoader().load_from_file(str(path)).eval().to(device)
    pixels = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).permute(2, 0, 1).unsqueeze(0)
    with torch.inference_mode():
        output = model(pixels.to(device)).clamp(0, 1)
    array = (output[0].permute(1, 2, 0).float().cpu().numpy() * 255.0).round().astype("uint8")
    return Image.fromarray(array)


def super_resolve(
    image: Image.Image, factor: int, upscaler: Path | None, device: torch.device
) -> Image.Image:
    """Enlarge `image` by `factor` with the upscaler model if usable, else Lanczos."""
    target = (image.width * factor, image.height * factor)
    if upscaler is not None:
        try:
            enlarged = _spandrel_upscale(image, upscaler, device)
            return enlarged if enlarged.size == target else enlarged.resize(target, Image.Resampling.LANCZOS)
        except ImportError:
            log.warning("Upscaler %s found but spandrel is not installed; using Lanczos", upscaler.name)
        except Exception:
            log.exception("Upscaler %s failed; using Lanczos", upscaler.name)
    return image.resize(target, Image.Resampling.LANCZOS)
