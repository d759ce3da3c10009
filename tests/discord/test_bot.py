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


async def _bot_over_a_slow_load(tmp_path, monkeypatch, load):
    """A bot that manages a job service whose model load is `load` (on the worker thread); the
    extensions and the command sync are skipped (the simcord tests cover them)."""
    from bot.discord.bot import MidjourneyBot
    from bot.jobs.backend import ThreadBackend
    from bot.jobs.service import JobService
    from bot.store.repository import Repository
    from tests.jobs.conftest import make_settings

    settings = make_settings(tmp_path / "data")
    repository = await Repository.open(settings.database_path, settings.images_dir)
    service = JobService(settings, repository, ThreadBackend(load))
    bot = MidjourneyBot(settings, jobs=service)

    async def nothing(*_args, **_kwargs):
        return None

    monkeypatch.setattr(bot, "load_extension", nothing)
    monkeypatch.setattr(bot, "sync_commands_if_changed", nothing)
    return bot, service, repository


async def test_the_bot_comes_up_while_the_model_loads(tmp_path, monkeypatch):
    """setup_hook returns while the GPU worker still loads the model, so the bot connects and
    registers its commands at once; a prompt sent meanwhile waits for the load (which counts as
    begun before the background start has run), and the service starts once the model is in."""
    import asyncio
    import threading

    from tests.jobs.conftest import FakeEngine

    release = threading.Event()

    def slow_load():
        assert release.wait(30)
        return FakeEngine()

    bot, service, repository = await _bot_over_a_slow_load(tmp_path, monkeypatch, slow_load)
    try:
        await bot.setup_hook()
        assert service.loading.active and not service.started.is_set()
        waiting = asyncio.create_task(service.loading.wait())
        await asyncio.sleep(0.05)
        assert not waiting.done()
        release.set()
        await asyncio.wait_for(waiting, 30)
        await asyncio.wait_for(service.started.wait(), 30)
    finally:
        release.set()
        await bot.close()
        await repository.close()


async def test_a_model_that_cannot_load_leaves_the_bot_up_and_says_why_once(tmp_path, monkeypatch, caplog):
    """A failed load is one log line for the operator; the bot stays up and members are told
    there is no model."""
    import asyncio
    import logging

    import pytest

    from bot.errors import ConfigError
    from bot.jobs.loading import NoModel

    def failing_load():
        raise ConfigError("MODEL='nowhere': not found")

    bot, service, repository = await _bot_over_a_slow_load(tmp_path, monkeypatch, failing_load)
    try:
        with caplog.at_level(logging.ERROR, logger="bot.discord.bot"):
            await bot.setup_hook()
            with pytest.raises(NoModel):
                await asyncio.wait_for(service.loading.wait(), 30)
        lines = [record.getMessage() for record in caplog.records]
        assert lines == [
            "The model could not be loaded: MODEL='nowhere': not found. The bot stays up and answers 'No model'."
        ]
    finally:
        await bot.close()
        await repository.close()
