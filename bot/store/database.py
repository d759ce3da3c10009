"""The database itself: one aiosqlite connection (WAL, foreign keys, FULL sync), opened with
a quick integrity check, numbered migrations from `bot/store/migrations/NNNN_name.sql` applied at
open, and the two helpers every query goes through.

Writes go through `_transaction()`, which holds a lock so that two coroutines never interleave
statements of different transactions on the shared connection. Reads go through `_fetchall()`,
one `execute_fetchall` call on the database thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import aiosqlite

from bot.errors import DatabaseUnavailable

__all__ = ["MIGRATIONS_DIR", "OPEN_LOCK_SECONDS", "Database"]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[\w-]+\.sql$")


OPEN_LOCK_SECONDS = 2.0


async def _probe(database: str | Path, *, uri: bool = False) -> None:
    """Open and close the file with plain sqlite3 (in a thread) before aiosqlite does: when
    aiosqlite's own connect fails, its worker thread outlives the event loop and prints a thread
    traceback after our one-line error (a folder named bot.sqlite3, a read-only DATA_DIR)."""

    def probe() -> None:
        sqlite3.connect(database, timeout=OPEN_LOCK_SECONDS, uri=uri).close()

    await asyncio.to_thread(probe)


def _why(error: BaseException) -> str:
    """A database error in operator words, with what to do."""
    text = str(error) or type(error).__name__
    if "not a database" in text or "malformed" in text or "damaged" in text:
        return f"{text} — restore a backup or move the file away to start afresh"
    if "locked" in text:
        return f"{text} — is another copy of the bot running on this DATA_DIR?"
    if "full" in text or "disk I/O" in text:
        return f"{text} — free some disk space"
    return text


class Database:
    """One open connection and the images folder its paths are relative to; the base of the
    row classes (`JobRows`, `GovernanceRows`, `WebRows`) that `Repository` combines."""

    def __init__(self, connection: aiosqlite.Connection, images_dir: Path) -> None:
        self._db = connection
        self.images_dir = images_dir
        self._lock = asyncio.Lock()

    # ---- lifecycle -------------------------------------------------------------------------

    @classmethod
    async def open(cls, database_path: Path, images_dir: Path) -> Self:
        """Connect, switch to WAL with foreign keys on, and apply pending migrations.

        Raises DatabaseUnavailable (one line naming the file and the problem) when the folder
        or the database cannot be used — garbage, truncated, locked, disk full — after closing
        the connection, so that no worker thread keeps the process alive.
        """
        try:
            database_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseUnavailable(
                f"cannot use {database_path.parent} as DATA_DIR: {error.strerror or error}"
            ) from None
        connection: aiosqlite.Connection | None = None
        try:
            # A short wait for a lock at start: another process holding the database is an error.
            await _probe(database_path)
            connection = await aiosqlite.connect(database_path, timeout=OPEN_LOCK_SECONDS)
            connection.row_factory = aiosqlite.Row
            await connection.execute("PRAGMA journal_mode=WAL")
            await connection.execute("PRAGMA foreign_keys=ON")
            # FULL: an accepted job survives a power cut, not only a process crash.
            await connection.execute("PRAGMA synchronous=FULL")
            async with connection.execute("PRAGMA quick_check") as cursor:
                problems = [row[0] for row in await cursor.fetchall()]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError(f"damaged ({'; '.join(problems[:2])})")
            repository = cls(connection, images_dir)
            await repository.migrate()
            await connection.execute("PRAGMA busy_timeout=5000")
        except (sqlite3.Error, OSError) as error:
            if connection is not None:
                with contextlib.suppress(sqlite3.Error, OSError, ValueError):
                    await connection.close()
            raise DatabaseUnavailable(f"cannot open the database {database_path}: {_why(error)}") from None
        return repository

    @classmethod
    async def open_read_only(cls, database_path: Path, images_dir: Path) -> Self:
        """Connect for reading only: no migrations, no journal change, nothing written (dry runs)."""
        # A relative file: URI is read from the working directory, like the path itself.
        uri = f"file:{quote(str(database_path))}?mode=ro"
        try:
            await _probe(uri, uri=True)
        except sqlite3.Error as error:
            raise DatabaseUnavailable(f"cannot open the database {database_path}: {_why(error)}") from None
        connection = await aiosqlite.connect(uri, uri=True)
        connection.row_factory = aiosqlite.Row
        await connection.execute("PRAGMA busy_timeout=5000")
        return cls(connection, images_dir)

    @classmethod
    async def verify(cls, database_path: Path, images_dir: Path) -> None:
        """Open (migrating) and close: raise DatabaseUnavailable before anything else starts."""
        repository = await cls.open(database_path, images_dir)
        await repository.close()

    async def close(self) -> None:
        await self._db.close()

    async def migrate(self) -> list[int]:
        """Apply every migration file newer than the database; return the versions applied."""
        await self._db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
        )
        await self._db.commit()
        async with self._db.execute("SELECT version FROM schema_migrations") as cursor:
            done = {row[0] for row in await cursor.fetchall()}
        applied = []
        for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
            match = _MIGRATION_NAME.match(path.name)
            if not match or int(match.group(1)) in done:
                continue
            version = int(match.group(1))
            log.info("applying database migration %s", path.name)
            # executescript runs outside Python's implicit transactions: wrap it so a failing
            # migration leaves nothing half-applied.
            await self._db.executescript(
                "BEGIN;\n"
                + path.read_text()
                + f"\nINSERT INTO schema_migrations VALUES ({version}, '{path.name}', {time.time()});"
                + "\nCOMMIT;"
            )
            applied.append(version)
        return applied

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            try:
                yield self._db
            except BaseException:
                await self._db.rollback()
                raise
            await self._db.commit()

    # Reads run in one call on the database thread (execute + fetch together): a write on this
    # connection between a statement's first step and its fetch would make its result undefined
    # (SQLite) — seen as NULL statuses in `count_jobs` while a job was being marked running.
    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        return list(await self._db.execute_fetchall(sql, params))

    async def _fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        rows = await self._fetchall(sql, params)
        return rows[0] if rows else None
