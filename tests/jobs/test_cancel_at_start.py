"""❌ at the instant a job starts: after the dispatcher marked it running, before the backend
knows the order (issue 19, item 10)."""

from __future__ import annotations

from bot.jobs.events import Cancelled
from bot.jobs.models import JobStatus
from bot.jobs.service import JobService
from tests.jobs.conftest import FakeEngine, imagine, make_request, outcome


async def test_cancel_while_the_job_is_being_started_stops_it(
    service: JobService, fake_engine: FakeEngine
) -> None:
    """A cancel that arrives while the job's inputs are read (marked running, no cancel flag yet)
    stops it: it is never generated, ends Cancelled and costs no GPU time."""
    read_inputs = service.intake.inputs
    answers: list[bool] = []

    async def inputs_with_a_click(job):
        answers.append(await service.cancel(job.id, user_id=job.user_id))
        return await read_inputs(job)

    service.intake.inputs = inputs_with_a_click  # type: ignore[method-assign]
    job = await service.submit(imagine(1, "clicked", request=make_request("clicked", steps=20)))
    assert isinstance(await outcome(service, job.id), Cancelled)
    assert answers == [True]
    assert fake_engine.steps_by_prompt.get("clicked", 0) == 0
    stored = await service.repository.get_job(job.id)
    assert stored.status is JobStatus.CANCELLED
