"""The NSFW policy on the web: a flagged image (or a grid holding one) is served blurred under
NSFW_FILTER=spoiler, and blanked under `block`, from the verdicts the GPU worker stored with the
job (bot/governance/nsfw.py). Under `spoiler`, `?reveal=1` and downloads (`?download=1`, a
deliberate click, like opening a Discord spoiler) get the stored file; under `block`, nothing does.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from aiohttp import web

from bot.config import Config
from bot.governance.nsfw import NsfwFilter, NsfwPolicy
from bot.jobs.models import Job, JobImage
from bot.jobs.service import JobService
from bot.services import library_of

__all__ = ["screened_png", "screened_response"]


async def screened_response(
    config: Config, jobs: JobService, job: Job, index: int | None, *, reveal: bool, headers: dict[str, str]
) -> web.Response | None:
    """The covered picture as a response, or None when the stored file may be served as it is."""
    policy = NsfwPolicy.from_settings(config)
    if not policy.active:
        return None
    images = await library_of(jobs).images(job.id)
    covered = await screened_png(policy, job, images, index, reveal=reveal)
    if covered is None:
        return None
    return web.Response(body=covered, content_type="image/png", headers=headers)


async def screened_png(
    policy: NsfwPolicy, job: Job, images: list[JobImage], index: int | None, *, reveal: bool
) -> bytes | None:
    """The PNG to serve instead of image `index` of the job (None: its grid), or None when the
    stored file may be served as it is."""
    ordered = sorted(images, key=lambda image: image.index)
    flagged = policy.flagged(job, len(ordered))
    if index is not None:
        position = next((n for n, image in enumerate(ordered) if image.index == index), None)
        if position is None:
            return None
        ordered, flagged = ordered[position : position + 1], flagged[position : position + 1]
    if not any(flagged) or (reveal and policy.mode is NsfwFilter.SPOILER):
        return None
    return await asyncio.to_thread(_covered_png, policy, [image.path for image in ordered], flagged)


def _covered_png(policy: NsfwPolicy, paths: list[Path], flagged: list[bool]) -> bytes:
    buffer = io.BytesIO()
    # Saved without the recipe: the picture is no longer what its parameters describe.
    policy.covered_picture(paths, flagged).save(buffer, format="PNG")
    return buffer.getvalue()
