"""Wire-level smoke test: `python -m bot` as a subprocess against a local fake of Discord."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.tiny_env import tiny_env
from tests.wire.fake_discord import CHANNEL_ID, USER_ID, FakeDiscord

REPO = Path(__file__).resolve().parents[2]
TOKEN = "fake-token-that-must-never-be-logged"
SECONDS = 180


@pytest.fixture
async def fake_discord():
    fake = FakeDiscord()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


def bot_environment(fake: FakeDiscord, tiny_model_dir: Path, data_dir: Path) -> dict[str, str]:
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
    }


def is_upload(request) -> bool:
    return (
        request.method == "POST"
        and request.path == f"/channels/{CHANNEL_ID}/messages"
        and bool(request.files)
    )


@pytest.mark.slow
async def test_imagine_over_the_wire_delivers_a_grid(fake_discord, tiny_model_dir, tmp_path):
    """The bot, configured by DISCORD_API_BASE/DISCORD_GATEWAY_URL, answers a gateway /imagine with a grid upload."""
    log_path = tmp_path / "bot.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--env-file",
            str(tmp_path / "no.env"),
            cwd=REPO,
            env=bot_environment(fake_discord, tiny_model_dir, tmp_path / "data"),
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
        )

        async def unless_it_exits(step):
            """Await `step`, failing at once (with the bot's log) if the bot exits first."""
            waiting = asyncio.ensure_future(step)
            exited = asyncio.ensure_future(process.wait())
            await asyncio.wait({waiting, exited}, return_when=asyncio.FIRST_COMPLETED)
            exited.cancel()
            if not waiting.done():
                waiting.cancel()
                raise AssertionError("the bot exited:\n" + log_path.read_text(errors="replace")[-3000:])
            return waiting.result()

        try:
            is_sync = lambda r: r.method == "PUT" and r.path.endswith("/commands")  # noqa: E731
            await unless_it_exits(fake_discord.wait_for(is_sync, SECONDS))
            await unless_it_exits(asyncio.wait_for(fake_discord.identified.wait(), SECONDS))
            command = fake_discord.slash_command("imagine", prompt="a lighthouse --ar 3:2")
            await fake_discord.dispatch("INTERACTION_CREATE", command)
            upload = await unless_it_exits(fake_discord.wait_for(is_upload, SECONDS))
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 60)
    output = log_path.read_text(errors="replace")
    assert upload.json["content"] == f"**a lighthouse --ar 3:2** - <@{USER_ID}> (fast)"
    (data,) = upload.files.values()
    grid = Image.open(io.BytesIO(data))
    assert grid.width / grid.height == pytest.approx(3 / 2, rel=0.1)
    callback = next(r for r in fake_discord.requests if r.path.startswith("/interactions/"))
    assert callback.json["type"] == 5 and callback.query["with_response"] in ("1", "true")
    assert process.returncode == 0, output[-3000:]
    assert TOKEN not in output
    assert " ERROR " not in output and "Traceback" not in output, output[-3000:]
