"""Images as prompts: IP-Adapter with several reference images, and a fallback without it.

Midjourney has four kinds of reference: image prompts (`--iw`), style references (`--sref`,
`--sw`), character references (`--cref`, `--cw`) and object/omni references (`--oref`, `--ow`);
`/blend` is image prompts with no text. Each kind gets its own copy of the IP-Adapter (loaded
from `IP_ADAPTER`, a folder laid out like `h94/IP-Adapter`) so each has its own scale; a style
reference only feeds the style layers where the model family has known ones (InstantStyle).

The adapter is attached to the shared UNet only for the duration of a reference call (its
attention processors are swapped in and out), so ordinary txt2img/img2img calls are unchanged.

Without IP-Adapter the fallback still mixes: every reference image is encoded by the VAE, the
latents are averaged, decoded, and the prompt is run as img2img from that mix. Results say which
method made them (`GenerationResult.details["method"]`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from PIL import Image

from bot.errors import JobFailed

__all__ = [
    "FALLBACK_METHOD",
    "FALLBACK_STRENGTH",
    "IP_ADAPTER_METHOD",
    "IPAdapterReferences",
    "IPAdapterSource",
    "ReferenceImage",
    "ReferenceKind",
    "adapter_id",
    "average_latent_image",
    "resolve_ip_adapter",
    "style_layer_scale",
]

log = logging.getLogger(__name__)

IP_ADAPTER_METHOD = "IP-Adapter"
FALLBACK_METHOD = "averaged VAE latents + img2img (no IP-Adapter configured)"
# img2img strength of the fallback: enough to re-imagine the mix, little enough to keep it.
FALLBACK_STRENGTH = 0.75


class ReferenceKind(StrEnum):
    """What a reference image stands for; one IP-Adapter slot each, in this order."""

    IMAGE = "image"
    STYLE = "style"
    CHARACTER = "character"
    OBJECT = "object"


@dataclass(frozen=True)
class ReferenceImage:
    """One reference picture and the IP-Adapter scale of its kind (from --iw/--sw/--cw/--ow).

    `embedding`, when given, is the adapter's image embedding itself (a stored profile or
    moodboard vector, float32 values): it is used as is and `image` may be None.
    """

    kind: ReferenceKind
    image: Image.Image | None
    scale: float
    embedding: tuple[float, ...] | None = None


@dataclass(frozen=True)
class IPAdapterSource:
    """Where the IP-Adapter is: a folder or hub repo laid out like `h94/IP-Adapter`."""

    location: str
    # Path of the adapter weights inside `location`, e.g. "models/ip-adapter_sd15.safetensors".
    weight: str
    # Folder of the CLIP image encoder inside `location`.
    image_encoder: str = "models/image_encoder"
    # The embedded tiny adapter: built (for the loaded UNet) on first use.
    tiny: bool = False


# The attention layers that carry style (InstantStyle): up block, index within it. Families
# without a known style layer use every layer for style references.
_STYLE_LAYERS: dict[str, tuple[int, int, int]] = {
    # family: (up block, attention index, attentions in that block)
    "sdxl": (0, 1, 3),
    "tiny": (1, 1, 2),
}


def style_layer_scale(family: str, scale: float) -> float | dict[str, Any]:
    """`set_ip_adapter_scale` config for a style reference: only the style layers, where known."""
    if family not in _STYLE_LAYERS or scale == 0:
        return scale
    block, index, count = _STYLE_LAYERS[family]
    return {"up": {f"block_{block}": [scale if n == index else 0.0 for n in range(count)]}}


class IPAdapterReferences:
    """Loads the IP-Adapter (one copy per reference kind) and runs reference calls through it."""

    def __init__(self, pipe: Any, source: IPAdapterSource, family: str) -> None:
        self.pipe = pipe
        self.source = source
        self.family = family
        self._adapter_processors: dict[str, Any] | None = None
        self._projection: Any = None

    def load(self) -> None:
        """Load the adapter weights and CLIP image encoder (once), then detach them again."""
        if self._adapter_processors is not None:
            return
        unet = self.pipe.unet
        if self.source.tiny:
            from bot.engine.tiny_references import build_tiny_ip_adapter

            build_tiny_ip_adapter(Path(self.source.location), dict(unet.config))
        plain = dict(unet.attn_processors)
        subfolder, _, weight_name = self.source.weight.rpartition("/")
        kinds = list(ReferenceKind)
        log.info(
            "Loading IP-Adapter %s (%s) for %d reference kinds",
            self.source.location,
            self.source.weight,
            len(kinds),
        )
        try:
            self.pipe.load_ip_adapter(
                self.source.location,
                subfolder=[subfolder] * len(kinds),
                weight_name=[weight_name] * len(kinds),
                image_encoder_folder=self.source.image_encoder,
            )
        except Exception as error:  # diffusers/hub raise many types; say which setting is wrong
            self._detach(plain)
            reason = " ".join(str(error).split())[:300] or type(error).__name__
            raise JobFailed(
                f"The IP-Adapter could not be loaded (IP_ADAPTER={self.source.location!r}, "
                f"IP_ADAPTER_WEIGHT={self.source.weight!r}): {reason}"
            ) from error
        self._adapter_processors = dict(unet.attn_processors)
        self._projection = unet.encoder_hid_proj
        self._detach(plain)

    def _detach(self, plain: dict[str, Any]) -> None:
        unet = self.pipe.unet
        unet.set_attn_processor(dict(plain))  # diffusers empties the dict it is given
        unet.encoder_hid_proj = None
        unet.config.encoder_hid_dim_type = None

    @contextmanager
    def attached(self, scales: list[float | dict[str, Any]]) -> Iterator[None]:
        """The adapter in the UNet, with one scale (config) per reference kind, while active."""
        self.load()
        unet = self.pipe.unet
        plain = dict(unet.attn_processors)
        unet.set_attn_processor(dict(self._adapter_processors))
        unet.encoder_hid_proj = self._projection
        unet.config.encoder_hid_dim_type = "ip_image_proj"
        try:
            self.pipe.set_ip_adapter_scale(scales)
            yield
        finally:
            self._detach(plain)

    def image_embeds(self, images: list[Image.Image]) -> Any:
        """CLIP image embeddings (n, dim) of `images`, by the adapter's own image encoder."""
        import torch

        self.load()
        encoder = self.pipe.image_encoder
        pixels = self.pipe.feature_extractor(images=[i.convert("RGB") for i in images], return_tensors="pt")
        pixels = pixels.pixel_values.to(device=encoder.device, dtype=encoder.dtype)
        with torch.inference_mode():
            return encoder(pixels).image_embeds

    def _kind_embeds(self, references: list[ReferenceImage]) -> Any:
        """(n, dim) embeddings of one kind's references, in order: pictures are encoded together
        (one batch, as before), stored embeddings are used as they are."""
        import torch

        pictures = [reference.image for reference in references if reference.embedding is None]
        encoded = iter(self.image_embeds(pictures)) if pictures else iter(())
        rows = []
        for reference in references:
            if reference.embedding is None:
                rows.append(next(encoded))
            else:
                rows.append(torch.tensor(reference.embedding, dtype=torch.float32))
        dtype = rows[0].dtype if pictures else torch.float32
        return torch.stack([row.to(dtype=dtype, device=rows[0].device) for row in rows])

    def call_arguments(
        self, references: list[ReferenceImage], batch_size: int, guidance: bool
    ) -> tuple[list[float | dict[str, Any]], list[Any]]:
        """Per-kind scales and `ip_adapter_image_embeds` (negatives = zeros, as diffusers does)."""
        import torch

        scales: list[float | dict[str, Any]] = []
        embeds: list[Any] = []
        dim = None
        per_kind: dict[ReferenceKind, Any] = {}
        for kind in ReferenceKind:
            of_kind = [reference for reference in references if reference.kind is kind]
            if of_kind:
                per_kind[kind] = self._kind_embeds(of_kind)
                dim = per_kind[kind].shape[-1]
        for kind in ReferenceKind:
            of_kind = [reference for reference in references if reference.kind is kind]
            if kind in per_kind:
                positive = per_kind[kind][None].expand(batch_size, -1, -1)
                scale = of_kind[0].scale
                scales.append(style_layer_scale(self.family, scale) if kind is ReferenceKind.STYLE else scale)
            else:  # an unused slot: scale 0 makes diffusers skip it; it still needs a tensor
                positive = torch.zeros(batch_size, 1, dim or 1)
                scales.append(0.0)
            both = torch.cat([torch.zeros_like(positive), positive]) if guidance else positive
            embeds.append(both.to(device=self.pipe.device, dtype=self.pipe.unet.dtype))
        return scales, embeds


