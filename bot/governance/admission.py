"""The one admission path: prompt text + member + server + channel → admitted jobs.

Every entry point goes through `Admission`: `/imagine`, the remix modal, the "submit N jobs?"
confirmation, job buttons, the web app (its prompt bar, buttons and Vary (Region) editor) and the
CLI (`imagine`, `edit`: the local member, user 0, in no server — so no server's rules, but the
built-in banned words and the prompt language). It applies, in this order:

1. the server's channel rules (`/limits`: where /imagine may be used);
2. banned words (the built-in list with the server's changes) on the typed text;
3. the prompt language with the member's layers (presets, /settings, /prefer suffix and options);
4. banned words again on the prompts as the member's layers expanded them;
5. the server's jobs-per-prompt limit (`--repeat`, permutations) and the caller's own cap;
6. at submit, the server's waiting-jobs limit — checked by the job service under its submit lock,
   so two simultaneous submissions cannot both pass it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bot.engine.edits import retexture_ready
from bot.errors import EmptyPrompt, InvalidParameter, InvalidPrompt, JobNotFound
from bot.governance.banned_words import BannedWords
from bot.governance.limits import GuildLimits
from bot.governance.personalization import Personalization, backend_embedder
from bot.governance.prompt_context import load_prompt_context
from bot.jobs.actions import Action, Form
from bot.jobs.custom_zoom import custom_zoom_mode
from bot.jobs.derive import random_seed
from bot.jobs.image_jobs import BLEND_DIMENSIONS, blend_request, describe_request, shorten_request
from bot.jobs.models import Job, JobKind, NewJob
from bot.jobs.prompt_images import PromptImages
from bot.jobs.video_jobs import is_video_job, is_video_submission
from bot.prompt import ImagineRequest, PromptContext, context_from_settings, expand_prompt
from bot.prompt.params import normalise_dashes, read_parameters, split_parameters

if TYPE_CHECKING:
    from PIL import Image

    from bot.config import Config
    from bot.governance.models import PersonalSettings
    from bot.jobs.service import JobService
    from bot.store.repository import Repository

__all__ = ["LOCAL_USER_ID", "MAX_REMIX_JOBS", "Admission", "Place", "suggested_prompts"]

# Few distinct banned-word lists exist (one per server that changed it); keep the last ones.
BANNED_LISTS_KEPT = 32
# A remixed prompt (Discord's modal, the web's editor) makes at most this many jobs.
MAX_REMIX_JOBS = 5
# The CLI's member: the machine's own user, in no server.
LOCAL_USER_ID = 0


@dataclass(frozen=True)
class Place:
    """Who asks, and where: a member in a server's channel (or a DM, the web app, the CLI)."""

    user_id: int
    guild_id: int | None = None
    channel_id: int | None = None
    # A thread's parent channel: a thread of an allowed channel is allowed too.
    parent_channel_id: int | None = None


