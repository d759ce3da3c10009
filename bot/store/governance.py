"""Server and member rules: personal settings and options, guild rules and style presets,
banned words (and their lifting per guild), and erasure (/forget-me, /purge-guild) — one
routine that finds the tables to empty by column."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, fields
from typing import Any

import aiosqlite

from bot.governance.models import BannedWord, Erasure, GuildRules, PersonalSettings
from bot.jobs.models import JobStatus
from bot.prompt.context import StylePreset
from bot.store.database import Database

__all__ = ["ERASE_SUBJECTS", "GovernanceRows"]


class GovernanceRows(Database):
    """Queries on member settings, guild rules, presets, banned words and erasures."""

    # ---- user settings and options ---------------------------------------------------------

    async def get_user_settings(self, user_id: int) -> PersonalSettings:
        """The user's settings, or the defaults if they never changed any."""
        row = await self._fetchone("SELECT * FROM user_settings WHERE user_id = ?", (user_id,))
        if row is None:
            return PersonalSettings(user_id=user_id)
        data = dict(row)
        data["remix"] = bool(data["remix"])
        data["raw"] = bool(data["raw"])
        data["personalize"] = bool(data["personalize"])
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
                " (guild_id, default_style, max_jobs_per_user, max_repeat, allowed_channels, video)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    settings.guild_id,
                    settings.default_style,
                    settings.max_jobs_per_user,
                    settings.max_repeat,
                    json.dumps(settings.allowed_channels),
                    settings.video,
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


ERASE_SUBJECTS = ("user_id", "guild_id")


def _check_subject(subject: str) -> None:
    # The column name is put into SQL: only these two ever are.
    if subject not in ERASE_SUBJECTS:
        raise ValueError(f"cannot erase by {subject!r}")
