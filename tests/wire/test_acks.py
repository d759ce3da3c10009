"""Many interactions at once over the gateway: every one is acknowledged exactly once, and every
/imagine among them queues its job. (How fast is benchmarks/acks.py's business: tests never
fail on timing.)"""

from __future__ import annotations

import asyncio

import pytest

from tests.wire.bot_process import running_bot
from tests.wire.fake_discord import CHANNEL_ID, USER_ID
from tests.wire.load import acknowledgements, burst, first_grid, grid_buttons, wait_acknowledged

SECONDS = 180
IMAGINES = 24
# The grid's U1-U4, 🔄, V1 clicked by six other members at the same time.
CLICKS = 6


def _is_progress_post(request) -> bool:
    if request.method != "POST" or request.path != f"/channels/{CHANNEL_ID}/messages":
        return False
    return str((request.json or {}).get("content") or "").endswith("(Waiting to start)")


@pytest.mark.slow
async def test_thirty_simultaneous_interactions_are_each_acknowledged_exactly_once(
    fake_discord, tiny_model_dir, tmp_path
):
    """24 /imagine from 24 members and 6 button clicks, dispatched back to back: 30 callbacks, one
    per interaction (a deferral for /imagine, an update for a click), and 24 + 2 jobs queued (V1
    and 🔄 make one each; U-n posts an image)."""
    async with running_bot(fake_discord, tiny_model_dir, tmp_path, MAX_QUEUE="1000") as (_, unless_it_exits):
        await unless_it_exits(fake_discord.wait_for(lambda r: r.path.endswith("/commands"), SECONDS))
        await unless_it_exits(asyncio.wait_for(fake_discord.identified.wait(), SECONDS))
        grid = await unless_it_exits(first_grid(fake_discord, "a lighthouse", SECONDS))
        before = len([r for r in fake_discord.requests if _is_progress_post(r)])
        buttons = [custom_id for custom_id in grid_buttons(grid) if custom_id.split(":")[1] != "vary"]
        buttons.append(next(c for c in grid_buttons(grid) if c.split(":")[1] == "vary"))
        assert len(buttons) == CLICKS
        payloads = [
            fake_discord.slash_command("imagine", user_id=USER_ID + 1 + n, prompt=f"a boat {n}")
            for n in range(IMAGINES)
        ]
        payloads += [
            fake_discord.button_click(grid, custom_id, user_id=USER_ID + 100 + n)
            for n, custom_id in enumerate(buttons)
        ]
        sent = await burst(fake_discord, payloads)
        ids = [payload["id"] for payload in payloads]
        await unless_it_exits(wait_acknowledged(fake_discord, ids, SECONDS))
        made = before + IMAGINES + 2
        queued = lambda: len([r for r in fake_discord.requests if _is_progress_post(r)]) >= made  # noqa: E731
        await unless_it_exits(fake_discord.wait_until(queued, SECONDS))
        await asyncio.sleep(1)  # a second callback would come right after the first
    output = (tmp_path / "bot.log").read_text(errors="replace")
    assert " ERROR " not in output and "Traceback" not in output, output[-3000:]
    acks = acknowledgements(fake_discord, payloads, sent)
    assert [len(ack.callbacks) for ack in acks] == [1] * len(payloads)
    types = {ack.kind: ack.callbacks[0].json["type"] for ack in acks}
    assert types["imagine"] == 5  # "thinking…"
    assert {types["pick"], types["vary"], types["reroll"]} <= {6, 7}  # the click's message updated
    assert len([r for r in fake_discord.requests if _is_progress_post(r)]) == made
