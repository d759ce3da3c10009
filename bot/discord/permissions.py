"""What every server-admin command shares: the Manage Server check, done at run time too.

Admin commands carry `default_permissions(manage_guild=True)`, so Discord hides them from other
members; but server admins can change who may use a command (Server Settings → Integrations),
so each command checks the member's permission again when it runs.
"""

from __future__ import annotations

import discord

from bot.errors import UserFacingError

ADMIN_PERMISSIONS = discord.Permissions(manage_guild=True)
NOT_IN_A_SERVER = "This command only works in a server."
NEEDS_MANAGE_SERVER = "You need the **Manage Server** permission to use this command."


class MissingPermission(UserFacingError):
    title = "Missing permission"


def is_admin(interaction: discord.Interaction) -> bool:
    """Whether the member who interacted may manage this server (Administrator implies it)."""
    permissions = interaction.permissions
    return interaction.guild_id is not None and (permissions.manage_guild or permissions.administrator)


def admin_guild_id(interaction: discord.Interaction) -> int:
    """The server's id, once the member is known to hold Manage Server; else MissingPermission."""
    if interaction.guild_id is None:
        raise MissingPermission(NOT_IN_A_SERVER)
    if not is_admin(interaction):
        raise MissingPermission(NEEDS_MANAGE_SERVER)
    return interaction.guild_id


def guild_id_of(interaction: discord.Interaction) -> int:
    """The server's id for commands every member may use there."""
    if interaction.guild_id is None:
        raise UserFacingError(NOT_IN_A_SERVER)
    return interaction.guild_id
