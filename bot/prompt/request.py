"""`ImagineRequest`: one job of an /imagine prompt, fully resolved. Pure data, JSON-ready."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from bot.engine.request import GenerationRequest, WeightedPrompt
from bot.engine.video_spec import VIDEO_KEY
from bot.prompt.mapping import chaos_fraction

REFERENCE_FIELDS = ("style_refs", "character_refs", "object_refs")


@dataclass(frozen=True)
class ImagineRequest:
    """What one job generates: the Midjourney view (parameters) and the derived SD settings.

    `prompt` is the text the model is conditioned on (parameters and image URLs removed, a style
    template applied); `display_prompt` is what the user typed for this job (after permutations),
    for messages. `seed` None means "pick one when the job starts".
    """

    prompt: str
    display_prompt: str = ""
    negative_prompt: str = ""
    image_urls: tuple[str, ...] = ()
    weighted_prompts: tuple[WeightedPrompt, ...] = ()
    aspect: tuple[int, int] = (1, 1)
    width: int = 1024
    height: int = 1024
    seed: int | None = None
    chaos: int = 0
    stylize: int = 100
    quality: float = 1.0
    stop: int = 100
    tile: bool = False
    style: str = ""
    raw: bool = False
    weird: int = 0
    image_weight: float = 1.0
    # Reference images (--sref / --cref / --oref) and their weights (--sw / --cw / --ow).
    style_refs: tuple[str, ...] = ()
    style_weight: int = 100
    # `--sref CODE` / `--sref random` (resolved to its code): numeric style codes (style_codes.py).
    style_codes: tuple[int, ...] = ()
    # `--sv`: the style reference version asked for (recorded; one code mapping serves them all).
    style_version: int = 6
    # `--p` / `--profile`: (code, weight) pairs; code "" = the member's default profile.
    profiles: tuple[tuple[str, float], ...] = ()
    # IP-Adapter scale of the personalization (profiles, moodboards), from --stylize.
    personalization_scale: float = 0.0
    # The `profiles` resolved by admission to their stored style embeddings (weights applied as
    # repeats); empty until then (`python -m bot parse` does not read the store).
    profile_embeddings: tuple[tuple[float, ...], ...] = ()
    # `--exp`: experimental aesthetics 0–100 (FreeU strength, see mapping.py).
    exp: int = 0
    character_refs: tuple[str, ...] = ()
    character_weight: int = 100
    object_refs: tuple[str, ...] = ()
    object_weight: int = 100
    speed: str = "fast"
    version: str = ""
    model: str = ""
    family: str = ""
    repeat: int = 0
    draft: bool = False
    # Custom Zoom's `--zoom` (1–2); None elsewhere (/imagine refuses it).
    zoom: float | None = None
    # `--edit <link>`: the image the prompt edits (the Edit model); "" for a new image.
    edit_link: str = ""
    # Derived Stable Diffusion settings (see bot/prompt/mapping.py); a draft's own when `draft`.
    steps: int = 30
    guidance_scale: float = 6.0
    image_strength: float = 0.7
    # IP-Adapter scales (with IP_ADAPTER; see mapping.py): image prompts, style, character, object.
    image_prompt_scale: float = 0.5
    style_scale: float = 0.8
    character_scale: float = 1.0
    object_scale: float = 1.0
    sampler: str = ""
    # The style's LoRAs, then the draft LoRA (last) for a draft with DRAFT_LORA.
    loras: tuple[tuple[str, float], ...] = ()
    # A draft's full-quality recipe (for Enhance): steps, guidance, and the LoRAs without the draft one.
    full_steps: int = 0
    full_guidance: float = 0.0
    full_loras: tuple[tuple[str, float], ...] = ()
    # What the reply says about how the job runs (a draft's recipe, what the model ignores).
    draft_note: str = ""
    # `--hd` or `--sd`; with --hd on a family without native 2 MP, the size of the first pass.
    definition: str = "sd"
    hires_from: tuple[int, int] | None = None
    # --video: animate `image_urls[0]` (--motion, --raw, --loop, --end, --bs; see video_spec.py).
    video: bool = False
    motion: str = "low"
    loop: bool = False
    end_url: str = ""
    video_batch: int = 4

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: tuples become lists, `aspect` reads "W:H"."""
        data = asdict(self)
        data["image_urls"] = list(self.image_urls)
        data["weighted_prompts"] = [asdict(part) for part in self.weighted_prompts]
        data["aspect"] = f"{self.aspect[0]}:{self.aspect[1]}"
        data["loras"] = [[name, weight] for name, weight in self.loras]
        data["profiles"] = [[code, weight] for code, weight in self.profiles]
        data["style_codes"] = list(self.style_codes)
        data["profile_embeddings"] = [list(row) for row in self.profile_embeddings]
        data["full_loras"] = [[name, weight] for name, weight in self.full_loras]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImagineRequest:
        """The inverse of `to_dict` (unknown keys are ignored, so stored jobs survive new fields)."""
        known = {item.name for item in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        for name in ("image_urls", *REFERENCE_FIELDS, "style_codes"):
            values[name] = tuple(values.get(name, ()))
        values["profile_embeddings"] = tuple(tuple(row) for row in values.get("profile_embeddings", ()))
        values["profiles"] = tuple((str(code), float(weight)) for code, weight in values.get("profiles", ()))
        parts = values.get("weighted_prompts", ())
        values["weighted_prompts"] = tuple(WeightedPrompt(**part) for part in parts)
        for key in ("loras", "full_loras"):
            values[key] = tuple((str(name), float(weight)) for name, weight in values.get(key, ()))
        if values.get("hires_from") is not None:
            values["hires_from"] = tuple(values["hires_from"])
        if isinstance(values.get("aspect"), str):
            width, _, height = values["aspect"].partition(":")
            values["aspect"] = (int(width), int(height))
        elif "aspect" in values:
            values["aspect"] = tuple(values["aspect"])
        return cls(**values)

    def to_generation(self, seed: int, batch_size: int = 4) -> GenerationRequest:
        """The engine recipe for this job; `seed` is image 1's (pass `self.seed` when it is set).
        A --video job makes `--bs` clips; the job layer completes its spec from the settings."""
        if self.video:
            batch_size = self.video_batch
        return GenerationRequest(
            prompt=self.prompt,
            width=self.width,
            height=self.height,
            seed=seed,
            steps=self.steps,
            guidance_scale=self.guidance_scale,
            negative_prompt=self.negative_prompt,
            weighted_prompts=self.weighted_prompts,
            batch_size=batch_size,
            chaos=chaos_fraction(self.chaos),
            stop=self.stop,
            tile=self.tile,
            strength=self.image_strength,
            model=self.model,
            sampler=self.sampler,
            loras=self.loras,
            exp=self.exp,
            hires_from=self.hires_from,
            extra=self._draft_extra()
            | {
                "aspect": f"{self.aspect[0]}:{self.aspect[1]}",
                "stylize": self.stylize,
                "quality": self.quality,
                "style": self.style,
                "weird": self.weird,
                "image_weight": self.image_weight,
                "image_prompt_scale": self.image_prompt_scale,
                "references": self.references(),
                **self._personal_extra(),
            }
            | self._video_extra(),
        )

    def _video_extra(self) -> dict[str, Any]:
        if not self.video:
            return {}
        spec = {"motion": self.motion, "raw": self.raw, "loop": self.loop, "end": self.end_url}
        return {VIDEO_KEY: {**spec, "batch": self.video_batch}}

    def references(self) -> list[dict[str, Any]]:
        """The --sref / --cref / --oref images as `{"kind", "url", "scale"}` (JSON, for the job);
        `--sref` codes carry `code`, resolved `--p` profiles and moodboards `embedding`."""
        kinds = (
            ("style", self.style_refs, self.style_scale),
            ("character", self.character_refs, self.character_scale),
            ("object", self.object_refs, self.object_scale),
        )
        links = [{"kind": kind, "url": url, "scale": scale} for kind, urls, scale in kinds for url in urls]
        codes = [
            {"kind": "style", "url": "", "scale": self.style_scale, "code": code} for code in self.style_codes
        ]
        # Profiles and moodboards after the --sref images: the slot's scale is the first style
        # reference's, so --sw rules when there are --sref images and --stylize when not.
        personal = [
            {"kind": "style", "url": "", "scale": self.personalization_scale, "embedding": list(row)}
            for row in self.profile_embeddings
        ]
        return links[: len(self.style_refs)] + codes + personal + links[len(self.style_refs) :]

    def _personal_extra(self) -> dict[str, Any]:
        """The personal-style parameters, recorded in the recipe only when used."""
        extra: dict[str, Any] = {}
        if self.style_codes:
            extra["style_codes"] = list(self.style_codes)
        if self.style_refs or self.style_codes:
            extra["style_version"] = self.style_version
        if self.profiles:
            extra["profiles"] = [[code, weight] for code, weight in self.profiles]
            extra["personalization_scale"] = self.personalization_scale
        return extra

    def _draft_extra(self) -> dict[str, Any]:
        if not self.draft:
            return {}
        full_loras = [[name, weight] for name, weight in self.full_loras]
        recipe = {"steps": self.full_steps, "guidance_scale": self.full_guidance, "loras": full_loras}
        return {"draft": recipe}
