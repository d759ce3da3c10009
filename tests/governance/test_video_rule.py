"""A server's video rule (allowed / relax-only / off): stored with its rules, applied at admission."""

from __future__ import annotations

import pytest

from bot.engine.video_spec import VIDEO_KEY
from bot.errors import InvalidParameter, JobNotFound
from bot.governance.admission import Admission
from bot.governance.limits import GuildLimits
from bot.governance.models import GuildRules
from bot.jobs.models import JobKind, NewJob
from bot.jobs.service import JobService
from tests.jobs.conftest import make_request

GUILD = 5


@pytest.mark.parametrize(
    ("rule", "speed", "refused"),
    [
        ("allowed", "fast", None),
        ("allowed", "relax", None),
        ("relax", "relax", None),
        ("relax", "fast", "relax mode only"),
        ("off", "relax", "turned off"),
    ],
)
def test_check_video(rule: str, speed: str, refused: str | None) -> None:
    """The rule refuses video jobs where it must, with a message saying why."""
    limits = GuildLimits(video=rule)
    if refused is None:
        limits.check_video(speed)
    else:
        with pytest.raises(InvalidParameter, match=refused):
            limits.check_video(speed)


async def test_rule_is_stored_and_applied_to_every_video_submission(service: JobService, settings) -> None:
    """The rule round-trips through the store; admission refuses Animate and --video jobs in a
    server with video off, but not image jobs nor video elsewhere."""
    await service.repository.set_guild_rules(GuildRules(GUILD, video="off"))
    assert (await service.repository.get_guild_rules(GUILD)).video == "off"
    assert (await service.repository.get_guild_rules(GUILD + 1)).video == "allowed"
    admission = Admission(service, settings)
    video = make_request()
    video.extra[VIDEO_KEY] = {"motion": "low"}
    for job in (
        NewJob(kind=JobKind.ANIMATE, user_id=1, guild_id=GUILD, parent_id="gone", parent_index=0),
        NewJob(
            kind=JobKind.IMAGINE,
            user_id=1,
            guild_id=GUILD,
            request=video,
            image_urls=["https://x.test/a.png"],
        ),
    ):
        with pytest.raises(InvalidParameter, match="turned off"):
            await admission.submit(job)
    with pytest.raises(JobNotFound):  # past admission: the parent job does not exist
        await admission.submit(
            NewJob(kind=JobKind.ANIMATE, user_id=1, guild_id=GUILD + 1, parent_id="gone", parent_index=0)
        )
    job = await admission.submit(
        NewJob(kind=JobKind.IMAGINE, user_id=1, guild_id=GUILD, request=make_request())
    )
    assert job.kind is JobKind.IMAGINE
    assert ("Video", "off") in GuildLimits.of(await service.repository.get_guild_rules(GUILD)).describe(10)