def average_latent_image(vae_pipe: Any, images: list[Image.Image], width: int, height: int) -> Image.Image:
    """The fallback mix: VAE-encode every image at the request's size, average, decode."""
    import torch

    processor = vae_pipe.image_processor
    vae = vae_pipe.vae
    with torch.inference_mode():
        latents = []
        for image in images:
            pixels = processor.preprocess(
                image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
            )
            pixels = pixels.to(device=vae.device, dtype=vae.dtype)
            latents.append(vae.encode(pixels).latent_dist.mean)
        mixed = torch.stack(latents).mean(dim=0)
        decoded = vae.decode(mixed).sample
    return processor.postprocess(decoded, output_type="pil")[0]


def adapter_id(source: IPAdapterSource | None) -> str:
    """Which adapter made a style embedding ("" for none): stored with profile and moodboard codes,
    which only mean the same style on the same adapter."""
    return "" if source is None else f"{source.location}#{source.weight}"


def resolve_ip_adapter(value: str, models_dir: Path, weight: str, family: str) -> IPAdapterSource | None:
    """What `IP_ADAPTER` names: "" (off), "tiny", a folder or a hub repo id."""
    from bot.engine.tiny_references import TINY_IP_ADAPTER_WEIGHT

    value = value.strip()
    if not value:
        return None
    if value.lower() == "tiny":
        return IPAdapterSource(
            str(models_dir / "tiny-ip-adapter"), weight or TINY_IP_ADAPTER_WEIGHT, tiny=True
        )
    default_weight = (
        "sdxl_models/ip-adapter_sdxl_vit-h.safetensors"
        if family == "sdxl"
        else "models/ip-adapter_sd15.safetensors"
    )
    return IPAdapterSource(value, weight or default_weight)
