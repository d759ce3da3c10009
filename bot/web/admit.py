"""The web app's only way into the job queue: the bot's one admission path (`Admission`), with the
web's place (a member, optionally a server, no channel).

So a prompt typed in the web's prompt bar is read exactly as `/imagine` reads it: the server's
rules, banned words, the prompt language with the member's presets, /settings, /prefer suffix and
options, the jobs-per-prompt limit, and the waiting limits checked under the job service's lock.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.errors import JobNotFound
from bot.governance.admission import MAX_REMIX_JOBS, Admission, Place
from bot.jobs.custom_zoom import custom_zoom_mode
from bot.jobs.models import Job, JobKind, NewJob
from bot.prompt import ImagineRequest

if TYPE_CHECKING:
    from PIL import Image

    from bot.config import Config
    from bot.jobs.service import JobService

__all__ = ["MAX_WEB_JOBS", "WebAdmission", "suggested_prompts"]

log = logging.getLogger(__name__)

# One Enter in the prompt bar makes at most this many jobs (the web page asks no confirmation).
MAX_WEB_JOBS = 10


class WebAdmission:
    """Reads a member's prompt (in a server, or none) and submits jobs for them."""

    def __init__(self, jobs: JobService, config: Config) -> None:
        self.admission = Admission(jobs, config)

    async def read(self, text: str, *, user_id: int, guild_id: int | None) -> list[ImagineRequest]:
        """The requests `text` makes for this member (every rule but the waiting limit applied)."""
        return await self.admission.read(text, Place(user_id, guild_id), most=MAX_WEB_JOBS)

    async def imagine(
        self, text: str, *, user_id: int, guild_id: int | None, meta: dict[str, Any] | None = None
    ) -> list[Job]:
        """Read `text` and submit one imagine job per request (UserFacingError if anything is wrong)."""
        place = Place(user_id, guild_id)
        requests = await self.admission.read(text, place, most=MAX_WEB_JOBS)
        return [await self.submit(new_job) for new_job in Admission.imagine_jobs(requests, place, meta=meta)]

    async def derived(
        self,
        parent: Job,
        kind: JobKind,
        *,
        index: int | None,
        mode: str | None,
        user_id: int,
        speed: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Job:
        """A variation / reroll / upscale of image `index` (0-based) of `parent`, for the member
        (`speed`: their /settings mode, as a Discord button click uses)."""
        place = Place(user_id, parent.guild_id)
        shown = None if index is None else index + 1
        new_job = Admission.derived_job(parent, kind, shown, mode, place, speed=speed, meta=meta)
        return await self.submit(new_job)

    async def remix(
        self,
        parent: Job,
        kind: JobKind,
        text: str,
        *,
        index: int | None,
        mode: str | None,
        user_id: int,
        meta: dict[str, Any] | None = None,
    ) -> list[Job]:
        """Remix: `text` (the member's edit of the prompt) read like Discord's remix modal reads it,
        then one job of `kind` from image `index` (0-based; None for a reroll) per request."""
        place = Place(user_id, parent.guild_id)
        requests = await self.admission.read(text, place, most=MAX_REMIX_JOBS)
        shown = None if index is None else index + 1
        return [
            await self.submit(
                Admission.derived_job(parent, kind, shown, mode, place, request=request, meta=meta)
            )
            for request in requests
        ]

    async def custom_zoom(
        self, parent: Job, text: str, *, index: int, user_id: int, meta: dict[str, Any] | None = None
    ) -> Job:
        """Custom Zoom of image `index` (0-based): `text` holds the prompt, `--zoom` (1-2) and maybe
        a new `--ar`, read like Discord's Custom Zoom modal (one job)."""
        place = Place(user_id, parent.guild_id)
        (request,) = await self.admission.read(text, place, most=1, custom_zoom=True)
        new_job = Admission.derived_job(
            parent, JobKind.ZOOM, index + 1, custom_zoom_mode(request), place, request=request, meta=meta
        )
        return await self.submit(new_job)

    # ---- /blend, /describe, /shorten (the same jobs as Discord's, from `Admission`) -----------

    async def blend(
        self,
        pictures: list[tuple[str, Image.Image]],
        dimensions: str,
        *,
        user_id: int,
        guild_id: int | None,
        meta: dict[str, Any] | None = None,
    ) -> Job:
        """One blend job of the uploaded `pictures` ((shown name, decoded picture), 2-5 of them;
        the job service refuses other counts with /blend's error)."""
        # Uploads have no link: each gets a name of its own (so two files called the same stay two).
        links = [f"upload:{n}/{name}" for n, (name, _) in enumerate(pictures, start=1)]
        new_job = self.admission.blend_job(
            links,
            [picture for _, picture in pictures],
            dimensions,
            Place(user_id, guild_id),
            shown=[name for name, _ in pictures],
            meta=meta,
        )
        return await self.submit(new_job)

    async def describe(
        self,
        picture: Image.Image,
        shown: str,
        *,
        user_id: int,
        guild_id: int | None,
        seed: int = 0,
        meta: dict[str, Any] | None = None,
    ) -> Job:
        """A describe job for one picture (`shown`: its name or link, the job's prompt)."""
        new_job = Admission.describe_job(
            f"upload:1/{shown}", shown, Place(user_id, guild_id), picture=picture, seed=seed, meta=meta
        )
        return await self.submit(new_job)

    async def shorten(
        self, prompt: str, *, user_id: int, guild_id: int | None, meta: dict[str, Any] | None = None
    ) -> Job:
        """A shorten job, the prompt checked as /shorten checks it (banned words, parameters)."""
        return await self.submit(
            await self.admission.shorten_job(prompt, Place(user_id, guild_id), meta=meta)
        )

    async def imagine_suggestions(
        self, job: Job, numbers: list[int], *, user_id: int, meta: dict[str, Any] | None = None
    ) -> list[Job]:
        """Imagine suggestion(s) `numbers` (1-based) of a describe or shorten job, as its 1️⃣-5️⃣
        buttons do in Discord: through the same reading as a typed prompt."""
        prompts = suggested_prompts(job)
        if not numbers or any(not 1 <= n <= len(prompts) for n in numbers):
            raise JobNotFound(f"Job `{job.id}` has no suggestion #{numbers[0] if numbers else 0}.")
        made: list[Job] = []
        for n in numbers:
            made.extend(await self.imagine(prompts[n - 1], user_id=user_id, guild_id=job.guild_id, meta=meta))
        return made

    async def submit(self, new_job: NewJob) -> Job:
        """Queue a job with the server's waiting limit checked atomically (QueueFull)."""
        return await self.admission.submit(new_job)


def suggested_prompts(job: Job) -> list[str]:
    """The prompts a finished describe job suggests, or a shorten job's shorter prompts with the
    original parameters added back (what Discord's buttons imagine)."""
    result = job.meta.get("result") or {}
    if job.kind is JobKind.DESCRIBE:
        return [str(prompt) for prompt in result.get("prompts") or []]
    if job.kind is JobKind.SHORTEN:
        params = job.meta.get("params", "")
        return [f"{text} {params}".strip() for text in (result.get("shorter") or [])[:5]]
    return []
