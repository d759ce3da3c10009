"""Components with our ids but not our shape (forged or stale) are refused politely, not crashed on."""

from __future__ import annotations

import re

import discord

from bot.discord.exts.settings._panel import MODEL_SELECT_ID, ModelSelect


async def test_a_forged_model_button_does_not_raise() -> None:
    """A *button* with the model select's custom id builds an item whose click answers an error."""
    forged = discord.ui.Button(custom_id=MODEL_SELECT_ID, label="x")
    match = re.fullmatch(ModelSelect.__discord_ui_compiled_template__, MODEL_SELECT_ID)
    item = await ModelSelect.from_custom_id(None, forged, match)  # type: ignore[arg-type]
    assert item.item.options == []

    answered: list[str] = []

    class Response:
        def is_done(self) -> bool:
            return False

        async def send_message(self, content=None, *, embed=None, ephemeral=False, **_):
            answered.append(embed.title if embed else content)

    class Interaction:
        response = Response()

    await item.callback(Interaction())  # type: ignore[arg-type]
    assert answered == ["Invalid parameter"]
