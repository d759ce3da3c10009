"""The /settings panel: a model select and buttons, the user's current choices in green.

Every control is a `discord.ui.DynamicItem` whose custom id says what it sets
(`mjset:stylize:high`, `mjset:raw:on`, `mjset:model` with the chosen value), so a panel opened
before a restart keeps working: a click reads the user's settings from SQLite, saves the change
and redraws the panel from what was saved. Toggles carry the value they switch to, so a click
does what the button showed even if another panel changed the setting meanwhile.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import discord

from bot.discord.replies import report_unexpected, send_error
from bot.errors import InvalidParameter, UserFacingError
from bot.governance.models import PersonalSettings
from bot.governance.personal import STYLIZE_LEVELS, level_for_stylize, stylize_level, user_defaults

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot

log = logging.getLogger(__name__)

BUTTON_ID = r"mjset:(?P<field>stylize|raw|remix|variation|speed|personalize|reset):(?P<value>[a-z-]{1,20})"
MODEL_SELECT_ID = "mjset:model"
DEFAULT_MODEL = "default"
# A select holds at most 25 options; one is the default model.
MAX_MODEL_OPTIONS = 24
STALE = "This button is from an older version of the panel. Run /settings again."


@dataclass(frozen=True)
class Choice:
    """One button of the panel: what it sets, how it reads, and whether it is the current choice."""

    field: str
    value: str
    label: str
    emoji: str
    chosen: bool

    @property
    def custom_id(self) -> str:
        return f"mjset:{self.field}:{self.value}"


def panel_rows(user: PersonalSettings) -> list[list[Choice]]:
    """The panel's buttons, row by row, for these settings (the model select sits above them)."""
    current_level = level_for_stylize(user.stylize) if user.stylize is not None else stylize_level("med")
    return [
        [Choice("stylize", level.key, level.label, "🖌️", level == current_level) for level in STYLIZE_LEVELS],
        [
            Choice("raw", "off" if user.raw else "on", "RAW Mode", "🔧", user.raw),
            Choice("remix", "off" if user.remix else "on", "Remix mode", "🎛️", user.remix),
            Choice("variation", "strong", "Strong Variation Mode", "🎨", user.variation_mode == "strong"),
            Choice("variation", "subtle", "Subtle Variation Mode", "🎨", user.variation_mode == "subtle"),
        ],
        [
            Choice("speed", "fast", "Fast mode", "⚡", user.speed == "fast"),
            Choice("speed", "relax", "Relax mode", "🐢", user.speed == "relax"),
            Choice(
                "personalize", "off" if user.personalize else "on", "Personalization", "🧬", user.personalize
            ),
            Choice("reset", "all", "Reset Settings", "↩️", False),
        ],
    ]


def apply_choice(user: PersonalSettings, field: str, value: str) -> PersonalSettings:
    """`user` after clicking the button (field, value); a stale or forged button is refused."""
    if field == "stylize":
        try:
            return replace(user, stylize=stylize_level(value).value)
        except ValueError:
            raise UserFacingError(STALE) from None
    toggles = {"on": True, "off": False}
    if field in ("raw", "remix") and value in toggles:
        return replace(user, **{field: toggles[value]})
    if field == "variation" and value in ("strong", "subtle"):
        return replace(user, variation_mode=value)
    if field == "speed" and value in ("fast", "relax"):
        return replace(user, speed=value)
    if field == "reset" and value == "all":
        # The suffix belongs to /prefer, not to this panel.
        return PersonalSettings(user_id=user.user_id, suffix=user.suffix)
    raise UserFacingError(STALE)


def apply_model(user: PersonalSettings, value: str, aliases: dict[str, str]) -> PersonalSettings:
    """`user` with the model chosen in the select (`default` or a MODEL_ALIASES name)."""
    if value == DEFAULT_MODEL:
        return replace(user, model=None)
    if value not in aliases:
        raise UserFacingError(f"The model `{value}` is no longer available. Run /settings again.")
    return replace(user, model=value)


def chosen_model(user: PersonalSettings, aliases: dict[str, str]) -> str:
    """The select value for the user's model: an alias name, or `default` (also for a removed alias)."""
    by_lower = {name.lower(): name for name in aliases}
    return by_lower.get((user.model or "").lower(), DEFAULT_MODEL)


def panel_content(user: PersonalSettings, aliases: dict[str, str]) -> str:
    """The text above the panel: the parameters the settings stand for, and the /prefer suffix."""
    defaults = user_defaults(user, aliases)
    lines = ["**Adjust your settings here.** Parameters you type in a prompt win over these."]
    lines.append(f"Your defaults: `{defaults}`" if defaults else "Your defaults: none (the server's)")
    if user.suffix:
        lines.append(f"Your suffix (/prefer suffix): `{user.suffix}`")
    profile = f"`{user.profile}`" if user.profile else "your own profile"
    state = "on" if user.personalize else "off"
    lines.append(f"Personalization: {state}, with {profile} (`/settings profile:CODE` to change it)")
    return "\n".join(lines)