class Admission:
    """Reads prompts and admits jobs for every front, with the server's and member's rules."""

    def __init__(self, jobs: JobService, config: Config) -> None:
        self.jobs = jobs
        self.config = config
        self._base_context: PromptContext | None = None
        self._banned: dict[tuple[tuple[str, ...], tuple[str, ...]], BannedWords] = {}
        self._personalization: Personalization | None = None

    @property
    def personalization(self) -> Personalization:
        """Profiles, moodboards and `--p` codes (resolving codes reads the store; learning embeds
        pictures on the GPU worker, through the job service's backend)."""
        if self._personalization is None:
            from bot.engine.references import adapter_id, resolve_ip_adapter

            source = resolve_ip_adapter(
                self.config.ip_adapter,
                self.config.models_dir,
                self.config.ip_adapter_weight,
                self.jobs.family.base,
            )
            embed = backend_embedder(self.jobs.backend.submit) if source is not None else None
            self._personalization = Personalization(
                self.repository, adapter_id(source), self.config.images_dir, embed
            )
        return self._personalization

    @property
    def repository(self) -> Repository:
        return self.jobs.repository

    # ---- the rules in force ----------------------------------------------------------------

    async def prompt_context(self, user_id: int | None, guild_id: int | None) -> PromptContext:
        """The prompt language's context for this member here: model facts, presets, /settings, /prefer."""
        if self._base_context is None:
            await self.jobs.loading.wait()  # a prompt typed while the model loads waits for it
            self._base_context = replace(context_from_settings(self.config), family=self.jobs.family)
        return await load_prompt_context(
            self.repository, self._base_context, user_id=user_id, guild_id=guild_id
        )

    async def banned_words(self, guild_id: int | None) -> BannedWords:
        """The banned words in force here: built-in and global ones, plus the server's additions,
        minus the words the server lifted (`/banned remove`)."""
        added = tuple(word.word for word in await self.repository.banned_words(guild_id))
        lifted: tuple[str, ...] = ()
        if guild_id is not None:
            lifted = tuple(
                word.word for word in await self.repository.guild_word_changes(guild_id) if word.allowed
            )
        key = (added, lifted)
        banned = self._banned.get(key)
        if banned is None:
            banned = await asyncio.to_thread(BannedWords.with_defaults, added, lifted)
            if len(self._banned) >= BANNED_LISTS_KEPT:
                self._banned.pop(next(iter(self._banned)))
            self._banned[key] = banned
        return banned

    async def guild_limits(self, guild_id: int | None) -> GuildLimits:
        """The limits an admin set for this server with /limits (none outside a server)."""
        if guild_id is None:
            return GuildLimits()
        return GuildLimits.of(await self.repository.get_guild_rules(guild_id))

    async def check_text(self, text: str, guild_id: int | None) -> None:
        """Raise BannedPrompt if `text` holds a word banned here."""
        (await self.banned_words(guild_id)).check(text)

    async def check_channel(self, place: Place) -> None:
        """Raise ChannelNotAllowed where the server's /limits closed this channel (after the
        model's load, whose facts the job is made from next)."""
        await self.jobs.loading.wait()
        (await self.guild_limits(place.guild_id)).check_channel(place.channel_id, place.parent_channel_id)

    # ---- reading a prompt --------------------------------------------------------------------

    async def read(
        self, text: str, place: Place, *, most: int | None = None, custom_zoom: bool = False
    ) -> list[ImagineRequest]:
        """The requests `text` makes for this member here, every rule but the waiting limit applied.

        `most` caps the number of jobs on top of the server's limit (a remix makes at most 5).
        `custom_zoom` accepts `--zoom` (Custom Zoom's prompt).
        Raises a UserFacingError naming what was wrong.
        """
        limits = await self.guild_limits(place.guild_id)
        limits.check_channel(place.channel_id, place.parent_channel_id)
        await self.check_text(text, place.guild_id)
        context = await self.prompt_context(place.user_id, place.guild_id)
        requests = expand_prompt(text, context, custom_zoom=custom_zoom)
        requests = await self.personalization.apply(requests, place.user_id)  # `--p` codes (issue 23)
        if context.suffix or context.options:
            # The suffix and options were checked where they were saved; this server may be stricter.
            for shown in dict.fromkeys(request.display_prompt for request in requests):
                await self.check_text(shown, place.guild_id)
        limits.check_jobs(requests)
        if most is not None and len(requests) > most:
            raise InvalidPrompt(f"This makes at most {most} jobs; this prompt makes {len(requests)}.")
        return requests

    # ---- turning requests into jobs ----------------------------------------------------------

    @staticmethod
    def imagine_jobs(
        requests: Sequence[ImagineRequest], place: Place, *, meta: dict[str, Any] | None = None
    ) -> list[NewJob]:
        """One imagine job per request, with a random seed where the prompt gave none. The jobs
        share one `PromptImages`: the prompt's image links are fetched once for all of them."""
        images = PromptImages()
        return [
            NewJob(
                kind=JobKind.INSTRUCT if request.edit_link else JobKind.IMAGINE,
                user_id=place.user_id,
                prompt=request.display_prompt or request.prompt,
                request=request.to_generation(_seed_of(request)),
                guild_id=place.guild_id,
                channel_id=place.channel_id,
                speed=request.speed,
                image_urls=[request.edit_link] if request.edit_link else list(request.image_urls),
                meta=dict(meta or {}),
                prompt_images=images if request.image_urls or request.edit_link else None,
            )
            for request in requests
        ]

    @staticmethod
    def derived_job(
        parent: Job,
        kind: JobKind,
        index: int | None,
        mode: str | None,
        place: Place,
        *,
        speed: str | None = None,
        request: ImagineRequest | None = None,
        meta: dict[str, Any] | None = None,
    ) -> NewJob:
        """A job made from image `index` (1-based; None for a reroll) of `parent`, owned by the member.

        With `request` (Remix), the edited prompt and parameters replace the parent's; the picture
        still comes from the parent.
        """
        return NewJob(
            kind=kind,
            user_id=place.user_id,
            prompt=(request.display_prompt or request.prompt) if request is not None else parent.prompt,
            request=request.to_generation(_seed_of(request)) if request is not None else None,
            guild_id=place.guild_id,
            channel_id=place.channel_id,
            parent_id=parent.id,
            parent_index=None if kind is JobKind.REROLL or index is None else index - 1,
            mode=mode,
            speed=(request.speed if request is not None else speed) or parent.speed,
            meta=dict(meta or {}),
        )

    # ---- /blend, /describe, /shorten (the same jobs from Discord and the web) -------------------

    def blend_job(
        self,
        links: Sequence[str],
        pictures: Sequence[Image.Image],
        dimensions: str,
        place: Place,
        *,
        shown: Sequence[str] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> NewJob:
        """One blend job of the decoded `pictures` (from `links`; `shown` names them in the prompt,
        the links by default); the job service refuses counts other than 2-5 with /blend's error."""
        request = blend_request(dimensions, self.jobs.family, random_seed(), self.config.steps)
        width, height = BLEND_DIMENSIONS[dimensions]
        names = list(shown) if shown is not None else list(links)
        return NewJob(
            kind=JobKind.BLEND,
            user_id=place.user_id,
            prompt=" ".join([*(f"<{name}>" for name in names), f"--ar {width}:{height}"]),
            request=request,
            guild_id=place.guild_id,
            channel_id=place.channel_id,
            image_urls=list(links),
            uploads=list(pictures),
            meta=dict(meta or {}),
        )

    @staticmethod
    def describe_job(
        link: str,
        shown: str,
        place: Place,
        *,
        picture: Image.Image | None = None,
        seed: int = 0,
        meta: dict[str, Any] | None = None,
    ) -> NewJob:
        """A describe job for one picture: decoded already (`picture`) or fetched from `link` by the
        job service; `shown` (its name or link) is the job's prompt."""
        return NewJob(
            kind=JobKind.DESCRIBE,
            user_id=place.user_id,
            prompt=shown,
            request=describe_request(seed),
            guild_id=place.guild_id,
            channel_id=place.channel_id,
            image_urls=[link],
            uploads=[picture] if picture is not None else [],
            meta=dict(meta or {}),
        )

    async def shorten_job(self, prompt: str, place: Place, *, meta: dict[str, Any] | None = None) -> NewJob:
        """A shorten job, the prompt checked first (banned words, parameters: a bad one is refused
        now, not after the analysis); the parameters are kept apart and added back to every shorter
        prompt."""
        await self.check_text(prompt, place.guild_id)
        text, pairs = split_parameters(normalise_dashes(prompt))
        read_parameters(pairs)
        if not text:
            raise EmptyPrompt("There is nothing to shorten: the prompt has no text.")
        return NewJob(
            kind=JobKind.SHORTEN,
            user_id=place.user_id,
            prompt=prompt,
            request=shorten_request(text),
            guild_id=place.guild_id,
            channel_id=place.channel_id,
            meta={**(meta or {}), "params": " ".join(f"--{name} {value}".strip() for name, value in pairs)},
        )

    # ---- the actions of the action table (bot/jobs/actions.py), for every front -----------------

    async def personal(self, user_id: int) -> PersonalSettings:
        """The member's /settings (Remix, variation mode, speed)."""
        return await self.repository.get_user_settings(user_id)

    async def action_jobs(
        self,
        parent: Job,
        action: Action,
        index: int | None,
        place: Place,
        *,
        text: str | None = None,
        mode: str | None = None,
        mask: bytes | None = None,
        speed: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> list[NewJob]:
        """The jobs `action` makes from image `index` (1-based; unused by a reroll) of `parent`.

        `text` None: the parent's own prompt at the member's `speed`. `text` given: the member's
        prompt read like /imagine — a Remix (at most 5 jobs; Vary (Region): one), or Custom Zoom's
        prompt with `--zoom` and maybe `--ar` (one job; it always needs one). `mode`: the action's
        own, else this one (the member's variation mode for V-n, the CLI's `--zoom`).
        """
        if action.kind is None:
            raise InvalidParameter(f"{action.text} makes no job.")
        kind, mode = action.kind, action.mode or mode
        shown = None if kind is JobKind.REROLL else index

        def job(chosen_mode: str | None, request: ImagineRequest | None = None) -> NewJob:
            new_job = self.derived_job(
                parent, kind, shown, chosen_mode, place, speed=speed, request=request, meta=meta
            )
            return replace(new_job, mask=mask) if mask is not None else new_job

        if action.form is Form.CUSTOM_ZOOM:
            if text is None:
                raise InvalidParameter("Custom Zoom needs a prompt with `--zoom` (1-2).")
            (request,) = await self.read(text, place, most=1, custom_zoom=True)
            return [job(custom_zoom_mode(request), request)]
        if action.form in (Form.RETEXTURE, Form.INSTRUCT):
            if text is None or not text.strip():
                raise EmptyPrompt(f"{action.label} needs a prompt.")
            (request,) = await self.read(text, place, most=1)
            if action.form is Form.RETEXTURE and (missing := retexture_ready(self.config)) is not None:
                raise InvalidParameter(missing)
            return [job(mode, request)]
        if text is None:
            return [job(mode)]
        if not action.remix:
            raise InvalidParameter("This button has no prompt to remix.")
        most = 1 if action.form is Form.REGION else MAX_REMIX_JOBS
        return [job(mode, request) for request in await self.read(text, place, most=most)]

    async def act(
        self,
        parent: Job,
        action: Action,
        index: int | None,
        place: Place,
        **options: Any,
    ) -> list[Job]:
        """`action_jobs` submitted (each with the server's waiting limit)."""
        return [
            await self.submit(new_job)
            for new_job in await self.action_jobs(parent, action, index, place, **options)
        ]

    async def imagine(
        self, text: str, place: Place, *, most: int | None = None, meta: dict[str, Any] | None = None
    ) -> list[Job]:
        """Read `text` and submit one imagine job per request (UserFacingError if anything is wrong)."""
        requests = await self.read(text, place, most=most)
        return [await self.submit(new_job) for new_job in self.imagine_jobs(requests, place, meta=meta)]

    async def imagine_suggestions(
        self,
        job: Job,
        numbers: list[int],
        place: Place,
        *,
        most: int | None = None,
        meta: dict[str, Any] | None = None,
    ) -> list[Job]:
        """Imagine suggestion(s) `numbers` (1-based) of a describe or shorten job (its 1️⃣-5️⃣ and
        "Imagine all"): through the same reading as a typed prompt."""
        prompts = suggested_prompts(job)
        if not numbers or any(not 1 <= n <= len(prompts) for n in numbers):
            raise JobNotFound(f"Job `{job.id}` has no suggestion #{numbers[0] if numbers else 0}.")
        made: list[Job] = []
        for n in numbers:
            made.extend(await self.imagine(prompts[n - 1], place, most=most, meta=meta))
        return made

    # ---- submitting ----------------------------------------------------------------------------

    async def _makes_video(self, new_job: NewJob) -> bool:
        """Animate, Extend, a `--video` prompt, or a 🔄 of a video job."""
        if is_video_submission(new_job):
            return True
        if new_job.kind is not JobKind.REROLL or new_job.parent_id is None:
            return False
        parent = await self.jobs.get_job(new_job.parent_id)
        return parent is not None and is_video_job(parent)

    async def submit(self, new_job: NewJob) -> Job:
        """Queue `new_job` with the server's waiting limit, checked atomically by the job service.

        Raises QueueFull (this server's or the bot's limits) or the service's errors.
        """
        if new_job.guild_id is not None:
            limits = await self.guild_limits(new_job.guild_id)
            if await self._makes_video(new_job):  # the server's rule (allowed / relax-only / off)
                limits.check_video(new_job.speed)
            new_job = replace(new_job, waiting_limit=limits.max_jobs_per_user)
        return await self.jobs.submit(new_job)


def _seed_of(request: ImagineRequest) -> int:
    return request.seed if request.seed is not None else random_seed()


def suggested_prompts(job: Job) -> list[str]:
    """The prompts a finished describe job suggests, or a shorten job's shorter prompts with the
    original parameters added back (what their buttons imagine)."""
    result = job.meta.get("result") or {}
    if job.kind is JobKind.DESCRIBE:
        return [str(prompt) for prompt in result.get("prompts") or []]
    if job.kind is JobKind.SHORTEN:
        params = job.meta.get("params", "")
        return [f"{text} {params}".strip() for text in (result.get("shorter") or [])[:5]]
    return []
