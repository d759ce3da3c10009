"""Retexture and Edit from Discord: a modal asks for the prompt (the new look, or the instruction),
then the admission reads it like /imagine (banned words, channel rules, parameters) into one job.

Which buttons open which form is the action table (`bot/jobs/actions.py`, Form.RETEXTURE and
Form.INSTRUCT); a form sent just before a restart is submitted after it (`resume_prompted`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.discord.exts.actions._editing import PromptModal
from bot.discord.origin import Origin, origin_of
from bot.discord.pending import recorded, with_interaction_ids
from bot.errors import InvalidParameter
from bot.jobs.actions import Action, Form, resolve
from bot.jobs.models import Job, PendingInteraction

if TYPE_CHECKING:
    from bot.discord.exts.actions._cog import Actions

__all__ = ["PROMPTED_FORMS", "open_prompted_edit", "resume_prompted"]

# The form → (modal title, field label, what the field starts with: the prompt or nothing).
PROMPTED_FORMS: dict[Form, tuple[str, str, bool]] = {
    Form.RETEXTURE: ("Retexture", "The new look (prompt and parameters)", True),
    Form.INSTRUCT: ("Edit", "What to change (e.g. red jacket --no hat)", False),
}


def _action_of(form: Form) -> Action:
    """The action-table row of a prompted form (its name is the form's value)."""
    action = resolve(form.value)
    if action is None or action.form is not form:
        raise InvalidParameter(f"This form ({form.value}) is not available any more.")
    return action


async def _submit(
    actions: Actions, origin: Origin, parent: Job, action: Action, index: int, text: str
) -> Job:
    """The one job of the form's `text` on image `index` (1-based) of `parent`, owned by the member."""
    admission = actions.bot.admission
    new_jobs = await admission.action_jobs(parent, action, index, origin.place, text=text, meta=origin.meta)
    (new_job,) = with_interaction_ids(origin.interaction_id, new_jobs)
    return await actions.bot.front.submit(origin.channel, new_job)


async def open_prompted_edit(
    actions: Actions, interaction: discord.Interaction, job: Job, index: int, action: Action
) -> None:
    """Retexture / Edit: a modal for the prompt; sent, its text is read and the job submitted."""
    if action.form not in PROMPTED_FORMS:
        raise InvalidParameter(f"{action.text} has no prompt form.")
    form = action.form
    title, label, prefilled = PROMPTED_FORMS[form]

    async def submit(modal_interaction: discord.Interaction, text: str) -> None:
        origin = origin_of(modal_interaction)
        # Read first: a banned word, a bad parameter or a missing model is answered at once.
        new_jobs = await actions.bot.admission.action_jobs(
            job, action, index, origin.place, text=text, meta=origin.meta
        )
        await modal_interaction.response.defer()  # the progress message follows in the channel
        async with recorded(actions.bot, modal_interaction, form.value, text, job_id=job.id, index=index):
            (new_job,) = with_interaction_ids(origin.interaction_id, new_jobs)
            await actions.bot.front.submit(origin.channel, new_job)

    await interaction.response.send_modal(PromptModal(title, label, job.prompt if prefilled else "", submit))


async def resume_prompted(actions: Actions, origin: Origin, pending: PendingInteraction) -> str | None:
    """A Retexture / Edit form sent just before a restart: its prompt read again, the job submitted."""
    arguments = pending.arguments
    job = await actions.bot.front.load_job(str(arguments["job_id"]))
    await _submit(
        actions, origin, job, _action_of(Form(pending.command)), int(arguments["index"]), pending.prompt
    )
    return None
