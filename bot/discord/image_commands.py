"""What /blend, /describe, /shorten and their buttons share: attachments read safely, and
suggested prompts imagined through the one admission path."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import discord

from bot.discord.delivery import place_of, upload_meta
from bot.errors import InvalidLink
from bot.jobs.downloads import MAX_IMAGE_BYTES
from bot.jobs.image_jobs import decode_upload
from bot.jobs.models import Job

if TYPE_CHECKING:
    from PIL import Image

    from bot.discord.bot import MidjourneyBot

__all__ = ["imagine_prompts", "read_upload"]

log = logging.getLogger(__name__)


async def read_upload(attachment: discord.Attachment) -> Image.Image:
    """An attached picture, size-checked before reading and decoded in a thread. Raises InvalidLink."""
    if attachment.size > MAX_IMAGE_BYTES:
        raise InvalidLink(f"{attachment.filename} is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB.")
    try:
        data = await attachment.read()
    except discord.HTTPException as error:
        log.info("could not read attachment %s: %s", attachment.url, error)
        raise InvalidLink(f"Could not read {attachment.filename}.") from None
    return await asyncio.to_thread(decode_upload, attachment.filename, data)


async def imagine_prompts(
    bot: MidjourneyBot, interaction: discord.Interaction, texts: Iterable[str]
) -> list[Job]:
    """Start /imagine jobs for `texts` as if the member had typed them here (every rule applies)."""
    admission = bot.admission
    place = place_of(interaction)
    new_jobs = []
    for text in texts:
        requests = await admission.read(text, place)
        new_jobs.extend(admission.imagine_jobs(requests, place, meta=upload_meta(interaction)))
    return await bot.front.submit_all(interaction, new_jobs)
