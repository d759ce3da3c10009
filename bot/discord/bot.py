"""The Discord bot: a thin `commands.Bot` whose `setup_hook` wires the services and extensions.

Dependencies come in from outside (`bot/app.py` in production, the tests under simcord):
the settings, and optionally the `Services` (or just a `JobService` to build them over) and the
web app's `WebPages` port. By default the bot opens the database and the GPU
worker in `setup_hook` and closes them in `close`; a caller that passes `manage_jobs=False`
starts and stops the service itself (the simcord tests do, so that the service's idle loop is
not counted as the bot's own pending work).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord
import yarl
from discord.ext import commands

from bot.config import Config
from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.discord.delivery import JobFront
    from bot.discord.pending import Resumer
    from bot.governance.admission import Admission
    from bot.jobs.ports import WebPages
    from bot.jobs.service import JobService
    from bot.services import Services

log = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.discord.exts.errors",
    "bot.discord.exts.imagine",
    "bot.discord.exts.actions",
    "bot.discord.exts.styles",
    "bot.discord.exts.moderation",
    "bot.discord.exts.admin",
    "bot.discord.exts.settings",
    "bot.discord.exts.info",
    "bot.discord.exts.editor",
    "bot.discord.exts.privacy",
    "bot.discord.exts.profile",
    "bot.discord.exts.visibility",
    "bot.discord.exts.blend",
    "bot.discord.exts.describe",
    "bot.discord.exts.shorten",
)
COMMAND_HASH_FILE = "discord_commands.sha256"


def apply_discord_endpoints(settings: Config) -> None:
    """Point discord.py at the configured REST base and gateway (proxies, or a local fake).

    discord.py reads both from class attributes, so this changes them for the whole process;
    call it once at start-up, before the bot logs in.
    """
    discord.http.Route.BASE = settings.discord_api_base
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


class MidjourneyBot(commands.Bot):
    """Slash commands and persistent buttons in front of the job service."""

    def __init__(
        self,
        settings: Config,
        *,
        jobs: JobService | None = None,
        services: Services | None = None,
        pages: WebPages | None = None,
        manage_jobs: bool = True,
        **client_options: Any,
    ) -> None:
        # Slash commands and buttons need no privileged intent; `guilds` keeps channels cached.
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True),
            **client_options,
        )
        self.config = settings
        self._manage_jobs = manage_jobs
        self._services: Services | None = services
        self._jobs: JobService | None = services.jobs if services is not None else jobs
        self._opened_jobs = False
        # Links into the web app (None: no web app beside the bot).
        self.pages = pages
        self._front: JobFront | None = None
        # The job service's start (the model's load, then interrupted erasures), in the background.
        self._starting: asyncio.Task[None] | None = None
        self._closing: asyncio.Future[None] | None = None
        # Kind of recorded interaction → what finishes it after a restart (bot/discord/pending.py);
        # each cog registers the kinds it records.
        self.resumers: dict[str, Resumer] = {}
        # Handlers between an interaction's acknowledgement and its answer (`pending.recorded`):
        # a stop lets them finish (or cancels them, leaving their record) before the database goes.
        self.answering: set[asyncio.Task[Any]] = set()

    @property
    def jobs(self) -> JobService:
        if self._jobs is None:
            raise RuntimeError("the job service is not open yet (setup_hook has not run)")
        return self._jobs

    @property
    def services(self) -> Services:
        """What the cogs call: admission, member settings, server rules and styles, jobs and images."""
        if self._services is None:
            raise RuntimeError("the services are not ready yet (setup_hook has not run)")
        return self._services

    @property
    def admission(self) -> Admission:
        """The one admission path (bot/governance/admission.py)."""
        return self.services.admission

    @property
    def front(self) -> JobFront:
        if self._front is None:
            raise RuntimeError("the job front is not ready yet (setup_hook has not run)")
        return self._front

    async def setup_hook(self) -> None:
        from bot.discord.delivery import JobFront
        from bot.services import Services

        opened = time.time()  # interactions recorded before this are from before the restart
        # 1. The database (migrated on open), unless the caller brought a service.
        if self._jobs is None:
            from bot.wiring import open_job_service

            self._jobs = await open_job_service(self.config)
            self._opened_jobs = True
        if self._services is None:
            self._services = Services.of(self._jobs, self.config)
        # 2. The front that posts progress and results; its delivery handler must be registered
        #    before the service starts, which delivers what finished while the bot was down.
        self._front = JobFront(self, self._jobs, self._services.admission, self.config)
        self._front.register()
        # 3. The GPU worker loads the model and re-queues unfinished jobs in the background: the
        #    bot connects and registers its commands meanwhile, and a request sent while the
        #    model loads waits for it (the load counts as begun now, before the task runs).
        if self._manage_jobs:
            self._jobs.loading.begin()
            self._starting = asyncio.create_task(self._start_jobs(), name="job-service-start")
        # 4. One extension per feature; the actions extension registers the dynamic buttons.
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        # 5. Application commands, only when their definition changed.
        await self.sync_commands_if_changed()
        # 6. Commands acknowledged before a restart and never answered: finished once the job
        #    service runs (bot/discord/pending.py).
        from bot.discord.pending import resume_interactions

        self._jobs.when_started(lambda: resume_interactions(self, recorded_before=opened))

    async def _start_jobs(self) -> None:
        """Start the job service (the model's load); then finish the erasures a stop interrupted
        (they wait for their jobs to settle). A load that fails leaves the bot up: members are
        told there is no model (bot/jobs/loading.py), the operator reads why in the log."""
        try:
            await self.jobs.start()
        except ConfigError as error:
            log.error("The model could not be loaded: %s. The bot stays up and answers 'No model'.", error)
            return
        except Exception:
            log.exception("The model could not be loaded. The bot stays up and answers 'No model'.")
            return
        await self._resume_erasures()

    async def _resume_erasures(self) -> None:
        from bot.governance.privacy import resume_erasures

        try:
            finished = await resume_erasures(self.jobs)
        except Exception:
            log.exception("could not finish an interrupted erase; it is tried again at the next start")
            return
        for erasure, report in finished:
            await self._tell_erased(erasure, report)

    async def _tell_erased(self, erasure: Any, report: Any) -> None:
        """A /forget-me or /purge-guild a restart interrupted is done: tell whoever asked, by DM
        (the request was private)."""
        if erasure.requested_by is None:
            return
        what = "your data" if erasure.subject == "user_id" else "this server's data"
        text = (
            f"The erase of {what} you asked for was interrupted by a restart and is now finished: "
            f"{report.jobs} jobs and {report.files} image files deleted."
        )
        try:
            user = self.get_user(erasure.requested_by) or await self.fetch_user(erasure.requested_by)
            await user.send(text)
        except discord.HTTPException as error:
            log.info("could not tell user %s that their erase finished: %s", erasure.requested_by, error)

    async def close(self) -> None:
        """Close once, however often it is called (a signal handler and `async with` both call
        it): every caller waits until the job service has stopped and delivered what it could."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close_once())
        await asyncio.shield(self._closing)

    async def _close_once(self) -> None:
        await self._finish_answering()
        if self._front is not None:
            await self._front.close()
        # The job service stops first (the running job gets SHUTDOWN_GRACE, a delivery in the
        # middle of posting finishes) while the connection to Discord is still open.
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()  # a stop while the model loads: the worker ends after its load
            await asyncio.gather(self._starting, return_exceptions=True)
        if self._jobs is not None and self._manage_jobs:
            await self._jobs.stop()
        await super().close()
        if self._services is not None and self._opened_jobs:
            await self._services.close()
            self._jobs = self._services = None

    async def _finish_answering(self) -> None:
        """Let requests acknowledged before the stop finish submitting (up to SHUTDOWN_GRACE);
        cancel the rest: their records stay and the next start finishes them."""
        running = {task for task in self.answering if task is not asyncio.current_task() and not task.done()}
        if not running:
            return
        _done, late = await asyncio.wait(running, timeout=self.config.shutdown_grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        if late:
            log.info(
                "%d interactions were still being answered at the stop; the next start finishes them",
                len(late),
            )

    def command_tree_hash(self) -> str:
        """A hash of every application command definition and where it is synced."""
        definition: dict[str, Any] = {
            "application_id": self.application_id,
            "dev_guild_id": self.config.dev_guild_id,
            "commands": sorted(
                (command.to_dict(self.tree) for command in self.tree.get_commands()),
                key=lambda item: (item["name"], item.get("type", 1)),
            ),
        }
        text = json.dumps(definition, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    async def sync_commands_if_changed(self) -> bool:
        """Sync application commands when their hash differs from the one stored in DATA_DIR."""
        stored_at: Path = self.config.data_dir / COMMAND_HASH_FILE
        current = self.command_tree_hash()
        previous = _read_text(stored_at)
        if previous == current:
            log.info("application commands unchanged; not syncing")
            return False
        if self.config.dev_guild_id is not None:
            # Testing server: guild commands appear at once. Syncing globally as well would show
            # every command twice there, so a dev guild replaces the global sync.
            guild = discord.Object(id=self.config.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        else:
            synced = await self.tree.sync()
        _write_text(stored_at, current)
        log.info("synced %d application commands", len(synced))
        return True


def _read_text(path: Path) -> str:
    return path.read_text().strip() if path.is_file() else ""


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


class ShardedMidjourneyBot(MidjourneyBot, commands.AutoShardedBot):
    """The same bot over several gateway connections in one process (`SHARDS`), for large bots."""


def make_bot(settings: Config, **options: Any) -> MidjourneyBot:
    """The bot `SHARDS` asks for: one gateway connection (`off`), or Discord's recommended
    number of shards (`auto`), or exactly that many."""
    if settings.shards == "off":
        return MidjourneyBot(settings, **options)
    shard_count = None if settings.shards == "auto" else int(settings.shards)
    return ShardedMidjourneyBot(settings, shard_count=shard_count, **options)
