"""What the Create page's settings panel offers: aspect-ratio presets, the configured models
(MODEL and MODEL_ALIASES, as `--v`/`--niji` values) and the member's profile and moodboard codes.
The panel only edits the prompt's parameters (static/create.js); nothing here admits a job."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.config import Config
    from bot.web.context import WebContext

__all__ = ["ASPECTS", "model_choices", "settings_panel"]

# Portrait to landscape: the slider walks this list; 1:1 (no --ar) is the default.
ASPECTS = ("9:16", "2:3", "3:4", "4:5", "1:1", "5:4", "4:3", "3:2", "16:9", "21:9")


def model_choices(config: Config) -> list[tuple[str, str]]:
    """(parameter text, label) for each configured model: "" is MODEL itself; each
    MODEL_ALIASES name becomes `--v NAME` (or `--niji N` for niji names)."""
    choices = [("", f"Default ({config.model})")]
    for name, model in sorted(config.model_aliases.items()):
        if name.startswith("niji"):
            parameter = f"--niji {name.removeprefix('niji')}".strip()
        else:
            parameter = f"--v {name}"
        choices.append((parameter, f"{parameter.removeprefix('--')} · {model}"))
    return choices


async def settings_panel(context: WebContext, user_id: int) -> dict[str, Any]:
    """The panel's choices for this member (no personalization while the model loads or when it
    could not be loaded: which IP-Adapter applies depends on the model's family)."""
    panel: dict[str, Any] = {
        "aspects": ASPECTS,
        "models": model_choices(context.config),
        "personalization": False,
        "profile": "",
        "moodboards": [],
    }
    try:
        context.jobs.family  # noqa: B018 (raises until the backend has loaded the model)
    except RuntimeError:
        return panel
    personalization = context.admission.personalization
    status = await personalization.status(user_id)
    boards = [board for board in await personalization.moodboards(user_id) if board.code]
    return {**panel, "personalization": personalization.enabled, "profile": status.code, "moodboards": boards}
