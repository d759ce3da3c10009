"""The web app's only way into the job queue: prompt text or a button → admitted, submitted jobs.

Every web submission goes through `WebAdmission`, which applies the same rules as `/imagine`:
the server's channel-free rules (web jobs have no channel), banned words on the typed text, the
prompt language with the member's layers (presets, /settings, /prefer suffix and options),
banned words again on the expanded prompts, the server's jobs-per-prompt and waiting limits.

TODO(admission): `bot.governance.admission.Admission` is the one admission path of the bot; this
module is a thin front over it once it is on main (see `_admission`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bot.governance.banned_words import BannedWords
from bot.governance.limits import GuildLimits
from bot.governance.prompt_context import load_prompt_context
from bot.jobs.derive import random_seed
from bot.jobs.models import Job, JobKind, NewJob
from bot.prompt import ImagineRequest, PromptContext, context_from_settings, expand_prompt

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.jobs.service import JobService

__all__ = ["MAX_WEB_JOBS", "WebAdmission"]

log = logging.getLogger(__name__)

# One Enter in the prompt bar makes at most this many jobs (Midjourney asks to confirm above 5;
# the web page has no confirmation step, so it stops there).
MAX_WEB_JOBS = 10


class WebAdmission:
    """Reads a member's prompt (in a server, or none) and submits jobs for them."""

    def __init__(self, jobs: JobService, config: Settings) -> None:
        self.jobs = jobs
        self.config = config
        self._base_context: PromptContext | None = None
        self._banned: dict[tuple[tuple[str, ...], tuple[str, ...]], BannedWords] = {}

    async def read(self, text: str, *, user_id: int, guild_id: int | None) -> list[ImagineRequest]:
        """The requests `text` makes for this member (every rule but the waiting limit applied)."""
        limits = await self._limits(guild_id)
        await self._check_text(text, guild_id)
        context = await self._context(user_id, guild_id)
        requests = expand_prompt(text, context)
        if context.suffix or context.options:
            for shown in dict.fromkeys(request.display_prompt for request in requests):
                await self._check_text(shown, guild_id)
        limits.check_jobs(requests)
        if len(requests) > MAX_WEB_JOBS:
            from bot.errors import InvalidPrompt

            raise InvalidPrompt(
                f"The web page makes at most {MAX_WEB_JOBS} jobs at once; this prompt makes {len(requests)}."
            )
        return requests

    async def imagine(
        self, text: str, *, user_id: int, guild_id: int | None, meta: dict[str, Any] | None = None
    ) -> list[Job]:
        """Read `text` and submit one imagine job per request (UserFacingError if anything is wrong)."""
        requests = await self.read(text, user_id=user_id, guild_id=guild_id)
        submitted = []
        for request in requests:
            seed = request.seed if request.seed is not None else random_seed()
            new_job = NewJob(
                kind=JobKind.IMAGINE,
                user_id=user_id,
                prompt=request.display_prompt or request.prompt,
                request=request.to_generation(seed),
                guild_id=guild_id,
                speed=request.speed,
                image_urls=list(request.image_urls),
                meta=dict(meta or {}),
            )
            submitted.append(await self.submit(new_job))
        return submitted

    async def derived(
        self,
        parent: Job,
        kind: JobKind,
        *,
        index: int | None,
        mode: str | None,
        user_id: int,
        meta: dict[str, Any] | None = None,
    ) -> Job:
        """A variation / reroll / upscale of image `index` (0-based) of `parent`, for its owner."""
        new_job = NewJob(
            kind=kind,
            user_id=user_id,
            prompt=parent.prompt,
            guild_id=parent.guild_id,
            parent_id=parent.id,
            parent_index=None if kind is JobKind.REROLL else index,
            mode=mode,
            speed=parent.speed,
            meta=dict(meta or {}),
        )
        return await self.submit(new_job)

    async def submit(self, new_job: NewJob) -> Job:
        """Queue a job with the server's waiting limit checked (QueueFull)."""
        if new_job.guild_id is not None:
            limits = await self._limits(new_job.guild_id)
            limits.check_waiting(await self.jobs.repository.count_waiting(new_job.user_id, new_job.guild_id))
        return await self.jobs.submit(new_job)

    # ---- the rules in force ----------------------------------------------------------------

    async def _context(self, user_id: int, guild_id: int | None) -> PromptContext:
        if self._base_context is None:
            self._base_context = replace(context_from_settings(self.config), family=self.jobs.family)
        return await load_prompt_context(
            self.jobs.repository, self._base_context, user_id=user_id, guild_id=guild_id
        )

    async def _limits(self, guild_id: int | None) -> GuildLimits:
        if guild_id is None:
            return GuildLimits()
        return GuildLimits.of(await self.jobs.repository.get_guild_settings(guild_id))

    async def _check_text(self, text: str, guild_id: int | None) -> None:
        repository = self.jobs.repository
        added = tuple(word.word for word in await repository.banned_words(guild_id))
        lifted: tuple[str, ...] = ()
        if guild_id is not None:
            lifted = tuple(
                word.word for word in await repository.guild_word_changes(guild_id) if word.allowed
            )
        key = (added, lifted)
        banned = self._banned.get(key)
        if banned is None:
            banned = await asyncio.to_thread(BannedWords.with_defaults, added, lifted)
            self._banned = {key: banned}
        banned.check(text)
