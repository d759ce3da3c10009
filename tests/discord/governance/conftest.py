"""Server admins and a second server for the governance tests (on top of tests/discord's world)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import discord
import pytest


@dataclass
class OtherServer:
    guild: Any
    channel: Any
    alice: Any  # the same user as world.alice, a member here too


def admin_of(world: Any, guild: Any, name: str) -> Any:
    """A new member of `guild` with a role that has Manage Server."""
    role = guild.create_role(f"{name}-role", permissions=discord.Permissions(manage_guild=True))
    return guild.add_member(world.env.create_user(name), roles=[role])


@pytest.fixture
def admin(world: Any) -> Any:
    """carol, who may manage the world's server."""
    return admin_of(world, world.guild, "carol")


@pytest.fixture
def other(world: Any) -> OtherServer:
    guild = world.env.create_guild("Other server")
    channel = guild.create_text_channel("general")
    return OtherServer(guild, channel, guild.add_member(world.alice.user))


def command_id(world: Any, name: str) -> int:
    """The id Discord gave a top-level slash command (for per-server permission overrides)."""
    command = world.env.backend.find_command(name, world.guild.id)
    assert command is not None, f"/{name} is not registered"
    return int(command["id"])


def error_title(result: Any) -> str | None:
    embeds = result.response.embeds
    return embeds[0].title if embeds else None
