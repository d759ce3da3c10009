"""A server's style presets.

Discord sets who may use a command per top-level command, not per subcommand, so the presets
live under two commands: `/style …` changes them (Manage Server: the command's default
permissions, checked again at run time) and `/styles …` shows them to every member.

| command                                  | who      | does                                        |
|------------------------------------------|----------|---------------------------------------------|
| /style add name template [negative] [params] [loras] | admins | a new style (`{prompt}` marks the prompt; LoRAs `name:0.8, other:0.5`) |
| /style edit name [template] [negative] [params] [loras] | admins | change parts (`none` clears negative/params/loras) |
| /style remove name                       | admins   | delete a style (and unset it as default)    |
| /style default name                      | admins   | the style used without `--style` (`none`)   |
| /style starter                           | admins   | add the bot's starter styles                |
| /style import file                       | admins   | add/replace styles from an export, all or nothing |
| /styles list, /styles show name          | everyone | what exists                                 |
| /styles export                           | everyone | a JSON file for /style import elsewhere     |

Every preset goes through `bot.governance.style_presets.StylePresets` (the `/imagine` rules and the
server's banned words) before it is stored; this cog only parses and renders.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.permissions import ADMIN_PERMISSIONS, admin_guild_id, guild_id_of
from bot.errors import InvalidParameter, InvalidPrompt
from bot.governance.presets import (
    MAX_FILE_CHARACTERS,
    MAX_NAME_LENGTH,
    MAX_NEGATIVE_LENGTH,
    MAX_PARAMS_LENGTH,
    MAX_TEMPLATE_LENGTH,
    preset_name,
    presets_to_json,
    read_loras,
)
from bot.governance.style_presets import MAX_STYLES, StyleNotFound
from bot.prompt import StylePreset

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot
    from bot.governance.style_presets import StylePresets

log = logging.getLogger(__name__)

MAX_LORAS_LENGTH = 300
CLEAR = "none"
_LIST_LIMIT = 3900


def style_line(preset: StylePreset, default: str | None) -> str:
    """One line of /styles list: name, a star for the default, the parameters, the template start."""
    star = " ⭐ default" if preset.name == default else ""
    params = f" `{preset.params}`" if preset.params else ""
    template = preset.template if len(preset.template) <= 80 else preset.template[:79] + "…"
    return f"**{preset.name}**{star}{params} — {discord.utils.escape_markdown(template)}"


def style_embed(preset: StylePreset, default: str | None) -> discord.Embed:
    embed = discord.Embed(title=f"Style {preset.name}", colour=discord.Colour.blurple())
    embed.add_field(name="Template", value=preset.template[:1024], inline=False)
    embed.add_field(name="Negative prompt", value=(preset.negative or "(none)")[:1024], inline=False)
    embed.add_field(
        name="Parameters", value=f"`{preset.params}`" if preset.params else "(none)", inline=False
    )
    loras = "\n".join(f"`{name}` at {weight:g}" for name, weight in preset.loras)
    embed.add_field(name="LoRAs", value=loras or "(none)", inline=False)
    usage = f"`/imagine prompt: a lighthouse --style {preset.name}`"
    if preset.name == default:
        usage += (
            "\nThis is the server's default style: prompts without `--style` use it (`--style raw` skips it)."
        )
    embed.add_field(name="Use it", value=usage, inline=False)
    return embed


class Styles(commands.Cog):
    style = app_commands.Group(
        name="style",
        description="Manage this server's style presets (admins)",
        guild_only=True,
        default_permissions=ADMIN_PERMISSIONS,
    )
    styles = app_commands.Group(name="styles", description="This server's style presets", guild_only=True)

    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot

    # ---- helpers --------------------------------------------------------------------------

    @property
    def presets(self) -> StylePresets:
        return self.bot.services.styles

    @staticmethod
    async def _reply(
        interaction: discord.Interaction,
        content: str | None = None,
        *,
        embed: discord.Embed | None = None,
        file: discord.File | None = None,
    ) -> None:
        """Answer ephemerally (every /style and /styles answer is only for the one who asked)."""
        kwargs: dict = {"content": content, "embed": embed}
        if file is not None:
            kwargs["file"] = file
        if interaction.response.is_done():
            await interaction.followup.send(
                ephemeral=True, **{k: v for k, v in kwargs.items() if v is not None}
            )
        else:
            await interaction.response.send_message(
                ephemeral=True, **{k: v for k, v in kwargs.items() if v is not None}
            )

    async def complete_name(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The server's style names containing what was typed."""
        if interaction.guild_id is None:
            return []
        typed = current.strip().lower()
        names = [p.name for p in await self.presets.all(interaction.guild_id)]
        ranked = [n for n in names if n.startswith(typed)] + [
            n for n in names if typed in n and not n.startswith(typed)
        ]
        return [app_commands.Choice(name=n, value=n) for n in ranked[:25]]

    # ---- /style (admins) ------------------------------------------------------------------

    @style.command(name="add", description="Add a style preset; members use it with --style name")
    @app_commands.describe(
        name="One word, e.g. neon-noir",
        template="The prompt goes at {prompt}, e.g. {prompt}, neon-noir, cinematic lighting",
        negative="What to avoid (a negative prompt)",
        params="Default parameters, e.g. --ar 3:2 --s 400 (the member's own win)",
        loras="LoRAs from models/loras/ with weights, e.g. film-grain:0.8, ink:0.5",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        name: app_commands.Range[str, 1, MAX_NAME_LENGTH],
        template: app_commands.Range[str, 1, MAX_TEMPLATE_LENGTH],
        negative: app_commands.Range[str, 1, MAX_NEGATIVE_LENGTH] = "",
        params: app_commands.Range[str, 1, MAX_PARAMS_LENGTH] = "",
        loras: app_commands.Range[str, 1, MAX_LORAS_LENGTH] = "",
    ) -> None:
        guild_id = admin_guild_id(interaction)
        preset = await self.presets.add(
            guild_id,
            StylePreset(preset_name(name), template, negative, params, read_loras(loras)),
            interaction.user.id,
        )
        log.info("guild %s added style %s", guild_id, preset.name)
        await self._reply(
            interaction,
            f"Style `{preset.name}` added. Members use it with `--style {preset.name}`.",
            embed=style_embed(preset, None),
        )

    @style.command(name="edit", description="Change a style preset (leave out what stays)")
    @app_commands.describe(
        name="The style to change",
        template="The new template ({prompt} marks the prompt)",
        negative="The new negative prompt; none clears it",
        params="The new default parameters; none clears them",
        loras="The new LoRAs with weights (film-grain:0.8); none clears them",
    )
    @app_commands.autocomplete(name=complete_name)
    async def edit(
        self,
        interaction: discord.Interaction,
        name: str,
        template: app_commands.Range[str, 1, MAX_TEMPLATE_LENGTH] | None = None,
        negative: app_commands.Range[str, 1, MAX_NEGATIVE_LENGTH] | None = None,
        params: app_commands.Range[str, 1, MAX_PARAMS_LENGTH] | None = None,
        loras: app_commands.Range[str, 1, MAX_LORAS_LENGTH] | None = None,
    ) -> None:
        guild_id = admin_guild_id(interaction)
        current = await self.presets.find(guild_id, name)
        if template is None and negative is None and params is None and loras is None:
            raise InvalidParameter("Give a new template, negative prompt, parameters or LoRAs to change.")

        def new(value: str | None, old: str) -> str:
            if value is None:
                return old
            return "" if value.strip().lower() == CLEAR else value

        preset = await self.presets.replace(
            guild_id,
            StylePreset(
                current.name,
                template if template is not None else current.template,
                new(negative, current.negative),
                new(params, current.params),
                current.loras if loras is None else read_loras(new(loras, "")),
            ),
            interaction.user.id,
        )
        default = await self.presets.default_name(guild_id)
        await self._reply(
            interaction,
            f"Style `{preset.name}` changed.",
            embed=style_embed(preset, default),
        )

    @style.command(name="remove", description="Delete a style preset")
    @app_commands.describe(name="The style to delete")
    @app_commands.autocomplete(name=complete_name)
    async def remove(self, interaction: discord.Interaction, name: str) -> None:
        guild_id = admin_guild_id(interaction)
        preset, was_default = await self.presets.remove(guild_id, name)
        note = ""
        if was_default:
            note = " It was the default style: prompts now use no style unless they name one."
        log.info("guild %s removed style %s", guild_id, preset.name)
        await self._reply(interaction, f"Style `{preset.name}` removed.{note}")

    async def complete_default(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """`none` (no default) and the server's style names."""
        styles = await self.complete_name(interaction, current)
        if CLEAR.startswith(current.strip().lower()):
            styles = [app_commands.Choice(name=CLEAR, value=CLEAR), *styles[:24]]
        return styles

    @style.command(name="default", description="The style prompts get without --style (none: no default)")
    @app_commands.describe(name="A style of this server, or none")
    @app_commands.autocomplete(name=complete_default)
    async def default(self, interaction: discord.Interaction, name: str) -> None:
        guild_id = admin_guild_id(interaction)
        preset = await self.presets.set_default(guild_id, None if name.strip().lower() == CLEAR else name)
        if preset is None:
            message = "This server has no default style now: prompts use a style only with `--style`."
        else:
            message = (
                f"`{preset.name}` is now the default style: prompts without `--style` use it; "
                "`--style raw` skips it."
            )
        await self._reply(interaction, message)

    @style.command(name="starter", description="Add the bot's starter styles to this server")
    async def starter(self, interaction: discord.Interaction) -> None:
        guild_id = admin_guild_id(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await self.presets.add_starters(guild_id, interaction.user.id)
        added, kept, refused = result.added, result.kept, result.refused
        lines = [f"Added {len(added)} starter styles: {_names(p.name for p in added) or 'none'}."]
        if kept:
            lines.append(f"Kept this server's own styles of the same name: {_names(kept)}.")
        if refused:
            lines.append(f"Left out (banned words here, or the {MAX_STYLES}-style limit): {_names(refused)}.")
        lines.append("See them with `/styles list`; use one with `--style name`.")
        await interaction.edit_original_response(content="\n".join(lines))

    @style.command(name="import", description="Add or replace styles from a /styles export file")
    @app_commands.describe(file="A JSON file made by /styles export")
    async def import_(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        guild_id = admin_guild_id(interaction)
        if file.size > 4 * MAX_FILE_CHARACTERS:
            raise InvalidPrompt(
                f"The file is too large for a preset export (limit {MAX_FILE_CHARACTERS // 1000} kB)."
            )
        await interaction.response.defer(ephemeral=True, thinking=True)
        presets, replaced = await self.presets.import_json(guild_id, await file.read(), interaction.user.id)
        log.info("guild %s imported %d styles", guild_id, len(presets))
        message = f"Imported {len(presets)} styles: {_names(p.name for p in presets)}."
        if replaced:
            message += f"\nReplaced the server's styles of the same name: {_names(replaced)}."
        await interaction.edit_original_response(content=message)

    # ---- /styles (everyone) ---------------------------------------------------------------

    @styles.command(name="list", description="The style presets of this server")
    async def list_(self, interaction: discord.Interaction) -> None:
        guild_id = guild_id_of(interaction)
        presets = await self.presets.all(guild_id)
        if not presets:
            await self._reply(
                interaction,
                "This server has no styles yet. Admins add them with `/style add` or `/style starter`.",
            )
            return
        default = await self.presets.default_name(guild_id)
        lines, shown = [], 0
        for preset in presets:
            line = style_line(preset, default)
            if sum(len(item) + 1 for item in lines) + len(line) > _LIST_LIMIT:
                break
            lines.append(line)
            shown += 1
        if shown < len(presets):
            lines.append(f"… and {len(presets) - shown} more (`/styles export` has them all).")
        embed = discord.Embed(
            title=f"{len(presets)} styles", description="\n".join(lines), colour=discord.Colour.blurple()
        )
        embed.set_footer(text="Use one with --style name; --style raw uses none.")
        await self._reply(interaction, embed=embed)

    @styles.command(name="show", description="One style preset in full")
    @app_commands.describe(name="The style")
    @app_commands.autocomplete(name=complete_name)
    async def show(self, interaction: discord.Interaction, name: str) -> None:
        guild_id = guild_id_of(interaction)
        preset = await self.presets.find(guild_id, name)
        default = await self.presets.default_name(guild_id)
        await self._reply(interaction, embed=style_embed(preset, default))

    @styles.command(name="export", description="This server's styles as a JSON file (for /style import)")
    async def export(self, interaction: discord.Interaction) -> None:
        guild_id = guild_id_of(interaction)
        presets = await self.presets.all(guild_id)
        if not presets:
            raise StyleNotFound("This server has no styles to export yet.")
        text = presets_to_json(presets)
        file = discord.File(io.BytesIO(text.encode()), filename=f"styles-{guild_id}.json")
        await self._reply(
            interaction, f"{len(presets)} styles. Import them elsewhere with `/style import`.", file=file
        )


def _names(names: Iterable[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)
