"""`bot.jobs` and `bot.store` do not import each other: the store depends on the jobs' models only."""

from __future__ import annotations

from tests.test_architecture import IMPORTS, internal


def test_jobs_never_import_the_store() -> None:
    """No module of bot.jobs imports bot.store, not even lazily."""
    offenders = {
        name: sorted(item for item in internal(imported) if item.startswith("bot.store"))
        for name, imported in IMPORTS.items()
        if name.startswith("bot.jobs")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_store_uses_only_the_job_models() -> None:
    """bot.store reaches into bot.jobs only for its dataclasses (bot.jobs.models)."""
    used = {
        item
        for name, imported in IMPORTS.items()
        if name.startswith("bot.store")
        for item in internal(imported)
        if item.startswith("bot.jobs")
    }
    assert used <= {"bot.jobs.models"}
