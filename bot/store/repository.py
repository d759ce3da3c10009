"""All SQL of the bot, as one object: `Repository` combines the row classes of each concern over
one connection — `database.py` (open, migrate, transactions), `jobs.py`, `governance.py`,
`web.py`, `personalization.py` — so callers hold one handle and call `repository.method(...)`.
"""

from __future__ import annotations

from bot.store.database import MIGRATIONS_DIR, OPEN_LOCK_SECONDS
from bot.store.governance import ERASE_SUBJECTS, GovernanceRows
from bot.store.jobs import JobRows
from bot.store.personalization import PersonalizationRows
from bot.store.web import WebRows

__all__ = ["ERASE_SUBJECTS", "MIGRATIONS_DIR", "OPEN_LOCK_SECONDS", "Repository"]


class Repository(JobRows, GovernanceRows, WebRows, PersonalizationRows):
    """The bot's database. Open with `await Repository.open(db_path, images_dir)`; close with `close()`."""
