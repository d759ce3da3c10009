"""The composition root: settings → store → services → backend → fronts, in one place.

`python -m bot run` calls `run`; the CLI's other commands call `open_services` (a job service and
the services over it, for one local member) or `prompt_context_from_store`. Everything heavy is
imported inside the functions, so `python -m bot parse` loads no torch and no discord.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
from typing import TYPE_CHECKING

from bot.config import Config
from bot.errors import ConfigError, DatabaseUnavailable

if TYPE_CHECKING:
    from bot.prompt import PromptContext
    from bot.services import Services

__all__ = ["open_services", "prompt_context_from_store", "run", "verify_store"]


def verify_store(config: Config) -> None:
    """A database that cannot be opened is one line and exit 2, before anything else starts."""
    from bot.store.repository import Repository

    asyncio.run(Repository.verify(config.database_path, config.images_dir))


async def open_services(config: Config, *, max_jobs_per_user: int | None = None) -> Services:
    """The store (migrated), the backend (BACKEND=thread or ray), the job service and the services
    over them; not started. `max_jobs_per_user` raises the waiting limit (a CLI run is one
    member's burst). Close with `await services.close()` after `services.jobs.stop()`."""
    from bot.services import Services
    from bot.wiring import open_job_service

    if max_jobs_per_user is not None:
        config = dataclasses.replace(
            config, max_jobs_per_user=max(config.max_jobs_per_user, max_jobs_per_user)
        )
    return Services.of(await open_job_service(config), config)


async def prompt_context_from_store(
    config: Config, base: PromptContext, *, user_id: int | None, guild_id: int | None
) -> PromptContext:
    """`base` with the member's and the server's stored layers, read without writing anything."""
    from bot.governance.prompt_context import load_prompt_context
    from bot.store.repository import Repository

    repository = await Repository.open_read_only(config.database_path, config.images_dir)
    try:
        return await load_prompt_context(repository, base, user_id=user_id, guild_id=guild_id)
    except sqlite3.Error as error:
        # Garbage, damaged, or a database of another program: one line, exit 2 (bot.cli.main).
        raise DatabaseUnavailable(f"cannot read the database {config.database_path}: {error}") from None
    finally:
        with contextlib.suppress(sqlite3.Error, ValueError):
            await repository.close()


def run(config: Config) -> None:
    """The bot and the web app beside it; without DISCORD_TOKEN the web app alone (local mode)."""
    verify_store(config)
    if not config.discord_token:
        if config.web_port == 0:
            raise ConfigError("DISCORD_TOKEN is empty and WEB_PORT=0: nothing to run. Set one of them.")
        asyncio.run(_run_local(config))
        return
    asyncio.run(_run_bot(config, config.require_token()))


async def _run_local(config: Config) -> None:
    from bot.web.serve import serve_local

    services = await open_services(config)
    try:
        await serve_local(config, services)
    finally:
        await services.close()


async def _run_bot(config: Config, token: str) -> None:
    from bot.discord.runner import serve
    from bot.jobs.ports import ChannelPoster
    from bot.web.links import WebAddresses
    from bot.web.serve import register_web_delivery, start_beside_bot

    services = await open_services(config)
    register_web_delivery(services.jobs)

    async def web_beside(channels: ChannelPoster):
        return await start_beside_bot(config, services, channels)

    try:
        await serve(config, token, services, pages=WebAddresses(config), beside=web_beside)
    finally:
        await services.close()
