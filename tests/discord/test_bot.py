"""The bot itself: command sync only on change, endpoint settings."""

from __future__ import annotations

import discord

from bot.discord.bot import COMMAND_HASH_FILE, apply_discord_endpoints
from tests.discord.conftest import world_settings


def command_syncs(world) -> int:
    return sum(1 for e in world.env.http_requests if e.method == "PUT" and e.path.endswith("/commands"))


async def test_commands_sync_on_first_start_and_not_after_a_restart(world):
    """The first start syncs /imagine; a restart with the same commands does not sync again."""
    assert command_syncs(world) == 1
    assert (world.settings.data_dir / COMMAND_HASH_FILE).is_file()
    await world.restart()
    assert command_syncs(world) == 1
    assert "imagine" in world.alice.available_commands(world.channel)


async def test_a_changed_command_tree_syncs_again(world):
    """When the stored hash no longer matches the command definitions, the next start syncs."""
    (world.settings.data_dir / COMMAND_HASH_FILE).write_text("stale\n")
    await world.restart()
    assert command_syncs(world) == 2


def test_endpoint_settings_reach_discord_py(tiny_model_dir, tmp_path, monkeypatch):
    """DISCORD_API_BASE and DISCORD_GATEWAY_URL set discord.py's REST base and default gateway."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    )
    settings = world_settings(
        tiny_model_dir,
        tmp_path,
        DISCORD_API_BASE="http://127.0.0.1:9/api/v10/",
        DISCORD_GATEWAY_URL="ws://127.0.0.1:9/gateway",
    )
    apply_discord_endpoints(settings)
    assert discord.http.Route("GET", "/users/@me").url == "http://127.0.0.1:9/api/v10/users/@me"
    assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:9/gateway"


def test_shards_setting_picks_the_sharded_bot():
    """SHARDS=off: one connection; auto: AutoShardedBot asking Discord; a number: that many shards."""
    from discord.ext import commands

    from bot.config import Config
    from bot.discord.bot import MidjourneyBot, make_bot

    plain = make_bot(Config.from_env({}))
    assert type(plain) is MidjourneyBot and not isinstance(plain, commands.AutoShardedBot)
    auto = make_bot(Config.from_env({"SHARDS": "auto"}))
    assert isinstance(auto, commands.AutoShardedBot) and isinstance(auto, MidjourneyBot)
    assert auto.shard_count is None
    assert make_bot(Config.from_env({"SHARDS": "3"})).shard_count == 3


async def test_a_stop_lets_acknowledged_requests_finish_and_cancels_the_late_ones():
    """Closing the bot waits for handlers still between an acknowledgement and its answer (so
    they do not write to a closed database); after SHUTDOWN_GRACE the rest are cancelled, which
    leaves their records for the next start."""
    import asyncio

    from bot.config import Config
    from bot.discord.bot import MidjourneyBot

    bot = MidjourneyBot(Config.from_env({"SHUTDOWN_GRACE": "0.5"}), manage_jobs=False)
    ended: list[str] = []

    async def answering(name: str, seconds: float) -> None:
        try:
            await asyncio.sleep(seconds)
            ended.append(name)
        except asyncio.CancelledError:
            ended.append(f"{name} cancelled")
            raise

    quick = asyncio.create_task(answering("quick", 0.1))
    stuck = asyncio.create_task(answering("stuck", 60))
    bot.answering.update({quick, stuck})
    await bot.close()
    assert ended == ["quick", "stuck cancelled"]
