"""VIDEO_COST: a waiting video job counts as that many image jobs toward the waiting limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine.video_spec import VIDEO_KEY
from bot.errors import QueueFull
from bot.jobs.models import Job, JobKind, JobStatus, NewJob
from bot.jobs.video_jobs import check_video_cost
from tests.jobs.conftest import make_request, make_settings


def waiting(
    kind: JobKind = JobKind.IMAGINE, video: bool = False, user: int = 1, guild: int | None = 5
) -> Job:
    request = make_request().to_dict()
    if video:
        request["extra"] = {VIDEO_KEY: {"motion": "low"}}
    return Job(
        id=f"{kind}-{video}-{user}",
        kind=kind,
        status=JobStatus.QUEUED,
        user_id=user,
        guild_id=guild,
        channel_id=None,
        prompt="x",
        request=request,
    )


NEW = NewJob(kind=JobKind.IMAGINE, user_id=1, guild_id=5)


@pytest.mark.parametrize(
    ("queued", "video", "limit", "refused"),
    [
        ([], True, None, False),  # a lone video always fits
        ([waiting()] * 2, True, None, False),  # 2 + 8 = 10, the limit
        ([waiting()] * 3, True, None, True),  # 3 + 8 > 10
        ([waiting(video=True)], False, None, False),  # 8 + 1
        ([waiting(video=True), waiting()], False, None, False),  # 8 + 1 + 1
        ([waiting(video=True), waiting(), waiting()], False, None, True),
        ([waiting(JobKind.ANIMATE)], True, None, True),  # 8 + 8
        ([waiting(video=True, user=2)] * 3, True, None, False),  # other members' jobs do not count
        ([waiting()], True, 4, True),  # the server's /limits: 1 + min(8, 4) > 4
        ([], True, 4, False),
        ([waiting()] * 5, False, None, False),  # no video anywhere: the service's own count decides
    ],
)
def test_video_cost_toward_waiting_limits(tmp_path: Path, queued, video, limit, refused) -> None:
    """Waiting videos weigh VIDEO_COST (8) against MAX_JOBS_PER_USER (10) and a server's limit."""
    settings = make_settings(tmp_path, MAX_JOBS_PER_USER="10", VIDEO_COST="8")
    if refused:
        with pytest.raises(QueueFull, match="a video counts as 8"):
            check_video_cost(queued, NEW, video, settings, limit)
    else:
        check_video_cost(queued, NEW, video, settings, limit)
