"""Progress previews: a tiny VAE decoder (TAESD / TAESDXL, diffusers' `AutoencoderTiny`) when one
is in `models/vae-approx/`, else the latents projected to RGB with the family's published factors.

TAESD decodes latents at a fraction of the VAE's cost, but on a CPU even that is seconds for
256 px tiles (measured: 4 s for two tiles, a third of a job). So the decoder keeps its own budget:
it starts at 32 latents a side (256 px tiles), and whenever a decode took more than 2% of the time
since the previous preview it halves the side (cost ÷ 4), down to 8; when even that is over budget
it steps aside and the latent-RGB projection is used. On a GPU it stays at 32.
"""

from __future__ import annotations

import logging
import math
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from bot.engine.family import ModelFamily
from bot.grid import render_grid

__all__ = [
    "PREVIEW_LATENT_SIDE",
    "TinyPreviewDecoder",
    "find_preview_decoder",
    "latents_to_images",
    "latents_to_preview",
]

log = logging.getLogger(__name__)

# The preview decoder sees at most this many latents a side (8 px each), at least the smaller.
PREVIEW_LATENT_SIDE = 32
SMALLEST_LATENT_SIDE = 8
# Share of the time between two previews that decoding one may take.
PREVIEW_BUDGET = 0.02
# Folder names in models/vae-approx/ per architecture (as ComfyUI and A1111 name them).
_FOLDERS = {"sd1": ("taesd",), "sd2": ("taesd",), "sdxl": ("taesdxl",)}


def latents_to_images(latents: torch.Tensor, family: ModelFamily) -> list[Image.Image]:
    """A low-res picture of each latent of a batch (one pixel per latent). No VAE, no weights."""
    factors = torch.tensor(family.latent_rgb, dtype=torch.float32)
    bias = torch.tensor(family.latent_rgb_bias, dtype=torch.float32)
    batch = latents.detach().to("cpu", torch.float32)
    rgb = torch.einsum("bchw,cr->bhwr", batch, factors) + bias
    pixels = ((rgb + 1.0) * 127.5).clamp(0, 255).to(torch.uint8).numpy()
    return [Image.fromarray(array, "RGB") for array in pixels]


def latents_to_preview(latents: torch.Tensor, family: ModelFamily) -> Image.Image:
    """A low-res picture of a batch of latents (a 2x2 grid for four images)."""
    return render_grid(latents_to_images(latents, family))


def find_preview_decoder(models_dir: Path, family: ModelFamily) -> Path | None:
    """`models/vae-approx/taesd` (SD 1.x/2.x) or `taesdxl` (SDXL), if it is a diffusers folder."""
    for name in _FOLDERS.get(family.architecture, ()):
        folder = models_dir / "vae-approx" / name
        if (folder / "config.json").is_file():
            return folder
    return None


class TinyPreviewDecoder:
    """A loaded `AutoencoderTiny` that turns a batch of latents into a preview grid."""

    def __init__(self, decoder: Any, autocast: torch.dtype | None = None) -> None:
        self.decoder = decoder
        self.autocast = autocast
        self.device = next(decoder.parameters()).device
        self.side = PREVIEW_LATENT_SIDE
        # False once even the smallest decode is over budget: use the latent projection.
        self.affordable = True
        self._last_call: float | None = None

    @classmethod
    def load(
        cls, folder: Path, device: torch.device, dtype: torch.dtype, autocast: torch.dtype | None = None
    ):
        from diffusers import AutoencoderTiny

        decoder = AutoencoderTiny.from_pretrained(folder, torch_dtype=dtype).to(device).eval()
        return cls(decoder, autocast)

    def _autocast(self) -> AbstractContextManager[Any]:
        if self.autocast is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast)

    def __call__(self, latents: torch.Tensor) -> Image.Image:
        """The preview grid of `latents` (the pipeline's scaled latents, as TAESD expects them)."""
        return render_grid(self.images(latents))

    def images(self, latents: torch.Tensor) -> list[Image.Image]:
        """One decoded picture per latent of the batch, in one decoder call (so one budget check
        for a batch that holds several jobs)."""
        started = time.perf_counter()
        side = max(latents.shape[-2:])
        if side > self.side:
            latents = torch.nn.functional.avg_pool2d(latents.float(), math.ceil(side / self.side))
        dtype = next(self.decoder.parameters()).dtype
        with torch.inference_mode(), self._autocast():
            images = self.decoder.decode(latents.detach().to(self.device, dtype)).sample
        pixels = ((images.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1)
        pictures = [Image.fromarray(array, "RGB") for array in pixels.cpu().numpy()]
        finished = time.perf_counter()
        self._keep_to_budget(finished - started, started)
        self._last_call = finished
        return pictures

    def _keep_to_budget(self, seconds: float, started: float) -> None:
        if self._last_call is None:
            return
        if seconds <= PREVIEW_BUDGET * (started - self._last_call + seconds):
            return
        if self.side > SMALLEST_LATENT_SIDE:
            self.side //= 2
            log.info("Progress previews over budget (%.2f s): decoding %d latents a side", seconds, self.side)
        else:
            self.affordable = False
            log.info(
                "Progress previews over budget even small (%.2f s): using the latent projection", seconds
            )
