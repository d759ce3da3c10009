"""Interactions acknowledged before a restart: finished (or answered) at start-up.

Every interaction that makes a job (/imagine, /blend, /describe, /shorten, the prompt buttons
under /describe and /shorten, the job buttons U/V/🔄/Vary/Upscale/Zoom/Pan/Make Square, the
remix, Custom Zoom and Vary (Region) forms, "submit N prompts?") is recorded in the table
`pending_interactions` and then acknowledged (`recorded` with its `Ack`): its kind (`command`),
its text and what else it asked for (`details`: the button, the job, the attachments…). Recorded
first, so a process killed at the acknowledgement still leaves the request behind (a full disk
refuses it before Discord is answered: "Disk full"). The record is forgotten once the request was
answered. A process killed in between leaves it.

At the next start every record younger than Discord's 15 minutes is finished by the resumer its
cog registered for that kind (`MidjourneyBot.resumers`): the same code as the live request, fed
from the record (bot/discord/origin.py). The jobs an interaction makes have ids derived from the
interaction id (a uuid5 of it and the job's index), and `JobFront.submit` returns a job whose id
exists as it is, so a job queued just before the kill is neither queued nor shown twice. Then the
member is answered: a "thinking…" reply is edited; after a button or form (whose original
response is the message it sits on) an ephemeral follow-up says it. Older records are dropped:
Discord no longer accepts their token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
from discord.webhook.async_ import async_context

from bot.discord.origin import Origin, origin_of_record
from bot.errors import UserFacingError
from bot.jobs.loading import LOADING_TEXT
from bot.jobs.models import NewJob, PendingInteraction

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot

__all__ = [
    "AGAIN_TEXT",
    "INTERACTION_LIFETIME",
    "RESUMED_TEXT",
    "Ack",
    "Resumer",
    "answer",
    "edit_original",
    "interaction_job_ids",
    "pending_of",
    "recorded",
    "resume_interactions",
    "send_followup",
    "thinking",
    "with_interaction_ids",
]

log = logging.getLogger(__name__)

# Discord accepts an interaction's token for 15 minutes; a little margin for the edit itself.
INTERACTION_LIFETIME = 15 * 60 - 10
_JOB_IDS = uuid.UUID("6f1d8f0e-3b7a-4c55-9a51-0c2b6d1e7a15")
RESUMED_TEXT = "The bot restarted while submitting your request; it is queued now."
AGAIN_TEXT = "The bot restarted before your request was submitted, and it could not be submitted now"
# How the member is answered after a restart: the "thinking…" reply is edited, or (after a
# button or a form, whose original response is the message it sits on) a follow-up is sent.
ANSWER_ORIGINAL = "original"
ANSWER_FOLLOWUP = "followup"

# Finishes a recorded interaction: submits what it asked for from `Origin` and the record.
# Returns the text to answer with (None: RESUMED_TEXT); raises UserFacingError if refused now.
Resumer = Callable[[Origin, PendingInteraction], Awaitable[str | None]]


def interaction_job_ids(interaction_id: int, count: int) -> list[str]:
    """The job ids of an interaction's jobs: the same ones whenever the prompt is submitted."""
    return [str(uuid.uuid5(_JOB_IDS, f"{interaction_id}:{index}")) for index in range(count)]


def with_interaction_ids(interaction_id: int, new_jobs: list[NewJob]) -> list[NewJob]:
    """Give each job its interaction-derived id (submitting one twice returns the first)."""
    for new_job, job_id in zip(new_jobs, interaction_job_ids(interaction_id, len(new_jobs)), strict=True):
        new_job.id = job_id
    return new_jobs


@dataclass(frozen=True)
class Ack:
    """How an interaction is acknowledged once it is recorded. `thinking`: with a "thinking…"
    reply (a restart edits it), else on the message the button or form sits on (a restart sends
    a follow-up)."""

    send: Callable[[], Awaitable[object]]
    thinking: bool = False


def thinking(interaction: discord.Interaction) -> Ack:
    """Acknowledge with an ephemeral "thinking…" reply (a command, a prompt button)."""
    return Ack(lambda: interaction.response.defer(ephemeral=True, thinking=True), thinking=True)


def pending_of(
    interaction: discord.Interaction,
    command: str,
    prompt: str = "",
    *,
    shows_thinking: bool | None = None,
    **details: Any,
) -> PendingInteraction:
    """What a restart needs to finish `interaction`; `shows_thinking`: whether it is (or will be)
    acknowledged with a "thinking…" reply (None: as its response so far says)."""
    if shows_thinking is None:
        response = interaction.response.type
        shows_thinking = response is discord.InteractionResponseType.deferred_channel_message
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
        details=json.dumps({**details, "answer": ANSWER_ORIGINAL if shows_thinking else ANSWER_FOLLOWUP}),
    )


