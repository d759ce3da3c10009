"""Opening the job service on DATA_DIR's database: the one place where `bot.store` meets
`bot.jobs` (jobs never import the store; the store depends only on `bot.jobs.models`)."""

from __future__ import annotations

from bot.config import Config
from bot.jobs.factory import make_backend
from bot.jobs.needs import ModelNeeds
from bot.jobs.service import JobService
from bot.store.repository import Repository

__all__ = ["open_job_service"]


async def open_job_service(settings: Config) -> JobService:
    """The job service on DATA_DIR's database (migrated) with the configured backend; not started."""
    backend = make_backend(settings)
    repository = await Repository.open(settings.database_path, settings.images_dir)
    service = JobService(settings, repository, backend)
    service.intake.needs = ModelNeeds(lambda: service.settings)  # /describe's models, before queueing
    return service
