"""Build the production job service: SQLite under DATA_DIR, the in-process GPU worker, and the
model pool (MODEL plus MODEL_ALIASES loaded on demand). Used by the bot and the CLI alike."""

from __future__ import annotations

from bot.config import Config
from bot.jobs.service import JobService
from bot.store.repository import Repository


def load_model_pool(settings: Config):
    """Load the default model into a pool that also serves --version/--niji alias models."""
    from bot.engine.loader import load_engine
    from bot.engine.pool import ModelPool

    return ModelPool(settings.model, lambda model: load_engine(settings, model))


async def open_job_service(settings: Config) -> JobService:
    """The job service on DATA_DIR's database (migrated) with the thread backend; not started yet."""
    from bot.jobs.backend import ThreadBackend

    repository = await Repository.open(settings.database_path, settings.images_dir)
    return JobService(settings, repository, ThreadBackend(lambda: load_model_pool(settings)))
