"""Personalization rows: style embeddings of images, ranked pairs, style codes, profiles, moodboards."""

from __future__ import annotations

import json
import time

from bot.governance.models import Moodboard, StoredStyle
from bot.jobs.models import LISTED_SQL
from bot.store.database import Database

__all__ = ["Moodboard", "PersonalizationRows", "StoredStyle"]


class PersonalizationRows(Database):
    """Queries of bot/governance/personalization.py."""

    async def style_embedding(self, job_id: str, index: int, adapter: str) -> tuple[int, bytes] | None:
        """(dim, float32 bytes) of an archive image's embedding by `adapter`, if computed."""
        row = await self._fetchone(
            "SELECT dim, vector FROM style_embeddings WHERE job_id = ? AND idx = ? AND adapter = ?",
            (job_id, index, adapter),
        )
        return None if row is None else (row["dim"], bytes(row["vector"]))

    async def save_style_embedding(
        self, job_id: str, index: int, adapter: str, dim: int, vector: bytes
    ) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO style_embeddings (job_id, idx, adapter, dim, vector) VALUES (?, ?, ?, ?, ?)",
                (job_id, index, adapter, dim, vector),
            )

    async def add_style_pair(
        self, user_id: int, preferred: tuple[str, int], other: tuple[str, int], now: float | None = None
    ) -> None:
        """Record that the member preferred image `preferred` (job id, n) over `other`."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO style_pairs (user_id, preferred_job, preferred_idx, other_job, other_idx, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (user_id, *preferred, *other, now or time.time()),
            )

    async def style_pairs(self, user_id: int) -> list[tuple[tuple[str, int], tuple[str, int]]]:
        """The member's ranked pairs, oldest first, as ((preferred job, n), (other job, n))."""
        rows = await self._fetchall(
            "SELECT preferred_job, preferred_idx, other_job, other_idx FROM style_pairs"
            " WHERE user_id = ? ORDER BY id",
            (user_id,),
        )
        return [((row[0], row[1]), (row[2], row[3])) for row in rows]

    async def style_candidates(self, user_id: int, limit: int = 200) -> list[tuple[str, int]]:
        """The member's archive images as (job id, n), newest jobs first: what /personalize ranks."""
        rows = await self._fetchall(
            "SELECT images.job_id, images.idx FROM images JOIN jobs ON jobs.id = images.job_id"
            f" WHERE jobs.user_id = ? AND {LISTED_SQL} ORDER BY jobs.enqueued_at DESC, images.idx LIMIT ?",
            (user_id, limit),
        )
        return [(row[0], row[1]) for row in rows]

    async def liked_images(self, user_id: int) -> list[tuple[str, int]]:
        """The member's ❤️ favourites as (job id, n), oldest first."""
        rows = await self._fetchall(
            "SELECT job_id, idx FROM favourites WHERE user_id = ? ORDER BY created_at, job_id, idx",
            (user_id,),
        )
        return [(row[0], row[1]) for row in rows]

    async def save_style(self, style: StoredStyle, now: float | None = None) -> None:
        """Store the rows behind a code (the same code always has the same rows)."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO style_codes (code, kind, adapter, dim, vectors, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (style.code, style.kind, style.adapter, style.dim, style.vectors, now or time.time()),
            )

    async def style_for_code(self, code: str) -> StoredStyle | None:
        row = await self._fetchone(
            "SELECT code, kind, adapter, dim, vectors FROM style_codes WHERE code = ?", (code,)
        )
        return None if row is None else StoredStyle(row[0], row[1], row[2], row[3], bytes(row[4]))

    async def set_member_profile(
        self, user_id: int, code: str, signals: int, now: float | None = None
    ) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO member_profiles (user_id, code, signals, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET code = excluded.code, signals = excluded.signals,"
                " updated_at = excluded.updated_at",
                (user_id, code, signals, now or time.time()),
            )

    async def member_profile(self, user_id: int) -> tuple[str, int] | None:
        """(code, signals) of the member's current profile, if they have one."""
        row = await self._fetchone("SELECT code, signals FROM member_profiles WHERE user_id = ?", (user_id,))
        return None if row is None else (row[0], row[1])

    async def save_moodboard(self, owner_id: int, name: str, sources: list[str], code: str) -> Moodboard:
        """Create or replace the member's moodboard `name` with these sources and code."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO moodboards (user_id, name, sources, code, created_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (user_id, name) DO UPDATE SET sources = excluded.sources, code = excluded.code",
                (owner_id, name, json.dumps(sources), code or None, time.time()),
            )
        board = await self.moodboard(owner_id, name)
        assert board is not None
        return board

    async def moodboard(self, owner_id: int, name: str) -> Moodboard | None:
        row = await self._fetchone(
            "SELECT * FROM moodboards WHERE user_id = ? AND name = ?", (owner_id, name)
        )
        return None if row is None else _moodboard(row)

    async def moodboards(self, owner_id: int) -> list[Moodboard]:
        rows = await self._fetchall("SELECT * FROM moodboards WHERE user_id = ? ORDER BY name", (owner_id,))
        return [_moodboard(row) for row in rows]

    async def delete_moodboard(self, owner_id: int, name: str) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute(
                "DELETE FROM moodboards WHERE user_id = ? AND name = ?", (owner_id, name)
            )
            return cursor.rowcount > 0


def _moodboard(row) -> Moodboard:
    return Moodboard(
        id=row["id"],
        owner_id=row["user_id"],
        name=row["name"],
        sources=tuple(json.loads(row["sources"])),
        code=row["code"] or "",
    )
