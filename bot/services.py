"""The services the fronts call (Discord, the web app, the CLI), built once over one job service:
admission, a member's settings, a server's rules and styles, jobs and images, pending
interactions, web sign-ins and uploads. Fronts hold this bundle; none of them reaches the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.governance.admission import Admission
from bot.governance.member_settings import MemberSettings
from bot.governance.server_rules import ServerRules
from bot.governance.style_presets import StylePresets
from bot.governance.uploads import Uploads
from bot.governance.web_sign_ins import WebSignIns
from bot.jobs.interactions import PendingInteractions
from bot.jobs.library import JobLibrary, library_of

if TYPE_CHECKING:
    from bot.config import Config
    from bot.jobs.service import JobService

__all__ = ["Services", "library_of"]


@dataclass(frozen=True)
class Services:
    """Everything a front may call."""

    config: Config
    jobs: JobService
    admission: Admission
    members: MemberSettings
    rules: ServerRules
    styles: StylePresets
    library: JobLibrary
    interactions: PendingInteractions
    sign_ins: WebSignIns
    uploads: Uploads

    @classmethod
    def of(cls, jobs: JobService, config: Config) -> Services:
        """The services over `jobs` and its database."""
        repository = jobs.repository
        admission = Admission(jobs, config)
        return cls(
            config=config,
            jobs=jobs,
            admission=admission,
            members=MemberSettings(repository, admission),
            rules=ServerRules(repository),
            styles=StylePresets(repository, admission),
            library=JobLibrary(repository),
            interactions=PendingInteractions(repository),
            sign_ins=WebSignIns(repository),
            uploads=Uploads(admission),
        )

    async def close(self) -> None:
        """Close the database (after the job service has stopped)."""
        await self.jobs.repository.close()
