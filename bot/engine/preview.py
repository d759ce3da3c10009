"""Cheap progress previews: latents projected to RGB with the family's published factors."""

from __future__ import annotations

import torch
from PIL import Image

from bot.engine.family import ModelFamily
from bot.grid import render_grid


def latents_to_preview(latents: torch.Tensor, family: ModelFamily) -> Image.Image:
    """A low-res picture of a batch of latents (a 2x2 grid for four images). No VAE, no weights."""
    factors = torch.tensor(family.latent_rgb, dtype=torch.float32)
    bias = torch.tensor(family.latent_rgb_bias, dtype=torch.float32)
    batch = latents.detach().to("cpu", torch.float32)
    rgb = torch.einsum("bchw,cr->bhwr", batch, factors) + bias
    pixels = ((rgb + 1.0) * 127.5).clamp(0, 255).to(torch.uint8).numpy()
    images = [Image.fromarray(array, "RGB") for array in pixels]
    return render_grid(images)
