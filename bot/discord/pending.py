"""Interactions acknowledged before a restart: finished (or answered) at start-up.

/imagine defers at once (the member sees "thinking…"), records the interaction in the table
`pending_interactions`, reads and submits the prompt, and forgets the record once it answered.
A process killed in between leaves the record. At the next start every record younger than
Discord's 15 minutes is finished: the prompt goes through admission again and each job is
submitted under the id it would have had (a uuid5 of the interaction id and the job's index), so a
job queued just before the kill is not queued twice; the "thinking…" reply is then edited to say
the bot restarted and the prompt is queued (or why it could not be, and to run it again). Older
records are dropped: Discord no longer accepts their token.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING

import discord
from discord.webhook.async_ import async_context

from bot.discord.render import CONFIRM_OVER
from bot.errors import UserFacingError
from bot.governance.admission import Place
from bot.jobs.models import NewJob, PendingInteraction

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot

__all__ = [
    "INTERACTION_LIFETIME",
    "RESUMED_TEXT",
    "edit_original",
    "interaction_job_ids",
    "pending_of",
    "resume_interactions",
]

log = logging.getLogger(__name__)

# Discord accepts an interaction's token for 15 minutes; a little margin for the edit itself.
INTERACTION_LIFETIME = 15 * 60 - 10
_JOB_IDS = uuid.UUID("6f1d8f0e-3b7a-4c55-9a51-0c2b6d1e7a15")
RESUMED_TEXT = "The bot restarted while submitting your prompt; it is queued now."
AGAIN_TEXT = "The bot restarted before your prompt was submitted, and it could not be submitted now"


def interaction_job_ids(interaction_id: int, count: int) -> list[str]:
    """The job ids of an interaction's jobs: the same ones whenever the prompt is submitted."""
    return [str(uuid.uuid5(_JOB_IDS, f"{interaction_id}:{index}")) for index in range(count)]


def with_interaction_ids(interaction_id: int, new_jobs: list[NewJob]) -> list[NewJob]:
    """Give each job its interaction-derived id (submitting one twice returns the first)."""
    for new_job, job_id in zip(new_jobs, interaction_job_ids(interaction_id, len(new_jobs)), strict=True):
        new_job.id = job_id
    return new_jobs


def pending_of(interaction: discord.Interaction, command: str, prompt: str) -> PendingInteraction:
    """What a restart needs to finish `interaction`."""
    return PendingInteraction(
        id=interaction.id,
        token=interaction.token,
        application_id=interaction.application_id,
        user_id=interaction.user.id,
        guild_id=interaction.guild_id,
        channel_id=interaction.channel_id,
        parent_channel_id=getattr(interaction.channel, "parent_id", None),
        command=command,
        prompt=prompt,
        upload_limit=interaction.filesize_limit,
        # Our clock, which the restart compares with (the interaction was created just before).
        received_at=time.time(),
    )


async def edit_original(bot: MidjourneyBot, pending: PendingInteraction, content: str) -> None:
    """Replace the interaction's original response ("thinking…") with `content`
    (`PATCH /webhooks/{application_id}/{token}/messages/@original`, as discord.py's Interaction does)."""
    http = bot.http
    await async_context.get().edit_original_interaction_response(
        pending.application_id,
        pending.token,
        session=http._HTTPClient__session,  # type: ignore[attr-defined]  # discord.py's own session
        proxy=http.proxy,
        proxy_auth=http.proxy_auth,
        payload={"content": content, "embeds": [], "components": []},
    )


async def resume_interactions(bot: MidjourneyBot, *, now: float | None = None) -> int:
    """Finish every recorded interaction still within its 15 minutes; drop the older ones.
    Returns how many were answered. Run it once the job service has started (admission needs
    the model's facts, submitting the worker)."""
    now = time.time() if now is None else now
    answered = 0
    for pending in await bot.store.pending_interactions():
        try:
            if now - pending.received_at > INTERACTION_LIFETIME:
                log.info("dropping interaction %s from before the restart: too old to answer", pending.id)
                continue
            content = await _finish(bot, pending)
            try:
                await edit_original(bot, pending, content)
                answered += 1
            except discord.HTTPException as error:
                log.info("could not answer interaction %s after the restart: %s", pending.id, error)
        except Exception:
            log.exception("could not finish interaction %s after the restart", pending.id)
        finally:
            await bot.store.forget_interaction(pending.id)
    return answered


async def _finish(bot: MidjourneyBot, pending: PendingInteraction) -> str:
    """Submit what `pending` asked for, through the one admission path; the text to answer with."""
    if pending.command != "imagine":
        return f"{AGAIN_TEXT}. Please run it again."
    admission = bot.admission
    place = Place(pending.user_id, pending.guild_id, pending.channel_id, pending.parent_channel_id)
    try:
        requests = await admission.read(pending.prompt, place)
        meta = {"upload_limit": pending.upload_limit} if pending.upload_limit else {}
        new_jobs = with_interaction_ids(pending.id, admission.imagine_jobs(requests, place, meta=meta))
        missing = [new_job for new_job in new_jobs if await bot.jobs.get_job(new_job.id or "") is None]
        if len(missing) == len(new_jobs) and len(new_jobs) > CONFIRM_OVER:
            # It would have asked "submit N prompts?" first: the member decides again.
            return f"{AGAIN_TEXT} without asking you first. Please run it again."
        if pending.channel_id is None:
            return f"{AGAIN_TEXT}. Please run it again."
        channel = bot.get_partial_messageable(pending.channel_id, guild_id=pending.guild_id)
        for new_job in missing:
            await bot.front.submit(channel, new_job)
    except UserFacingError as error:
        return f"{AGAIN_TEXT}: {error}. Please run it again."
    log.info("finished interaction %s after the restart: %d jobs submitted", pending.id, len(missing))
    return RESUMED_TEXT
