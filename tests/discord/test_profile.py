"""/profile and `--p` in Discord: progress before unlocking, codes after, and the answers without
an IP-Adapter."""

from __future__ import annotations

import numpy as np

from bot.discord.exts.profile._cog import NOT_SET_UP, render_profile
from bot.governance.personalization import ProfileStatus
from bot.governance.style_profiles import style_code
from bot.store.personalization import Moodboard


async def test_without_ip_adapter_profile_and_p_say_it_is_not_set_up(world):
    """On a bot without IP_ADAPTER, /profile says so and `/imagine … --p` is refused, nothing queued."""
    shown = await world.alice.slash(world.channel, "profile")
    assert shown.ephemeral and shown.response.content == NOT_SET_UP
    result = await world.alice.slash(world.channel, "imagine", prompt="a red fox --p")
    assert result.ephemeral
    (embed,) = result.response.embeds
    assert embed.title == "Invalid parameter" and "needs the IP-Adapter" in embed.description
    assert sum((await world.service.repository.count_jobs()).values()) == 0


def test_profile_answer_before_and_after_unlocking() -> None:
    """The /profile text: progress and how to unlock; then the code and the moodboards' codes."""
    rows = np.ones((1, 4), dtype=np.float32)
    code = style_code("profile", "x#w", rows)
    before = render_profile(ProfileStatus(3, 20), [])
    assert "3 / 20 likes" in before and "17 more to unlock it" in before and "No moodboards yet" in before
    board = Moodboard(1, 5, "seaside", ("https://x.example/a.png",), "mabcdefg")
    after = render_profile(ProfileStatus(25, 20, code), [board])
    assert f"`--p {code}` (from 25 likes and rankings)" in after
    assert "- seaside: `--p mabcdefg` (1 images)" in after
