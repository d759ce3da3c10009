"""The /describe command and its buttons (1️⃣–4️⃣ imagine one suggestion, 🔄 four more,
"Imagine all"). The suggestions are made by a queued GPU job (describe); the buttons read them
back from that job's stored result, so they keep working after a restart. A click that would
make more than `CONFIRM_OVER` jobs asks "submit N prompts?" first, as /imagine does."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands
from PIL import Image

from bot.discord.buttons import PromptButton
from bot.discord.image_commands import (
    Upload,
    imagine_or_ask,
    imagine_prompts,
    read_upload,
    resume_imagine_prompts,
)
from bot.discord.origin import Origin, origin_of
from bot.discord.pending import recorded, thinking, with_interaction_ids
from bot.discord.replies import send_error
from bot.errors import InvalidParameter, JobNotFound, UserFacingError
from bot.jobs.actions import Surface, actions_on
from bot.jobs.derive import random_seed
from bot.jobs.image_jobs import INPUT_FILE
from bot.jobs.models import Job, JobKind, PendingInteraction
from bot.prompt.params import image_links

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot

log = logging.getLogger(__name__)

# The buttons under the suggestions that this cog answers: the action table's describe rows.
PROMPT_BUTTONS = tuple(name for action in actions_on(Surface.DESCRIBE) for name in action.discord)
# The "Yes" under "submit N prompts?" after 1️⃣–4️⃣ / "Imagine all" (a recorded interaction kind).
CONFIRMED = "suggestyes"


class Describe(commands.Cog):
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot
        self.bot.add_dynamic_items(PromptButton)
        bot.resumers["describe"] = self.resume_describe
        for action in PROMPT_BUTTONS:
            bot.resumers[action] = self.resume_prompt_button
        bot.resumers[CONFIRMED] = self.resume_confirmed

    @app_commands.command(name="describe", description="Get four prompts that describe an image")
    @app_commands.describe(image="The image to describe", link="Or a link to it")
    async def describe(
        self,
        interaction: discord.Interaction,
        image: discord.Attachment | None = None,
        link: str | None = None,
    ) -> None:
        upload = Upload.of(image) if image is not None else None
        # Recorded, then acknowledged, until answered: a restart in between submits it.
        details = {"upload": upload.to_dict() if upload else None, "link": link}
        async with recorded(self.bot, interaction, "describe", ack=thinking(interaction), **details):
            try:
                await self.describe_picture(origin_of(interaction), upload, link)
            except UserFacingError as error:
                await send_error(interaction, error)
                return
            await interaction.delete_original_response()

    async def describe_picture(self, origin: Origin, upload: Upload | None, link: str | None) -> Job:
        """Describe the attached picture or the one behind `link` (exactly one of them)."""
        if (upload is None) == (link is None):
            raise InvalidParameter("Give one image: attach it (`image`) or paste its link (`link`).")
        if upload is not None:
            picture = await read_upload(self.bot, upload)
            return await self.submit(origin, upload.url, picture, upload.filename, seed=0)
        (url,) = image_links(link or "", most=1)
        return await self.submit(origin, url, None, url, seed=0)

    async def submit(
        self, origin: Origin, url: str, picture: Image.Image | None, shown: str, *, seed: int
    ) -> Job:
        """Admit a describe job for one picture (channel rules, waiting limits)."""
        await self.bot.admission.check_channel(origin.place)
        new_job = self.bot.admission.describe_job(
            url, shown, origin.place, picture=picture, seed=seed, meta=origin.meta
        )
        (new_job,) = with_interaction_ids(origin.interaction_id, [new_job])
        return await self.bot.front.submit(origin.channel, new_job)

    async def on_prompt_button(
        self, interaction: discord.Interaction, action: str, job_id: str, index: int
    ) -> None:
        """1️⃣–4️⃣ imagine one suggestion, "Imagine all" all four, 🔄 describes the image again."""
        async with recorded(
            self.bot, interaction, action, ack=thinking(interaction), job_id=job_id, index=index
        ):
            try:
                if action == "redescribe":
                    await self.describe_again(origin_of(interaction), job_id)
                else:
                    chosen = await self.chosen(action, job_id, index)
                    details = {"action": action, "job_id": job_id, "index": index}
                    if await imagine_or_ask(self.bot, interaction, chosen, confirmed=CONFIRMED, **details):
                        return  # "submit N prompts?" stays until answered
            except UserFacingError as error:
                await send_error(interaction, error)
                return
            await interaction.delete_original_response()

    async def describe_again(self, origin: Origin, job_id: str) -> None:
        """🔄: the same picture described again with a new seed."""
        job = await self.bot.front.load_job(job_id)
        picture = await asyncio.to_thread(_open, self.bot.jobs.job_folder(job.id) / INPUT_FILE)
        await self.submit(origin, job.image_urls[0], picture, job.prompt, seed=random_seed())

    async def chosen(self, action: str, job_id: str, index: int) -> list[str]:
        """The suggestions a button imagines: all four ("Imagine all") or number `index`."""
        prompts = _suggestions(await self.bot.front.load_job(job_id))
        if action == "suggestall":
            return prompts
        if not 1 <= index <= len(prompts):
            raise JobNotFound(f"Job `{job_id}` has no suggestion #{index}.")
        return [prompts[index - 1]]

    async def resume_describe(self, origin: Origin, pending: PendingInteraction) -> str | None:
        """/describe after a restart: the picture read again, the job submitted."""
        arguments = pending.arguments
        upload = Upload(**arguments["upload"]) if arguments.get("upload") else None
        await self.describe_picture(origin, upload, arguments.get("link"))
        return None

    async def resume_prompt_button(self, origin: Origin, pending: PendingInteraction) -> str | None:
        """A suggestion button clicked before a restart, submitted after it (unless it would
        have asked "submit N prompts?" first)."""
        arguments = pending.arguments
        job_id = str(arguments["job_id"])
        if pending.command == "redescribe":
            await self.describe_again(origin, job_id)
            return None
        chosen = await self.chosen(pending.command, job_id, int(arguments["index"]))
        return await resume_imagine_prompts(self.bot, origin, chosen)

    async def resume_confirmed(self, origin: Origin, pending: PendingInteraction) -> str | None:
        """ "Yes" under "submit N prompts?" after a restart: the suggestions imagined, no question."""
        arguments = pending.arguments
        chosen = await self.chosen(
            str(arguments["action"]), str(arguments["job_id"]), int(arguments["index"])
        )
        await imagine_prompts(self.bot, origin, chosen)
        return None


def _suggestions(job: Job) -> list[str]:
    prompts = (job.meta.get("result") or {}).get("prompts") or []
    if job.kind is not JobKind.DESCRIBE or len(prompts) < 1:
        raise JobNotFound(f"Job `{job.id}` has no suggestions stored.")
    return list(prompts)


def _open(path) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except OSError:
        raise JobNotFound("The described image is no longer stored.") from None
