"""The remix modal: the job's prompt, pre-filled, to edit before a variation or re-roll."""

from __future__ import annotations

from typing import Any

import discord

MAX_REMIX_PROMPT = 4000


REMIX_PREFIX = "mjremix:"


class RemixModal(discord.ui.Modal, title="Remix Prompt"):
    """The prompt to edit. Its custom id carries the clicked button's id, so the submission is
    handled from the id alone (`Actions.on_remix_submit`) — also after a restart, when no modal
    object is alive any more."""

    def __init__(self, prompt: str, index: int | None, clicked: str) -> None:
        super().__init__(timeout=900, custom_id=f"{REMIX_PREFIX}{clicked}")
        label = f"New prompt for image #{index}" if index else "New prompt"
        self.prompt = discord.ui.TextInput(
            label=label,
            style=discord.TextStyle.paragraph,
            default=prompt[:MAX_REMIX_PROMPT],
            max_length=MAX_REMIX_PROMPT,
        )
        self.add_item(self.prompt)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Answered by the Actions cog's listener, which reads the submission from its id."""


def submitted_text(data: dict[str, Any]) -> str:
    """The text typed into a submitted modal (the first text input), from the raw payload."""
    stack: list[Any] = list(data.get("components", ()))
    while stack:
        item = stack.pop(0)
        if not isinstance(item, dict):
            continue
        if item.get("type") == 4 and "value" in item:
            return str(item["value"])
        stack.extend(item.get("components", ()))
        if isinstance(item.get("component"), dict):
            stack.append(item["component"])
    return ""
