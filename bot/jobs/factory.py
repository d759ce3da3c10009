"""Build the production job service: SQLite under DATA_DIR, the backend chosen by `BACKEND`
(the in-process GPU worker thread, or GPU replicas run by Ray Serve), the model pool (MODEL
plus MODEL_ALIASES loaded on demand) and, with NSFW_FILTER on, the NSFW checker in each worker.
Used by the bot and the CLI alike; `bot/wiring.py` puts it on the database."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.config import Config
from bot.errors import ConfigError
from bot.jobs.backend import Backend

__all__ = ["load_model_pool", "make_backend"]


def load_model_pool(settings: Config, on_load: Callable[[str, float], None] | None = None):
    """Load the default model into a pool that also serves --version/--niji alias models.

    `on_load(model, seconds)` is told about every model load (Ray replicas count them).
    """
    from bot.engine.device import pick_device
    from bot.engine.loader import load_engine
    from bot.engine.pool import ModelPool
    from bot.engine.upscaler import make_upscaler

    # One upscaler for all the pool's models: its weights load once per process, on first use.
    upscaler = make_upscaler(settings, pick_device(settings.device)[0])

    def load(model: str):
        started = time.monotonic()
        engine = load_engine(settings, model, upscaler=upscaler)
        if on_load is not None:
            on_load(model, time.monotonic() - started)
        return engine

    return ModelPool(settings.model, load)


def make_backend(settings: Config) -> Backend:
    """The backend `BACKEND` names, not started yet. `ray` needs the optional extra (`.[ray]`).
    Its workers load the NSFW checker (NSFW_FILTER on) when they start."""
    from bot.engine.safety_checker import checker_source, load_safety_checker

    checker_source(settings)  # a filter without a model stops start-up here, before any loading
    if settings.backend == "ray":
        try:
            from bot.jobs.ray_backend import RayServeBackend
        except ImportError as error:
            raise ConfigError(
                f"BACKEND='ray' needs Ray Serve: pip install '.[ray]' ({error.name or error} is missing)"
            ) from None
        return RayServeBackend(settings, load_model_pool)
    from bot.jobs.backend import ThreadBackend

    return ThreadBackend(
        lambda: load_model_pool(settings), load_checker=lambda: load_safety_checker(settings)
    )
