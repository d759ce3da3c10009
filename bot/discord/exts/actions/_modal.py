"""The remix modal: the job's prompt, pre-filled, to edit before a variation or re-roll."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord

MAX_REMIX_PROMPT = 4000


RemixCallback = Callable[[discord.Interaction, str], Awaitable[None]]


class RemixModal(discord.ui.Modal, title="Remix Prompt"):
    """Calls `on_prompt(interaction, text)` with the edited prompt when sent."""

    def __init__(self, prompt: str, index: int | None, on_prompt: RemixCallback) -> None:
        super().__init__(timeout=600)
        label = f"New prompt for image #{index}" if index else "New prompt"
        self.prompt = discord.ui.TextInput(
            label=label,
            style=discord.TextStyle.paragraph,
            default=prompt[:MAX_REMIX_PROMPT],
            max_length=MAX_REMIX_PROMPT,
        )
        self.add_item(self.prompt)
        self.on_prompt = on_prompt

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self.on_prompt(interaction, self.prompt.value)
