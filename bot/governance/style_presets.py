"""A server's style presets for every front: list, find, add, edit, remove, the default style,
the starter set and JSON import. Every preset is checked like /imagine reads it and against the
server's banned words before it is stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.errors import InvalidParameter, UserFacingError
from bot.governance.presets import STARTER_PRESETS, presets_from_json, validate_preset
from bot.prompt import StylePreset

if TYPE_CHECKING:
    from bot.governance.admission import Admission
    from bot.store.repository import Repository

__all__ = ["MAX_STYLES", "StarterResult", "StyleNotFound", "StylePresets"]

MAX_STYLES = 100


class StyleNotFound(UserFacingError):
    title = "Unknown style"


@dataclass(frozen=True)
class StarterResult:
    """What `add_starters` did: added, kept (the server has its own of that name), refused."""

    added: list[StylePreset]
    kept: list[str]
    refused: list[str]


class StylePresets:
    """One server's style presets."""

    def __init__(self, repository: Repository, admission: Admission) -> None:
        self._repository = repository
        self._admission = admission

    async def all(self, guild_id: int) -> list[StylePreset]:
        return await self._repository.get_guild_presets(guild_id)

    async def by_name(self, guild_id: int) -> dict[str, StylePreset]:
        return {preset.name: preset for preset in await self._repository.get_guild_presets(guild_id)}

    async def default_name(self, guild_id: int) -> str | None:
        """The style prompts get without `--style`, if the server set one."""
        return (await self._repository.get_guild_rules(guild_id)).default_style

    async def find(self, guild_id: int, name: str) -> StylePreset:
        presets = await self.by_name(guild_id)
        key = name.strip().lower()
        if key not in presets:
            known = ", ".join(f"`{n}`" for n in presets) or "none yet (`/style add`, `/style starter`)"
            raise StyleNotFound(f"This server has no style `{name.strip()[:40]}`. Its styles: {known}.")
        return presets[key]

    async def checked(self, preset: StylePreset, user_id: int, guild_id: int) -> StylePreset:
        """`preset` validated like /imagine reads it, and free of this server's banned words."""
        context = await self._admission.prompt_context(user_id, guild_id)
        cleaned = validate_preset(preset, context)
        await self._admission.check_text(
            f"{cleaned.template}\n{cleaned.negative}\n{cleaned.params}", guild_id
        )
        return cleaned

    async def add(self, guild_id: int, preset: StylePreset, user_id: int) -> StylePreset:
        """Store a new style (its name must be free, the server under MAX_STYLES)."""
        presets = await self.by_name(guild_id)
        if preset.name in presets:
            raise InvalidParameter(f"The style `{preset.name}` already exists; change it with `/style edit`.")
        if len(presets) >= MAX_STYLES:
            raise InvalidParameter(
                f"This server already has {MAX_STYLES} styles, the limit. Remove one first."
            )
        preset = await self.checked(preset, user_id, guild_id)
        await self._repository.set_guild_preset(guild_id, preset)
        return preset

    async def replace(self, guild_id: int, preset: StylePreset, user_id: int) -> StylePreset:
        """Store a changed style (checked again)."""
        preset = await self.checked(preset, user_id, guild_id)
        await self._repository.set_guild_preset(guild_id, preset)
        return preset

    async def remove(self, guild_id: int, name: str) -> tuple[StylePreset, bool]:
        """Delete a style; (the style, whether it was the default, which is unset)."""
        preset = await self.find(guild_id, name)
        await self._repository.delete_guild_preset(guild_id, preset.name)
        settings = await self._repository.get_guild_rules(guild_id)
        if settings.default_style != preset.name:
            return preset, False
        settings.default_style = None
        await self._repository.set_guild_rules(settings)
        return preset, True

    async def set_default(self, guild_id: int, name: str | None) -> StylePreset | None:
        """Make `name` the default style (None: no default); the preset."""
        settings = await self._repository.get_guild_rules(guild_id)
        preset = None if name is None else await self.find(guild_id, name)
        settings.default_style = preset.name if preset else None
        await self._repository.set_guild_rules(settings)
        return preset

    async def add_starters(self, guild_id: int, user_id: int) -> StarterResult:
        """Add the bot's starter styles the server does not have (nor bans words of)."""
        existing = await self.by_name(guild_id)
        added: list[StylePreset] = []
        kept: list[str] = []
        refused: list[str] = []
        for preset in STARTER_PRESETS:
            if preset.name in existing:
                kept.append(preset.name)
                continue
            if len(existing) + len(added) >= MAX_STYLES:
                refused.append(preset.name)
                continue
            try:
                added.append(await self.checked(preset, user_id, guild_id))
            except UserFacingError:
                # The server bans a word this starter uses: it is not for this server.
                refused.append(preset.name)
        await self._repository.set_guild_presets(guild_id, added)
        return StarterResult(added, kept, refused)

    async def import_json(
        self, guild_id: int, data: bytes, user_id: int
    ) -> tuple[list[StylePreset], list[str]]:
        """Add or replace styles from an export, all or nothing; (imported, replaced names)."""
        presets = presets_from_json(data, await self._admission.prompt_context(user_id, guild_id))
        for position, preset in enumerate(presets, start=1):
            try:
                await self._admission.check_text(
                    f"{preset.template}\n{preset.negative}\n{preset.params}", guild_id
                )
            except UserFacingError as error:
                raise type(error)(
                    f"Preset {position} (`{preset.name}`): {error.message} Nothing was imported."
                ) from None
        existing = await self.by_name(guild_id)
        replaced = [p.name for p in presets if p.name in existing]
        total = len(set(existing) | {p.name for p in presets})
        if total > MAX_STYLES:
            raise InvalidParameter(
                f"This import would give the server {total} styles; the limit is {MAX_STYLES}. Nothing was imported."
            )
        await self._repository.set_guild_presets(guild_id, presets)
        return presets, replaced
