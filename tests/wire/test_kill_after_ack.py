"""SIGKILL of `python -m bot` after an /imagine was acknowledged and its job stored, while its
progress message is being posted: after a restart the job is delivered exactly once and the
member's "thinking…" reply is answered (a PATCH of the interaction's original response)."""

from __future__ import annotations

import asyncio

import pytest

from bot.discord.pending import RESUMED_TEXT
from tests.wire.bot_process import running_bot
from tests.wire.fake_discord import CHANNEL_ID

SECONDS = 180


def _is_post(request) -> bool:
    return request.method == "POST" and request.path == f"/channels/{CHANNEL_ID}/messages"


@pytest.mark.slow
async def test_a_kill_at_the_progress_post_delivers_once_and_answers_the_interaction(
    fake_discord, tiny_model_dir, tmp_path
):
    fake_discord.hold = _is_post  # the progress post never returns: the kill comes first
    async with running_bot(fake_discord, tiny_model_dir, tmp_path) as (process, unless_it_exits):
        await unless_it_exits(fake_discord.wait_for(lambda r: r.path.endswith("/commands"), SECONDS))
        await unless_it_exits(asyncio.wait_for(fake_discord.identified.wait(), SECONDS))
        command = fake_discord.slash_command("imagine", prompt="a lighthouse")
        await fake_discord.dispatch("INTERACTION_CREATE", command)
        await unless_it_exits(fake_discord.wait_for(_is_post, SECONDS))
        process.kill()
        await process.wait()
    fake_discord.hold = None
    fake_discord.identified.clear()
    before = len(fake_discord.requests)
    async with running_bot(fake_discord, tiny_model_dir, tmp_path) as (_, unless_it_exits):  # same DATA_DIR
        is_new = lambda r: any(r is later for later in fake_discord.requests[before:])  # noqa: E731
        is_upload = lambda r: is_new(r) and _is_post(r) and bool(r.files)  # noqa: E731
        await unless_it_exits(fake_discord.wait_for(is_upload, SECONDS))
        # (the first run may have said "Waiting for the model to load…" in the same reply)
        is_answer = lambda r: is_new(r) and r.method == "PATCH" and r.path.endswith("/messages/@original")  # noqa: E731
        answer = await unless_it_exits(fake_discord.wait_for(is_answer, SECONDS))
    after = fake_discord.requests[before:]
    assert len([r for r in after if _is_post(r) and r.files]) == 1
    assert answer.path == f"/webhooks/{command['application_id']}/{command['token']}/messages/@original"
    assert answer.json["content"] == RESUMED_TEXT
