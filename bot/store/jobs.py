"""Job rows: the durable queue's jobs and their states, their images, the messages posted for
them, deliveries, GPU accounting, and the interactions acknowledged but not answered yet."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import aiosqlite

from bot.jobs.models import GpuUsage, Job, JobImage, JobKind, JobStatus, PendingInteraction
from bot.store.database import Database

__all__ = ["JobRows", "job_from_row"]

_JSON_COLUMNS = ("request", "image_urls", "seeds", "meta")


def _start_of_today_utc(now: float) -> float:
    return now - now % 86400


def job_from_row(row: aiosqlite.Row | dict[str, Any]) -> Job:
    """A `Job` from a row of the `jobs` table (or a dict of its columns)."""
    data = dict(row)
    for column in _JSON_COLUMNS:
        data[column] = json.loads(data[column])
    data["kind"] = JobKind(data["kind"])
    data["status"] = JobStatus(data["status"])
    data["delivered"] = bool(data["delivered"])
    return Job(**data)


class JobRows(Database):
    """Queries on jobs, images, job messages, deliveries and pending interactions."""

    # The name methods written before the split use (`self._job_from_row(row)`).
    _job_from_row = staticmethod(job_from_row)

    # ---- jobs ------------------------------------------------------------------------------

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
        return job_from_row(row) if row else None

    async def jobs_with_status(self, *statuses: JobStatus) -> list[Job]:
        """Jobs in any of these states, oldest first."""
        marks = ", ".join("?" for _ in statuses)
        rows = await self._fetchall(
            f"SELECT * FROM jobs WHERE status IN ({marks}) ORDER BY enqueued_at, rowid",
            [s.value for s in statuses],
        )
        return [job_from_row(row) for row in rows]

    async def undelivered_jobs(self) -> list[Job]:
        """Finished (done, failed or cancelled) jobs whose delivery has not completed, oldest first."""
        rows = await self._fetchall(
            "SELECT * FROM jobs WHERE delivered = 0 AND status IN ('done', 'failed', 'cancelled')"
            " ORDER BY finished_at, rowid"
        )
        return [job_from_row(row) for row in rows]

    async def user_jobs(self, user_id: int, limit: int = 20) -> list[Job]:
        """A user's most recent jobs, newest first."""
        rows = await self._fetchall(
            "SELECT * FROM jobs WHERE user_id = ? ORDER BY enqueued_at DESC, rowid DESC LIMIT ?",
            (user_id, limit),
        )
        return [job_from_row(row) for row in rows]

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
        return job_from_row(row) if row else None

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

    # ---- a user's, a guild's and a job's jobs ------------------------------------------------

    async def user_jobs_with_status(self, user_id: int, *statuses: JobStatus) -> list[Job]:
        """A user's jobs in any of these states, oldest first."""
        marks = ", ".join("?" for _ in statuses)
        rows = await self._fetchall(
            f"SELECT * FROM jobs WHERE user_id = ? AND status IN ({marks}) ORDER BY enqueued_at, rowid",
            [user_id, *(status.value for status in statuses)],
        )
        return [job_from_row(row) for row in rows]

    async def user_job_ids(self, user_id: int) -> list[str]:
        """The id of every job of a user, whatever its state."""
        rows = await self._fetchall("SELECT id FROM jobs WHERE user_id = ? ORDER BY enqueued_at", (user_id,))
        return [row[0] for row in rows]

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
        return [job_from_row(row) for row in rows]

    async def child_jobs(self, job_id: str) -> list[Job]:
        """Jobs made from this one (variations, rerolls, upscales, ...), oldest first."""
        rows = await self._fetchall(
            "SELECT * FROM jobs WHERE parent_id = ? ORDER BY enqueued_at, rowid", (job_id,)
        )
        return [job_from_row(row) for row in rows]

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
