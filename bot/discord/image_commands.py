"""What /blend, /describe, /shorten and their buttons share: attachments read safely, and
suggested prompts imagined through the one admission path."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.discord.pending import with_interaction_ids
from bot.errors import InvalidLink
from bot.jobs.downloads import MAX_IMAGE_BYTES
from bot.jobs.image_jobs import decode_upload, upload_too_large
from bot.jobs.models import Job

if TYPE_CHECKING:
    from PIL import Image

    from bot.discord.bot import MidjourneyBot
    from bot.discord.origin import Origin

__all__ = ["Upload", "imagine_prompts", "read_upload"]

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


async def read_upload(client: discord.Client, upload: Upload) -> Image.Image:
    """An attached picture, size-checked before reading and decoded in a thread. Raises InvalidLink."""
    if upload.size > MAX_IMAGE_BYTES:
        raise upload_too_large(upload.filename)
    try:
        data = await client.http.get_from_cdn(upload.url)  # what `Attachment.read` does
    except discord.HTTPException as error:
        log.info("could not read attachment %s: %s", upload.url, error)
        raise InvalidLink(f"Could not read {upload.filename}.") from None
    return await asyncio.to_thread(decode_upload, upload.filename, data)


async def imagine_prompts(bot: MidjourneyBot, origin: Origin, texts: Iterable[str]) -> list[Job]:
    """Start /imagine jobs for `texts` as if the member had typed them there (every rule applies);
    their ids come from the interaction (bot/discord/pending.py)."""
    admission = bot.admission
    new_jobs = []
    for text in texts:
        requests = await admission.read(text, origin.place)
        new_jobs.extend(admission.imagine_jobs(requests, origin.place, meta=origin.meta))
    return await bot.front.submit_all(origin.channel, with_interaction_ids(origin.interaction_id, new_jobs))
