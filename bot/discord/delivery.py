"""Between Discord and the job service: progress messages, result delivery, single images.

- `submit` admits a job, posts its progress message in the channel and starts watching it.
- `watch` edits that message from the job's events (queue position, percent + preview).
- `deliver` is the job service's delivery handler: it runs once per finished job, also after a
  restart, and posts the result through the channel (never the interaction's 15-minute
  follow-up webhook), encoded to fit the upload limit. Discord errors are retried with backoff;
  if they persist the handler raises, so the service keeps the job deliverable and retries.

The pictures of results are made in result_pictures.py, uploads retried in uploads.py; what is
recorded about posted messages goes through the job service (its `JobLibrary`), never the store.
Progress arrives paced by the GPU worker; `EditPacer` only fits the edits to Discord's limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from typing import TYPE_CHECKING, Any

import discord
from PIL import Image

from bot.discord.buttons import grid_view, progress_view, single_view
from bot.discord.edit_pacer import EditPacer, queue_bucket
from bot.discord.reconcile import POSTING_MARK, find_posted, result_nonce
from bot.discord.render import (
    ended_content,
    preview_bytes,
    progress_content,
    result_content,
    single_image_content,
)
from bot.discord.replies import ERROR_RED
from bot.discord.result_pictures import (
    GRID_KINDS,
    ResultPost,
    grid_hiding,
    grid_of,
    open_picture,
    open_rgb,
    thumbnail,
)
from bot.discord.text_results import text_result
from bot.discord.uploads import RetryPolicy, send_picture
from bot.discord.video_post import clip_names, send_clips, video_grid_view, video_view
from bot.discord.web_buttons import add_web_row
from bot.engine.references import FALLBACK_METHOD
from bot.errors import InvalidParameter, JobNotFound, UserFacingError
from bot.governance.admission import Place
from bot.governance.nsfw import BLOCKED_NOTICE, NsfwPolicy
from bot.jobs.edit_origin import edit_behind
from bot.jobs.events import Progress, Queued, Stalled, Started
from bot.jobs.image_jobs import INPUT_FILE, TEXT_KINDS
from bot.jobs.library import library_of
from bot.jobs.models import UNLISTED_KINDS, Job, JobImage, JobKind, JobStatus, NewJob, new_job_id
from bot.jobs.ports import WebPages
from bot.jobs.video_jobs import clip_path, is_video_job

if TYPE_CHECKING:
    from discord.ext import commands

    from bot.config import Config
    from bot.governance.admission import Admission
    from bot.jobs.service import JobService

log = logging.getLogger(__name__)

MISSING_PERMISSIONS = (
    "I cannot post in this channel. Ask an admin to give me Send Messages, Attach Files, "
    "Embed Links and Read Message History here."
)


class JobFront:
    """Posts and edits the messages of jobs; owned by the bot, created in its `setup_hook`.

    What may be submitted is decided by `Admission` (bot/governance/admission.py); this class only
    shows jobs in Discord.
    """

    def __init__(
        self,
        bot: commands.Bot,
        jobs: JobService,
        admission: Admission,
        settings: Config,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.bot = bot
        self.jobs = jobs
        self.library = library_of(jobs)
        # Links into the web app (the bot's WebPages port; None: no web app to link to).
        self.pages: WebPages | None = getattr(bot, "pages", None)
        self.admission = admission
        self.settings = settings
        self.retry = retry or RetryPolicy()
        self._watchers: set[asyncio.Task[None]] = set()
        # Edits of one channel at most every second (or PROGRESS_INTERVAL, if shorter).
        self.edits = EditPacer(channel_interval=min(1.0, settings.progress_interval))
        self._posting: dict[str, asyncio.Event] = {}
        # NSFW_FILTER, applied to the verdicts the GPU worker stored with each job (no model here).
        self.nsfw = NsfwPolicy.from_settings(settings)

    def register(self) -> None:
        self.jobs.add_delivery_handler(self.deliver)

    async def close(self) -> None:
        for task in list(self._watchers):
            task.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)
        await self.edits.close()

    # ---- submitting ---------------------------------------------------------------------------

    async def submit_all(self, channel: discord.abc.Messageable, new_jobs: list[NewJob]) -> list[Job]:
        """Submit each job (and post its progress message) in `channel`."""
        return [await self.submit(channel, new_job) for new_job in new_jobs]

    async def submit(self, channel: discord.abc.Messageable, new_job: NewJob) -> Job:
        """Admit the job, post its progress message in `channel` and watch it. Raises QueueFull.

        A job whose id exists already (an interaction finished again after a restart: its jobs'
        ids come from the interaction, bot/discord/pending.py) is returned as it is: not queued,
        not shown twice."""
        if new_job.id is not None and (existing := await self.jobs.get_job(new_job.id)) is not None:
            return existing
        new_job.id = new_job.id or new_job_id()
        # A fast job may finish before its progress message is recorded: delivery waits for it.
        posted = self._posting[new_job.id] = asyncio.Event()
        try:
            job = await self.admission.submit(new_job)
            try:
                message = await channel.send(
                    progress_content(job.prompt, job.user_id),
                    view=progress_view(job.id),
                    allowed_mentions=discord.AllowedMentions.none(),
                )
            except discord.HTTPException as error:
                # Nobody would see this job: do not spend GPU time on it.
                await self.jobs.cancel(job.id)
                if isinstance(error, discord.Forbidden):
                    raise UserFacingError(MISSING_PERMISSIONS) from error
                raise
            await self.library.record_message(job.id, message.id, message.channel.id, "progress")
        finally:
            posted.set()
            self._posting.pop(new_job.id, None)
        task = asyncio.create_task(self.watch(job, message), name=f"watch-job-{job.id}")
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)
        return job

    async def watch(self, job: Job, message: discord.Message) -> None:
        """Edit the progress message from the job's events until the job ends.

        Edits go through `self.edits` (paced per channel and for the bot, the latest content per
        message); a place in line is worth an edit only when it crosses a coarse boundary. The
        end itself (result, failure, cancellation) is shown by `deliver`, which also runs for
        jobs that ended while the bot was down.
        """
        shown_bucket: int | None = None
        channel_id = message.channel.id
        async for event in self.jobs.subscribe(job.id):
            if self.edits.is_closed(message.id):
                return
            if isinstance(event, Queued):
                ahead = max(0, event.position - 1)
                if queue_bucket(ahead) == shown_bucket:
                    continue
                shown_bucket = queue_bucket(ahead)
                edit: dict[str, Any] = {"content": progress_content(job.prompt, job.user_id, position=ahead)}
            elif isinstance(event, Started):
                edit = {"content": progress_content(job.prompt, job.user_id, percent=0)}
            elif isinstance(event, Stalled):
                edit = {
                    "content": f"{progress_content(job.prompt, job.user_id, percent=100)}\n{event.message}"
                }
            elif isinstance(event, Progress):
                files = []
                if event.preview is not None:
                    data = preview_bytes(event.preview)
                    files.append(discord.File(io.BytesIO(data), filename="progress.jpg"))
                content = progress_content(job.prompt, job.user_id, percent=event.percent)
                edit = {"content": content, "attachments": files}
            else:
                return
            self.edits.request(channel_id, message, **edit)

    # ---- delivering ---------------------------------------------------------------------------

    async def deliver(self, job: Job, images: list[JobImage]) -> None:
        """The delivery handler: show how a job ended, in its channel, once (also after a restart).

        Done: a new message with the grid (or single image) and its buttons, then the progress
        message goes. Failed / cancelled: the progress message says so.
        """
        if job.kind in UNLISTED_KINDS:  # a working job (a Smart Select mask): never posted
            return
        if job.channel_id is None:
            log.warning("job %s has no channel; nothing to deliver to", job.id)
            return
        if job.status is not JobStatus.DONE:
            await self._show_end(job)
            return
        if job.kind in TEXT_KINDS:
            await self.post_text(job)
            return
        if not images:
            log.warning("job %s is done but has no stored images; nothing to post", job.id)
            return
        channel = self.bot.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        post = await self.result_post(job, images)
        limit = job.meta.get("upload_limit")
        # Exactly once (bot/discord/reconcile.py): mark, post with a nonce, record; a delivery
        # that finds the mark first adopts a post that already went out.
        message: Any = None
        if job.meta.get(POSTING_MARK) or await self._progress_message_id(job) is None:
            bot_user = getattr(self.bot, "user", None)
            posted = await find_posted(channel, getattr(bot_user, "id", None), job.id, post.content)
            message = posted.result if job.meta.get(POSTING_MARK) else None
            for stray in posted.progress:
                await self.edits.forget(stray.id)
                with contextlib.suppress(discord.HTTPException):
                    await stray.delete()
        if message is None:
            job.meta = {**job.meta, POSTING_MARK: result_nonce(job.id)}
            await self.library.set_meta(job.id, job.meta)
            try:
                message = await self.send_post(channel, post, limit, nonce=result_nonce(job.id))
            except (discord.Forbidden, discord.NotFound) as error:
                # The channel is gone or closed to the bot: retrying cannot help. The images stay
                # on disk (and `/show` can post them later).
                log.warning("cannot deliver job %s to channel %s: %s", job.id, job.channel_id, error)
                return
        else:
            log.info("job %s was already posted as message %s; not posting again", job.id, message.id)
        await self.library.record_message(job.id, message.id, job.channel_id, "result")
        await self._drop_progress(job)

    async def post_text(self, job: Job) -> None:
        """Post a describe / shorten result (text and prompt buttons), then drop the progress message."""
        assert job.channel_id is not None
        channel = self.bot.get_partial_messageable(job.channel_id, guild_id=job.guild_id)
        post = await self.text_post(job)
        try:
            message = await self.send_image(
                channel,
                post.content,
                post.picture,
                job.meta.get("upload_limit"),
                post.stem,
                post.view,
                nonce=result_nonce(job.id),
                embed=post.embed,
            )
        except (discord.Forbidden, discord.NotFound) as error:
            log.warning("cannot deliver job %s to channel %s: %s", job.id, job.channel_id, error)
            return
        await self.library.record_message(job.id, message.id, job.channel_id, "result")
        await self._drop_progress(job)

    async def text_post(self, job: Job) -> ResultPost:
        """The message of a finished describe / shorten job (delivery, `/show`): text or embed,
        prompt buttons, and for /describe the described picture as the embed's image (left out
        when it is no longer stored)."""
        result = text_result(job)
        picture = None
        if result.shows_picture:
            picture = await asyncio.to_thread(thumbnail, self.jobs.job_folder(job.id) / INPUT_FILE)
        return ResultPost(result.content, picture, job.id, result.view, result.embed)

    async def result_post(self, job: Job, images: list[JobImage]) -> ResultPost:
        """The message of a finished job (delivery, `/show`): text, grid or image, buttons, with
        the NSFW policy applied to the stored verdicts (spoilered, or blocked images blanked or
        left out)."""
        # A 🔄 of an edit grid re-ran that edit: worded like it (`Zoom Out by @u`), as Midjourney.
        edit = await edit_behind(self.jobs, job) if job.kind is JobKind.REROLL else None
        kind, mode = (edit.kind, edit.mode) if edit is not None else (job.kind, job.mode)
        content = result_content(kind.value, job.prompt, job.user_id, mode=mode, speed=job.speed)
        if (job.meta.get("result") or {}).get("method") == FALLBACK_METHOD:
            # Said before the speed, so the message still ends like every result: `(fast)`.
            content = f"{content.removesuffix(f' ({job.speed})')} · mixed by {FALLBACK_METHOD} ({job.speed})"
        images = sorted(images, key=lambda item: item.index)
        flagged = self.flagged(job, images)
        stem = f"SPOILER_{job.id}" if self.nsfw.spoilers(flagged) else job.id
        blocked = self.nsfw.blocks(flagged)
        if is_video_job(job):  # the clips themselves, played inline (bot/discord/video_post.py)
            return self._video_post(job, content, [image.index + 1 for image in images], flagged)
        picture: Image.Image | None
        view: discord.ui.View | None
        if job.kind in GRID_KINDS and len(images) > 1:
            render = grid_hiding if blocked else grid_of
            picture = await asyncio.to_thread(render, self.jobs.grid_path(job.id), images, flagged)
            view = grid_view(job.id, draft=job.generation_request.is_draft)
            view_is_grid = True
        else:
            view_is_grid = False
            picture = await asyncio.to_thread(open_picture, images[0].path)
            square = images[0].width == images[0].height
            view = single_view(job.id, 1, upscale=job.kind is not JobKind.UPSCALE, square=square)
        add_web_row(view, self.pages, job.id, single_index=None if view_is_grid else 1)
        if blocked:
            content = f"{content}\n{BLOCKED_NOTICE}"
            if all(flagged):
                picture, view = None, None
        return ResultPost(content, picture, stem, view)

    def _video_post(self, job: Job, content: str, numbers: list[int], flagged: list[bool]) -> ResultPost:
        """The message of a video job (or of clip n of it: `numbers` == [n]): its MP4s, with
        Extend/🔄 under one clip, U1…Un/🔄 under several; NSFW clips spoilered or left out."""
        shown = [n for n in numbers if not (self.nsfw.blocks(flagged) and flagged[n - 1])]
        if not shown:
            return ResultPost(f"{content}\n{BLOCKED_NOTICE}", None, job.id, None)
        folder = self.jobs.job_folder(job.id)
        names = clip_names(job.id, shown, spoiler=self.nsfw.spoilers(flagged))
        clips = [(clip_path(folder, n - 1), name) for n, name in zip(shown, names, strict=True)]
        if len(numbers) == 1:
            view = video_view(job.id, numbers[0])
            add_web_row(view, self.pages, job.id, single_index=numbers[0])
        else:
            view = video_grid_view(job.id, len(numbers))
            add_web_row(view, self.pages, job.id, single_index=None)
        if len(shown) < len(numbers):
            content = f"{content}\n{BLOCKED_NOTICE}"
        return ResultPost(content, None, job.id, view, clips=clips)

    async def send_post(
        self, channel: discord.abc.Messageable, post: ResultPost, limit: int | None, *, nonce: str
    ) -> discord.Message:
        """Send a result: its clips (a video job), else its picture fitted to `limit`."""
        if post.clips:
            return await send_clips(
                channel, post.content, post.clips, limit, post.view, retry=self.retry, nonce=nonce
            )
        return await self.send_image(
            channel, post.content, post.picture, limit, post.stem, post.view, nonce=nonce, embed=post.embed
        )

    async def _show_end(self, job: Job) -> None:
        message_id = await self._progress_message_id(job)
        if job.channel_id is None or message_id is None:
            return
        message = self.bot.get_partial_messageable(job.channel_id).get_partial_message(message_id)
        await self.edits.forget(message_id)  # a late place in line must not overwrite the end
        if job.status is JobStatus.CANCELLED:
            edit: dict[str, Any] = {"content": ended_content(job.prompt, job.user_id, "Cancelled")}
        else:
            reason = (job.error or "The job failed.")[:3500]
            edit = {
                "content": ended_content(job.prompt, job.user_id, "Failed"),
                "embed": discord.Embed(
                    title="Job failed", description=f"{reason}\nJob id: `{job.id}`", colour=ERROR_RED
                ),
            }
        try:
            await message.edit(**edit, attachments=[], view=None)
        except discord.NotFound:
            log.info("progress message of job %s is gone; its end is not shown", job.id)

    async def _progress_message_id(self, job: Job) -> int | None:
        posting = self._posting.get(job.id)
        if posting is not None:
            await posting.wait()
        fresh = await self.library.job(job.id)
        return (fresh or job).progress_message_id

    async def _drop_progress(self, job: Job) -> None:
        message_id = await self._progress_message_id(job)
        if job.channel_id is None or message_id is None:
            return
        partial = self.bot.get_partial_messageable(job.channel_id).get_partial_message(message_id)
        await self.edits.forget(message_id)  # never edit a message after (or while) deleting it
        try:
            await partial.delete()
        except discord.HTTPException as error:
            log.info("could not delete progress message of job %s: %s", job.id, error)

    async def send_image(
        self,
        channel: discord.abc.Messageable,
        content: str,
        picture: Image.Image | None,
        limit: int | None,
        stem: str,
        view: discord.ui.View | None,
        *,
        nonce: str | None = None,
        embed: discord.Embed | None = None,
    ) -> discord.Message:
        """Send `picture` encoded to fit `limit`, retrying with `self.retry` (see `uploads.send_picture`)."""
        return await send_picture(
            channel, content, picture, limit, stem, view, retry=self.retry, nonce=nonce, embed=embed
        )

    async def publish(
        self,
        channel: discord.abc.Messageable,
        job_id: str,
        post: ResultPost,
        kind: str,
        *,
        limit: int | None,
        nonce: str,
    ) -> discord.Message:
        """`send_post` outside a delivery (/show, /edit, the web's Post to Discord), recorded as the
        job's message of `kind`; a channel the bot may not post in is MISSING_PERMISSIONS."""
        try:
            message = await self.send_post(channel, post, limit, nonce=nonce)
        except discord.Forbidden as error:
            raise UserFacingError(MISSING_PERMISSIONS) from error
        await self.library.record_message(job_id, message.id, getattr(channel, "id", 0), kind)
        return message

    # ---- single images ------------------------------------------------------------------------

    async def post_single(
        self,
        channel: discord.abc.Messageable,
        job: Job,
        index: int,
        user_id: int,
        limit: int | None,
        *,
        nonce: str,
    ) -> discord.Message:
        """`**prompt** - Image #n @user` with the full-size image n of a grid job (1-based).
        `nonce` (one per request, `reconcile.request_nonce`): sent again, Discord makes no second message."""
        made = job.generation_request.batch_size if job.request else 0
        if not 1 <= index <= max(made, 1):
            raise InvalidParameter(f"Job `{job.id}` has no image #{index}.")
        image = await self.library.image(job.id, index - 1)
        if image is None:
            raise JobNotFound(f"Image #{index} of job `{job.id}` is no longer stored.")
        content = single_image_content(job.prompt, index, user_id)
        every = self.flagged(job, await self.library.images(job.id))
        flagged = every[index - 1 : index]
        if is_video_job(job):  # U-n on a video job: clip n alone, with Extend
            post = self._video_post(job, content, [index], every)
            message = await self.send_post(channel, post, limit, nonce=nonce)
            await self.library.record_message(job.id, message.id, job.channel_id, f"image-{index}")
            return message
        picture: Image.Image | None = await asyncio.to_thread(open_rgb, image.path)
        stem, view = f"{job.id}_{index}", single_view(job.id, index, square=image.width == image.height)
        add_web_row(view, self.pages, job.id, single_index=index)
        if self.nsfw.spoilers(flagged):
            stem = f"SPOILER_{stem}"
        elif self.nsfw.blocks(flagged):
            content, picture, view = f"{content}\n{BLOCKED_NOTICE}", None, None
        message = await self.send_image(channel, content, picture, limit, stem, view, nonce=nonce)
        await self.library.record_message(job.id, message.id, job.channel_id, f"image-{index}")
        return message

    def flagged(self, job: Job, images: list[JobImage]) -> list[bool]:
        """The NSFW verdict of each image of `job` (by index), as the GPU worker stored it, under
        NSFW_FILTER's policy: all False with the filter off; all True when none were stored."""
        return self.nsfw.flagged(job, len(images))

    async def load_job(self, job_id: str) -> Job:
        job = await self.library.job(job_id)
        if job is None:
            raise JobNotFound(f"There is no job `{job_id}` any more.")
        return job


def place_of(interaction: discord.Interaction) -> Place:
    """Who clicked or typed, and where (a thread's parent channel counts for channel rules)."""
    return Place(
        user_id=interaction.user.id,
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id,
        parent_channel_id=getattr(interaction.channel, "parent_id", None),
    )


def channel_of(interaction: discord.Interaction) -> discord.abc.Messageable:
    channel = interaction.channel
    if isinstance(channel, discord.abc.Messageable):
        return channel
    assert interaction.channel_id is not None
    return interaction.client.get_partial_messageable(interaction.channel_id, guild_id=interaction.guild_id)
