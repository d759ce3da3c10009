"""All SQL of the bot: one aiosqlite connection (WAL, foreign keys), numbered migrations from
`bot/store/migrations/NNNN_name.sql` applied at open, methods that return dataclasses.

Writes go through `_transaction()`, which holds a lock so that two coroutines never interleave
statements of different transactions on the shared connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiosqlite

from bot.errors import DatabaseUnavailable
from bot.governance.models import BannedWord, Erasure, GuildRules, PersonalSettings
from bot.jobs.models import GpuUsage, Job, JobImage, JobKind, JobStatus, PendingInteraction, WebSession
from bot.prompt.context import StylePreset

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[\w-]+\.sql$")
_JSON_COLUMNS = ("request", "image_urls", "seeds", "meta")


OPEN_LOCK_SECONDS = 2.0


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


def _start_of_today_utc(now: float) -> float:
    return now - now % 86400


class Repository:
    """The bot's database. Open with `await Repository.open(db_path, images_dir)`; close with `close()`."""

    def __init__(self, connection: aiosqlite.Connection, images_dir: Path) -> None:
        self._db = connection
        self.images_dir = images_dir
        self._lock = asyncio.Lock()

    # ---- lifecycle -------------------------------------------------------------------------

    @classmethod
    async def open(cls, database_path: Path, images_dir: Path) -> Repository:
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

    # ---- jobs ------------------------------------------------------------------------------

    @staticmethod
    def _job_from_row(row: aiosqlite.Row) -> Job:
        data = dict(row)
        for column in _JSON_COLUMNS:
            data[column] = json.loads(data[column])
        data["kind"] = JobKind(data["kind"])
        data["status"] = JobStatus(data["status"])
        data["delivered"] = bool(data["delivered"])
        return Job(**data)

    async def insert_job(self, job: Job) -> bool:
        """Store a new job; False (and nothing changes) if a job with that id exists."""
        data = asdict(job)
        data["kind"] = job.kind.value
        data["status"] = job.status.value
        for column in _JSON_COLUMNS:
            data[column] = json.dumps(data[column])
        columns = [f.name for f in fields(Job)]
        async with self._transaction() as db:
            cursor = await db.execute(
                f"INSERT OR IGNORE INTO jobs ({', '.join(columns)})"
                f" VALUES ({', '.join('?' for _ in columns)})",
                [data[c] for c in columns],
            )
            return cursor.rowcount == 1

    async def get_job(self, job_id: str) -> Job | None:
        row = await self._fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return self._job_from_row(row) if row else None

    async def jobs_with_status(self, *statuses: JobStatus) -> list[Job]:
        """Jobs in any of these states, oldest first."""
        marks = ", ".join("?" for _ in statuses)
        rows = await self._fetchall(
            f"SELECT * FROM jobs WHERE status IN ({marks}) ORDER BY enqueued_at, rowid",
            [s.value for s in statuses],
        )
        return [self._job_from_row(row) for row in rows]

    async def undelivered_jobs(self) -> list[Job]:
        """Finished (done, failed or cancelled) jobs whose delivery has not completed, oldest first."""
        rows = await self._fetchall(
            "SELECT * FROM jobs WHERE delivered = 0 AND status IN ('done', 'failed', 'cancelled')"
            " ORDER BY finished_at, rowid"
        )
        return [self._job_from_row(row) for row in rows]

    async def user_jobs(self, user_id: int, limit: int = 20) -> list[Job]:
        """A user's most recent jobs, newest first."""
        rows = await self._fetchall(
            "SELECT * FROM jobs WHERE user_id = ? ORDER BY enqueued_at DESC, rowid DESC LIMIT ?",
            (user_id, limit),
        )
        return [self._job_from_row(row) for row in rows]

    async def count_jobs(self) -> dict[JobStatus, int]:
        rows = await self._fetchall("SELECT status, COUNT(*) FROM jobs GROUP BY status")
        counts = dict.fromkeys(JobStatus, 0)
        counts.update({JobStatus(row[0]): row[1] for row in rows})
        return counts

    async def mark_running(self, job_id: str, started_at: float) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE jobs SET status = 'running', started_at = ?, attempts = attempts + 1 WHERE id = ?",
                (started_at, job_id),
            )

    async def mark_queued(self, job_id: str) -> None:
        """Put a job back in the waiting state (shutdown or restart while it ran)."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE jobs SET status = 'queued', started_at = NULL WHERE id = ? AND status != 'done'",
                (job_id,),
            )

    async def mark_done(
        self, job_id: str, images: Iterable[JobImage], finished_at: float, gpu_seconds: float
    ) -> None:
        """Record the images and the job's success in one transaction."""
        images = list(images)
        async with self._transaction() as db:
            await db.executemany(
                "INSERT OR REPLACE INTO images (job_id, idx, path, width, height, seed)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(i.job_id, i.index, self._relative(i.path), i.width, i.height, i.seed) for i in images],
            )
            await db.execute(
                "UPDATE jobs SET status = 'done', error = NULL, finished_at = ?, gpu_seconds = ?,"
                " seeds = ? WHERE id = ?",
                (finished_at, gpu_seconds, json.dumps([i.seed for i in images]), job_id),
            )

    async def mark_finished_without_images(
        self, job_id: str, status: JobStatus, error: str | None, finished_at: float, gpu_seconds: float
    ) -> None:
        """Record a failed or cancelled job."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE jobs SET status = ?, error = ?, finished_at = ?, gpu_seconds = ? WHERE id = ?",
                (status.value, error, finished_at, gpu_seconds, job_id),
            )

    async def set_request(self, job_id: str, request: dict[str, Any], seeds: list[int]) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE jobs SET request = ?, seeds = ? WHERE id = ?",
                (json.dumps(request), json.dumps(seeds), job_id),
            )

    async def set_message_ids(
        self, job_id: str, *, progress_message_id: int | None = None, result_message_id: int | None = None
    ) -> None:
        """Remember the messages a front posted for a job (None leaves a value unchanged)."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE jobs SET progress_message_id = COALESCE(?, progress_message_id),"
                " result_message_id = COALESCE(?, result_message_id) WHERE id = ?",
                (progress_message_id, result_message_id, job_id),
            )

    async def set_meta(self, job_id: str, meta: dict[str, Any]) -> None:
        async with self._transaction() as db:
            await db.execute("UPDATE jobs SET meta = ? WHERE id = ?", (json.dumps(meta), job_id))

    async def add_job_message(
        self, job_id: str, message_id: int, channel_id: int | None, purpose: str
    ) -> None:
        """Record a message posted for a job (`purpose`: "progress", "result", ...)."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO job_messages (message_id, job_id, channel_id, purpose)"
                " VALUES (?, ?, ?, ?)",
                (message_id, job_id, channel_id, purpose),
            )

    async def job_for_message(self, message_id: int) -> Job | None:
        row = await self._fetchone(
            "SELECT jobs.* FROM job_messages JOIN jobs ON jobs.id = job_messages.job_id"
            " WHERE job_messages.message_id = ?",
            (message_id,),
        )
        return self._job_from_row(row) if row else None

    # ---- images ----------------------------------------------------------------------------

    def _relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.images_dir))
        except ValueError:
            return str(path)

    def _image_from_row(self, row: aiosqlite.Row) -> JobImage:
        return JobImage(
            job_id=row["job_id"],
            index=row["idx"],
            path=self.images_dir / row["path"],
            width=row["width"],
            height=row["height"],
            seed=row["seed"],
        )

    async def get_images(self, job_id: str) -> list[JobImage]:
        rows = await self._fetchall("SELECT * FROM images WHERE job_id = ? ORDER BY idx", (job_id,))
        return [self._image_from_row(row) for row in rows]

    async def get_image(self, job_id: str, index: int) -> JobImage | None:
        row = await self._fetchone("SELECT * FROM images WHERE job_id = ? AND idx = ?", (job_id, index))
        return self._image_from_row(row) if row else None

    # ---- deliveries ------------------------------------------------------------------------

    async def delivered_handlers(self, job_id: str) -> set[str]:
        rows = await self._fetchall("SELECT handler FROM job_deliveries WHERE job_id = ?", (job_id,))
        return {row[0] for row in rows}

    async def record_delivery(self, job_id: str, handler: str, *, all_done: bool) -> None:
        """Note that one handler delivered the job; `all_done` also marks the job delivered."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO job_deliveries (job_id, handler, delivered_at) VALUES (?, ?, ?)",
                (job_id, handler, time.time()),
            )
            if all_done:
                await db.execute("UPDATE jobs SET delivered = 1 WHERE id = ?", (job_id,))

    async def mark_delivered(self, job_id: str) -> None:
        async with self._transaction() as db:
            await db.execute("UPDATE jobs SET delivered = 1 WHERE id = ?", (job_id,))

    # ---- accounting ------------------------------------------------------------------------

    async def gpu_usage(self, user_id: int, now: float | None = None) -> GpuUsage:
        """GPU seconds and finished jobs of a user: since 00:00 UTC today, and in all."""
        today = _start_of_today_utc(time.time() if now is None else now)
        row = await self._fetchone(
            "SELECT COUNT(*), COALESCE(SUM(gpu_seconds), 0),"
            " COALESCE(SUM(finished_at >= ?), 0),"
            " COALESCE(SUM(CASE WHEN finished_at >= ? THEN gpu_seconds END), 0)"
            " FROM jobs WHERE user_id = ? AND finished_at IS NOT NULL",
            (today, today, user_id),
        )
        assert row is not None
        return GpuUsage(
            user_id=user_id,
            jobs_total=row[0],
            seconds_total=float(row[1]),
            jobs_today=row[2],
            seconds_today=float(row[3]),
        )

    # ---- user settings and options ---------------------------------------------------------

    async def get_user_settings(self, user_id: int) -> PersonalSettings:
        """The user's settings, or the defaults if they never changed any."""
        row = await self._fetchone("SELECT * FROM user_settings WHERE user_id = ?", (user_id,))
        if row is None:
            return PersonalSettings(user_id=user_id)
        data = dict(row)
        data["remix"] = bool(data["remix"])
        data["raw"] = bool(data["raw"])
        return PersonalSettings(**data)

    async def set_user_settings(self, settings: PersonalSettings) -> None:
        columns = [f.name for f in fields(PersonalSettings)]
        values = asdict(settings)
        async with self._transaction() as db:
            await db.execute(
                f"INSERT OR REPLACE INTO user_settings ({', '.join(columns)})"
                f" VALUES ({', '.join('?' for _ in columns)})",
                [values[c] for c in columns],
            )

    async def update_user_settings(self, user_id: int, **changes: Any) -> PersonalSettings:
        """Change some of a user's settings (e.g. `remix=True`) and return the result."""
        current = await self.get_user_settings(user_id)
        unknown = set(changes) - {f.name for f in fields(PersonalSettings)} | ({"user_id"} & set(changes))
        if unknown:
            raise ValueError(f"unknown user settings: {', '.join(sorted(unknown))}")
        updated = PersonalSettings(**{**asdict(current), **changes})
        await self.set_user_settings(updated)
        return updated

    async def get_user_options(self, user_id: int) -> dict[str, str]:
        rows = await self._fetchall(
            "SELECT name, value FROM user_options WHERE user_id = ? ORDER BY name", (user_id,)
        )
        return {row[0]: row[1] for row in rows}

    async def set_user_option(self, user_id: int, name: str, value: str | None) -> None:
        """Set a personal `--name` option; None deletes it."""
        async with self._transaction() as db:
            if value is None:
                await db.execute("DELETE FROM user_options WHERE user_id = ? AND name = ?", (user_id, name))
            else:
                await db.execute(
                    "INSERT OR REPLACE INTO user_options (user_id, name, value) VALUES (?, ?, ?)",
                    (user_id, name, value),
                )

    # ---- guilds ----------------------------------------------------------------------------

    async def get_guild_rules(self, guild_id: int) -> GuildRules:
        row = await self._fetchone("SELECT * FROM guild_settings WHERE guild_id = ?", (guild_id,))
        if row is None:
            return GuildRules(guild_id=guild_id)
        data = dict(row)
        data["allowed_channels"] = json.loads(data["allowed_channels"])
        return GuildRules(**data)

    async def set_guild_rules(self, settings: GuildRules) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO guild_settings"
                " (guild_id, default_style, max_jobs_per_user, max_repeat, allowed_channels)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    settings.guild_id,
                    settings.default_style,
                    settings.max_jobs_per_user,
                    settings.max_repeat,
                    json.dumps(settings.allowed_channels),
                ),
            )

    async def get_guild_presets(self, guild_id: int) -> list[StylePreset]:
        """The server's style presets (`/style add`), by name."""
        rows = await self._fetchall(
            "SELECT name, template, negative, params, loras FROM guild_presets WHERE guild_id = ?"
            " ORDER BY name",
            (guild_id,),
        )
        presets = []
        for row in rows:
            data = dict(row)
            data["loras"] = tuple((str(name), float(weight)) for name, weight in json.loads(data["loras"]))
            presets.append(StylePreset(**data))
        return presets

    async def set_guild_preset(self, guild_id: int, preset: StylePreset) -> None:
        await self.set_guild_presets(guild_id, [preset])

    async def delete_guild_preset(self, guild_id: int, name: str) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "DELETE FROM guild_presets WHERE guild_id = ? AND name = ?", (guild_id, name)
            )
            return cursor.rowcount > 0

    async def banned_words(self, guild_id: int | None) -> list[BannedWord]:
        """Words banned in this guild plus the global ones (guild_id NULL), excluding removed ones."""
        rows = await self._fetchall(
            "SELECT * FROM banned_words WHERE removed_at IS NULL AND allowed = 0"
            " AND (guild_id IS NULL OR guild_id = ?) ORDER BY word",
            (guild_id,),
        )
        return [self._banned_word_from_row(row) for row in rows]

    @staticmethod
    def _banned_word_from_row(row: aiosqlite.Row) -> BannedWord:
        data = dict(row)
        data["allowed"] = bool(data["allowed"])
        return BannedWord(**data)

    async def add_banned_word(
        self, guild_id: int | None, word: str, added_by: int | None = None
    ) -> BannedWord:
        now = time.time()
        async with self._transaction() as db:
            cursor = await db.execute(
                "INSERT INTO banned_words (guild_id, word, added_by, added_at) VALUES (?, ?, ?, ?)",
                (guild_id, word, added_by, now),
            )
            word_id = cursor.lastrowid
        assert word_id is not None
        return BannedWord(id=word_id, guild_id=guild_id, word=word, added_by=added_by, added_at=now)

    async def remove_banned_word(self, guild_id: int | None, word: str) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE banned_words SET removed_at = ?"
                " WHERE word = ? AND guild_id IS ? AND removed_at IS NULL AND allowed = 0",
                (time.time(), word, guild_id),
            )
            return cursor.rowcount > 0

    # ---- guild governance: banned-word changes, limits, /queue, purge ------------------------

    async def guild_word_changes(self, guild_id: int) -> list[BannedWord]:
        """This guild's standing changes to the banned list: additions and lifted words, by word."""
        rows = await self._fetchall(
            "SELECT * FROM banned_words WHERE guild_id = ? AND removed_at IS NULL ORDER BY word, id",
            (guild_id,),
        )
        return [self._banned_word_from_row(row) for row in rows]

    async def lift_banned_word(self, guild_id: int, word: str, lifted_by: int | None = None) -> None:
        """Take a built-in (or global) banned word off this guild's list."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO banned_words (guild_id, word, added_by, added_at, allowed)"
                " VALUES (?, ?, ?, ?, 1)",
                (guild_id, word, lifted_by, time.time()),
            )

    async def restore_banned_word(self, guild_id: int, word: str) -> bool:
        """Withdraw the guild's lifting of `word` (it is banned again); False if it was not lifted."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE banned_words SET removed_at = ?"
                " WHERE word = ? AND guild_id = ? AND removed_at IS NULL AND allowed = 1",
                (time.time(), word, guild_id),
            )
            return cursor.rowcount > 0

    async def count_waiting(self, user_id: int, guild_id: int) -> int:
        """Jobs of this user from this guild that wait to start."""
        row = await self._fetchone(
            "SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND user_id = ? AND guild_id = ?",
            (user_id, guild_id),
        )
        return row[0] if row else 0

    async def guild_jobs(self, guild_id: int, *statuses: JobStatus) -> list[Job]:
        """The guild's jobs in any of these states (all states when none is given), oldest first."""
        sql = "SELECT * FROM jobs WHERE guild_id = ?"
        params: list[Any] = [guild_id]
        if statuses:
            sql += f" AND status IN ({', '.join('?' for _ in statuses)})"
            params.extend(status.value for status in statuses)
        rows = await self._fetchall(sql + " ORDER BY enqueued_at, rowid", params)
        return [self._job_from_row(row) for row in rows]

    async def set_guild_presets(self, guild_id: int, presets: Iterable[StylePreset]) -> None:
        """Store several presets (new or replacing ones of the same name) in one transaction."""
        rows = [
            (guild_id, p.name, p.template, p.negative, p.params, json.dumps([list(lora) for lora in p.loras]))
            for p in presets
        ]
        async with self._transaction() as db:
            await db.executemany(
                "INSERT OR REPLACE INTO guild_presets (guild_id, name, template, negative, params, loras)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    # ---- personal data (/info, /forget-me, parse) ------------------------------------------

    @classmethod
    async def open_read_only(cls, database_path: Path, images_dir: Path) -> Repository:
        """Connect for reading only: no migrations, no journal change, nothing written (dry runs)."""
        # A relative file: URI is read from the working directory, like the path itself.
        uri = f"file:{quote(str(database_path))}?mode=ro"
        connection = await aiosqlite.connect(uri, uri=True)
        connection.row_factory = aiosqlite.Row
        await connection.execute("PRAGMA busy_timeout=5000")
        return cls(connection, images_dir)

    async def user_jobs_with_status(self, user_id: int, *statuses: JobStatus) -> list[Job]:
        """A user's jobs in any of these states, oldest first."""
        marks = ", ".join("?" for _ in statuses)
        rows = await self._fetchall(
            f"SELECT * FROM jobs WHERE user_id = ? AND status IN ({marks}) ORDER BY enqueued_at, rowid",
            [user_id, *(status.value for status in statuses)],
        )
        return [self._job_from_row(row) for row in rows]

    async def user_job_ids(self, user_id: int) -> list[str]:
        """The id of every job of a user, whatever its state."""
        rows = await self._fetchall("SELECT id FROM jobs WHERE user_id = ? ORDER BY enqueued_at", (user_id,))
        return [row[0] for row in rows]

    async def _tables_with_column(self, column: str) -> list[str]:
        rows = await self._fetchall(
            "SELECT m.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS c"
            " WHERE m.type = 'table' AND c.name = ? ORDER BY m.name",
            (column,),
        )
        return [row[0] for row in rows]

    # ---- erasure (/forget-me, /purge-guild): one routine, tables found by column ---------------

    async def record_erasure(
        self, subject: str, subject_id: int, *, requested_by: int | None, channel_id: int | None
    ) -> None:
        """Record the intent to erase everything with `subject` = `subject_id` (finished on restart)."""
        _check_subject(subject)
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO erasures (subject, subject_id, requested_by, channel_id, requested_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (subject, subject_id, requested_by, channel_id, time.time()),
            )

    async def drop_erasure(self, subject: str, subject_id: int) -> None:
        """Forget an erase intent without erasing (it could not start)."""
        async with self._transaction() as db:
            await db.execute(
                "DELETE FROM erasures WHERE subject = ? AND subject_id = ?", (subject, subject_id)
            )

    async def pending_erasures(self) -> list[Erasure]:
        """Erasures recorded but not finished (the process stopped in the middle), oldest first."""
        rows = await self._fetchall("SELECT * FROM erasures ORDER BY requested_at")
        return [
            Erasure(
                row["subject"], row["subject_id"], row["requested_by"], row["channel_id"], row["requested_at"]
            )
            for row in rows
        ]

    async def job_ids_of(self, subject: str, subject_id: int, *statuses: JobStatus) -> list[str]:
        """The ids of the jobs with `subject` = `subject_id` (in these states; all when none given)."""
        _check_subject(subject)
        sql = f"SELECT id FROM jobs WHERE {subject} = ?"
        params: list[Any] = [subject_id]
        if statuses:
            sql += f" AND status IN ({', '.join('?' for _ in statuses)})"
            params.extend(status.value for status in statuses)
        rows = await self._fetchall(sql + " ORDER BY enqueued_at, rowid", params)
        return [row[0] for row in rows]

    async def erase_rows(self, subject: str, subject_id: int) -> dict[str, int]:
        """Delete every row with `subject` = `subject_id`, and the erase intent, in one transaction.

        Tables are found by column, so tables added by later migrations are covered too: rows of
        the subject's jobs (`job_id`: images, deliveries, messages, ...), then rows with the
        subject's column (jobs, settings, presets, ...). Where a user only acted for a server
        (`added_by` of a banned word) the row stays and the id is cleared. Returns rows per table.
        """
        _check_subject(subject)
        by_job = [table for table in await self._tables_with_column("job_id") if table != "jobs"]
        by_subject = await self._tables_with_column(subject)
        by_actor = await self._tables_with_column("added_by") if subject == "user_id" else []
        deleted: dict[str, int] = {}
        async with self._transaction() as db:
            for table in by_job:
                cursor = await db.execute(
                    f'DELETE FROM "{table}" WHERE job_id IN (SELECT id FROM jobs WHERE {subject} = ?)',
                    (subject_id,),
                )
                deleted[table] = cursor.rowcount
            for table in by_subject:
                cursor = await db.execute(f'DELETE FROM "{table}" WHERE {subject} = ?', (subject_id,))
                deleted[table] = cursor.rowcount
            for table in by_actor:
                await db.execute(f'UPDATE "{table}" SET added_by = NULL WHERE added_by = ?', (subject_id,))
            await db.execute(
                "DELETE FROM erasures WHERE subject = ? AND subject_id = ?", (subject, subject_id)
            )
        return deleted

    # ---- the web app: favourites, stealth, sessions, editor links ------------------------------

    async def toggle_favourite(self, user_id: int, job_id: str, index: int, now: float | None = None) -> bool:
        """Flip image `index` of a job in the member's favourites; True if it is a favourite now."""
        async with self._transaction() as db:
            cursor = await db.execute(
                "DELETE FROM favourites WHERE user_id = ? AND job_id = ? AND idx = ?",
                (user_id, job_id, index),
            )
            if cursor.rowcount:
                return False
            await db.execute(
                "INSERT INTO favourites (user_id, job_id, idx, created_at) VALUES (?, ?, ?, ?)",
                (user_id, job_id, index, time.time() if now is None else now),
            )
            return True

    async def favourite_indexes(self, user_id: int, job_id: str) -> set[int]:
        """The images of a job the member marked as favourites."""
        rows = await self._fetchall(
            "SELECT idx FROM favourites WHERE user_id = ? AND job_id = ?", (user_id, job_id)
        )
        return {row[0] for row in rows}

    async def favourites(self, user_id: int, limit: int = 50, offset: int = 0) -> list[tuple[Job, int]]:
        """The member's favourite images (job, index), most recently marked first."""
        rows = await self._fetchall(
            "SELECT jobs.*, favourites.idx AS fav_idx FROM favourites JOIN jobs ON jobs.id = favourites.job_id"
            " WHERE favourites.user_id = ?"
            " ORDER BY favourites.created_at DESC, favourites.rowid DESC LIMIT ? OFFSET ?",
            (user_id, limit, offset),
        )
        result = []
        for row in rows:
            data = dict(row)
            index = data.pop("fav_idx")
            result.append((self._job_from_row(data), index))
        return result

    async def archive(
        self,
        user_id: int,
        *,
        text: str = "",
        favourites_only: bool = False,
        guild_id: int | None = None,
        limit: int = 24,
        offset: int = 0,
    ) -> list[Job]:
        """The member's jobs, newest first: prompt containing `text`, with a favourite, from a server."""
        sql = "SELECT * FROM jobs WHERE user_id = ?"
        params: list[Any] = [user_id]
        if text:
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            sql += " AND prompt LIKE ? ESCAPE '\\'"
            params.append(f"%{escaped}%")
        if favourites_only:
            sql += " AND id IN (SELECT job_id FROM favourites WHERE user_id = ?)"
            params.append(user_id)
        if guild_id is not None:
            sql += " AND guild_id = ?"
            params.append(guild_id)
        sql += " ORDER BY enqueued_at DESC, rowid DESC LIMIT ? OFFSET ?"
        params.extend((limit, offset))
        return [self._job_from_row(row) for row in await self._fetchall(sql, params)]

    async def gallery(self, guild_id: int, limit: int = 24, offset: int = 0) -> list[Job]:
        """A server's finished jobs, newest first, without stealth ones: jobs made in stealth mode
        (`meta.stealth`) and every job of a member who is in stealth mode now."""
        rows = await self._fetchall(
            "SELECT * FROM jobs WHERE guild_id = ? AND status = 'done'"
            " AND COALESCE(json_extract(meta, '$.stealth'), 0) = 0"
            " AND user_id NOT IN (SELECT user_id FROM member_visibility WHERE stealth = 1)"
            " ORDER BY finished_at DESC, rowid DESC LIMIT ? OFFSET ?",
            (guild_id, limit, offset),
        )
        return [self._job_from_row(row) for row in rows]

    async def child_jobs(self, job_id: str) -> list[Job]:
        """Jobs made from this one (variations, rerolls, upscales, ...), oldest first."""
        rows = await self._fetchall(
            "SELECT * FROM jobs WHERE parent_id = ? ORDER BY enqueued_at, rowid", (job_id,)
        )
        return [self._job_from_row(row) for row in rows]

    async def set_stealth(self, user_id: int, stealth: bool, now: float | None = None) -> None:
        """/stealth (True) or /public (False) for a member."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO member_visibility (user_id, stealth, changed_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET stealth = excluded.stealth, changed_at = excluded.changed_at",
                (user_id, int(stealth), time.time() if now is None else now),
            )

    async def is_stealth(self, user_id: int) -> bool:
        row = await self._fetchone("SELECT stealth FROM member_visibility WHERE user_id = ?", (user_id,))
        return bool(row and row[0])

    async def create_web_session(self, session: WebSession) -> None:
        """Store a new session (and drop the expired ones while at it)."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (session.created_at,))
            await db.execute(
                "INSERT INTO web_sessions (id, user_id, name, guilds, csrf, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    session.id,
                    session.user_id,
                    session.name,
                    json.dumps(session.guilds),
                    session.csrf,
                    session.created_at,
                    session.expires_at,
                ),
            )

    async def get_web_session(self, session_id: str, now: float | None = None) -> WebSession | None:
        """The session, or None if unknown or expired."""
        row = await self._fetchone(
            "SELECT * FROM web_sessions WHERE id = ? AND expires_at > ?",
            (session_id, time.time() if now is None else now),
        )
        if row is None:
            return None
        data = dict(row)
        data["guilds"] = json.loads(data["guilds"])
        return WebSession(**data)

    async def delete_web_session(self, session_id: str, now: float | None = None) -> None:
        """Sign out (and drop every expired session while at it)."""
        async with self._transaction() as db:
            await db.execute(
                "DELETE FROM web_sessions WHERE id = ? OR expires_at <= ?",
                (session_id, time.time() if now is None else now),
            )

    async def use_web_nonce(
        self, nonce: str, user_id: int, expires_at: float, now: float | None = None
    ) -> bool:
        """Record that a single-use link was used; False if it had been used before."""
        now = time.time() if now is None else now
        async with self._transaction() as db:
            await db.execute("DELETE FROM web_nonces WHERE expires_at < ?", (now,))
            cursor = await db.execute(
                "INSERT OR IGNORE INTO web_nonces (nonce, user_id, used_at, expires_at) VALUES (?, ?, ?, ?)",
                (nonce, user_id, now, expires_at),
            )
            return cursor.rowcount == 1

    async def web_nonce_used(self, nonce: str) -> bool:
        return await self._fetchone("SELECT 1 FROM web_nonces WHERE nonce = ?", (nonce,)) is not None

    # ---- interactions acknowledged but not answered yet --------------------------------------

    async def record_interaction(self, pending: PendingInteraction) -> None:
        """Remember an acknowledged interaction until `forget_interaction` (kept across restarts)."""
        data = asdict(pending)
        columns = list(data)
        async with self._transaction() as db:
            await db.execute(
                f"INSERT OR REPLACE INTO pending_interactions ({', '.join(columns)})"
                f" VALUES ({', '.join('?' for _ in columns)})",
                [data[c] for c in columns],
            )

    async def forget_interaction(self, interaction_id: int) -> None:
        """The interaction was answered: nothing is left to do for it after a restart."""
        async with self._transaction() as db:
            await db.execute("DELETE FROM pending_interactions WHERE id = ?", (interaction_id,))

    async def pending_interactions(self) -> list[PendingInteraction]:
        """Every interaction acknowledged and not answered, oldest first."""
        rows = await self._fetchall("SELECT * FROM pending_interactions ORDER BY received_at, id")
        return [PendingInteraction(**dict(row)) for row in rows]


ERASE_SUBJECTS = ("user_id", "guild_id")


def _check_subject(subject: str) -> None:
    # The column name is put into SQL: only these two ever are.
    if subject not in ERASE_SUBJECTS:
        raise ValueError(f"cannot erase by {subject!r}")
