"""The web app's rows: favourites, the member's archive and the server gallery, stealth mode
(member visibility), web sessions and single-use link nonces."""

from __future__ import annotations

import json
import time
from typing import Any

from bot.jobs.models import LISTED_SQL, Job, WebSession
from bot.store.database import Database
from bot.store.jobs import job_from_row

__all__ = ["WebRows"]


class WebRows(Database):
    """Queries of the web app (the jobs themselves are `JobRows`')."""

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
            result.append((job_from_row(data), index))
        return result

    async def archive(
        self,
        user_id: int,
        *,
        text: str = "",
        favourites_only: bool = False,
        guild_id: int | None = None,
        since: float | None = None,
        until: float | None = None,
        hidden: bool = False,
        limit: int = 24,
        offset: int = 0,
    ) -> list[Job]:
        """The member's jobs, newest first: prompt containing `text`, with a favourite, from a server,
        made at or after `since` and before `until` (epoch seconds); the hidden ones (`meta.hidden`)
        only, or none of them (`hidden`). Working jobs (`UNLISTED_KINDS`: Smart Select masks) never."""
        sql = f"SELECT * FROM jobs WHERE user_id = ? AND {LISTED_SQL}"
        sql += " AND COALESCE(json_extract(meta, '$.hidden'), 0) = ?"
        params: list[Any] = [user_id, 1 if hidden else 0]
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
        if since is not None:
            sql += " AND enqueued_at >= ?"
            params.append(since)
        if until is not None:
            sql += " AND enqueued_at < ?"
            params.append(until)
        sql += " ORDER BY enqueued_at DESC, rowid DESC LIMIT ? OFFSET ?"
        params.extend((limit, offset))
        return [job_from_row(row) for row in await self._fetchall(sql, params)]

    async def delete_job(self, job_id: str) -> None:
        """Delete one job's rows: every table's rows with this `job_id` (images, favourites,
        messages, embeddings, ...), then the job (its children keep living, without a parent)."""
        tables = await self._fetchall(
            "SELECT m.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS c"
            " WHERE m.type = 'table' AND c.name = 'job_id' AND m.name != 'jobs'"
        )
        async with self._transaction() as db:
            for (table,) in tables:
                await db.execute(f'DELETE FROM "{table}" WHERE job_id = ?', (job_id,))
            await db.execute("UPDATE jobs SET parent_id = NULL WHERE parent_id = ?", (job_id,))
            await db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    async def gallery(self, guild_id: int, limit: int = 24, offset: int = 0) -> list[Job]:
        """A server's finished jobs, newest first, without stealth ones: jobs made in stealth mode
        (`meta.stealth`) and every job of a member who is in stealth mode now; no working jobs."""
        rows = await self._fetchall(
            f"SELECT * FROM jobs WHERE guild_id = ? AND status = 'done' AND {LISTED_SQL}"
            " AND COALESCE(json_extract(meta, '$.stealth'), 0) = 0"
            " AND COALESCE(json_extract(meta, '$.hidden'), 0) = 0"
            " AND user_id NOT IN (SELECT user_id FROM member_visibility WHERE stealth = 1)"
            " ORDER BY finished_at DESC, rowid DESC LIMIT ? OFFSET ?",
            (guild_id, limit, offset),
        )
        return [job_from_row(row) for row in rows]

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