@asynccontextmanager
async def recorded(
    bot: MidjourneyBot,
    interaction: discord.Interaction,
    command: str,
    prompt: str = "",
    *,
    ack: Ack | None = None,
    **details: Any,
) -> AsyncIterator[None]:
    """Keep `interaction` recorded while the block submits what it asked for.

    Recorded, then acknowledged with `ack` (None: it was acknowledged already), so a kill at the
    acknowledgement still leaves the record. A full disk raises DiskFull before anything is
    acknowledged. Forgotten when the block ends, also by an error (the error handler answers it);
    kept when it is cancelled — the bot is stopping, and the next start finishes it with the
    resumer that `bot.resumers[command]` names (registered by the cog that handles the command).
    """
    interactions = bot.services.interactions
    shown = None if ack is None else ack.thinking
    await interactions.record(pending_of(interaction, command, prompt, shows_thinking=shown, **details))
    task = asyncio.current_task()
    if task is not None:
        bot.answering.add(task)  # a stop waits for it before closing the database
    try:
        try:
            if ack is not None:
                await ack.send()
                if ack.thinking and bot.jobs.loading.active:
                    # The bot is up before the model (bot/discord/bot.py): say why this waits.
                    with suppress(discord.HTTPException):
                        await interaction.edit_original_response(content=LOADING_TEXT)
            yield
        except asyncio.CancelledError:
            raise  # the record stays: the next start finishes the request
        except BaseException:
            await interactions.forget(interaction.id)
            raise
        await interactions.forget(interaction.id)
    finally:
        if task is not None:
            bot.answering.discard(task)


def _webhook_call(bot: MidjourneyBot) -> dict[str, Any]:
    """The session arguments of discord.py's webhook adapter, as its own Interaction passes them."""
    http = bot.http
    return {
        "session": http._HTTPClient__session,  # type: ignore[attr-defined]  # discord.py's own session
        "proxy": http.proxy,
        "proxy_auth": http.proxy_auth,
    }


async def edit_original(bot: MidjourneyBot, pending: PendingInteraction, content: str) -> None:
    """Replace the interaction's original response ("thinking…") with `content`
    (`PATCH /webhooks/{application_id}/{token}/messages/@original`, as discord.py's Interaction does)."""
    await async_context.get().edit_original_interaction_response(
        pending.application_id,
        pending.token,
        payload={"content": content, "embeds": [], "components": []},
        **_webhook_call(bot),
    )


async def send_followup(bot: MidjourneyBot, pending: PendingInteraction, content: str) -> None:
    """An ephemeral follow-up message to the interaction (`POST /webhooks/{application_id}/{token}`)."""
    await async_context.get().execute_webhook(
        pending.application_id,
        pending.token,
        payload={"content": content, "flags": discord.MessageFlags(ephemeral=True).value},
        wait=True,
        **_webhook_call(bot),
    )


async def answer(bot: MidjourneyBot, pending: PendingInteraction, content: str) -> None:
    """Tell the member what became of the request: edit "thinking…", or a follow-up after a
    button or form (their original response is the message they sit on: never overwritten)."""
    if pending.arguments.get("answer", ANSWER_ORIGINAL) == ANSWER_ORIGINAL:
        await edit_original(bot, pending, content)
    else:
        await send_followup(bot, pending, content)


async def resume_interactions(
    bot: MidjourneyBot, *, now: float | None = None, recorded_before: float | None = None
) -> int:
    """Finish every recorded interaction still within its 15 minutes; drop the older ones.
    Returns how many were answered. Run it once the job service has started (admission needs
    the model's facts, submitting the worker). `recorded_before`: only records older than that
    (the process' start): requests this process took while the model loaded are still being
    answered by their own handlers."""
    now = time.time() if now is None else now
    answered = 0
    interactions = bot.services.interactions
    for pending in await interactions.unanswered():
        if recorded_before is not None and pending.received_at >= recorded_before:
            continue
        try:
            if now - pending.received_at > INTERACTION_LIFETIME:
                log.info("dropping interaction %s from before the restart: too old to answer", pending.id)
                continue
            content = await _finish(bot, pending)
            try:
                await answer(bot, pending, content)
                answered += 1
            except discord.HTTPException as error:
                log.info("could not answer interaction %s after the restart: %s", pending.id, error)
        except Exception:
            log.exception("could not finish interaction %s after the restart", pending.id)
        finally:
            await interactions.forget(pending.id)
    return answered


async def _finish(bot: MidjourneyBot, pending: PendingInteraction) -> str:
    """Submit what `pending` asked for with its kind's resumer; the text to answer with."""
    resumer = bot.resumers.get(pending.command)
    origin = origin_of_record(bot, pending)
    if resumer is None or origin is None:
        log.info("interaction %s (%s) cannot be finished after the restart", pending.id, pending.command)
        return f"{AGAIN_TEXT}. Please run it again."
    try:
        text = await resumer(origin, pending)
    except UserFacingError as error:
        return f"{AGAIN_TEXT}: {error}. Please run it again."
    log.info("finished interaction %s (%s) after the restart", pending.id, pending.command)
    return text or RESUMED_TEXT
