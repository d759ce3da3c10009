"""The prompt context of one user in one server, read from the database.

`/imagine`, the remix modal, `/prefer` and `python -m bot parse --user-id --guild-id` all read a
prompt the same way: the model facts (`base`), the server's style presets and default style, then
the user's /settings defaults, /prefer suffix and options (see `bot.governance.personal.personal_context`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bot.governance.personal import personal_context
from bot.prompt import PromptContext

if TYPE_CHECKING:
    from bot.store.repository import Repository


async def guild_context(repository: Repository, base: PromptContext, guild_id: int | None) -> PromptContext:
    """`base` with the server's style presets and default style (unchanged outside a server)."""
    if guild_id is None:
        return base
    presets = {preset.name: preset for preset in await repository.get_guild_presets(guild_id)}
    default_style = (await repository.get_guild_rules(guild_id)).default_style
    return replace(base, presets=presets, default_style=default_style)


async def load_prompt_context(
    repository: Repository, base: PromptContext, *, user_id: int | None, guild_id: int | None
) -> PromptContext:
    """The context a prompt of `user_id` in `guild_id` is read with (None: leave that layer out)."""
    context = await guild_context(repository, base, guild_id)
    if user_id is None:
        return context
    user = await repository.get_user_settings(user_id)
    options = await repository.get_user_options(user_id)
    return personal_context(context, user, options)
