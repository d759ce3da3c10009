"""Wire-level smoke test: `python -m bot` as a subprocess against a local fake of Discord, whose
recorded request bodies are checked against Discord's OpenAPI description."""

from __future__ import annotations

import asyncio
import io

import pytest
from PIL import Image

from tests.discord_spec import assert_valid_requests, operation_template
from tests.wire.bot_process import TOKEN, running_bot
from tests.wire.fake_discord import CHANNEL_ID, USER_ID

SECONDS = 180


def is_upload(request) -> bool:
    return (
        request.method == "POST"
        and request.path == f"/channels/{CHANNEL_ID}/messages"
        and bool(request.files)
    )


@pytest.mark.slow
async def test_imagine_and_u1_over_the_wire_deliver_what_discord_accepts(
    fake_discord, tiny_model_dir, tmp_path
):
    """The bot, configured by DISCORD_API_BASE/DISCORD_GATEWAY_URL, answers a gateway /imagine with a
    grid upload and a U1 click with the single image. Every body it sent on the way (command sync,
    the deferral, the progress post and its edits, the grid and its buttons, the click's update
    callback, the single image's editing rows) passes Discord's OpenAPI description."""
    log_path = tmp_path / "bot.log"
    async with running_bot(fake_discord, tiny_model_dir, tmp_path) as (process, unless_it_exits):
        is_sync = lambda r: r.method == "PUT" and r.path.endswith("/commands")  # noqa: E731
        await unless_it_exits(fake_discord.wait_for(is_sync, SECONDS))
        await unless_it_exits(asyncio.wait_for(fake_discord.identified.wait(), SECONDS))
        command = fake_discord.slash_command("imagine", prompt="a lighthouse --ar 3:2")
        await fake_discord.dispatch("INTERACTION_CREATE", command)
        upload = await unless_it_exits(fake_discord.wait_for(is_upload, SECONDS))
        # U1 on the delivered grid: a component interaction → the single image with its editing rows.
        u1 = next(
            button["custom_id"]
            for row in upload.response["components"]
            for button in row["components"]
            if button.get("label") == "U1"
        )
        await fake_discord.dispatch("INTERACTION_CREATE", fake_discord.button_click(upload.response, u1))
        is_single = lambda r: is_upload(r) and "Image #1" in (r.json or {}).get("content", "")  # noqa: E731
        single = await unless_it_exits(fake_discord.wait_for(is_single, SECONDS))
        # The grid's delivery ends by deleting its progress message (the first post); stop after that.
        progress = next(
            r for r in fake_discord.requests if r.method == "POST" and r.path.startswith("/channels/")
        )
        dropped = f"/channels/{CHANNEL_ID}/messages/{progress.response['id']}"
        await unless_it_exits(
            fake_discord.wait_for(lambda r: (r.method, r.path) == ("DELETE", dropped), SECONDS)
        )
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
    assert single.json["content"] == f"**a lighthouse --ar 3:2** - Image #1 <@{USER_ID}>"
    assert len(single.json["components"]) == 5 and len(single.files) == 1
    assert assert_valid_requests(fake_discord.requests) >= 8
    checked = {
        (r.method, operation_template(r.method, r.path)) for r in fake_discord.requests if r.json is not None
    }
    assert checked >= {
        ("PUT", "/applications/{application_id}/commands"),
        ("POST", "/interactions/{interaction_id}/{interaction_token}/callback"),
        ("POST", "/channels/{channel_id}/messages"),
        ("PATCH", "/channels/{channel_id}/messages/{message_id}"),
    }
