"""The /shorten command and its 1️⃣–5️⃣ buttons.

The analysis runs on the GPU worker (a queued shorten job: the model's own CLIP text encoder),
never on the event loop. Parameters are kept apart: only the text is analysed, and the
parameters are added back to every shorter prompt.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.buttons import PromptButton
from bot.discord.image_commands import imagine_or_ask, imagine_prompts, resume_imagine_prompts
from bot.discord.origin import Origin, origin_of
from bot.discord.pending import recorded, thinking, with_interaction_ids
from bot.discord.replies import send_error
from bot.errors import JobNotFound, UserFacingError
from bot.jobs.actions import Surface, actions_on
from bot.jobs.models import JobKind, PendingInteraction

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot

log = logging.getLogger(__name__)

# The "Yes" under "submit N prompts?" after 1️⃣–5️⃣ (a recorded interaction kind).
CONFIRMED = "shortyes"

MAX_PROMPT_OPTION = 6000


class Shorten(commands.Cog):
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot
        self.bot.add_dynamic_items(PromptButton)
        bot.resumers["shorten"] = self.resume_shorten
        for action in actions_on(Surface.SHORTEN):  # 1️⃣-5️⃣ (the action table's shorten rows)
            for name in action.discord:
                bot.resumers[name] = self.resume_pick
        bot.resumers[CONFIRMED] = self.resume_confirmed

    @app_commands.command(
        name="shorten", description="See which words of a prompt matter, and shorter prompts"
    )
    @app_commands.describe(prompt="The prompt to analyse")
    async def shorten(
        self, interaction: discord.Interaction, prompt: app_commands.Range[str, 1, MAX_PROMPT_OPTION]
    ) -> None:
        # Recorded, then acknowledged, until answered: a restart in between submits it.
        async with recorded(self.bot, interaction, "shorten", prompt, ack=thinking(interaction)):
            try:
                await self.submit(origin_of(interaction), prompt)
            except UserFacingError as error:
                await send_error(interaction, error)
                return
            await interaction.delete_original_response()

    async def submit(self, origin: Origin, prompt: str) -> None:
        """Check the prompt here (channel, banned words, parameters) and admit a shorten job."""
        admission = self.bot.admission
        await admission.check_channel(origin.place)
        new_job = await admission.shorten_job(prompt, origin.place, meta=origin.meta)
        (new_job,) = with_interaction_ids(origin.interaction_id, [new_job])
        await self.bot.front.submit(origin.channel, new_job)

    async def on_prompt_button(
        self, interaction: discord.Interaction, action: str, job_id: str, index: int
    ) -> None:
        """1️⃣–5️⃣: imagine shorter prompt n (with the original parameters); more than
        `CONFIRM_OVER` jobs (a /prefer suffix with `--repeat`) ask first."""
        async with recorded(
            self.bot, interaction, action, ack=thinking(interaction), job_id=job_id, index=index
        ):
            try:
                picked = [await self.picked(job_id, index)]
                details = {"job_id": job_id, "index": index}
                if await imagine_or_ask(self.bot, interaction, picked, confirmed=CONFIRMED, **details):
                    return  # "submit N prompts?" stays until answered
            except UserFacingError as error:
                await send_error(interaction, error)
                return
            await interaction.delete_original_response()

    async def picked(self, job_id: str, index: int) -> str:
        """Shorter prompt `index` (1-based) of the shorten job `job_id`, with its parameters."""
        job = await self.bot.front.load_job(job_id)
        shorter = (job.meta.get("result") or {}).get("shorter") or []
        if job.kind is not JobKind.SHORTEN or not 1 <= index <= len(shorter):
            raise JobNotFound(f"Job `{job_id}` has no shorter prompt #{index}.")
        params = job.meta.get("params", "")
        return f"{shorter[index - 1]} {params}".strip()

    async def resume_shorten(self, origin: Origin, pending: PendingInteraction) -> str | None:
        """/shorten after a restart: the prompt checked again and its job submitted."""
        await self.submit(origin, pending.prompt)
        return None

    async def resume_pick(self, origin: Origin, pending: PendingInteraction) -> str | None:
        """A 1️⃣–5️⃣ click from before a restart, submitted after it (unless it would have asked
        "submit N prompts?" first)."""
        arguments = pending.arguments
        picked = await self.picked(str(arguments["job_id"]), int(arguments["index"]))
        return await resume_imagine_prompts(self.bot, origin, [picked])

    async def resume_confirmed(self, origin: Origin, pending: PendingInteraction) -> str | None:
        """ "Yes" under "submit N prompts?" after a restart: the shorter prompt imagined, no question."""
        arguments = pending.arguments
        picked = await self.picked(str(arguments["job_id"]), int(arguments["index"]))
        await imagine_prompts(self.bot, origin, [picked])
        return None
