"""What the prompt language needs to know besides the text: model facts and personal/guild settings.

`context_from_settings(settings)` fills the model part from the operator's settings without
loading any weights. The personal and guild parts (suffix, options, presets, defaults) come from
the database; the Discord front and `python -m bot parse --user-id/--guild-id` fill them in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Config
from bot.engine.family import SDXL, ModelFamily
from bot.engine.source import resolve_model_source


@dataclass(frozen=True)
class StylePreset:
    """A guild style: `template` wraps the prompt at `{prompt}`, plus a negative and default params."""

    name: str
    template: str
    negative: str = ""
    params: str = ""
    # LoRAs the style applies, with weights: (("film-grain", 0.8), ...) from models/loras/.
    loras: tuple[tuple[str, float], ...] = ()

    def apply(self, prompt: str) -> str:
        """The prompt inside the template (a template without `{prompt}` is appended)."""
        if "{prompt}" in self.template:
            return self.template.replace("{prompt}", prompt)
        return f"{prompt}, {self.template}" if prompt else self.template


@dataclass(frozen=True)
class PromptContext:
    """Everything besides the typed text that shapes the requests of a prompt.

    Parameter layers, weakest first: the style preset's `params`, `user_defaults`, the personal
    `suffix`, the typed prompt (where `options` macros expand in place).
    """

    model_aliases: dict[str, str] = field(default_factory=dict)
    family: ModelFamily = SDXL
    steps_override: int | None = None
    # DRAFT_LORA: the distilled LoRA --draft uses ("" = fewer steps of the base model).
    draft_lora: str = ""
    # models/loras/: where style presets' LoRAs must be (None: presets can't carry LoRAs).
    loras_dir: Path | None = None
    # Families of the MODEL_ALIASES targets, so `--v`/`--niji` images get their model's size.
    alias_families: dict[str, ModelFamily] = field(default_factory=dict)
    suffix: str = ""
    options: dict[str, str] = field(default_factory=dict)
    presets: dict[str, StylePreset] = field(default_factory=dict)
    default_style: str | None = None
    user_defaults: str = ""


def family_for_model(model: str, models_dir: Path, device: str = "auto") -> ModelFamily:
    """The family of a MODEL value (`auto`, `tiny`, a diffusers folder, a checkpoint, or a repo id).

    Uses the engine's own resolution (no weights are read), so the errors are the same lines.
    """
    return resolve_model_source(model, models_dir, device).family


def context_from_settings(settings: Config) -> PromptContext:
    """A context with the model facts of `settings` and no personal or guild settings."""
    return PromptContext(
        model_aliases=dict(settings.model_aliases),
        family=family_for_model(settings.model, settings.models_dir, settings.device),
        steps_override=settings.steps,
        draft_lora=settings.draft_lora,
        loras_dir=settings.models_dir / "loras",
        alias_families={
            name: family_for_model(model, settings.models_dir, settings.device)
            for name, model in settings.model_aliases.items()
        },
    )
