"""/limits set video: a server's admins allow video jobs, limit them to relax mode, or turn them off."""

from __future__ import annotations

from tests.discord.helpers import button
from tests.discord.test_video_buttons import single_image


def error_of(result):
    """The error embed a click answered with (a button defers first: it comes as a follow-up)."""
    message = result.followups[-1] if result.followups else result.response
    return message.embeds[0]


async def test_video_off_refuses_animate_and_relax_only_refuses_a_fast_one(world, admin):
    """Off: Animate (and 🔄 on a video) is `Invalid parameter`, nothing queued; relax-only: a fast Animate is refused
    saying how to run it; /limits show lists the rule."""
    single = await single_image(world)
    world.env.bot.get_cog("Actions").recent_clicks.window = 0  # the same button may be clicked again
    await world.alice.click(single, label="Animate (Low motion)")
    clips = await world.wait_for(lambda m: "Animate (Low motion) by" in m.content, after=single.id)
    before = len(await world.service.repository.guild_jobs(world.guild.id))
    await admin.slash(world.channel, "limits set", video="off")
    result = await world.alice.click(single, label="Animate (Low motion)")
    assert error_of(result).title == "Invalid parameter"
    assert "Video is turned off on this server." in error_of(result).description
    rerolled = await world.alice.click(
        clips, custom_id=button(clips, emoji="🔄").custom_id
    )  # a 🔄 of a video is a video too
    assert "Video is turned off on this server." in error_of(rerolled).description
    await admin.slash(world.channel, "limits set", video="relax")
    result = await world.alice.click(single, label="Animate (High motion)")
    assert "relax mode only" in error_of(result).description
    assert len(await world.service.repository.guild_jobs(world.guild.id)) == before
    shown = await admin.slash(world.channel, "limits show")
    assert any("relax mode only" in field.value for field in shown.response.embeds[0].fields)
