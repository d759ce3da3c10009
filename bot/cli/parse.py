"""`python -m bot parse "PROMPT"`: dry run of the prompt language.

Prints `{"jobs": [JOB, ...], "context": {...}}`: one JOB per permutation × --repeat, as
`ImagineRequest.to_dict()`, and the personal and server layers the prompt was read with. With
`--user-id` / `--guild-id` the database at DATA_DIR is read (never written) for that user's
/settings, /prefer suffix and options and that server's style presets, as /imagine reads them;
without a database the prompt is read with the model facts only. Errors in the prompt print one
line on stderr and exit 2 (see `bot.cli.main`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
from typing import Any

from bot.config import Config
from bot.errors import DatabaseUnavailable
from bot.prompt import PromptContext, context_from_settings, expand_prompt


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("parse", help="show how a prompt is understood, as JSON")
    parser.add_argument("prompt")
    parser.add_argument(
        "--user-id", type=int, default=None, help="apply this Discord user's suffix, options and defaults"
    )
    parser.add_argument(
        "--guild-id", type=int, default=None, help="apply this Discord server's style presets"
    )
    parser.set_defaults(func=execute)


def execute(args: argparse.Namespace, settings: Config) -> int:
    context = load_context(settings, user_id=args.user_id, guild_id=args.guild_id)
    requests = expand_prompt(args.prompt, context)
    shown = {"jobs": [request.to_dict() for request in requests], "context": context_summary(context)}
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    return 0


def load_context(settings: Config, *, user_id: int | None, guild_id: int | None) -> PromptContext:
    """The context a prompt from `user_id` in `guild_id` is read with, as /imagine would read it."""
    base = context_from_settings(settings)
    if (user_id is None and guild_id is None) or not settings.database_path.is_file():
        return base
    return asyncio.run(_load_from_database(settings, base, user_id=user_id, guild_id=guild_id))


async def _load_from_database(
    settings: Config, base: PromptContext, *, user_id: int | None, guild_id: int | None
) -> PromptContext:
    # Imported here: the plain dry run should not pay for aiosqlite and the job models.
    from bot.governance.prompt_context import load_prompt_context
    from bot.store.repository import Repository

    repository = await Repository.open_read_only(settings.database_path, settings.images_dir)
    try:
        return await load_prompt_context(repository, base, user_id=user_id, guild_id=guild_id)
    except sqlite3.Error as error:
        # Garbage, damaged, or a database of another program: one line, exit 2 (bot.cli.main).
        raise DatabaseUnavailable(f"cannot read the database {settings.database_path}: {error}") from None
    finally:
        with contextlib.suppress(sqlite3.Error, ValueError):
            await repository.close()


def context_summary(context: PromptContext) -> dict[str, Any]:
    """The personal and server layers of `context`, for people checking why a prompt reads so."""
    return {
        "user_defaults": context.user_defaults,
        "suffix": context.suffix,
        "options": dict(context.options),
        "styles": sorted(context.presets),
        "default_style": context.default_style,
    }
