"""Pure data that crosses the engine boundary: what to generate, and what came out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from PIL import Image

if TYPE_CHECKING:
    from bot.engine.family import ModelFamily


@dataclass(frozen=True)
class WeightedPrompt:
    """One part of a Midjourney multi-prompt (`text::weight`)."""

    text: str
    weight: float = 1.0


@dataclass(frozen=True)
class GenerationRequest:
    """A concrete Stable Diffusion recipe. JSON-serialisable (see `to_dict`/`from_dict`).

    `weighted_prompts`, when given, replaces `prompt` for conditioning (the text of `prompt` is
    still what the metadata records). `seed` is the seed of the first image; image n uses
    `seed + n`, so each image of a grid can be reproduced alone.
    """

    prompt: str
    width: int
    height: int
    seed: int
    steps: int = 20
    guidance_scale: float = 7.0
    negative_prompt: str = ""
    weighted_prompts: tuple[WeightedPrompt, ...] = ()
    batch_size: int = 4
    # 0..1: spreads guidance across the images of a batch so they differ more (Midjourney --chaos).
    chaos: float = 0.0
    # Percent of the steps to run before decoding (Midjourney --stop); 100 = all.
    stop: int = 100
    # Seamless tiling: circular padding in the UNet and VAE convolutions (Midjourney --tile).
    tile: bool = False
    # img2img / inpaint / upscale denoising strength (0..1); unused by txt2img.
    strength: float = 0.75
    # Which model to use; "" means the loaded default model.
    model: str = ""
    # Sampler by name (engine/sampling.py); "" means the model family's own.
    sampler: str = ""
    # LoRAs applied for this job only: (name in models/loras/ or hub id, weight).
    loras: tuple[tuple[str, float], ...] = ()
    # Midjourney --exp 0–100: FreeU strength on UNet models (engine/aesthetics.py); 0 = off.
    exp: int = 0
    # --hd by a high-res pass: (width, height) of the first pass, then resize + img2img to the
    # request's size; None: one pass at the request's size.
    hires_from: tuple[int, int] | None = None
    # Metadata the engine does not read (Midjourney parameters; `draft`: the full-quality recipe).
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"width and height must be positive, got {self.width}x{self.height}")
        if self.width % 8 or self.height % 8:
            raise ValueError(f"width and height must be divisible by 8, got {self.width}x{self.height}")
        if self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if not 1 <= self.batch_size <= 8:
            raise ValueError(f"batch_size must be 1..8, got {self.batch_size}")
        if not 0 <= self.seed <= 2**32 - 1:
            raise ValueError(f"seed must be 0..4294967295, got {self.seed}")
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"strength must be 0..1, got {self.strength}")
        if not 0 <= self.exp <= 100:
            raise ValueError(f"exp must be 0..100, got {self.exp}")
        if self.hires_from is not None and (self.hires_from[0] % 8 or self.hires_from[1] % 8):
            raise ValueError(f"hires_from must be divisible by 8, got {self.hires_from}")
        if not 1 <= self.stop <= 100:
            raise ValueError(f"stop must be 1..100, got {self.stop}")

    @property
    def seeds(self) -> list[int]:
        return [(self.seed + n) % 2**32 for n in range(self.batch_size)]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["weighted_prompts"] = [asdict(p) for p in self.weighted_prompts]
        data["loras"] = [[name, weight] for name, weight in self.loras]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationRequest:
        data = dict(data)
        data["weighted_prompts"] = tuple(WeightedPrompt(**p) for p in data.get("weighted_prompts", ()))
        data["loras"] = tuple((str(name), float(weight)) for name, weight in data.get("loras", ()))
        if data.get("hires_from") is not None:
            data["hires_from"] = tuple(data["hires_from"])
        return cls(**data)

    @property
    def is_draft(self) -> bool:
        """A `--draft` job: `extra["draft"]` holds the full-quality steps, guidance and LoRAs."""
        return isinstance(self.extra.get("draft"), dict)

    def enhanced(self) -> GenerationRequest:
        """The full-quality request of a draft (same seeds, prompt and size); itself if not a draft."""
        if not self.is_draft:
            return self
        full = self.extra["draft"]
        extra = {key: value for key, value in self.extra.items() if key != "draft"}
        return replace(
            self,
            steps=int(full["steps"]),
            guidance_scale=float(full["guidance_scale"]),
            sampler=str(full.get("sampler", "")),
            loras=tuple((str(name), float(weight)) for name, weight in full.get("loras", ())),
            extra=extra,
        )


@dataclass(frozen=True)
class StepProgress:
    """Handed to the step callback after every denoising step (on the worker thread)."""

    step: int
    total: int
    # Latents of the batch at this step (a torch tensor); turn into a picture with preview.py.
    latents: Any = None
    # The engine's own pictures of these latents (a tiny VAE decoder), one per image of the batch,
    # when it has one; called only when a preview is wanted.
    render: Callable[[], list[Image.Image]] | None = None
    # The family of the model that made these latents; None: the worker's default model's. A --v
    # alias may be another family than MODEL (16-channel FLUX latents beside SD 1.x's 4).
    family: ModelFamily | None = None


# Called on the worker thread after each step. Raise (e.g. JobCancelled) to stop the job.
StepCallback = Callable[[StepProgress], None]


@dataclass
class GenerationResult:
    """Images in batch order, with the seed each one was made from."""

    images: list[Image.Image]
    seeds: list[int]
    model_name: str
    sampler: str
    steps: int
    guidance_scale: float
    seconds: float = 0.0
    # What operations without images return (describe, shorten) and how references were used.
    details: dict[str, Any] = field(default_factory=dict)
    # The GPU worker's NSFW checker: True per flagged image; None when the images were not
    # checked (NSFW_FILTER=off, or the check failed).
    nsfw: tuple[bool, ...] | None = None
    # The model family that made the images ("sdxl", "flux-dev", ...; "" when not an engine's).
    family: str = ""
    # Video operations: the frames of each clip, in batch order (`images` holds their posters).
    clips: list[list[Image.Image]] = field(default_factory=list)


class JobCancelled(Exception):
    """Raised from a step callback to stop a generation; the engine then decodes nothing."""


def shares_call(a: GenerationRequest, b: GenerationRequest) -> bool:
    """Whether two txt2img requests can run in one pipeline call (same model, size, steps, sampler,
    guidance, LoRAs, --tile, --stop, --exp and --hd's first pass; prompts, negative prompts, chaos and seeds may differ)."""
    fields = (
        "model",
        "width",
        "height",
        "steps",
        "sampler",
        "guidance_scale",
        "loras",
        "tile",
        "stop",
        "exp",
        "hires_from",
    )
    return all(getattr(a, name) == getattr(b, name) for name in fields)
