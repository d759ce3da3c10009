"""A member's own settings, for every front: the /settings values, remix, the `/prefer suffix`,
the `--name` options and stealth. Validation lives here, so Discord and the web agree."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.errors import InvalidParameter, UserFacingError
from bot.governance.personal import validate_option, validate_suffix
from bot.prompt.personal_params import read_profiles

if TYPE_CHECKING:
    from bot.governance.admission import Admission
    from bot.governance.models import PersonalSettings
    from bot.store.repository import Repository

__all__ = ["MemberSettings", "OptionChange"]


def _one_code(code: str) -> str:
    """One profile or moodboard code, as `--p` reads it ("" = the member's own profile)."""
    codes = read_profiles(code.strip())
    if len(codes) != 1 or codes[0].weight != 1:
        raise InvalidParameter("Give one profile or moodboard code, like `k3v9qz`.")
    return codes[0].code


class OptionChange:
    """What `MemberSettings.set_option` did: the cleaned name, its text (None: deleted) and how
    many options the member has now."""

    def __init__(self, name: str, text: str | None, count: int) -> None:
        self.name, self.text, self.count = name, text, count


class MemberSettings:
    """Reads and changes one member's settings."""

    def __init__(self, repository: Repository, admission: Admission) -> None:
        self._repository = repository
        self._admission = admission

    async def of(self, user_id: int) -> PersonalSettings:
        """The member's settings (defaults when they never changed any)."""
        return await self._repository.get_user_settings(user_id)

    async def change(
        self, user_id: int, change: Callable[[PersonalSettings], PersonalSettings]
    ) -> PersonalSettings:
        """Apply `change` to the member's settings and save the result (the /settings panel)."""
        updated = change(await self._repository.get_user_settings(user_id))
        await self._repository.set_user_settings(updated)
        return updated

    async def update(self, user_id: int, **changes: Any) -> PersonalSettings:
        """Set the named fields; the settings after the change."""
        return await self._repository.update_user_settings(user_id, **changes)

    async def remix(self, user_id: int) -> bool:
        """Whether Remix mode is on: Vary and 🔄 open the prompt first."""
        return (await self._repository.get_user_settings(user_id)).remix

    async def set_remix(self, user_id: int, on: bool | None = None) -> bool:
        """Turn Remix on or off (None: the other way round); the new state."""
        if on is None:
            on = not await self.remix(user_id)
        return (await self._repository.update_user_settings(user_id, remix=on)).remix

    async def set_suffix(self, user_id: int, text: str | None, guild_id: int | None) -> str:
        """Validate (the server's banned words, the /imagine rules) and save the suffix; "" clears it."""
        if text and text.strip():
            await self._admission.check_text(text, guild_id)
        context = await self._admission.prompt_context(user_id, guild_id)
        suffix = validate_suffix(text or "", context)
        await self._repository.update_user_settings(user_id, suffix=suffix)
        return suffix

    async def options(self, user_id: int) -> dict[str, str]:
        """The member's `--name` options: name → what it stands for."""
        return await self._repository.get_user_options(user_id)

    async def set_option(
        self, user_id: int, name: str, value: str | None, guild_id: int | None
    ) -> OptionChange:
        """Create, change or (with an empty value) delete the option `--name`."""
        existing = await self._repository.get_user_options(user_id)
        if value and value.strip():
            await self._admission.check_text(value, guild_id)
        context = await self._admission.prompt_context(user_id, guild_id)
        cleaned, text = validate_option(name, value or "", existing, context)
        if text is None and cleaned not in existing:
            raise UserFacingError(f"You have no option `--{cleaned}` to delete.")
        await self._repository.set_user_option(user_id, cleaned, text)
        count = len(existing | {cleaned: text}) if text is not None else len(existing) - 1
        return OptionChange(cleaned, text, count)

    async def set_personalization(self, user_id: int, on: bool, code: str | None = None) -> PersonalSettings:
        """Personalization on or off by default, with `code` (a profile or moodboard code; ""
        is the member's own profile; None keeps the stored one). Turning it on checks that the
        code exists (or that the member has a profile), so no later prompt fails on it."""
        current = await self._repository.get_user_settings(user_id)
        profile = current.profile if code is None else _one_code(code)
        if on:
            personalization = self._admission.personalization
            if profile:
                if await self._repository.style_for_code(profile) is None:
                    raise InvalidParameter(f"Unknown profile or moodboard code `{profile}`.")
            else:
                await personalization.own_code(user_id)  # NoProfile says how to make one
        return await self._repository.update_user_settings(user_id, personalize=on, profile=profile)

    async def stealth(self, user_id: int) -> bool:
        """Whether the member's jobs stay off the public gallery."""
        return await self._repository.is_stealth(user_id)

    async def set_stealth(self, user_id: int, on: bool) -> None:
        """Stealth on (new jobs and the existing ones leave the gallery) or off."""
        await self._repository.set_stealth(user_id, on)
