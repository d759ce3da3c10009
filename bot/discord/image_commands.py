"""What /blend, /describe, /shorten and their buttons share: attachments read safely, and
suggested prompts imagined through the one admission path — asking "submit N prompts?" first
(the one `Confirmation` view) when a click would make more than `CONFIRM_OVER` jobs, as /imagine
does (a member's /prefer suffix with `--repeat` multiplies "Imagine all")."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.discord.delivery import channel_of
from bot.discord.origin import Origin, origin_of
from bot.discord.pending import AGAIN_TEXT, Ack, recorded, with_interaction_ids
from bot.discord.render import CONFIRM_OVER, confirm_content
from bot.discord.replies import Confirmation
from bot.errors import InvalidLink
from bot.jobs.downloads import MAX_IMAGE_BYTES
from bot.jobs.image_jobs import upload_too_large
from bot.jobs.models import Job, NewJob

if TYPE_CHECKING:
    from PIL import Image

    from bot.discord.bot import MidjourneyBot

__all__ = [
    "Upload",
    "imagine_or_ask",
    "imagine_prompts",
    "prompt_jobs",
    "read_upload",
    "resume_imagine_prompts",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upload:
    """An attached picture: what reading it needs (also from a record after a restart: Discord's
    attachment links stay valid for much longer than an interaction's 15 minutes)."""

    url: str
    filename: str
    size: int

    @classmethod
    def of(cls, attachment: discord.Attachment) -> Upload:
        return cls(attachment.url, attachment.filename, attachment.size)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def read_upload(bot: MidjourneyBot, upload: Upload) -> Image.Image:
    """An attached picture, size-checked before reading, then read and decoded by the rules of
    image links (a few read at once, decoded one at a time, scaled down to the working size:
    bot/jobs/prompt_images.py). Raises InvalidLink."""
    if upload.size > MAX_IMAGE_BYTES:
        raise upload_too_large(upload.filename)

    async def read() -> bytes:
        try:
            data = await bot.http.get_from_cdn(upload.url)  # what `Attachment.read` does
        except discord.HTTPException as error:
            log.info("could not read attachment %s: %s", upload.url, error)
            raise InvalidLink(f"Could not read {upload.filename}.") from None
        if len(data) > MAX_IMAGE_BYTES:  # the size it announced was not the size it has
            raise upload_too_large(upload.filename)
        return data

    return await bot.jobs.image_links.read_upload(upload.filename, read)


async def prompt_jobs(bot: MidjourneyBot, origin: Origin, texts: Iterable[str]) -> list[NewJob]:
    """The /imagine jobs of `texts`, read as if the member had typed them there (every rule but
    the waiting limit, which submitting checks); their ids come from the interaction
    (bot/discord/pending.py)."""
    admission = bot.admission
    new_jobs = []
    for text in texts:
        requests = await admission.read(text, origin.place)
        new_jobs.extend(admission.imagine_jobs(requests, origin.place, meta=origin.meta))
    return with_interaction_ids(origin.interaction_id, new_jobs)


async def imagine_prompts(bot: MidjourneyBot, origin: Origin, texts: Iterable[str]) -> list[Job]:
    """Start /imagine jobs for `texts` without asking (each submit checks the waiting limits)."""
    return await bot.front.submit_all(origin.channel, await prompt_jobs(bot, origin, texts))


async def imagine_or_ask(
    bot: MidjourneyBot,
    interaction: discord.Interaction,
    texts: Iterable[str],
    *,
    confirmed: str,
    **details: Any,
) -> bool:
    """Imagine `texts` for a deferred button click, or — when they make more than `CONFIRM_OVER`
    jobs — ask "submit N prompts?" in its "thinking…" reply first. Returns True when it asked.

    "Yes" submits the jobs read now (each submit checks the waiting limits again), recorded as
    `confirmed` with `details`: the resumer registered for `confirmed` finishes it after a restart
    (with `imagine_prompts`: no second question).
    """
    origin = origin_of(interaction)
    new_jobs = await prompt_jobs(bot, origin, texts)
    if len(new_jobs) > CONFIRM_OVER:
        view = Confirmation(interaction.user.id, _submitter(bot, new_jobs, confirmed, details))
        await interaction.edit_original_response(content=confirm_content(len(new_jobs)), view=view)
        return True
    await bot.front.submit_all(origin.channel, new_jobs)
    return False


async def resume_imagine_prompts(bot: MidjourneyBot, origin: Origin, texts: Iterable[str]) -> str | None:
    """A prompt button clicked before a restart: its jobs submitted, unless the click would have
    asked "submit N prompts?" first (and none was queued yet): then the member clicks again."""
    new_jobs = await prompt_jobs(bot, origin, texts)
    started = [new_job for new_job in new_jobs if await bot.jobs.get_job(new_job.id or "")]
    if not started and len(new_jobs) > CONFIRM_OVER:
        return f"{AGAIN_TEXT} without asking you first. Please click the button again."
    await bot.front.submit_all(origin.channel, new_jobs)
    return None


def _submitter(
    bot: MidjourneyBot, new_jobs: list[NewJob], confirmed: str, details: dict[str, Any]
) -> Callable[[discord.Interaction], Awaitable[None]]:
    """What "Yes" under "submit N prompts?" does: the jobs submitted with ids from the Yes click,
    which is recorded like any job-making interaction."""

    async def submit(interaction: discord.Interaction) -> None:
        ack = Ack(
            lambda: interaction.response.edit_message(content=f"Submitting {len(new_jobs)} jobs…", view=None)
        )
        async with recorded(bot, interaction, confirmed, ack=ack, **details):
            jobs = with_interaction_ids(interaction.id, new_jobs)
            await bot.front.submit_all(channel_of(interaction), jobs)

    return submit