class SettingButton(discord.ui.DynamicItem[discord.ui.Button], template=BUTTON_ID):
    """A panel button; its custom id alone says what it sets."""

    def __init__(self, choice: Choice, *, row: int | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=choice.label,
                emoji=choice.emoji,
                style=discord.ButtonStyle.success if choice.chosen else discord.ButtonStyle.secondary,
                custom_id=choice.custom_id,
                row=row,
            )
        )
        self.choice = choice

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> SettingButton:
        chosen = item.style is discord.ButtonStyle.success
        return cls(Choice(match["field"], match["value"], item.label or "", str(item.emoji or ""), chosen))

    async def callback(self, interaction: discord.Interaction) -> Any:
        field, value = self.choice.field, self.choice.value
        if field == "personalize":
            await _personalize_and_redraw(interaction, value)
            return
        await _save_and_redraw(interaction, lambda user, _aliases: apply_choice(user, field, value))


class ModelSelect(discord.ui.DynamicItem[discord.ui.Select], template=MODEL_SELECT_ID):
    """The model version select: the server's default model and every MODEL_ALIASES name."""

    def __init__(self, options: list[discord.SelectOption]) -> None:
        super().__init__(
            discord.ui.Select(custom_id=MODEL_SELECT_ID, options=options, min_values=1, max_values=1, row=0)
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Select, match: re.Match[str], /
    ) -> ModelSelect:
        # A forged or stale component with this id may not be a select at all.
        options = list(item.options) if isinstance(item, discord.ui.Select) else []
        return cls(options)

    async def callback(self, interaction: discord.Interaction) -> Any:
        if not self.item.options:
            await send_error(
                interaction, InvalidParameter("This control is out of date: open /settings again.")
            )
            return
        values = self.item.values
        value = values[0] if values else DEFAULT_MODEL
        await _save_and_redraw(interaction, lambda user, aliases: apply_model(user, value, aliases))


def model_options(user: PersonalSettings, model: str, aliases: dict[str, str]) -> list[discord.SelectOption]:
    """Options of the model select, the user's current model marked as the default choice."""
    current = chosen_model(user, aliases)
    options = [
        discord.SelectOption(
            label="Default model",
            value=DEFAULT_MODEL,
            description=model[:100],
            emoji="🖼️",
            default=current == DEFAULT_MODEL,
        )
    ]
    for name, target in list(aliases.items())[:MAX_MODEL_OPTIONS]:
        flag = f"--niji {name.removeprefix('niji')}".strip() if name.startswith("niji") else f"--v {name}"
        options.append(
            discord.SelectOption(
                label=f"Model {name} ({flag})"[:100],
                value=name,
                description=target[:100],
                default=current == name,
            )
        )
    return options


def panel_view(user: PersonalSettings, model: str, aliases: dict[str, str]) -> discord.ui.View:
    """The whole panel for these settings: select on row 0, buttons on rows 1-3."""
    view = discord.ui.View(timeout=None)
    view.add_item(ModelSelect(model_options(user, model, aliases)))
    for number, row in enumerate(panel_rows(user), start=1):
        for choice in row:
            view.add_item(SettingButton(choice, row=number))
    return view


def panel_message(user: PersonalSettings, model: str, aliases: dict[str, str]) -> dict[str, Any]:
    """`content` and `view` of the panel, ready for send_message / edit_message."""
    return {"content": panel_content(user, aliases), "view": panel_view(user, model, aliases)}


async def _save_and_redraw(interaction: discord.Interaction, change: Any) -> None:
    """Apply `change(user, aliases)` to the clicker's settings, save, and redraw the panel.

    Never raises: discord.py would only log it and the user would see "interaction failed".
    """
    try:
        bot: MidjourneyBot = interaction.client  # type: ignore[assignment]
        aliases = dict(bot.config.model_aliases)
        updated = await bot.services.members.change(
            interaction.user.id, lambda current: change(current, aliases)
        )
        log.info("user %s changed /settings", interaction.user.id)
        await interaction.response.edit_message(**panel_message(updated, bot.config.model, aliases))
    except UserFacingError as error:
        await send_error(interaction, error)
    except Exception as error:
        await report_unexpected(interaction, error)


async def _personalize_and_redraw(interaction: discord.Interaction, value: str) -> None:
    """Personalization on/off (checked: the code exists, or the member has a profile)."""
    if value not in ("on", "off"):
        await send_error(interaction, UserFacingError(STALE))
        return
    try:
        bot: MidjourneyBot = interaction.client  # type: ignore[assignment]
        updated = await bot.services.members.set_personalization(interaction.user.id, value == "on")
        aliases = dict(bot.config.model_aliases)
        await interaction.response.edit_message(**panel_message(updated, bot.config.model, aliases))
    except UserFacingError as error:
        await send_error(interaction, error)
    except Exception as error:
        await report_unexpected(interaction, error)
