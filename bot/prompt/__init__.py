"""The Midjourney prompt language: `/imagine` text → resolved Stable Diffusion requests.

`expand_prompt(text, context)` returns one `ImagineRequest` per permutation × `--repeat`; bad
input raises only `bot.errors.UserFacingError` subclasses. Imports nothing from discord.py and no
torch, so the CLI's `parse` starts fast.

- params.py: the parameter table (names, aliases, ranges, defaults).
- mapping.py: the table of how parameters become Stable Diffusion settings.
- permutations.py, multiprompt.py, sizes.py: the syntax rules and image sizes.
- context.py: `PromptContext`, `StylePreset`, `context_from_settings`.
"""

from bot.prompt.context import PromptContext, StylePreset, context_from_settings, family_for_model
from bot.prompt.expand import MAX_JOBS, expand_prompt
from bot.prompt.request import ImagineRequest

__all__ = [
    "MAX_JOBS",
    "ImagineRequest",
    "PromptContext",
    "StylePreset",
    "context_from_settings",
    "expand_prompt",
    "family_for_model",
]
