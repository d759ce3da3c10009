"""`python -m bot` as a subprocess against the fake Discord, for the wire-level tests."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.tiny_env import tiny_env
from tests.wire.fake_discord import FakeDiscord

__all__ = ["REPO", "TOKEN", "bot_environment", "running_bot"]

REPO = Path(__file__).resolve().parents[2]
TOKEN = "fake-token-that-must-never-be-logged"


def bot_environment(fake: FakeDiscord, tiny_model_dir: Path, data_dir: Path, **extra: str) -> dict[str, str]:
    """The bot's environment: the tiny model, a throwaway DATA_DIR and the fake's addresses
    (`extra` settings override)."""
    keep = {name: os.environ[name] for name in ("PATH", "HOME", "TMPDIR", "LANG") if name in os.environ}
    return {
        **keep,
        **tiny_env(
            tiny_model_dir,
            data_dir,
            DISCORD_TOKEN=TOKEN,
            DISCORD_API_BASE=fake.api_base,
            DISCORD_GATEWAY_URL=fake.gateway_url,
            LOG_LEVEL="DEBUG",
            WEB_PORT="0",  # the web app has its own tests; port 8080 may be taken here
        ),
        **extra,
    }


@asynccontextmanager
async def running_bot(
    fake: FakeDiscord, tiny_model_dir: Path, tmp_path: Path, **extra: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, Callable[[Awaitable[Any]], Awaitable[Any]]]]:
    """Start the bot (log in tmp_path/bot.log; `extra` settings override); yield it and
    `unless_it_exits`; SIGTERM it at the end.

    `await unless_it_exits(step)` awaits `step`, failing at once (with the bot's log) if the bot
    exits first.
    """
    log_path = tmp_path / "bot.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--env-file",
            str(tmp_path / "no.env"),
            cwd=REPO,
            env=bot_environment(fake, tiny_model_dir, tmp_path / "data", **extra),
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
        )

        async def unless_it_exits(step: Awaitable[Any]) -> Any:
            waiting = asyncio.ensure_future(step)
            exited = asyncio.ensure_future(process.wait())
            await asyncio.wait({waiting, exited}, return_when=asyncio.FIRST_COMPLETED)
            exited.cancel()
            if not waiting.done():
                waiting.cancel()
                raise AssertionError("the bot exited:\n" + log_path.read_text(errors="replace")[-3000:])
            return waiting.result()

        try:
            yield process, unless_it_exits
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 60)
