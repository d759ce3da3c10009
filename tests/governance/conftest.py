"""The job-system fixtures (a fake engine, a running JobService) for governance tests that need jobs."""

from tests.jobs.conftest import fake_engine, service, services, settings

__all__ = ["fake_engine", "service", "services", "settings"]
