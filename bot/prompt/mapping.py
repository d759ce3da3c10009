"""How Midjourney parameters become Stable Diffusion settings (Midjourney's own are secret).

| Midjourney        | Stable Diffusion setting | Rule                                                       |
|-------------------|--------------------------|------------------------------------------------------------|
| `--ar W:H`        | width × height           | native area of the model family, on its grid (sizes.py)    |
| `--quality q`     | steps                    | round(base × q), at least 1; base = STEPS or the family's  |
|                   |                          | default (SDXL 30 → 8/15/30/60/120 for .25/.5/1/2/4)  |
| `--stylize s`     | guidance scale (CFG)     | g = family default (SDXL 6, SD 1/2 7); s 0 → 1.25 g,       |
|                   |                          | s 100 → g, s 1000 → 0.75 g, linear in between. Like        |
|                   |                          | Midjourney, low stylize follows the prompt more literally  |
| `--style raw`     | no house style           | the server's default style preset is not applied           |
| `--style <name>`  | style preset             | template around the prompt, extra negative, default params |
| `--chaos c`       | chaos = c / 100          | each of the 4 images gets its own seeded nudge of the prompt embedding |
| `--weird w`       | extra multi-prompt part  | "weird, surreal, unconventional" at weight w / 6000        |
|                   |                          | (0 … 0.5 beside the prompt's 1)                            |
| `--iw x`          | image strength           | img2img strength from the image prompt: 1 − 0.3 x, at      |
|                   |                          | least 0.1 (x 1 → 0.7; x 0 ignores the image)               |
|                   |                          | With IP_ADAPTER: txt2img + IP-Adapter at scale 0.5 x       |
| `--sref URLs`     | IP-Adapter (style slot)  | style layers only where known (SDXL up block 0, InstantStyle); |
| `--sref CODE`     | IP-Adapter (style slot)  | the code's style swatch (engine/style_codes.py) as a style |
|                   |                          | image; `random` picks a code, recorded in the prompt       |
| `--sref X::w`     | repeats                  | a weighted item is used round(w) times (0: dropped), so it |
|                   |                          | gets about w times the attention of the style tokens       |
| `--sv n`          | recorded                 | one code mapping serves every version                      |
| `--p CODES`       | IP-Adapter (style slot)  | the profiles'/moodboards' stored embeddings as style tokens; |
| `--stylize s`     | their scale              | s 0 → 0.3, 100 → 0.8, 1000 → 1.2, linear in between        |
| `--exp e`         | FreeU                    | b1, b2, s1, s2 from 1 toward the family's published FreeU  |
|                   |                          | values in proportion e / 100 (engine/aesthetics.py)        |
|                   | PAG (SD 3)               | perturbed-attention guidance, pag_scale 3 × e / 100; FLUX: |
|                   |                          | no effect, and the reply says so                           |
| `--raw`           | `--style raw`            | no house style                                             |
| `--sw s`          | its scale                | s 0 → 0, 100 → 0.8, 1000 → 1.5, linear in between          |
| `--cref URLs`     | IP-Adapter (character)   | all layers; scale cw / 100 (default 100 → 1.0)             |
| `--oref URL`      | IP-Adapter (object)      | all layers; ow 0 → 0, 100 → 1.0, 1000 → 1.5, linear between |
|                   |                          | No IP_ADAPTER: all reference images are VAE-encoded, their |
|                   |                          | latents averaged, decoded, then img2img at the --iw strength |
| `/blend`          | IP-Adapter, no text      | every image in the image slot at scale 1.0 (fallback as above) |
| `--stop n`        | stop = n                 | percent of the steps run before decoding                   |
| `--tile`          | tile                     | circular padding in the UNet and VAE convolutions          |
| `--seed n`        | seed                     | seed of image 1; image k uses seed + k − 1                 |
| `--no a, b`       | negative prompt "a, b"   | the same idea as `a::-.5 b::-.5`, kept as negative prompt  |
|                   |                          | (FLUX has none: ignored there, and the reply says so)      |
| `--v` / `--niji`  | model                    | MODEL_ALIASES entry; sizes follow that model's family      |
| `--hd` / `--sd`   | size                     | `--hd` ≈ 2 MP: FLUX natively (1440² area); other families  |
|                   |                          | render native, then a high-res pass to twice the area      |
|                   |                          | (Lanczos + img2img at 0.35). `--sd`: native (the default)  |
| `x::w`            | weighted prompts         | (text, weight) parts; the engine weighs the embeddings     |
| `--draft`         | fast recipe              | with DRAFT_LORA: that distilled LoRA at weight 1, LCM-LoRA |
|                   |                          | 6 steps, CFG 1, LCM sampler; Lightning/Hyper/Turbo LoRA 4  |
|                   |                          | steps, CFG 0, Euler trailing. Without: a third of the      |
|                   |                          | steps (at least 1; half on distilled models), same CFG.    |
|                   |                          | The full recipe is kept for Enhance.                       |
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine.family import ModelFamily, is_distilled_name, uses_negative_prompt
from bot.engine.request import WeightedPrompt

DEFAULT_STYLIZE = 100
MAX_STYLIZE = 1000
WEIRD_TEXT = "weird, surreal, unconventional"
MAX_WEIRD = 3000
MAX_WEIRD_WEIGHT = 0.5
DEFAULT_STYLE_WEIGHT = 100
MAX_STYLE_WEIGHT = 1000


def steps_for_quality(quality: float, family: ModelFamily, steps_override: int | None) -> int:
    """Sampling steps: the base steps (STEPS or the family default) scaled by --quality."""
    base = steps_override or family.default_steps
    steps = max(1, round(base * quality))
    return min(steps, family.max_steps) if family.max_steps else steps


def guidance_for_stylize(stylize: int, family: ModelFamily) -> float:
    """CFG scale: the family default at --stylize 100, 1.25x at 0, 0.75x at 1000."""
    if stylize <= DEFAULT_STYLIZE:
        factor = 1.25 - 0.25 * stylize / DEFAULT_STYLIZE
    else:
        factor = 1.0 - 0.25 * (stylize - DEFAULT_STYLIZE) / (MAX_STYLIZE - DEFAULT_STYLIZE)
    return round(family.default_guidance * factor, 3)


def chaos_fraction(chaos: int) -> float:
    """--chaos 0..100 as the engine's 0..1 diversity."""
    return chaos / 100


