"""What a job button does. Everything but (action, job, index) is read from SQLite, so buttons
on messages from before a restart work the same. Whoever clicks owns the new job.

Which buttons exist, what job each makes (kind, mode), whether Remix asks for the prompt first and
which ones open a form (Custom Zoom's modal, Vary (Region)'s cell picker) is the action table,
`bot/jobs/actions.py`; a custom id's action name (`strong`, `upsubtle`, `zoomtwo`, `panleft`, …)
is resolved there, including names recorded by older versions. U-n posts the image alone, ❤️
toggles the clicker's favourite, ❌ stops the owner's job; the rest submit a derived job.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.discord.buttons import MARKED_WHEN_USED, JobButton, custom_id, marked_view, parse_custom_id
from bot.discord.click_guard import RecentClicks
from bot.discord.exts.actions._editing import open_custom_zoom, resume_custom_zoom, resume_region
from bot.discord.exts.actions._modal import REMIX_PREFIX, RemixModal, submitted_text
from bot.discord.exts.actions._prompted import PROMPTED_FORMS, open_prompted_edit, resume_prompted
from bot.discord.exts.actions._region import RegionCells, RegionSubmit, open_region_editor
from bot.discord.origin import Origin, origin_of
from bot.discord.pending import Ack, recorded, with_interaction_ids
from bot.discord.reconcile import request_nonce
from bot.discord.replies import report_unexpected, send_error
from bot.errors import InvalidParameter, UserFacingError
from bot.governance.admission import MAX_REMIX_JOBS
from bot.jobs.actions import Action, Form, Surface, resolve
from bot.jobs.models import Job, JobKind, JobStatus, PendingInteraction

if TYPE_CHECKING:
    from bot.discord.bot import MidjourneyBot
    from bot.governance.models import PersonalSettings
    from bot.prompt import ImagineRequest

log = logging.getLogger(__name__)
PICK_RESUMED_TEXT = "The bot restarted while posting the image you chose; it is posted now."


def job_action(name: str) -> Action:
    """The action of a custom-id (or recorded) action name that makes a job from a parent image."""
    action = resolve(name, front="discord")
    if (
        action is None
        or action.kind is None
        or action.surface not in (Surface.GRID, Surface.SINGLE, Surface.VIDEO)
    ):
        raise InvalidParameter(f"This button ({name}) is not available any more.")
    return action


class Actions(commands.Cog):
    def __init__(self, bot: MidjourneyBot) -> None:
        self.bot = bot
        self.recent_clicks = RecentClicks()
        # What a click or form acknowledged just before a restart asked for is done after it.
        bot.resumers["button"] = self.resume_button
        bot.resumers["remix"] = self.resume_remix
        forms = {Form.CUSTOM_ZOOM: resume_custom_zoom, Form.REGION: resume_region}
        forms |= dict.fromkeys(PROMPTED_FORMS, resume_prompted)  # Retexture, Edit
        for form, resume in forms.items():  # a form's recorded command is its Form value
            bot.resumers[form.value] = functools.partial(resume, self)

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(JobButton, RegionCells, RegionSubmit)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(JobButton, RegionCells, RegionSubmit)

    async def on_job_button(
        self, interaction: discord.Interaction, action: str, job_id: str, index: int
    ) -> None:
        """Called by `JobButton.callback`; shows user-facing errors, reports bugs."""
        message_id = interaction.message.id if interaction.message is not None else None
        spec = resolve(action, front="discord")
        if (
            spec is not None and spec.name == "favourite"
        ):  # a toggle: every click counts (and costs no GPU time)
            try:
                await self._favourite(interaction, job_id, index)
            except UserFacingError as error:
                await send_error(interaction, error)
            return
        repeat = not self.recent_clicks.first(
            (interaction.user.id, message_id, custom_id(action, job_id, index))
        )
        # A button that only opens a form (the job comes from its submission) may be clicked again
        # at once: the member closed the form and wants it back. ❌ makes no job: every click counts.
        if repeat and (spec is None or (spec.form is None and spec.name != "cancel")):
            await interaction.response.defer()  # the same click again: acknowledged, ignored
            return
        try:
            await self._on_job_button(interaction, action, job_id, index)
        except UserFacingError as error:
            await send_error(interaction, error)
        except Exception as error:
            await report_unexpected(interaction, error)

    async def _on_job_button(
        self, interaction: discord.Interaction, action: str, job_id: str, index: int
    ) -> None:
        front = self.bot.front
        named = resolve(action, front="discord")
        if named is not None and named.name == "cancel":
            await self._cancel(interaction, job_id)
            return
        job = await front.load_job(job_id)
        if job.status is not JobStatus.DONE:
            raise InvalidParameter("That job has not finished yet.")
        clicked = custom_id(action, job_id, index)
        if named is not None and named.name == "pick":
            ack = Ack(lambda: acknowledge(interaction, clicked))
            details = {"action": action, "job_id": job_id, "index": index}
            async with recorded(self.bot, interaction, "button", ack=ack, **details):
                await self.post_pick(origin_of(interaction), job, index)
            return
        spec = job_action(action)
        if spec.form is Form.REGION:
            await open_region_editor(self, interaction, job, index)
            return
        if spec.form is Form.CUSTOM_ZOOM:
            await open_custom_zoom(self, interaction, job, index)
            return
        if spec.form in PROMPTED_FORMS:
            await open_prompted_edit(self, interaction, job, index, spec)
            return
        user = await self.bot.services.members.of(interaction.user.id)
        if spec.remix and user.remix:
            shown_index = index if spec.kind is not JobKind.REROLL else None

            await interaction.response.send_modal(RemixModal(job.prompt, shown_index, clicked))
            return
        # Recorded, then acknowledged, until submitted: a restart in between submits it.
        ack = Ack(lambda: acknowledge(interaction, clicked))
        details = {"action": action, "job_id": job_id, "index": index}
        async with recorded(self.bot, interaction, "button", ack=ack, **details):
            await self.submit_from(
                origin_of(interaction), job, spec.kind, index, _mode(spec, user), speed=user.speed
            )

    async def post_pick(self, origin: Origin, job: Job, index: int) -> None:
        """U-n: image `index` of `job` posted alone, once per click (its nonce comes from the click)."""
        await self.bot.front.post_single(
            origin.channel,
            job,
            index,
            origin.place.user_id,
            origin.upload_limit,
            nonce=request_nonce(origin.interaction_id),
        )

    async def resume_button(self, origin: Origin, pending: PendingInteraction) -> str | None:
        """A job button clicked just before a restart: its job submitted (or its image posted)."""
        arguments = pending.arguments
        action, index = str(arguments["action"]), int(arguments["index"])
        job = await self.bot.front.load_job(str(arguments["job_id"]))
        named = resolve(action, front="discord")
        if named is not None and named.name == "pick":
            await self.post_pick(origin, job, index)
            return PICK_RESUMED_TEXT
        spec = job_action(action)
        user = await self.bot.services.members.of(origin.place.user_id)
        await self.submit_from(origin, job, spec.kind, index, _mode(spec, user), speed=user.speed)
        return None

    async def resume_remix(self, origin: Origin, pending: PendingInteraction) -> str | None:
        """A remix form sent just before a restart: the edited prompt read again and submitted."""
        arguments = pending.arguments
        action, index = str(arguments["action"]), int(arguments["index"])
        parent = await self.bot.front.load_job(str(arguments["job_id"]))
        spec = job_action(action)
        if not spec.remix:
            raise InvalidParameter(f"This button ({action}) is not available any more.")
        user = await self.bot.services.members.of(origin.place.user_id)
        requests = await self.bot.admission.read(pending.prompt, origin.place, most=MAX_REMIX_JOBS)
        await self._submit_remixed(origin, parent, spec.kind, index, _mode(spec, user), requests)
        return None

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """A remix modal was sent: everything needed is in its custom id and the typed text, so a
        modal opened before a restart still works."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: dict[str, Any] = dict(interaction.data or {})
        parsed = parse_custom_id(str(data.get("custom_id", "")).removeprefix(REMIX_PREFIX))
        if not str(data.get("custom_id", "")).startswith(REMIX_PREFIX) or parsed is None:
            return
        action, job_id, index = parsed
        clicked = custom_id(action, job_id, index)
        try:
            job = await self.bot.front.load_job(job_id)
            spec = job_action(action)
            if not spec.remix:
                raise InvalidParameter(f"This button ({action}) is not available any more.")
            user = await self.bot.services.members.of(interaction.user.id)
        except UserFacingError as error:
            await send_error(interaction, error)
            return
        await self.submit_remix(
            interaction, job, spec.kind, index, _mode(spec, user), clicked, submitted_text(data)
        )

    async def submit_from(
        self,
        origin: Origin,
        parent: Job,
        kind: JobKind,
        index: int,
        mode: str | None,
        *,
        speed: str | None = None,
    ) -> Job:
        """Submit a job derived from image `index` (1-based) of `parent`, owned by the clicker.

        `speed` is the clicker's /settings mode; the parent's speed only when none is given.
        """
        new_job = self.bot.admission.derived_job(
            parent, kind, index, mode, origin.place, speed=speed, meta=origin.meta
        )
        (new_job,) = with_interaction_ids(origin.interaction_id, [new_job])
        return await self.bot.front.submit(origin.channel, new_job)

    async def submit_remix(
        self,
        interaction: discord.Interaction,
        parent: Job,
        kind: JobKind,
        index: int,
        mode: str | None,
        clicked: str,
        text: str,
    ) -> None:
        """The remix modal was sent: read the edited prompt like /imagine (the same admission) and
        submit it."""
        origin = origin_of(interaction)
        action = clicked.split(":")[1]
        try:
            requests = await self.bot.admission.read(text, origin.place, most=MAX_REMIX_JOBS)
            # Recorded, then acknowledged, until submitted: a restart in between submits it.
            ack = Ack(lambda: acknowledge(interaction, clicked))
            details = {"action": action, "job_id": parent.id, "index": index}
            async with recorded(self.bot, interaction, "remix", text, ack=ack, **details):
                await self._submit_remixed(origin, parent, kind, index, mode, requests)
        except UserFacingError as error:
            await send_error(interaction, error)
        except Exception as error:
            await report_unexpected(interaction, error)

    async def _submit_remixed(
        self,
        origin: Origin,
        parent: Job,
        kind: JobKind,
        index: int,
        mode: str | None,
        requests: list[ImagineRequest],
    ) -> list[Job]:
        admission = self.bot.admission
        new_jobs = [
            admission.derived_job(parent, kind, index, mode, origin.place, request=request, meta=origin.meta)
            for request in requests
        ]
        return await self.bot.front.submit_all(
            origin.channel, with_interaction_ids(origin.interaction_id, new_jobs)
        )

    async def _favourite(self, interaction: discord.Interaction, job_id: str, index: int) -> None:
        """❤️ on a single image: the clicker's favourite on or off (the web's Favourites shows it)."""
        now = await self.bot.services.library.toggle_favourite(interaction.user.id, job_id, index)
        text = "❤️ Added to your favourites." if now else "Removed from your favourites."
        await interaction.response.send_message(text, ephemeral=True)

    async def _cancel(self, interaction: discord.Interaction, job_id: str) -> None:
        jobs = self.bot.jobs
        if await jobs.cancel(job_id, user_id=interaction.user.id):
            # The delivery handler marks the progress message "(Cancelled)".
            await interaction.response.defer()
            return
        job = await jobs.get_job(job_id)
        if job is not None and not job.status.is_terminal and job.user_id != interaction.user.id:
            raise UserFacingError("Only the person who started this job can cancel it.")
        raise UserFacingError("This job has already finished.")


def _mode(spec: Action, user: PersonalSettings) -> str | None:
    """The job's mode: the button's own, or the clicker's variation mode (V buttons)."""
    return spec.mode or (user.variation_mode if spec.kind is JobKind.VARIATION else None)


async def acknowledge(interaction: discord.Interaction, clicked: str) -> None:
    """Answer a button click at once: turn a used U/V button green, or just acknowledge."""
    message = interaction.message
    parsed = parse_custom_id(clicked)
    view = marked_view(message, clicked) if message is not None else None
    if view is not None and parsed is not None and parsed[0] in MARKED_WHEN_USED:
        await interaction.response.edit_message(view=view)
    else:
        await interaction.response.defer()
