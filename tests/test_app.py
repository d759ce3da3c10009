"""The composition root: services opened over one store for the CLI, and `run` refusing a setup
with nothing to run before it starts anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app import open_services, run
from bot.errors import ConfigError
from tests.jobs.conftest import make_settings


async def test_open_services_wires_one_store_under_every_service(tmp_path: Path) -> None:
    """The services share the job service's database; a CLI burst raises the waiting limit."""
    settings = make_settings(tmp_path / "data", MAX_JOBS_PER_USER="2")
    services = await open_services(settings, max_jobs_per_user=40)
    try:
        assert services.jobs.settings.max_jobs_per_user == 40
        await services.members.set_remix(7, True)
        assert await services.members.remix(7) is True
        assert await services.library.member_job_ids(7) == []
        assert services.admission.jobs is services.jobs
    finally:
        await services.close()
    assert settings.database_path.is_file()


def test_run_without_token_and_without_web_port_stops_before_starting(tmp_path: Path) -> None:
    """No DISCORD_TOKEN and WEB_PORT=0: one ConfigError, no job service started."""
    settings = make_settings(tmp_path / "data", DISCORD_TOKEN="", WEB_PORT="0")
    with pytest.raises(ConfigError, match="nothing to run"):
        run(settings)