def image_strength_for_weight(image_weight: float) -> float:
    """img2img strength for an image prompt: higher --iw keeps more of the image."""
    return round(max(0.1, min(1.0, 1.0 - 0.3 * image_weight)), 3)


def image_prompt_scale(image_weight: float) -> float:
    """IP-Adapter scale of image prompts: 0.5 per unit of --iw (--iw 1 → 0.5, 2 → 1.0, 3 → 1.5)."""
    return round(0.5 * image_weight, 3)


def style_scale(style_weight: int) -> float:
    """IP-Adapter scale of style references: --sw 0 → 0, 100 → 0.8, 1000 → 1.5, linear between."""
    if style_weight <= DEFAULT_STYLE_WEIGHT:
        return round(0.8 * style_weight / DEFAULT_STYLE_WEIGHT, 3)
    return round(
        0.8 + 0.7 * (style_weight - DEFAULT_STYLE_WEIGHT) / (MAX_STYLE_WEIGHT - DEFAULT_STYLE_WEIGHT), 3
    )


def personalization_scale(stylize: int) -> float:
    """IP-Adapter scale of `--p` profiles and moodboards: --s 0 → 0.3, 100 → 0.8, 1000 → 1.2.

    At the default --stylize it equals the default --sw scale, so a moodboard of images and
    `--sref` of the same images condition alike.
    """
    if stylize <= DEFAULT_STYLIZE:
        return round(0.3 + 0.5 * stylize / DEFAULT_STYLIZE, 3)
    return round(0.8 + 0.4 * (stylize - DEFAULT_STYLIZE) / (MAX_STYLIZE - DEFAULT_STYLIZE), 3)


def weighted_repeats(weight: float) -> int:
    """How many times a `::w`-weighted style reference is used: round(w), at least 1 unless 0."""
    return 0 if weight <= 0 else max(1, round(weight))


def object_scale(object_weight: int) -> float:
    """IP-Adapter scale of object (omni) references: --ow 0 → 0, 100 → 1.0, 1000 → 1.5 (V7's range)."""
    if object_weight <= 100:
        return reference_scale(object_weight)
    return round(1.0 + 0.5 * (object_weight - 100) / 900, 3)


def reference_scale(weight: int) -> float:
    """IP-Adapter scale of character / object references: --cw / --ow 0..100 → 0..1."""
    return round(weight / 100, 3)


def weird_part(weird: int) -> WeightedPrompt | None:
    """The extra multi-prompt part --weird adds, or None at 0."""
    if weird <= 0:
        return None
    return WeightedPrompt(WEIRD_TEXT, round(MAX_WEIRD_WEIGHT * weird / MAX_WEIRD, 4))


@dataclass(frozen=True)
class DraftRecipe:
    """How a `--draft` job runs: steps, CFG, sampler ("" = the family's) and the draft LoRA."""

    steps: int
    guidance_scale: float
    sampler: str = ""
    lora: str = ""

    @property
    def note(self) -> str:
        """What the reply says about the draft."""
        steps = f"{self.steps} step{'s' if self.steps != 1 else ''}"
        if self.lora:
            return f"Draft: {steps} with the {self.lora} LoRA."
        return f"Draft: {steps} of the base model (no draft LoRA set up)."


def family_note(
    family: ModelFamily, negative_prompt: str, exp: int = 0, guidance: float | None = None
) -> str:
    """What the reply says about the parts of the prompt this family (at this `guidance`) ignores
    ("" if none)."""
    notes = []
    if negative_prompt and not family.negative_prompts:
        notes.append(f"Note: this model ({family.name}) has no negative prompt, so --no is ignored.")
    elif negative_prompt and guidance is not None and not uses_negative_prompt(guidance):
        notes.append(f"Note: this model ({family.name}) runs without guidance (CFG), so --no is ignored.")
    if exp and family.architecture == "flux":  # no UNet for FreeU, no PAG pipeline (aesthetics.py)
        notes.append(f"Note: --exp has no effect on this model ({family.name}).")
    return " ".join(notes)


def draft_recipe(steps: int, guidance: float, family: ModelFamily, draft_lora: str) -> DraftRecipe:
    """The fast recipe for a job that would run `steps` at `guidance` (see the table above)."""
    if draft_lora and not family.distilled and not family.is_flow:  # draft LoRAs are UNet LoRAs
        fewer = max(1, steps - 1)  # a draft never runs more steps than the full job
        if is_distilled_name(draft_lora) or "hyper" in draft_lora.lower():
            return DraftRecipe(min(4, fewer), 0.0, "euler-trailing", draft_lora)
        return DraftRecipe(min(6, fewer), 1.0, "lcm", draft_lora)
    fewer = steps // 2 if family.distilled else round(steps / 3)
    return DraftRecipe(max(1, fewer), guidance)
